//! The route table as the stack sees it: one metrics label per CLB endpoint (the route's
//! pattern), the journal keeping the path as sent, and fault rules matching the region a
//! request is served in.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{body, node, spawn_app, TENANT};

#[tokio::test]
async fn metrics_label_each_endpoint_with_its_route_pattern() {
    let app = spawn_app().await;
    let id = app
        .create_lb(json!({"nodes": [node("10.0.0.1", 80)]}))
        .await;
    let res = app.get(&format!("/loadbalancers/{id}/nodes")).await;
    assert_eq!(res.status().as_u16(), 200);
    let res = app.add_nodes(id, json!([node("10.0.0.2", 80)])).await;
    assert_eq!(res.status().as_u16(), 202);
    let nid = body(app.get(&format!("/loadbalancers/{id}/nodes")).await).await["nodes"][0]["id"]
        .as_u64()
        .unwrap();
    let res = app.get("/loadbalancers.json??name=a-load-balancer").await;
    assert_eq!(res.status().as_u16(), 200);
    let res = app
        .get(&format!("/loadbalancers/{id}/nodes/{nid}.atom"))
        .await;
    assert_eq!(res.status().as_u16(), 200);
    let res = app
        .call_url(
            Method::GET,
            &format!("{}/v1.0/{TENANT}/loadbalancers/{id}", app.address),
            None,
        )
        .await;
    assert_eq!(res.status().as_u16(), 200);
    let res = app
        .call(Method::PATCH, &format!("/loadbalancers/{id}/nodes"), None)
        .await;
    assert_eq!(res.status().as_u16(), 405);
    let res = app
        .control(
            Method::PATCH,
            &format!("/loadbalancer/{id}/attributes"),
            r#"{"status": "ACTIVE"}"#,
        )
        .await;
    assert_eq!(res.status().as_u16(), 204);

    let metrics = app
        .client
        .get(format!("{}/_understudy/v1/metrics", app.address))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let series = |route: &str, method: &str, status: u16, n: u32| {
        format!("understudy_requests_total{{service=\"lb\",route=\"{route}\",method=\"{method}\",status=\"{status}\"}} {n}")
    };
    for expected in [
        series("/{region}/v1.0/{tenant_id}/loadbalancers", "POST", 202, 1),
        series("/{region}/v1.0/{tenant_id}/loadbalancers", "GET", 200, 1),
        series(
            "/{region}/v1.0/{tenant_id}/loadbalancers/{id}/nodes",
            "GET",
            200,
            2,
        ),
        series(
            "/{region}/v1.0/{tenant_id}/loadbalancers/{id}/nodes",
            "POST",
            202,
            1,
        ),
        series(
            "/{region}/v1.0/{tenant_id}/loadbalancers/{id}/nodes",
            "PATCH",
            405,
            1,
        ),
        series(
            "/{region}/v1.0/{tenant_id}/loadbalancers/{id}/nodes/{node_id}.atom",
            "GET",
            200,
            1,
        ),
        series("/v1.0/{tenant_id}/loadbalancers/{id}", "GET", 200, 1),
        series(
            "/mimic/{region}/v1.0/{tenant_id}/loadbalancer/{id}/attributes",
            "PATCH",
            204,
            1,
        ),
    ] {
        assert!(metrics.contains(&expected), "{expected} in\n{metrics}");
    }
    assert!(!metrics.contains("{rest:.*}"), "{metrics}");

    // The journal keeps the path as the client sent it, with its tenant and region.
    let journal: Value = app
        .client
        .get(format!("{}/_understudy/v1/journal", app.address))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let fog = journal["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["path"] == format!("/ORD/v1.0/{TENANT}/loadbalancers.json"))
        .unwrap_or_else(|| panic!("the FOG request is journaled as sent: {journal}"));
    assert_eq!(fog["status"], 200);
    assert_eq!(fog["tenant"], TENANT);
    assert_eq!(fog["region"], "ORD");
    assert_eq!(fog["route"], "/{region}/v1.0/{tenant_id}/loadbalancers");
    let feed = journal["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["path"].as_str().is_some_and(|p| p.ends_with(".atom")))
        .unwrap_or_else(|| panic!("the feed is journaled: {journal}"));
    assert_eq!(
        feed["route"],
        "/{region}/v1.0/{tenant_id}/loadbalancers/{id}/nodes/{node_id}.atom"
    );
}

#[tokio::test]
async fn a_fault_rule_for_a_region_matches_the_requests_served_in_it() {
    let app = spawn_app().await;
    let res = app
        .client
        .post(format!("{}/_understudy/v1/faults", app.address))
        .json(&json!({"match": {"service": "lb", "region": "ORD"}, "action": {"type": "error", "status": 503}}))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "fault rule created");
    let url = |prefix: &str| format!("{}{prefix}/v1.0/{TENANT}/loadbalancers", app.address);
    let status = |res: reqwest::Response| res.status().as_u16();

    let res = app.call_url(Method::GET, &url("/ORD"), None).await;
    assert_eq!(status(res), 503);
    let res = app.call_url(Method::GET, &url(""), None).await;
    assert_eq!(status(res), 503, "the default region is ORD");
    let res = app.call_url(Method::GET, &url("/DFW"), None).await;
    assert_eq!(status(res), 200);
    let res = app.call_url(Method::GET, &url("/ord"), None).await;
    assert_eq!(
        status(res),
        404,
        "ord is no region: an unknown route, not ORD"
    );
}
