//! One HTTP client and the request counters every call goes through.
//!
//! The client is deliberately small, so that the driver's CPU time stays well below the
//! stack's and the figures measure the stack: HTTP/1.1 over plain TCP, keep-alive
//! connections pooled per host, each request written in one buffer with its few headers,
//! the answer's status, `Content-Length` (or chunked body) and `Connection` read, nothing
//! else parsed; each host name resolved once (a catalog's `localhost` would otherwise cost
//! a blocking-thread lookup per connection), and a body read straight into the buffer it
//! is handed out in. It speaks `http://` only: the stacks it drives are local.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub type Result<T> = std::result::Result<T, String>;

/// A request method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Method(&'static str);

impl Method {
    pub const GET: Method = Method("GET");
    pub const POST: Method = Method("POST");
    pub const PUT: Method = Method("PUT");
    pub const DELETE: Method = Method("DELETE");
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

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

/// A request's JSON body, serialized once: a retry sends the same bytes.
pub struct Json(Vec<u8>);

impl Json {
    pub fn of(value: &impl Serialize) -> Result<Json> {
        serde_json::to_vec(value)
            .map(Json)
            .map_err(|e| format!("a request body: {e}"))
    }
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
    /// Idle keep-alive connections by `host:port`.
    idle: Mutex<HashMap<String, Vec<Conn>>>,
    /// The address each `host:port` resolved to, the first time it was connected.
    resolved: Mutex<HashMap<String, SocketAddr>>,
    pool: usize,
    timeout: Duration,
    pub stats: Stats,
}

/// One keep-alive connection and what it has read past the last answer.
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

/// An `http://` URL cut where the client needs it.
pub struct Target<'a> {
    /// `host:port` (port 80 when the URL names none).
    pub authority: String,
    /// The path and query, `/` at least.
    pub path: &'a str,
}

/// Splits `http://host[:port]/path?query`.
pub fn target(url: &str) -> Result<Target<'_>> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("{url}: only http:// URLs are driven"))?;
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if host.is_empty() {
        return Err(format!("{url}: no host"));
    }
    let authority = if host.rsplit_once(':').is_some_and(|(_, p)| !p.contains(']')) {
        host.to_string()
    } else {
        format!("{host}:80")
    };
    Ok(Target { authority, path })
}

/// Why an exchange on a pooled connection failed: before the answer began (the server
/// had closed the idle connection; the request may be sent again on a new one), or later.
enum Failure {
    Stale(String),
    Broken(String),
}

impl Http {
    pub fn new(pool: usize, timeout: Duration) -> Http {
        Http {
            idle: Mutex::new(HashMap::new()),
            resolved: Mutex::new(HashMap::new()),
            pool,
            timeout,
            stats: Stats::default(),
        }
    }

    pub fn requests(&self) -> u64 {
        self.stats.requests.load(Relaxed)
    }

    /// Sends one request (a JSON body when given; the token when given) and reads the body.
    pub async fn send(
        &self,
        method: Method,
        url: &str,
        body: Option<&Json>,
        token: Option<&str>,
    ) -> Result<Answer> {
        self.stats.requests.fetch_add(1, Relaxed);
        let answer =
            match tokio::time::timeout(self.timeout, self.exchange(method, url, body, token)).await
            {
                Ok(a) => a,
                Err(_) => Err(format!("no answer within {:?}", self.timeout)),
            };
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

    async fn exchange(
        &self,
        method: Method,
        url: &str,
        body: Option<&Json>,
        token: Option<&str>,
    ) -> Result<Answer> {
        let t = target(url)?;
        let body = body.map(|b| b.0.as_slice());
        let mut req = Vec::with_capacity(256 + body.map_or(0, <[u8]>::len));
        req.extend_from_slice(method.0.as_bytes());
        req.push(b' ');
        req.extend_from_slice(t.path.as_bytes());
        req.extend_from_slice(b" HTTP/1.1\r\nHost: ");
        req.extend_from_slice(t.authority.as_bytes());
        req.extend_from_slice(b"\r\nAccept: application/json\r\n");
        if let Some(token) = token {
            req.extend_from_slice(b"X-Auth-Token: ");
            req.extend_from_slice(token.as_bytes());
            req.extend_from_slice(b"\r\n");
        }
        match body {
            Some(b) => {
                req.extend_from_slice(b"Content-Type: application/json\r\nContent-Length: ");
                req.extend_from_slice(b.len().to_string().as_bytes());
                req.extend_from_slice(b"\r\n\r\n");
                req.extend_from_slice(b);
            }
            None if method == Method::POST || method == Method::PUT => {
                req.extend_from_slice(b"Content-Length: 0\r\n\r\n");
            }
            None => req.extend_from_slice(b"\r\n"),
        }
        // A pooled connection the server closed while idle fails before any answer: the
        // request is sent again on a new connection, once.
        if let Some(conn) = self.take_idle(&t.authority) {
            match self.on(conn, &t.authority, &req).await {
                Ok(a) => return Ok(a),
                Err(Failure::Broken(e)) => return Err(e),
                Err(Failure::Stale(_)) => {}
            }
        }
        let addr = self.resolve(&t.authority).await?;
        let stream = TcpStream::connect(addr)
            .await
            .map_err(|e| format!("connect {}: {e}", t.authority))?;
        let _ = stream.set_nodelay(true);
        let conn = Conn {
            stream,
            buf: Vec::with_capacity(8192),
        };
        match self.on(conn, &t.authority, &req).await {
            Ok(a) => Ok(a),
            Err(Failure::Stale(e) | Failure::Broken(e)) => Err(e),
        }
    }

    /// `host:port` as an address: looked up once, then remembered.
    async fn resolve(&self, authority: &str) -> Result<SocketAddr> {
        let known = self
            .resolved
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(authority)
            .copied();
        if let Some(addr) = known {
            return Ok(addr);
        }
        let addr = tokio::net::lookup_host(authority)
            .await
            .map_err(|e| format!("resolve {authority}: {e}"))?
            .next()
            .ok_or_else(|| format!("resolve {authority}: no address"))?;
        self.resolved
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(authority.to_string(), addr);
        Ok(addr)
    }

    fn take_idle(&self, authority: &str) -> Option<Conn> {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        idle.get_mut(authority).and_then(Vec::pop)
    }

    fn put_idle(&self, authority: &str, conn: Conn) {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        let list = idle.entry(authority.to_string()).or_default();
        if list.len() < self.pool {
            list.push(conn);
        }
    }

    /// Writes `req` on `conn`, reads one answer; the connection goes back to the pool
    /// unless the server said it closes it.
    async fn on(
        &self,
        mut conn: Conn,
        authority: &str,
        req: &[u8],
    ) -> std::result::Result<Answer, Failure> {
        conn.stream
            .write_all(req)
            .await
            .map_err(|e| Failure::Stale(format!("write: {e}")))?;
        let (answer, keep) = read_answer(&mut conn).await?;
        if keep {
            self.put_idle(authority, conn);
        }
        Ok(answer)
    }
}

/// Reads more of the stream into `conn.buf`'s spare room (made 16 KiB at least, never
/// zeroed); false at the end of the stream.
async fn fill(conn: &mut Conn) -> std::io::Result<bool> {
    if conn.buf.capacity() - conn.buf.len() < 4096 {
        conn.buf.reserve(16384);
    }
    Ok(conn.stream.read_buf(&mut conn.buf).await? > 0)
}

/// Longest `Content-Length` room is made for at once; a longer body still reads, in steps.
const MAX_RESERVE: usize = 64 << 20;

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// One answer from `conn`: status and body, and whether the connection may be reused.
async fn read_answer(conn: &mut Conn) -> std::result::Result<(Answer, bool), Failure> {
    let broken = |e: String| Failure::Broken(e);
    let head_end = loop {
        if let Some(i) = find(&conn.buf, b"\r\n\r\n") {
            break i + 4;
        }
        match fill(conn).await {
            Ok(true) => {}
            Ok(false) if conn.buf.is_empty() => {
                return Err(Failure::Stale("closed before answering".into()))
            }
            Ok(false) => return Err(broken("closed in the middle of an answer".into())),
            Err(e) if conn.buf.is_empty() => return Err(Failure::Stale(format!("read: {e}"))),
            Err(e) => return Err(broken(format!("read: {e}"))),
        }
    };
    let head = std::str::from_utf8(&conn.buf[..head_end])
        .map_err(|_| broken("an answer head that is not text".into()))?;
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| broken(format!("not an HTTP answer: {head:.80}")))?;
    let mut length = None;
    let mut chunked = false;
    let mut keep = true;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            length = value.parse::<usize>().ok();
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.eq_ignore_ascii_case("chunked");
        } else if name.eq_ignore_ascii_case("connection") {
            keep = !value.eq_ignore_ascii_case("close");
        }
    }
    if let (false, Some(n)) = (chunked, length) {
        // The body is read behind the head, in one buffer made long enough, and handed
        // out as a slice of it: no copy; what follows it stays for the next answer.
        let end = head_end + n;
        conn.buf
            .reserve(end.saturating_sub(conn.buf.len()).min(MAX_RESERVE));
        while conn.buf.len() < end {
            if !fill(conn).await.map_err(|e| broken(format!("read: {e}")))? {
                return Err(broken("closed in the middle of a body".into()));
            }
        }
        let rest = conn.buf.split_off(end);
        let whole = bytes::Bytes::from(std::mem::replace(&mut conn.buf, rest));
        let body = whole.slice(head_end..);
        return Ok((Answer { status, body }, keep));
    }
    conn.buf.drain(..head_end);
    let body = if chunked {
        read_chunked(conn).await.map_err(broken)?
    } else if status == 204 || status == 304 || (100..200).contains(&status) {
        Vec::new()
    } else {
        // No length: the body runs to the end of the stream.
        while fill(conn).await.map_err(|e| broken(format!("read: {e}")))? {}
        keep = false;
        std::mem::take(&mut conn.buf)
    };
    Ok((
        Answer {
            status,
            body: bytes::Bytes::from(body),
        },
        keep,
    ))
}

/// A chunked body, its trailer read.
async fn read_chunked(conn: &mut Conn) -> std::result::Result<Vec<u8>, String> {
    let mut body = Vec::new();
    loop {
        let line_end = loop {
            if let Some(i) = find(&conn.buf, b"\r\n") {
                break i;
            }
            if !fill(conn).await.map_err(|e| format!("read: {e}"))? {
                return Err("closed in the middle of a chunked body".into());
            }
        };
        let size_text = std::str::from_utf8(&conn.buf[..line_end]).unwrap_or("");
        let size_text = size_text.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| format!("a bad chunk size {size_text:?}"))?;
        conn.buf.drain(..line_end + 2);
        if size == 0 {
            // The trailer: header lines up to an empty one.
            loop {
                if let Some(i) = find(&conn.buf, b"\r\n") {
                    let empty = i == 0;
                    conn.buf.drain(..i + 2);
                    if empty {
                        return Ok(body);
                    }
                    continue;
                }
                if !fill(conn).await.map_err(|e| format!("read: {e}"))? {
                    return Ok(body);
                }
            }
        }
        while conn.buf.len() < size + 2 {
            if !fill(conn).await.map_err(|e| format!("read: {e}"))? {
                return Err("closed in the middle of a chunk".into());
            }
        }
        body.extend_from_slice(&conn.buf[..size]);
        conn.buf.drain(..size + 2);
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

    pub async fn call(&self, method: Method, url: &str, body: Option<&Json>) -> Result<Answer> {
        self.http.send(method, url, body, Some(&self.token)).await
    }

    /// [`Api::call`], repeated (after a short pause) while the answer is a 5xx or no
    /// answer came; returns the last answer and the statuses of the failed attempts
    /// (0: no answer). `url` is asked again for each attempt (the next replica).
    pub async fn call_retrying(
        &self,
        method: Method,
        url: impl Fn() -> String,
        body: Option<&Json>,
    ) -> Result<(Answer, Vec<u16>)> {
        let mut failed = Vec::new();
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                self.http.stats.retries.fetch_add(1, Relaxed);
                tokio::time::sleep(Duration::from_millis(5 << attempt)).await;
            }
            let last = attempt + 1 == ATTEMPTS;
            match self.call(method, &url(), body).await {
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
                .send(
                    Method::POST,
                    &url,
                    Some(&Json::of(&json!({"seconds": seconds}))?),
                    None,
                )
                .await?;
            if a.status != 404 && a.status != 405 {
                a.expect(200, "clock tick")?;
                return Ok(());
            }
            self.mimic_tick.store(true, Relaxed);
        }
        let url = format!("{}/mimic/v1.1/tick", self.identity);
        self.http
            .send(
                Method::POST,
                &url,
                Some(&Json::of(&json!({"amount": seconds}))?),
                None,
            )
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
    target(url)?;
    let rest = &url["http://".len()..];
    let host = rest.split('/').next().unwrap_or(rest);
    Ok(format!("http://{host}"))
}

/// The catalog's Compute URL moved to `replica`: its scheme, host and port, the catalog's
/// path. A replica URL with a path of its own is used as it is.
pub fn on_replica(catalog_url: &str, replica: &str) -> Result<String> {
    let r = target(replica)?;
    if r.path != "/" {
        return Ok(replica.trim_end_matches('/').to_string());
    }
    let c = target(catalog_url)?;
    Ok(format!(
        "{}{}",
        origin(replica)?,
        c.path.trim_end_matches('/')
    ))
}

/// The value of `name` in a URL's query, percent-decoded.
pub fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    let query = query.split('#').next().unwrap_or(query);
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (k == name).then(|| percent_decode(v))
    })
}

fn percent_decode(s: &str) -> String {
    fn hex(c: u8) -> Option<u8> {
        (c as char).to_digit(16).map(|d| d as u8)
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let decoded = (b[i] == b'%' && i + 2 < b.len())
            .then(|| Some(hex(b[i + 1])? * 16 + hex(b[i + 2])?))
            .flatten();
        match (decoded, b[i]) {
            (Some(v), _) => {
                out.push(v);
                i += 3;
            }
            (None, b'+') => {
                out.push(b' ');
                i += 1;
            }
            (None, c) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads one request head (these requests have no body).
    async fn read_request(s: &mut TcpStream) {
        let mut seen = Vec::new();
        let mut byte = [0u8; 1];
        while !seen.ends_with(b"\r\n\r\n") {
            assert_eq!(s.read(&mut byte).await.unwrap(), 1, "request cut short");
            seen.push(byte[0]);
        }
    }

    #[tokio::test]
    async fn answers_by_length_chunked_and_to_the_close_on_kept_and_new_connections() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let big = "x".repeat(100_000);
        let body = big.clone();
        let server = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            read_request(&mut s).await;
            // The second answer arrives with the first: it must wait for the next request.
            s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloHTTP/1.1 201 Created\r\ncontent-length: 2\r\n\r\n{}")
                .await
                .unwrap();
            read_request(&mut s).await;
            read_request(&mut s).await;
            s.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
                .await
                .unwrap();
            read_request(&mut s).await;
            s.write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nto the end")
                .await
                .unwrap();
            drop(s);
            // A new connection: a body longer than any one read.
            let (mut s, _) = listener.accept().await.unwrap();
            read_request(&mut s).await;
            let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len());
            s.write_all(head.as_bytes()).await.unwrap();
            for part in body.as_bytes().chunks(7_000) {
                s.write_all(part).await.unwrap();
            }
            read_request(&mut s).await;
            s.write_all(b"HTTP/1.1 204 No Content\r\n\r\n")
                .await
                .unwrap();
        });
        let http = Http::new(4, Duration::from_secs(5));
        let url = format!("http://localhost:{port}/x");
        let mut got = Vec::new();
        for _ in 0..6 {
            let a = http.send(Method::GET, &url, None, None).await.unwrap();
            got.push((a.status, String::from_utf8(a.body.to_vec()).unwrap()));
        }
        server.await.unwrap();
        assert_eq!(
            got,
            [
                (200, "hello".to_string()),
                (201, "{}".to_string()),
                (200, "abcde".to_string()),
                (200, "to the end".to_string()),
                (200, big),
                (204, String::new()),
            ]
        );
        assert_eq!(http.requests(), 6);
        assert_eq!(http.stats.transport_errors.load(Relaxed), 0);
    }

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
        assert!(origin("https://x").is_err());
    }

    #[test]
    fn targets_and_query_parameters() {
        let t = target("http://127.0.0.1:9000/v2/1/servers?limit=5").unwrap();
        assert_eq!(
            (t.authority.as_str(), t.path),
            ("127.0.0.1:9000", "/v2/1/servers?limit=5")
        );
        let t = target("http://localhost").unwrap();
        assert_eq!((t.authority.as_str(), t.path), ("localhost:80", "/"));
        let u = "http://h/servers/detail?limit=1000&marker=abc%2D1&x";
        assert_eq!(query_param(u, "marker").as_deref(), Some("abc-1"));
        assert_eq!(query_param(u, "x").as_deref(), Some(""));
        assert_eq!(query_param(u, "nope"), None);
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
    }
}
