//! Keystone v2.0 `POST /tokens` bodies, parsed by hand so each missing piece gets the
//! text Rackspace answers (the body is lenient: JSON nulls and numbers for ids pass).

use serde_json::{Map, Value};

/// Rackspace's text for a body it cannot read as an authentication request.
pub const UNPARSABLE: &str =
    "Invalid request body: unable to parse Auth data. Please review XML or JSON formatting.";

/// Rackspace's text when a request names the tenant twice.
pub const BOTH_TENANTS: &str = "Invalid request. Specify tenantId OR tenantName, not both.";

/// What proves who the caller is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// `passwordCredentials` with `username` (or keystoneauth's `userId`).
    Password { user: UserRef, password: String },
    /// `RAX-KSKEY:apiKeyCredentials`.
    ApiKey { username: String, api_key: String },
    /// `token.id`: an existing token.
    Token { id: String },
}

/// A user named by name or by id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserRef {
    Name(String),
    Id(String),
}

/// The tenant a request asks to be scoped to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TenantRef {
    Id(String),
    Name(String),
}

impl TenantRef {
    pub fn as_str(&self) -> &str {
        match self {
            TenantRef::Id(s) | TenantRef::Name(s) => s,
        }
    }
}

/// A parsed `POST /v2.0/tokens` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthRequest {
    pub credential: Credential,
    pub tenant: Option<TenantRef>,
}

/// How a user proved who they are: the values of `RAX-AUTH:authenticatedBy` (a token's
/// `methods`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    Password,
    ApiKey,
    Token,
    /// A token made by `RAX-AUTH/impersonation-tokens`.
    Impersonate,
}

impl AuthMethod {
    const ALL: [AuthMethod; 4] = [
        AuthMethod::Password,
        AuthMethod::ApiKey,
        AuthMethod::Token,
        AuthMethod::Impersonate,
    ];

    /// Rackspace's spelling, as v2.0 shows it and a token records it.
    pub const fn as_str(self) -> &'static str {
        match self {
            AuthMethod::Password => "PASSWORD",
            AuthMethod::ApiKey => "APIKEY",
            AuthMethod::Token => "TOKEN",
            AuthMethod::Impersonate => "IMPERSONATE",
        }
    }

    /// The method a token records under Rackspace's spelling, if it is one of these.
    pub fn parse(s: &str) -> Option<AuthMethod> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }

    /// Keystone v3's name: an API key is a password there.
    pub const fn v3_name(self) -> &'static str {
        match self {
            AuthMethod::Password | AuthMethod::ApiKey => "password",
            AuthMethod::Token => "token",
            AuthMethod::Impersonate => "impersonate",
        }
    }
}

impl Credential {
    /// Rackspace's `RAX-AUTH:authenticatedBy` value for this credential.
    pub fn method(&self) -> AuthMethod {
        match self {
            Credential::Password { .. } => AuthMethod::Password,
            Credential::ApiKey { .. } => AuthMethod::ApiKey,
            Credential::Token { .. } => AuthMethod::Token,
        }
    }
}

/// Why a body is refused; the text is the one the API answers with a 400.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CredentialError(pub String);

fn err(message: &str) -> CredentialError {
    CredentialError(message.to_string())
}

/// Why a text field of an authentication body is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldProblem {
    /// A number, an object, a list: Keystone wants a string.
    NotText,
    /// Control or bidirectional-formatting characters in a name or id.
    ControlCharacters,
    /// A name or id longer than Keystone stores.
    TooLong,
}

/// The longest user or tenant name or id Keystone stores (its columns hold 255).
pub const MAX_NAME: usize = 255;

/// What makes `s` no name or id a user or tenant could have: control or
/// bidirectional-formatting characters, or more than [`MAX_NAME`] characters.
pub fn name_problem(s: &str) -> Option<FieldProblem> {
    if has_control_characters(s) {
        Some(FieldProblem::ControlCharacters)
    } else if s.chars().count() > MAX_NAME {
        Some(FieldProblem::TooLong)
    } else {
        None
    }
}

/// A string field of an authentication body (v2.0 and v3 alike): absent, null or empty
/// is `None`; a name or id (`is_name`) must also be at most [`MAX_NAME`] characters
/// without control or bidirectional-formatting characters.
pub fn text_field(
    obj: &Map<String, Value>,
    key: &str,
    is_name: bool,
) -> Result<Option<String>, FieldProblem> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => match name_problem(s).filter(|_| is_name) {
            Some(p) => Err(p),
            None => Ok(Some(s.clone())),
        },
        Some(_) => Err(FieldProblem::NotText),
    }
}

/// v2.0's texts for a refused field.
fn v2_problem(key: &str, p: FieldProblem) -> CredentialError {
    match p {
        FieldProblem::NotText => err(UNPARSABLE),
        FieldProblem::ControlCharacters => CredentialError(control_characters(key)),
        FieldProblem::TooLong => CredentialError(too_long(key)),
    }
}

/// A v2.0 string field (a password, a key, a token id).
fn string(obj: &Map<String, Value>, key: &str) -> Result<Option<String>, CredentialError> {
    text_field(obj, key, false).map_err(|p| v2_problem(key, p))
}

/// A v2.0 user or tenant name or id.
fn name(obj: &Map<String, Value>, key: &str) -> Result<Option<String>, CredentialError> {
    text_field(obj, key, true).map_err(|p| v2_problem(key, p))
}

pub use common::has_control_characters;

/// Our text (Rackspace's is not known) for a name with control characters.
pub fn control_characters(key: &str) -> String {
    format!("Invalid request. {key} must not contain control characters.")
}

/// Our text for a name longer than Keystone stores.
pub fn too_long(key: &str) -> String {
    format!("Invalid request. {key} must be at most {MAX_NAME} characters.")
}

impl AuthRequest {
    pub fn parse(body: &[u8]) -> Result<AuthRequest, CredentialError> {
        let value: Value = serde_json::from_slice(body).map_err(|_| err(UNPARSABLE))?;
        Self::from_value(&value)
    }

    pub fn from_value(value: &Value) -> Result<AuthRequest, CredentialError> {
        let auth = value
            .get("auth")
            .and_then(Value::as_object)
            .ok_or_else(|| err(UNPARSABLE))?;
        let tenant = match (name(auth, "tenantId")?, name(auth, "tenantName")?) {
            (Some(_), Some(_)) => return Err(err(BOTH_TENANTS)),
            (Some(id), None) => Some(TenantRef::Id(id)),
            (None, Some(name)) => Some(TenantRef::Name(name)),
            (None, None) => None,
        };
        let object = |key: &str| auth.get(key).and_then(Value::as_object);
        let credential = if let Some(c) = object("passwordCredentials") {
            let user = match (name(c, "username")?, name(c, "userId")?) {
                (Some(name), _) => UserRef::Name(name),
                (None, Some(id)) => UserRef::Id(id),
                (None, None) => return Err(err("Expecting username")),
            };
            let password = string(c, "password")?.ok_or_else(|| err("Expecting password"))?;
            Credential::Password { user, password }
        } else if let Some(c) = object("RAX-KSKEY:apiKeyCredentials") {
            let username = name(c, "username")?.ok_or_else(|| err("Expecting username"))?;
            let api_key = string(c, "apiKey")?.ok_or_else(|| err("Expecting apiKey"))?;
            Credential::ApiKey { username, api_key }
        } else if let Some(c) = object("token") {
            let id = string(c, "id")?.ok_or_else(|| err("Expecting token"))?;
            Credential::Token { id }
        } else {
            return Err(err(UNPARSABLE));
        };
        Ok(AuthRequest { credential, tenant })
    }
}

/// Lifetime of an impersonation token when the request names none (Mimic's default).
pub const DEFAULT_IMPERSONATION_S: i64 = 86_400;

/// A parsed `POST /v2.0/RAX-AUTH/impersonation-tokens` body: whom to impersonate, for
/// how long.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImpersonationRequest {
    pub username: String,
    /// `expire-in-seconds`, or [`DEFAULT_IMPERSONATION_S`].
    pub lifetime_s: i64,
}

impl ImpersonationRequest {
    pub fn parse(body: &[u8]) -> Result<ImpersonationRequest, CredentialError> {
        let value: Value = serde_json::from_slice(body).map_err(|_| err(UNPARSABLE))?;
        let imp = value
            .get("RAX-AUTH:impersonation")
            .and_then(Value::as_object)
            .ok_or_else(|| err(UNPARSABLE))?;
        let username = imp
            .get("user")
            .and_then(|u| u.get("username"))
            .and_then(Value::as_str)
            .filter(|u| !u.is_empty())
            .ok_or_else(|| err("Expecting username"))?;
        if let Some(p) = name_problem(username) {
            return Err(v2_problem("username", p));
        }
        let lifetime_s = match imp.get("expire-in-seconds") {
            None | Some(Value::Null) => DEFAULT_IMPERSONATION_S,
            Some(v) => v
                .as_i64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                .filter(|n| *n > 0)
                .ok_or_else(|| err("expire-in-seconds must be a positive whole number"))?,
        };
        Ok(ImpersonationRequest {
            username: username.to_string(),
            lifetime_s,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: Value) -> Result<AuthRequest, CredentialError> {
        AuthRequest::from_value(&v)
    }

    #[test]
    fn each_credential_type_parses_with_its_tenant() {
        assert_eq!(
            parse(json!({"auth": {"passwordCredentials": {"username": "joe", "password": "p"}}})),
            Ok(AuthRequest {
                credential: Credential::Password {
                    user: UserRef::Name("joe".into()),
                    password: "p".into()
                },
                tenant: None
            })
        );
        assert_eq!(
            parse(
                json!({"auth": {"RAX-KSKEY:apiKeyCredentials": {"username": "joe", "apiKey": "k"},
                "tenantId": "1100111"}})
            ),
            Ok(AuthRequest {
                credential: Credential::ApiKey {
                    username: "joe".into(),
                    api_key: "k".into()
                },
                tenant: Some(TenantRef::Id("1100111".into()))
            })
        );
        assert_eq!(
            parse(json!({"auth": {"token": {"id": "t"}, "tenantName": "demo"}})),
            Ok(AuthRequest {
                credential: Credential::Token { id: "t".into() },
                tenant: Some(TenantRef::Name("demo".into()))
            })
        );
    }

    #[test]
    fn keystoneauth_user_ids_are_accepted() {
        let r = parse(
            json!({"auth": {"passwordCredentials": {"userId": "u1", "password": "p"},
            "tenantId": "123456"}}),
        )
        .unwrap();
        assert_eq!(
            r.credential,
            Credential::Password {
                user: UserRef::Id("u1".into()),
                password: "p".into()
            }
        );
        assert_eq!(r.tenant, Some(TenantRef::Id("123456".into())));
    }

    #[test]
    fn numbers_where_keystone_wants_strings_are_refused() {
        for body in [
            json!({"auth": {"passwordCredentials": {"username": 1, "password": "p"}}}),
            json!({"auth": {"passwordCredentials": {"username": "joe", "password": 1}}}),
            json!({"auth": {"passwordCredentials": {"username": "joe", "password": "p"}, "tenantId": 123456}}),
            json!({"auth": {"RAX-KSKEY:apiKeyCredentials": {"username": "joe", "apiKey": []}}}),
        ] {
            assert_eq!(parse(body.clone()), Err(err(UNPARSABLE)), "{body}");
        }
    }

    #[test]
    fn names_longer_than_keystone_stores_are_refused() {
        let long = "x".repeat(MAX_NAME + 1);
        let body = json!({"auth": {"passwordCredentials": {"username": long, "password": "p"}}});
        assert_eq!(parse(body), Err(CredentialError(too_long("username"))));
    }

    #[test]
    fn names_with_control_characters_are_refused() {
        for (body, key) in [
            (
                json!({"auth": {"passwordCredentials": {"username": "jo\u{0}e", "password": "p"}}}),
                "username",
            ),
            (
                json!({"auth": {"passwordCredentials": {"username": "joe", "password": "p"}, "tenantName": "a\nb"}}),
                "tenantName",
            ),
            (
                json!({"auth": {"RAX-KSKEY:apiKeyCredentials": {"username": "\u{1b}[31m", "apiKey": "k"}}}),
                "username",
            ),
            (
                json!({"auth": {"passwordCredentials": {"username": "evil\u{202e}gnp.exe", "password": "p"}}}),
                "username",
            ),
        ] {
            assert_eq!(
                parse(body.clone()),
                Err(CredentialError(control_characters(key))),
                "{body}"
            );
        }
    }

    #[test]
    fn nulls_and_empty_tenants_count_as_absent() {
        let r = parse(
            json!({"auth": {"passwordCredentials": {"username": "joe", "password": "p"},
            "tenantId": null, "tenantName": ""}}),
        )
        .unwrap();
        assert_eq!(r.tenant, None);
    }

    #[test]
    fn malformed_bodies_get_rackspace_texts() {
        let cases = [
            (json!({}), UNPARSABLE, "no auth"),
            (json!({"auth": []}), UNPARSABLE, "auth not an object"),
            (json!({"auth": {}}), UNPARSABLE, "no credentials"),
            (
                json!({"auth": {"secretCredentials": {"username": "joe"}}}),
                UNPARSABLE,
                "unknown credential type",
            ),
            (
                json!({"auth": {"passwordCredentials": {"password": "p"}}}),
                "Expecting username",
                "no username",
            ),
            (
                json!({"auth": {"passwordCredentials": {"username": "joe", "password": null}}}),
                "Expecting password",
                "null password",
            ),
            (
                json!({"auth": {"RAX-KSKEY:apiKeyCredentials": {"username": "joe"}}}),
                "Expecting apiKey",
                "no api key",
            ),
            (
                json!({"auth": {"token": {}}}),
                "Expecting token",
                "no token id",
            ),
            (
                json!({"auth": {"token": {"id": "t"}, "tenantId": "1", "tenantName": "n"}}),
                BOTH_TENANTS,
                "both tenants",
            ),
        ];
        for (body, text, why) in cases {
            assert_eq!(parse(body), Err(CredentialError(text.into())), "{why}");
        }
        assert_eq!(
            AuthRequest::parse(b"{not json"),
            Err(CredentialError(UNPARSABLE.into()))
        );
    }

    #[test]
    fn impersonation_bodies_name_a_user_and_maybe_a_lifetime() {
        let parse = |v: Value| ImpersonationRequest::parse(v.to_string().as_bytes());
        assert_eq!(
            parse(json!({"RAX-AUTH:impersonation": {"user": {"username": "joe"}}})),
            Ok(ImpersonationRequest {
                username: "joe".into(),
                lifetime_s: DEFAULT_IMPERSONATION_S
            })
        );
        assert_eq!(
            parse(
                json!({"RAX-AUTH:impersonation": {"user": {"username": "joe"}, "expire-in-seconds": "60"}})
            )
            .map(|r| r.lifetime_s),
            Ok(60)
        );
        for (body, text) in [
            (json!({}), UNPARSABLE.to_string()),
            (
                json!({"RAX-AUTH:impersonation": {"user": {"username": ""}}}),
                "Expecting username".to_string(),
            ),
            (
                json!({"RAX-AUTH:impersonation": {"user": {"username": "a\nb"}}}),
                control_characters("username"),
            ),
            (
                json!({"RAX-AUTH:impersonation": {"user": {"username": "joe"}, "expire-in-seconds": 0}}),
                "expire-in-seconds must be a positive whole number".to_string(),
            ),
        ] {
            assert_eq!(parse(body.clone()), Err(CredentialError(text)), "{body}");
        }
        assert_eq!(
            ImpersonationRequest::parse(b"{"),
            Err(CredentialError(UNPARSABLE.into()))
        );
    }

    #[test]
    fn auth_methods_keep_rackspace_and_keystone_spellings() {
        for m in AuthMethod::ALL {
            assert_eq!(AuthMethod::parse(m.as_str()), Some(m));
        }
        assert_eq!(AuthMethod::parse("password"), None, "v2 spellings only");
        assert_eq!(AuthMethod::ApiKey.v3_name(), "password");
        assert_eq!(
            Credential::Token { id: "t".into() }.method().as_str(),
            "TOKEN"
        );
    }
}
