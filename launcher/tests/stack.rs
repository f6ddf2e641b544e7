//! The launcher runs all three mocks with one clock, one store and one catalog.
#![allow(clippy::unwrap_used)]

use serde_json::{json, Value};

mod support;
use support::spawn_stack;

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
    let res = s
        .client
        .post(format!("{}/mimic/v1.1/tick", s.identity))
        .body(json!({"amount": 86400}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let ticked: Value = res.json().await.unwrap();
    for base in [&s.identity, &s.compute, &s.lb] {
        let clock = s
            .get_json(&format!("{base}/_understudy/v1/clock"), None)
            .await;
        assert_eq!(
            clock["mode"], "frozen",
            "{base}: time stands still after a tick"
        );
        assert_eq!(
            clock["now"], ticked["now"],
            "{base}: one time for the stack"
        );
    }
}

#[tokio::test]
async fn a_fault_rule_is_for_the_service_that_received_it_unless_it_names_another() {
    let s = spawn_stack().await;
    let control = |base: &str, path: &str| format!("{base}/_understudy/v1{path}");
    let res = s
        .client
        .post(control(&s.compute, "/faults"))
        .json(&json!({"action": {"type": "error", "status": 503}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let rule: Value = res.json().await.unwrap();
    assert_eq!(rule["match"]["service"], "compute", "{rule}");
    let identity = s
        .client
        .get(format!("{}/v2.0", s.identity))
        .send()
        .await
        .unwrap();
    assert_eq!(
        identity.status(),
        200,
        "a rule posted to Compute leaves Identity alone"
    );

    let res = s
        .client
        .post(control(&s.compute, "/faults"))
        .json(
            &json!({"match": {"service": "identity"}, "action": {"type": "error", "status": 503}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let identity = s
        .client
        .get(format!("{}/v2.0", s.identity))
        .send()
        .await
        .unwrap();
    assert_eq!(
        identity.status(),
        503,
        "a rule naming Identity reaches Identity"
    );
    let on_identity: Value = s
        .client
        .get(control(&s.identity, "/faults"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        on_identity["faults"].as_array().unwrap().len(),
        1,
        "{on_identity}"
    );
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

#[tokio::test]
async fn deleting_a_stack_rule_by_id_removes_every_copy() {
    let s = spawn_stack().await;
    let res = s
        .client
        .post(format!("{}/_understudy/v1/faults?scope=stack", s.compute))
        .json(&json!({"id": "everywhere", "action": {"type": "error", "status": 503}}))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.text().await.unwrap());
    let res = s
        .client
        .delete(format!("{}/_understudy/v1/faults/everywhere", s.lb))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    for base in [&s.identity, &s.compute, &s.lb] {
        let rules: Value = s
            .client
            .get(format!("{base}/_understudy/v1/faults"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(rules["faults"], json!([]), "{base}");
    }
}

/// CONNECT asks for a tunnel, and the rest of the connection would be its body: every
/// mock answers it at once, as a method its route does not serve, in its API's format,
/// even where the route's handler reads a body.
#[tokio::test]
async fn a_connect_is_answered_at_once_in_each_apis_own_format() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let s = spawn_stack().await;
    for (base, path) in [
        (&s.identity, "/v2.0/tokens"),
        (&s.compute, "/v2/500001/servers"),
        (&s.lb, "/ORD/v1.0/500001/loadbalancers"),
        (&s.lb, "/ORD/v1.0/500001/loadbalancers/1/nodes"),
    ] {
        let addr = base.trim_start_matches("http://");
        let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
        conn.write_all(format!("CONNECT {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes())
            .await
            .unwrap();
        // The client keeps its side open, as a tunnel's would: the answer must not wait.
        let mut answer = Vec::new();
        let head_and_body = async {
            let mut buf = [0u8; 4096];
            loop {
                let n = conn.read(&mut buf).await.unwrap();
                answer.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&answer);
                if n == 0
                    || text
                        .split_once("\r\n\r\n")
                        .is_some_and(|(_, b)| b.ends_with('}'))
                {
                    break;
                }
            }
        };
        tokio::time::timeout(std::time::Duration::from_secs(5), head_and_body)
            .await
            .unwrap_or_else(|_| panic!("CONNECT {base}{path}: no answer within 5 s"));
        let text = String::from_utf8_lossy(&answer);
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        let status: u16 = head.split(' ').nth(1).unwrap().parse().unwrap();
        assert!((400..500).contains(&status), "CONNECT {base}{path}: {head}");
        let body: Value = serde_json::from_str(body).unwrap();
        assert!(
            body.to_string().contains(&status.to_string()),
            "CONNECT {base}{path}: {body}"
        );
    }
}

#[tokio::test]
async fn a_store_that_does_not_answer_is_a_503_in_each_apis_own_format() {
    // A Redis nobody listens on: every request is refused quickly, nothing hangs.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let s = support::spawn_stack_with(|s| {
        let store = common::store::StoreSettings::Redis(common::store::redis::RedisSettings {
            url: format!("redis://127.0.0.1:{port}/0"),
            namespace: "down".into(),
            timeout_ms: 300,
        });
        *s = s.clone().with_store(store);
    })
    .await;
    let call = |method: reqwest::Method, url: String| {
        let client = s.client.clone();
        async move {
            let res = client
                .request(method, url)
                .header("x-auth-token", "any")
                .json(&json!({"auth": {"passwordCredentials": {"username": "u", "password": "p"}}}))
                .send()
                .await
                .unwrap();
            (res.status().as_u16(), res.json::<Value>().await.unwrap())
        }
    };
    let (status, body) = call(reqwest::Method::POST, format!("{}/v2.0/tokens", s.identity)).await;
    assert_eq!(status, 503);
    assert_eq!(
        body["serviceUnavailable"]["code"], 503,
        "Keystone's shape: {body}"
    );
    let (status, body) = call(reqwest::Method::GET, format!("{}/v2/1/servers", s.compute)).await;
    assert_eq!(status, 503);
    assert_eq!(
        body["serviceUnavailable"]["code"], 503,
        "Nova's shape: {body}"
    );
    let (status, body) = call(
        reqwest::Method::GET,
        format!("{}/v1.0/1/loadbalancers", s.lb),
    )
    .await;
    assert_eq!(status, 503);
    assert_eq!(body["code"], 503, "CLB's shape: {body}");
    assert!(body["message"].is_string());
    let (status, body) = call(
        reqwest::Method::GET,
        format!("{}/_understudy/v1/faults", s.compute),
    )
    .await;
    assert_eq!(status, 503);
    assert_eq!(
        body["error"]["code"], 503,
        "the control API's shape: {body}"
    );
    let (status, body) = call(
        reqwest::Method::GET,
        format!("{}/_understudy/v1/ready", s.lb),
    )
    .await;
    assert_eq!(status, 503);
    assert_eq!(body["waiting_for"][0]["what"], "store", "{body}");
    let (status, _) = call(
        reqwest::Method::GET,
        format!("{}/_understudy/v1/health", s.lb),
    )
    .await;
    assert_eq!(status, 200, "alive, though not ready");
}
