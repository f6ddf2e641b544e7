//! Mimic's identity `auth` behaviours: the event suites register `fail` behaviours for,
//! and the [`Failure`] a chosen behaviour injects into an authentication.

use actix_web::http::StatusCode;
use serde_json::Value;

use common::behaviors::{Attribute, Event};

/// Mimic's identity `auth` event.
pub const AUTH_EVENT: Event = Event {
    name: "auth",
    text_criteria: &["username", "tenant_id"],
    map_criteria: &[],
    behaviors: &["fail"],
};

/// The one behaviour of [`AUTH_EVENT`].
pub const FAIL: &str = "fail";

const DEFAULT_FAIL_MESSAGE: &str = "Unable to authenticate user with credentials provided.";

/// What an authentication is matched on: `username` and `tenant_id`. An absent one (an
/// auth without a tenant) simply does not match.
pub fn auth_attribute<'a>(
    username: Option<&'a str>,
    tenant_id: Option<&'a str>,
    criterion: &str,
) -> Attribute<'a> {
    let v = match criterion {
        "username" => username,
        "tenant_id" => tenant_id,
        _ => None,
    };
    v.map(Attribute::Text).unwrap_or(Attribute::Absent)
}

/// An injected authentication failure: Mimic's `fail` behaviour.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub status: StatusCode,
    /// The fault name the body is wrapped in; `"string"` answers the bare message.
    pub kind: String,
    pub message: String,
}

impl Failure {
    /// The failure a `fail` behaviour's parameters describe (`code`, `type`, `message`),
    /// with Mimic's defaults.
    pub fn from_parameters(p: &Value) -> Failure {
        let status = p
            .get("code")
            .and_then(Value::as_u64)
            .and_then(|c| u16::try_from(c).ok())
            .and_then(|c| StatusCode::from_u16(c).ok())
            .unwrap_or(StatusCode::UNAUTHORIZED);
        let text = |key: &str, default: &str| {
            p.get(key)
                .and_then(Value::as_str)
                .unwrap_or(default)
                .to_string()
        };
        Failure {
            status,
            kind: text("type", "unauthorized"),
            message: text("message", DEFAULT_FAIL_MESSAGE),
        }
    }

    /// Whether the body is the bare message (`"type": "string"`).
    pub fn is_bare(&self) -> bool {
        self.kind == "string"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fail_parameters_default_to_mimics() {
        assert_eq!(
            Failure::from_parameters(&json!({})),
            Failure {
                status: StatusCode::UNAUTHORIZED,
                kind: "unauthorized".into(),
                message: DEFAULT_FAIL_MESSAGE.into()
            }
        );
        let f = Failure::from_parameters(
            &json!({"code": 500, "message": "boom", "type": "identityFault"}),
        );
        assert_eq!(f.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(f.kind, "identityFault");
        assert_eq!(
            Failure::from_parameters(&json!({"code": 7})).status,
            StatusCode::UNAUTHORIZED,
            "an impossible status falls back to 401"
        );
    }
}
