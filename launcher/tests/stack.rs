//! The launcher runs all three mocks with one clock, one store and one catalog.
#![allow(clippy::unwrap_used)]

use serde_json::{json, Value};
use understudy::{Stack, StackSettings};

struct Running {
    identity: String,
    compute: String,
    lb: String,
    client: reqwest::Client,
}

async fn spawn_stack() -> Running {
    let stack = Stack::build(StackSettings::for_tests().unwrap()).unwrap();
    let url = |p: u16| format!("http://127.0.0.1:{p}");
    let running = Running {
        identity: url(stack.identity.port()),
        compute: url(stack.compute.port()),
        lb: url(stack.lb.port()),
        client: reqwest::Client::new(),
    };
    tokio::spawn(stack.run_until_stopped());
    running
}

#[tokio::test]
async fn all_three_mocks_answer_health() {
    let s = spawn_stack().await;
    for (base, name) in [
        (&s.identity, "identity"),
        (&s.compute, "compute"),
        (&s.lb, "lb"),
    ] {
        let res = s
            .client
            .get(format!("{base}/_understudy/v1/health"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{name}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["service"], name);
    }
}

#[tokio::test]
async fn a_tick_on_identity_moves_every_mock_clock() {
    let s = spawn_stack().await;
    let before: Value = s
        .client
        .get(format!("{}/_understudy/v1/clock", s.lb))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let res = s
        .client
        .post(format!("{}/mimic/v1.1/tick", s.identity))
        .body(json!({"amount": 86400}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    for base in [&s.compute, &s.lb] {
        let after: Value = s
            .client
            .get(format!("{base}/_understudy/v1/clock"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let moved = after["offset_ms"].as_i64().unwrap() - before["offset_ms"].as_i64().unwrap();
        assert_eq!(moved, 86_400_000, "{base}");
    }
}

#[tokio::test]
async fn the_catalog_points_at_the_ports_really_bound_and_a_token_works_everywhere() {
    let s = spawn_stack().await;
    let res = s
        .client
        .post(format!("{}/v2.0/tokens", s.identity))
        .json(&json!({"auth": {"passwordCredentials": {"username": "joe", "password": "x"}, "tenantId": "000001"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let access: Value = res.json().await.unwrap();
    let token = access["access"]["token"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let catalog = access["access"]["serviceCatalog"].as_array().unwrap();
    let url_of = |name: &str| {
        catalog
            .iter()
            .find(|s| s["name"] == name)
            .and_then(|s| {
                s["endpoints"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|e| e["region"] == "ORD")
            })
            .map(|e| e["publicURL"].as_str().unwrap().to_string())
            .unwrap()
    };
    let nova = url_of("cloudServersOpenStack");
    assert!(
        nova.starts_with(&s.compute.replace("127.0.0.1", "localhost")),
        "{nova}"
    );
    let nova = nova.replace("localhost", "127.0.0.1");
    let res = s
        .client
        .get(format!("{nova}/servers"))
        .header("x-auth-token", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let clb = url_of("cloudLoadBalancers").replace("localhost", "127.0.0.1");
    let res = s
        .client
        .get(format!("{clb}/loadbalancers"))
        .header("x-auth-token", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}
