//! Shared machinery of the Understudy mocks. Nothing here knows an emulated API.
//!
//! Its files import downward only, layer by layer:
//!
//! 1. Foundations: [`settings`] (every typed setting of the shared sections), [`error`]
//!    (answers in the emulated API's own error format), [`clock`], [`token`], [`store`],
//!    [`metrics`], [`journal`], [`har`], [`render`], [`behaviors`], [`telemetry`], and the
//!    helpers below.
//! 2. What a mock's context holds, knowing no request: [`auth`] (token validation),
//!    [`catalog`] (generation and the client mocks find each other with),
//!    [`faults::rules`] (the rule model and the engine that decides).
//! 3. [`context`]: the service's spec, state and context, and the control plane's
//!    prefixes, headers and admin gate.
//! 4. Extractors that read the context: [`caller`] (`Caller`), [`json`] (`Json`, `Body`).
//! 5. [`faults::inject`]: what a firing rule does to a request.
//! 6. [`pipeline`]: the middleware every request passes through.
//! 7. The top: [`control`] (the control API under `/_understudy/v1`), [`console`],
//!    [`startup`] (bind, pipeline, serve), [`seed`] and [`cli`] (the thin `main` every mock
//!    shares).
//!
//! What the test suites share (a mock on a free port, tokens, the store under test,
//! arbitrary bodies) is the dev-only `test-support` crate.

/// `scheme://host` as the client addressed the mock, for the links an answer carries. The `Host` header is read directly;
/// only a request that carries proxy headers (`Forwarded`, `X-Forwarded-*`) goes through
/// actix's fuller (and slower) connection info.
pub fn request_origin(req: &actix_web::HttpRequest) -> String {
    let headers = req.headers();
    let proxied = headers.contains_key("forwarded")
        || headers.contains_key("x-forwarded-host")
        || headers.contains_key("x-forwarded-proto");
    if proxied {
        let info = req.connection_info();
        return format!("{}://{}", info.scheme(), info.host());
    }
    let scheme = if req.app_config().secure() {
        "https"
    } else {
        "http"
    };
    let host = headers
        .get(actix_web::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| req.uri().authority().map(|a| a.as_str()))
        .unwrap_or_else(|| req.app_config().host());
    format!("{scheme}://{host}")
}

/// A hash map with a fast (non-cryptographic, randomly seeded) hasher, for the maps every
/// request looks things up in: a 300-character token hashes ten times faster than with
/// the standard SipHash.
pub type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// Adds `key → value` to a memory of at most `capacity` entries, which starts over when
/// full (a new key in a full map clears it first): the policy of every cache in `common`.
pub fn remember<K: std::hash::Hash + Eq, V>(
    map: &mut FastMap<K, V>,
    capacity: usize,
    key: K,
    value: V,
) {
    if map.len() >= capacity.max(1) && !map.contains_key(&key) {
        map.clear();
    }
    map.insert(key, value);
}

/// Whether text carries control characters (NUL, BEL, ESC, newline, …) or
/// bidirectional-formatting ones (U+202E and its kin, which make a name read otherwise
/// than it is stored): what no name in any of the emulated APIs may hold.
pub fn has_control_characters(s: &str) -> bool {
    s.chars().any(|c| {
        c.is_control()
            || matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
    })
}

/// `%XX` escapes decoded (a cookie `encodeURIComponent` wrote, a query string's parts);
/// a bad escape is kept as written.
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub mod auth;
pub mod behaviors;
pub mod caller;
pub mod catalog;
pub mod cli;
pub mod clock;
pub mod console;
pub mod context;
pub mod control;
pub mod error;
pub mod faults;
pub mod har;
pub mod journal;
pub mod json;
pub mod metrics;
pub mod pipeline;
pub mod render;
pub mod seed;
pub mod settings;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod token;
