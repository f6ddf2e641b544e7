//! CPU time of processes, in seconds: `/proc/PID/stat` (user + system, every thread,
//! reaped ones included, counted in clock ticks) and `/proc/PID/task/*/schedstat`
//! (nanoseconds per live thread), so a short day is not lost in 10 ms ticks. The split
//! between user and system time is `/proc/PID/stat`'s alone: the kernel divides a thread's
//! time between the two by what it sampled at its timer ticks, so the split is an estimate,
//! noisy on a short day, and need not add up to the schedstat total. No libc: the
//! clock-tick rate comes from the auxiliary vector (`AT_CLKTCK` in `/proc/self/auxv`),
//! 100 when it cannot be read.

use std::fs;

const AT_CLKTCK: usize = 17;

/// Clock ticks per second (`sysconf(_SC_CLK_TCK)`).
pub fn ticks_per_second() -> f64 {
    fs::read("/proc/self/auxv")
        .ok()
        .and_then(|raw| clock_ticks_of_auxv(&raw))
        .filter(|t| *t > 0)
        .map_or(100.0, |t| t as f64)
}

fn clock_ticks_of_auxv(raw: &[u8]) -> Option<usize> {
    const W: usize = std::mem::size_of::<usize>();
    raw.chunks_exact(2 * W).find_map(|pair| {
        let (k, v) = pair.split_at(W);
        let key = usize::from_ne_bytes(k.try_into().ok()?);
        let value = usize::from_ne_bytes(v.try_into().ok()?);
        (key == AT_CLKTCK).then_some(value)
    })
}

/// utime and stime of a `/proc/PID/stat` line, in ticks.
fn ticks_of_stat(stat: &str) -> Option<(u64, u64)> {
    // The command name (field 2) may hold spaces and parentheses: split after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state); utime is field 14, stime field 15.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((utime, stime))
}

/// User and system CPU seconds of `pid` ("self" for this process) from
/// `/proc/PID/stat`: every thread, exited ones included, in clock ticks (10 ms). None
/// when it is gone or unreadable.
pub fn user_system_seconds(pid: &str, ticks: f64) -> Option<(f64, f64)> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    ticks_of_stat(&stat).map(|(u, s)| (u as f64 / ticks, s as f64 / ticks))
}

/// [`user_system_seconds`], summed.
pub fn cpu_seconds(pid: &str, ticks: f64) -> Option<f64> {
    user_system_seconds(pid, ticks).map(|(u, s)| u + s)
}

/// CPU seconds of `pid`'s live threads from `/proc/PID/task/*/schedstat` (nanoseconds on
/// a CPU): precise, but blind to threads that have exited. None when unreadable.
pub fn thread_seconds(pid: &str) -> Option<f64> {
    let mut ns: u64 = 0;
    for task in fs::read_dir(format!("/proc/{pid}/task")).ok()? {
        let path = task.ok()?.path().join("schedstat");
        let line = fs::read_to_string(path).ok()?;
        ns += line.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(ns as f64 / 1e9)
}

/// A process's CPU time at one moment, both ways: `/proc/PID/stat`'s user and system
/// parts, and its live threads' schedstat total.
#[derive(Clone, Copy, Default)]
pub struct Sample {
    split: Option<(f64, f64)>,
    threads: Option<f64>,
}

impl Sample {
    pub fn take(pid: &str, ticks: f64) -> Sample {
        Sample {
            split: user_system_seconds(pid, ticks),
            threads: thread_seconds(pid),
        }
    }

    /// `/proc/PID/stat`'s user + system.
    fn stat(self) -> Option<f64> {
        self.split.map(|(u, s)| u + s)
    }

    /// User and system seconds from `before` to `self` (`/proc/PID/stat`, in ticks).
    pub fn user_system_since(self, before: Sample) -> Option<(f64, f64)> {
        let ((u0, s0), (u1, s1)) = (before.split?, self.split?);
        Some((u1 - u0, s1 - s0))
    }

    /// Seconds used from `before` to `self`: by the threads' own counters when both
    /// samples have them and they do not show less than `/proc/PID/stat` (threads exited),
    /// else by `/proc/PID/stat`; with the source's name.
    pub fn since(self, before: Sample) -> Option<(f64, &'static str)> {
        let stat = match (before.stat(), self.stat()) {
            (Some(b), Some(a)) => Some(a - b),
            _ => None,
        };
        let threads = match (before.threads, self.threads) {
            (Some(b), Some(a)) => Some(a - b),
            _ => None,
        };
        match (threads, stat) {
            // stat counts in 10 ms ticks: beyond two ticks short, threads have gone.
            (Some(t), Some(s)) if t + 0.02 < s => Some((s, "stat")),
            (Some(t), _) => Some((t, "schedstat")),
            (None, Some(s)) => Some((s, "stat")),
            (None, None) => None,
        }
    }
}

/// The process's command name, as `/proc/PID/comm` says.
pub fn name(pid: u32) -> String {
    fs::read_to_string(format!("/proc/{pid}/comm"))
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "?".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_after_an_odd_command_name() {
        let line = "42 (a) b (c) S 1 42 42 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 4 0 1 2 3";
        assert_eq!(ticks_of_stat(line), Some((250, 75)));
        assert_eq!(ticks_of_stat("garbage"), None);
    }

    #[test]
    fn this_process_has_a_tick_rate_and_cpu_time() {
        let t = ticks_per_second();
        assert!(t >= 1.0);
        assert!(cpu_seconds("self", t).is_some());
        let before = Sample::take("self", t);
        let mut x = 0u64;
        for i in 0..2_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        assert!(x != 1);
        let (used, _) = Sample::take("self", t).since(before).unwrap();
        assert!(used >= 0.0);
    }

    #[test]
    fn auxv_pairs() {
        let mut raw = Vec::new();
        for (k, v) in [(6usize, 4096usize), (AT_CLKTCK, 250), (0, 0)] {
            raw.extend_from_slice(&k.to_ne_bytes());
            raw.extend_from_slice(&v.to_ne_bytes());
        }
        assert_eq!(clock_ticks_of_auxv(&raw), Some(250));
    }
}
