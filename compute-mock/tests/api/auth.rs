use serde_json::json;

use crate::helpers::{assert_error, mint, spawn_app, spawn_app_with, TENANT};

const WEBOB_401: &str = "This server could not verify that you are authorized to access the \
document you requested. Either you supplied the wrong credentials (e.g., bad password), or your \
browser does not understand how to supply the credentials required.";

#[tokio::test]
async fn a_request_without_a_token_is_401_with_webobs_text() {
    let app = spawn_app().await;
    let res = app.client.get(app.url("servers")).send().await.unwrap();
    assert_error(res, 401, "unauthorized", WEBOB_401).await;
}

#[tokio::test]
async fn a_forged_token_is_401() {
    let app = spawn_app().await;
    let res = app
        .client
        .get(app.url("servers/detail"))
        .header("X-Auth-Token", "uu1.not.valid")
        .send()
        .await
        .unwrap();
    assert_error(res, 401, "unauthorized", WEBOB_401).await;
}

#[tokio::test]
async fn a_token_of_another_tenant_is_401() {
    let app = spawn_app().await;
    let other = mint(&app.codec, "999");
    let res = app
        .client
        .post(app.url("servers"))
        .header("X-Auth-Token", other)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_error(res, 401, "unauthorized", WEBOB_401).await;
}

#[tokio::test]
async fn open_auth_accepts_any_token_like_mimic() {
    let app = spawn_app_with(|s| s.base.auth.mode = common::settings::AuthMode::Open).await;
    let res = app.client.get(app.url("servers")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let res = app
        .client
        .get(app.region_url("DFW", TENANT, "flavors"))
        .header("X-Auth-Token", "anything")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}
