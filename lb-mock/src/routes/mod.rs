//! The CLB v1.0 API and Mimic's CLB control API.
//!
//! Every CLB route goes through [`dispatch`], which checks the region, the caller and the
//! rate limit once, strips the format suffixes clients use (`.json` on any segment, FOG;
//! `.atom` on node feeds, otter), parses ids the way CLB's path patterns do (a
//! non-numeric id is an unknown route), and hands a [`Req`] to a handler named after what
//! it does (`create_load_balancer`, `add_nodes`, ...). Handlers read one record with
//! `Table::get` and change it with one `Table::transact` ([`Req::mutate`]).

pub mod account;
pub mod body;
pub mod features;
pub mod loadbalancers;
pub mod metadata;
pub mod mimic;
pub mod nodes;
pub mod virtual_ips;
pub mod wire;

use actix_web::http::Method;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use common::auth::Caller;
use common::context::ServiceContext;
use common::json::Body;
use common::store::Scope;

use crate::compute::ServerStatuses;
use crate::domain::model::LoadBalancer;
use crate::domain::status::{LbStatus, Observed};
use crate::error::LbError;
use crate::State;

pub const LB_NOT_FOUND: &str = "Load balancer not found";
pub const MARKED_DELETED: &str = "The loadbalancer is marked as deleted.";
pub const DELETED_IMMUTABLE: &str = "The load balancer is deleted and considered immutable.";
pub const NOT_ACTIVE: &str = "LoadBalancer is not ACTIVE";
pub const NO_IDS: &str = "Must supply one or more id's to process this request.";

/// Adds lb-mock's routes. Mimic's control routes come first, in a scope (a literal prefix
/// test, so API requests never try their patterns): `/mimic/...` would otherwise look like
/// a region called `mimic`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/mimic").service(
            web::resource([
                "/{region}/v1.0/{tenant_id}/{rest:.*}",
                "/v1.0/{tenant_id}/{rest:.*}",
            ])
            .to(mimic::dispatch),
        ),
    )
    .service(
        web::resource([
            "/{region}/v1.0/{tenant_id}/{rest:.*}",
            "/v1.0/{tenant_id}/{rest:.*}",
        ])
        .to(dispatch),
    );
}

/// One CLB request, after the region, caller and rate-limit checks.
pub struct Req<'a> {
    pub ctx: &'a ServiceContext,
    pub state: &'a State,
    pub scope: Scope,
    pub tenant: String,
    pub region: String,
    pub token: Option<String>,
    pub query: Vec<(String, String)>,
    pub body: &'a [u8],
    pub now_ms: i64,
}

/// Requests of one tenant in the current minute of the virtual clock.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RateWindow {
    pub start_ms: i64,
    pub count: u64,
}

pub fn not_found_route() -> LbError {
    LbError::not_found(crate::NOT_FOUND)
}

pub fn lb_not_found() -> LbError {
    LbError::not_found(LB_NOT_FOUND)
}

/// The region a request is about: the path's, or the default for `/v1.0/...`.
pub fn region_of(req: &HttpRequest, state: &State) -> Result<String, LbError> {
    let region = req
        .match_info()
        .get("region")
        .unwrap_or(&state.lb.default_region)
        .to_string();
    if state.lb.regions.contains(&region) {
        Ok(region)
    } else {
        Err(not_found_route())
    }
}

/// Splits the rest of a path into segments, dropping `.json` suffixes; reports `.atom`.
pub fn segments(rest: &str) -> (Vec<&str>, bool) {
    let mut atom = false;
    let segs = rest
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| {
            if let Some(x) = s.strip_suffix(".json") {
                x
            } else if let Some(x) = s.strip_suffix(".atom") {
                atom = true;
                x
            } else {
                s
            }
        })
        .collect();
    (segs, atom)
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

async fn dispatch(
    req: HttpRequest,
    body: Body,
    ctx: web::Data<ServiceContext>,
    state: web::Data<State>,
) -> Result<HttpResponse, LbError> {
    let region = region_of(&req, &state)?;
    let caller = Caller::extract(&req).await?;
    let tenant = caller.tenant_id.clone();
    let now_ms = ctx.store.clock().now().timestamp_millis();
    check_rate(&state, &tenant, now_ms).await?;
    let rest = req.match_info().get("rest").unwrap_or_default();
    let (segs, atom) = segments(rest);
    let r = Req {
        ctx: &ctx,
        state: &state,
        scope: Scope::new(tenant.clone(), region.clone()),
        tenant,
        region,
        token: caller.token,
        query: parse_query(req.query_string()),
        body: &body.0,
        now_ms,
    };
    route(&r, req.method(), &segs, atom).await
}

async fn route(
    r: &Req<'_>,
    method: &Method,
    segs: &[&str],
    atom: bool,
) -> Result<HttpResponse, LbError> {
    use loadbalancers as lbs;
    let m = method.as_str();
    if atom {
        return match (m, segs) {
            ("GET", ["loadbalancers", id, "nodes", nid]) => {
                nodes::get_node_feed(r, lb_id(id)?, node_id(nid)?).await
            }
            _ => Err(not_found_route()),
        };
    }
    match (m, segs) {
        ("GET", ["loadbalancers"]) => lbs::list_load_balancers(r).await,
        ("POST", ["loadbalancers"]) => lbs::create_load_balancer(r).await,
        ("DELETE", ["loadbalancers"]) => lbs::delete_load_balancers(r).await,
        ("GET", ["loadbalancers", "protocols"]) => account::list_protocols(),
        ("GET", ["loadbalancers", "algorithms"]) => account::list_algorithms(),
        ("GET", ["loadbalancers", "absolutelimits"]) => account::get_absolute_limits(r),
        ("GET", ["loadbalancers", "alloweddomains"]) => account::list_allowed_domains(),
        ("GET", ["loadbalancers", "usage"]) => account::get_account_usage(r).await,
        ("GET", ["limits"]) => account::get_limits(r),
        (_, ["loadbalancers", id, rest @ ..]) => {
            let id = lb_id(id)?;
            route_balancer(r, m, id, rest).await
        }
        (_, ["loadbalancers", ..] | ["limits"]) => Err(method_not_allowed()),
        _ => Err(not_found_route()),
    }
}

pub fn method_not_allowed() -> LbError {
    LbError::new(
        actix_web::http::StatusCode::METHOD_NOT_ALLOWED,
        "Method Not Allowed",
    )
}

/// Whether a path under `/loadbalancers/{id}` names a resource (for 405 versus 404).
fn known_balancer_path(rest: &[&str]) -> bool {
    matches!(
        rest,
        [] | ["nodes"]
            | ["nodes", _]
            | ["nodes", _, "metadata"]
            | ["nodes", _, "metadata", _]
            | ["metadata"]
            | ["metadata", _]
            | ["healthmonitor"]
            | ["sessionpersistence"]
            | ["connectionthrottle"]
            | ["accesslist"]
            | ["accesslist", _]
            | ["errorpage"]
            | ["contentcaching"]
            | ["connectionlogging"]
            | ["virtualips"]
            | ["virtualips", _]
            | ["usage"]
            | ["usage", "current"]
            | ["stats"]
    )
}

async fn route_balancer(
    r: &Req<'_>,
    m: &str,
    id: u64,
    rest: &[&str],
) -> Result<HttpResponse, LbError> {
    use features as f;
    use loadbalancers as lbs;
    use metadata as md;
    use virtual_ips as vips;
    match (m, rest) {
        ("GET", []) => lbs::get_load_balancer(r, id).await,
        ("PUT", []) => lbs::update_load_balancer(r, id).await,
        ("DELETE", []) => lbs::delete_load_balancer(r, id).await,
        ("GET", ["nodes"]) => nodes::list_nodes(r, id).await,
        ("POST", ["nodes"]) => nodes::add_nodes(r, id).await,
        ("DELETE", ["nodes"]) => nodes::delete_nodes(r, id).await,
        ("PUT", ["nodes"]) => nodes::update_nodes(r, id).await,
        ("GET", ["nodes", "events"]) => nodes::list_node_events(r, id).await,
        ("GET", ["nodes", nid]) => nodes::get_node(r, id, node_id(nid)?).await,
        ("PUT", ["nodes", nid]) => nodes::update_node(r, id, node_id(nid)?).await,
        ("DELETE", ["nodes", nid]) => nodes::delete_node(r, id, node_id(nid)?).await,
        (_, ["nodes", nid, "metadata", more @ ..]) => {
            let target = md::Target::Node(node_id(nid)?);
            md::route(r, m, id, target, more).await
        }
        (_, ["metadata", more @ ..]) => md::route(r, m, id, md::Target::Balancer, more).await,
        ("GET", ["healthmonitor"]) => f::get_health_monitor(r, id).await,
        ("PUT", ["healthmonitor"]) => f::set_health_monitor(r, id).await,
        ("DELETE", ["healthmonitor"]) => f::delete_health_monitor(r, id).await,
        ("GET", ["sessionpersistence"]) => f::get_session_persistence(r, id).await,
        ("PUT", ["sessionpersistence"]) => f::set_session_persistence(r, id).await,
        ("DELETE", ["sessionpersistence"]) => f::delete_session_persistence(r, id).await,
        ("GET", ["connectionthrottle"]) => f::get_connection_throttle(r, id).await,
        ("PUT", ["connectionthrottle"]) => f::set_connection_throttle(r, id).await,
        ("DELETE", ["connectionthrottle"]) => f::delete_connection_throttle(r, id).await,
        ("GET", ["accesslist"]) => f::get_access_list(r, id).await,
        ("POST", ["accesslist"]) => f::add_access_list(r, id).await,
        ("DELETE", ["accesslist"]) => f::delete_access_list(r, id).await,
        ("DELETE", ["accesslist", item]) => f::delete_access_item(r, id, node_id(item)?).await,
        ("GET", ["errorpage"]) => f::get_error_page(r, id).await,
        ("PUT", ["errorpage"]) => f::set_error_page(r, id).await,
        ("DELETE", ["errorpage"]) => f::delete_error_page(r, id).await,
        ("GET", ["contentcaching"]) => f::get_content_caching(r, id).await,
        ("PUT", ["contentcaching"]) => f::set_content_caching(r, id).await,
        ("GET", ["connectionlogging"]) => f::get_connection_logging(r, id).await,
        ("PUT", ["connectionlogging"]) => f::set_connection_logging(r, id).await,
        ("GET", ["virtualips"]) => vips::list_virtual_ips(r, id).await,
        ("POST", ["virtualips"]) => vips::add_virtual_ip(r, id).await,
        ("DELETE", ["virtualips"]) => vips::delete_virtual_ips(r, id).await,
        ("DELETE", ["virtualips", vid]) => vips::delete_virtual_ip(r, id, node_id(vid)?).await,
        ("GET", ["usage"]) => account::get_usage(r, id, false).await,
        ("GET", ["usage", "current"]) => account::get_usage(r, id, true).await,
        ("GET", ["stats"]) => account::get_stats(r, id).await,
        _ if known_balancer_path(rest) => Err(method_not_allowed()),
        _ => Err(not_found_route()),
    }
}

/// A balancer id as CLB's path pattern takes it (`[-+]?[0-9]+`); a negative id names no
/// balancer, a non-numeric one no route.
pub fn lb_id(s: &str) -> Result<u64, LbError> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(not_found_route());
    }
    if s.starts_with('-') && digits.bytes().any(|b| b != b'0') {
        return Err(lb_not_found());
    }
    digits.parse().map_err(|_| lb_not_found())
}

/// A node, metadata, VIP or item id (`[-+]?[1-9][0-9]*`).
pub fn node_id(s: &str) -> Result<u64, LbError> {
    let digits = s.strip_prefix('+').unwrap_or(s);
    if digits.is_empty() || digits.starts_with('0') || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(not_found_route());
    }
    digits.parse().map_err(|_| not_found_route())
}

async fn check_rate(state: &State, tenant: &str, now_ms: i64) -> Result<(), LbError> {
    let limit = state.lb.rate_limit_per_minute;
    if limit == 0 {
        return Ok(());
    }
    let verdict = state
        .rate
        .upsert(
            &Scope::tenant(tenant),
            "minute",
            || RateWindow {
                start_ms: now_ms,
                count: 0,
            },
            |w| {
                if !(now_ms >= w.start_ms && now_ms < w.start_ms + 60_000) {
                    *w = RateWindow {
                        start_ms: now_ms,
                        count: 0,
                    };
                }
                w.count += 1;
                (w.count > limit).then_some(w.start_ms + 60_000)
            },
        )
        .await?;
    match verdict {
        None => Ok(()),
        Some(until_ms) => Err(LbError::RateLimited {
            retry_after_s: ((until_ms - now_ms).max(0) as u64).div_ceil(1000),
            until: wire::iso(until_ms),
        }),
    }
}

impl Req<'_> {
    pub fn key(id: u64) -> String {
        id.to_string()
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
                digits.parse::<u64>().map_err(|_| not_found_route())
            })
            .collect()
    }

    /// The balancer and its status now; 404 when unknown or no longer visible.
    pub async fn load(&self, id: u64) -> Result<(LoadBalancer, Observed), LbError> {
        self.load_revised(id).await.map(|(lb, seen, _)| (lb, seen))
    }

    /// [`Req::load`], with the balancer's store revision (for remembered renderings).
    pub async fn load_revised(&self, id: u64) -> Result<(LoadBalancer, Observed, u64), LbError> {
        let (lb, revision) = self
            .state
            .balancers
            .get_map(&self.scope, &Self::key(id), |lb, rev| (lb.clone(), rev))
            .await?
            .ok_or_else(lb_not_found)?;
        let seen = lb
            .observe(self.state.timings(), self.now_ms)
            .ok_or_else(lb_not_found)?;
        Ok((lb, seen, revision))
    }

    /// [`Req::load`], but 410 for a DELETED balancer (reads of its parts).
    pub async fn load_live(&self, id: u64) -> Result<LoadBalancer, LbError> {
        let (lb, seen) = self.load(id).await?;
        if seen.status == LbStatus::Deleted {
            return Err(LbError::new(
                actix_web::http::StatusCode::GONE,
                MARKED_DELETED,
            ));
        }
        Ok(lb)
    }

    /// Runs `f` on the balancer and its current status with exclusive access: checks and
    /// writes inside `f` are atomic. 404 when the balancer is unknown or gone.
    pub async fn mutate<T>(
        &self,
        id: u64,
        f: impl FnOnce(&mut LoadBalancer, LbStatus) -> Result<T, LbError>,
    ) -> Result<T, LbError> {
        let timings = self.state.timings();
        let now = self.now_ms;
        let key = Self::key(id);
        self.state
            .balancers
            .update(&self.scope, &key, |lb| {
                let status = lb.observe(timings, now).ok_or_else(lb_not_found)?.status;
                f(lb, status)
            })
            .await?
            .unwrap_or_else(|| Err(lb_not_found()))
    }

    /// Compute's view of the tenant's servers, when the balancer has nodes to judge.
    pub async fn server_statuses(&self, lb: &LoadBalancer) -> Option<ServerStatuses> {
        if lb.nodes.is_empty() {
            return None;
        }
        self.state
            .compute
            .statuses(
                self.ctx,
                &self.tenant,
                &self.region,
                crate::compute::Asker::Client(self.token.as_deref()),
                self.now_ms,
                self.state.lb.compute_cache_ms,
            )
            .await
    }

    /// Ids for new records, from the store's counters.
    pub async fn next_ids(&self, counter: &str, n: usize) -> Result<Vec<u64>, LbError> {
        let mut ids = Vec::with_capacity(n);
        for _ in 0..n {
            ids.push(self.ctx.store.next_id(counter).await?);
        }
        Ok(ids)
    }
}

/// 422 unless the balancer is ACTIVE (a DELETED one has its own text).
pub fn require_active(lb: &LoadBalancer, status: LbStatus) -> Result<(), LbError> {
    match status {
        LbStatus::Active => Ok(()),
        LbStatus::Deleted => Err(LbError::unprocessable(DELETED_IMMUTABLE)),
        s => Err(LbError::unprocessable(immutable_text(lb.id, s))),
    }
}

pub fn immutable_text(id: u64, status: LbStatus) -> String {
    format!(
        "Load Balancer '{id}' has a status of '{}' and is considered immutable.",
        status.as_str()
    )
}

pub fn accepted() -> HttpResponse {
    HttpResponse::Accepted()
        .content_type("application/json")
        .finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffixes_are_stripped_and_atom_is_noticed() {
        assert_eq!(segments("loadbalancers.json/").0, vec!["loadbalancers"]);
        let (s, atom) = segments("loadbalancers/1/nodes/2.atom");
        assert_eq!(s, vec!["loadbalancers", "1", "nodes", "2"]);
        assert!(atom);
    }

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
        assert!(node_id("0").is_err());
        assert_eq!(node_id("7").ok(), Some(7));
    }
}
