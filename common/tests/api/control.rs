use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{settings, spawn_app, spawn_with};

#[tokio::test]
async fn health_ready_and_metrics_answer() {
    let app = spawn_app().await;
    let res = app.control(Method::GET, "/health", None).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["service"], "test");
    app.get("/v1/t1/hello").await;
    let metrics = app
        .control(Method::GET, "/metrics", None)
        .await
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("understudy_requests_total{service=\"test\",route=\"/v1/{tenant_id}/hello\",method=\"GET\",status=\"200\"} 1"), "{metrics}");
    assert!(metrics.contains("understudy_request_duration_seconds_count{service=\"test\"}"));
}

#[tokio::test]
async fn readiness_says_what_it_waits_for() {
    let mut s = settings();
    s.base.catalog.identity_url = "http://127.0.0.1:9".into();
    let app = spawn_with(s, None).await;
    let res = app.control(Method::GET, "/ready", None).await;
    assert_eq!(res.status(), 503);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["ready"], false);
    assert_eq!(body["waiting_for"][0]["what"], "catalog");
}

#[tokio::test]
async fn the_clock_reads_advances_sets_and_freezes() {
    let app = spawn_app().await;
    let res = app
        .control(
            Method::POST,
            "/clock/set",
            Some(json!({"now": "2031-02-03T04:05:06Z"})),
        )
        .await;
    assert_eq!(res.status(), 200);
    app.control(Method::POST, "/clock/freeze", None).await;
    let res = app
        .control(Method::POST, "/clock/advance", Some(json!({"seconds": 10})))
        .await;
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["mode"], "frozen");
    assert!(
        body["now"]
            .as_str()
            .unwrap()
            .starts_with("2031-02-03T04:05:1"),
        "{body}"
    );
    let res = app
        .control(
            Method::POST,
            "/clock/advance",
            Some(json!({"seconds": "ten"})),
        )
        .await;
    assert_eq!(res.status(), 400);
    // Forward only, and a refused move changes nothing.
    for route in ["/clock/advance", "/clock/tick"] {
        let res = app
            .control(Method::POST, route, Some(json!({"seconds": -1})))
            .await;
        assert_eq!(res.status(), 400, "{route}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(
            body["error"]["message"], "seconds must be a finite number, 0 or more",
            "{route}"
        );
    }
    let now: Value = app
        .control(Method::GET, "/clock", None)
        .await
        .json()
        .await
        .unwrap();
    assert!(
        now["now"]
            .as_str()
            .unwrap()
            .starts_with("2031-02-03T04:05:1"),
        "{now}"
    );
    let body: Value = app
        .control(Method::POST, "/clock/unfreeze", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["mode"], "running");
}

#[tokio::test]
async fn reset_forgets_everything_or_one_tenant() {
    let app = spawn_app().await;
    for t in ["t1", "t2"] {
        app.client
            .post(app.url(&format!("/v1/{t}/things")))
            .json(&json!({"thing": {"name": "a"}}))
            .send()
            .await
            .unwrap();
    }
    // An empty tenant is refused, and resets nothing.
    let res = app.control(Method::POST, "/reset?tenant=", None).await;
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["message"], "tenant must not be empty");
    app.control(Method::POST, "/reset?tenant=t1", None).await;
    let t1: Value = app.get("/v1/t1/things").await.json().await.unwrap();
    let t2: Value = app.get("/v1/t2/things").await.json().await.unwrap();
    assert_eq!(t1["things"].as_array().unwrap().len(), 0);
    assert_eq!(t2["things"].as_array().unwrap().len(), 1);
    let state: Value = app
        .control(Method::GET, "/state", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(state["tables"]["things"][0]["tenant"], "t2");
    app.control(Method::POST, "/reset", None).await;
    let t2: Value = app.get("/v1/t2/things").await.json().await.unwrap();
    assert_eq!(t2["things"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn the_journal_filters_caps_and_clears() {
    let app = spawn_app().await;
    app.control(
        Method::PUT,
        "/journal/capacity",
        Some(json!({"capacity": 3})),
    )
    .await;
    for _ in 0..5 {
        app.get("/v1/t1/hello").await;
    }
    app.get("/v1/t2/hello").await;
    let body: Value = app
        .control(Method::GET, "/journal", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["entries"].as_array().unwrap().len(), 3);
    let body: Value = app
        .control(
            Method::GET,
            "/journal?tenant=t2&method=GET&status=200",
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["entries"].as_array().unwrap().len(), 1);
    let res = app.control(Method::GET, "/journal?colour=blue", None).await;
    assert_eq!(res.status(), 400);
    assert_eq!(
        app.control(Method::DELETE, "/journal", None).await.status(),
        204
    );
    let body: Value = app
        .control(Method::GET, "/journal?service=test&path=/v1", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["entries"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn the_admin_token_guards_everything_but_the_probes() {
    let mut s = settings();
    s.base.control.admin_token = "s3cret".into();
    let app = spawn_with(s, None).await;
    assert_eq!(
        app.control(Method::GET, "/faults", None).await.status(),
        401
    );
    assert_eq!(
        app.control(Method::GET, "/health", None).await.status(),
        200
    );
    assert_ne!(
        app.control(Method::GET, "/catalog", None).await.status(),
        401,
        "the other mocks of the stack read it without the token"
    );
    let res = app
        .client
        .get(app.url("/_understudy/v1/faults"))
        .header("x-admin-token", "wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let res = app
        .client
        .get(app.url("/_understudy/v1/faults"))
        .header("x-admin-token", "s3cret")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = app
        .client
        .get(app.url("/_understudy/v1/faults"))
        .bearer_auth("s3cret")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn the_openapi_document_lists_exactly_the_real_routes() {
    let app = spawn_app().await;
    let doc: Value = app
        .control(Method::GET, "/openapi.json", None)
        .await
        .json()
        .await
        .unwrap();
    let documented: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, ops)| {
            ops.as_object()
                .unwrap()
                .keys()
                .map(move |m| (m.to_uppercase(), path.clone()))
        })
        .collect();
    let routed: BTreeSet<(String, String)> = common::control::ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), format!("/_understudy/v1{p}")))
        .collect();
    assert_eq!(documented, routed);
    // And every documented route is really served (never the control 404).
    for (method, path) in &documented {
        let path = path.replace("{id}", "nope");
        let res = app
            .client
            .request(
                Method::from_bytes(method.as_bytes()).unwrap(),
                app.url(&path),
            )
            .body("{}")
            .send()
            .await
            .unwrap();
        let body: Value = res.json().await.unwrap_or(Value::Null);
        assert_ne!(
            body["error"]["message"], "no such control route",
            "{method} {path}"
        );
    }
}

#[tokio::test]
async fn scope_stack_reaches_every_mock_of_the_catalog_once() {
    // Two mocks with their own state, and a third sharing the first one's state.
    let b = spawn_app().await;
    let mut s = settings();
    s.base.catalog.services = vec![common::settings::ServiceEntry {
        name: "other".into(),
        kind: "test".into(),
        regions: vec![],
        public_url: format!("{}/v1/{{tenant_id}}", b.address),
        internal_url: None,
        admin_url: None,
        external: false,
    }];
    let a = spawn_with(s.clone(), None).await;
    let a_twin = spawn_with(s.clone(), Some(a.shared.clone())).await;
    // a's catalog lists b and a_twin (sharing a's store) and identity (unreachable).
    s.base
        .catalog
        .services
        .push(common::settings::ServiceEntry {
            name: "twin".into(),
            kind: "test".into(),
            regions: vec![],
            public_url: format!("{}/v1/{{tenant_id}}", a_twin.address),
            internal_url: None,
            admin_url: None,
            external: false,
        });
    let a = spawn_with(s, Some(a.shared.clone())).await;

    let res = a
        .control(
            Method::POST,
            "/faults?scope=stack",
            Some(json!({"action": {"type": "error", "status": 500}})),
        )
        .await;
    assert_eq!(res.status(), 201);
    let body: Value = res.json().await.unwrap();
    let results = body["results"].as_array().unwrap();
    let b_answer = results.iter().find(|r| r["origin"] == b.address).unwrap();
    assert_eq!(b_answer["status"], 201);
    let twin_answer = results
        .iter()
        .find(|r| r["origin"] == a_twin.address)
        .unwrap();
    assert!(
        twin_answer["body"]["skipped"].is_string(),
        "a shared store is not written twice"
    );
    assert_eq!(
        b.get("/v1/t1/hello").await.status(),
        500,
        "the rule reached the other mock"
    );
    let faults: Value = a
        .control(Method::GET, "/faults", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(faults["faults"].as_array().unwrap().len(), 1);

    let res = a
        .control(
            Method::POST,
            "/clock/advance?scope=stack",
            Some(json!({"seconds": 3600})),
        )
        .await;
    assert_eq!(res.status(), 200);
    let clock: Value = b
        .control(Method::GET, "/clock", None)
        .await
        .json()
        .await
        .unwrap();
    assert!(clock["offset_ms"].as_i64().unwrap() >= 3_599_000, "{clock}");

    let res = a.control(Method::DELETE, "/faults?scope=stack", None).await;
    assert_eq!(res.status(), 200);
    assert_eq!(b.get("/v1/t1/hello").await.status(), 200);
}

#[tokio::test]
async fn a_clock_call_names_every_mock_it_did_not_reach() {
    let b = spawn_app().await;
    let mut s = settings();
    s.base.catalog.services = ["http://127.0.0.1:9".to_string(), b.address.clone()]
        .into_iter()
        .map(|origin| common::settings::ServiceEntry {
            name: format!("peer-{origin}"),
            kind: "test".into(),
            regions: vec![],
            public_url: format!("{origin}/v1/{{tenant_id}}"),
            internal_url: None,
            admin_url: None,
            external: false,
        })
        .collect();
    let a = spawn_with(s, None).await;

    let res = a
        .control(
            Method::POST,
            "/clock/freeze",
            Some(json!({"at": "2040-01-01T00:00:00Z"})),
        )
        .await;

    assert_eq!(res.status(), 502);
    let body: Value = res.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("http://127.0.0.1:9"),
        "{body}"
    );
    let reached: Value = b
        .control(Method::GET, "/clock", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        reached["now"], body["now"],
        "the reachable peer moved all the same"
    );
}

#[tokio::test]
async fn a_mock_that_starts_after_a_tick_takes_the_stacks_clock_before_it_is_ready() {
    // "Identity": alone, with a catalog to hand out.
    let mut s = settings();
    s.base.catalog.services = vec![common::settings::ServiceEntry {
        name: "elsewhere".into(),
        kind: "test".into(),
        regions: vec![],
        public_url: "http://127.0.0.1:9/v1/{tenant_id}".into(),
        internal_url: None,
        admin_url: None,
        external: true,
    }];
    let identity = spawn_with(s, None).await;
    let frozen: Value = identity
        .control(
            Method::POST,
            "/clock/freeze",
            Some(json!({"at": "2040-01-01T00:00:00Z"})),
        )
        .await
        .json()
        .await
        .unwrap();

    let mut s = settings();
    s.base.catalog.identity_url = identity.address.clone();
    let late = spawn_with(s, None).await;
    let mut ready = 0;
    for _ in 0..50 {
        ready = late
            .control(Method::GET, "/ready", None)
            .await
            .status()
            .as_u16();
        if ready == 200 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    assert_eq!(ready, 200);
    let clock: Value = late
        .control(Method::GET, "/clock", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(clock["mode"], "frozen");
    assert_eq!(clock["now"], frozen["now"]);
}

#[tokio::test]
async fn the_journal_keeps_headers_and_bodies_and_gives_them_as_har() {
    let app = spawn_app().await;
    let res = app
        .client
        .post(app.url("/v1/t1/things?dry=no%20way"))
        .header("x-custom", "kept")
        .json(&json!({"thing": {"name": "<b>bold</b>"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    let journal: Value = app
        .control(Method::GET, "/journal?path=/v1/t1/things", None)
        .await
        .json()
        .await
        .unwrap();
    let x = &journal["entries"][0]["exchange"];
    assert!(
        x["request_headers"]
            .as_array()
            .unwrap()
            .contains(&json!(["x-custom", "kept"])),
        "{x}"
    );
    assert_eq!(
        x["request_body"]["text"],
        json!({"thing": {"name": "<b>bold</b>"}}).to_string()
    );
    assert_eq!(
        x["response_body"]["text"],
        r#"{"thing":{"name":"<b>bold</b>"}}"#
    );

    let res = app
        .control(Method::GET, "/journal.har?path=/v1/t1/things", None)
        .await;
    assert_eq!(res.status(), 200);
    let har: Value = res.json().await.unwrap();
    assert_eq!(har["log"]["version"], "1.2");
    let e = &har["log"]["entries"][0];
    assert_eq!(e["request"]["method"], "POST");
    assert!(e["request"]["url"]
        .as_str()
        .unwrap()
        .ends_with("/v1/t1/things?dry=no%20way"));
    assert_eq!(
        e["request"]["queryString"],
        json!([{"name": "dry", "value": "no way"}])
    );
    assert_eq!(e["request"]["postData"]["mimeType"], "application/json");
    assert_eq!(e["response"]["status"], 202);
    assert_eq!(e["response"]["statusText"], "Accepted");
    assert_eq!(
        e["response"]["content"]["text"],
        r#"{"thing":{"name":"<b>bold</b>"}}"#
    );
    assert_eq!(e["_understudy"]["tenant"], "t1");
    assert!(e["startedDateTime"].as_str().unwrap().ends_with('Z'));
    // The same filters as /journal: nothing asked, nothing given.
    let none: Value = app
        .control(Method::GET, "/journal.har?status=599", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(none["log"]["entries"], json!([]));
}

#[tokio::test]
async fn bodies_longer_than_the_limit_are_cut_with_a_note() {
    let mut s = settings();
    s.base.journal.body_limit_bytes = 10;
    let app = spawn_with(s, None).await;
    let res = app
        .client
        .post(app.url("/v1/t1/things"))
        .json(&json!({"thing": {"name": "a-rather-long-name"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    let har: Value = app
        .control(Method::GET, "/journal.har?path=/v1/t1/things", None)
        .await
        .json()
        .await
        .unwrap();
    let e = &har["log"]["entries"][0];
    assert_eq!(e["request"]["postData"]["text"], r#"{"thing":{"#);
    assert!(e["request"]["postData"]["comment"]
        .as_str()
        .unwrap()
        .contains("10 of 39 bytes kept"));
    assert_eq!(e["response"]["content"]["size"], 39);
    assert_eq!(e["response"]["content"]["text"].as_str().unwrap().len(), 10);
}
