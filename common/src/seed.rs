//! Seed files: a stack that starts with fixtures (`--seed FILE` or `seed.file`).
//!
//! A seed lists users, servers, key pairs, load balancers, fault rules and Mimic
//! behaviours in the emulated APIs' own create shapes, plus the few fields a fixture
//! needs (`status`, `age_s`). It is applied as a client would: through each API, to a
//! scratch copy of the mock (or stack) on loopback port 0 with a memory store, so every
//! entry meets the API's own checks; then the scratch state is put into the real store
//! (`Store::restore`) before the real port is bound. A bad seed file therefore stops the
//! binary before it binds, with one line naming the entry and the field, exit code 2.
//!
//! ```toml
//! [[users]]            # identity.users' shape (strict mode); authenticated once in open mode
//! username = "alice"
//! password = "s3cret"
//! tenant_id = "123"
//!
//! [[servers]]          # POST /v2/{tenant}/servers {"server": ...}
//! tenant = "123"
//! status = "ERROR"     # optional, set as Mimic's control API sets it
//! age_s = 3600         # optional, created this long ago on the virtual clock
//! server = { name = "web-1", imageRef = "…", flavorRef = "2" }
//!
//! [[keypairs]]         # POST /v2/{tenant}/os-keypairs {"keypair": ...}
//! [[balancers]]        # POST /v1.0/{tenant}/loadbalancers {"loadBalancer": ...} (+ status, age_s)
//! [[faults]]           # POST /_understudy/v1/faults (match.service picks the mock)
//! [[behaviors]]        # Mimic: service = "compute" (event creation) or "identity" (event auth)
//! ```

use std::path::Path;

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::token::{Claims, TokenCodec};

/// A seed file, read and checked for shape.
#[derive(Debug, Clone, Default)]
pub struct Seed {
    pub users: Vec<Value>,
    pub servers: Vec<SeedServer>,
    pub keypairs: Vec<SeedKeypair>,
    pub balancers: Vec<SeedBalancer>,
    pub faults: Vec<Value>,
    pub behaviors: Vec<SeedBehavior>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedServer {
    pub tenant: String,
    #[serde(default)]
    pub region: Option<String>,
    pub server: Value,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub age_s: Option<f64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedKeypair {
    pub tenant: String,
    #[serde(default)]
    pub region: Option<String>,
    pub keypair: Value,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedBalancer {
    pub tenant: String,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(rename = "loadBalancer")]
    pub load_balancer: Value,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub age_s: Option<f64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedBehavior {
    /// `compute` (event `creation`) or `identity` (event `auth`).
    pub service: String,
    pub event: String,
    #[serde(default)]
    pub tenant: Option<String>,
    #[serde(default)]
    pub region: Option<String>,
    /// The body Mimic's behaviour API takes: `name`, `parameters`, `criteria`.
    pub behavior: Value,
}

/// A seed that cannot be used: which file, which entry, what is wrong.
#[derive(Debug, thiserror::Error)]
#[error("seed file {file}: {what}")]
pub struct SeedError {
    pub file: String,
    pub what: String,
}

/// Reads `path` (JSON when it ends in `.json`, TOML otherwise) and checks every entry's
/// shape, naming the first bad one (`servers[2]: missing field \`tenant\``).
pub fn load(path: &Path) -> Result<Seed, SeedError> {
    let file = path.display().to_string();
    let err = |what: String| SeedError {
        file: file.clone(),
        what,
    };
    let text = std::fs::read_to_string(path).map_err(|e| err(format!("cannot be read: {e}")))?;
    let doc: Value = if path.extension().is_some_and(|e| e == "json") {
        serde_json::from_str(&text).map_err(|e| err(format!("not JSON: {e}")))?
    } else {
        toml::from_str(&text).map_err(|e| err(format!("not TOML: {e}")))?
    };
    parse(&doc).map_err(err)
}

/// A seed from its document; the error names the entry and the field.
pub fn parse(doc: &Value) -> Result<Seed, String> {
    let top = doc
        .as_object()
        .ok_or_else(|| "a seed is a table of lists (users, servers, …)".to_string())?;
    let mut seed = Seed::default();
    for (key, value) in top {
        let list = value
            .as_array()
            .ok_or_else(|| format!("{key}: a list of entries ([[{key}]])"))?;
        match key.as_str() {
            "users" => seed.users = entries::<Value>(key, list)?,
            "servers" => seed.servers = entries(key, list)?,
            "keypairs" => seed.keypairs = entries(key, list)?,
            "balancers" => seed.balancers = entries(key, list)?,
            "faults" => {
                for (i, rule) in list.iter().enumerate() {
                    let parsed: crate::faults::rules::FaultRule =
                        serde_json::from_value(rule.clone())
                            .map_err(|e| format!("{key}[{i}]: {e}"))?;
                    crate::faults::rules::check(&parsed).map_err(|e| format!("{key}[{i}]: {e}"))?;
                }
                seed.faults = list.clone();
            }
            "behaviors" => seed.behaviors = entries(key, list)?,
            other => {
                return Err(format!(
                "{other}: not a seed list (users, servers, keypairs, balancers, faults, behaviors)"
            ))
            }
        }
    }
    for (i, s) in seed.servers.iter().enumerate() {
        if !s.server.is_object() {
            return Err(format!(
                "servers[{i}].server: the object POST /servers takes"
            ));
        }
        age_ok(s.age_s).map_err(|e| format!("servers[{i}].age_s: {e}"))?;
    }
    for (i, b) in seed.balancers.iter().enumerate() {
        if !b.load_balancer.is_object() {
            return Err(format!(
                "balancers[{i}].loadBalancer: the object POST /loadbalancers takes"
            ));
        }
        age_ok(b.age_s).map_err(|e| format!("balancers[{i}].age_s: {e}"))?;
    }
    for (i, b) in seed.behaviors.iter().enumerate() {
        match (b.service.as_str(), b.event.as_str(), &b.tenant) {
            ("compute", "creation", Some(_)) | ("identity", "auth", _) => {}
            ("compute", "creation", None) => {
                return Err(format!("behaviors[{i}].tenant: compute behaviours are per tenant"))
            }
            _ => {
                return Err(format!(
                    "behaviors[{i}]: service \"compute\" with event \"creation\", or \"identity\" with \"auth\""
                ))
            }
        }
    }
    Ok(seed)
}

fn entries<T: DeserializeOwned>(key: &str, list: &[Value]) -> Result<Vec<T>, String> {
    list.iter()
        .enumerate()
        .map(|(i, v)| serde_json::from_value(v.clone()).map_err(|e| format!("{key}[{i}]: {e}")))
        .collect()
}

fn age_ok(age: Option<f64>) -> Result<(), String> {
    match age {
        Some(a) if !a.is_finite() || !(0.0..=3.2e9).contains(&a) => {
            Err("seconds between 0 and a century".to_string())
        }
        _ => Ok(()),
    }
}

/// Where a seed is applied: the mocks' base URLs (a single mock has one), and what the
/// requests need.
pub struct Targets {
    pub identity: Option<String>,
    pub compute: Option<String>,
    pub lb: Option<String>,
    /// Region of entries that name none, per service.
    pub compute_region: String,
    pub lb_region: String,
    pub admin_token: String,
    /// Signs the tokens the seed's API calls carry.
    pub codec: TokenCodec,
}

/// Applies every entry whose mock is among `targets` (a single mock takes its own).
pub async fn apply(seed: &Seed, t: &Targets) -> Result<(), String> {
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .map_err(|e| e.to_string())?;
    let call = Call { http: &http, t };
    if let Some(identity) = &t.identity {
        for (i, u) in seed.users.iter().enumerate() {
            let mut auth = json!({"tenantId": u["tenant_id"]});
            if let Some(p) = u["password"].as_str() {
                auth["passwordCredentials"] = json!({"username": u["username"], "password": p});
            } else if let Some(k) = u["api_key"].as_str() {
                auth["RAX-KSKEY:apiKeyCredentials"] =
                    json!({"username": u["username"], "apiKey": k});
            } else {
                continue;
            }
            if u["tenant_id"].is_null() {
                auth.as_object_mut().map(|a| a.remove("tenantId"));
            }
            call.send(
                reqwest::Method::POST,
                &format!("{identity}/v2.0/tokens"),
                Some(json!({"auth": auth})),
                None,
            )
            .await
            .map_err(|e| format!("users[{i}]: {e}"))?;
        }
        for (i, b) in seed
            .behaviors
            .iter()
            .enumerate()
            .filter(|(_, b)| b.service == "identity")
        {
            let url = format!("{identity}/mimic/v1.1/IdentityControlAPI/behaviors/auth");
            call.send(reqwest::Method::POST, &url, Some(b.behavior.clone()), None)
                .await
                .map_err(|e| format!("behaviors[{i}]: {e}"))?;
        }
    }
    if let Some(compute) = &t.compute {
        for (i, s) in seed.servers.iter().enumerate() {
            let region = s.region.clone().unwrap_or_else(|| t.compute_region.clone());
            let token = call.token(&s.tenant);
            let url = format!("{compute}/{region}/v2/{}/servers", s.tenant);
            let created = call
                .aged(compute, s.age_s, || {
                    call.send(
                        reqwest::Method::POST,
                        &url,
                        Some(json!({"server": s.server})),
                        Some(&token),
                    )
                })
                .await
                .map_err(|e| format!("servers[{i}]: {e}"))?;
            if let Some(status) = &s.status {
                let id = created["server"]["id"].clone();
                let url = format!("{compute}/mimic/{region}/v2/{}/attributes", s.tenant);
                let mut statuses = serde_json::Map::new();
                statuses.insert(id.as_str().unwrap_or_default().to_string(), json!(status));
                call.send(
                    reqwest::Method::POST,
                    &url,
                    Some(json!({"status": statuses})),
                    None,
                )
                .await
                .map_err(|e| format!("servers[{i}].status: {e}"))?;
            }
        }
        for (i, k) in seed.keypairs.iter().enumerate() {
            let region = k.region.clone().unwrap_or_else(|| t.compute_region.clone());
            let token = call.token(&k.tenant);
            let url = format!("{compute}/{region}/v2/{}/os-keypairs", k.tenant);
            call.send(
                reqwest::Method::POST,
                &url,
                Some(json!({"keypair": k.keypair})),
                Some(&token),
            )
            .await
            .map_err(|e| format!("keypairs[{i}]: {e}"))?;
        }
        for (i, b) in seed
            .behaviors
            .iter()
            .enumerate()
            .filter(|(_, b)| b.service == "compute")
        {
            let region = b.region.clone().unwrap_or_else(|| t.compute_region.clone());
            let tenant = b.tenant.clone().unwrap_or_default();
            let url = format!("{compute}/mimic/{region}/v2/{tenant}/behaviors/creation");
            call.send(reqwest::Method::POST, &url, Some(b.behavior.clone()), None)
                .await
                .map_err(|e| format!("behaviors[{i}]: {e}"))?;
        }
    }
    if let Some(lb) = &t.lb {
        for (i, b) in seed.balancers.iter().enumerate() {
            let region = b.region.clone().unwrap_or_else(|| t.lb_region.clone());
            let token = call.token(&b.tenant);
            let url = format!("{lb}/{region}/v1.0/{}/loadbalancers", b.tenant);
            let created = call
                .aged(lb, b.age_s, || {
                    call.send(
                        reqwest::Method::POST,
                        &url,
                        Some(json!({"loadBalancer": b.load_balancer})),
                        Some(&token),
                    )
                })
                .await
                .map_err(|e| format!("balancers[{i}]: {e}"))?;
            if let Some(status) = &b.status {
                let id = &created["loadBalancer"]["id"];
                let url = format!(
                    "{lb}/mimic/{region}/v1.0/{}/loadbalancer/{id}/attributes",
                    b.tenant
                );
                call.send(
                    reqwest::Method::PATCH,
                    &url,
                    Some(json!({"status": status})),
                    None,
                )
                .await
                .map_err(|e| format!("balancers[{i}].status: {e}"))?;
            }
        }
    }
    for (i, rule) in seed.faults.iter().enumerate() {
        let service = rule["match"]["service"].as_str();
        let target = match service {
            Some("identity") => t.identity.as_ref(),
            Some("compute") => t.compute.as_ref(),
            Some("lb") => t.lb.as_ref(),
            // A rule for no service in particular: the mock being seeded (alone), or
            // every mock of the stack.
            _ => None,
        };
        let targets: Vec<&String> = match (service, target) {
            (Some(_), Some(t)) => vec![t],
            (Some(_), None) => Vec::new(),
            (None, _) => [&t.identity, &t.compute, &t.lb]
                .into_iter()
                .flatten()
                .collect(),
        };
        for base in targets {
            let url = format!("{base}{}/faults", crate::context::CONTROL_PREFIX);
            call.send(reqwest::Method::POST, &url, Some(rule.clone()), None)
                .await
                .map_err(|e| format!("faults[{i}]: {e}"))?;
        }
    }
    Ok(())
}

struct Call<'a> {
    http: &'a reqwest::Client,
    t: &'a Targets,
}

impl Call<'_> {
    /// One request; its JSON answer, or the API's own error text.
    async fn send(
        &self,
        method: reqwest::Method,
        url: &str,
        body: Option<Value>,
        token: Option<&str>,
    ) -> Result<Value, String> {
        let mut req = self.http.request(method, url);
        if let Some(b) = body {
            req = req.json(&b);
        }
        if let Some(tok) = token {
            req = req.header("x-auth-token", tok);
        }
        if !self.t.admin_token.is_empty() {
            req = req.header("x-admin-token", &self.t.admin_token);
        }
        let res = req.send().await.map_err(|e| e.to_string())?;
        let status = res.status();
        let text = res.text().await.unwrap_or_default();
        let answer: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if status.is_success() {
            return Ok(answer);
        }
        Err(format!(
            "{} {}",
            status.as_u16(),
            error_text(&answer, &text)
        ))
    }

    /// A token of `tenant` signed as the stack signs them.
    fn token(&self, tenant: &str) -> String {
        // Never expiring: the scratch clock is moved back to age what the seed creates.
        self.t.codec.issue(&Claims::on_behalf_of(
            tenant,
            "understudy-seed",
            chrono::Utc::now().timestamp(),
            None,
        ))
    }

    /// Runs `create` with the clock moved back `age_s` (frozen there), then back to
    /// wall time: what it creates is that old.
    async fn aged<F, Fut>(&self, base: &str, age_s: Option<f64>, create: F) -> Result<Value, String>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<Value, String>>,
    {
        let Some(age) = age_s.filter(|a| *a > 0.0) else {
            return create().await;
        };
        let at = chrono::Utc::now() - chrono::Duration::milliseconds((age * 1000.0) as i64);
        let clock = format!("{base}{}/clock", crate::context::CONTROL_PREFIX);
        self.send(
            reqwest::Method::POST,
            &format!("{clock}/freeze"),
            Some(json!({"at": at})),
            None,
        )
        .await?;
        let out = create().await;
        self.send(reqwest::Method::POST, &format!("{clock}/reset"), None, None)
            .await?;
        out
    }
}

/// The message of an API's error body, whatever its shape.
fn error_text(answer: &Value, raw: &str) -> String {
    if let Some(obj) = answer.as_object() {
        for v in obj.values().chain(std::iter::once(answer)) {
            if let Some(m) = v["message"].as_str() {
                let details = v["details"]
                    .as_str()
                    .map(|d| format!(" ({d})"))
                    .unwrap_or_default();
                let validation = v["validationErrors"]["messages"]
                    .as_array()
                    .map(|m| format!(" {}", Value::Array(m.clone())))
                    .unwrap_or_default();
                return format!("{m}{details}{validation}");
            }
        }
    }
    raw.chars().take(300).collect()
}

/// The state a seeded scratch mock holds: its `GET /state`, ready for `Store::restore`.
pub async fn image_of(base: &str, admin_token: &str) -> Result<crate::store::Image, String> {
    let mut req =
        reqwest::Client::new().get(format!("{base}{}/state", crate::context::CONTROL_PREFIX));
    if !admin_token.is_empty() {
        req = req.header("x-admin-token", admin_token);
    }
    let state: Value = req
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    crate::store::Image::parse(&state["tables"], &state["counters"])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_entries_are_named_with_their_field() {
        let err = |doc: Value| parse(&doc).unwrap_err();
        assert_eq!(
            err(json!({"servers": [{"tenant": "1", "server": {}}, {"server": {}}]})),
            "servers[1]: missing field `tenant`"
        );
        assert!(
            err(json!({"servers": [{"tenant": "1", "server": {}, "colour": "red"}]}))
                .starts_with("servers[0]: unknown field `colour`")
        );
        assert!(err(json!({"planets": []})).starts_with("planets: not a seed list"));
        assert!(err(json!({"faults": [{"action": {"type": "explode"}}]})).starts_with("faults[0]:"));
        assert!(
            err(json!({"servers": [{"tenant": "1", "server": {}, "age_s": -1}]}))
                .starts_with("servers[0].age_s")
        );
        assert!(err(
            json!({"behaviors": [{"service": "compute", "event": "creation", "behavior": {}}]})
        )
        .starts_with("behaviors[0].tenant"));
        assert!(
            err(json!({"balancers": [{"tenant": "1", "loadBalancer": 3}]}))
                .starts_with("balancers[0].loadBalancer")
        );
        assert!(parse(&json!({})).is_ok());
    }
}
