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
    /// service → route → method → status → count; nested so that counting an existing
    /// series allocates nothing.
    requests: crate::FastMap<&'static str, crate::FastMap<String, ByMethod>>,
    latency: BTreeMap<String, Histogram>,
    faults: BTreeMap<(String, String), u64>,
}

/// Request counts of one route: method → status → count.
type ByMethod = crate::FastMap<String, crate::FastMap<u16, u64>>;

#[derive(Default)]
struct Histogram {
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Metrics {
    pub fn observe(
        &self,
        service: &'static str,
        route: &str,
        method: &str,
        status: u16,
        seconds: f64,
    ) {
        let mut m = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let routes = m.requests.entry(service).or_default();
        let methods = match routes.get_mut(route) {
            Some(r) => r,
            None => routes.entry(route.to_string()).or_default(),
        };
        let statuses = match methods.get_mut(method) {
            Some(s) => s,
            None => methods.entry(method.to_string()).or_default(),
        };
        *statuses.entry(status).or_default() += 1;
        let h = match m.latency.get_mut(service) {
            Some(h) => h,
            None => m.latency.entry(service.to_string()).or_default(),
        };
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
        let mut series: Vec<_> = m
            .requests
            .iter()
            .flat_map(|(service, routes)| {
                routes.iter().flat_map(move |(route, methods)| {
                    methods.iter().flat_map(move |(method, statuses)| {
                        statuses
                            .iter()
                            .map(move |(status, n)| (*service, route, method, *status, *n))
                    })
                })
            })
            .collect();
        series.sort();
        for (service, route, method, status, n) in series {
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
