//! External APIs: services a suite adds to the catalog at run time, as Mimic let it
//! (OS-KSADM `services`, OS-KSCATALOG `endpointTemplates`, and a tenant's enabled
//! templates). A service has endpoint templates; a template shows in a tenant's catalog
//! when it is enabled for everyone (`enabled: true`) or for that tenant, and a service
//! shows when one of its templates does (Mimic listed it with no endpoints otherwise,
//! which an SDK that takes the first service of a type would pick; Keystone does not).
//!
//! Bodies are read as Mimic read them (flat) and as Keystone documents them (wrapped in
//! `OS-KSADM:service` / `OS-KSCATALOG:endpointTemplate`); the refusals are Mimic's texts,
//! which suites written against it match. What Mimic answered with a 500 (a body that is
//! not an object, an unknown service in a template delete) is a 4xx here.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::domain::credentials::name_problem;

/// Why a change or lookup of the external APIs is refused: an HTTP status and the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub status: u16,
    pub message: String,
}

fn refused(status: u16, message: impl Into<String>) -> Refused {
    Refused {
        status,
        message: message.into(),
    }
}

pub const SERVICE_FIELDS_REQUIRED: &str = "Invalid Content. 'name' and 'type' fields are required.";
pub const SERVICE_ID_INVALID: &str =
    "Invalid Content. 'id' must be text without '/', '%', '?', '#' or spaces.";
pub const SERVICE_ID_TAKEN: &str = "Conflict: Service with the same uuid already exists.";
pub const SERVICE_NAME_TAKEN: &str = "Conflict: Service with the same name already exists.";
pub const SERVICE_NOT_FOUND: &str = "Service not found. Unable to remove.";
pub const SERVICE_HAS_TEMPLATES: &str = "Service still has endpoint templates.";
pub const API_NOT_FOUND: &str = "Unable to find the requested API";
pub const TEMPLATE_ID_TAKEN: &str = "ID value is already assigned to an existing template";
/// Mimic's text, its typo kept: suites match it.
pub const TEMPLATE_SERVICE_NOT_FOUND: &str = "Service API for endoint template not found";
pub const TEMPLATE_TYPE_MISMATCH: &str = "Endpoint already exists or service type does not match.";
pub const TEMPLATE_UPDATE_TYPE_MISMATCH: &str =
    "Endpoint already exists and service id or service type does not match.";
pub const TEMPLATE_ID_MISMATCH: &str = "Template ID in URL does not match that of the JSON body";
pub const TEMPLATE_NOT_IN_SERVICE: &str = "Unable to update non-existent template. Template must first be added before it can be updated.";
pub const TEMPLATE_NOT_FOUND: &str = "Unable to locate an External API with the given Template ID.";
pub const TEMPLATE_NOT_ENABLED: &str = "Template not enabled for tenant";
pub const ENABLE_ID_REQUIRED: &str =
    "Invalid Content. OS-KSCATALOG:endpointTemplate:id is required.";
const MISSING: &str = "JSON body does not contain the required parameters";

/// How many services, and templates over all of them, one stack keeps.
pub const MAX_SERVICES: usize = 200;
pub const MAX_TEMPLATES: usize = 500;
/// The longest URL or description a field may hold (names and ids: Keystone's 255).
pub const MAX_TEXT: usize = 1_024;

/// The fields that name or identify something: at most 255 characters, no control or
/// bidirectional-formatting characters, as a user's or tenant's name.
const NAMES: [&str; 4] = ["id", "name", "type", "region"];

/// The description a service gets when none is given (Mimic's).
const DEFAULT_DESCRIPTION: &str = "External API referenced by Mimic";
/// What a template's URLs name the tenant by, when the template does not say.
const DEFAULT_ALIAS: &str = "%tenant_id%";

/// Every external service of the stack, in the order they were added.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Registry {
    pub services: Vec<Service>,
    /// The last template number given: each template added gets the next, so an
    /// enablement names one template and not a later one that reuses its id.
    pub last_seq: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Service {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub description: String,
    pub templates: Vec<Template>,
}

/// An endpoint template. The optional texts are `None` when the body gave them as
/// `null` (they are then left out of the answers), and their default when it left them
/// out: `""`, or `%tenant_id%` for the tenant alias.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Template {
    pub seq: u64,
    pub id: String,
    pub region: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    pub enabled: bool,
    pub public_url: Option<String>,
    pub internal_url: Option<String>,
    pub admin_url: Option<String>,
    pub tenant_alias: Option<String>,
    pub version_id: Option<String>,
    pub version_info: Option<String>,
    pub version_list: Option<String>,
}

/// One template a tenant sees, with its service.
pub struct Visible<'a> {
    pub service: &'a Service,
    pub template: &'a Template,
}

/// A request body's object: itself, or what it wraps under `key`.
fn object<'a>(body: &'a Value, key: &str) -> Option<&'a Map<String, Value>> {
    let o = body.as_object()?;
    match o.get(key) {
        Some(Value::Object(inner)) => Some(inner),
        _ => Some(o),
    }
}

/// A text field: `Ok(None)` when absent; a value that is not text, or too long, or with
/// control or bidirectional-formatting characters, or an `id` a URL cannot carry (see
/// [`id_fits`]), is refused with `bad`.
fn text(o: &Map<String, Value>, key: &str, bad: &str) -> Result<Option<String>, Refused> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => {
            let fits = if key == "id" {
                id_fits(s)
            } else if NAMES.contains(&key) {
                name_problem(s).is_none()
            } else {
                s.len() <= MAX_TEXT && !common::has_control_characters(s)
            };
            if fits {
                Ok(Some(s.clone()))
            } else {
                Err(refused(400, bad))
            }
        }
        Some(_) => Err(refused(400, bad)),
    }
}

/// Whether `s` can be an id: a name (see [`NAMES`]) that a URL path segment carries as it
/// is, so that the routes can name it (no `/`, `%`, `?`, `#`, `+` or space, and not `.` or
/// `..`, which clients fold away).
pub fn id_fits(s: &str) -> bool {
    name_problem(s).is_none()
        && !s.contains(['/', '%', '?', '#', '+', ' '])
        && s != "."
        && s != ".."
}

/// A service from a `POST /services` body (an empty or absent `id`: a new one).
pub fn parse_service(body: &Value, new_id: impl FnOnce() -> String) -> Result<Service, Refused> {
    let o =
        object(body, "OS-KSADM:service").ok_or_else(|| refused(400, SERVICE_FIELDS_REQUIRED))?;
    let field = |k| text(o, k, SERVICE_FIELDS_REQUIRED);
    let (Some(name), Some(kind)) = (field("name")?, field("type")?) else {
        return Err(refused(400, SERVICE_FIELDS_REQUIRED));
    };
    let id = text(o, "id", SERVICE_ID_INVALID)?.filter(|id| !id.is_empty());
    Ok(Service {
        id: id.unwrap_or_else(new_id),
        name,
        kind,
        description: field("description")?.unwrap_or_else(|| DEFAULT_DESCRIPTION.to_string()),
        templates: Vec::new(),
    })
}

/// A template from a `POST` or `PUT .../endpointTemplates` body (its `seq` is 0 until
/// the registry takes it). The required texts are checked in Mimic's order.
pub fn parse_template(body: &Value) -> Result<Template, Refused> {
    let missing = |k: &str| refused(400, format!("{MISSING}: Missing required value {k}"));
    let o = object(body, "OS-KSCATALOG:endpointTemplate").ok_or_else(|| missing("id"))?;
    let mut required = Vec::with_capacity(4);
    for k in ["id", "region", "type", "name"] {
        match text(o, k, &format!("{MISSING}: Invalid value {k}"))? {
            Some(v) if !v.is_empty() || k != "id" => required.push(v),
            _ => return Err(missing(k)),
        }
    }
    // An optional text: "" when absent, None when given as null.
    let optional = |k: &str, default: &str| -> Result<Option<String>, Refused> {
        match o.get(k) {
            None => Ok(Some(default.to_string())),
            Some(Value::Null) => Ok(None),
            Some(_) => text(o, k, &format!("{MISSING}: Invalid value {k}")),
        }
    };
    let enabled = match o.get("enabled") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(refused(400, format!("{MISSING}: Invalid value enabled"))),
    };
    let mut required = required.into_iter();
    let mut next = || required.next().unwrap_or_default();
    Ok(Template {
        seq: 0,
        id: next(),
        region: next(),
        kind: next(),
        name: next(),
        enabled,
        public_url: optional("publicURL", "")?,
        internal_url: optional("internalURL", "")?,
        admin_url: optional("adminURL", "")?,
        tenant_alias: optional("RAX-AUTH:tenantAlias", DEFAULT_ALIAS)?,
        version_id: optional("versionId", "")?,
        version_info: optional("versionInfo", "")?,
        version_list: optional("versionList", "")?,
    })
}

/// The first checks of a `PUT .../endpointTemplates/{url_id}` body, in Mimic's order,
/// before the rest of it is read: it names an id (400), and the one of the URL (409). An
/// id that is not text is a 400, as in a `POST` (Mimic compared it and answered 409), and
/// the body may be wrapped as Keystone documents it (Mimic read it flat only).
pub fn check_put_id(body: &Value, url_id: &str) -> Result<(), Refused> {
    let named = body
        .get("OS-KSCATALOG:endpointTemplate")
        .unwrap_or(body)
        .get("id");
    match named {
        None => Err(refused(400, format!("{MISSING}: 'id'"))),
        Some(Value::String(id)) if id == url_id => Ok(()),
        Some(Value::String(_)) => Err(refused(409, TEMPLATE_ID_MISMATCH)),
        Some(_) => Err(refused(400, format!("{MISSING}: Invalid value id"))),
    }
}

/// The template id a `POST /tenants/{t}/OS-KSCATALOG/endpoints` body enables.
pub fn parse_enable(body: &Value) -> Result<String, Refused> {
    body.get("OS-KSCATALOG:endpointTemplate")
        .and_then(|t| t.get("id"))
        .and_then(Value::as_str)
        .filter(|id| !id.is_empty() && id_fits(id))
        .map(str::to_string)
        .ok_or_else(|| refused(400, ENABLE_ID_REQUIRED))
}

impl Registry {
    fn template_count(&self) -> usize {
        self.services.iter().map(|s| s.templates.len()).sum()
    }

    /// The service with this id.
    pub fn service(&self, id: &str) -> Option<&Service> {
        self.services.iter().find(|s| s.id == id)
    }

    /// The template with this id, and its service.
    pub fn template(&self, id: &str) -> Option<(&Service, &Template)> {
        self.services
            .iter()
            .find_map(|s| s.templates.iter().find(|t| t.id == id).map(|t| (s, t)))
    }

    pub fn add_service(&mut self, service: Service) -> Result<(), Refused> {
        if self.services.iter().any(|s| s.id == service.id) {
            return Err(refused(409, SERVICE_ID_TAKEN));
        }
        if self.services.iter().any(|s| s.name == service.name) {
            return Err(refused(409, SERVICE_NAME_TAKEN));
        }
        if self.services.len() >= MAX_SERVICES {
            return Err(refused(
                413,
                format!("At most {MAX_SERVICES} external services may be registered."),
            ));
        }
        self.services.push(service);
        Ok(())
    }

    pub fn remove_service(&mut self, id: &str) -> Result<Service, Refused> {
        let i = self
            .services
            .iter()
            .position(|s| s.id == id)
            .ok_or_else(|| refused(404, SERVICE_NOT_FOUND))?;
        if !self.services[i].templates.is_empty() {
            return Err(refused(409, SERVICE_HAS_TEMPLATES));
        }
        Ok(self.services.remove(i))
    }

    /// The templates of the service named (every service's when none is), in order.
    pub fn templates(&self, service_id: Option<&str>) -> Result<Vec<&Template>, Refused> {
        match service_id {
            Some(id) => Ok(self
                .service(id)
                .ok_or_else(|| refused(404, API_NOT_FOUND))?
                .templates
                .iter()
                .collect()),
            None => Ok(self.services.iter().flat_map(|s| &s.templates).collect()),
        }
    }

    /// Adds a template to the service named, or to the service whose name is the
    /// template's; the template as kept.
    pub fn add_template(
        &mut self,
        service_id: Option<&str>,
        mut template: Template,
    ) -> Result<Template, Refused> {
        if self.template(&template.id).is_some() {
            return Err(refused(409, TEMPLATE_ID_TAKEN));
        }
        let at = match service_id {
            Some(id) => self.services.iter().position(|s| s.id == id),
            None => self.services.iter().position(|s| s.name == template.name),
        }
        .ok_or_else(|| refused(404, TEMPLATE_SERVICE_NOT_FOUND))?;
        if self.services[at].kind != template.kind {
            return Err(refused(409, TEMPLATE_TYPE_MISMATCH));
        }
        if self.template_count() >= MAX_TEMPLATES {
            return Err(refused(
                413,
                format!("At most {MAX_TEMPLATES} endpoint templates may be registered."),
            ));
        }
        self.last_seq += 1;
        template.seq = self.last_seq;
        self.services[at].templates.push(template.clone());
        Ok(template)
    }

    /// Replaces the template `url_id` (in its place) with `template`, read from a body
    /// that must name the same id; the template as kept.
    pub fn replace_template(
        &mut self,
        url_id: &str,
        service_id: Option<&str>,
        mut template: Template,
    ) -> Result<Template, Refused> {
        if template.id != url_id {
            return Err(refused(409, TEMPLATE_ID_MISMATCH));
        }
        let at = match service_id {
            Some(id) => self.services.iter().position(|s| s.id == id),
            None => self
                .services
                .iter()
                .position(|s| s.templates.iter().any(|t| t.id == url_id)),
        }
        .ok_or_else(|| refused(404, TEMPLATE_SERVICE_NOT_FOUND))?;
        let service = &mut self.services[at];
        let slot = service
            .templates
            .iter()
            .position(|t| t.id == url_id)
            .ok_or_else(|| refused(404, TEMPLATE_NOT_IN_SERVICE))?;
        if service.kind != template.kind {
            return Err(refused(409, TEMPLATE_UPDATE_TYPE_MISMATCH));
        }
        // Replaced, it is the same template: the tenants it was enabled for keep it.
        template.seq = service.templates[slot].seq;
        service.templates[slot] = template.clone();
        Ok(template)
    }

    /// Removes a template (from the service named, when one is); the tenants it was
    /// enabled for lose it with it.
    pub fn remove_template(&mut self, id: &str, service_id: Option<&str>) -> Result<(), Refused> {
        let not_found = || refused(404, TEMPLATE_NOT_FOUND);
        let service = match service_id {
            Some(sid) => self.services.iter_mut().find(|s| s.id == sid),
            None => self
                .services
                .iter_mut()
                .find(|s| s.templates.iter().any(|t| t.id == id)),
        }
        .ok_or_else(not_found)?;
        let i = service
            .templates
            .iter()
            .position(|t| t.id == id)
            .ok_or_else(not_found)?;
        service.templates.remove(i);
        Ok(())
    }

    /// What a tenant sees: every template enabled for everyone or for it (`enabled`
    /// holds the template numbers enabled for the tenant), service by service; a service
    /// none of whose templates it sees is left out.
    pub fn visible<'a>(&'a self, enabled: &[u64]) -> Vec<(&'a Service, Vec<&'a Template>)> {
        self.services
            .iter()
            .filter_map(|s| {
                let shown: Vec<&Template> = s
                    .templates
                    .iter()
                    .filter(|t| t.enabled || enabled.contains(&t.seq))
                    .collect();
                (!shown.is_empty()).then_some((s, shown))
            })
            .collect()
    }

    /// A registry of what a tenant sees (see [`Registry::visible`]) alone.
    pub fn shown_to(&self, enabled: &[u64]) -> Registry {
        Registry {
            services: self
                .visible(enabled)
                .into_iter()
                .map(|(s, templates)| Service {
                    templates: templates.into_iter().cloned().collect(),
                    id: s.id.clone(),
                    name: s.name.clone(),
                    kind: s.kind.clone(),
                    description: s.description.clone(),
                })
                .collect(),
            last_seq: self.last_seq,
        }
    }

    /// Whether some template is not enabled for everyone (a tenant may see it).
    pub fn has_tenant_templates(&self) -> bool {
        self.services
            .iter()
            .flat_map(|s| &s.templates)
            .any(|t| !t.enabled)
    }

    /// The numbers of every template there is.
    pub fn seqs(&self) -> Vec<u64> {
        self.services
            .iter()
            .flat_map(|s| s.templates.iter().map(|t| t.seq))
            .collect()
    }
}

impl Service {
    pub fn to_json(&self) -> Value {
        json!({"id": self.id, "name": self.name, "type": self.kind, "description": self.description})
    }
}

impl Template {
    /// The template as `endpointTemplates` lists it (a field given as null left out).
    pub fn to_json(&self) -> Value {
        let mut v = json!({
            "id": self.id,
            "region": self.region,
            "type": self.kind,
            "name": self.name,
            "enabled": self.enabled,
        });
        for (key, value) in [
            ("publicURL", &self.public_url),
            ("internalURL", &self.internal_url),
            ("adminURL", &self.admin_url),
            ("RAX-AUTH:tenantAlias", &self.tenant_alias),
            ("versionId", &self.version_id),
            ("versionInfo", &self.version_info),
            ("versionList", &self.version_list),
        ] {
            if let Some(value) = value {
                v[key] = json!(value);
            }
        }
        v
    }

    /// A URL of the template for a tenant: the tenant alias replaced by its id.
    pub fn url_for(&self, url: &Option<String>, tenant_id: &str) -> String {
        let url = url.as_deref().unwrap_or_default();
        match self.tenant_alias.as_deref() {
            Some(alias) if !alias.is_empty() => url.replace(alias, tenant_id),
            _ => url.to_string(),
        }
    }

    /// The template as a tenant's `OS-KSCATALOG/endpoints` lists it (the URLs as the
    /// template holds them, as Mimic listed them).
    pub fn to_tenant_json(&self, tenant_id: &str) -> Value {
        json!({
            "tenantId": tenant_id,
            "id": self.id,
            "region": self.region,
            "type": self.kind,
            "name": self.name,
            "publicURL": self.public_url.as_deref().unwrap_or_default(),
            "internalURL": self.internal_url.as_deref().unwrap_or_default(),
            "adminURL": self.admin_url.as_deref().unwrap_or_default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry_with_service() -> Registry {
        let mut r = Registry::default();
        let s = parse_service(&json!({"name": "ext", "type": "object-store"}), || {
            "s1".into()
        })
        .unwrap();
        r.add_service(s).unwrap();
        r
    }

    fn template(id: &str, kind: &str) -> Template {
        parse_template(
            &json!({"id": id, "region": "ORD", "type": kind, "name": "ext",
            "publicURL": "https://ext/v1/%tenant_id%"}),
        )
        .unwrap()
    }

    #[test]
    fn services_need_a_name_and_a_type_and_unique_ids_and_names() {
        let mut r = registry_with_service();
        for bad in [
            json!({"name": "x"}),
            json!({"type": "x"}),
            json!([1]),
            json!({"name": 3, "type": "x"}),
        ] {
            assert_eq!(
                parse_service(&bad, || "id".into()).unwrap_err().message,
                SERVICE_FIELDS_REQUIRED
            );
        }
        let wrapped = json!({"OS-KSADM:service": {"name": "other", "type": "t", "id": "s1"}});
        let s = parse_service(&wrapped, || "unused".into()).unwrap();
        assert_eq!(r.add_service(s).unwrap_err().message, SERVICE_ID_TAKEN);
        let s = parse_service(&json!({"name": "ext", "type": "t"}), || "s2".into()).unwrap();
        assert_eq!(r.add_service(s).unwrap_err().message, SERVICE_NAME_TAKEN);
        assert_eq!(r.services[0].description, DEFAULT_DESCRIPTION);
    }

    #[test]
    fn templates_are_checked_in_mimics_order() {
        let e = parse_template(&json!({"region": "ORD"})).unwrap_err();
        assert_eq!(e.message, format!("{MISSING}: Missing required value id"));
        let e = parse_template(&json!({"id": "t", "region": "ORD", "type": "x"})).unwrap_err();
        assert_eq!(e.message, format!("{MISSING}: Missing required value name"));
        let mut r = registry_with_service();
        assert_eq!(
            r.add_template(None, template("t1", "compute")).unwrap_err(),
            refused(409, TEMPLATE_TYPE_MISMATCH)
        );
        assert_eq!(
            r.add_template(Some("nope"), template("t1", "object-store"))
                .unwrap_err(),
            refused(404, TEMPLATE_SERVICE_NOT_FOUND)
        );
        let kept = r
            .add_template(None, template("t1", "object-store"))
            .unwrap();
        assert_eq!(kept.seq, 1);
        assert!(
            !kept.enabled,
            "a template is not enabled for everyone unless it says so"
        );
        assert_eq!(
            r.add_template(None, template("t1", "object-store"))
                .unwrap_err(),
            refused(409, TEMPLATE_ID_TAKEN)
        );
        assert_eq!(
            r.remove_service("s1").unwrap_err(),
            refused(409, SERVICE_HAS_TEMPLATES)
        );
    }

    #[test]
    fn a_replaced_template_keeps_its_place_and_number_and_a_removed_one_is_gone() {
        let mut r = registry_with_service();
        r.add_template(None, template("t1", "object-store"))
            .unwrap();
        r.add_template(None, template("t2", "object-store"))
            .unwrap();
        assert_eq!(
            r.replace_template("t9", None, template("t1", "object-store"))
                .unwrap_err(),
            refused(409, TEMPLATE_ID_MISMATCH)
        );
        assert_eq!(
            r.replace_template("t9", None, template("t9", "object-store"))
                .unwrap_err(),
            refused(404, TEMPLATE_SERVICE_NOT_FOUND)
        );
        let mut changed = template("t1", "object-store");
        changed.enabled = true;
        assert_eq!(r.replace_template("t1", None, changed).unwrap().seq, 1);
        let ids: Vec<_> = r
            .templates(None)
            .unwrap()
            .iter()
            .map(|t| t.id.clone())
            .collect();
        assert_eq!(ids, ["t1", "t2"]);
        assert_eq!(
            r.remove_template("t1", Some("other")).unwrap_err(),
            refused(404, TEMPLATE_NOT_FOUND)
        );
        r.remove_template("t1", None).unwrap();
        let again = r
            .add_template(None, template("t1", "object-store"))
            .unwrap();
        assert_eq!(again.seq, 3, "a template added again is a new one");
    }

    #[test]
    fn tenants_see_templates_enabled_for_everyone_or_for_them() {
        let mut r = registry_with_service();
        let t1 = r
            .add_template(None, template("t1", "object-store"))
            .unwrap();
        let mut t2 = template("t2", "object-store");
        t2.enabled = true;
        r.add_template(None, t2).unwrap();
        let seen = |enabled: &[u64]| -> Vec<String> {
            r.visible(enabled)
                .iter()
                .flat_map(|(_, ts)| ts.iter().map(|t| t.id.clone()))
                .collect()
        };
        assert_eq!(seen(&[]), ["t2"]);
        assert_eq!(seen(&[t1.seq]), ["t1", "t2"]);
        assert_eq!(t1.url_for(&t1.public_url, "123"), "https://ext/v1/123");
        let mut no_alias = t1.clone();
        no_alias.tenant_alias = Some(String::new());
        assert_eq!(
            no_alias.url_for(&no_alias.public_url, "123"),
            "https://ext/v1/%tenant_id%"
        );
    }

    #[test]
    fn optional_fields_given_as_null_are_left_out() {
        let t = parse_template(&json!({"id": "t", "region": "R", "type": "x", "name": "n",
            "adminURL": null, "enabled": null}))
        .unwrap();
        let v = t.to_json();
        assert!(v.get("adminURL").is_none());
        assert_eq!(v["internalURL"], "");
        assert_eq!(v["RAX-AUTH:tenantAlias"], DEFAULT_ALIAS);
        assert!(
            parse_template(&json!({"id": "t", "region": "R", "type": "x", "name": "n",
            "enabled": "false"}))
            .is_err(),
            "enabled is true or false, not a text that reads as true"
        );
        assert_eq!(
            parse_enable(&json!({"OS-KSCATALOG:endpointTemplate": {}}))
                .unwrap_err()
                .message,
            ENABLE_ID_REQUIRED
        );
    }

    #[test]
    fn names_and_ids_are_checked_as_keystone_checks_names() {
        for bad in ["a\u{202e}b", "a\u{0}b"] {
            let service = json!({"name": bad, "type": "t"});
            assert!(parse_service(&service, || "i".into()).is_err(), "{bad:?}");
            let t = json!({"id": "t", "region": "R", "type": "x", "name": "n", "publicURL": bad});
            assert!(parse_template(&t).is_err(), "{bad:?}");
        }
        let long = json!({"name": "n".repeat(256), "type": "t"});
        assert!(parse_service(&long, || "i".into()).is_err());
        for id in ["a/b", "50%", "a?b", "a#b", "a b", "a+b", ".", ".."] {
            let e = parse_service(&json!({"name": "n", "type": "t", "id": id}), || "i".into());
            assert_eq!(e.unwrap_err().message, SERVICE_ID_INVALID, "{id}");
            let t = json!({"id": id, "region": "R", "type": "x", "name": "n"});
            assert!(parse_template(&t).is_err(), "{id}");
            let enable = json!({"OS-KSCATALOG:endpointTemplate": {"id": id}});
            assert!(parse_enable(&enable).is_err(), "{id}");
        }
        let s = parse_service(&json!({"name": "n", "type": "t", "id": ""}), || {
            "new".into()
        });
        assert_eq!(s.unwrap().id, "new", "an empty id is a new one");
    }

    #[test]
    fn a_put_names_the_template_of_its_url_first() {
        let e = |body: Value| check_put_id(&body, "t").unwrap_err();
        assert_eq!(
            e(json!({"region": "R"})).message,
            format!("{MISSING}: 'id'")
        );
        assert_eq!(e(json!([1])).status, 400);
        assert_eq!(
            e(json!({"id": 7})).message,
            format!("{MISSING}: Invalid value id")
        );
        assert_eq!(e(json!({"id": "u"})), refused(409, TEMPLATE_ID_MISMATCH));
        assert!(check_put_id(&json!({"OS-KSCATALOG:endpointTemplate": {"id": "t"}}), "t").is_ok());
    }
}
