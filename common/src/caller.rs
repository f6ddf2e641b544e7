//! The [`Caller`] extractor of emulated routes: the token checked by the mock's
//! [`crate::auth::Authenticator`] (held by its [`ServiceContext`]), and the URL's tenant
//! matched against the token's, answered in the API's own error format.

use std::future::Future;
use std::pin::Pin;

use actix_web::http::StatusCode;
use actix_web::{dev::Payload, web, FromRequest, HttpRequest};

use crate::auth::{AuthFailure, Caller, UNAUTHORIZED_MESSAGE};
use crate::context::ServiceContext;
use crate::error::{ApiError, ErrorStyle};

/// Pulls the caller out of a request for emulated routes whose path has `{tenant_id}`.
/// A token whose tenant is not the URL's tenant is refused.
impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Caller, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let ctx = req.app_data::<web::Data<ServiceContext>>().cloned();
        let token = req
            .headers()
            .get("x-auth-token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let url_tenant = req.match_info().get("tenant_id").map(str::to_string);
        Box::pin(async move {
            let Some(ctx) = ctx else {
                return Err(ApiError::new(
                    ErrorStyle::CONTROL,
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "service context missing",
                ));
            };
            let unauthorized = || {
                ApiError::new(ctx.style, StatusCode::UNAUTHORIZED, UNAUTHORIZED_MESSAGE)
                    .kind("unauthorized")
            };
            let caller = match ctx
                .auth
                .validate(token.as_deref(), url_tenant.as_deref())
                .await
            {
                Ok(c) => c,
                Err(AuthFailure::Unreachable(why)) => {
                    tracing::warn!(%why, "token validation failed: identity unreachable");
                    return Err(unauthorized());
                }
                Err(_) => return Err(unauthorized()),
            };
            if let Some(t) = url_tenant {
                if t != caller.tenant_id {
                    return Err(ApiError::new(
                        ctx.style,
                        StatusCode::UNAUTHORIZED,
                        format!("Token doesn't belong to Tenant with Id/Name: '{t}'"),
                    )
                    .kind("unauthorized"));
                }
            }
            Ok(caller)
        })
    }
}
