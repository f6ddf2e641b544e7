//! What handlers read from a request (a header, a query parameter,
//! the caller's token, the URL the client used) and strict mode's guard of the lookup
//! routes. Every route file may use it; it uses no route file.

use std::collections::HashMap;

use actix_web::{web, HttpRequest};

use common::auth::UNAUTHORIZED_MESSAGE;
use common::context::ServiceContext;
use common::token::Claims;

use crate::error::IdentityError;
use crate::state::IdentityState;

pub(crate) type Ctx = web::Data<ServiceContext>;
pub(crate) type State = web::Data<IdentityState>;
/// Query parameters; a query that does not parse counts as empty (extra ones are ignored).
pub(crate) type Query = Result<web::Query<HashMap<String, String>>, actix_web::Error>;

/// A request header as text.
pub(crate) fn header<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

pub(crate) fn query_param<'a>(query: &'a Query, name: &str) -> Option<&'a str> {
    query
        .as_ref()
        .ok()
        .and_then(|q| q.get(name))
        .map(String::as_str)
}

/// The claims of the caller's `X-Auth-Token`, when it is a live token of this stack.
pub(crate) async fn caller(ctx: &Ctx, req: &HttpRequest) -> Option<Claims> {
    let token = header(req, "x-auth-token")?;
    ctx.auth.verify_local(token).await.ok()
}

/// Strict mode guards the lookup routes with a valid `X-Auth-Token`; open mode, like
/// Mimic, does not.
pub(crate) async fn guard_v2(
    ctx: &Ctx,
    state: &State,
    req: &HttpRequest,
) -> Result<(), IdentityError> {
    if state.directory.is_strict() && caller(ctx, req).await.is_none() {
        return Err(IdentityError::unauthorized(UNAUTHORIZED_MESSAGE));
    }
    Ok(())
}

/// A segment of the path by its name in the route pattern (`token_id`), as the path
/// carries it; empty when the pattern has none.
pub(crate) fn segment<'a>(req: &'a HttpRequest, name: &str) -> &'a str {
    req.match_info().get(name).unwrap_or_default()
}

/// `scheme://host` the client used to reach us, for links.
pub(crate) fn base_url(req: &HttpRequest) -> String {
    common::request_origin(req)
}
