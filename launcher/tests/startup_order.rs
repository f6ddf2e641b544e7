//! A mock whose Identity is not up yet starts anyway, says what it waits for, and becomes
//! ready once the catalog answers.
#![allow(clippy::unwrap_used)]

use serde_json::Value;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn compute_becomes_ready_when_identity_comes_up() {
    let identity_port = free_port();
    let mut compute: compute_mock::configuration::Settings = common::settings::defaults().unwrap();
    compute.base.server.port = 0;
    compute.base.server.workers = 1;
    compute.base.catalog.identity_url = format!("http://127.0.0.1:{identity_port}");
    compute.base.catalog.cache_ttl_ms = 0;
    let app = compute_mock::build(compute, None).unwrap();
    let ready_url = format!("http://127.0.0.1:{}/_understudy/v1/ready", app.port());
    tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::new();

    let res = client.get(&ready_url).send().await.unwrap();
    assert_eq!(res.status(), 503, "not ready while Identity is down");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["waiting_for"][0]["what"], "catalog");
    assert!(body["waiting_for"][0]["url"]
        .as_str()
        .unwrap()
        .contains(&identity_port.to_string()));

    let mut identity: identity_mock::configuration::Settings =
        common::settings::defaults().unwrap();
    identity.base.server.port = identity_port;
    identity.base.server.workers = 1;
    let app = identity_mock::build(identity, None).unwrap();
    tokio::spawn(app.run_until_stopped());

    let res = client.get(&ready_url).send().await.unwrap();
    assert_eq!(res.status(), 200, "ready once the catalog is reachable");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["ready"], true);
}
