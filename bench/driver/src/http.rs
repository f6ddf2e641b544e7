//! One HTTP client (HTTP/1.1, keep-alive, a pool as large as the concurrency) and the
//! request counters every call goes through.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::time::Duration;

use reqwest::{Client, Method};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

pub type Result<T> = std::result::Result<T, String>;

/// Every request the driver sent, by outcome.
#[derive(Default)]
pub struct Stats {
    pub requests: AtomicU64,
    pub ok: AtomicU64,
    pub client_errors: AtomicU64,
    pub server_errors: AtomicU64,
    pub transport_errors: AtomicU64,
    pub retries: AtomicU64,
    pub ticks: AtomicU64,
}

/// An answer: status and body bytes.
pub struct Answer {
    pub status: u16,
    pub body: bytes::Bytes,
}

impl Answer {
    pub fn json<T: DeserializeOwned>(&self, what: &str) -> Result<T> {
        serde_json::from_slice(&self.body).map_err(|e| format!("{what}: unreadable body ({e})"))
    }

    /// The answer when its status is `want`, else an error naming what was asked.
    pub fn expect(self, want: u16, what: &str) -> Result<Answer> {
        if self.status == want {
            Ok(self)
        } else {
            Err(format!(
                "{what}: {} (expected {want}): {}",
                self.status,
                String::from_utf8_lossy(&self.body[..self.body.len().min(300)])
            ))
        }
    }
}

pub struct Http {
    client: Client,
    pub stats: Stats,
}

impl Http {
    pub fn new(pool: usize, timeout: Duration) -> Result<Http> {
        let client = Client::builder()
            .http1_only()
            .pool_max_idle_per_host(pool)
            .pool_idle_timeout(Duration::from_secs(90))
            .tcp_nodelay(true)
            .timeout(timeout)
            // The stack is local: an HTTP(S)_PROXY of the environment must not see it.
            .no_proxy()
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        Ok(Http {
            client,
            stats: Stats::default(),
        })
    }

    pub fn requests(&self) -> u64 {
        self.stats.requests.load(Relaxed)
    }

    /// Sends one request (a JSON body when given; the token when given) and reads the body.
    pub async fn send(
        &self,
        method: Method,
        url: &str,
        body: Option<&Value>,
        token: Option<&str>,
    ) -> Result<Answer> {
        self.stats.requests.fetch_add(1, Relaxed);
        let mut req = self
            .client
            .request(method.clone(), url)
            .header("Accept", "application/json");
        if let Some(t) = token {
            req = req.header("X-Auth-Token", t);
        }
        if let Some(b) = body {
            let bytes = serde_json::to_vec(b).map_err(|e| e.to_string())?;
            req = req.header("Content-Type", "application/json").body(bytes);
        }
        let answer = async {
            let res = req.send().await?;
            let status = res.status().as_u16();
            let body = res.bytes().await?;
            Ok::<_, reqwest::Error>(Answer { status, body })
        }
        .await;
        match answer {
            Ok(a) => {
                let counter = match a.status {
                    200..=399 => &self.stats.ok,
                    400..=499 => &self.stats.client_errors,
                    _ => &self.stats.server_errors,
                };
                counter.fetch_add(1, Relaxed);
                Ok(a)
            }
            Err(e) => {
                self.stats.transport_errors.fetch_add(1, Relaxed);
                Err(format!("{method} {url}: {e}"))
            }
        }
    }
}

/// The stack as the catalog (and `--compute-urls`) names it, with the caller's token.
pub struct Api {
    pub http: Http,
    pub token: String,
    pub identity: String,
    /// Compute base URLs (`.../{region}/v2/{tenant}`), used round-robin.
    pub computes: Vec<String>,
    pub lb: String,
    next_compute: AtomicUsize,
    /// Set once `/_understudy/v1/clock/tick` answered 404: Mimic's tick is used instead.
    mimic_tick: AtomicBool,
}

/// Attempts of a request that a 5xx or a transport error makes the driver repeat.
pub const ATTEMPTS: usize = 4;

impl Api {
    pub fn new(
        http: Http,
        token: String,
        identity: String,
        computes: Vec<String>,
        lb: String,
    ) -> Api {
        Api {
            http,
            token,
            identity,
            computes,
            lb,
            next_compute: AtomicUsize::new(0),
            mimic_tick: AtomicBool::new(false),
        }
    }

    /// The next Compute replica, round-robin.
    pub fn compute(&self) -> &str {
        let i = self.next_compute.fetch_add(1, Relaxed) % self.computes.len();
        &self.computes[i]
    }

    pub async fn call(&self, method: Method, url: &str, body: Option<&Value>) -> Result<Answer> {
        self.http.send(method, url, body, Some(&self.token)).await
    }

    /// [`Api::call`], repeated (after a short pause) while the answer is a 5xx or no
    /// answer came; returns the last answer and the statuses of the failed attempts
    /// (0: no answer). `url` is asked again for each attempt (the next replica).
    pub async fn call_retrying(
        &self,
        method: Method,
        url: impl Fn() -> String,
        body: Option<&Value>,
    ) -> Result<(Answer, Vec<u16>)> {
        let mut failed = Vec::new();
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                self.http.stats.retries.fetch_add(1, Relaxed);
                tokio::time::sleep(Duration::from_millis(5 << attempt)).await;
            }
            let last = attempt + 1 == ATTEMPTS;
            match self.call(method.clone(), &url(), body).await {
                Ok(a) if a.status < 500 || last => return Ok((a, failed)),
                Ok(a) => failed.push(a.status),
                Err(e) if last => return Err(e),
                Err(_) => failed.push(0),
            }
        }
        Err("no attempt was made".into())
    }

    /// Moves the stack's virtual clock by `seconds` (Mimic's tick: the clock stops, then
    /// moves): `POST {identity}/_understudy/v1/clock/tick`, or Mimic's
    /// `POST {identity}/mimic/v1.1/tick` on a stack that has no such route.
    pub async fn tick(&self, seconds: f64) -> Result<()> {
        self.http.stats.ticks.fetch_add(1, Relaxed);
        if !self.mimic_tick.load(Relaxed) {
            let url = format!("{}/_understudy/v1/clock/tick", self.identity);
            let a = self
                .http
                .send(Method::POST, &url, Some(&json!({"seconds": seconds})), None)
                .await?;
            if a.status != 404 && a.status != 405 {
                a.expect(200, "clock tick")?;
                return Ok(());
            }
            self.mimic_tick.store(true, Relaxed);
        }
        let url = format!("{}/mimic/v1.1/tick", self.identity);
        self.http
            .send(Method::POST, &url, Some(&json!({"amount": seconds})), None)
            .await?
            .expect(200, "Mimic tick")?;
        Ok(())
    }

    /// Which tick endpoint the stack answered.
    pub fn tick_endpoint(&self) -> &'static str {
        if self.mimic_tick.load(Relaxed) {
            "/mimic/v1.1/tick"
        } else {
            "/_understudy/v1/clock/tick"
        }
    }
}

/// `scheme://host:port` of a URL.
pub fn origin(url: &str) -> Result<String> {
    let u = reqwest::Url::parse(url).map_err(|e| format!("{url}: {e}"))?;
    Ok(u.origin().ascii_serialization())
}

/// The catalog's Compute URL moved to `replica`: its scheme, host and port, the catalog's
/// path. A replica URL with a path of its own is used as it is.
pub fn on_replica(catalog_url: &str, replica: &str) -> Result<String> {
    let r = reqwest::Url::parse(replica).map_err(|e| format!("{replica}: {e}"))?;
    if r.path() != "/" && !r.path().is_empty() {
        return Ok(replica.trim_end_matches('/').to_string());
    }
    let c = reqwest::Url::parse(catalog_url).map_err(|e| format!("{catalog_url}: {e}"))?;
    Ok(format!(
        "{}{}",
        r.origin().ascii_serialization(),
        c.path().trim_end_matches('/')
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replicas_keep_the_catalog_path() {
        let c = "http://localhost:8774/ORD/v2/900001";
        assert_eq!(
            on_replica(c, "http://127.0.0.1:9000").unwrap(),
            "http://127.0.0.1:9000/ORD/v2/900001"
        );
        assert_eq!(
            on_replica(c, "http://127.0.0.1:9000/DFW/v2/1/").unwrap(),
            "http://127.0.0.1:9000/DFW/v2/1"
        );
        assert_eq!(origin(c).unwrap(), "http://localhost:8774");
    }
}
