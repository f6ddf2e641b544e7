//! The fault rule model, its checks, and the engine that decides which rule fires.
//!
//! A rule is a match (service, method, path glob or regex, tenant, user, region, one
//! header, one JSON body field), an action (error in the API's own format, delay, dropped
//! connection, hang, truncated or malformed body, rate limit, false negative) and a
//! budget (first N times, skip N, seeded probability, a window of virtual time). A rule
//! is for one service (the one whose control API received it, unless it names another),
//! see `control`.
//!
//! Rules live in the mock's store, with their counters. In memory they are this
//! process's alone: a replica obeys only the rules sent to it, and counts its own budget.
//! With the Redis store every replica of the service reads the same rules and spends one
//! budget, so "the first 2" fire twice in all. The engine keeps the rules compiled (one
//! `RegexSet` over all path patterns) and recompiles only when the rule table changes,
//! so many installed rules that do not match cost little.

use std::sync::{Arc, RwLock};

use actix_web::http::header::HeaderMap;
use actix_web::http::Method;
use chrono::{DateTime, Utc};
use rand::{Rng, SeedableRng};
use regex::{Regex, RegexSet};
use serde::{Deserialize, Serialize};

use crate::store::{Scope, Store, StoreError, Table};

/// A fault rule as clients write it and the store keeps it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FaultRule {
    /// Given by the client or generated; stack-wide rules share one id on every mock.
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub description: String,
    /// Higher first; rules of equal priority in the order they were created.
    #[serde(default)]
    pub priority: i32,
    #[serde(default, rename = "match")]
    pub matcher: Match,
    pub action: Action,
    #[serde(default)]
    pub budget: Budget,
}

/// What a request must look like; every field that is set must match.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Match {
    /// `identity`, `compute` or `lb`.
    pub service: Option<String>,
    pub method: Option<String>,
    /// Glob over the path: `*` is one segment's worth, `**` anything.
    pub path: Option<String>,
    /// Regex over the path (searched, so anchor it if you mean to).
    pub path_regex: Option<String>,
    pub tenant: Option<String>,
    /// User name or user id, from the caller's token.
    pub user: Option<String>,
    pub region: Option<String>,
    pub header: Option<FieldMatch>,
    pub body: Option<FieldMatch>,
}

/// A header (`name`) or JSON pointer into the body (`pointer`) whose value matches a regex.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FieldMatch {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub pointer: String,
    /// Regex, anchored at the start.
    pub value: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// Answer an error instead of the real handler.
    Error {
        status: u16,
        /// API error type (`computeFault`, `overLimit`, ...); the API's usual one if absent.
        #[serde(default)]
        kind: Option<String>,
        #[serde(default)]
        message: Option<String>,
        /// A raw body instead of the API's error format.
        #[serde(default)]
        body: Option<String>,
        #[serde(default)]
        content_type: Option<String>,
    },
    /// Wait, then answer for real.
    Delay(Delay),
    /// Close the connection without answering.
    Drop,
    /// Answer nothing for `ms` (at most five minutes), then close the connection.
    Hang {
        #[serde(default = "default_hang_ms")]
        ms: u64,
    },
    /// Answer for real, but only the first `bytes` of the body (half when absent).
    Truncate {
        #[serde(default)]
        bytes: Option<usize>,
    },
    /// Answer for real, but with a body that is not valid JSON.
    Malformed,
    /// 413 or 429 with `Retry-After`, in the API's format.
    RateLimit {
        #[serde(default = "default_rate_status")]
        status: u16,
        #[serde(default = "default_retry_after")]
        retry_after_s: u64,
        #[serde(default)]
        message: Option<String>,
    },
    /// Let the real handler act, then answer an error anyway.
    FalseNegative {
        #[serde(default = "default_error_status")]
        status: u16,
        #[serde(default)]
        kind: Option<String>,
        #[serde(default)]
        message: Option<String>,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Delay {
    /// `fixed` (`ms`, the default), `uniform` (`min_ms`..`max_ms`) or `log_normal`
    /// (`median_ms`, `sigma`).
    #[serde(default, deserialize_with = "distribution")]
    pub distribution: Distribution,
    #[serde(default)]
    pub ms: u64,
    #[serde(default)]
    pub min_ms: u64,
    #[serde(default)]
    pub max_ms: u64,
    #[serde(default)]
    pub median_ms: u64,
    #[serde(default)]
    pub sigma: f64,
}

/// How a delay's length is drawn.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Distribution {
    /// `ms`.
    #[default]
    Fixed,
    /// Between `min_ms` and `max_ms`, evenly.
    Uniform,
    /// Around `median_ms`, spread by `sigma`.
    LogNormal,
}

/// A delay's `distribution`, refused by the field's name with the values it takes.
fn distribution<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Distribution, D::Error> {
    Distribution::deserialize(d)
        .map_err(|e| serde::de::Error::custom(format!("delay distribution: {e}")))
}

fn default_hang_ms() -> u64 {
    30_000
}
fn default_rate_status() -> u16 {
    429
}
fn default_retry_after() -> u64 {
    60
}
fn default_error_status() -> u16 {
    500
}

/// When a matching rule fires.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Budget {
    /// Fire at most this many times, then never again.
    pub times: Option<u64>,
    /// Let the first `skip` matching requests through.
    #[serde(default)]
    pub skip: u64,
    /// Fire with this probability (0..=1), drawn from `seed`: same seed, same sequence.
    pub probability: Option<f64>,
    #[serde(default)]
    pub seed: u64,
    /// Active from this virtual time on.
    pub from: Option<DateTime<Utc>>,
    /// Active until this virtual time.
    pub until: Option<DateTime<Utc>>,
}

#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A rule with what it has done.
#[derive(Debug, Clone, Serialize)]
pub struct RuleView {
    #[serde(flatten)]
    pub rule: FaultRule,
    pub matched: u64,
    pub fired: u64,
}

/// What the request looks like to the engine.
pub struct RequestFacts<'a> {
    pub service: &'a str,
    pub method: &'a Method,
    pub path: &'a str,
    pub tenant: Option<&'a str>,
    pub region: Option<&'a str>,
    pub headers: &'a HeaderMap,
    /// User name and id of the caller, when some rule asks for them.
    pub user: Option<(&'a str, &'a str)>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    Pass,
    /// A rule needs the body to decide: call again with it.
    NeedBody,
    Fire {
        rule: String,
        action: Action,
    },
}

struct CompiledRule {
    rule: FaultRule,
    method: Option<Method>,
    /// Index into the path `RegexSet`, when the rule matches on the path.
    path_slot: Option<usize>,
    header: Option<(String, Regex)>,
    body: Option<(String, Regex)>,
}

struct Compiled {
    version: u64,
    rules: Vec<CompiledRule>,
    paths: RegexSet,
    needs_user: bool,
}

/// The rules of one service, compiled, with their counters in the store.
#[derive(Clone)]
pub struct FaultEngine {
    service: &'static str,
    store: Store,
    table: Table<FaultRule>,
    compiled: Arc<RwLock<Arc<Compiled>>>,
}

impl FaultEngine {
    pub fn new(service: &'static str, store: &Store) -> FaultEngine {
        let table = store.table::<FaultRule>("fault_rules");
        FaultEngine {
            service,
            store: store.clone(),
            table,
            compiled: Arc::new(RwLock::new(Arc::new(Compiled {
                version: u64::MAX,
                rules: Vec::new(),
                paths: RegexSet::empty(),
                needs_user: false,
            }))),
        }
    }

    /// Checks and stores a rule; returns it with its id.
    pub async fn add(&self, mut rule: FaultRule) -> Result<FaultRule, RuleError> {
        check(&rule)?;
        if rule.id.is_empty() {
            rule.id = new_rule_id();
        }
        self.table
            .put(&Scope::global(), &rule.id.clone(), rule.clone())
            .await?;
        Ok(rule)
    }

    pub async fn list(&self) -> Result<Vec<RuleView>, StoreError> {
        let mut out = Vec::new();
        for rule in self.table.list(&Scope::global()).await? {
            out.push(self.view(rule).await?);
        }
        Ok(out)
    }

    pub async fn get(&self, id: &str) -> Result<Option<RuleView>, StoreError> {
        match self.table.get(&Scope::global(), id).await? {
            Some(rule) => Ok(Some(self.view(rule).await?)),
            None => Ok(None),
        }
    }

    async fn view(&self, rule: FaultRule) -> Result<RuleView, StoreError> {
        let fired = self.store.counter(&fired_key(&rule.id)).await?;
        Ok(RuleView {
            matched: self.store.counter(&matched_key(&rule.id)).await?,
            // Requests past a budget count their attempt and do not fire.
            fired: rule.budget.times.map_or(fired, |t| fired.min(t)),
            rule,
        })
    }

    pub async fn remove(&self, id: &str) -> Result<bool, StoreError> {
        Ok(self.table.remove(&Scope::global(), id).await?.is_some())
    }

    pub async fn clear(&self) -> Result<(), StoreError> {
        self.table
            .transact(&Scope::global(), |rows| {
                let ids: Vec<String> = rows.iter().map(|(id, _)| id.to_string()).collect();
                for id in ids {
                    rows.remove(&id);
                }
            })
            .await
    }

    /// Whether any rule is set (without one, a request needs no facts gathered at all),
    /// and whether any matches on the user (so the caller's token must be read). One
    /// look at the table's version.
    pub async fn wanted(&self) -> (bool, bool) {
        let c = self.current().await;
        (!c.rules.is_empty(), c.needs_user)
    }

    async fn current(&self) -> Arc<Compiled> {
        let cached = self
            .compiled
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let version = match self.table.version().await {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read fault rules; keeping the compiled ones");
                return cached;
            }
        };
        if cached.version == version {
            return cached;
        }
        let rules = match self.table.list(&Scope::global()).await {
            Ok(rules) => rules,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read fault rules; keeping the compiled ones");
                return cached;
            }
        };
        let fresh = Arc::new(compile_all(rules, version));
        *self.compiled.write().unwrap_or_else(|e| e.into_inner()) = fresh.clone();
        fresh
    }

    /// Which rule, if any, fires for this request. Counts matches and firings.
    pub async fn decide(
        &self,
        facts: &RequestFacts<'_>,
        body: Option<&[u8]>,
        now: DateTime<Utc>,
    ) -> Result<Decision, StoreError> {
        let compiled = self.current().await;
        if compiled.rules.is_empty() {
            return Ok(Decision::Pass);
        }
        let path_hits = compiled.paths.matches(facts.path);
        let parsed_body: Option<serde_json::Value> =
            body.and_then(|b| serde_json::from_slice(b).ok());
        for c in &compiled.rules {
            if !self.matches_cheaply(c, facts, &path_hits, now) {
                continue;
            }
            if let Some((pointer, re)) = &c.body {
                if body.is_none() {
                    return Ok(Decision::NeedBody);
                }
                let value = parsed_body.as_ref().and_then(|v| v.pointer(pointer));
                if !value.is_some_and(|v| re.is_match(&json_text(v))) {
                    continue;
                }
            }
            if self.spend_budget(&c.rule).await? {
                return Ok(Decision::Fire {
                    rule: c.rule.id.clone(),
                    action: c.rule.action.clone(),
                });
            }
        }
        Ok(Decision::Pass)
    }

    fn matches_cheaply(
        &self,
        c: &CompiledRule,
        f: &RequestFacts<'_>,
        path_hits: &regex::SetMatches,
        now: DateTime<Utc>,
    ) -> bool {
        let m = &c.rule.matcher;
        let b = &c.rule.budget;
        m.service.as_deref().is_none_or(|s| s == self.service)
            && c.method.as_ref().is_none_or(|meth| meth == f.method)
            && c.path_slot.is_none_or(|slot| path_hits.matched(slot))
            && m.tenant.as_deref().is_none_or(|t| Some(t) == f.tenant)
            && m.region
                .as_deref()
                .is_none_or(|r| f.region.is_some_and(|fr| fr.eq_ignore_ascii_case(r)))
            && m.user
                .as_deref()
                .is_none_or(|u| f.user.is_some_and(|(name, id)| u == name || u == id))
            && c.header.as_ref().is_none_or(|(name, re)| {
                f.headers
                    .get(name.as_str())
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|v| re.is_match(v))
            })
            && b.from.is_none_or(|t| now >= t)
            && b.until.is_none_or(|t| now < t)
    }

    async fn spend_budget(&self, rule: &FaultRule) -> Result<bool, StoreError> {
        let b = &rule.budget;
        let n = self.store.next_id(&matched_key(&rule.id)).await?;
        if n <= b.skip {
            return Ok(false);
        }
        if let Some(p) = b.probability {
            if !draw(b.seed, n - b.skip, p) {
                return Ok(false);
            }
        }
        if let Some(times) = b.times {
            // One atomic increment of the store's counter decides, so "the first 2" fire
            // exactly twice however many requests race (and however many replicas, when
            // they share a Redis store).
            let fired = self.store.next_id(&fired_key(&rule.id)).await?;
            return Ok(fired <= times);
        }
        self.store.next_id(&fired_key(&rule.id)).await?;
        Ok(true)
    }
}

/// Whether a rule can be compiled (its patterns and values are valid), without storing it.
pub fn check(rule: &FaultRule) -> Result<(), RuleError> {
    let id_ok = rule.id.len() <= 64
        && rule
            .id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if !id_ok {
        return Err(RuleError::Invalid(
            "id must be at most 64 letters, digits, '.', '_' or '-'".into(),
        ));
    }
    if let Some(m) = &rule.matcher.method {
        if m.is_empty() || m.len() > 16 || !m.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(RuleError::Invalid(
                "match.method must be an HTTP method (GET, POST, ...)".into(),
            ));
        }
    }
    check_hold(&rule.action).map_err(RuleError::Invalid)?;
    compile(rule, 0).map(|_| ())
}

/// Longest a fault may hold a request (a delay or a hang).
pub const MAX_HOLD_MS: u64 = 300_000;

/// A delay or hang as it will be held: every length within the five minutes a fault may
/// hold a request, a uniform range the right way round, a log-normal spread that is a
/// number, 0 or more. (Checked when a rule is made; a stored rule is held as it was.)
fn check_hold(action: &Action) -> Result<(), String> {
    let within = |name: &str, ms: u64| {
        if ms > MAX_HOLD_MS {
            Err(format!(
                "{name} must be at most {MAX_HOLD_MS} (five minutes), got {ms}"
            ))
        } else {
            Ok(())
        }
    };
    match action {
        Action::Hang { ms } => within("hang ms", *ms),
        Action::Delay(d) => match d.distribution {
            Distribution::Fixed => within("delay ms", d.ms),
            Distribution::Uniform => {
                within("delay max_ms", d.max_ms)?;
                if d.min_ms > d.max_ms {
                    return Err(format!(
                        "delay min_ms must be at most max_ms, got {} > {}",
                        d.min_ms, d.max_ms
                    ));
                }
                Ok(())
            }
            Distribution::LogNormal => {
                within("delay median_ms", d.median_ms)?;
                if !d.sigma.is_finite() || d.sigma < 0.0 {
                    return Err(format!(
                        "delay sigma must be a number, 0 or more, got {}",
                        d.sigma
                    ));
                }
                Ok(())
            }
        },
        _ => Ok(()),
    }
}

/// The names the mocks give themselves (`ServiceSpec::name`): what `match.service` names.
pub const SERVICES: &[&str] = &["identity", "compute", "lb"];

/// A fresh rule id.
pub fn new_rule_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

fn matched_key(id: &str) -> String {
    format!("fault:{id}:matched")
}

fn fired_key(id: &str) -> String {
    format!("fault:{id}:fired")
}

/// The `n`-th draw (1-based) of a seeded sequence: same seed and `n`, same answer.
pub fn draw(seed: u64, n: u64, probability: f64) -> bool {
    let mut rng =
        rand_chacha::ChaCha8Rng::seed_from_u64(seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    rng.gen::<f64>() < probability
}

fn json_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Turns a path glob into an anchored regex: `**` any, `*` within a segment, `?` one char.
pub fn glob_to_regex(glob: &str) -> String {
    let mut out = String::from("^");
    let mut chars = glob.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' if chars.peek() == Some(&'*') => {
                chars.next();
                out.push_str(".*");
            }
            '*' => out.push_str("[^/]*"),
            '?' => out.push_str("[^/]"),
            c => out.push_str(&regex::escape(&c.to_string())),
        }
    }
    out.push_str("/?$");
    out
}

fn compile(rule: &FaultRule, slot: usize) -> Result<(CompiledRule, Option<String>), RuleError> {
    let m = &rule.matcher;
    let invalid = |s: String| RuleError::Invalid(s);
    let method = m
        .method
        .as_deref()
        .map(|s| Method::from_bytes(s.to_uppercase().as_bytes()))
        .transpose()
        .map_err(|_| invalid(format!("match.method {:?} is not an HTTP method", m.method)))?;
    let path_pattern = match (&m.path, &m.path_regex) {
        (Some(_), Some(_)) => {
            return Err(invalid(
                "give match.path or match.path_regex, not both".into(),
            ))
        }
        (Some(g), None) => Some(glob_to_regex(g)),
        (None, Some(r)) => Some(r.clone()),
        (None, None) => None,
    };
    if let Some(p) = &path_pattern {
        Regex::new(p).map_err(|e| invalid(format!("match path is not a valid pattern: {e}")))?;
    }
    let anchored = |f: &FieldMatch, what: &str| {
        Regex::new(&format!("^(?:{})", f.value))
            .map_err(|e| invalid(format!("match.{what}.value is not a valid regex: {e}")))
    };
    let header = match &m.header {
        Some(h) if h.name.is_empty() => {
            return Err(invalid("match.header.name is required".into()))
        }
        Some(h) => Some((h.name.to_lowercase(), anchored(h, "header")?)),
        None => None,
    };
    let body = match &m.body {
        Some(b) if !b.pointer.starts_with('/') => {
            return Err(invalid(
                "match.body.pointer must be a JSON pointer such as /server/name".into(),
            ))
        }
        Some(b) => Some((b.pointer.clone(), anchored(b, "body")?)),
        None => None,
    };
    match &rule.action {
        Action::Error { status, .. } | Action::FalseNegative { status, .. }
            if !(400..=599).contains(status) =>
        {
            return Err(invalid(format!(
                "action.status must be 400 to 599, got {status}"
            )))
        }
        Action::RateLimit { status, .. } if !matches!(status, 413 | 429) => {
            return Err(invalid(format!(
                "rate_limit status must be 413 or 429, got {status}"
            )))
        }
        _ => {}
    }
    if let Some(p) = rule.budget.probability {
        if !(0.0..=1.0).contains(&p) {
            return Err(invalid(format!(
                "budget.probability must be between 0 and 1, got {p}"
            )));
        }
    }
    Ok((
        CompiledRule {
            rule: rule.clone(),
            method,
            path_slot: path_pattern.as_ref().map(|_| slot),
            header,
            body,
        },
        path_pattern,
    ))
}

fn compile_all(rules: Vec<FaultRule>, version: u64) -> Compiled {
    let mut sorted: Vec<(usize, FaultRule)> = rules.into_iter().enumerate().collect();
    sorted.sort_by(|(ia, a), (ib, b)| b.priority.cmp(&a.priority).then(ia.cmp(ib)));
    let mut compiled = Vec::new();
    let mut patterns = Vec::new();
    for (_, rule) in sorted {
        match compile(&rule, patterns.len()) {
            Ok((c, pattern)) => {
                if let Some(p) = pattern {
                    patterns.push(p);
                }
                compiled.push(c);
            }
            Err(e) => {
                tracing::warn!(rule = %rule.id, error = %e, "skipping a fault rule that does not compile")
            }
        }
    }
    let paths = RegexSet::new(&patterns).unwrap_or_else(|_| RegexSet::empty());
    Compiled {
        version,
        needs_user: compiled.iter().any(|c| c.rule.matcher.user.is_some()),
        rules: compiled,
        paths,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rule(v: serde_json::Value) -> FaultRule {
        serde_json::from_value(v).expect("test rule parses")
    }

    fn facts<'a>(method: &'a Method, path: &'a str, headers: &'a HeaderMap) -> RequestFacts<'a> {
        RequestFacts {
            service: "compute",
            method,
            path,
            tenant: Some("t1"),
            region: Some("ORD"),
            headers,
            user: Some(("joe", "u1")),
        }
    }

    async fn fires(e: &FaultEngine, method: &str, path: &str, body: Option<&[u8]>) -> bool {
        let m = Method::from_bytes(method.as_bytes()).unwrap();
        let h = HeaderMap::new();
        matches!(
            e.decide(&facts(&m, path, &h), body, Utc::now())
                .await
                .unwrap(),
            Decision::Fire { .. }
        )
    }

    #[test]
    fn globs_become_anchored_regexes() {
        let re = Regex::new(&glob_to_regex("/v2/*/servers")).unwrap();
        assert!(re.is_match("/v2/123/servers"));
        assert!(re.is_match("/v2/123/servers/"));
        assert!(!re.is_match("/v2/123/servers/abc"));
        assert!(!re.is_match("/ORD/v2/123/servers"));
        let re = Regex::new(&glob_to_regex("/**/servers/*")).unwrap();
        assert!(re.is_match("/ORD/v2/123/servers/abc"));
    }

    #[tokio::test]
    async fn times_fires_exactly_n_times() {
        let e = FaultEngine::new("compute", &Store::memory());
        e.add(rule(json!({"match": {"path": "/v2/*/servers"}, "action": {"type": "error", "status": 500}, "budget": {"times": 2}})))
            .await
            .unwrap();
        let got: Vec<bool> = futures_util::future::join_all(
            (0..4).map(|_| fires(&e, "GET", "/v2/t1/servers", None)),
        )
        .await;
        assert_eq!(got.iter().filter(|f| **f).count(), 2);
        assert!(!fires(&e, "GET", "/v2/t1/servers", None).await);
    }

    #[tokio::test]
    async fn skip_lets_the_first_requests_through() {
        let e = FaultEngine::new("compute", &Store::memory());
        e.add(rule(
            json!({"action": {"type": "drop"}, "budget": {"skip": 2}}),
        ))
        .await
        .unwrap();
        assert!(!fires(&e, "GET", "/x", None).await);
        assert!(!fires(&e, "GET", "/x", None).await);
        assert!(fires(&e, "GET", "/x", None).await);
    }

    #[tokio::test]
    async fn a_seed_gives_the_same_sequence_twice() {
        let mut runs = Vec::new();
        for _ in 0..2 {
            let e = FaultEngine::new("compute", &Store::memory());
            e.add(rule(
                json!({"action": {"type": "drop"}, "budget": {"probability": 0.5, "seed": 42}}),
            ))
            .await
            .unwrap();
            let mut seq = Vec::new();
            for _ in 0..32 {
                seq.push(fires(&e, "GET", "/x", None).await);
            }
            runs.push(seq);
        }
        assert_eq!(runs[0], runs[1]);
        let n = runs[0].iter().filter(|f| **f).count();
        assert!((6..=26).contains(&n), "about half should fire, got {n}/32");
    }

    #[tokio::test]
    async fn method_service_tenant_and_user_narrow_the_match() {
        let e = FaultEngine::new("compute", &Store::memory());
        e.add(rule(json!({"match": {"method": "post", "tenant": "t1", "user": "joe", "service": "compute"}, "action": {"type": "drop"}}))).await.unwrap();
        assert!(fires(&e, "POST", "/anything", None).await);
        assert!(!fires(&e, "GET", "/anything", None).await);
        let other = FaultEngine::new("lb", &Store::memory());
        other
            .add(rule(
                json!({"match": {"service": "compute"}, "action": {"type": "drop"}}),
            ))
            .await
            .unwrap();
        assert!(!fires(&other, "GET", "/x", None).await);
    }

    #[tokio::test]
    async fn body_rules_ask_for_the_body_then_match_a_pointer() {
        let e = FaultEngine::new("compute", &Store::memory());
        e.add(rule(json!({"match": {"body": {"pointer": "/server/name", "value": "doomed"}}, "action": {"type": "drop"}}))).await.unwrap();
        let m = Method::POST;
        let h = HeaderMap::new();
        let f = facts(&m, "/v2/t1/servers", &h);
        assert_eq!(
            e.decide(&f, None, Utc::now()).await.unwrap(),
            Decision::NeedBody
        );
        assert!(
            fires(
                &e,
                "POST",
                "/v2/t1/servers",
                Some(br#"{"server":{"name":"doomed-1"}}"#)
            )
            .await
        );
        assert!(
            !fires(
                &e,
                "POST",
                "/v2/t1/servers",
                Some(br#"{"server":{"name":"fine"}}"#)
            )
            .await
        );
        assert!(!fires(&e, "POST", "/v2/t1/servers", Some(b"not json")).await);
    }

    #[tokio::test]
    async fn a_window_of_virtual_time_opens_and_closes() {
        let e = FaultEngine::new("compute", &Store::memory());
        e.add(rule(json!({"action": {"type": "drop"}, "budget": {"from": "2030-01-01T00:00:00Z", "until": "2030-01-01T01:00:00Z"}}))).await.unwrap();
        let m = Method::GET;
        let h = HeaderMap::new();
        let at = |s: &str| crate::clock::parse_timestamp(s).unwrap();
        let f = facts(&m, "/x", &h);
        assert_eq!(
            e.decide(&f, None, at("2029-12-31T23:59:59Z"))
                .await
                .unwrap(),
            Decision::Pass
        );
        assert!(matches!(
            e.decide(&f, None, at("2030-01-01T00:30:00Z"))
                .await
                .unwrap(),
            Decision::Fire { .. }
        ));
        assert_eq!(
            e.decide(&f, None, at("2030-01-01T01:00:00Z"))
                .await
                .unwrap(),
            Decision::Pass
        );
    }

    #[tokio::test]
    async fn higher_priority_wins_and_changes_recompile() {
        let e = FaultEngine::new("compute", &Store::memory());
        e.add(rule(json!({"id": "low", "action": {"type": "drop"}})))
            .await
            .unwrap();
        e.add(rule(
            json!({"id": "high", "priority": 5, "action": {"type": "malformed"}}),
        ))
        .await
        .unwrap();
        let m = Method::GET;
        let h = HeaderMap::new();
        let d = e
            .decide(&facts(&m, "/x", &h), None, Utc::now())
            .await
            .unwrap();
        assert_eq!(
            d,
            Decision::Fire {
                rule: "high".into(),
                action: Action::Malformed
            }
        );
        e.remove("high").await.unwrap();
        let d = e
            .decide(&facts(&m, "/x", &h), None, Utc::now())
            .await
            .unwrap();
        assert_eq!(
            d,
            Decision::Fire {
                rule: "low".into(),
                action: Action::Drop
            }
        );
    }

    #[test]
    fn an_unknown_delay_distribution_is_refused_by_name() {
        let e = serde_json::from_value::<FaultRule>(
            json!({"action": {"type": "delay", "distribution": "zipf", "ms": 1}}),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("delay distribution") && e.contains("zipf") && e.contains("log_normal"),
            "{e}"
        );
        let fixed: FaultRule = rule(json!({"action": {"type": "delay", "ms": 1}}));
        assert!(matches!(&fixed.action, Action::Delay(d) if d.distribution == Distribution::Fixed));
        assert_eq!(
            serde_json::to_value(&fixed).unwrap()["action"]["distribution"],
            "fixed"
        );
    }

    #[test]
    fn bad_rules_are_refused_with_a_reason() {
        let cases = [
            json!({"match": {"path_regex": "("}, "action": {"type": "drop"}}),
            json!({"match": {"method": "G E T"}, "action": {"type": "drop"}}),
            json!({"action": {"type": "error", "status": 200}}),
            json!({"action": {"type": "rate_limit", "status": 500}}),
            json!({"action": {"type": "drop"}, "budget": {"probability": 2.0}}),
            json!({"match": {"body": {"pointer": "server", "value": "x"}}, "action": {"type": "drop"}}),
            json!({"match": {"path": "/a", "path_regex": "/b"}, "action": {"type": "drop"}}),
        ];
        for c in cases {
            assert!(
                compile(&rule(c.clone()), 0).is_err(),
                "{c} should be refused"
            );
        }
    }

    #[test]
    fn delays_and_hangs_are_held_as_asked_or_refused() {
        for (c, reason) in [
            (
                json!({"type": "delay", "ms": 300_001}),
                "delay ms must be at most 300000",
            ),
            (
                json!({"type": "hang", "ms": u64::MAX}),
                "hang ms must be at most 300000",
            ),
            (
                json!({"type": "delay", "distribution": "uniform", "min_ms": 900, "max_ms": 100}),
                "delay min_ms must be at most max_ms, got 900 > 100",
            ),
            (
                json!({"type": "delay", "distribution": "uniform", "min_ms": 1, "max_ms": 400_000}),
                "delay max_ms must be at most 300000",
            ),
            (
                json!({"type": "delay", "distribution": "log_normal", "median_ms": 200, "sigma": -1.0}),
                "delay sigma must be a number, 0 or more, got -1",
            ),
        ] {
            let e = check(&rule(json!({ "action": c })))
                .unwrap_err()
                .to_string();
            assert!(e.contains(reason), "{c}: {e}");
        }
        for c in [
            json!({"type": "delay", "ms": 300_000}),
            json!({"type": "hang", "ms": 0}),
            json!({"type": "delay", "distribution": "uniform", "min_ms": 5, "max_ms": 5}),
            json!({"type": "delay", "distribution": "log_normal", "median_ms": 200, "sigma": 0.0}),
        ] {
            assert!(check(&rule(json!({ "action": c }))).is_ok(), "{c}");
        }
    }
}
