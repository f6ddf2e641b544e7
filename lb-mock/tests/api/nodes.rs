//! Nodes: batch add, list, show, update, delete, bulk delete, limits, feed, metadata.

use serde_json::{json, Value};

use crate::helpers::{assert_fault, assert_validation, body, node, spawn_app, spawn_with};

#[tokio::test]
async fn add_nodes_answers_202_with_the_new_nodes() {
    let app = spawn_app().await;
    let id = app.create_lb(json!({})).await;
    let res = app
        .add_nodes(id, json!([node("10.0.0.1", 80), {"address": "10.0.0.2", "port": 81, "condition": "DRAINING", "weight": 10, "type": "PRIMARY"}]))
        .await;
    assert_eq!(res.status().as_u16(), 202);
    let b = body(res).await;
    let nodes = b["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 2);
    assert_eq!(nodes[1]["condition"], "DRAINING");
    assert_eq!(nodes[1]["weight"], 10);
    assert_eq!(nodes[0]["status"], "ONLINE");
    for n in nodes {
        let keys: Vec<&String> = n.as_object().unwrap().keys().collect();
        for k in &keys {
            assert!(
                [
                    "address",
                    "id",
                    "port",
                    "status",
                    "condition",
                    "weight",
                    "type"
                ]
                .contains(&k.as_str()),
                "pyrax-safe keys only, got {k}"
            );
        }
    }
    let list = body(app.get(&format!("/loadbalancers/{id}/nodes")).await).await;
    assert_eq!(list["nodes"].as_array().unwrap().len(), 2);
    assert_eq!(app.lb(id).await["nodeCount"], 2);
}

#[tokio::test]
async fn get_node_includes_metadata_and_unknown_node_is_404() {
    let app = spawn_app().await;
    let id = app
        .create_lb(json!({"nodes": [node("10.0.0.1", 80)]}))
        .await;
    let nid = app.lb(id).await["nodes"][0]["id"].as_u64().unwrap();
    let n = body(app.get(&format!("/loadbalancers/{id}/nodes/{nid}")).await).await;
    assert_eq!(n["node"]["address"], "10.0.0.1");
    assert_eq!(n["node"]["metadata"], json!([]));
    assert_fault(
        app.get(&format!("/loadbalancers/{id}/nodes/999999")).await,
        404,
        "Node not found",
    )
    .await;
    assert_fault(
        app.get("/loadbalancers/999999/nodes").await,
        404,
        "Load balancer not found",
    )
    .await;
}

#[tokio::test]
async fn add_node_validation_texts() {
    let app = spawn_app().await;
    let id = app.create_lb(json!({})).await;
    let cases: Vec<(Value, Vec<&str>)> = vec![
        (json!([{"port": 80}]), vec!["Must provide a valid ip for the node."]),
        (json!([{"address": "10.0.0.1"}]), vec!["Must provide a valid port for the node."]),
        (json!([{"address": "999.1.1.1", "port": 80}]), vec!["Node ip is invalid. Please specify a valid ip."]),
        (json!([{"address": "10.0.0.1", "port": 0}]), vec!["Node port is invalid. Please specify a valid port."]),
        (json!([{"address": "10.0.0.1", "port": 80, "weight": 101}]), vec!["Node weight is invalid. Range is 1-100. Please specify a valid weight."]),
        (json!([{"address": "10.0.0.1", "port": 80, "status": "ONLINE"}]), vec!["Node status field cannot be modified."]),
        (json!([node("10.0.0.1", 80), node("10.0.0.1", 80)]), vec!["Duplicate nodes detected. Please ensure that the ip address and port are unique for each node."]),
    ];
    for (nodes, messages) in cases {
        assert_validation(app.add_nodes(id, nodes).await, &messages).await;
    }
    let res = app
        .add_nodes(
            id,
            json!([{"address": "10.0.0.1", "port": 80, "condition": "SLEEPY"}]),
        )
        .await;
    assert_eq!(res.status().as_u16(), 400);
    assert_eq!(
        body(res).await,
        json!({"validationErrors": {"messages": ["JSON does not match the expected schema"]},
               "message": "Validation Failure", "code": 400, "details": "The object is not valid"})
    );
}

#[tokio::test]
async fn duplicate_nodes_are_422() {
    let app = spawn_app().await;
    let id = app
        .create_lb(json!({"nodes": [node("10.0.0.1", 80)]}))
        .await;
    assert_fault(
        app.add_nodes(id, json!([node("10.0.0.1", 80)])).await,
        422,
        "Duplicate nodes detected. One or more nodes already configured on load balancer.",
    )
    .await;
    assert_eq!(
        app.add_nodes(id, json!([node("10.0.0.1", 81)]))
            .await
            .status()
            .as_u16(),
        202,
        "another port is another node"
    );
}

#[tokio::test]
async fn the_node_limit_is_413() {
    let app = spawn_app().await;
    let id = app.create_lb(json!({})).await;
    let nodes: Vec<Value> = (1..=24).map(|i| node(&format!("10.0.1.{i}"), 80)).collect();
    assert_eq!(app.add_nodes(id, json!(nodes)).await.status().as_u16(), 202);
    assert_fault(
        app.add_nodes(id, json!([node("10.0.2.1", 80), node("10.0.2.2", 80)]))
            .await,
        413,
        "Nodes must not exceed 25 per load balancer.",
    )
    .await;
    assert_eq!(
        app.add_nodes(id, json!([node("10.0.2.1", 80)]))
            .await
            .status()
            .as_u16(),
        202
    );
    assert_eq!(app.lb(id).await["nodeCount"], 25);
}

#[tokio::test]
async fn the_node_limit_follows_settings() {
    let app = spawn_with(|s| s.lb.node_limit = 2).await;
    let id = app.create_lb(json!({})).await;
    assert_fault(
        app.add_nodes(
            id,
            json!([
                node("10.0.0.1", 80),
                node("10.0.0.2", 80),
                node("10.0.0.3", 80)
            ]),
        )
        .await,
        413,
        "Nodes must not exceed 2 per load balancer.",
    )
    .await;
}

#[tokio::test]
async fn concurrent_adds_of_distinct_nodes_stop_at_exactly_25() {
    let app = spawn_app().await;
    let id = app.create_lb(json!({})).await;
    let calls = (0..40).map(|i| app.add_nodes(id, json!([node(&format!("10.9.0.{i}"), 80)])));
    let responses = futures_util::future::join_all(calls).await;
    let mut added = Vec::new();
    let mut over = 0;
    for res in responses {
        match res.status().as_u16() {
            202 => added.push(body(res).await["nodes"][0]["id"].as_u64().unwrap()),
            413 => over += 1,
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!(added.len(), 25);
    assert_eq!(over, 15);
    let list = body(app.get(&format!("/loadbalancers/{id}/nodes")).await).await;
    let mut stored: Vec<u64> = list["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_u64().unwrap())
        .collect();
    stored.sort_unstable();
    added.sort_unstable();
    assert_eq!(stored, added, "no node lost, none extra");
}

#[tokio::test]
async fn update_node_changes_condition_weight_and_type() {
    let app = spawn_app().await;
    let id = app
        .create_lb(json!({"nodes": [node("10.0.0.1", 80)]}))
        .await;
    let nid = app.lb(id).await["nodes"][0]["id"].as_u64().unwrap();
    let path = format!("/loadbalancers/{id}/nodes/{nid}");
    let res = app
        .put(
            &path,
            json!({"node": {"condition": "DRAINING", "weight": 7}}),
        )
        .await;
    assert_eq!(res.status().as_u16(), 202);
    let n = body(app.get(&path).await).await["node"].clone();
    assert_eq!(
        (n["condition"].as_str(), n["weight"].as_u64()),
        (Some("DRAINING"), Some(7))
    );
    assert_validation(
        app.put(
            &path,
            json!({"node": {"address": "1.1.1.1", "port": 81, "weight": 0, "id": 3}}),
        )
        .await,
        &[
            "Node ip field cannot be modified.",
            "Port field cannot be modified.",
            "Node weight is invalid. Range is 1-100. Please specify a valid weight.",
            "Node id field cannot be modified.",
        ],
    )
    .await;
    assert_validation(
        app.put(&path, json!({"node": {}})).await,
        &["The node must have at least one of the following to update: condition, weight, type."],
    )
    .await;
    let res = app.put(&path, json!({"condition": "ENABLED"})).await;
    assert_eq!(
        body(res).await,
        json!({"validationErrors": {"messages": ["JSON does not match the expected schema"]},
               "message": "Validation Failure", "code": 400, "details": "The object is not valid"})
    );
    assert_fault(
        app.put(
            &format!("/loadbalancers/{id}/nodes/4242"),
            json!({"node": {"condition": "ENABLED"}}),
        )
        .await,
        404,
        &format!("Node with id #4242 not found for loadbalancer #{id}"),
    )
    .await;
    assert_fault(
        app.put(&path, json!({"node": {"type": "SECONDARY"}})).await,
        400,
        "you must enable health monitoring to use secondary nodes",
    )
    .await;
}

#[tokio::test]
async fn delete_node_answers_202_and_unknown_is_404() {
    let app = spawn_app().await;
    let id = app
        .create_lb(json!({"nodes": [node("10.0.0.1", 80), node("10.0.0.2", 80)]}))
        .await;
    let nid = app.lb(id).await["nodes"][0]["id"].as_u64().unwrap();
    assert_eq!(
        app.delete(&format!("/loadbalancers/{id}/nodes/{nid}"))
            .await
            .status()
            .as_u16(),
        202
    );
    assert_eq!(app.lb(id).await["nodeCount"], 1);
    assert_fault(
        app.delete(&format!("/loadbalancers/{id}/nodes/{nid}"))
            .await,
        404,
        &format!("Node with id #{nid} not found for loadbalancer #{id}"),
    )
    .await;
}

#[tokio::test]
async fn bulk_delete_nodes_is_all_or_nothing() {
    let app = spawn_app().await;
    let nodes: Vec<Value> = (1..=3).map(|i| node(&format!("10.0.0.{i}"), 80)).collect();
    let id = app.create_lb(json!({"nodes": nodes})).await;
    let ids: Vec<u64> = app.lb(id).await["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_u64().unwrap())
        .collect();
    assert_fault(
        app.delete(&format!("/loadbalancers/{id}/nodes")).await,
        400,
        "Must supply one or more id's to process this request.",
    )
    .await;
    assert_validation(
        app.delete(&format!(
            "/loadbalancers/{id}/nodes?id={}&id=9001&id=9002",
            ids[0]
        ))
        .await,
        &["Node ids 9001,9002 are not a part of your loadbalancer"],
    )
    .await;
    assert_eq!(app.lb(id).await["nodeCount"], 3, "nothing deleted");
    let res = app
        .delete(&format!(
            "/loadbalancers/{id}/nodes?id={}&id={}",
            ids[0], ids[1]
        ))
        .await;
    assert_eq!(res.status().as_u16(), 202);
    assert_eq!(app.lb(id).await["nodes"][0]["id"], ids[2]);
    assert_eq!(
        app.delete(&format!("/loadbalancers/{id}/nodes?id=x"))
            .await
            .status()
            .as_u16(),
        404
    );
}

#[tokio::test]
async fn bulk_delete_names_the_batch_limit_before_unknown_ids() {
    let app = spawn_app().await;
    let nodes: Vec<Value> = (1..=11).map(|i| node(&format!("10.0.0.{i}"), 80)).collect();
    let id = app.create_lb(json!({"nodes": nodes})).await;
    let ids: Vec<u64> = app.lb(id).await["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_u64().unwrap())
        .collect();
    let q: String = ids.iter().map(|i| format!("id={i}&")).collect();
    assert_validation(
        app.delete(&format!("/loadbalancers/{id}/nodes?{q}id=5555")).await,
        &[
            "Request to delete 11 nodes exceeds the account limit BATCH_DELETE_LIMIT of 10 please attempt to delete fewer then 10 nodes",
            "Node ids 5555 are not a part of your loadbalancer",
        ],
    )
    .await;
}

#[tokio::test]
async fn node_feed_is_atom_even_with_a_json_accept_header() {
    let app = spawn_app().await;
    let id = app.create_lb(json!({})).await;
    let nid = body(app.add_nodes(id, json!([node("10.0.0.1", 80)])).await).await["nodes"][0]["id"]
        .as_u64()
        .unwrap();
    app.put(
        &format!("/loadbalancers/{id}/nodes/{nid}"),
        json!({"node": {"condition": "DRAINING"}}),
    )
    .await;
    let res = app
        .client
        .get(app.url(&format!("/loadbalancers/{id}/nodes/{nid}.atom")))
        .header("X-Auth-Token", &app.token)
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(res.headers()["content-type"], "application/atom+xml");
    let xml = res.text().await.unwrap();
    assert!(xml.contains(r#"<feed xmlns="http://www.w3.org/2005/Atom">"#));
    let updated = xml.find("Node successfully updated with address: '10.0.0.1', port: '80', weight: '1', condition: 'DRAINING'").expect("update entry");
    let created = xml.find("Node successfully created with address: '10.0.0.1', port: '80', condition: 'ENABLED', weight: '1'").expect("create entry");
    assert!(updated < created, "newest entry first");
    assert!(xml.contains("<updated>"));
    // An unknown node or balancer, or a deleted balancer, is answered in XML too.
    let ns = r#"xmlns="http://docs.openstack.org/loadbalancers/api/v1.0""#;
    let head = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>"#;
    for (path, what) in [
        (
            format!("/loadbalancers/{id}/nodes/77777.atom"),
            "Node not found",
        ),
        (
            format!("/loadbalancers/99999/nodes/{nid}.atom"),
            "Load balancer not found",
        ),
    ] {
        let res = app.get(&path).await;
        assert_eq!(res.status().as_u16(), 404, "{path}");
        assert_eq!(res.headers()["content-type"], "application/xml");
        assert_eq!(
            res.text().await.unwrap(),
            format!(
                r#"{head}<itemNotFound {ns} code="404"><message>{what}</message></itemNotFound>"#
            )
        );
    }
    assert_eq!(
        app.delete(&format!("/loadbalancers/{id}")).await.status(),
        202
    );
    app.advance(1.0).await;
    let res = app
        .get(&format!("/loadbalancers/{id}/nodes/{nid}.atom"))
        .await;
    assert_eq!(res.status().as_u16(), 410, "a deleted balancer's feed");
    assert_eq!(
        res.text().await.unwrap(),
        format!(
            r#"{head}<message {ns} code="410">The loadbalancer is marked as deleted.</message>"#
        )
    );
}

#[tokio::test]
async fn node_metadata_can_be_added_listed_and_removed() {
    let app = spawn_app().await;
    let id = app
        .create_lb(json!({"nodes": [node("10.0.0.1", 80)]}))
        .await;
    let nid = app.lb(id).await["nodes"][0]["id"].as_u64().unwrap();
    let base = format!("/loadbalancers/{id}/nodes/{nid}/metadata");
    let res = app
        .post(
            &base,
            json!({"metadata": [{"key": "color", "value": "red"}]}),
        )
        .await;
    assert_eq!(res.status().as_u16(), 200);
    let mid = body(res).await["metadata"][0]["id"].as_u64().unwrap();
    assert_fault(
        app.post(
            &base,
            json!({"metadata": [{"key": "color", "value": "blue"}]}),
        )
        .await,
        422,
        "Duplicate metadata keys detected. One or more metadata keys already configured on node.",
    )
    .await;
    let n = body(app.get(&format!("/loadbalancers/{id}/nodes/{nid}")).await).await;
    assert_eq!(n["node"]["metadata"][0]["key"], "color");
    assert!(app.lb(id).await["nodes"][0].get("metadata").is_none());
    assert_eq!(
        app.put(
            &format!("{base}/{mid}"),
            json!({"meta": {"value": "green"}})
        )
        .await
        .status()
        .as_u16(),
        200
    );
    assert_eq!(
        body(app.get(&format!("{base}/{mid}")).await).await["meta"]["value"],
        "green"
    );
    assert_eq!(
        app.delete(&format!("{base}/{mid}")).await.status().as_u16(),
        200
    );
    assert_fault(
        app.get(&format!("{base}/{mid}")).await,
        404,
        &format!("Node meta data {mid} doesn't exist on node {nid}."),
    )
    .await;
}

#[tokio::test]
async fn bulk_update_changes_several_nodes_at_once() {
    let app = spawn_app().await;
    let id = app
        .create_lb(json!({"nodes": [node("10.0.0.1", 80), node("10.0.0.2", 80)]}))
        .await;
    let ids: Vec<u64> = app.lb(id).await["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_u64().unwrap())
        .collect();
    let res = app
        .put(&format!("/loadbalancers/{id}/nodes"), json!({"nodes": [{"id": ids[0], "weight": 5}, {"id": ids[1], "condition": "DISABLED"}]}))
        .await;
    assert_eq!(res.status().as_u16(), 202);
    let b = body(res).await;
    assert_eq!(b["nodes"][0]["weight"], 5);
    assert_eq!(b["nodes"][1]["condition"], "DISABLED");
    assert_eq!(b["nodes"][0]["metadata"], json!([]));
    assert_fault(
        app.put(
            &format!("/loadbalancers/{id}/nodes"),
            json!({"nodes": [{"id": 4242, "weight": 5}]}),
        )
        .await,
        404,
        &format!("Node with id #4242 not found for loadbalancer #{id}"),
    )
    .await;
}

#[tokio::test]
async fn node_events_list_every_feed_entry_newest_first() {
    let app = spawn_app().await;
    let id = app
        .create_lb(json!({"nodes": [node("10.0.0.1", 80)]}))
        .await;
    let nid = app.lb(id).await["nodes"][0]["id"].as_u64().unwrap();
    app.advance(1.0).await;
    app.put(
        &format!("/loadbalancers/{id}/nodes/{nid}"),
        json!({"node": {"condition": "DRAINING"}}),
    )
    .await;
    let b = body(app.get(&format!("/loadbalancers/{id}/nodes/events")).await).await;
    let events = b["nodeServiceEvents"].as_array().unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0]["title"], "Node Successfully Updated");
    assert_eq!(events[1]["nodeId"], nid);
    assert_eq!(b["links"], json!([]));
}

#[tokio::test]
async fn a_refused_node_add_consumes_no_node_id() {
    let app = crate::helpers::spawn_with(|s| s.lb.node_limit = 2).await;
    let full = app.create_lb(json!({})).await;
    let res = app
        .add_nodes(full, json!([node("10.0.0.1", 80), node("10.0.0.2", 80)]))
        .await;
    assert_eq!(res.status().as_u16(), 202);
    let first_ids: Vec<u64> = body(res).await["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_u64().unwrap())
        .collect();

    let refused = app.add_nodes(full, json!([node("10.0.0.3", 80)])).await;
    assert_eq!(refused.status().as_u16(), 413);
    let other = app.create_lb(json!({})).await;
    let res = app.add_nodes(other, json!([node("10.0.0.4", 80)])).await;

    let next = body(res).await["nodes"][0]["id"].as_u64().unwrap();
    assert_eq!(
        next,
        first_ids.iter().max().unwrap() + 1,
        "no id was spent on the refusal"
    );
}
