//! Token bodies, rendered from the claims a token carries. v2 and v3 read the same
//! claims, which is why a token issued by one validates on the other.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{json, Value};

use common::clock::iso_micros;
use common::token::Claims;

use super::credentials::AuthMethod;
use super::derive;
use super::v3::{DEFAULT_DOMAIN_ID, DEFAULT_DOMAIN_NAME};

/// `expires` as Rackspace writes it today: UTC, milliseconds, a literal `Z` (gophercloud
/// parses it with a literal `Z`, so an offset would break it).
pub fn v2_time(t: DateTime<Utc>) -> String {
    use chrono::{Datelike, Timelike};
    if !(0..=9999).contains(&t.year()) {
        return t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
    }
    // What the format above gives, without parsing a format string on every token.
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.timestamp_subsec_millis().min(999)
    )
}

/// `{"id": ..., "name": ...}`.
#[derive(Serialize)]
pub struct IdName<'a> {
    pub id: &'a str,
    pub name: &'a str,
}

/// `access.token`. Fields in the order `json!` used to give them (sorted), so answers
/// stay byte-for-byte what they were.
#[derive(Serialize)]
pub struct V2Token<'a> {
    #[serde(rename = "RAX-AUTH:authenticatedBy")]
    pub authenticated_by: &'a [String],
    pub expires: String,
    pub id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant: Option<IdName<'a>>,
}

pub fn v2_token<'a>(token: &'a str, c: &'a Claims) -> V2Token<'a> {
    V2Token {
        authenticated_by: &c.methods,
        expires: v2_time(c.expires_at()),
        id: token,
        tenant: (!c.tenant_id.is_empty()).then(|| IdName {
            id: &c.tenant_id,
            name: &c.tenant_name,
        }),
    }
}

/// One of `user.roles`.
#[derive(Serialize)]
pub struct V2Role<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<&'static str>,
    pub id: String,
    pub name: &'a str,
    #[serde(rename = "tenantId", skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<&'a str>,
}

/// `user.roles`: tenant roles (`compute:default`) carry the tenant, global ones do not.
pub fn v2_roles(c: &Claims) -> Vec<V2Role<'_>> {
    c.roles
        .iter()
        .map(|name| V2Role {
            description: role_description(name),
            id: derive::role_id(name),
            name,
            tenant_id: (!name.starts_with("identity:") && !c.tenant_id.is_empty())
                .then_some(c.tenant_id.as_str()),
        })
        .collect()
}

fn role_description(name: &str) -> Option<&'static str> {
    match name {
        "identity:user-admin" => Some("User Admin Role."),
        "identity:default" => Some("Default Role."),
        _ => None,
    }
}

/// `access.user`.
#[derive(Serialize)]
pub struct V2User<'a> {
    #[serde(rename = "RAX-AUTH:defaultRegion")]
    pub default_region: &'a str,
    pub id: &'a str,
    pub name: &'a str,
    pub roles: Vec<V2Role<'a>>,
}

pub fn v2_user<'a>(c: &'a Claims, default_region: &'a str) -> V2User<'a> {
    V2User {
        default_region,
        id: &c.user_id,
        name: &c.user_name,
        roles: v2_roles(c),
    }
}

/// `access.RAX-AUTH:impersonator`, for impersonation tokens.
#[derive(Serialize)]
pub struct V2Impersonator<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub roles: [IdName<'static>; 1],
}

pub fn v2_impersonator(c: &Claims) -> Option<V2Impersonator<'_>> {
    c.impersonator.as_ref().map(|(id, name)| V2Impersonator {
        id,
        name,
        roles: [IdName {
            id: "9",
            name: "Racker",
        }],
    })
}

/// `GET /v2.0/tokens/{id}`: the token and its user, no catalog.
pub fn v2_validation(token: &str, c: &Claims, default_region: &str) -> Vec<u8> {
    #[derive(Serialize)]
    struct Access<'a> {
        #[serde(
            rename = "RAX-AUTH:impersonator",
            skip_serializing_if = "Option::is_none"
        )]
        impersonator: Option<V2Impersonator<'a>>,
        token: V2Token<'a>,
        user: V2User<'a>,
    }
    #[derive(Serialize)]
    struct Body<'a> {
        access: Access<'a>,
    }
    serde_json::to_vec(&Body {
        access: Access {
            impersonator: v2_impersonator(c),
            token: v2_token(token, c),
            user: v2_user(c, default_region),
        },
    })
    .unwrap_or_default()
}

/// `POST /v2.0/tokens`: the token, its user and the (pre-rendered) catalog.
pub fn v2_access(token: &str, c: &Claims, default_region: &str, catalog: &RawValue) -> Vec<u8> {
    #[derive(Serialize)]
    struct Access<'a> {
        token: V2Token<'a>,
        user: V2User<'a>,
        #[serde(rename = "serviceCatalog")]
        catalog: &'a RawValue,
    }
    #[derive(Serialize)]
    struct Body<'a> {
        access: Access<'a>,
    }
    let mut out = Vec::with_capacity(catalog.get().len() + 1024);
    let body = Body {
        access: Access {
            token: v2_token(token, c),
            user: v2_user(c, default_region),
            catalog,
        },
    };
    match serde_json::to_writer(&mut out, &body) {
        Ok(()) => out,
        Err(_) => Vec::new(),
    }
}

/// v3 `methods`: keystone's lower-case names for the v2 methods a token records.
pub fn v3_methods(c: &Claims) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for m in &c.methods {
        let name = match AuthMethod::parse(m) {
            Some(known) => known.v3_name().to_string(),
            None => m.to_lowercase(),
        };
        if !out.contains(&name) {
            out.push(name);
        }
    }
    out
}

/// A JSON body with a pre-rendered catalog spliced in: the catalog is rendered once per
/// tenant as raw JSON (see [`super::keystone::KeystoneCatalog`]), never rebuilt as a
/// `Value`.
#[derive(Serialize)]
pub struct WithCatalog {
    #[serde(flatten)]
    pub body: serde_json::Map<String, Value>,
    #[serde(flatten)]
    pub catalog: Option<CatalogField>,
}

/// The catalog under the key an API puts it (`serviceCatalog`, `endpoints`, `catalog`).
#[derive(Serialize)]
pub struct CatalogField(pub std::collections::BTreeMap<&'static str, Arc<RawValue>>);

impl WithCatalog {
    /// `body` (an object) with `key: catalog` added when there is a catalog.
    pub fn new(body: Value, key: &'static str, catalog: Option<Arc<RawValue>>) -> WithCatalog {
        let body = match body {
            Value::Object(m) => m,
            _ => serde_json::Map::new(),
        };
        WithCatalog {
            body,
            catalog: catalog.map(|c| CatalogField([(key, c)].into())),
        }
    }
}

/// An empty catalog, for tokens with no tenant.
pub fn no_catalog() -> Arc<RawValue> {
    RawValue::from_string("[]".into())
        .unwrap_or_default()
        .into()
}

/// The v3 `token` object; `catalog` is given for project-scoped tokens only.
pub fn v3_token(c: &Claims, catalog: Option<Arc<RawValue>>) -> WithCatalog {
    let domain = json!({"id": DEFAULT_DOMAIN_ID, "name": DEFAULT_DOMAIN_NAME});
    let mut t = json!({
        "methods": v3_methods(c),
        "user": {"domain": domain, "id": c.user_id, "name": c.user_name, "password_expires_at": null},
        "audit_ids": [derive::audit_id(&c.id)],
        "expires_at": iso_micros(c.expires_at()),
        "issued_at": iso_micros(c.issued_at()),
    });
    if !c.tenant_id.is_empty() {
        t["project"] = json!({"domain": domain, "id": c.tenant_id, "name": c.tenant_name});
        t["is_domain"] = json!(false);
        t["roles"] = Value::Array(
            c.roles
                .iter()
                .map(|n| json!({"id": derive::role_id(n), "name": n}))
                .collect(),
        );
        return WithCatalog::new(t, "catalog", catalog);
    }
    WithCatalog::new(t, "catalog", None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn claims(tenant: &str) -> Claims {
        Claims {
            id: "abc".into(),
            tenant_id: tenant.into(),
            tenant_name: tenant.into(),
            user_id: "u1".into(),
            user_name: "joe".into(),
            roles: vec!["identity:user-admin".into(), "compute:default".into()],
            methods: vec!["APIKEY".into()],
            iat: 1_000,
            exp: 87_400,
            never_expires: false,
            impersonator: None,
        }
    }

    #[test]
    fn v2_expires_has_milliseconds_and_a_literal_z() {
        let t = Utc.timestamp_opt(1_433_521_497, 637_000_000).unwrap();
        assert_eq!(v2_time(t), "2015-06-05T16:24:57.637Z");
        for (secs, nanos) in [
            (0, 0),
            (1_433_521_497, 999_999_999),
            (253_402_300_799, 5_000_000),
        ] {
            let t = Utc.timestamp_opt(secs, nanos).unwrap();
            assert_eq!(v2_time(t), t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string());
        }
        assert_eq!(
            v2_token("t", &claims("1")).expires,
            "1970-01-02T00:16:40.000Z"
        );
    }

    #[test]
    fn unscoped_tokens_have_no_tenant_and_global_roles_no_tenant_id() {
        assert!(v2_token("t", &claims("")).tenant.is_none());
        let roles = serde_json::to_value(v2_roles(&claims("42"))).unwrap();
        assert!(roles[0].get("tenantId").is_none());
        assert_eq!(roles[1]["tenantId"], "42");
        assert_eq!(roles[0]["id"], "3");
    }

    #[test]
    fn v3_tokens_have_a_project_only_when_scoped() {
        let as_value = |t: WithCatalog| serde_json::to_value(t).unwrap();
        let scoped = as_value(v3_token(&claims("42"), Some(no_catalog())));
        assert_eq!(scoped["catalog"], json!([]));
        assert_eq!(scoped["project"]["id"], "42");
        assert_eq!(scoped["methods"], json!(["password"]));
        assert_eq!(scoped["expires_at"], "1970-01-02T00:16:40.000000Z");
        let unscoped = as_value(v3_token(&claims(""), Some(no_catalog())));
        for key in ["project", "catalog", "roles"] {
            assert!(unscoped.get(key).is_none(), "unscoped has no {key}");
        }
    }
}
