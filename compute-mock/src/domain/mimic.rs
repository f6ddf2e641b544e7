//! Mimic's ways to steer server creation: registered `creation` behaviours and the
//! metadata keys `create_server_failure`, `server_building`, `server_error` and
//! `delete_server_failure`, read into one [`Creation`] plan.

use common::behaviors::Event;
use serde_json::Value;

use super::server::Metadata;

/// Mimic's compute `creation` event.
pub const CREATION: Event = Event {
    name: "creation",
    text_criteria: &["server_name"],
    map_criteria: &["metadata"],
    behaviors: &[
        "fail",
        "false-negative",
        "build",
        "error",
        "active-then-error",
    ],
};

/// An injected error answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub code: u16,
    /// Nova fault name; `"string"` answers the message as the raw body.
    pub kind: String,
    pub message: String,
}

/// What a create should do instead of (or besides) the default.
#[derive(Debug, Clone, PartialEq)]
pub enum Creation {
    Default,
    /// Answer the error; create nothing.
    Fail(Failure),
    /// Create the server, then answer the error anyway.
    FalseNegative(Failure),
    Build {
        seconds: f64,
    },
    Error,
    ActiveThenError {
        seconds: f64,
    },
}

const DEFAULT_MESSAGE: &str =
    "The server has either erred or is incapable of performing the requested operation";

fn failure(p: &Value) -> Failure {
    Failure {
        code: p
            .get("code")
            .and_then(Value::as_u64)
            .and_then(|c| u16::try_from(c).ok())
            .filter(|c| (100..=599).contains(c))
            .unwrap_or(500),
        kind: p
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("computeFault")
            .to_string(),
        message: p
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or(DEFAULT_MESSAGE)
            .to_string(),
    }
}

fn seconds(p: &Value) -> f64 {
    p.get("duration")
        .and_then(|d| {
            d.as_f64()
                .or_else(|| d.as_str().and_then(|s| s.parse().ok()))
        })
        .filter(|d| d.is_finite() && *d >= 0.0)
        .unwrap_or(0.0)
}

/// The plan for a registered behaviour chosen by `common::behaviors`.
pub fn from_behavior(name: &str, parameters: &Value) -> Creation {
    match name {
        "fail" => Creation::Fail(failure(parameters)),
        "false-negative" => Creation::FalseNegative(failure(parameters)),
        "build" => Creation::Build {
            seconds: seconds(parameters),
        },
        "error" => Creation::Error,
        "active-then-error" => Creation::ActiveThenError {
            seconds: seconds(parameters),
        },
        _ => Creation::Default,
    }
}

/// The plan the metadata keys ask for, checked before registered behaviours; the first
/// of `create_server_failure`, `server_building`, `server_error` wins.
pub fn from_metadata(metadata: &Metadata) -> Result<Option<Creation>, String> {
    if let Some(v) = metadata.get("create_server_failure") {
        let p: Value = serde_json::from_str(v).map_err(|_| {
            "create_server_failure must be a JSON object with message and code".to_string()
        })?;
        if !p.is_object() {
            return Err("create_server_failure must be a JSON object with message and code".into());
        }
        return Ok(Some(Creation::Fail(failure(&p))));
    }
    if let Some(v) = metadata.get("server_building") {
        let s: f64 = v
            .trim()
            .parse()
            .ok()
            .filter(|s: &f64| s.is_finite() && *s >= 0.0)
            .ok_or_else(|| "server_building must be a number of seconds".to_string())?;
        return Ok(Some(Creation::Build { seconds: s }));
    }
    if metadata.contains_key("server_error") {
        return Ok(Some(Creation::Error));
    }
    Ok(None)
}

/// `delete_server_failure`: `{"code": N, "times": M}`: the next M deletes answer N.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeleteFailure {
    pub code: u16,
    pub times: u64,
}

pub const DELETE_FAILURE_KEY: &str = "delete_server_failure";

pub fn parse_delete_failure(v: &str) -> Option<DeleteFailure> {
    let p: Value = serde_json::from_str(v).ok()?;
    Some(DeleteFailure {
        code: p
            .get("code")
            .and_then(Value::as_u64)
            .and_then(|c| u16::try_from(c).ok())
            .filter(|c| (100..=599).contains(c))
            .unwrap_or(500),
        times: p.get("times").and_then(Value::as_u64).unwrap_or(1),
    })
}

impl DeleteFailure {
    /// The value written back after one failure was used up.
    pub fn to_value(self) -> String {
        serde_json::json!({"code": self.code, "times": self.times}).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn md(k: &str, v: &str) -> Metadata {
        [(k.to_string(), v.to_string())].into()
    }

    #[test]
    fn fail_parameters_default_like_mimic() {
        assert_eq!(
            from_behavior("fail", &json!({})),
            Creation::Fail(Failure {
                code: 500,
                kind: "computeFault".into(),
                message: DEFAULT_MESSAGE.into()
            })
        );
        assert_eq!(
            from_behavior("build", &json!({"duration": 90})),
            Creation::Build { seconds: 90.0 }
        );
    }

    #[test]
    fn metadata_keys_are_read_in_mimics_precedence() {
        let mut m = md("server_error", "1");
        m.insert("server_building".into(), "30".into());
        assert_eq!(
            from_metadata(&m),
            Ok(Some(Creation::Build { seconds: 30.0 }))
        );
        m.insert(
            "create_server_failure".into(),
            r#"{"message": "boom", "code": 503}"#.into(),
        );
        assert!(matches!(
            from_metadata(&m),
            Ok(Some(Creation::Fail(Failure { code: 503, .. })))
        ));
        assert!(from_metadata(&md("server_building", "soon")).is_err());
        assert_eq!(from_metadata(&md("other", "x")), Ok(None));
    }

    #[test]
    fn delete_failures_keep_their_code_and_count() {
        let f = parse_delete_failure(r#"{"code": 503, "times": 2}"#).unwrap();
        assert_eq!(
            f,
            DeleteFailure {
                code: 503,
                times: 2
            }
        );
        assert!(parse_delete_failure("nope").is_none());
    }
}
