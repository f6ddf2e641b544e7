//! The service catalog in Keystone's formats: v2's `serviceCatalog`, v2's flattened
//! `GET /tokens/{id}/endpoints` and v3's `catalog`. What services and endpoints exist is
//! `common::catalog`'s; how Keystone writes them is Identity's alone.

use std::sync::{Arc, RwLock};

use common::catalog::{service_id, Catalog};
use common::settings::CatalogSettings;
use serde_json::value::RawValue;
use serde_json::{json, Value};

/// The catalog, ready to render for any tenant.
///
/// Every token answer carries it, so each rendering is built once with the `{tenant_id}`
/// placeholder left in and cut at the placeholder; a tenant's copy is the pieces joined
/// around its (JSON-escaped) id, kept for the next request of that tenant. Building
/// dozens of JSON objects per request cost more than all the rest of a token answer.
pub struct KeystoneCatalog {
    v2: Rendering,
    v2_endpoints: Rendering,
    v3: Rendering,
}

const TENANT: &str = "{tenant_id}";

/// How many tenants' renderings are kept before the cache starts over.
const CACHED_TENANTS: usize = 10_000;

struct Rendering {
    pieces: Vec<String>,
    by_tenant: RwLock<common::FastMap<String, Arc<RawValue>>>,
}

impl Rendering {
    fn new(template: &Value) -> Rendering {
        Rendering {
            pieces: template
                .to_string()
                .split(TENANT)
                .map(str::to_string)
                .collect(),
            by_tenant: RwLock::new(common::FastMap::default()),
        }
    }

    fn for_tenant(&self, tenant_id: &str) -> Arc<RawValue> {
        if let Some(r) = self
            .by_tenant
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(tenant_id)
        {
            return r.clone();
        }
        let escaped = serde_json::to_string(tenant_id).unwrap_or_default();
        let escaped = escaped
            .get(1..escaped.len().saturating_sub(1))
            .unwrap_or_default();
        let rendered: Arc<RawValue> = RawValue::from_string(self.pieces.join(escaped))
            .unwrap_or_else(|_| RawValue::from_string("[]".into()).unwrap_or_default())
            .into();
        common::remember(
            &mut self.by_tenant.write().unwrap_or_else(|e| e.into_inner()),
            CACHED_TENANTS,
            tenant_id.to_string(),
            rendered.clone(),
        );
        rendered
    }
}

impl KeystoneCatalog {
    pub fn new(settings: CatalogSettings) -> KeystoneCatalog {
        let catalog = Catalog::new(settings);
        KeystoneCatalog {
            v2: Rendering::new(&build_v2(&catalog, TENANT)),
            v2_endpoints: Rendering::new(&build_v2_endpoints(&catalog, TENANT)),
            v3: Rendering::new(&build_v3(&catalog, TENANT)),
        }
    }

    /// Keystone v2 `serviceCatalog`.
    pub fn render_v2(&self, tenant_id: &str) -> Arc<RawValue> {
        self.v2.for_tenant(tenant_id)
    }

    /// Keystone v2 `GET /tokens/{id}/endpoints`: the catalog flattened.
    pub fn render_v2_endpoints(&self, tenant_id: &str) -> Arc<RawValue> {
        self.v2_endpoints.for_tenant(tenant_id)
    }

    /// Keystone v3 `catalog`.
    pub fn render_v3(&self, tenant_id: &str) -> Arc<RawValue> {
        self.v3.for_tenant(tenant_id)
    }
}

fn build_v2(catalog: &Catalog, tenant_id: &str) -> Value {
    let endpoints = catalog.endpoints(tenant_id);
    let services: Vec<Value> = catalog
        .settings()
        .services
        .iter()
        .map(|s| {
            let eps: Vec<Value> = endpoints
                .iter()
                .filter(|e| e.service_name == s.name)
                .map(|e| {
                    let mut v = json!({
                        "region": e.region,
                        "tenantId": e.tenant_id,
                        "publicURL": e.public_url,
                        "internalURL": e.internal_url,
                    });
                    if let Some(a) = &e.admin_url {
                        v["adminURL"] = json!(a);
                    }
                    v
                })
                .collect();
            json!({"name": s.name, "type": s.kind, "endpoints": eps, "endpoints_links": []})
        })
        .collect();
    Value::Array(services)
}

fn build_v2_endpoints(catalog: &Catalog, tenant_id: &str) -> Value {
    Value::Array(
        catalog
            .endpoints(tenant_id)
            .into_iter()
            .map(|e| {
                let mut v = json!({
                    "id": e.id,
                    "name": e.service_name,
                    "type": e.service_type,
                    "region": e.region,
                    "tenantId": e.tenant_id,
                    "publicURL": e.public_url,
                    "internalURL": e.internal_url,
                });
                if let Some(a) = &e.admin_url {
                    v["adminURL"] = json!(a);
                }
                v
            })
            .collect(),
    )
}

fn build_v3(catalog: &Catalog, tenant_id: &str) -> Value {
    let endpoints = catalog.endpoints(tenant_id);
    Value::Array(
        catalog
            .settings()
            .services
            .iter()
            .map(|s| {
                let mut eps = Vec::new();
                for e in endpoints.iter().filter(|e| e.service_name == s.name) {
                    let urls = [
                        ("public", Some(&e.public_url)),
                        ("internal", Some(&e.internal_url)),
                        ("admin", e.admin_url.as_ref()),
                    ];
                    for (interface, url) in urls {
                        if let Some(url) = url {
                            eps.push(json!({
                                "id": format!("{}-{interface}", e.id),
                                "interface": interface,
                                "region": e.region,
                                "region_id": e.region,
                                "url": url,
                            }));
                        }
                    }
                }
                json!({"id": service_id(&s.name), "name": s.name, "type": s.kind, "endpoints": eps})
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use common::settings::ServiceEntry;

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

    fn parsed(raw: &RawValue) -> Value {
        serde_json::from_str(raw.get()).unwrap()
    }

    #[test]
    fn a_tenant_is_filled_in_everywhere_and_escaped() {
        let c = KeystoneCatalog::new(settings());
        let slow = Catalog::new(settings());
        let v2 = parsed(&c.render_v2("a\"b"));
        assert_eq!(v2[0]["endpoints"][0]["tenantId"], "a\"b");
        assert_eq!(
            v2[0]["endpoints"][0]["publicURL"],
            "http://localhost:8774/ORD/v2/a\"b"
        );
        assert_eq!(
            parsed(&c.render_v2("9")),
            build_v2(&slow, "9"),
            "the fast path renders what the slow one does"
        );
        assert_eq!(parsed(&c.render_v3("9")), build_v3(&slow, "9"));
        assert_eq!(
            parsed(&c.render_v2_endpoints("9")),
            build_v2_endpoints(&slow, "9")
        );
    }

    #[test]
    fn v2_rendering_groups_endpoints_by_service() {
        let v2 = parsed(&KeystoneCatalog::new(settings()).render_v2("123"));
        assert_eq!(v2[0]["name"], "cloudServersOpenStack");
        assert_eq!(v2[0]["type"], "compute");
        assert_eq!(v2[0]["endpoints"][1]["region"], "DFW");
        assert_eq!(v2[0]["endpoints"][1]["tenantId"], "123");
        assert_eq!(
            v2[0]["endpoints"][1]["publicURL"],
            "http://localhost:8774/DFW/v2/123"
        );
        assert!(v2[0]["endpoints"][0].get("adminURL").is_none());
    }

    #[test]
    fn v3_rendering_lists_one_endpoint_per_interface() {
        let v3 = parsed(&KeystoneCatalog::new(settings()).render_v3("123"));
        let eps = v3[0]["endpoints"].as_array().unwrap();
        assert_eq!(eps.len(), 4, "two regions × public and internal");
        assert_eq!(eps[1]["interface"], "internal");
        assert_eq!(eps[1]["url"], "http://compute:8774/ORD/v2/123");
        assert_eq!(eps[0]["region_id"], "ORD");
        assert!(v3[0]["id"].as_str().is_some_and(|s| !s.is_empty()));
    }

    #[test]
    fn flattened_endpoints_have_stable_ids() {
        let c = KeystoneCatalog::new(settings());
        let first = parsed(&c.render_v2_endpoints("1"));
        assert_eq!(
            first,
            parsed(&KeystoneCatalog::new(settings()).render_v2_endpoints("1"))
        );
        assert_eq!(first[0]["name"], "cloudServersOpenStack");
    }
}
