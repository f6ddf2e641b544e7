//! The status machine under clock advances, the texts of every state, and otter's regexes.

use regex::Regex;
use serde_json::json;

use crate::helpers::{assert_fault, body, lb_body, node, spawn_app, spawn_with};

fn otter(pattern: &str) -> Regex {
    // otter matches with Python's re.match: anchored at the start, case-insensitive.
    Regex::new(&format!("(?i)^(?:{pattern})")).unwrap()
}

#[tokio::test]
async fn build_then_active_after_the_build_time() {
    let app = spawn_with(|s| s.lb.build_time_ms = 30_000).await;
    let res = app.post("/loadbalancers", lb_body(json!({}))).await;
    let b = body(res).await;
    assert_eq!(b["loadBalancer"]["status"], "BUILD");
    let id = b["loadBalancer"]["id"].as_u64().unwrap();
    assert_fault(
        app.add_nodes(id, json!([node("10.0.0.1", 80)])).await,
        422,
        &format!("Load Balancer '{id}' has a status of 'BUILD' and is considered immutable."),
    )
    .await;
    assert_fault(
        app.delete(&format!("/loadbalancers/{id}")).await,
        400,
        &format!(
            "Must provide valid load balancers: {id}  are immutable and could not be processed."
        ),
    )
    .await;
    app.advance(29.0).await;
    assert_eq!(app.status(id).await, "BUILD");
    app.advance(1.5).await;
    assert_eq!(app.status(id).await, "ACTIVE");
}

#[tokio::test]
async fn every_change_passes_through_pending_update() {
    let app = spawn_with(|s| s.lb.pending_update_time_ms = 5_000).await;
    let id = app.create_lb(json!({})).await;
    assert_eq!(
        app.add_nodes(id, json!([node("10.0.0.1", 80)]))
            .await
            .status()
            .as_u16(),
        202
    );
    assert_eq!(app.status(id).await, "PENDING_UPDATE");
    let res = app.add_nodes(id, json!([node("10.0.0.2", 80)])).await;
    let text = format!(
        "Load Balancer '{id}' has a status of 'PENDING_UPDATE' and is considered immutable."
    );
    assert_fault(res, 422, &text).await;
    assert!(
        otter(r"Load\s*Balancer '\d+' has a status of '[^']+' and is considered immutable")
            .is_match(&text)
    );
    assert_fault(
        app.delete(&format!("/loadbalancers/{id}/nodes?id=1")).await,
        422,
        "LoadBalancer is not ACTIVE",
    )
    .await;
    assert_fault(
        app.delete(&format!("/loadbalancers/{id}")).await,
        400,
        &format!("Must provide valid load balancers: {id}  could not be found."),
    )
    .await;
    app.advance(5.0).await;
    assert_eq!(app.status(id).await, "ACTIVE");
    app.put(
        &format!("/loadbalancers/{id}"),
        json!({"loadBalancer": {"name": "n"}}),
    )
    .await;
    assert_eq!(app.status(id).await, "PENDING_UPDATE", "an LB update too");
}

#[tokio::test]
async fn delete_goes_pending_delete_then_deleted_then_404() {
    let app = spawn_with(|s| {
        s.lb.pending_delete_time_ms = 10_000;
        s.lb.deleted_visible_time_ms = 60_000;
    })
    .await;
    let id = app
        .create_lb(json!({"nodes": [node("10.0.0.1", 80)]}))
        .await;
    assert_eq!(
        app.delete(&format!("/loadbalancers/{id}"))
            .await
            .status()
            .as_u16(),
        202
    );
    assert_eq!(app.status(id).await, "PENDING_DELETE");
    let text = format!(
        "Load Balancer '{id}' has a status of 'PENDING_DELETE' and is considered immutable."
    );
    assert_fault(
        app.add_nodes(id, json!([node("10.0.0.2", 80)])).await,
        422,
        &text,
    )
    .await;
    app.advance(10.0).await;
    let lb = app.lb(id).await;
    assert_eq!(lb["status"], "DELETED");
    assert_eq!(
        lb.as_object().unwrap().keys().cloned().collect::<Vec<_>>(),
        vec!["created", "id", "name", "status", "updated"],
        "the reduced body of a deleted balancer"
    );
    let gone = "The loadbalancer is marked as deleted.";
    assert!(otter(r"The load\s*balancer is marked as deleted").is_match(gone));
    assert_fault(
        app.get(&format!("/loadbalancers/{id}/nodes")).await,
        410,
        gone,
    )
    .await;
    assert_fault(
        app.get(&format!("/loadbalancers/{id}/healthmonitor")).await,
        410,
        gone,
    )
    .await;
    assert_fault(
        app.get(&format!("/loadbalancers/{id}/virtualips")).await,
        410,
        gone,
    )
    .await;
    assert_fault(
        app.add_nodes(id, json!([node("10.0.0.2", 80)])).await,
        422,
        "The load balancer is deleted and considered immutable.",
    )
    .await;
    assert_fault(
        app.delete(&format!("/loadbalancers/{id}/nodes?id=1")).await,
        422,
        "The load balancer is deleted and considered immutable.",
    )
    .await;
    assert_fault(
        app.delete(&format!("/loadbalancers/{id}")).await,
        400,
        &format!("Must provide valid load balancers: {id}  could not be found."),
    )
    .await;
    app.advance(60.0).await;
    assert_fault(
        app.get(&format!("/loadbalancers/{id}")).await,
        404,
        "Load balancer not found",
    )
    .await;
    assert_fault(
        app.get(&format!("/loadbalancers/{id}/nodes")).await,
        404,
        "Load balancer not found",
    )
    .await;
    let deleted = body(app.get("/loadbalancers?status=DELETED").await).await;
    assert_eq!(deleted["loadBalancers"], json!([]));
}

#[tokio::test]
async fn by_default_delete_is_deleted_at_once_and_visible_for_an_hour() {
    let app = spawn_app().await;
    let id = app.create_lb(json!({})).await;
    app.delete(&format!("/loadbalancers/{id}")).await;
    assert_eq!(app.status(id).await, "DELETED");
    app.advance(3599.0).await;
    assert_eq!(app.status(id).await, "DELETED");
    app.advance(2.0).await;
    assert_eq!(
        app.get(&format!("/loadbalancers/{id}"))
            .await
            .status()
            .as_u16(),
        404,
        "never 500"
    );
}

#[tokio::test]
async fn error_and_suspended_balancers_can_be_deleted_but_not_changed() {
    let app = spawn_app().await;
    for status in ["ERROR", "SUSPENDED"] {
        let id = app.create_lb(json!({})).await;
        let res = app
            .control(
                reqwest::Method::PATCH,
                &format!("/loadbalancer/{id}/attributes"),
                &format!(r#"{{"status": "{status}"}}"#),
            )
            .await;
        assert_eq!(res.status().as_u16(), 204);
        assert_fault(
            app.put(&format!("/loadbalancers/{id}/healthmonitor"), json!({"healthMonitor": {"type": "CONNECT", "delay": 10, "timeout": 10, "attemptsBeforeDeactivation": 3}})).await,
            422,
            &format!("Load Balancer '{id}' has a status of '{status}' and is considered immutable."),
        )
        .await;
        assert_eq!(
            app.delete(&format!("/loadbalancers/{id}"))
                .await
                .status()
                .as_u16(),
            202,
            "{status} deletes"
        );
        assert_eq!(app.status(id).await, "DELETED");
    }
}

#[tokio::test]
async fn otter_regexes_match_our_texts_from_the_first_character() {
    let app = spawn_app().await;
    let id = app
        .create_lb(json!({"nodes": [node("10.0.0.1", 80)]}))
        .await;
    let res = app.add_nodes(id, json!([node("10.0.0.1", 80)])).await;
    let m = body(res).await["message"].as_str().unwrap().to_string();
    assert!(otter("Duplicate nodes detected").is_match(&m), "{m}");
    let nodes: Vec<_> = (2..=26).map(|i| node(&format!("10.0.0.{i}"), 80)).collect();
    let m = body(app.add_nodes(id, json!(nodes)).await).await["message"]
        .as_str()
        .unwrap()
        .to_string();
    let caps = otter(r"Nodes must not exceed (\d+) per load\s*balancer")
        .captures(&m)
        .unwrap();
    assert_eq!(&caps[1], "25");
    let m = body(app.get("/loadbalancers/4242").await).await["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(otter(r"Load\s*balancer not found").is_match(&m));
    let m = body(
        app.delete(&format!("/loadbalancers/{id}/nodes?id=31&id=32"))
            .await,
    )
    .await;
    let first = m["validationErrors"]["messages"][0].as_str().unwrap();
    let caps = otter(r"Node ids ((?:\d+,)*(?:\d+)) are not a part of your load\s*balancer")
        .captures(first)
        .unwrap();
    assert_eq!(&caps[1], "31,32");
    let m = body(
        app.put(
            &format!("/loadbalancers/{id}/nodes/31"),
            json!({"node": {"condition": "ENABLED"}}),
        )
        .await,
    )
    .await;
    assert!(
        otter(r"Node with id #\d+ not found for load\s*balancer #\d+$")
            .is_match(m["message"].as_str().unwrap())
    );
}

#[tokio::test]
async fn mimic_metadata_keys_drive_the_status() {
    let app = spawn_app().await;
    let meta = |k: &str, v: &str| json!({"metadata": [{"key": k, "value": v}]});
    // lb_building: BUILD for N seconds.
    let b = body(
        app.post("/loadbalancers", lb_body(meta("lb_building", "5")))
            .await,
    )
    .await;
    let id = b["loadBalancer"]["id"].as_u64().unwrap();
    assert_eq!(b["loadBalancer"]["status"], "BUILD");
    assert_eq!(b["loadBalancer"]["metadata"][0]["key"], "lb_building");
    app.advance(5.0).await;
    assert_eq!(app.status(id).await, "ACTIVE");
    // lb_pending_update: every change leaves PENDING_UPDATE (underscore) for N seconds.
    let id = app.create_lb(meta("lb_pending_update", "3")).await;
    app.add_nodes(id, json!([node("10.0.0.1", 80)])).await;
    assert_eq!(app.status(id).await, "PENDING_UPDATE");
    app.advance(3.0).await;
    assert_eq!(app.status(id).await, "ACTIVE");
    // lb_pending_delete: DELETE leaves PENDING_DELETE for N seconds.
    let id = app.create_lb(meta("lb_pending_delete", "4")).await;
    app.delete(&format!("/loadbalancers/{id}")).await;
    assert_eq!(app.status(id).await, "PENDING_DELETE");
    app.advance(4.0).await;
    assert_eq!(app.status(id).await, "DELETED");
    // lb_error_state: not at create; the first node change ends in ERROR, which sticks.
    let id = app.create_lb(meta("lb_error_state", "true")).await;
    assert_eq!(app.status(id).await, "ACTIVE");
    app.add_nodes(id, json!([node("10.0.0.1", 80)])).await;
    assert_eq!(app.status(id).await, "ERROR");
    app.advance(1000.0).await;
    assert_eq!(app.status(id).await, "ERROR");
}

#[tokio::test]
async fn every_mutation_sets_pending_update_and_is_refused_while_not_active() {
    let app = spawn_with(|s| s.lb.pending_update_time_ms = 1000).await;
    let hm = json!({"healthMonitor": {"type": "CONNECT", "delay": 10, "timeout": 10, "attemptsBeforeDeactivation": 3}});
    let cases: Vec<(&str, &str, serde_json::Value)> = vec![
        ("PUT", "", json!({"loadBalancer": {"name": "n"}})),
        ("POST", "/nodes", json!({"nodes": [node("10.0.0.2", 80)]})),
        (
            "PUT",
            "/nodes/{nid}",
            json!({"node": {"condition": "DRAINING"}}),
        ),
        ("DELETE", "/nodes/{nid}", json!(null)),
        ("DELETE", "/nodes?id={nid}", json!(null)),
        ("PUT", "/healthmonitor", hm.clone()),
        (
            "PUT",
            "/sessionpersistence",
            json!({"sessionPersistence": {"persistenceType": "SOURCE_IP"}}),
        ),
        (
            "PUT",
            "/connectionthrottle",
            json!({"connectionThrottle": {"maxConnections": 10}}),
        ),
        (
            "POST",
            "/accesslist",
            json!({"accessList": [{"address": "10.1.0.0/16", "type": "DENY"}]}),
        ),
        (
            "PUT",
            "/contentcaching",
            json!({"contentCaching": {"enabled": true}}),
        ),
        (
            "PUT",
            "/connectionlogging",
            json!({"connectionLogging": {"enabled": true}}),
        ),
        (
            "POST",
            "/virtualips",
            json!({"type": "PUBLIC", "ipVersion": "IPV6"}),
        ),
    ];
    for (method, path, payload) in cases {
        let id = app
            .create_lb(json!({"nodes": [node("10.0.0.1", 80), node("10.0.0.3", 80)]}))
            .await;
        let lb = app.lb(id).await;
        let (first, second) = (
            lb["nodes"][0]["id"].as_u64().unwrap(),
            lb["nodes"][1]["id"].as_u64().unwrap(),
        );
        let at = |nid: u64| {
            format!(
                "/loadbalancers/{id}{}",
                path.replace("{nid}", &nid.to_string())
            )
        };
        let path = at(first);
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let payload = (!payload.is_null()).then_some(payload);
        let res = app.call(method.clone(), &path, payload.clone()).await;
        assert_eq!(res.status().as_u16(), 202, "{method} {path}");
        assert_eq!(app.status(id).await, "PENDING_UPDATE", "{method} {path}");
        // The same change again, on the node that is still there.
        let res = app.call(method.clone(), &at(second), payload).await;
        assert_eq!(
            res.status().as_u16(),
            422,
            "{method} {path} while PENDING_UPDATE"
        );
        app.advance(1.0).await;
        assert_eq!(app.status(id).await, "ACTIVE", "{method} {path}");
    }
}

#[tokio::test]
async fn metadata_changes_leave_the_status_alone() {
    let app = spawn_with(|s| s.lb.pending_update_time_ms = 1000).await;
    let id = app.create_lb(json!({})).await;
    let res = app
        .post(
            &format!("/loadbalancers/{id}/metadata"),
            json!({"metadata": [{"key": "k", "value": "v"}]}),
        )
        .await;
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(app.status(id).await, "ACTIVE");
}

#[tokio::test]
async fn stats_need_an_active_balancer() {
    let app = spawn_with(|s| s.lb.build_time_ms = 1000).await;
    let res = app.post("/loadbalancers", lb_body(json!({}))).await;
    let id = body(res).await["loadBalancer"]["id"].as_u64().unwrap();
    assert_fault(
        app.get(&format!("/loadbalancers/{id}/stats")).await,
        422,
        "The load balancer is not available to display statistics.",
    )
    .await;
}

#[tokio::test]
async fn a_deleted_balancers_node_and_feed_reads_are_410() {
    let app = spawn_app().await;
    let id = app
        .create_lb(json!({"nodes": [node("10.0.0.1", 80)]}))
        .await;
    let nid = app.lb(id).await["nodes"][0]["id"].as_u64().unwrap();
    app.delete(&format!("/loadbalancers/{id}")).await;
    let gone = "The loadbalancer is marked as deleted.";
    assert_fault(
        app.get(&format!("/loadbalancers/{id}/nodes/{nid}")).await,
        410,
        gone,
    )
    .await;
    // The feed says it in XML, as the feed is.
    let feed = app
        .get(&format!("/loadbalancers/{id}/nodes/{nid}.atom"))
        .await;
    assert_eq!(feed.status().as_u16(), 410);
    assert!(feed
        .text()
        .await
        .unwrap()
        .contains(&format!(r#"code="410">{gone}</message>"#)));
    assert_fault(
        app.put(
            &format!("/loadbalancers/{id}/nodes/{nid}"),
            json!({"node": {"condition": "DISABLED"}}),
        )
        .await,
        422,
        "The load balancer is deleted and considered immutable.",
    )
    .await;
}
