//! `understudy-driver`: an autoscaler's day against a running Understudy stack, timed.
//!
//! ```sh
//! understudy --identity-port 5000 --compute-port 8774 --lb-port 9876 &
//! understudy-driver --identity http://127.0.0.1:5000 --n 1000 --pids $(pgrep -n understudy)
//! ```
//!
//! The phases are in [`day`]. The report: each phase's wall time and requests, the total,
//! requests per second, the driver's own CPU time and — given `--pids` — the CPU time the
//! stack's processes spent meanwhile (`/proc/PID/stat`), each also split in user and
//! system time, so the load generator is seen not to be what is measured. `--json` prints
//! the same as one JSON object.

mod args;
mod cpu;
mod day;
mod http;

use std::process::ExitCode;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use serde_json::{json, Value};

use args::{Args, Parsed};

/// mimalloc, as the mocks: a request allocates many small, short-lived buffers.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let args = match args::parse(std::env::args().skip(1)) {
        Ok(Parsed::Run(a)) => a,
        Ok(Parsed::Help) => {
            print!("{}", args::USAGE);
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("understudy-driver: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = if args.threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(args.threads)
            .enable_all()
            .build()
    };
    let runtime = match runtime {
        Ok(r) => r,
        Err(e) => {
            eprintln!("understudy-driver: runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(drive(&args)) {
        Ok(report) => {
            if args.json {
                println!("{report}");
            } else {
                print!("{}", text(&report));
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("understudy-driver: {e}");
            ExitCode::FAILURE
        }
    }
}

fn round(x: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (x * f).round() / f
}

async fn drive(args: &Args) -> Result<Value, String> {
    let ticks = cpu::ticks_per_second();
    let stack_before: Vec<cpu::Sample> = args
        .pids
        .iter()
        .map(|p| cpu::Sample::take(&p.to_string(), ticks))
        .collect();
    let self_before = cpu::Sample::take("self", ticks);
    let client = http::Http::new(
        args.concurrency.max(1),
        Duration::from_secs(args.timeout_s.max(1)),
    );
    let (api, phases, total, out) = day::run(args, client).await?;
    let self_after = cpu::Sample::take("self", ticks);
    let process_total = cpu::cpu_seconds("self", ticks).unwrap_or(0.0);
    let (driver_cpu, driver_source) = self_after.since(self_before).unwrap_or((0.0, "none"));
    let split = |us: Option<(f64, f64)>| {
        us.map_or(
            Value::Null,
            |(u, s)| json!({"user": round(u, 2), "system": round(s, 2)}),
        )
    };
    let mut stack = Vec::new();
    let mut stack_cpu = 0.0;
    for (pid, before) in args.pids.iter().zip(stack_before) {
        let after = cpu::Sample::take(&pid.to_string(), ticks);
        let used = after.since(before);
        stack_cpu += used.map_or(0.0, |(u, _)| u);
        stack.push(json!({
            "pid": pid,
            "name": cpu::name(*pid),
            "cpu_seconds": used.map(|(u, _)| round(u, 4)),
            "source": used.map(|(_, s)| s),
            "user_system_seconds": split(after.user_system_since(before)),
        }));
    }
    let s = &api.http.stats;
    let requests = api.http.requests();
    Ok(json!({
        "n": args.n,
        "concurrency": args.concurrency,
        "threads": args.threads.max(1),
        "lb_wait": if args.lb_read_after_change { "read" } else { "retry" },
        "compute_urls": out.compute_urls,
        "lb_url": out.lb_url,
        "phases": phases.iter().map(|p| json!({
            "name": p.name,
            "seconds": round(p.seconds, 4),
            "requests": p.requests,
        })).collect::<Vec<_>>(),
        "total_seconds": round(total, 4),
        "requests": requests,
        "requests_per_second": round(requests as f64 / total.max(1e-9), 0),
        "answers": {
            "ok": s.ok.load(Relaxed),
            "client_errors": s.client_errors.load(Relaxed),
            "server_errors": s.server_errors.load(Relaxed),
            "transport_errors": s.transport_errors.load(Relaxed),
        },
        "retries": s.retries.load(Relaxed),
        "ticks": s.ticks.load(Relaxed),
        "tick_endpoint": out.tick_endpoint,
        "status_before_tick": out.status_before_tick,
        "servers_active": out.servers_active,
        "list_pages": out.pages,
        "balancers": out.balancers,
        "nodes_added": out.nodes_added,
        "fault": {
            "first_attempt_status": out.injected_failure_status,
            "retry_succeeded": out.retry_succeeded,
            "rule_fired": out.rule_fired,
        },
        // CPU time during the day (the driver's and each stack process's), and the
        // driver process's whole CPU time (start-up included, 10 ms ticks).
        "driver_cpu_seconds": round(driver_cpu, 4),
        "driver_cpu_source": driver_source,
        // The same split in user and system time, from /proc/PID/stat (10 ms ticks).
        "driver_user_system_seconds": split(self_after.user_system_since(self_before)),
        "driver_process_cpu_seconds": round(process_total, 2),
        "stack": stack,
        "stack_cpu_seconds": if args.pids.is_empty() { Value::Null } else { json!(round(stack_cpu, 4)) },
        "clock_ticks_per_second": ticks,
    }))
}

/// The report for people.
fn text(r: &Value) -> String {
    let mut s = String::new();
    let num = |v: &Value| v.as_f64().unwrap_or(0.0);
    s.push_str(&format!(
        "understudy-driver: N = {}, concurrency {}, {} thread(s), lb-wait {}\n",
        r["n"], r["concurrency"], r["threads"], r["lb_wait"]
    ));
    s.push_str(&format!(
        "{:<18} {:>10} {:>9}\n",
        "phase", "seconds", "requests"
    ));
    for p in r["phases"].as_array().into_iter().flatten() {
        s.push_str(&format!(
            "{:<18} {:>10.4} {:>9}\n",
            p["name"].as_str().unwrap_or("?"),
            num(&p["seconds"]),
            p["requests"]
        ));
    }
    s.push_str(&format!(
        "{:<18} {:>10.4} {:>9}\n",
        "total",
        num(&r["total_seconds"]),
        r["requests"]
    ));
    s.push_str(&format!(
        "requests/s: {}; answers: {}; retries: {}; ticks: {} ({})\n",
        r["requests_per_second"], r["answers"], r["retries"], r["ticks"], r["tick_endpoint"]
    ));
    s.push_str(&format!(
        "before the tick: {}; servers ACTIVE after it: {} ({} list pages); balancers: {}; nodes added: {}; fault: {}\n",
        r["status_before_tick"], r["servers_active"], r["list_pages"], r["balancers"], r["nodes_added"], r["fault"]
    ));
    let split = |v: &Value| match v {
        Value::Null => String::new(),
        v => format!("; stat: user {} s, system {} s", v["user"], v["system"]),
    };
    s.push_str(&format!(
        "driver CPU during the day: {:.4} s ({}{}); whole process: {:.2} s\n",
        num(&r["driver_cpu_seconds"]),
        r["driver_cpu_source"],
        split(&r["driver_user_system_seconds"]),
        num(&r["driver_process_cpu_seconds"])
    ));
    for p in r["stack"].as_array().into_iter().flatten() {
        s.push_str(&format!(
            "stack pid {} ({}): {} s ({}{})\n",
            p["pid"],
            p["name"].as_str().unwrap_or("?"),
            p["cpu_seconds"],
            p["source"],
            split(&p["user_system_seconds"])
        ));
    }
    if !r["stack_cpu_seconds"].is_null() {
        s.push_str(&format!(
            "stack CPU during the day: {:.4} s\n",
            num(&r["stack_cpu_seconds"])
        ));
    }
    s
}
