//! The one virtual clock every expiry and timed transition reads.
//!
//! The clock is wall time plus an offset, or frozen at an instant. Nothing in Understudy
//! runs a timer: a status that changes with time is computed from a record and `now()`,
//! so moving this clock moves every transition at once.
//!
//! One process holds one [`Clock`]; the launcher hands the same one to all three mocks.
//! Mocks in other processes are kept in step by the control API, which sends the state
//! that results from every clock call to every peer of the catalog (`PUT /clock`): a
//! [`ClockState`] is small and absolute (an offset from wall time, or a frozen instant),
//! so every process that applies it reads the same `now`. A clock's [`Clock::id`] lets a
//! peer that shares it in-process recognise the call and do nothing twice.

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

impl ClockState {
    /// The virtual time this state gives at wall time `wall`.
    pub fn now_at(&self, wall: DateTime<Utc>) -> DateTime<Utc> {
        match *self {
            ClockState::Running { offset_ms } => wall + Duration::milliseconds(offset_ms),
            ClockState::Frozen { at } => at,
        }
    }

    /// The state after moving time forward (or back, if negative) by `by`.
    pub fn advanced(&self, by: Duration) -> ClockState {
        match *self {
            ClockState::Running { offset_ms } => ClockState::Running {
                offset_ms: offset_ms.saturating_add(by.num_milliseconds()),
            },
            ClockState::Frozen { at } => ClockState::Frozen { at: at + by },
        }
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
    pub fn advance(&self, seconds: f64) -> DateTime<Utc> {
        let by = Duration::milliseconds((seconds * 1000.0).round() as i64);
        self.update(|s| s.advanced(by))
    }

    /// Makes the clock read `to` now, keeping it running or frozen as it was.
    pub fn set(&self, to: DateTime<Utc>) -> DateTime<Utc> {
        self.update(|s| s.set_to(to, Utc::now()))
    }

    /// Stops the clock at `at` (its current reading when `None`).
    pub fn freeze(&self, at: Option<DateTime<Utc>>) -> DateTime<Utc> {
        self.update(|s| ClockState::Frozen {
            at: at.unwrap_or_else(|| s.now_at(Utc::now())),
        })
    }

    /// Lets a frozen clock run again from where it stands.
    pub fn unfreeze(&self) -> DateTime<Utc> {
        self.update(|s| ClockState::Running {
            offset_ms: (s.now_at(Utc::now()) - Utc::now()).num_milliseconds(),
        })
    }

    /// Mimic's `tick`: time stands still between ticks, so the clock is frozen where it
    /// reads now and then moved by `seconds`. Two ticks of 5 and 2.5 s move `now` by
    /// exactly 7.5 s, whatever wall time passed between them.
    pub fn tick(&self, seconds: f64) -> DateTime<Utc> {
        let by = Duration::milliseconds((seconds * 1000.0).round() as i64);
        self.update(|s| ClockState::Frozen {
            at: s.now_at(Utc::now()) + by,
        })
    }

    /// Replaces the state as a whole: how a peer's clock call reaches this clock.
    pub fn set_state(&self, state: ClockState) -> DateTime<Utc> {
        self.update(|_| state)
    }

    /// Back to wall time, running.
    pub fn reset(&self) -> DateTime<Utc> {
        self.update(|_| ClockState::default())
    }

    fn update(&self, f: impl FnOnce(&ClockState) -> ClockState) -> DateTime<Utc> {
        let mut guard = self.state.write().unwrap_or_else(|e| e.into_inner());
        *guard = f(&guard);
        guard.now_at(Utc::now())
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
        clock.advance(31.5);
        assert_eq!(clock.now(), at("2030-01-01T00:00:31.500Z"));
    }

    #[test]
    fn a_running_clock_keeps_its_offset_after_advance() {
        let clock = Clock::default();
        clock.advance(3600.0);
        let drift = (clock.now() - Utc::now()).num_seconds();
        assert!(
            (3599..=3600).contains(&drift),
            "offset should be an hour, was {drift}s"
        );
    }

    #[test]
    fn set_keeps_the_mode() {
        let clock = Clock::default();
        clock.set(at("2001-01-01T00:00:00Z"));
        assert!(matches!(clock.state(), ClockState::Running { .. }));
        assert!(clock.now() < at("2001-01-01T00:01:00Z"));
        let frozen = Clock::frozen(at("2030-01-01T00:00:00Z"));
        frozen.set(at("2001-01-01T00:00:00Z"));
        assert_eq!(frozen.now(), at("2001-01-01T00:00:00Z"));
    }

    #[test]
    fn freeze_then_unfreeze_continues_from_the_frozen_instant() {
        let clock = Clock::default();
        let t = clock.freeze(Some(at("2020-05-05T05:05:05Z")));
        assert_eq!(t, at("2020-05-05T05:05:05Z"));
        clock.unfreeze();
        assert!(clock.now() - at("2020-05-05T05:05:05Z") < Duration::seconds(2));
    }

    #[test]
    fn ticks_stop_time_and_move_it_by_exactly_their_amount() {
        let clock = Clock::default();
        let first = clock.tick(5.0);
        std::thread::sleep(std::time::Duration::from_millis(20));
        let second = clock.tick(2.5);
        assert_eq!(second - first, Duration::milliseconds(2500));
        assert_eq!(clock.now(), second, "time stands still between ticks");
        clock.reset();
        assert!((clock.now() - Utc::now()).num_seconds().abs() < 2);
    }

    #[test]
    fn a_state_applied_elsewhere_reads_the_same_now() {
        let here = Clock::frozen(at("2030-01-01T00:00:00Z"));
        let there = Clock::default();
        there.set_state(here.state());
        assert_eq!(there.now(), here.now());
        assert_ne!(here.id(), there.id());
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
