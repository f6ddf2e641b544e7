//! The service catalog: what services and endpoints a tenant sees, generated from the
//! settings (`[catalog]`, see [`CatalogSettings`]), and fetched by the mocks (through
//! [`CatalogClient`]) to find each other. Identity renders it in Keystone's v2 and v3
//! formats (`identity-mock`'s `domain::keystone`).

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::settings::{identity_base, CatalogSettings, IdentityVersion, ServiceEntry};

/// One endpoint of one service for one tenant.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Endpoint {
    pub id: String,
    pub service_name: String,
    pub service_type: String,
    pub region: String,
    pub tenant_id: String,
    pub public_url: String,
    pub internal_url: String,
    pub admin_url: Option<String>,
}

/// The catalog of one stack's settings: every endpoint of every service, for any tenant.
#[derive(Debug)]
pub struct Catalog {
    settings: CatalogSettings,
}

impl Catalog {
    pub fn new(settings: CatalogSettings) -> Catalog {
        Catalog { settings }
    }

    pub fn settings(&self) -> &CatalogSettings {
        &self.settings
    }

    fn regions_of<'a>(&'a self, s: &'a ServiceEntry) -> &'a [String] {
        if s.regions.is_empty() {
            &self.settings.regions
        } else {
            &s.regions
        }
    }

    /// Every endpoint a tenant sees, service by service, region by region.
    pub fn endpoints(&self, tenant_id: &str) -> Vec<Endpoint> {
        let mut out = Vec::new();
        for s in &self.settings.services {
            for region in self.regions_of(s) {
                let fill = |t: &str| render_template(t, tenant_id, region);
                let public_url = fill(&s.public_url);
                out.push(Endpoint {
                    id: endpoint_id(&s.name, region),
                    service_name: s.name.clone(),
                    service_type: s.kind.clone(),
                    region: region.clone(),
                    tenant_id: tenant_id.to_string(),
                    internal_url: s
                        .internal_url
                        .as_deref()
                        .map(fill)
                        .unwrap_or_else(|| public_url.clone()),
                    public_url,
                    admin_url: s.admin_url.as_deref().map(fill),
                });
            }
        }
        out
    }

    /// The public URL of the first service of `kind` (or named `kind`) in `region`.
    pub fn url_for(
        &self,
        kind: &str,
        region: &str,
        tenant_id: &str,
        internal: bool,
    ) -> Option<String> {
        self.endpoints(tenant_id)
            .into_iter()
            .find(|e| (e.service_type == kind || e.service_name == kind) && e.region == region)
            .map(|e| {
                if internal {
                    e.internal_url
                } else {
                    e.public_url
                }
            })
    }

    /// Origins (`scheme://host:port`) of every mocked service, by internal URL, plus
    /// Identity's: where stack-wide control calls fan out.
    pub fn control_origins(&self) -> Vec<String> {
        let mut set = BTreeSet::new();
        if let Some(o) = origin(&self.settings.identity_url) {
            set.insert(o);
        }
        for s in self.settings.services.iter().filter(|s| !s.external) {
            let url = s.internal_url.as_ref().unwrap_or(&s.public_url);
            if let Some(o) = origin(&render_template(url, "t", "R")) {
                set.insert(o);
            }
        }
        set.into_iter().collect()
    }
}

/// Fills `{tenant_id}`, `{region}` and `{region_lower}`.
pub fn render_template(template: &str, tenant_id: &str, region: &str) -> String {
    template
        .replace("{tenant_id}", tenant_id)
        .replace("{region_lower}", &region.to_lowercase())
        .replace("{region}", region)
}

/// A real Keystone's catalog (v3 `{"catalog": [...]}` or v2 `{"endpoints": [...]}`) as
/// catalog entries: one per service and region, with the URLs as given, all external
/// (real services get no Understudy control calls).
pub fn services_of_keystone_catalog(body: &Value) -> Vec<ServiceEntry> {
    let mut out: Vec<ServiceEntry> = Vec::new();
    let text = |v: &Value, k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    if let Some(services) = body.get("catalog").and_then(Value::as_array) {
        for s in services {
            let mut regions: Vec<(String, Option<String>, Option<String>)> = Vec::new();
            for e in s
                .get("endpoints")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let region = e
                    .get("region_id")
                    .or_else(|| e.get("region"))
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                let slot = match regions.iter().position(|(r, _, _)| *r == region) {
                    Some(n) => n,
                    None => {
                        regions.push((region, None, None));
                        regions.len() - 1
                    }
                };
                match e.get("interface").and_then(Value::as_str) {
                    Some("public") => regions[slot].1 = Some(text(e, "url")),
                    Some("internal") => regions[slot].2 = Some(text(e, "url")),
                    _ => {}
                }
            }
            for (region, public, internal) in regions {
                if let Some(public_url) = public.or_else(|| internal.clone()) {
                    out.push(ServiceEntry {
                        name: text(s, "name"),
                        kind: text(s, "type"),
                        regions: vec![region],
                        public_url,
                        internal_url: internal,
                        admin_url: None,
                        external: true,
                    });
                }
            }
        }
    }
    for e in body
        .get("endpoints")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let internal = e
            .get("internalURL")
            .and_then(Value::as_str)
            .map(str::to_string);
        out.push(ServiceEntry {
            name: text(e, "name"),
            kind: text(e, "type"),
            regions: vec![text(e, "region")],
            public_url: text(e, "publicURL"),
            internal_url: internal,
            admin_url: None,
            external: true,
        });
    }
    out
}

/// `scheme://host[:port]` of a URL.
pub fn origin(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host = rest.split('/').next()?;
    (!host.is_empty()).then(|| format!("{scheme}://{host}"))
}

fn short_hash(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    h.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn endpoint_id(service: &str, region: &str) -> String {
    short_hash(&["endpoint", service, region])
}

/// The stable id of a service, as Keystone v3 shows it.
pub fn service_id(service: &str) -> String {
    short_hash(&["service", service])
}

/// Fetches the catalog from Identity's control API and keeps it for a while. When the
/// local settings already list services (the launcher, or a fully configured mock),
/// those are used and nothing is fetched.
///
/// Beside a real Identity (`auth.mode = "remote"`), which serves no Understudy catalog, a
/// mock finds its peers in the catalog the caller's token carries (Keystone v3's
/// `GET /v3/auth/catalog`, v2's `GET /v2.0/tokens/{id}/endpoints`), kept per token.
pub struct CatalogClient {
    local: CatalogSettings,
    http: reqwest::Client,
    cache: Mutex<Option<(Instant, Arc<Catalog>)>>,
    remote: Option<RemoteIdentity>,
    by_token: Mutex<crate::FastMap<String, (Instant, Arc<Catalog>)>>,
}

/// A real Identity this mock stands beside: its base URL and API version.
#[derive(Debug, Clone)]
pub struct RemoteIdentity {
    pub url: String,
    pub version: IdentityVersion,
}

/// How many token catalogs are remembered before the memory starts over.
const TOKEN_CATALOGS: usize = 1_000;

impl CatalogClient {
    pub fn new(settings: &CatalogSettings) -> CatalogClient {
        CatalogClient {
            local: settings.clone(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(2))
                .build()
                .unwrap_or_default(),
            cache: Mutex::new(None),
            remote: None,
            by_token: Mutex::new(crate::FastMap::default()),
        }
    }

    /// The same client, beside a real Identity.
    pub fn beside(mut self, remote: Option<RemoteIdentity>) -> CatalogClient {
        self.remote = remote;
        self
    }

    /// The real Identity this mock stands beside, if any.
    pub fn remote(&self) -> Option<&RemoteIdentity> {
        self.remote.as_ref()
    }

    /// Whether this mock stands beside a real Identity and knows no Understudy catalog
    /// of its own: then it has no Understudy peers to fan control calls out to, and it
    /// is ready when that Identity answers.
    pub fn beside_real_identity(&self) -> bool {
        self.remote.is_some() && !self.is_local()
    }

    /// Whether the real Identity answers at all (any status below 500): readiness of a
    /// mock beside it.
    pub async fn remote_answers(&self) -> Result<(), String> {
        let Some(r) = &self.remote else {
            return Ok(());
        };
        match self.http.get(&r.url).send().await {
            Ok(res) if res.status().as_u16() < 500 => Ok(()),
            Ok(res) => Err(format!("identity at {} answered {}", r.url, res.status())),
            Err(e) => Err(format!("identity at {} is unreachable: {e}", r.url)),
        }
    }

    /// The catalog a caller sees: the stack's, or beside a real Identity whose catalog
    /// this mock cannot fetch, the one the caller's token carries.
    pub async fn for_caller(&self, token: Option<&str>) -> Result<Arc<Catalog>, String> {
        let stack = if self.beside_real_identity() && self.local.identity_url.is_empty() {
            Err("no stack catalog beside a real identity".to_string())
        } else {
            self.get().await
        };
        match (stack, &self.remote, token) {
            (Ok(c), _, _) => Ok(c),
            (Err(_), Some(remote), Some(token)) => self.token_catalog(remote, token).await,
            (Err(e), _, _) => Err(e),
        }
    }

    async fn token_catalog(
        &self,
        remote: &RemoteIdentity,
        token: &str,
    ) -> Result<Arc<Catalog>, String> {
        let ttl = Duration::from_millis(self.local.cache_ttl_ms);
        if let Some((at, c)) = self
            .by_token
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(token)
        {
            if at.elapsed() < ttl {
                return Ok(c.clone());
            }
        }
        let base = identity_base(&remote.url);
        let url = if remote.version == IdentityVersion::V3 {
            format!("{base}/v3/auth/catalog")
        } else {
            format!("{base}/v2.0/tokens/{token}/endpoints")
        };
        let res = self
            .http
            .get(&url)
            .header("X-Auth-Token", token)
            .send()
            .await
            .map_err(|e| format!("catalog at {url} is unreachable: {e}"))?;
        if !res.status().is_success() {
            return Err(format!("catalog at {url} answered {}", res.status()));
        }
        let body: Value = res
            .json()
            .await
            .map_err(|e| format!("catalog at {url} is not JSON: {e}"))?;
        let services = services_of_keystone_catalog(&body);
        let catalog = Arc::new(Catalog::new(CatalogSettings {
            identity_url: String::new(),
            regions: Vec::new(),
            cache_ttl_ms: self.local.cache_ttl_ms,
            services,
        }));
        crate::remember(
            &mut self.by_token.lock().unwrap_or_else(|e| e.into_inner()),
            TOKEN_CATALOGS,
            token.to_string(),
            (Instant::now(), catalog.clone()),
        );
        Ok(catalog)
    }

    /// Whether this mock knows its catalog without asking Identity.
    pub fn is_local(&self) -> bool {
        !self.local.services.is_empty()
    }

    pub fn identity_url(&self) -> &str {
        &self.local.identity_url
    }

    /// The catalog, or why it cannot be had. A stale copy is used when Identity is away.
    pub async fn get(&self) -> Result<Arc<Catalog>, String> {
        if self.is_local() {
            return Ok(Arc::new(Catalog::new(self.local.clone())));
        }
        let ttl = Duration::from_millis(self.local.cache_ttl_ms);
        let cached = self.cache.lock().unwrap_or_else(|e| e.into_inner()).clone();
        if let Some((at, c)) = &cached {
            if at.elapsed() < ttl {
                return Ok(c.clone());
            }
        }
        match self.fetch().await {
            Ok(c) => {
                let c = Arc::new(c);
                *self.cache.lock().unwrap_or_else(|e| e.into_inner()) =
                    Some((Instant::now(), c.clone()));
                Ok(c)
            }
            Err(e) => cached.map(|(_, c)| c).ok_or(e),
        }
    }

    async fn fetch(&self) -> Result<Catalog, String> {
        let url = format!(
            "{}/_understudy/v1/catalog",
            self.local.identity_url.trim_end_matches('/')
        );
        let res = self
            .http
            .get(&url)
            .send()
            .await
            .map_err(|e| format!("catalog at {url} is unreachable: {e}"))?;
        if !res.status().is_success() {
            return Err(format!("catalog at {url} answered {}", res.status()));
        }
        let settings: CatalogSettings = res
            .json()
            .await
            .map_err(|e| format!("catalog at {url} is not a catalog: {e}"))?;
        Ok(Catalog::new(settings))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_keystone_catalog_becomes_external_entries_per_region() {
        let v3 = json!({"catalog": [{"name": "nova", "type": "compute", "endpoints": [
            {"interface": "public", "region_id": "ORD", "url": "http://c:1/v2.1/p"},
            {"interface": "internal", "region_id": "ORD", "url": "http://c-int:1/v2.1/p"},
            {"interface": "public", "region_id": "DFW", "url": "http://d:1/v2.1/p"}]}]});
        let entries = services_of_keystone_catalog(&v3);
        assert_eq!(entries.len(), 2);
        assert!(entries.iter().all(|e| e.external && e.kind == "compute"));
        let catalog = Catalog::new(CatalogSettings {
            identity_url: String::new(),
            regions: vec![],
            cache_ttl_ms: 0,
            services: entries,
        });
        assert_eq!(
            catalog.url_for("compute", "ORD", "p", true).as_deref(),
            Some("http://c-int:1/v2.1/p")
        );
        assert_eq!(
            catalog.url_for("compute", "DFW", "p", false).as_deref(),
            Some("http://d:1/v2.1/p")
        );
        assert!(
            catalog.control_origins().is_empty(),
            "no control calls to real services"
        );

        let v2 = json!({"endpoints": [{"name": "nova", "type": "compute", "region": "ORD",
            "publicURL": "http://c:1/v2/p"}]});
        assert_eq!(
            services_of_keystone_catalog(&v2)[0].public_url,
            "http://c:1/v2/p"
        );
    }

    fn settings() -> CatalogSettings {
        CatalogSettings {
            identity_url: "http://localhost:5000".into(),
            regions: vec!["ORD".into(), "DFW".into()],
            cache_ttl_ms: 1000,
            services: vec![
                ServiceEntry {
                    name: "cloudServersOpenStack".into(),
                    kind: "compute".into(),
                    regions: vec![],
                    public_url: "http://localhost:8774/{region}/v2/{tenant_id}".into(),
                    internal_url: Some("http://compute:8774/{region}/v2/{tenant_id}".into()),
                    admin_url: None,
                    external: false,
                },
                ServiceEntry {
                    name: "cloudOrchestration".into(),
                    kind: "orchestration".into(),
                    regions: vec!["ORD".into()],
                    public_url: "https://{region_lower}.orchestration.example.com/v1/{tenant_id}"
                        .into(),
                    internal_url: None,
                    admin_url: None,
                    external: true,
                },
            ],
        }
    }

    #[test]
    fn each_service_has_one_endpoint_per_region() {
        let eps = Catalog::new(settings()).endpoints("123");
        let compute: Vec<_> = eps.iter().filter(|e| e.service_type == "compute").collect();
        assert_eq!(compute.len(), 2);
        assert_eq!(compute[0].public_url, "http://localhost:8774/ORD/v2/123");
        assert_eq!(compute[0].internal_url, "http://compute:8774/ORD/v2/123");
        let heat: Vec<_> = eps
            .iter()
            .filter(|e| e.service_type == "orchestration")
            .collect();
        assert_eq!(
            heat.len(),
            1,
            "a service's own regions win over the catalog's"
        );
        assert_eq!(
            heat[0].public_url,
            "https://ord.orchestration.example.com/v1/123"
        );
        assert_eq!(
            heat[0].internal_url, heat[0].public_url,
            "internal defaults to public"
        );
    }

    #[test]
    fn fan_out_reaches_identity_and_mocks_but_not_external_services() {
        let origins = Catalog::new(settings()).control_origins();
        assert_eq!(
            origins,
            vec!["http://compute:8774", "http://localhost:5000"]
        );
    }

    #[test]
    fn lookup_by_type_or_name() {
        let c = Catalog::new(settings());
        assert_eq!(
            c.url_for("compute", "DFW", "9", false).as_deref(),
            Some("http://localhost:8774/DFW/v2/9")
        );
        assert!(c
            .url_for("cloudServersOpenStack", "SYD", "9", false)
            .is_none());
    }

    #[test]
    fn validation_refuses_lower_case_regions_and_bad_urls() {
        let mut s = settings();
        s.regions.push("ord".into());
        assert!(s.validate().is_err());
        let mut s = settings();
        s.services[0].public_url = "localhost:1".into();
        assert!(s.validate().is_err());
        assert!(settings().validate().is_ok());
    }
}
