//! Keystone v3 `POST /auth/tokens` bodies, parsed by hand into what to check and how to
//! scope, with keystone's own 400 texts.

use serde_json::{Map, Value};

use super::credentials::{text_field, AuthMethod, FieldProblem, MAX_NAME};

/// The domain every user and project of this mock lives in.
pub const DEFAULT_DOMAIN_ID: &str = "default";
pub const DEFAULT_DOMAIN_NAME: &str = "Default";

/// A parsed v3 authentication request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V3AuthRequest {
    pub identity: V3Identity,
    pub scope: V3Scope,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum V3Identity {
    Password { user: V3User, password: String },
    Token { id: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum V3User {
    Id(String),
    Name { name: String, domain: DomainRef },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DomainRef {
    Id(String),
    Name(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum V3Scope {
    /// No `scope`: keystone scopes to the user's default project.
    Default,
    Unscoped,
    ProjectId(String),
    ProjectName {
        name: String,
        domain: DomainRef,
    },
    Domain(DomainRef),
    /// `system` or `OS-TRUST:trust`: valid keystone, not offered by this mock.
    Unsupported(&'static str),
}

/// Why a v3 body is refused: 400 for malformed bodies, 401 for unusable methods.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct V3ParseError {
    pub status: u16,
    pub message: String,
}

/// Keystone's `ValidationError` text.
pub fn expecting(attribute: &str, target: &str) -> String {
    format!(
        "Expecting to find {attribute} in {target}. The server could not comply with the \
         request since it is either malformed or otherwise incorrect. The client is assumed \
         to be in error."
    )
}

fn bad(message: String) -> V3ParseError {
    V3ParseError {
        status: 400,
        message,
    }
}

fn missing(attribute: &str, target: &str) -> V3ParseError {
    bad(expecting(attribute, target))
}

fn id_or_name(field: &str) -> V3ParseError {
    bad(format!(
        "Invalid input for field {field}: id or name must be present."
    ))
}

/// A string field of a v3 body at `path` (names and ids also checked as names), with
/// Keystone's validation texts (the control-character one is ours).
fn text(obj: &Map<String, Value>, key: &str, path: &str) -> Result<Option<String>, V3ParseError> {
    // Passwords and token ids are secrets, not names: any string will do.
    let is_name = key != "password" && path != "identity/token";
    text_field(obj, key, is_name).map_err(|p| {
        let field = format!("{path}/{key}");
        bad(match p {
            FieldProblem::NotText => {
                format!("Invalid input for field '{field}': the value is not of type 'string'")
            }
            FieldProblem::ControlCharacters => {
                format!("Invalid input for field '{field}': control characters are not allowed")
            }
            FieldProblem::TooLong => {
                format!("Invalid input for field '{field}': the value is longer than {MAX_NAME} characters")
            }
        })
    })
}

fn object<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Map<String, Value>> {
    obj.get(key).and_then(Value::as_object)
}

fn domain(obj: &Map<String, Value>, field: &str) -> Result<Option<DomainRef>, V3ParseError> {
    let Some(d) = obj.get("domain").filter(|d| !d.is_null()) else {
        return Ok(None);
    };
    let d = d.as_object().ok_or_else(|| id_or_name(field))?;
    match (text(d, "id", field)?, text(d, "name", field)?) {
        (Some(id), _) => Ok(Some(DomainRef::Id(id))),
        (None, Some(name)) => Ok(Some(DomainRef::Name(name))),
        (None, None) => Err(id_or_name(field)),
    }
}

impl V3AuthRequest {
    pub fn parse(body: &[u8]) -> Result<V3AuthRequest, V3ParseError> {
        let value: Value =
            serde_json::from_slice(body).map_err(|_| missing("valid JSON", "request body"))?;
        Self::from_value(&value)
    }

    pub fn from_value(value: &Value) -> Result<V3AuthRequest, V3ParseError> {
        let auth = value
            .get("auth")
            .and_then(Value::as_object)
            .ok_or_else(|| missing("auth", "request body"))?;
        let identity = object(auth, "identity").ok_or_else(|| missing("identity", "auth"))?;
        let methods: Vec<&str> = identity
            .get("methods")
            .and_then(Value::as_array)
            .map(|m| m.iter().filter_map(Value::as_str).collect())
            .filter(|m: &Vec<&str>| !m.is_empty())
            .ok_or_else(|| missing("methods", "identity"))?;
        let identity = if methods.contains(&AuthMethod::Password.v3_name()) {
            let p = object(identity, "password").ok_or_else(|| missing("password", "identity"))?;
            let u = object(p, "user").ok_or_else(|| missing("user", "password"))?;
            let path = "identity/password/user";
            let user = match (text(u, "id", path)?, text(u, "name", path)?) {
                (Some(id), _) => V3User::Id(id),
                (None, Some(name)) => V3User::Name {
                    name,
                    domain: domain(u, "identity/password/user/domain")?
                        .ok_or_else(|| missing("domain", "user"))?,
                },
                (None, None) => return Err(id_or_name("identity/password/user")),
            };
            let password = text(u, "password", path)?.ok_or_else(|| missing("password", "user"))?;
            V3Identity::Password { user, password }
        } else if methods.contains(&AuthMethod::Token.v3_name()) {
            let t = object(identity, "token").ok_or_else(|| missing("token", "identity"))?;
            V3Identity::Token {
                id: text(t, "id", "identity/token")?.ok_or_else(|| missing("id", "token"))?,
            }
        } else {
            return Err(V3ParseError {
                status: 401,
                message: "Attempted to authenticate with an unsupported method.".into(),
            });
        };
        Ok(V3AuthRequest {
            identity,
            scope: scope(auth.get("scope"))?,
        })
    }
}

fn scope(value: Option<&Value>) -> Result<V3Scope, V3ParseError> {
    let unknown = || {
        missing(
            "system, project, domain, OS-TRUST:trust or unscoped",
            "scope",
        )
    };
    let s = match value {
        None | Some(Value::Null) => return Ok(V3Scope::Default),
        Some(Value::String(s)) if s == "unscoped" => return Ok(V3Scope::Unscoped),
        Some(Value::Object(s)) => s,
        Some(_) => return Err(unknown()),
    };
    let kinds: Vec<&str> = ["project", "domain", "system", "OS-TRUST:trust"]
        .into_iter()
        .filter(|k| s.contains_key(*k))
        .collect();
    if kinds.len() > 1 {
        return Err(bad(format!(
            "Scoping to both {} and {} is not allowed",
            kinds[1], kinds[0]
        )));
    }
    match kinds.first().copied() {
        Some("project") => {
            let p = object(s, "project").ok_or_else(|| id_or_name("scope/project"))?;
            let path = "scope/project";
            match (text(p, "id", path)?, text(p, "name", path)?) {
                (Some(id), _) => Ok(V3Scope::ProjectId(id)),
                (None, Some(name)) => Ok(V3Scope::ProjectName {
                    name,
                    domain: domain(p, "scope/project/domain")?
                        .ok_or_else(|| missing("domain", "project"))?,
                }),
                (None, None) => Err(id_or_name("scope/project")),
            }
        }
        Some("domain") => {
            let d = object(s, "domain").ok_or_else(|| id_or_name("scope/domain"))?;
            let path = "scope/domain";
            match (text(d, "id", path)?, text(d, "name", path)?) {
                (Some(id), _) => Ok(V3Scope::Domain(DomainRef::Id(id))),
                (None, Some(name)) => Ok(V3Scope::Domain(DomainRef::Name(name))),
                (None, None) => Err(id_or_name("scope/domain")),
            }
        }
        Some("system") => Ok(V3Scope::Unsupported("system")),
        Some(_) => Ok(V3Scope::Unsupported("OS-TRUST:trust")),
        None if s.contains_key("unscoped") => Ok(V3Scope::Unscoped),
        None => Err(unknown()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: Value) -> Result<V3AuthRequest, V3ParseError> {
        V3AuthRequest::from_value(&v)
    }

    fn password(scope: Value) -> Value {
        json!({"auth": {"identity": {"methods": ["password"], "password": {"user":
            {"name": "admin", "domain": {"name": "Default"}, "password": "p"}}}, "scope": scope}})
    }

    #[test]
    fn password_by_name_and_domain_with_each_scope() {
        let cases = [
            (json!(null), V3Scope::Default),
            (json!("unscoped"), V3Scope::Unscoped),
            (json!({"unscoped": {}}), V3Scope::Unscoped),
            (
                json!({"project": {"id": "123"}}),
                V3Scope::ProjectId("123".into()),
            ),
            (
                json!({"project": {"name": "p", "domain": {"id": "default"}}}),
                V3Scope::ProjectName {
                    name: "p".into(),
                    domain: DomainRef::Id("default".into()),
                },
            ),
            (
                json!({"domain": {"name": "Default"}}),
                V3Scope::Domain(DomainRef::Name("Default".into())),
            ),
            (
                json!({"system": {"all": true}}),
                V3Scope::Unsupported("system"),
            ),
        ];
        for (scope, want) in cases {
            let r = parse(password(scope.clone())).unwrap();
            assert_eq!(r.scope, want, "scope {scope}");
            assert_eq!(
                r.identity,
                V3Identity::Password {
                    user: V3User::Name {
                        name: "admin".into(),
                        domain: DomainRef::Name("Default".into())
                    },
                    password: "p".into()
                }
            );
        }
    }

    #[test]
    fn user_by_id_and_token_method() {
        let r = parse(json!({"auth": {"identity": {"methods": ["password"],
            "password": {"user": {"id": "u1", "password": "p"}}}}}))
        .unwrap();
        assert_eq!(
            r.identity,
            V3Identity::Password {
                user: V3User::Id("u1".into()),
                password: "p".into()
            }
        );
        let r = parse(json!({"auth": {"identity": {"methods": ["token"], "token": {"id": "t"}}}}))
            .unwrap();
        assert_eq!(r.identity, V3Identity::Token { id: "t".into() });
    }

    #[test]
    fn malformed_bodies_get_keystone_texts() {
        let cases = [
            (json!({}), expecting("auth", "request body")),
            (json!({"auth": {}}), expecting("identity", "auth")),
            (
                json!({"auth": {"identity": {}}}),
                expecting("methods", "identity"),
            ),
            (
                json!({"auth": {"identity": {"methods": ["password"]}}}),
                expecting("password", "identity"),
            ),
            (
                json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "a", "password": "p"}}}}}),
                expecting("domain", "user"),
            ),
            (
                json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"password": "p"}}}}}),
                "Invalid input for field identity/password/user: id or name must be present."
                    .into(),
            ),
            (
                password(json!({"project": {"name": "p"}})),
                expecting("domain", "project"),
            ),
            (
                password(json!({"galaxy": {}})),
                expecting(
                    "system, project, domain, OS-TRUST:trust or unscoped",
                    "scope",
                ),
            ),
            (
                password(json!({"project": {"id": "1"}, "domain": {"id": "d"}})),
                "Scoping to both domain and project is not allowed".into(),
            ),
        ];
        for (body, text) in cases {
            let e = parse(body.clone()).unwrap_err();
            assert_eq!((e.status, e.message), (400, text), "body {body}");
        }
        assert_eq!(
            V3AuthRequest::parse(b"[").unwrap_err().message,
            expecting("valid JSON", "request body")
        );
        assert_eq!(
            parse(json!({"auth": {"identity": {"methods": ["totp"]}}}))
                .unwrap_err()
                .status,
            401
        );
    }
}
