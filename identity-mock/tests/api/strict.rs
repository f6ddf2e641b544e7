//! `identity.user_mode = "strict"`: only configured users, with their secrets and tenants.

use serde_json::{json, Value};

use crate::helpers::{password_body, spawn_strict_app, status_and_json, TestApp};

async fn alice_token(app: &TestApp) -> String {
    let (status, body) = status_and_json(
        app.post_json("/v2.0/tokens", &password_body("alice", "secret", None))
            .await,
    )
    .await;
    assert_eq!(status, 200);
    body["access"]["token"]["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn configured_credentials_give_the_configured_user_and_tenant() {
    let app = spawn_strict_app().await;

    let (status, body) = status_and_json(
        app.post_json(
            "/v2.0/tokens",
            &json!({"auth": {"RAX-KSKEY:apiKeyCredentials": {"username": "alice", "apiKey": "alice-key"},
                "tenantName": "alice-co"}}),
        )
        .await,
    )
    .await;

    assert_eq!(status, 200);
    assert_eq!(
        body["access"]["token"]["tenant"],
        json!({"id": "100100", "name": "alice-co"})
    );
    assert_eq!(body["access"]["user"]["id"], "u-alice");
    assert_eq!(body["access"]["user"]["RAX-AUTH:defaultRegion"], "LON");
}

#[tokio::test]
async fn wrong_secrets_are_401_with_rackspaces_texts() {
    let app = spawn_strict_app().await;
    let cases: [(Value, &str, &str); 4] = [
        (
            password_body("alice", "wrong", None),
            "Unable to authenticate user with credentials provided.",
            "wrong password",
        ),
        (
            password_body("mallory", "secret", None),
            "Unable to authenticate user with credentials provided.",
            "unknown user",
        ),
        (
            json!({"auth": {"RAX-KSKEY:apiKeyCredentials": {"username": "alice", "apiKey": "nope"}}}),
            "Username or api key is invalid.",
            "wrong api key",
        ),
        (
            json!({"auth": {"RAX-KSKEY:apiKeyCredentials": {"username": "bob", "apiKey": "x"}}}),
            "Username or api key is invalid.",
            "user without an api key",
        ),
    ];
    for (body, message, why) in cases {
        let (status, res) = status_and_json(app.post_json("/v2.0/tokens", &body).await).await;
        assert_eq!(status, 401, "{why}");
        assert_eq!(
            res,
            json!({"unauthorized": {"code": 401, "message": message}}),
            "{why}"
        );
    }
}

#[tokio::test]
async fn a_tenant_that_is_not_the_users_is_401() {
    let app = spawn_strict_app().await;

    let (status, body) = status_and_json(
        app.post_json(
            "/v2.0/tokens",
            &password_body("alice", "secret", Some("200200")),
        )
        .await,
    )
    .await;

    assert_eq!(status, 401);
    assert_eq!(
        body["unauthorized"]["message"],
        "Tenant with Name/Id: '200200' is not valid for User 'alice' (id: 'u-alice')"
    );
}

#[tokio::test]
async fn token_credentials_for_another_tenant_are_401() {
    let app = spawn_strict_app().await;
    let token = alice_token(&app).await;

    let (status, body) = status_and_json(
        app.post_json(
            "/v2.0/tokens",
            &json!({"auth": {"token": {"id": token}, "tenantId": "200200"}}),
        )
        .await,
    )
    .await;

    assert_eq!(status, 401);
    assert_eq!(
        body["unauthorized"]["message"],
        "Token doesn't belong to Tenant with Id/Name: '200200'"
    );
}

#[tokio::test]
async fn lookups_need_a_valid_x_auth_token() {
    let app = spawn_strict_app().await;
    let token = alice_token(&app).await;
    let path = format!("/v2.0/tokens/{token}");

    let anonymous = app.get(&path).await;
    let (status, _) = status_and_json(app.get_as(&path, &token).await).await;
    let users = app.get("/v2.0/users?name=bob").await;
    let (users_status, bob) =
        status_and_json(app.get_as("/v2.0/users?name=bob", &token).await).await;

    assert_eq!(anonymous.status(), 401);
    assert_eq!(status, 200);
    assert_eq!(users.status(), 401);
    assert_eq!(users_status, 200);
    assert_eq!(bob["user"]["RAX-AUTH:domainId"], "200200");
}

#[tokio::test]
async fn only_configured_users_and_tenants_are_found() {
    let app = spawn_strict_app().await;
    let token = alice_token(&app).await;

    let (missing_user, _) =
        status_and_json(app.get_as("/v2.0/users?name=carol", &token).await).await;
    let (mosso_status, mosso) = status_and_json(app.get("/v1.1/mosso/200200").await).await;
    let (unknown_status, unknown) = status_and_json(app.get("/v1.1/mosso/999").await).await;
    let (_, users) = status_and_json(app.get_as("/v2.0/users", &token).await).await;
    let bob_id = users["users"][1]["id"].as_str().unwrap().to_string();
    let (no_key_status, no_key) = status_and_json(
        app.get_as(
            &format!("/v2.0/users/{bob_id}/OS-KSADM/credentials/RAX-KSKEY:apiKeyCredentials"),
            &token,
        )
        .await,
    )
    .await;

    assert_eq!(missing_user, 404);
    assert_eq!((mosso_status, &mosso["user"]["id"]), (301, &json!("bob")));
    assert_eq!(unknown_status, 404);
    assert_eq!(
        unknown["itemNotFound"]["message"],
        "User with MossoId 999 not found"
    );
    assert_eq!(no_key_status, 404);
    assert_eq!(
        no_key["itemNotFound"]["message"],
        format!(
            "Credential type RAX-KSKEY:apiKeyCredentials was not found for User with Id: {bob_id}"
        )
    );
}

#[tokio::test]
async fn strict_mode_tokens_expire_on_the_virtual_clock() {
    let app = spawn_strict_app().await;
    let token = alice_token(&app).await;
    let path = format!("/v2.0/tokens/{token}");
    assert_eq!(app.get_as(&path, &token).await.status(), 200);

    let tick = app
        .post_raw("/mimic/v1.1/tick", r#"{"amount": 86401}"#)
        .await;

    assert_eq!(tick.status(), 200);
    assert_eq!(
        app.get_as(&path, &token).await.status(),
        401,
        "a strict Identity's tokens expire after auth.token_ttl_s of virtual time"
    );
}
