//! Whatever the body, no route that reads one answers a 5xx or anything but JSON
//! (property tests over arbitrary JSON; the smallest failing body is reported).

use reqwest::Method;
use serde_json::json;
use test_support::{assert_never_a_5xx, Route};

use crate::helpers::{spawn_app, TENANT};

#[test]
fn no_body_gets_a_5xx_from_any_route_that_reads_one() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let app = rt.block_on(spawn_app());
    let id = rt.block_on(app.create_lb(json!({})));
    let route = |method: Method, path: &str, wrapper: &'static str| Route {
        method,
        url: app.url(path),
        wrapper,
        headers: vec![("x-auth-token", app.token.clone())],
    };
    let balancer = |method: Method, rest: &str, wrapper: &'static str| {
        route(method, &format!("/loadbalancers/{id}{rest}"), wrapper)
    };

    assert_never_a_5xx(
        &rt,
        &[
            route(Method::POST, "/loadbalancers", "loadBalancer"),
            balancer(Method::PUT, "", "loadBalancer"),
            balancer(Method::POST, "/nodes", "nodes"),
            balancer(Method::PUT, "/nodes", "nodes"),
            balancer(Method::PUT, "/nodes/1", "node"),
            balancer(Method::PUT, "/healthmonitor", "healthMonitor"),
            balancer(Method::PUT, "/sessionpersistence", "sessionPersistence"),
            balancer(Method::PUT, "/connectionthrottle", "connectionThrottle"),
            balancer(Method::POST, "/accesslist", "accessList"),
            balancer(Method::POST, "/metadata", "metadata"),
            balancer(Method::PUT, "/errorpage", "errorpage"),
            balancer(Method::PUT, "/contentcaching", "contentCaching"),
            balancer(Method::PUT, "/connectionlogging", "connectionLogging"),
            balancer(Method::POST, "/virtualips", "type"),
            Route {
                method: Method::PATCH,
                url: format!(
                    "{}/mimic/ORD/v1.0/{TENANT}/loadbalancer/{id}/attributes",
                    app.address
                ),
                wrapper: "status",
                headers: vec![],
            },
        ],
    );
}
