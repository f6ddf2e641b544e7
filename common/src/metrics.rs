//! Prometheus metrics: requests by route and status, a latency histogram, faults fired.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::{Arc, Mutex};

/// Upper bounds of the latency histogram, in seconds.
const BUCKETS: [f64; 10] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0,
];

#[derive(Clone, Default)]
pub struct Metrics {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Default)]
struct Inner {
    requests: BTreeMap<(String, String, String, u16), u64>,
    latency: BTreeMap<String, Histogram>,
    faults: BTreeMap<(String, String), u64>,
}

#[derive(Default)]
struct Histogram {
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Metrics {
    pub fn observe(&self, service: &str, route: &str, method: &str, status: u16, seconds: f64) {
        let mut m = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        *m.requests
            .entry((service.into(), route.into(), method.into(), status))
            .or_default() += 1;
        let h = m.latency.entry(service.to_string()).or_default();
        h.count += 1;
        h.sum += seconds;
        for (i, le) in BUCKETS.iter().enumerate() {
            if seconds <= *le {
                h.buckets[i] += 1;
            }
        }
    }

    pub fn fault_fired(&self, service: &str, rule: &str) {
        let mut m = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        *m.faults.entry((service.into(), rule.into())).or_default() += 1;
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let m = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = String::new();
        out.push_str("# HELP understudy_requests_total Requests answered, by route and status.\n");
        out.push_str("# TYPE understudy_requests_total counter\n");
        for ((service, route, method, status), n) in &m.requests {
            let _ = writeln!(
                out,
                "understudy_requests_total{{service=\"{}\",route=\"{}\",method=\"{}\",status=\"{status}\"}} {n}",
                esc(service), esc(route), esc(method)
            );
        }
        out.push_str("# HELP understudy_request_duration_seconds Time to answer a request.\n");
        out.push_str("# TYPE understudy_request_duration_seconds histogram\n");
        for (service, h) in &m.latency {
            for (i, le) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "understudy_request_duration_seconds_bucket{{service=\"{}\",le=\"{le}\"}} {}",
                    esc(service),
                    h.buckets[i]
                );
            }
            let _ = writeln!(
                out,
                "understudy_request_duration_seconds_bucket{{service=\"{}\",le=\"+Inf\"}} {}",
                esc(service),
                h.count
            );
            let _ = writeln!(
                out,
                "understudy_request_duration_seconds_sum{{service=\"{}\"}} {}",
                esc(service),
                h.sum
            );
            let _ = writeln!(
                out,
                "understudy_request_duration_seconds_count{{service=\"{}\"}} {}",
                esc(service),
                h.count
            );
        }
        out.push_str("# HELP understudy_faults_fired_total Fault rules fired, by rule.\n");
        out.push_str("# TYPE understudy_faults_fired_total counter\n");
        for ((service, rule), n) in &m.faults {
            let _ = writeln!(
                out,
                "understudy_faults_fired_total{{service=\"{}\",rule=\"{}\"}} {n}",
                esc(service),
                esc(rule)
            );
        }
        out
    }
}

fn esc(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
