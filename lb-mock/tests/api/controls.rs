//! Mimic's cloudLoadBalancerControl API: balancer status PATCH and node status PUT.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{assert_fault, body, node, spawn_with, TENANT};

#[tokio::test]
async fn patch_attributes_sets_a_status_that_sticks() {
    let app = spawn_with(|s| s.lb.pending_update_time_ms = 1000).await;
    let id = app.create_lb(json!({})).await;
    for status in [
        "PENDING_UPDATE",
        "PENDING_DELETE",
        "ERROR",
        "SUSPENDED",
        "ACTIVE",
    ] {
        let res = app
            .control(
                Method::PATCH,
                &format!("/loadbalancer/{id}/attributes"),
                &format!(r#"{{"status":"{status}"}}"#),
            )
            .await;
        assert_eq!(res.status().as_u16(), 204, "{status}");
        app.advance(3600.0).await;
        assert_eq!(app.status(id).await, status, "{status} sticks");
    }
}

#[tokio::test]
async fn pending_delete_from_the_control_plane_blocks_scale_up_with_otters_text() {
    let app = spawn_with(|_| {}).await;
    let id = app.create_lb(json!({})).await;
    app.control(
        Method::PATCH,
        &format!("/loadbalancer/{id}/attributes"),
        r#"{"status": "PENDING_DELETE"}"#,
    )
    .await;
    let res = app.add_nodes(id, json!([node("10.0.0.1", 80)])).await;
    assert_eq!(res.status().as_u16(), 422);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("has a status of 'PENDING_DELETE'"));
}

#[tokio::test]
async fn patch_attributes_errors_use_mimics_texts() {
    let app = spawn_with(|_| {}).await;
    let id = app.create_lb(json!({})).await;
    let path = format!("/loadbalancer/{id}/attributes");
    assert_fault(
        app.control(Method::PATCH, &path, r#"{"name": "x"}"#).await,
        400,
        "Attempt to alter a bad attribute",
    )
    .await;
    assert_fault(
        app.control(Method::PATCH, &path, r#"{"status": "BUILD"}"#).await,
        400,
        "Unsupported status BUILD not one of [u'ACTIVE', u'ERROR', u'PENDING_DELETE', u'PENDING_UPDATE', u'SUSPENDED']",
    )
    .await;
    // A value that is no string is named as Python prints it.
    for (value, named) in [("5", "5"), ("null", "None"), ("true", "True")] {
        assert_fault(
            app.control(Method::PATCH, &path, &format!(r#"{{"status": {value}}}"#))
                .await,
            400,
            &format!("Unsupported status {named} not one of [u'ACTIVE', u'ERROR', u'PENDING_DELETE', u'PENDING_UPDATE', u'SUSPENDED']"),
        )
        .await;
    }
    assert_fault(
        app.control(
            Method::PATCH,
            "/loadbalancer/4242/attributes",
            r#"{"status": "ERROR"}"#,
        )
        .await,
        404,
        &format!("Tenant {TENANT} doesn't own load balancer 4242"),
    )
    .await;
}

#[tokio::test]
async fn node_status_put_wins_over_the_health_monitor() {
    let app = spawn_with(|_| {}).await;
    let id = app.create_lb(json!({})).await;
    let res = app
        .put(&format!("/loadbalancers/{id}/healthmonitor"), json!({"healthMonitor": {"type": "CONNECT", "delay": 10, "timeout": 10, "attemptsBeforeDeactivation": 3}}))
        .await;
    assert_eq!(res.status().as_u16(), 202);
    let added = body(
        app.add_nodes(
            id,
            json!([{"address": "10.0.0.1", "port": 80, "condition": "DRAINING"}]),
        )
        .await,
    )
    .await;
    assert_eq!(
        added["nodes"][0]["status"], "OFFLINE",
        "new nodes wait to be found healthy"
    );
    let nid = added["nodes"][0]["id"].as_u64().unwrap();
    let res = app
        .control(
            Method::PUT,
            &format!("/loadbalancers/{id}/nodes/{nid}/status"),
            r#"{"status": "ONLINE"}"#,
        )
        .await;
    assert_eq!(res.status().as_u16(), 200);
    let n = body(app.get(&format!("/loadbalancers/{id}/nodes/{nid}")).await).await;
    assert_eq!(
        (
            n["node"]["status"].as_str(),
            n["node"]["condition"].as_str()
        ),
        (Some("ONLINE"), Some("DRAINING"))
    );
    app.control(
        Method::PUT,
        &format!("/loadbalancers/{id}/nodes/{nid}/status"),
        r#"{"status": "OFFLINE"}"#,
    )
    .await;
    assert_eq!(app.lb(id).await["nodes"][0]["status"], "OFFLINE");
}

#[tokio::test]
async fn node_status_put_errors_use_mimics_texts() {
    let app = spawn_with(|_| {}).await;
    let id = app
        .create_lb(json!({"nodes": [node("10.0.0.1", 80)]}))
        .await;
    let nid = app.lb(id).await["nodes"][0]["id"].as_u64().unwrap();
    assert_fault(
        app.control(
            Method::PUT,
            &format!("/loadbalancers/{id}/nodes/{nid}/status"),
            r#"{"status": "MAYBE"}"#,
        )
        .await,
        400,
        "status key not found or it must have ONLINE or OFFLINE value",
    )
    .await;
    assert_fault(
        app.control(
            Method::PUT,
            &format!("/loadbalancers/4242/nodes/{nid}/status"),
            r#"{"status": "ONLINE"}"#,
        )
        .await,
        404,
        &format!("Tenant {TENANT} doesn't own load balancer 4242"),
    )
    .await;
    assert_fault(
        app.control(
            Method::PUT,
            &format!("/loadbalancers/{id}/nodes/777777/status"),
            r#"{"status": "ONLINE"}"#,
        )
        .await,
        404,
        &format!("Load balancer {id} on tenant {TENANT} does not have node 777777"),
    )
    .await;
}

#[tokio::test]
async fn monitored_nodes_turn_online_after_the_configured_time() {
    let app = spawn_with(|s| s.lb.health_monitor_online_after_ms = 20_000).await;
    let id = app
        .create_lb(json!({"healthMonitor": {"type": "CONNECT", "delay": 10, "timeout": 10, "attemptsBeforeDeactivation": 3}, "nodes": [node("10.0.0.1", 80)]}))
        .await;
    assert_eq!(app.lb(id).await["nodes"][0]["status"], "OFFLINE");
    app.advance(20.0).await;
    assert_eq!(app.lb(id).await["nodes"][0]["status"], "ONLINE");
}

#[tokio::test]
async fn controls_need_no_token_and_are_exempt_from_faults() {
    let app = spawn_with(|_| {}).await;
    let id = app.create_lb(json!({})).await;
    let res = app
        .client
        .post(format!("{}/_understudy/v1/faults", app.address))
        .json(&json!({"match": {"service": "lb"}, "action": {"type": "error", "status": 503}}))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "fault rule created");
    assert_eq!(
        app.get("/loadbalancers").await.status().as_u16(),
        503,
        "the API is faulted"
    );
    let res = app
        .control(
            Method::PATCH,
            &format!("/loadbalancer/{id}/attributes"),
            r#"{"status": "ERROR"}"#,
        )
        .await;
    assert_eq!(res.status().as_u16(), 204, "the control API is not");
}

#[tokio::test]
async fn controls_only_reach_the_tenant_and_region_in_their_url() {
    let app = spawn_with(|_| {}).await;
    let id = app.create_lb(json!({})).await;
    let res = app
        .client
        .patch(format!(
            "{}/mimic/ORD/v1.0/999/loadbalancer/{id}/attributes",
            app.address
        ))
        .body(r#"{"status": "ERROR"}"#)
        .send()
        .await
        .unwrap();
    assert_fault(
        res,
        404,
        &format!("Tenant 999 doesn't own load balancer {id}"),
    )
    .await;
    let res = app
        .client
        .patch(format!(
            "{}/mimic/DFW/v1.0/{TENANT}/loadbalancer/{id}/attributes",
            app.address
        ))
        .body(r#"{"status": "ERROR"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 404, "another region");
    assert_eq!(app.status(id).await, "ACTIVE");
}

#[tokio::test]
async fn with_an_admin_token_mimics_controls_need_it_too() {
    let app = spawn_with(|s| s.base.control.admin_token = "s3cret".into()).await;
    let id = app.create_lb(json!({})).await;
    let path = format!("/loadbalancer/{id}/attributes");

    let without = app
        .control(Method::PATCH, &path, r#"{"status": "ERROR"}"#)
        .await;
    let with = app
        .client
        .patch(format!("{}/mimic/ORD/v1.0/{TENANT}{path}", app.address))
        .header("X-Admin-Token", "s3cret")
        .body(r#"{"status": "ERROR"}"#)
        .send()
        .await
        .unwrap();

    assert_eq!(without.status().as_u16(), 401);
    assert_eq!(with.status().as_u16(), 204);
    assert_eq!(app.status(id).await, "ERROR");
}
