//! Node status follows Compute server status, found through the catalog.

use serde_json::{json, Value};

use common::context::Shared;
use common::settings::ServiceEntry;

use crate::helpers::{body, node, settings, spawn_app, spawn_settings, TENANT};

#[tokio::test]
async fn a_node_on_a_server_that_is_not_active_is_offline() {
    // One store and one clock for both mocks, as the launcher runs them.
    let mut cs: compute_mock::configuration::Settings = common::settings::defaults().unwrap();
    cs.base.server.port = 0;
    cs.base.store = test_support::store_under_test();
    cs.compute.build_time_ms = 60_000;
    let shared = Shared::new(&cs.base, "compute").unwrap();
    let compute = compute_mock::build(cs, Some(shared.clone())).unwrap();
    let compute_port = compute.port();
    tokio::spawn(compute.run_until_stopped());

    let mut s = settings();
    s.base.catalog.services = vec![ServiceEntry {
        name: "cloudServersOpenStack".into(),
        kind: "compute".into(),
        regions: vec![],
        public_url: format!("http://127.0.0.1:{compute_port}/{{region}}/v2/{{tenant_id}}"),
        internal_url: None,
        admin_url: None,
        external: false,
    }];
    s.lb.compute_cache_ms = 0;
    let app = spawn_settings(s, Some(shared)).await;

    let images: Value = app
        .client
        .get(format!(
            "http://127.0.0.1:{compute_port}/ORD/v2/{TENANT}/images"
        ))
        .header("X-Auth-Token", &app.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let image = images["images"][0]["id"]
        .as_str()
        .expect("an image")
        .to_string();
    let res = app
        .client
        .post(format!(
            "http://127.0.0.1:{compute_port}/ORD/v2/{TENANT}/servers"
        ))
        .header("X-Auth-Token", &app.token)
        .json(&json!({"server": {"name": "web-1", "imageRef": image, "flavorRef": "2"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status().as_u16(),
        202,
        "compute creates the server: {:?}",
        res.text().await
    );
    let servers: Value = app
        .client
        .get(format!(
            "http://127.0.0.1:{compute_port}/ORD/v2/{TENANT}/servers/detail"
        ))
        .header("X-Auth-Token", &app.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let server = &servers["servers"][0];
    assert_eq!(server["status"], "BUILD");
    let address = server["addresses"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|v| v.as_array().unwrap().iter())
        .find_map(|a| a["addr"].as_str())
        .expect("the server has an address")
        .to_string();

    let id = app
        .create_lb(json!({"nodes": [node(&address, 80), node("192.0.2.10", 80)]}))
        .await;
    let lb = app.lb(id).await;
    let status_of = |lb: &Value, a: &str| {
        lb["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["address"] == a)
            .unwrap()["status"]
            .clone()
    };
    assert_eq!(status_of(&lb, &address), "OFFLINE", "server in BUILD");
    assert_eq!(status_of(&lb, "192.0.2.10"), "ONLINE", "not a server");

    app.advance(61.0).await;
    let lb = app.lb(id).await;
    assert_eq!(status_of(&lb, &address), "ONLINE", "server ACTIVE");
}

#[tokio::test]
async fn without_compute_in_the_catalog_nodes_are_online() {
    let app = spawn_app().await;
    let id = app
        .create_lb(json!({"nodes": [node("10.0.0.1", 80)]}))
        .await;
    let n = body(app.get(&format!("/loadbalancers/{id}/nodes")).await).await;
    assert_eq!(n["nodes"][0]["status"], "ONLINE");
}
