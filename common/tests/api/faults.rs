use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::spawn_app;

#[tokio::test]
async fn an_error_fault_answers_in_the_api_format_then_stops_after_times() {
    let app = spawn_app().await;
    let id = app
        .add_fault(json!({"match": {"method": "GET", "path": "/v1/*/hello"},
            "action": {"type": "error", "status": 503, "kind": "serviceUnavailable", "message": "try later"},
            "budget": {"times": 2}}))
        .await;
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let res = app.get("/v1/t1/hello").await;
        statuses.push(res.status().as_u16());
        if res.status() == 503 {
            let body: Value = res.json().await.unwrap();
            assert_eq!(
                body,
                json!({"serviceUnavailable": {"code": 503, "message": "try later"}})
            );
        }
    }
    assert_eq!(
        statuses,
        [503, 503, 200],
        "times: 2 gives exactly two failures then success"
    );
    let res = app
        .control(Method::GET, &format!("/faults/{id}"), None)
        .await;
    let view: Value = res.json().await.unwrap();
    assert_eq!(view["fired"], 2);
    assert_eq!(view["matched"], 3);
}

#[tokio::test]
async fn a_raw_error_body_is_sent_as_given() {
    let app = spawn_app().await;
    app.add_fault(json!({"action": {"type": "error", "status": 500, "body": "Processing Failed", "content_type": "text/plain"}}))
        .await;
    let res = app.get("/v1/t1/hello").await;
    assert_eq!(res.status(), 500);
    assert_eq!(res.headers()["content-type"], "text/plain");
    assert_eq!(res.text().await.unwrap(), "Processing Failed");
}

#[tokio::test]
async fn a_dropped_connection_is_seen_as_a_connection_error() {
    let app = spawn_app().await;
    app.add_fault(json!({"action": {"type": "drop"}})).await;
    let res = app.client.get(app.url("/v1/t1/hello")).send().await;
    let failed = match res {
        Err(_) => true,
        Ok(r) => r.bytes().await.is_err(),
    };
    assert!(failed, "the client must see the connection fail");
}

#[tokio::test]
async fn a_delay_holds_the_answer_then_answers_for_real() {
    let app = spawn_app().await;
    app.add_fault(json!({"action": {"type": "delay", "ms": 300}}))
        .await;
    let started = Instant::now();
    let res = app.get("/v1/t1/hello").await;
    assert_eq!(res.status(), 200);
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_hang_answers_nothing_until_its_time_is_up() {
    let app = spawn_app().await;
    app.add_fault(json!({"action": {"type": "hang", "ms": 5000}}))
        .await;
    let res = app
        .client
        .get(app.url("/v1/t1/hello"))
        .timeout(Duration::from_millis(400))
        .send()
        .await;
    assert!(
        res.unwrap_err().is_timeout(),
        "the client should time out waiting"
    );
}

#[tokio::test]
async fn truncated_and_malformed_bodies_fail_to_parse() {
    let app = spawn_app().await;
    let id = app.add_fault(json!({"action": {"type": "truncate"}})).await;
    let res = app.get("/v1/t1/hello").await;
    assert_eq!(res.status(), 200);
    let text = res.text().await.unwrap();
    assert!(
        serde_json::from_str::<Value>(&text).is_err(),
        "truncated body parsed: {text}"
    );
    app.control(Method::DELETE, &format!("/faults/{id}"), None)
        .await;

    app.add_fault(json!({"action": {"type": "malformed"}}))
        .await;
    let res = app.get("/v1/t1/hello").await;
    assert_eq!(res.headers()["content-type"], "application/json");
    let text = res.text().await.unwrap();
    assert!(
        serde_json::from_str::<Value>(&text).is_err(),
        "malformed body parsed: {text}"
    );
}

#[tokio::test]
async fn a_rate_limit_says_when_to_retry() {
    let app = spawn_app().await;
    app.add_fault(json!({"action": {"type": "rate_limit", "status": 413, "retry_after_s": 7}}))
        .await;
    let res = app.get("/v1/t1/hello").await;
    assert_eq!(res.status(), 413);
    assert_eq!(res.headers()["retry-after"], "7");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["overLimit"]["code"], 413);
}

#[tokio::test]
async fn a_false_negative_leaves_the_side_effect_in_place() {
    let app = spawn_app().await;
    app.add_fault(json!({"match": {"method": "POST"},
        "action": {"type": "false_negative", "status": 500, "kind": "computeFault", "message": "Server creation failed."}}))
        .await;
    let res = app
        .client
        .post(app.url("/v1/t1/things"))
        .json(&json!({"thing": {"name": "ghost"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 500);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["computeFault"]["message"], "Server creation failed.");
    let list: Value = app.get("/v1/t1/things").await.json().await.unwrap();
    assert_eq!(
        list["things"][0]["name"], "ghost",
        "the write happened anyway"
    );
}

#[tokio::test]
async fn a_seeded_probability_gives_the_same_sequence_twice() {
    let mut runs = Vec::new();
    for _ in 0..2 {
        let app = spawn_app().await;
        app.add_fault(json!({"action": {"type": "error", "status": 500}, "budget": {"probability": 0.5, "seed": 7}}))
            .await;
        let mut seq = Vec::new();
        for _ in 0..20 {
            seq.push(app.get("/v1/t1/hello").await.status().as_u16());
        }
        runs.push(seq);
    }
    assert_eq!(runs[0], runs[1]);
    assert!(
        runs[0].contains(&500) && runs[0].contains(&200),
        "{:?}",
        runs[0]
    );
}

#[tokio::test]
async fn a_window_of_virtual_time_opens_and_closes_as_the_clock_moves() {
    let app = spawn_app().await;
    app.control(
        Method::POST,
        "/clock/freeze",
        Some(json!({"at": "2030-01-01T00:00:00Z"})),
    )
    .await;
    app.add_fault(json!({"action": {"type": "error", "status": 500},
        "budget": {"from": "2030-01-01T00:01:00Z", "until": "2030-01-01T00:02:00Z"}}))
        .await;
    assert_eq!(
        app.get("/v1/t1/hello").await.status(),
        200,
        "before the window"
    );
    app.control(Method::POST, "/clock/advance", Some(json!({"seconds": 90})))
        .await;
    assert_eq!(
        app.get("/v1/t1/hello").await.status(),
        500,
        "inside the window"
    );
    app.control(Method::POST, "/clock/advance", Some(json!({"seconds": 60})))
        .await;
    assert_eq!(
        app.get("/v1/t1/hello").await.status(),
        200,
        "after the window"
    );
}

#[tokio::test]
async fn matches_on_tenant_header_and_body_field() {
    let app = spawn_app().await;
    app.add_fault(json!({"match": {"tenant": "t2"}, "action": {"type": "error", "status": 500}}))
        .await;
    app.add_fault(json!({"match": {"header": {"name": "X-Chaos", "value": "yes"}}, "action": {"type": "error", "status": 502}}))
        .await;
    app.add_fault(json!({"match": {"body": {"pointer": "/thing/name", "value": "doomed"}}, "action": {"type": "error", "status": 507}}))
        .await;
    assert_eq!(app.get("/v1/t1/hello").await.status(), 200);
    assert_eq!(app.get("/v1/t2/hello").await.status(), 500);
    let res = app
        .client
        .get(app.url("/v1/t1/hello"))
        .header("x-chaos", "yes")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 502);
    let post = |name: &str| {
        app.client
            .post(app.url("/v1/t1/things"))
            .json(&json!({"thing": {"name": name}}))
            .send()
    };
    assert_eq!(post("doomed-1").await.unwrap().status(), 507);
    let ok = post("fine").await.unwrap();
    assert_eq!(ok.status(), 202, "the body was put back for the handler");
    let body: Value = ok.json().await.unwrap();
    assert_eq!(body["thing"]["name"], "fine");
}

#[tokio::test]
async fn the_journal_names_the_rule_that_fired() {
    let app = spawn_app().await;
    let id = app
        .add_fault(json!({"match": {"path": "/v1/t1/hello"}, "action": {"type": "error", "status": 500}, "budget": {"times": 1}}))
        .await;
    app.get("/v1/t1/hello").await;
    app.get("/v1/t1/hello").await;
    let res = app
        .control(Method::GET, &format!("/journal?rule={id}"), None)
        .await;
    let body: Value = res.json().await.unwrap();
    let entries = body["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["status"], 500);
    assert_eq!(entries[0]["tenant"], "t1");
    let all: Value = app
        .control(Method::GET, "/journal?path=/v1/t1/hello", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(all["entries"].as_array().unwrap().len(), 2);
    assert!(all["entries"][1]["rule"].is_null());
}

#[tokio::test]
async fn faults_never_touch_the_control_api_or_exempt_routes() {
    let app = spawn_app().await;
    app.add_fault(json!({"action": {"type": "error", "status": 500}}))
        .await;
    assert_eq!(app.get("/exempt/t1/hello").await.status(), 200);
    let res = app.control(Method::GET, "/faults", None).await;
    assert_eq!(res.status(), 200);
    let res = app.control(Method::DELETE, "/faults", None).await;
    assert_eq!(res.status(), 200);
    assert_eq!(app.get("/v1/t1/hello").await.status(), 200);
}

#[tokio::test]
async fn bad_rules_are_refused_with_400() {
    let app = spawn_app().await;
    for bad in [
        json!({"action": {"type": "explode"}}),
        json!({"match": {"path_regex": "("}, "action": {"type": "drop"}}),
        json!({"action": {"type": "error", "status": 200}}),
        json!({"nonsense": true, "action": {"type": "drop"}}),
    ] {
        let res = app
            .control(Method::POST, "/faults", Some(bad.clone()))
            .await;
        assert_eq!(res.status(), 400, "{bad}");
        let body: Value = res.json().await.unwrap();
        assert!(body["error"]["message"].is_string(), "{bad}");
    }
    let res = app
        .client
        .post(app.url("/_understudy/v1/faults"))
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
}
