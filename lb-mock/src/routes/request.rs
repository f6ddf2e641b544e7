//! [`Req`], the extractor every CLB route starts with: the body, then the region, the
//! caller and the tenant's rate limit, checked once per request in that order. It also
//! reads the path's ids the way CLB's path patterns take them, and the query.

use std::future::Future;
use std::pin::Pin;

use actix_web::http::StatusCode;
use actix_web::{dev::Payload, web, FromRequest, HttpRequest};
use bytes::Bytes;
use serde_json::Value;

use common::auth::Caller;
use common::context::ServiceContext;
use common::json::Body;
use common::store::Scope;

use crate::compute::{Asker, ServerStatuses};
use crate::domain::model::LoadBalancer;
use crate::error::{LbError, BAD_JSON};
use crate::state::{Balancers, State};

/// The text of a bulk request that names no id.
pub const NO_IDS: &str = "Must supply one or more id's to process this request.";

/// One CLB request, after the region, caller and rate-limit checks.
pub struct Req {
    pub ctx: web::Data<ServiceContext>,
    pub state: web::Data<State>,
    pub scope: Scope,
    pub tenant: String,
    pub region: String,
    pub token: Option<String>,
    pub query: Vec<(String, String)>,
    pub body: Bytes,
    pub now_ms: i64,
    http: HttpRequest,
}

impl FromRequest for Req {
    type Error = LbError;
    type Future = Pin<Box<dyn Future<Output = Result<Req, LbError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = Body::from_request(req, payload);
        let req = req.clone();
        Box::pin(async move {
            let body = body.await?;
            let (ctx, state) = app_state(&req)?;
            let region = region_of(&req, &state)?;
            let caller = Caller::extract(&req).await?;
            let tenant = caller.tenant_id;
            let now_ms = ctx.store.clock().now().timestamp_millis();
            state.count_request(&tenant, now_ms).await?;
            Ok(Req {
                scope: Scope::new(tenant.clone(), region.clone()),
                tenant,
                region,
                token: caller.token,
                query: parse_query(req.query_string()),
                body: body.0,
                now_ms,
                ctx,
                state,
                http: req,
            })
        })
    }
}

/// The mock's context and state, as every handler's extractor takes them.
pub fn app_state(
    req: &HttpRequest,
) -> Result<(web::Data<ServiceContext>, web::Data<State>), LbError> {
    match (
        req.app_data::<web::Data<ServiceContext>>().cloned(),
        req.app_data::<web::Data<State>>().cloned(),
    ) {
        (Some(ctx), Some(state)) => Ok((ctx, state)),
        _ => Err(LbError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "lb-mock's state is missing",
        )),
    }
}

/// The region a request is about: the path's, or the default for `/v1.0/...`. Region
/// names are matched as written (the configured ones are upper-case): `ord` is no region.
pub fn region_of(req: &HttpRequest, state: &State) -> Result<String, LbError> {
    let region = req
        .match_info()
        .get("region")
        .unwrap_or(&state.lb.default_region)
        .to_string();
    if state.lb.regions.contains(&region) {
        Ok(region)
    } else {
        Err(LbError::route_not_found())
    }
}

/// The query as pairs; a key's leading `?` is dropped (FOG sends `loadbalancers.json??k=v`).
pub fn parse_query(qs: &str) -> Vec<(String, String)> {
    let qs = qs.trim_start_matches('?');
    web::Query::<Vec<(String, String)>>::from_query(qs)
        .map(|q| q.into_inner())
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k.trim_start_matches('?').to_string(), v))
        .collect()
}

/// A balancer id as CLB's path pattern takes it (`[-+]?[0-9]+`); a negative id names no
/// balancer, a non-numeric one no route.
pub fn lb_id(s: &str) -> Result<u64, LbError> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(LbError::route_not_found());
    }
    if s.starts_with('-') && digits.bytes().any(|b| b != b'0') {
        return Err(LbError::lb_not_found());
    }
    digits.parse().map_err(|_| LbError::lb_not_found())
}

/// A node, metadata, VIP or item id (`[-+]?[1-9][0-9]*`); anything else names no route.
pub fn item_id(s: &str) -> Result<u64, LbError> {
    let digits = s.strip_prefix('+').unwrap_or(s);
    if digits.is_empty() || digits.starts_with('0') || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(LbError::route_not_found());
    }
    digits.parse().map_err(|_| LbError::route_not_found())
}

/// The body as JSON; malformed JSON (or none) is CLB's 400.
pub fn json(body: &[u8]) -> Result<Value, LbError> {
    serde_json::from_slice(body).map_err(|_| LbError::bad_request(BAD_JSON))
}

impl Req {
    /// The balancers of the request's tenant and region, at the request's time.
    pub fn balancers(&self) -> Balancers<'_> {
        self.state.balancers(&self.scope, self.now_ms)
    }

    /// The balancer id of the path (`{id}`).
    pub fn lb_id(&self) -> Result<u64, LbError> {
        lb_id(self.segment("id"))
    }

    /// A node, metadata, VIP or access list item id of the path (`{node_id}`, ...).
    pub fn item_id(&self, name: &str) -> Result<u64, LbError> {
        item_id(self.segment(name))
    }

    /// Whether the path has the segment `name`.
    pub fn has_segment(&self, name: &str) -> bool {
        self.http.match_info().get(name).is_some()
    }

    fn segment(&self, name: &str) -> &str {
        self.http.match_info().get(name).unwrap_or_default()
    }

    /// The request's method.
    pub fn method(&self) -> &actix_web::http::Method {
        self.http.method()
    }

    /// The body as JSON; malformed JSON (or none) is CLB's 400.
    pub fn json(&self) -> Result<Value, LbError> {
        json(&self.body)
    }

    /// Every value of a query parameter.
    pub fn query_all(&self, key: &str) -> Vec<&str> {
        self.query
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    pub fn query(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The `?id=` values as ids; a non-integer one is an unknown route (FOG's NotFound).
    pub fn query_ids(&self) -> Result<Vec<u64>, LbError> {
        self.query_all("id")
            .into_iter()
            .map(|v| {
                let digits = v.strip_prefix('+').unwrap_or(v);
                digits
                    .parse::<u64>()
                    .map_err(|_| LbError::route_not_found())
            })
            .collect()
    }

    /// Compute's view of the tenant's servers, when the balancer has nodes to judge.
    pub async fn server_statuses(&self, lb: &LoadBalancer) -> Option<ServerStatuses> {
        self.state
            .server_statuses(
                &self.ctx,
                &self.scope,
                Asker::Client(self.token.as_deref()),
                self.now_ms,
                lb,
            )
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fog_double_question_mark_is_tolerated() {
        let q = parse_query("?nodeaddress=10.0.0.1");
        assert_eq!(q, vec![("nodeaddress".into(), "10.0.0.1".into())]);
    }

    #[test]
    fn ids_follow_clb_path_patterns() {
        assert_eq!(lb_id("0").ok(), Some(0));
        assert_eq!(lb_id("+12").ok(), Some(12));
        assert!(lb_id("abc").is_err());
        assert!(item_id("0").is_err());
        assert_eq!(item_id("7").ok(), Some(7));
    }
}
