//! Every error answers in Keystone's format: unknown routes, oversized bodies.

use serde_json::json;

use crate::helpers::{password_body, spawn_app, spawn_app_with, status_and_json};

#[tokio::test]
async fn an_unknown_route_is_404_item_not_found() {
    let app = spawn_app().await;

    for path in ["/v2.0/nothing-here", "/nope", "/v3/nothing"] {
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
