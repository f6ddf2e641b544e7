//! Mimic's identity control API: tick, presets, auth behaviours.

use serde_json::{json, Value};

use crate::helpers::{password_body, spawn_app, status_and_json, TestApp};

const BEHAVIORS: &str = "/mimic/v1.1/IdentityControlAPI/behaviors/auth";

async fn register(app: &TestApp, body: &Value) -> String {
    // otter sends control bodies with no Content-Type.
    let (status, res) = status_and_json(app.post_raw(BEHAVIORS, &body.to_string()).await).await;
    assert_eq!(status, 201, "{res}");
    res["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn tick_moves_the_clock_and_expires_tokens_that_expire() {
    let app = crate::helpers::spawn_expiring_app().await;
    let (token, _) = app.token_for("joe", None).await;

    let (status, body) = status_and_json(
        app.post_raw("/mimic/v1.1/tick", r#"{"amount": 86400.5}"#)
            .await,
    )
    .await;

    assert_eq!(status, 200);
    assert_eq!(body["advanced"], 86400.5);
    let re = regex::Regex::new(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$").unwrap();
    assert!(re.is_match(body["now"].as_str().unwrap()), "{body}");
    assert_eq!(
        app.get(&format!("/v2.0/tokens/{token}")).await.status(),
        404
    );
}

#[tokio::test]
async fn a_mimic_suite_keeps_its_token_across_a_day_of_ticks() {
    // otter's CATC-010: authenticate once, tick 60 then 89,939, use the same token.
    let app = spawn_app().await;
    let (token, _) = app.token_for("joe", None).await;

    for amount in ["60", "89939"] {
        let res = app
            .post_raw("/mimic/v1.1/tick", &format!(r#"{{"amount": {amount}}}"#))
            .await;
        assert_eq!(res.status(), 200);
    }

    assert_eq!(
        app.get(&format!("/v2.0/tokens/{token}")).await.status(),
        200,
        "open mode's tokens never expire, as Mimic's"
    );
}

#[tokio::test]
async fn ticks_stop_time_and_move_it_by_exactly_their_amount() {
    let app = spawn_app().await;
    let now = |body: Value| common::clock::parse_timestamp(body["now"].as_str().unwrap()).unwrap();

    let (_, first) =
        status_and_json(app.post_raw("/mimic/v1.1/tick", r#"{"amount": 5}"#).await).await;
    tokio::time::sleep(std::time::Duration::from_millis(30)).await;
    let (_, second) =
        status_and_json(app.post_raw("/mimic/v1.1/tick", r#"{"amount": 2.5}"#).await).await;

    assert_eq!(
        (now(second) - now(first)).num_milliseconds(),
        2500,
        "wall time does not flow between ticks"
    );
}

#[tokio::test]
async fn tick_without_a_numeric_amount_is_400() {
    let app = spawn_app().await;

    for body in ["{}", r#"{"amount": "ten"}"#, "nope"] {
        let (status, json) = status_and_json(app.post_raw("/mimic/v1.1/tick", body).await).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(json["badRequest"]["code"], 400, "{body}");
    }
}

#[tokio::test]
async fn presets_are_listed() {
    let app = spawn_app().await;

    let (status, body) = status_and_json(app.get("/mimic/v1.0/presets").await).await;

    assert_eq!(status, 200);
    for key in ["identity", "servers", "loadbalancers"] {
        assert!(body[key].is_object(), "{key}");
    }
}

#[tokio::test]
async fn a_sequence_fails_then_succeeds_and_delete_restores_normal_auth() {
    let app = spawn_app().await;
    let id = register(
        &app,
        &json!({"criteria": [{"username": "catc026.*"}], "name": "sequence", "parameters": {"behaviors": [
            {"name": "fail", "parameters": {"code": 500, "message": "Authentication failed."}},
            {"name": "fail", "parameters": {"code": 401, "message": "Invalid credentials."}},
            {"name": "default"}]}}),
    )
    .await;

    let first = app.authenticate("catc026-user", Some("000010")).await;
    let second = app.authenticate("catc026-user", Some("000010")).await;
    let third = app.authenticate("catc026-user", Some("000010")).await;
    let other = app.authenticate("someone-else", None).await;

    let (s1, b1) = status_and_json(first).await;
    assert_eq!(s1, 500);
    assert_eq!(
        b1,
        json!({"unauthorized": {"message": "Authentication failed.", "code": 500}})
    );
    let (s2, b2) = status_and_json(second).await;
    assert_eq!(s2, 401);
    assert_eq!(b2["unauthorized"]["message"], "Invalid credentials.");
    assert_eq!(third.status(), 200);
    assert_eq!(other.status(), 200, "criteria are anchored to the username");

    let deleted = app.delete(&format!("{BEHAVIORS}/{id}")).await;
    assert_eq!(deleted.status(), 204);
    for _ in 0..3 {
        assert_eq!(app.authenticate("catc026-user", None).await.status(), 200);
    }
    let again = app.delete(&format!("{BEHAVIORS}/{id}")).await;
    assert_eq!(again.status(), 404);
}

#[tokio::test]
async fn the_identity_prefix_and_impersonation_go_through_behaviours_too() {
    let app = spawn_app().await;
    register(
        &app,
        &json!({"criteria": [{"username": "victim"}], "name": "fail", "parameters": {"code": 503, "type": "identityFault", "message": "down"}}),
    )
    .await;
    let (admin, _) = app.token_for("admin", None).await;

    let (status, body) = status_and_json(
        app.post_json("/identity/v2.0/tokens", &password_body("victim", "p", None))
            .await,
    )
    .await;
    let impersonation = app
        .client
        .post(app.url("/v2.0/RAX-AUTH/impersonation-tokens"))
        .header("X-Auth-Token", admin)
        .json(&json!({"RAX-AUTH:impersonation": {"user": {"username": "victim"}, "expire-in-seconds": 100}}))
        .send()
        .await
        .unwrap();
    let v3 = app
        .v3_authenticate(&crate::helpers::v3_password_body(
            "victim",
            "p",
            Value::Null,
        ))
        .await;

    assert_eq!(status, 503);
    assert_eq!(
        body,
        json!({"identityFault": {"message": "down", "code": 503}})
    );
    assert_eq!(impersonation.status(), 503);
    let (v3_status, v3_body) = status_and_json(v3).await;
    assert_eq!(v3_status, 503);
    assert_eq!(v3_body["error"]["message"], "down");
}

#[tokio::test]
async fn a_string_type_answers_the_bare_message() {
    let app = spawn_app().await;
    register(
        &app,
        &json!({"criteria": [], "name": "fail", "parameters": {"code": 401, "type": "string", "message": "nope"}}),
    )
    .await;

    let res = app.authenticate("anyone", None).await;

    assert_eq!(res.status(), 401);
    assert_eq!(res.text().await.unwrap(), "nope");
}

#[tokio::test]
async fn a_tenant_criterion_does_not_break_auth_without_a_tenant() {
    let app = spawn_app().await;
    register(
        &app,
        &json!({"criteria": [{"tenant_id": "000010"}], "name": "fail", "parameters": {}}),
    )
    .await;

    let without = app.authenticate("joe", None).await;
    let (status, body) = status_and_json(app.authenticate("joe", Some("000010")).await).await;

    assert_eq!(without.status(), 200);
    assert_eq!(status, 401);
    assert_eq!(
        body,
        json!({"unauthorized": {"message": "Unable to authenticate user with credentials provided.", "code": 401}})
    );
}

#[tokio::test]
async fn malformed_registrations_are_400() {
    let app = spawn_app().await;

    for body in [
        "not json",
        r#"{"criteria": [], "name": "explode", "parameters": {}}"#,
        r#"{"criteria": [{"colour": "red"}], "name": "fail", "parameters": {}}"#,
        r#"{"name": "fail", "parameters": {}}"#,
    ] {
        let (status, json) = status_and_json(app.post_raw(BEHAVIORS, body).await).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(json["badRequest"]["code"], 400, "{body}");
    }
}

#[tokio::test]
async fn mimic_routes_are_exempt_from_generic_faults() {
    let app = spawn_app().await;
    let rule = app
        .post_json(
            "/_understudy/v1/faults",
            &json!({"match": {}, "action": {"type": "error", "status": 503}}),
        )
        .await;
    assert!(rule.status().is_success(), "{}", rule.text().await.unwrap());

    let tick = app.post_raw("/mimic/v1.1/tick", r#"{"amount": 1}"#).await;
    let auth = app.authenticate("joe", None).await;

    assert_eq!(tick.status(), 200);
    assert_eq!(auth.status(), 503);
    let body: Value = auth.json().await.unwrap();
    assert_eq!(
        body["identityFault"]["code"], 503,
        "faults answer in Keystone's format"
    );
}

#[tokio::test]
async fn a_tick_that_does_not_reach_a_mock_of_the_stack_says_which() {
    // Compute is listed at a port where nothing answers.
    let app = crate::helpers::spawn_app_with(|s| {
        s.base.catalog.services[0].external = false;
        s.base.catalog.services[0].public_url = "http://127.0.0.1:9/{region}/v2/{tenant_id}".into();
    })
    .await;

    let (status, body) =
        status_and_json(app.post_raw("/mimic/v1.1/tick", r#"{"amount": 1}"#).await).await;

    assert_eq!(status, 502);
    let message = body["identityFault"]["message"]
        .as_str()
        .unwrap_or_default();
    assert!(message.contains("http://127.0.0.1:9"), "{body}");
}

#[tokio::test]
async fn with_an_admin_token_mimics_controls_need_it_too() {
    let app =
        crate::helpers::spawn_app_with(|s| s.base.control.admin_token = "s3cret".into()).await;
    let behavior =
        json!({"criteria": [{"username": "x.*"}], "name": "fail", "parameters": {"code": 500}});

    for (path, body) in [
        ("/mimic/v1.1/tick", json!({"amount": 1})),
        (
            "/mimic/v1.1/IdentityControlAPI/behaviors/auth",
            behavior.clone(),
        ),
    ] {
        let res = app
            .client
            .post(app.url(path))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401, "{path} without the token");
        let res = app
            .client
            .post(app.url(path))
            .bearer_auth("s3cret")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(
            res.status().is_success(),
            "{path} with the token: {}",
            res.status()
        );
    }
    assert_eq!(app.get("/mimic/v1.0/presets").await.status(), 401);
}
