use serde_json::Value;

use crate::helpers::{settings, spawn_app, spawn_with};

#[tokio::test]
async fn every_answer_carries_a_request_id_and_echoes_a_given_one() {
    let app = spawn_app().await;
    let res = app.get("/v1/t1/hello").await;
    assert_eq!(res.status(), 200);
    assert!(res.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .starts_with("req-"));
    let res = app
        .client
        .get(app.url("/v1/t1/hello"))
        .header("x-request-id", "mine-123")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "mine-123");
}

#[tokio::test]
async fn unknown_routes_answer_404_in_the_api_format() {
    let app = spawn_app().await;
    for path in ["/nope", "/v1/t1/hello/extra", "/v1"] {
        let res = app.get(path).await;
        assert_eq!(res.status(), 404, "{path}");
        assert_eq!(res.headers()["content-type"], "application/json");
        let body: Value = res.json().await.unwrap();
        assert_eq!(
            body["itemNotFound"]["message"], "The resource could not be found.",
            "{path}"
        );
    }
}

#[tokio::test]
async fn an_oversized_body_gets_413_in_the_api_format() {
    let mut s = settings();
    s.base.server.request_body_limit_bytes = 100;
    let app = spawn_with(s, None).await;
    let res = app
        .client
        .post(app.url("/v1/t1/things"))
        .body(format!(
            "{{\"thing\":{{\"name\":\"{}\"}}}}",
            "x".repeat(200)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        body["testFault"]["code"], 413,
        "the API's style picks its own kind for a 413: {body}"
    );
}

#[tokio::test]
async fn malformed_json_gets_the_api_text_and_content_type_is_not_required() {
    let app = spawn_app().await;
    let res = app
        .client
        .post(app.url("/v1/t1/things"))
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["badRequest"]["message"], "Malformed request body");
    let res = app
        .client
        .post(app.url("/v1/t1/things"))
        .body(r#"{"thing": {"name": "bare"}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        202,
        "a JSON body without Content-Type is accepted"
    );
}

#[tokio::test]
async fn signed_mode_refuses_missing_bad_and_foreign_tokens() {
    let mut s = settings();
    s.base.auth.mode = common::settings::AuthMode::Signed;
    let key = s.base.auth.signing_key.clone();
    let app = spawn_with(s, None).await;
    let res = app.get("/v1/t1/hello").await;
    assert_eq!(res.status(), 401);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["unauthorized"]["code"], 401);

    let codec = common::token::TokenCodec::new(&key);
    let now = chrono::Utc::now().timestamp();
    let claims = common::token::Claims {
        id: "tok".into(),
        tenant_id: "t1".into(),
        tenant_name: "t1".into(),
        user_id: "u".into(),
        user_name: "joe".into(),
        roles: vec![],
        methods: vec!["PASSWORD".into()],
        iat: now,
        exp: now + 60,
        never_expires: false,
        impersonator: None,
    };
    let token = codec.issue(&claims);
    let ok = app
        .client
        .get(app.url("/v1/t1/hello"))
        .header("x-auth-token", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let foreign = app
        .client
        .get(app.url("/v1/t2/hello"))
        .header("x-auth-token", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), 401, "a token of t1 cannot act on t2");
    let forged = common::token::TokenCodec::new("another key").issue(&claims);
    let res = app
        .client
        .get(app.url("/v1/t1/hello"))
        .header("x-auth-token", forged)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);

    // Expiry follows the virtual clock.
    app.control(
        reqwest::Method::POST,
        "/clock/advance",
        Some(serde_json::json!({"seconds": 61})),
    )
    .await;
    let res = app
        .client
        .get(app.url("/v1/t1/hello"))
        .header("x-auth-token", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401, "expired after the clock moved past exp");
}

#[tokio::test]
async fn trailing_slashes_are_ignored_on_every_route() {
    let app = spawn_app().await;
    let res = app.get("/v1/t1/hello/").await;
    assert_eq!(res.status(), 200);
    let res = app.get("/v1/t1/hello//?x=1").await;
    assert_eq!(res.status(), 200, "several slashes and a query");
    let res = app.get("/_understudy/v1/health/").await;
    assert_eq!(res.status(), 200);
}
