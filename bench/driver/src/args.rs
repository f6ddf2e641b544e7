//! The command line, read with `std::env::args` (no parser crate).

pub const USAGE: &str = "\
understudy-driver: an autoscaler's day against a running Understudy stack

USAGE:
    understudy-driver [OPTIONS]

OPTIONS:
    --identity URL         Identity's base URL (default http://127.0.0.1:5000)
    --n N                  servers to scale up to and back down (default 1000)
    --concurrency C        requests in flight at most (default 64)
    --tenant T             tenantId to authenticate with (default 900001)
    --username U           username (default understudy-driver-T, one per tenant: a user's
                           tenant is settled by its first token)
    --region R             catalog region (default ORD)
    --compute-urls U,...   Compute replicas to spread Compute calls over, round-robin: each
                           replaces the scheme, host and port of the catalog's Compute URL
                           (its path is kept); a URL with a path is used as it is
    --pids P,...           processes of the stack whose CPU time to report (from /proc)
    --build-seconds S      Mimic's server_building metadata: seconds in BUILD (default 30)
    --lb-tick-seconds S    tick while a balancer is PENDING_UPDATE (default 1)
    --lb-wait MODE         after each node change: read (default): GET the balancer until
                           it is ACTIVE; retry: read nothing, and wait only when CLB refuses
                           the next change with 422 (as Otter does)
    --threads T            runtime threads; 1 (default) is tokio's current-thread runtime
    --timeout-s S          per-request timeout (default 30)
    --json                 print the report as one JSON object
    -h, --help             this text
";

#[derive(Debug, Clone)]
pub struct Args {
    pub identity: String,
    pub n: usize,
    pub concurrency: usize,
    pub tenant: String,
    pub username: String,
    pub region: String,
    pub compute_urls: Vec<String>,
    pub pids: Vec<u32>,
    pub build_seconds: u64,
    pub lb_tick_seconds: f64,
    /// Read the balancer after each node change (true) or only after a 422.
    pub lb_read_after_change: bool,
    pub threads: usize,
    pub timeout_s: u64,
    pub json: bool,
}

impl Default for Args {
    fn default() -> Self {
        Args {
            identity: "http://127.0.0.1:5000".into(),
            n: 1000,
            concurrency: 64,
            tenant: "900001".into(),
            // Empty: `understudy-driver-<tenant>` once the tenant is known.
            username: String::new(),
            region: "ORD".into(),
            compute_urls: Vec::new(),
            pids: Vec::new(),
            build_seconds: 30,
            lb_tick_seconds: 1.0,
            lb_read_after_change: true,
            threads: 1,
            timeout_s: 30,
            json: false,
        }
    }
}

pub enum Parsed {
    Run(Args),
    Help,
}

fn number<T: std::str::FromStr>(flag: &str, v: &str) -> Result<T, String> {
    v.parse()
        .map_err(|_| format!("{flag}: {v:?} is not a valid number"))
}

fn list(v: &str) -> impl Iterator<Item = &str> {
    v.split(',').map(str::trim).filter(|s| !s.is_empty())
}

/// Reads the arguments (without the program name). `--flag value` and `--flag=value`.
pub fn parse(argv: impl IntoIterator<Item = String>) -> Result<Parsed, String> {
    let mut a = Args::default();
    let mut it = argv.into_iter();
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(Parsed::Help),
            "--json" => {
                a.json = true;
                continue;
            }
            _ => {}
        }
        let mut value = || {
            inline
                .clone()
                .or_else(|| it.next())
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match flag.as_str() {
            "--identity" => a.identity = value()?.trim_end_matches('/').to_string(),
            "--n" => a.n = number(&flag, &value()?)?,
            "--concurrency" => a.concurrency = number(&flag, &value()?)?,
            "--tenant" => a.tenant = value()?,
            "--username" => a.username = value()?,
            "--region" => a.region = value()?,
            "--compute-urls" => {
                a.compute_urls = list(&value()?)
                    .map(|s| s.trim_end_matches('/').to_string())
                    .collect()
            }
            "--pids" => {
                a.pids = list(&value()?)
                    .map(|p| number(&flag, p))
                    .collect::<Result<_, _>>()?
            }
            "--build-seconds" => a.build_seconds = number(&flag, &value()?)?,
            "--lb-tick-seconds" => a.lb_tick_seconds = number(&flag, &value()?)?,
            "--lb-wait" => {
                a.lb_read_after_change = match value()?.as_str() {
                    "read" => true,
                    "retry" => false,
                    other => return Err(format!("--lb-wait: {other:?} is not read or retry")),
                }
            }
            "--threads" => a.threads = number(&flag, &value()?)?,
            "--timeout-s" => a.timeout_s = number(&flag, &value()?)?,
            other => return Err(format!("unknown argument {other:?} (see --help)")),
        }
    }
    if a.n == 0 {
        return Err("--n must be at least 1".into());
    }
    if a.concurrency == 0 {
        return Err("--concurrency must be at least 1".into());
    }
    if a.username.is_empty() {
        a.username = format!("understudy-driver-{}", a.tenant);
    }
    if !(a.lb_tick_seconds.is_finite() && a.lb_tick_seconds > 0.0) {
        return Err("--lb-tick-seconds must be a positive number".into());
    }
    Ok(Parsed::Run(a))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Result<Args, String> {
        match parse(args.iter().map(|s| s.to_string()))? {
            Parsed::Run(a) => Ok(a),
            Parsed::Help => Err("help".into()),
        }
    }

    #[test]
    fn flags_with_spaces_or_equals() {
        let a = run(&[
            "--identity",
            "http://x:1/",
            "--n=10",
            "--compute-urls",
            "http://a:1, http://b:2/",
            "--pids=1,2",
            "--json",
        ])
        .unwrap();
        assert_eq!(a.identity, "http://x:1");
        assert_eq!(a.n, 10);
        assert_eq!(a.compute_urls, ["http://a:1", "http://b:2"]);
        assert_eq!(a.pids, [1, 2]);
        assert!(a.json);
        assert_eq!(a.concurrency, 64);
        assert_eq!(a.username, "understudy-driver-900001", "a user per tenant");
        let a = run(&["--tenant", "42"]).unwrap();
        assert_eq!(a.username, "understudy-driver-42");
        let a = run(&["--tenant", "42", "--username", "me"]).unwrap();
        assert_eq!(a.username, "me");
    }

    #[test]
    fn bad_values_are_refused() {
        assert!(run(&["--n", "x"]).is_err());
        assert!(run(&["--n", "0"]).is_err());
        assert!(run(&["--concurrency"]).is_err());
        assert!(run(&["--what"]).is_err());
        assert!(run(&["--help"]).is_err());
    }
}
