//! A server's status as a pure function of its lifecycle record and the virtual clock.
//!
//! A record keeps a *settled* state (where the server rests), at most one *pending*
//! transition (what it shows until a deadline: BUILD, REBOOT, ...) and, once deleted,
//! the deletion times. Nothing runs a timer: [`Lifecycle::view`] reads `now` and says what
//! a client sees. States set through Mimic's control API are settled with no pending
//! transition, so no deadline ever overrides them; a deletion overrides everything, so a
//! server deleted while building stays deleted.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

/// Where a server rests when no transition is under way.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Settled {
    Active,
    Error,
    Rescued,
    /// After a resize, until confirmed or reverted; keeps the flavor to revert to.
    Resized {
        old_flavor: String,
    },
    /// A status set through the control API (`POST .../attributes`), upper-case.
    Forced(String),
}

/// What a server shows while a transition runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Shows {
    Build,
    Reboot,
    HardReboot,
    Rebuild,
    /// ACTIVE until the deadline, then the settled state (Mimic's `active-then-error`).
    Active,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    pub shows: Shows,
    pub since_ms: i64,
    pub until_ms: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deletion {
    pub at_ms: i64,
    /// From this instant the server is gone: 404, listed only under `changes-since`.
    pub gone_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lifecycle {
    pub settled: Settled,
    pub pending: Option<Pending>,
    pub deleted: Option<Deletion>,
}

/// What a client sees at one instant.
#[derive(Debug, Clone, PartialEq)]
pub struct View {
    pub status: Cow<'static, str>,
    pub vm_state: Cow<'static, str>,
    pub task_state: Option<&'static str>,
    pub power_state: u8,
    /// Present only for the statuses Nova shows it with.
    pub progress: Option<u8>,
    /// Deleted and past its `deleting` phase.
    pub gone: bool,
    /// The last time the visible state changed (for `updated` and `changes-since`).
    pub changed_ms: i64,
}

impl Lifecycle {
    /// A new server: ACTIVE at once, or `shows` until `until_ms` then `settled`.
    pub fn new(settled: Settled, pending: Option<Pending>) -> Lifecycle {
        Lifecycle {
            settled,
            pending,
            deleted: None,
        }
    }

    /// Folds a finished transition into the settled state. Returns when it finished, so
    /// the caller can move `updated` forward. Call before any change.
    pub fn settle(&mut self, now_ms: i64) -> Option<i64> {
        match self.pending {
            Some(p) if now_ms >= p.until_ms => {
                self.pending = None;
                Some(p.until_ms)
            }
            _ => None,
        }
    }

    /// Starts a transition from the current settled state back to ACTIVE.
    pub fn start(&mut self, shows: Shows, now_ms: i64, duration_ms: u64) {
        self.settled = Settled::Active;
        self.pending = (duration_ms > 0).then_some(Pending {
            shows,
            since_ms: now_ms,
            until_ms: now_ms.saturating_add(duration_ms as i64),
        });
    }

    /// Rests in `settled` now, dropping any transition (actions and control calls).
    pub fn set(&mut self, settled: Settled) {
        self.settled = settled;
        self.pending = None;
    }

    pub fn delete(&mut self, now_ms: i64, duration_ms: u64) {
        if self.deleted.is_none() {
            self.deleted = Some(Deletion {
                at_ms: now_ms,
                gone_ms: now_ms.saturating_add(duration_ms as i64),
            });
        }
    }

    pub fn is_gone(&self, now_ms: i64) -> bool {
        self.deleted.is_some_and(|d| now_ms >= d.gone_ms)
    }

    /// The visible state at `now_ms`; `updated_ms` is the record's last explicit change.
    pub fn view(&self, now_ms: i64, updated_ms: i64) -> View {
        if let Some(d) = self.deleted {
            if now_ms >= d.gone_ms {
                return View {
                    status: Cow::Borrowed("DELETED"),
                    vm_state: Cow::Borrowed("deleted"),
                    task_state: None,
                    power_state: 0,
                    progress: None,
                    gone: true,
                    changed_ms: d.gone_ms.max(updated_ms),
                };
            }
        }
        let mut view = match self.pending {
            Some(p) if now_ms < p.until_ms => pending_view(p, now_ms, updated_ms),
            Some(p) => settled_view(&self.settled, updated_ms.max(p.until_ms)),
            None => settled_view(&self.settled, updated_ms),
        };
        if let Some(d) = self.deleted {
            view.task_state = Some("deleting");
            view.changed_ms = view.changed_ms.max(d.at_ms);
        }
        view
    }
}

fn pending_view(p: Pending, now_ms: i64, updated_ms: i64) -> View {
    let (status, vm, task, power) = match p.shows {
        Shows::Build => ("BUILD", "building", Some("spawning"), 0),
        Shows::Reboot => ("REBOOT", "active", Some("rebooting"), 1),
        Shows::HardReboot => ("HARD_REBOOT", "active", Some("rebooting_hard"), 1),
        Shows::Rebuild => ("REBUILD", "active", Some("rebuilding"), 1),
        Shows::Active => ("ACTIVE", "active", None, 1),
    };
    let span = (p.until_ms - p.since_ms).max(1);
    let done = ((now_ms - p.since_ms).clamp(0, span) * 100 / span) as u8;
    let progress = match p.shows {
        Shows::Build | Shows::Rebuild => Some(done.min(99)),
        Shows::Active => Some(100),
        Shows::Reboot | Shows::HardReboot => None,
    };
    View {
        status: Cow::Borrowed(status),
        vm_state: Cow::Borrowed(vm),
        task_state: task,
        power_state: power,
        progress,
        gone: false,
        changed_ms: updated_ms,
    }
}

fn settled_view(s: &Settled, changed_ms: i64) -> View {
    let (status, vm, power): (Cow<'static, str>, Cow<'static, str>, u8) = match s {
        Settled::Active => (Cow::Borrowed("ACTIVE"), Cow::Borrowed("active"), 1),
        Settled::Error => (Cow::Borrowed("ERROR"), Cow::Borrowed("error"), 0),
        Settled::Rescued => (Cow::Borrowed("RESCUE"), Cow::Borrowed("rescued"), 1),
        Settled::Resized { .. } => (Cow::Borrowed("VERIFY_RESIZE"), Cow::Borrowed("resized"), 1),
        Settled::Forced(status) => {
            let (vm, power) = forced_vm_state(status);
            (Cow::Owned(status.clone()), vm, power)
        }
    };
    let progress = matches!(
        &*status,
        "ACTIVE" | "BUILD" | "REBUILD" | "RESIZE" | "VERIFY_RESIZE" | "MIGRATING"
    )
    .then_some(if status == "BUILD" { 0 } else { 100 });
    View {
        status,
        vm_state: vm,
        task_state: None,
        power_state: power,
        progress,
        gone: false,
        changed_ms,
    }
}

/// The vm_state and power_state Nova would hold behind a status [nova common.py `_STATE_MAP`].
fn forced_vm_state(status: &str) -> (Cow<'static, str>, u8) {
    let (vm, power) = match status {
        "ACTIVE" => ("active", 1),
        "BUILD" => ("building", 0),
        "ERROR" => ("error", 0),
        "SHUTOFF" => ("stopped", 4),
        "PAUSED" => ("paused", 3),
        "SUSPENDED" => ("suspended", 7),
        "RESCUE" => ("rescued", 1),
        "VERIFY_RESIZE" => ("resized", 1),
        "DELETED" => ("deleted", 0),
        "SOFT_DELETED" => ("soft-delete", 4),
        "SHELVED" => ("shelved", 4),
        "SHELVED_OFFLOADED" => ("shelved_offloaded", 4),
        other => return (Cow::Owned(other.to_lowercase()), 0),
    };
    (Cow::Borrowed(vm), power)
}

/// What a state check refused: `Cannot '<action>' instance <id> while it is in <attr> <state>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    pub attr: &'static str,
    pub state: String,
}

impl Conflict {
    pub fn message(&self, action: &str, id: &str) -> String {
        format!(
            "Cannot '{action}' instance {id} while it is in {} {}",
            self.attr, self.state
        )
    }
}

/// Nova's `check_instance_state`: the vm_state first, then the task_state.
pub fn check_state(
    view: &View,
    vm_states: &[&str],
    task_states: &[Option<&str>],
) -> Result<(), Conflict> {
    if !vm_states.contains(&&*view.vm_state) {
        return Err(Conflict {
            attr: "vm_state",
            state: view.vm_state.to_string(),
        });
    }
    if !task_states.contains(&view.task_state) {
        return Err(Conflict {
            attr: "task_state",
            state: view.task_state.unwrap_or("None").to_string(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn building(until: i64) -> Lifecycle {
        Lifecycle::new(
            Settled::Active,
            Some(Pending {
                shows: Shows::Build,
                since_ms: 0,
                until_ms: until,
            }),
        )
    }

    #[test]
    fn a_building_server_shows_rising_progress_then_becomes_active() {
        let life = building(10_000);
        let v0 = life.view(0, 0);
        assert_eq!((&*v0.status, v0.progress), ("BUILD", Some(0)));
        assert_eq!(v0.vm_state, "building");
        let v5 = life.view(5_000, 0);
        assert_eq!(v5.progress, Some(50));
        let v10 = life.view(10_000, 0);
        assert_eq!(v10.status, "ACTIVE");
        assert_eq!(v10.progress, Some(100));
        assert_eq!(
            v10.changed_ms, 10_000,
            "updated moves to the end of the build"
        );
    }

    #[test]
    fn no_pending_transition_means_active_at_once() {
        let life = Lifecycle::new(Settled::Active, None);
        let v = life.view(0, 0);
        assert_eq!(
            (&*v.status, v.task_state, v.power_state),
            ("ACTIVE", None, 1)
        );
    }

    #[test]
    fn reboots_and_rebuilds_return_to_active_after_their_time() {
        for (shows, status, task) in [
            (Shows::Reboot, "REBOOT", "rebooting"),
            (Shows::HardReboot, "HARD_REBOOT", "rebooting_hard"),
            (Shows::Rebuild, "REBUILD", "rebuilding"),
        ] {
            let mut life = Lifecycle::new(Settled::Active, None);
            life.start(shows, 1_000, 3_000);
            let during = life.view(3_999, 1_000);
            assert_eq!(during.status, status);
            assert_eq!(during.task_state, Some(task));
            assert_eq!(life.view(4_000, 1_000).status, "ACTIVE", "{status} ends");
        }
    }

    #[test]
    fn a_deleted_server_is_deleting_then_gone() {
        let mut life = Lifecycle::new(Settled::Active, None);
        life.delete(1_000, 2_000);
        let v = life.view(2_000, 0);
        assert_eq!((&*v.status, v.task_state), ("ACTIVE", Some("deleting")));
        assert!(!v.gone);
        let v = life.view(3_000, 0);
        assert!(v.gone);
        assert_eq!(v.status, "DELETED");
        assert_eq!(v.changed_ms, 3_000);
    }

    #[test]
    fn a_server_deleted_while_building_stays_deleted() {
        let mut life = building(10_000);
        life.delete(1_000, 0);
        assert!(life.view(20_000, 0).gone);
    }

    #[test]
    fn active_then_error_turns_to_error_at_the_deadline() {
        let life = Lifecycle::new(
            Settled::Error,
            Some(Pending {
                shows: Shows::Active,
                since_ms: 0,
                until_ms: 5_000,
            }),
        );
        assert_eq!(life.view(4_999, 0).status, "ACTIVE");
        assert_eq!(life.view(5_000, 0).status, "ERROR");
    }

    #[test]
    fn a_forced_status_sticks_past_any_deadline() {
        let mut life = building(1_000);
        life.set(Settled::Forced("ERROR".into()));
        let v = life.view(1_000_000, 0);
        assert_eq!((&*v.status, &*v.vm_state), ("ERROR", "error"));
        life.set(Settled::Forced("BUILD".into()));
        assert_eq!(life.view(9_000_000, 0).status, "BUILD");
    }

    #[test]
    fn settle_reports_when_a_transition_finished() {
        let mut life = building(1_000);
        assert_eq!(life.settle(500), None);
        assert_eq!(life.settle(2_000), Some(1_000));
        assert_eq!(life.pending, None);
    }

    #[test]
    fn state_checks_name_the_attribute_that_refused() {
        let building = building(1_000).view(0, 0);
        let c = check_state(&building, &["active"], &[None]).unwrap_err();
        assert_eq!(
            c.message("reboot", "abc"),
            "Cannot 'reboot' instance abc while it is in vm_state building"
        );
        let mut life = Lifecycle::new(Settled::Active, None);
        life.start(Shows::Reboot, 0, 1_000);
        let c = check_state(&life.view(0, 0), &["active"], &[None]).unwrap_err();
        assert_eq!(
            c.message("resize", "abc"),
            "Cannot 'resize' instance abc while it is in task_state rebooting"
        );
    }
}
