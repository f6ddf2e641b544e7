//! What handlers read from a request: who it is for ([`Tenant`]: the region, from the path
//! or the default; the checked caller; the base of every link the answer carries, built
//! from the request's Host as Nova and Mimic do), the state they are given, bodies read as
//! Nova reads them, and path segments. Every route file may use it; it uses no route file.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{web, FromRequest, HttpRequest};
use common::auth::Caller;
use common::store::Scope;
use serde_json::Value;

use crate::error::{ComputeError, NOT_FOUND, UNAUTHORIZED};
use crate::state::ComputeState;

pub(crate) type State = web::Data<ComputeState>;

/// A checked caller of a tenant's routes in one region.
pub struct Tenant {
    pub scope: Scope,
    pub caller: Caller,
    pub links: Links,
}

/// Builds the links of one answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Links {
    /// `scheme://host`.
    pub origin: String,
    /// `scheme://host[/REGION]`: what comes before `/v2/{tenant}`.
    pub root: String,
    pub tenant: String,
}

impl Links {
    pub fn from_request(req: &HttpRequest, tenant: &str) -> Links {
        let origin = common::request_origin(req);
        let root = match req.match_info().get("region") {
            Some(r) => format!("{origin}/{r}"),
            None => origin.clone(),
        };
        Links {
            origin,
            root,
            tenant: tenant.to_string(),
        }
    }

    /// `{root}/v2/{tenant}/{path}`.
    pub fn versioned(&self, path: &str) -> String {
        format!("{}/v2/{}/{path}", self.root, self.tenant)
    }

    /// `{root}/{tenant}/{path}`: Nova's bookmark, the versioned link without `/v2`.
    pub fn bookmark(&self, path: &str) -> String {
        format!("{}/{}/{path}", self.root, self.tenant)
    }
}

/// The region a request is about: its `{region}` segment (which must be served) or the
/// default region. Unknown regions are Nova's 404.
pub fn region_of(req: &HttpRequest, state: &ComputeState) -> Result<String, ComputeError> {
    match req.match_info().get("region") {
        None => Ok(state.settings.default_region.clone()),
        Some(r) => {
            let upper = r.to_uppercase();
            if state.settings.regions.contains(&upper) {
                Ok(upper)
            } else {
                Err(ComputeError::not_found(NOT_FOUND))
            }
        }
    }
}

impl FromRequest for Tenant {
    type Error = ComputeError;
    type Future = Pin<Box<dyn Future<Output = Result<Tenant, ComputeError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = req
                .app_data::<web::Data<ComputeState>>()
                .cloned()
                .ok_or_else(|| {
                    ComputeError::new(StatusCode::INTERNAL_SERVER_ERROR, crate::error::INTERNAL)
                })?;
            let region = region_of(&req, &state)?;
            let caller = Caller::from_request(&req, &mut Payload::None)
                .await
                .map_err(|e| {
                    if e.status() == StatusCode::UNAUTHORIZED {
                        ComputeError::new(StatusCode::UNAUTHORIZED, UNAUTHORIZED)
                    } else {
                        ComputeError::Api(e)
                    }
                })?;
            let tenant = req
                .match_info()
                .get("tenant_id")
                .unwrap_or(&caller.tenant_id)
                .to_string();
            Ok(Tenant {
                scope: Scope::new(tenant.clone(), region),
                links: Links::from_request(&req, &tenant),
                caller,
            })
        })
    }
}

impl Tenant {
    /// The user id servers and key pairs record: the token's, or the configured default.
    pub fn user_id(&self, state: &ComputeState) -> String {
        if self.caller.user_id.is_empty() {
            state.settings.default_user_id.clone()
        } else {
            self.caller.user_id.clone()
        }
    }
}

/// Parses a request body that must be an object wrapping `key`: no body is Nova's 422,
/// bad JSON its 400, a body without the `key` object 422.
pub(crate) fn wrapped_body<'a>(
    parsed: &'a Option<Value>,
    key: &str,
) -> Result<&'a serde_json::Map<String, Value>, ComputeError> {
    parsed
        .as_ref()
        .and_then(|v| v.get(key))
        .and_then(Value::as_object)
        .ok_or_else(ComputeError::unprocessable)
}

/// The body as JSON; `None` when empty; 400 "Malformed request body" when not JSON.
pub(crate) fn parse_json(bytes: &[u8]) -> Result<Option<Value>, ComputeError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    serde_json::from_slice(bytes)
        .map(Some)
        .map_err(|_| ComputeError::bad_request("Malformed request body"))
}

/// A named path segment (`server_id`, `key`, ...), decoded.
pub(crate) fn seg(req: &HttpRequest, name: &str) -> String {
    req.match_info().get(name).unwrap_or_default().to_string()
}

/// True when `s` has the shape of a UUID (Nova's `uuidutils.is_uuid_like`).
pub(crate) fn uuid_like(s: &str) -> bool {
    uuid::Uuid::parse_str(s).is_ok()
}
