//! Every error answers in Keystone's format: unknown routes, oversized bodies.

use serde_json::json;

use crate::helpers::{password_body, spawn_app, spawn_app_with, status_and_json};

#[tokio::test]
async fn an_unknown_route_is_404_item_not_found() {
    let app = spawn_app().await;

    for path in ["/v2.0/nothing-here", "/nope", "/identity/v2.0/nothing"] {
        let (status, body) = status_and_json(app.get(path).await).await;
        assert_eq!(status, 404, "{path}");
        assert_eq!(body["itemNotFound"]["code"], 404, "{path}: {body}");
    }
}

#[tokio::test]
async fn an_oversized_body_is_413_over_limit() {
    let app = spawn_app_with(|s| s.base.server.request_body_limit_bytes = 256).await;
    let mut body = password_body("joe", "p", None);
    body["auth"]["padding"] = json!("x".repeat(1000));

    let (status, json) = status_and_json(app.post_json("/v2.0/tokens", &body).await).await;

    assert_eq!(status, 413);
    assert_eq!(json["overLimit"]["code"], 413);
}

#[tokio::test]
async fn v3_paths_answer_oversized_bodies_and_unknown_routes_in_v3_format() {
    let app = spawn_app_with(|s| s.base.server.request_body_limit_bytes = 256).await;
    let mut body = crate::helpers::v3_password_body("joe", "p", serde_json::Value::Null);
    body["auth"]["padding"] = json!("x".repeat(1000));

    let (too_large, too_large_json) =
        status_and_json(app.post_json("/v3/auth/tokens", &body).await).await;
    let (unknown, unknown_json) = status_and_json(app.get("/v3/nothing-here").await).await;

    assert_eq!(too_large, 413);
    assert_eq!(too_large_json["error"]["code"], 413);
    assert_eq!(unknown, 404);
    assert_eq!(unknown_json["error"]["code"], 404);
}

#[tokio::test]
async fn trailing_slashes_are_ignored_as_mimic_ignored_them() {
    let app = spawn_app().await;

    let v2 = app
        .post_json("/v2.0/tokens/", &password_body("joe", "p", None))
        .await;
    let v3 = app
        .post_json(
            "/v3/auth/tokens/",
            &crate::helpers::v3_password_body("joe", "p", serde_json::Value::Null),
        )
        .await;
    let tick = app.post_raw("/mimic/v1.1/tick/", r#"{"amount": 1}"#).await;

    assert_eq!(v2.status(), 200);
    assert_eq!(v3.status(), 201);
    assert_eq!(tick.status(), 200);
}

#[tokio::test]
async fn a_wrong_method_answers_in_keystone_format_not_html() {
    let app = spawn_app().await;

    let res = app
        .client
        .put(app.url("/v2.0/tokens"))
        .body("{}")
        .send()
        .await
        .unwrap();
    let (status, body) = status_and_json(res).await;

    assert!(status == 404 || status == 405, "{status}");
    assert!(body.as_object().unwrap().len() == 1, "{body}");
}

#[tokio::test]
async fn the_catalog_other_mocks_fetch_lists_the_eight_services() {
    let app = spawn_app().await;

    let (status, body) = status_and_json(app.get("/_understudy/v1/catalog").await).await;

    assert_eq!(status, 200);
    let names: Vec<&str> = body["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "cloudServersOpenStack",
            "cloudServersBehavior",
            "cloudLoadBalancers",
            "cloudLoadBalancerControl",
            "cloudImages",
            "cloudIdentity",
            "cloudOrchestration",
            "rackconnect"
        ]
    );
    assert_eq!(body["regions"].as_array().unwrap().len(), 6);
    assert_eq!(body["services"][4]["external"], true);
}

#[tokio::test]
async fn unknown_routes_and_methods_under_a_token_are_keystone_404s() {
    let app = spawn_app().await;
    for (method, path) in [
        (reqwest::Method::PUT, "/v2.0/tokens/abc"),
        (reqwest::Method::POST, "/v2.0/tokens/abc"),
        (reqwest::Method::GET, "/v2.0/tokens/abc/nothing"),
        (reqwest::Method::DELETE, "/v2.0/tokens/abc/endpoints"),
        (
            reqwest::Method::GET,
            "/identity/v2.0/tokens/abc/endpoints/x",
        ),
    ] {
        let res = app
            .client
            .request(method.clone(), app.url(path))
            .send()
            .await
            .unwrap();
        let (status, body) = status_and_json(res).await;
        assert_eq!(status, 404, "{method} {path}");
        assert_eq!(body["itemNotFound"]["code"], 404, "{method} {path}: {body}");
    }
}
