//! The load balancer status machine: a pure function of the stored state, the timings
//! and the virtual clock. Nothing here runs a timer; a status is worked out when read.
//!
//! ```text
//! create ──> BUILD ──(build)──> ACTIVE ──change──> PENDING_UPDATE ──(pending_update)──> ACTIVE
//! ACTIVE | ERROR | SUSPENDED ──DELETE──> PENDING_DELETE ──(pending_delete)──> DELETED ──(visible)──> gone
//! control PATCH: ACTIVE, ERROR, SUSPENDED, PENDING_UPDATE, PENDING_DELETE, sticky until changed
//! ```

use serde::{Deserialize, Serialize};

/// A load balancer status, spelled as the real API spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LbStatus {
    Active,
    Build,
    PendingUpdate,
    PendingDelete,
    Deleted,
    Error,
    Suspended,
}

impl LbStatus {
    pub const ALL: [LbStatus; 7] = [
        LbStatus::Active,
        LbStatus::Build,
        LbStatus::PendingUpdate,
        LbStatus::PendingDelete,
        LbStatus::Deleted,
        LbStatus::Error,
        LbStatus::Suspended,
    ];

    /// What the control plane may set (Mimic's four, plus SUSPENDED).
    pub const SETTABLE: [LbStatus; 5] = [
        LbStatus::Active,
        LbStatus::Error,
        LbStatus::PendingDelete,
        LbStatus::PendingUpdate,
        LbStatus::Suspended,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LbStatus::Active => "ACTIVE",
            LbStatus::Build => "BUILD",
            LbStatus::PendingUpdate => "PENDING_UPDATE",
            LbStatus::PendingDelete => "PENDING_DELETE",
            LbStatus::Deleted => "DELETED",
            LbStatus::Error => "ERROR",
            LbStatus::Suspended => "SUSPENDED",
        }
    }

    pub fn parse(s: &str) -> Option<LbStatus> {
        LbStatus::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

/// How long each timed status lasts, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timings {
    pub build_ms: u64,
    pub pending_update_ms: u64,
    pub pending_delete_ms: u64,
    pub deleted_visible_ms: u64,
}

/// The stored part of the status: what it was set to, when, and whether it sticks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusState {
    pub status: LbStatus,
    /// Virtual time (unix ms) the status was set.
    pub since_ms: i64,
    /// Set by the control plane: no timed exit.
    pub sticky: bool,
}

/// What a reader sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Observed {
    pub status: LbStatus,
    /// When the observed status began (unix ms): `updated` of a timed transition.
    pub since_ms: i64,
}

impl StatusState {
    pub fn new(status: LbStatus, now_ms: i64) -> StatusState {
        StatusState {
            status,
            since_ms: now_ms,
            sticky: false,
        }
    }

    /// The status at `now_ms`, or `None` once a DELETED balancer is no longer visible.
    pub fn observe(&self, t: &Timings, now_ms: i64) -> Option<Observed> {
        let at = |status, since_ms| Some(Observed { status, since_ms });
        if self.sticky {
            return at(self.status, self.since_ms);
        }
        let after = |ms: u64| self.since_ms.saturating_add(ms.min(i64::MAX as u64) as i64);
        match self.status {
            LbStatus::Build if now_ms >= after(t.build_ms) => {
                at(LbStatus::Active, after(t.build_ms))
            }
            LbStatus::PendingUpdate if now_ms >= after(t.pending_update_ms) => {
                at(LbStatus::Active, after(t.pending_update_ms))
            }
            LbStatus::PendingDelete | LbStatus::Deleted => {
                let deleted_at = if self.status == LbStatus::Deleted {
                    self.since_ms
                } else {
                    after(t.pending_delete_ms)
                };
                let gone_at =
                    deleted_at.saturating_add(t.deleted_visible_ms.min(i64::MAX as u64) as i64);
                if now_ms >= gone_at {
                    None
                } else if now_ms >= deleted_at {
                    at(LbStatus::Deleted, deleted_at)
                } else {
                    at(LbStatus::PendingDelete, self.since_ms)
                }
            }
            s => at(s, self.since_ms),
        }
    }

    /// After a successful change: PENDING_UPDATE (or ERROR when `error_next` is set).
    pub fn after_change(now_ms: i64, error_next: bool) -> StatusState {
        if error_next {
            StatusState {
                status: LbStatus::Error,
                since_ms: now_ms,
                sticky: true,
            }
        } else {
            StatusState::new(LbStatus::PendingUpdate, now_ms)
        }
    }

    /// After a control-plane PATCH: the status sticks until changed again.
    pub fn forced(status: LbStatus, now_ms: i64) -> StatusState {
        StatusState {
            status,
            since_ms: now_ms,
            sticky: status != LbStatus::Active,
        }
    }
}

/// Whether DELETE may start on a balancer in `status` (the real API deletes ACTIVE,
/// ERROR and SUSPENDED balancers).
pub fn deletable(status: LbStatus) -> bool {
    matches!(
        status,
        LbStatus::Active | LbStatus::Error | LbStatus::Suspended
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Timings = Timings {
        build_ms: 1000,
        pending_update_ms: 500,
        pending_delete_ms: 2000,
        deleted_visible_ms: 10_000,
    };

    fn seen(s: &StatusState, now: i64) -> Option<LbStatus> {
        s.observe(&T, now).map(|o| o.status)
    }

    #[test]
    fn build_becomes_active_after_the_build_time() {
        let s = StatusState::new(LbStatus::Build, 0);
        assert_eq!(seen(&s, 999), Some(LbStatus::Build));
        assert_eq!(seen(&s, 1000), Some(LbStatus::Active));
        assert_eq!(s.observe(&T, 5000).map(|o| o.since_ms), Some(1000));
    }

    #[test]
    fn zero_timings_make_every_transition_immediate() {
        let zero = Timings {
            build_ms: 0,
            pending_update_ms: 0,
            pending_delete_ms: 0,
            deleted_visible_ms: 0,
        };
        let b = StatusState::new(LbStatus::Build, 7);
        assert_eq!(
            b.observe(&zero, 7).map(|o| o.status),
            Some(LbStatus::Active)
        );
        let d = StatusState::new(LbStatus::PendingDelete, 7);
        assert_eq!(d.observe(&zero, 7), None, "deleted and invisible at once");
    }

    #[test]
    fn pending_update_returns_to_active() {
        let s = StatusState::after_change(100, false);
        assert_eq!(seen(&s, 599), Some(LbStatus::PendingUpdate));
        assert_eq!(seen(&s, 600), Some(LbStatus::Active));
    }

    #[test]
    fn delete_goes_through_pending_delete_and_deleted_then_disappears() {
        let s = StatusState::new(LbStatus::PendingDelete, 0);
        assert_eq!(seen(&s, 1999), Some(LbStatus::PendingDelete));
        assert_eq!(seen(&s, 2000), Some(LbStatus::Deleted));
        assert_eq!(s.observe(&T, 3000).map(|o| o.since_ms), Some(2000));
        assert_eq!(seen(&s, 11_999), Some(LbStatus::Deleted));
        assert_eq!(seen(&s, 12_000), None);
    }

    #[test]
    fn forced_statuses_stick() {
        for st in LbStatus::SETTABLE {
            let s = StatusState::forced(st, 0);
            assert_eq!(seen(&s, i64::MAX / 2), Some(st), "{st:?} should stick");
        }
    }

    #[test]
    fn error_next_makes_the_change_end_in_error() {
        let s = StatusState::after_change(0, true);
        assert_eq!(seen(&s, 1_000_000), Some(LbStatus::Error));
    }

    #[test]
    fn only_active_error_and_suspended_can_be_deleted() {
        let ok: Vec<_> = LbStatus::ALL
            .into_iter()
            .filter(|s| deletable(*s))
            .collect();
        assert_eq!(
            ok,
            vec![LbStatus::Active, LbStatus::Error, LbStatus::Suspended]
        );
    }

    #[test]
    fn status_names_use_underscores() {
        for s in LbStatus::ALL {
            assert_eq!(LbStatus::parse(s.as_str()), Some(s));
            assert!(!s.as_str().contains('-'));
        }
    }
}
