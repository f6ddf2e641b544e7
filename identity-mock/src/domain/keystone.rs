//! The service catalog in Keystone's formats: v2's `serviceCatalog`, v2's flattened
//! `GET /tokens/{id}/endpoints` and v3's `catalog`. What services and endpoints exist is
//! `common::catalog`'s; how Keystone writes them is Identity's alone.

use std::sync::{Arc, RwLock};

use crate::domain::external::{Registry, Service, Template};
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

    /// The catalog of a tenant in one of Keystone's formats; the external services the
    /// tenant sees (`external`: the registry as the tenant sees it, see
    /// [`Registry::shown_to`]) come first, as Mimic listed them.
    pub fn render(
        &self,
        format: Format,
        tenant_id: &str,
        external: Option<&Registry>,
    ) -> Arc<RawValue> {
        let configured = match format {
            Format::V2 => &self.v2,
            Format::V2Endpoints => &self.v2_endpoints,
            Format::V3 => &self.v3,
        }
        .for_tenant(tenant_id);
        let Some(registry) = external.filter(|r| !r.services.is_empty()) else {
            return configured;
        };
        let mut entries: Vec<String> = Vec::new();
        for service in &registry.services {
            let templates: Vec<&Template> = service.templates.iter().collect();
            match format {
                Format::V2 => entries.push(external_v2(service, &templates, tenant_id).to_string()),
                Format::V2Endpoints => entries.extend(
                    templates
                        .iter()
                        .map(|t| external_v2_endpoint(service, t, tenant_id).to_string()),
                ),
                Format::V3 => entries.push(external_v3(service, &templates, tenant_id).to_string()),
            }
        }
        // The configured rendering is an array of ours: its entries follow, as they are.
        let rest = configured.get().trim();
        let rest = rest
            .get(1..rest.len().saturating_sub(1))
            .unwrap_or("")
            .trim();
        if !rest.is_empty() {
            entries.push(rest.to_string());
        }
        RawValue::from_string(format!("[{}]", entries.join(",")))
            .map(Arc::from)
            .unwrap_or(configured)
    }
}

/// Which of Keystone's catalog formats to render.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// v2 `serviceCatalog`.
    V2,
    /// v2 `GET /tokens/{id}/endpoints`: the catalog flattened.
    V2Endpoints,
    /// v3 `catalog`.
    V3,
}

/// An external service as a v2 `serviceCatalog` entry.
fn external_v2(service: &Service, templates: &[&Template], tenant_id: &str) -> Value {
    let endpoints: Vec<Value> = templates
        .iter()
        .map(|t| external_endpoint(t, tenant_id))
        .collect();
    json!({"name": service.name, "type": service.kind, "endpoints": endpoints, "endpoints_links": []})
}

/// An external template as a flattened v2 endpoint: its catalog endpoint with the
/// service's name and type and the template's id.
fn external_v2_endpoint(service: &Service, t: &Template, tenant_id: &str) -> Value {
    let mut v = external_endpoint(t, tenant_id);
    v["id"] = json!(t.id);
    v["name"] = json!(service.name);
    v["type"] = json!(service.kind);
    v
}

/// A template's v2 endpoint for a tenant (`adminURL` when it has one).
fn external_endpoint(t: &Template, tenant_id: &str) -> Value {
    let mut v = json!({
        "region": t.region,
        "tenantId": tenant_id,
        "publicURL": t.url_for(&t.public_url, tenant_id),
        "internalURL": t.url_for(&t.internal_url, tenant_id),
    });
    if t.admin_url.as_deref().is_some_and(|a| !a.is_empty()) {
        v["adminURL"] = json!(t.url_for(&t.admin_url, tenant_id));
    }
    v
}

/// An external service as a v3 catalog entry: one endpoint per interface a template
/// has a URL for.
fn external_v3(service: &Service, templates: &[&Template], tenant_id: &str) -> Value {
    let mut endpoints = Vec::new();
    for t in templates {
        for (interface, url) in [
            ("public", &t.public_url),
            ("internal", &t.internal_url),
            ("admin", &t.admin_url),
        ] {
            if url.as_deref().is_some_and(|u| !u.is_empty()) {
                endpoints.push(json!({
                    "id": format!("{}-{interface}", t.id),
                    "interface": interface,
                    "region": t.region,
                    "region_id": t.region,
                    "url": t.url_for(url, tenant_id),
                }));
            }
        }
    }
    json!({"id": service.id, "name": service.name, "type": service.kind, "endpoints": endpoints})
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
        let v2 = parsed(&c.render(Format::V2, "a\"b", None));
        assert_eq!(v2[0]["endpoints"][0]["tenantId"], "a\"b");
        assert_eq!(
            v2[0]["endpoints"][0]["publicURL"],
            "http://localhost:8774/ORD/v2/a\"b"
        );
        assert_eq!(
            parsed(&c.render(Format::V2, "9", None)),
            build_v2(&slow, "9"),
            "the fast path renders what the slow one does"
        );
        assert_eq!(
            parsed(&c.render(Format::V3, "9", None)),
            build_v3(&slow, "9")
        );
        assert_eq!(
            parsed(&c.render(Format::V2Endpoints, "9", None)),
            build_v2_endpoints(&slow, "9")
        );
    }

    #[test]
    fn v2_rendering_groups_endpoints_by_service() {
        let v2 = parsed(&KeystoneCatalog::new(settings()).render(Format::V2, "123", None));
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
        let v3 = parsed(&KeystoneCatalog::new(settings()).render(Format::V3, "123", None));
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
        let first = parsed(&c.render(Format::V2Endpoints, "1", None));
        assert_eq!(
            first,
            parsed(&KeystoneCatalog::new(settings()).render(Format::V2Endpoints, "1", None))
        );
        assert_eq!(first[0]["name"], "cloudServersOpenStack");
    }

    #[test]
    fn external_services_come_first_with_the_tenant_in_their_urls() {
        use crate::domain::external::{parse_service, parse_template};
        let mut r = Registry::default();
        let ext = json!({"name": "ext", "type": "object-store"});
        r.add_service(parse_service(&ext, || "s1".into()).unwrap())
            .unwrap();
        let empty = json!({"name": "empty", "type": "dns"});
        r.add_service(parse_service(&empty, || "s2".into()).unwrap())
            .unwrap();
        let t = json!({"id": "t1", "region": "ORD", "type": "object-store", "name": "ext",
            "publicURL": "https://ext/v1/%tenant_id%", "internalURL": "https://int/%tenant_id%"});
        let t = r.add_template(None, parse_template(&t).unwrap()).unwrap();
        let c = KeystoneCatalog::new(settings());
        let hidden = r.shown_to(&[]);
        assert_eq!(
            parsed(&c.render(Format::V2, "9", Some(&hidden))),
            parsed(&c.render(Format::V2, "9", None)),
            "services the tenant sees nothing of are left out"
        );
        let shown = r.shown_to(&[t.seq]);
        let v2 = parsed(&c.render(Format::V2, "9", Some(&shown)));
        assert_eq!(v2[0]["name"], "ext");
        assert_eq!(
            v2[1]["name"], "cloudServersOpenStack",
            "no empty entry for `empty`"
        );
        assert_eq!(v2[0]["endpoints"][0]["publicURL"], "https://ext/v1/9");
        assert_eq!(v2[0]["endpoints"][0]["tenantId"], "9");
        let flat = parsed(&c.render(Format::V2Endpoints, "9", Some(&shown)));
        assert_eq!(flat[0]["id"], "t1");
        assert_eq!(flat[0]["internalURL"], "https://int/9");
        assert_eq!(flat[1]["name"], "cloudServersOpenStack");
        let v3 = parsed(&c.render(Format::V3, "9", Some(&shown)));
        assert_eq!(
            v3[0]["endpoints"].as_array().unwrap().len(),
            2,
            "public and internal"
        );
        assert_eq!(v3[0]["endpoints"][0]["url"], "https://ext/v1/9");
    }
}
