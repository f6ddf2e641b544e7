//! The CLB v1.0 API and Mimic's CLB control API, as one actix route table.
//!
//! Every CLB resource is served under `/{region}/v1.0/{tenant_id}` and under
//! `/v1.0/{tenant_id}` (the default region); its pattern is the route label of metrics.
//! Every handler starts with the [`request::Req`] extractor (region, caller and rate limit,
//! once per request), then reads the path's ids the way CLB's path patterns take them (a
//! non-numeric id is an unknown route). A known path asked with another method answers
//! CLB's 405; an unknown path CLB's 404, after the same checks.
//!
//! The `.json` suffix clients put on segments (FOG: `loadbalancers.json`, `5.json`) is
//! dropped before routing ([`route_path`]); a node's Atom feed is the pattern
//! `nodes/{node_id}.atom`. Mimic's control routes live under `/mimic` ([`mimic`]).
//!
//! Each file serves one resource; route files share [`request`] and [`wire`] and call
//! `state` and `domain`, never each other.

mod access_list;
mod account;
mod connection_logging;
mod connection_throttle;
mod content_caching;
mod error_page;
mod health_monitor;
mod loadbalancers;
mod metadata;
mod mimic;
mod node_feed;
mod nodes;
pub mod request;
mod session_persistence;
mod stats;
mod usage;
mod virtual_ips;
pub mod wire;

use actix_web::dev::{ServiceFactory, ServiceRequest};
use actix_web::http::Method;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse, Resource, Scope};

use crate::error::LbError;
use request::Req;

/// Adds lb-mock's routes. Mimic's control routes come first, in a scope (a literal prefix
/// test, so API requests never try their patterns): `/mimic/...` would otherwise look like
/// a region called `mimic`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(mimic::scope())
        .service(api(web::scope("/{region}/v1.0/{tenant_id}")))
        .service(api(web::scope("/v1.0/{tenant_id}")));
}

/// What a resource answers for a method it does not serve.
#[derive(Clone, Copy)]
enum Otherwise {
    /// CLB's 405, once the balancer id is checked.
    MethodNotAllowed,
    /// CLB's 405, once the balancer and node ids are checked (node metadata).
    NodeMethodNotAllowed,
    /// An unknown route: the path names something else (`/loadbalancers/protocols` is
    /// not a balancer to POST to; a feed is only read).
    NotFound,
}

fn resource(path: &str, otherwise: Otherwise) -> Resource {
    let default = match otherwise {
        Otherwise::MethodNotAllowed => web::to(bad_method),
        Otherwise::NodeMethodNotAllowed => web::to(bad_node_method),
        Otherwise::NotFound => web::to(not_served),
    };
    web::resource(path).default_service(default)
}

fn api<T>(scope: Scope<T>) -> Scope<T>
where
    T: ServiceFactory<ServiceRequest, Config = (), Error = actix_web::Error, InitError = ()>,
{
    use Otherwise::{MethodNotAllowed as M405, NodeMethodNotAllowed as N405, NotFound as N404};
    use {
        access_list as al, account as acc, connection_logging as cl, connection_throttle as ct,
        content_caching as cc, error_page as ep, health_monitor as hm, loadbalancers as lbs,
        metadata as md, node_feed as feed, session_persistence as sp, virtual_ips as vips,
    };
    const LB: &str = "/loadbalancers/{id}";
    scope
        .service(
            resource("/loadbalancers", M405)
                .route(web::get().to(lbs::list_load_balancers))
                .route(web::post().to(lbs::create_load_balancer))
                .route(web::delete().to(lbs::delete_load_balancers)),
        )
        .service(
            resource("/loadbalancers/protocols", N404).route(web::get().to(acc::list_protocols)),
        )
        .service(
            resource("/loadbalancers/algorithms", N404).route(web::get().to(acc::list_algorithms)),
        )
        .service(
            resource("/loadbalancers/absolutelimits", N404)
                .route(web::get().to(acc::get_absolute_limits)),
        )
        .service(
            resource("/loadbalancers/alloweddomains", N404)
                .route(web::get().to(acc::list_allowed_domains)),
        )
        .service(
            resource("/loadbalancers/usage", N404).route(web::get().to(usage::get_account_usage)),
        )
        .service(resource("/limits", M405).route(web::get().to(acc::get_limits)))
        // Everything about one balancer in one scope: a request is matched against the
        // balancer's own routes only once its prefix matched, not against the whole table.
        .service(
            web::scope(LB)
                .service(
                    resource("", M405)
                        .route(web::get().to(lbs::get_load_balancer))
                        .route(web::put().to(lbs::update_load_balancer))
                        .route(web::delete().to(lbs::delete_load_balancer)),
                )
                .service(
                    resource("/nodes", M405)
                        .route(web::get().to(nodes::list_nodes))
                        .route(web::post().to(nodes::add_nodes))
                        .route(web::delete().to(nodes::delete_nodes))
                        .route(web::put().to(nodes::update_nodes)),
                )
                .service(
                    web::resource("/nodes/events")
                        .route(web::get().to(feed::list_node_events))
                        .default_service(web::to(events_other_method)),
                )
                .service(
                    resource("/nodes/{node_id}.atom", N404)
                        .route(web::get().to(feed::get_node_feed)),
                )
                .service(
                    resource("/nodes/{node_id}", M405)
                        .route(web::get().to(nodes::get_node))
                        .route(web::put().to(nodes::update_node))
                        .route(web::delete().to(nodes::delete_node)),
                )
                .service(
                    resource("/nodes/{node_id}/metadata", N405)
                        .route(web::get().to(md::list_metadata))
                        .route(web::post().to(md::add_metadata))
                        .route(web::delete().to(md::delete_metadata_items)),
                )
                .service(
                    resource("/nodes/{node_id}/metadata/{meta_id}", N405)
                        .route(web::get().to(md::get_metadata_item))
                        .route(web::put().to(md::update_metadata_item))
                        .route(web::delete().to(md::delete_metadata_item)),
                )
                .service(
                    resource("/metadata", M405)
                        .route(web::get().to(md::list_metadata))
                        .route(web::post().to(md::add_metadata))
                        .route(web::delete().to(md::delete_metadata_items)),
                )
                .service(
                    resource("/metadata/{meta_id}", M405)
                        .route(web::get().to(md::get_metadata_item))
                        .route(web::put().to(md::update_metadata_item))
                        .route(web::delete().to(md::delete_metadata_item)),
                )
                .service(
                    resource("/healthmonitor", M405)
                        .route(web::get().to(hm::get_health_monitor))
                        .route(web::put().to(hm::set_health_monitor))
                        .route(web::delete().to(hm::delete_health_monitor)),
                )
                .service(
                    resource("/sessionpersistence", M405)
                        .route(web::get().to(sp::get_session_persistence))
                        .route(web::put().to(sp::set_session_persistence))
                        .route(web::delete().to(sp::delete_session_persistence)),
                )
                .service(
                    resource("/connectionthrottle", M405)
                        .route(web::get().to(ct::get_connection_throttle))
                        .route(web::put().to(ct::set_connection_throttle))
                        .route(web::delete().to(ct::delete_connection_throttle)),
                )
                .service(
                    resource("/accesslist", M405)
                        .route(web::get().to(al::get_access_list))
                        .route(web::post().to(al::add_access_list))
                        .route(web::delete().to(al::delete_access_list)),
                )
                .service(
                    resource("/accesslist/{item_id}", M405)
                        .route(web::delete().to(al::delete_access_item)),
                )
                .service(
                    resource("/errorpage", M405)
                        .route(web::get().to(ep::get_error_page))
                        .route(web::put().to(ep::set_error_page))
                        .route(web::delete().to(ep::delete_error_page)),
                )
                .service(
                    resource("/contentcaching", M405)
                        .route(web::get().to(cc::get_content_caching))
                        .route(web::put().to(cc::set_content_caching)),
                )
                .service(
                    resource("/connectionlogging", M405)
                        .route(web::get().to(cl::get_connection_logging))
                        .route(web::put().to(cl::set_connection_logging)),
                )
                .service(
                    resource("/virtualips", M405)
                        .route(web::get().to(vips::list_virtual_ips))
                        .route(web::post().to(vips::add_virtual_ip))
                        .route(web::delete().to(vips::delete_virtual_ips)),
                )
                .service(
                    resource("/virtualips/{vip_id}", M405)
                        .route(web::delete().to(vips::delete_virtual_ip)),
                )
                .service(resource("/usage", M405).route(web::get().to(usage::get_usage)))
                .service(
                    resource("/usage/current", M405).route(web::get().to(usage::get_current_usage)),
                )
                .service(resource("/stats", M405).route(web::get().to(stats::get_stats)))
                .default_service(web::to(unknown_route)),
        )
        .default_service(web::to(unknown_route))
}

/// A known path asked with a method it does not serve: 405, once the balancer id is
/// checked (a malformed one is still an unknown route).
async fn bad_method(r: Req) -> Result<HttpResponse, LbError> {
    if r.has_segment("id") {
        r.lb_id()?;
    }
    Err(LbError::method_not_allowed())
}

/// [`bad_method`] for node metadata, whose node id is checked too.
async fn bad_node_method(r: Req) -> Result<HttpResponse, LbError> {
    r.lb_id()?;
    r.item_id("node_id")?;
    Err(LbError::method_not_allowed())
}

/// `.../nodes/events` asked with another method than GET: `events` is then read as a
/// node id where a node is changed (PUT, DELETE: no such route), 405 otherwise.
async fn events_other_method(r: Req) -> Result<HttpResponse, LbError> {
    r.lb_id()?;
    if *r.method() == Method::PUT || *r.method() == Method::DELETE {
        return Err(LbError::route_not_found());
    }
    Err(LbError::method_not_allowed())
}

/// A path that names nothing for this method.
async fn not_served(_: Req) -> Result<HttpResponse, LbError> {
    Err(LbError::route_not_found())
}

/// A path under a tenant that no resource has: CLB's 404 after the region, caller and
/// rate-limit checks (and, under `/loadbalancers/{id}`, the id's). The tenant's bare
/// prefix (`/v1.0/{tenant_id}`) is no CLB path: the plain 404, without checks.
async fn unknown_route(req: HttpRequest, payload: web::Payload) -> Result<HttpResponse, LbError> {
    let rest = req.match_info().unprocessed().to_string();
    if rest.is_empty() {
        return Err(LbError::route_not_found());
    }
    Req::from_request(&req, &mut payload.into_inner()).await?;
    let mut segs = rest.split('/').filter(|s| !s.is_empty());
    let atom = rest.split('/').any(|s| s.ends_with(".atom"));
    if let (Some("loadbalancers"), Some(id), false) = (segs.next(), segs.next(), atom) {
        request::lb_id(id)?;
    }
    Err(LbError::route_not_found())
}

/// The path lb-mock routes for the one sent, when they differ: under a tenant
/// (`/{region}/v1.0/{tenant_id}/...`, `/v1.0/{tenant_id}/...`, and both under `/mimic`),
/// each segment loses a `.json` suffix (FOG: `loadbalancers.json`, `5.json`; not a feed's
/// `.atom.json`) and empty segments are dropped, as CLB took them.
pub fn route_path(path: &str) -> Option<String> {
    if !path.contains(".json") && !path.contains("//") {
        return None;
    }
    let body = path.strip_prefix("/mimic").unwrap_or(path);
    let mimic = &path[..path.len() - body.len()];
    let segs: Vec<&str> = body.strip_prefix('/')?.split('/').collect();
    let tenant_at = match segs.as_slice() {
        ["v1.0", _, ..] => 1,
        [_, "v1.0", _, ..] => 2,
        _ => return None,
    };
    let (prefix, rest) = segs.split_at(tenant_at + 1);
    let mut out = String::with_capacity(path.len());
    out.push_str(mimic);
    for s in prefix {
        out.push('/');
        out.push_str(s);
    }
    for s in rest.iter().filter(|s| !s.is_empty()) {
        out.push('/');
        match s.strip_suffix(".json") {
            Some(x) if !x.ends_with(".atom") => out.push_str(x),
            _ => out.push_str(s),
        }
    }
    (out != path).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_suffixes_and_empty_segments_are_dropped_under_a_tenant() {
        assert_eq!(
            route_path("/ORD/v1.0/1/loadbalancers.json").as_deref(),
            Some("/ORD/v1.0/1/loadbalancers")
        );
        assert_eq!(
            route_path("/v1.0/1/loadbalancers/5.json/nodes.json").as_deref(),
            Some("/v1.0/1/loadbalancers/5/nodes")
        );
        assert_eq!(
            route_path("/mimic/ORD/v1.0/1//loadbalancer/5.json/attributes").as_deref(),
            Some("/mimic/ORD/v1.0/1/loadbalancer/5/attributes")
        );
        assert_eq!(route_path("/ORD/v1.0/1/loadbalancers/5"), None);
        assert_eq!(route_path("/ORD/v1.0/1/loadbalancers/5/nodes/6.atom"), None);
        assert_eq!(
            route_path("/ORD/v1.0/1/loadbalancers/5/nodes/6.atom.json"),
            None,
            "no feed hides behind .json"
        );
        assert_eq!(route_path("/_understudy/v1/journal.json"), None);
    }
}
