//! The one virtual clock every expiry and timed transition reads.
//!
//! The clock is wall time plus an offset, or frozen at an instant. Nothing in Understudy
//! runs a timer: a status that changes with time is computed from a record and `now()`,
//! so moving this clock moves every transition at once.
//!
//! Each mock's store reads one [`Clock`]; the launcher hands the same one to its three
//! mocks. Mocks in other processes are kept in step by the control API, which sends the
//! state that results from every clock call to every peer of the catalog (`PUT /clock`):
//! a [`ClockState`] is small and absolute (an offset from wall time, or a frozen
//! instant), so every process that applies it reads the same `now`.
//!
//! With the Redis store the stack's state is also kept in Redis, under `{namespace}:clock`
//! (one key for every service and replica of the stack), and each process still reads its
//! own [`Clock`]: the request pipeline copies the Redis state into it before every
//! request but the liveness and readiness probes (`Store::sync_clock`), and every clock
//! call of the control API (and Mimic's tick) changes the Redis state with a
//! compare-and-set, then this process's copy (`Store::change_clock`). The methods of
//! [`Clock`] itself change this process's copy only. `Store::clock_id` names the clock a
//! peer shares (the same object in one process, the same Redis key across processes), so
//! a peer that shares it does nothing twice.

use std::sync::{Arc, RwLock};

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

/// How the clock derives `now` from the wall clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum ClockState {
    /// Wall time shifted by `offset_ms` (0 = real time).
    Running { offset_ms: i64 },
    /// Time stands still at `at`; only `advance` and `set` move it.
    Frozen { at: DateTime<Utc> },
}

impl Default for ClockState {
    fn default() -> Self {
        ClockState::Running { offset_ms: 0 }
    }
}

/// A clock change that would leave the range the clock can read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the clock must stay between 1970-01-01 and 9999-12-31")]
pub struct OutOfRange;

/// The earliest and latest instants the clock may read: every timestamp format of the
/// emulated APIs can write them, and no arithmetic on them overflows.
fn in_range(t: DateTime<Utc>) -> bool {
    (0..=253_402_300_799).contains(&t.timestamp())
}

fn millis(seconds: f64) -> Result<Duration, OutOfRange> {
    let ms = (seconds * 1000.0).round();
    // Ten thousand years either way is more than the range holds.
    if !ms.is_finite() || ms.abs() > 3.2e14 {
        return Err(OutOfRange);
    }
    Duration::try_milliseconds(ms as i64).ok_or(OutOfRange)
}

impl ClockState {
    /// The virtual time this state gives at wall time `wall` (clamped to the range, so
    /// reading the clock never fails; changes are checked before they are made).
    pub fn now_at(&self, wall: DateTime<Utc>) -> DateTime<Utc> {
        match *self {
            ClockState::Running { offset_ms } => Duration::try_milliseconds(offset_ms)
                .and_then(|d| wall.checked_add_signed(d))
                .unwrap_or(if offset_ms < 0 {
                    DateTime::<Utc>::MIN_UTC
                } else {
                    DateTime::<Utc>::MAX_UTC
                }),
            ClockState::Frozen { at } => at,
        }
    }

    /// The same state, if it reads an instant inside the range at wall time `wall`.
    fn checked(self, wall: DateTime<Utc>) -> Result<ClockState, OutOfRange> {
        let now = match self {
            ClockState::Running { offset_ms } => Duration::try_milliseconds(offset_ms)
                .and_then(|d| wall.checked_add_signed(d))
                .ok_or(OutOfRange)?,
            ClockState::Frozen { at } => at,
        };
        in_range(now).then_some(self).ok_or(OutOfRange)
    }

    /// The state after moving time forward (or back, if negative) by `by`.
    pub fn advanced(&self, by: Duration) -> Result<ClockState, OutOfRange> {
        Ok(match *self {
            ClockState::Running { offset_ms } => ClockState::Running {
                offset_ms: offset_ms
                    .checked_add(by.num_milliseconds())
                    .ok_or(OutOfRange)?,
            },
            ClockState::Frozen { at } => ClockState::Frozen {
                at: at.checked_add_signed(by).ok_or(OutOfRange)?,
            },
        })
    }

    /// The state that reads `to` at wall time `wall`, keeping the mode (running or frozen).
    pub fn set_to(&self, to: DateTime<Utc>, wall: DateTime<Utc>) -> ClockState {
        match self {
            ClockState::Running { .. } => ClockState::Running {
                offset_ms: (to - wall).num_milliseconds(),
            },
            ClockState::Frozen { .. } => ClockState::Frozen { at: to },
        }
    }
}

/// One change of the clock, as the control API and Mimic's `tick` ask for it: a pure
/// function of the state before and the wall time, so a shared store can apply it to the
/// state it holds (and apply it again if another replica changed the clock meanwhile).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ClockChange {
    /// Moves time by this many seconds (fractions allowed, negative goes back).
    Advance(f64),
    /// Reads this instant now, keeping the mode.
    Set(DateTime<Utc>),
    /// Stops at this instant (at the current reading when `None`).
    Freeze(Option<DateTime<Utc>>),
    /// Runs again from where it stands.
    Unfreeze,
    /// Mimic's `tick`: time stands still between ticks, so the clock is frozen where it
    /// reads now and then moved by this many seconds. Two ticks of 5 and 2.5 s move `now`
    /// by exactly 7.5 s, whatever wall time passed between them.
    Tick(f64),
    /// The whole state, as a peer spreads it.
    Replace(ClockState),
    /// Back to wall time, running.
    Reset,
}

impl ClockChange {
    /// The state after this change, checked to read an instant inside the range.
    pub fn apply(&self, s: &ClockState, wall: DateTime<Utc>) -> Result<ClockState, OutOfRange> {
        let next = match *self {
            ClockChange::Advance(seconds) => s.advanced(millis(seconds)?)?,
            ClockChange::Set(to) => s.set_to(to, wall),
            ClockChange::Freeze(at) => ClockState::Frozen {
                at: at.unwrap_or_else(|| s.now_at(wall)),
            },
            ClockChange::Unfreeze => ClockState::Running {
                offset_ms: (s.now_at(wall) - wall).num_milliseconds(),
            },
            ClockChange::Tick(seconds) => {
                ClockState::Frozen { at: s.now_at(wall) }.advanced(millis(seconds)?)?
            }
            ClockChange::Replace(state) => state,
            ClockChange::Reset => ClockState::default(),
        };
        next.checked(wall)
    }
}

/// A cheap handle on the shared virtual clock.
#[derive(Debug, Clone)]
pub struct Clock {
    state: Arc<RwLock<ClockState>>,
    id: Arc<str>,
}

impl Default for Clock {
    fn default() -> Self {
        Clock::new(ClockState::default())
    }
}

impl Clock {
    pub fn new(state: ClockState) -> Self {
        Clock {
            state: Arc::new(RwLock::new(state)),
            id: uuid::Uuid::new_v4().simple().to_string().into(),
        }
    }

    /// Names this clock: two handles with the same id are one clock.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// A clock frozen at `at`, for tests that want exact times.
    pub fn frozen(at: DateTime<Utc>) -> Self {
        Clock::new(ClockState::Frozen { at })
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.state().now_at(Utc::now())
    }

    pub fn state(&self) -> ClockState {
        *self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Moves time by `seconds` (fractions allowed); returns the new `now`.
    pub fn advance(&self, seconds: f64) -> Result<DateTime<Utc>, OutOfRange> {
        self.change(&ClockChange::Advance(seconds))
    }

    /// Makes the clock read `to` now, keeping it running or frozen as it was.
    pub fn set(&self, to: DateTime<Utc>) -> Result<DateTime<Utc>, OutOfRange> {
        self.change(&ClockChange::Set(to))
    }

    /// Stops the clock at `at` (its current reading when `None`).
    pub fn freeze(&self, at: Option<DateTime<Utc>>) -> Result<DateTime<Utc>, OutOfRange> {
        self.change(&ClockChange::Freeze(at))
    }

    /// Lets a frozen clock run again from where it stands.
    pub fn unfreeze(&self) -> DateTime<Utc> {
        self.change(&ClockChange::Unfreeze)
            .unwrap_or_else(|_| self.now())
    }

    /// Mimic's `tick` (see [`ClockChange::Tick`]).
    pub fn tick(&self, seconds: f64) -> Result<DateTime<Utc>, OutOfRange> {
        self.change(&ClockChange::Tick(seconds))
    }

    /// Replaces the state as a whole: how a peer's clock call reaches this clock.
    pub fn set_state(&self, state: ClockState) -> Result<DateTime<Utc>, OutOfRange> {
        self.change(&ClockChange::Replace(state))
    }

    /// Back to wall time, running.
    pub fn reset(&self) -> DateTime<Utc> {
        self.change(&ClockChange::Reset)
            .unwrap_or_else(|_| Utc::now())
    }

    /// Applies `change` to this process's clock; returns the new `now`.
    pub fn change(&self, change: &ClockChange) -> Result<DateTime<Utc>, OutOfRange> {
        self.update(|s, wall| change.apply(s, wall))
    }

    /// Applies a change only if the state it gives reads an instant inside the range;
    /// a refused change leaves the clock as it was.
    fn update(
        &self,
        f: impl FnOnce(&ClockState, DateTime<Utc>) -> Result<ClockState, OutOfRange>,
    ) -> Result<DateTime<Utc>, OutOfRange> {
        let wall = Utc::now();
        let mut guard = self.state.write().unwrap_or_else(|e| e.into_inner());
        let next = f(&guard, wall)?.checked(wall)?;
        *guard = next;
        Ok(next.now_at(wall))
    }
}

/// Timestamps as the OpenStack APIs write them: `2024-01-02T03:04:05Z`.
pub fn iso_seconds(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Timestamps with microseconds, as Mimic's `tick` and Keystone v3 write them.
pub fn iso_micros(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Parses the timestamps clients send (`changes-since`, clock `set`): RFC 3339, or a
/// naive `YYYY-MM-DDTHH:MM:SS[.f][Z]` taken as UTC.
pub fn parse_timestamp(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    let naive = s.trim_end_matches('Z');
    [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%d",
    ]
    .iter()
    .find_map(|f| {
        chrono::NaiveDateTime::parse_from_str(naive, f)
            .ok()
            .or_else(|| {
                chrono::NaiveDate::parse_from_str(naive, f)
                    .ok()
                    .and_then(|d| d.and_hms_opt(0, 0, 0))
            })
    })
    .map(|n| n.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        parse_timestamp(s).expect("test timestamp parses")
    }

    #[test]
    fn a_frozen_clock_moves_only_when_advanced() {
        let clock = Clock::frozen(at("2030-01-01T00:00:00Z"));
        assert_eq!(clock.now(), at("2030-01-01T00:00:00Z"));
        clock.advance(31.5).unwrap();
        assert_eq!(clock.now(), at("2030-01-01T00:00:31.500Z"));
    }

    #[test]
    fn a_running_clock_keeps_its_offset_after_advance() {
        let clock = Clock::default();
        clock.advance(3600.0).unwrap();
        let drift = (clock.now() - Utc::now()).num_seconds();
        assert!(
            (3599..=3600).contains(&drift),
            "offset should be an hour, was {drift}s"
        );
    }

    #[test]
    fn set_keeps_the_mode() {
        let clock = Clock::default();
        clock.set(at("2001-01-01T00:00:00Z")).unwrap();
        assert!(matches!(clock.state(), ClockState::Running { .. }));
        assert!(clock.now() < at("2001-01-01T00:01:00Z"));
        let frozen = Clock::frozen(at("2030-01-01T00:00:00Z"));
        frozen.set(at("2001-01-01T00:00:00Z")).unwrap();
        assert_eq!(frozen.now(), at("2001-01-01T00:00:00Z"));
    }

    #[test]
    fn freeze_then_unfreeze_continues_from_the_frozen_instant() {
        let clock = Clock::default();
        let t = clock.freeze(Some(at("2020-05-05T05:05:05Z"))).unwrap();
        assert_eq!(t, at("2020-05-05T05:05:05Z"));
        clock.unfreeze();
        assert!(clock.now() - at("2020-05-05T05:05:05Z") < Duration::seconds(2));
    }

    #[test]
    fn ticks_stop_time_and_move_it_by_exactly_their_amount() {
        let clock = Clock::default();
        let first = clock.tick(5.0).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        let second = clock.tick(2.5).unwrap();
        assert_eq!(second - first, Duration::milliseconds(2500));
        assert_eq!(clock.now(), second, "time stands still between ticks");
        clock.reset();
        assert!((clock.now() - Utc::now()).num_seconds().abs() < 2);
    }

    #[test]
    fn a_state_applied_elsewhere_reads_the_same_now() {
        let here = Clock::frozen(at("2030-01-01T00:00:00Z"));
        let there = Clock::default();
        there.set_state(here.state()).unwrap();
        assert_eq!(there.now(), here.now());
        assert_ne!(here.id(), there.id());
    }

    #[test]
    fn changes_out_of_range_are_refused_and_leave_the_clock_alone() {
        let clock = Clock::frozen(at("2030-01-01T00:00:00Z"));
        for change in [
            clock.advance(1e13),
            clock.advance(-1e300),
            clock.advance(f64::NAN),
            clock.tick(1e13),
            clock.set_state(ClockState::Running {
                offset_ms: 9_000_000_000_000_000_000,
            }),
            clock.set_state(ClockState::Running {
                offset_ms: i64::MIN,
            }),
        ] {
            assert_eq!(change, Err(OutOfRange));
        }
        assert_eq!(clock.now(), at("2030-01-01T00:00:00Z"));
        let running = Clock::default();
        assert_eq!(running.advance(1e13), Err(OutOfRange));
        assert!((running.now() - Utc::now()).num_seconds().abs() < 2);
    }

    #[test]
    fn parses_naive_changes_since_with_z() {
        assert_eq!(at("1970-01-01T00:00:10Z").timestamp(), 10);
        assert_eq!(at("1970-01-01T00:00:10").timestamp(), 10);
        assert_eq!(at("1970-01-01T00:00:10.5Z").timestamp_millis(), 10_500);
        assert_eq!(at("2020-01-01T00:00:00+01:00").timestamp(), 1_577_833_200);
        assert!(parse_timestamp("yesterday").is_none());
    }

    #[test]
    fn formats_like_the_apis() {
        let t = at("2030-01-02T03:04:05.25Z");
        assert_eq!(iso_seconds(t), "2030-01-02T03:04:05Z");
        assert_eq!(iso_micros(t), "2030-01-02T03:04:05.250000Z");
    }
}
