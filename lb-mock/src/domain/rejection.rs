//! Why a rule refuses a request, in CLB's terms. `error` turns each kind into CLB's answer
//! (status and body); nothing here knows HTTP.

/// A refusal by one of the domain's rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// The body does not match the expected schema (a value of the wrong JSON type, an
    /// unknown enumeration value).
    Schema,
    /// A Validation Failure: every message, in CLB's rule order.
    Validation(Vec<String>),
    /// A plain refusal of what was asked.
    BadRequest(String),
    /// Something the request names does not exist.
    NotFound(String),
    /// A limit would be exceeded (CLB answers these with 413).
    OverLimit(String),
    /// The balancer's state does not allow it now (CLB's 422).
    Unprocessable(String),
}

impl Rejection {
    pub fn validation_one(message: impl Into<String>) -> Rejection {
        Rejection::Validation(vec![message.into()])
    }
    pub fn bad_request(message: impl Into<String>) -> Rejection {
        Rejection::BadRequest(message.into())
    }
    pub fn not_found(message: impl Into<String>) -> Rejection {
        Rejection::NotFound(message.into())
    }
    pub fn unprocessable(message: impl Into<String>) -> Rejection {
        Rejection::Unprocessable(message.into())
    }
}
