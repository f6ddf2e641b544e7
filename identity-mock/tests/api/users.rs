//! Tenants, users, API-key credentials and `/v1.1/mosso/{tenant}` (open mode).

use serde_json::json;

use crate::helpers::{spawn_app, status_and_json};

#[tokio::test]
async fn tenants_are_those_of_the_x_auth_token() {
    let app = spawn_app().await;
    let (token, _) = app.token_for("joe", Some("31337")).await;

    let (status, body) = status_and_json(app.get_as("/v2.0/tenants", &token).await).await;

    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"tenants": [{"id": "31337", "name": "31337", "enabled": true}], "tenants_links": []})
    );
}

#[tokio::test]
async fn tenants_without_a_valid_token_is_401() {
    let app = spawn_app().await;

    let (status, body) = status_and_json(app.get_as("/v2.0/tenants", "bogus").await).await;

    assert_eq!(status, 401);
    assert_eq!(
        body["unauthorized"]["message"],
        "No valid token provided. Please use the 'X-Auth-Token' header with a valid token."
    );
}

#[tokio::test]
async fn a_user_is_found_by_name() {
    let app = spawn_app().await;
    let (_, auth) = app.token_for("joe", None).await;

    let (status, body) = status_and_json(app.get("/v2.0/users?name=joe").await).await;

    assert_eq!(status, 200);
    assert_eq!(body["user"]["username"], "joe");
    assert_eq!(body["user"]["id"], auth["access"]["user"]["id"]);
    assert_eq!(body["user"]["enabled"], true);
    assert_eq!(
        body["user"]["RAX-AUTH:domainId"],
        auth["access"]["token"]["tenant"]["id"]
    );
}

#[tokio::test]
async fn a_name_no_credentials_could_carry_is_no_users_and_is_not_remembered() {
    let app = spawn_app().await;
    let long = "a".repeat(256);
    for name in ["%00", "a%1Bb", long.as_str()] {
        let (status, body) =
            status_and_json(app.get(&format!("/v2.0/users?name={name}")).await).await;
        assert_eq!(
            (status, body),
            (
                404,
                json!({"itemNotFound": {"code": 404, "message": "User not found"}})
            ),
            "{name}"
        );
    }
    let (_, body) = status_and_json(app.get("/v2.0/users").await).await;
    assert_eq!(body["users"], json!([]));
}

#[tokio::test]
async fn without_a_name_users_are_listed() {
    let app = spawn_app().await;
    app.token_for("joe", None).await;

    let (status, body) = status_and_json(app.get("/v2.0/users").await).await;

    assert_eq!(status, 200);
    assert_eq!(body["users"][0]["username"], "joe");
}

#[tokio::test]
async fn api_key_credentials_of_a_known_user() {
    let app = spawn_app().await;
    let (_, auth) = app.token_for("joe", None).await;
    let id = auth["access"]["user"]["id"].as_str().unwrap();

    let (status, list) = status_and_json(
        app.get(&format!("/v2.0/users/{id}/OS-KSADM/credentials"))
            .await,
    )
    .await;
    let (status_one, one) = status_and_json(
        app.get(&format!(
            "/v2.0/users/{id}/OS-KSADM/credentials/RAX-KSKEY:apiKeyCredentials"
        ))
        .await,
    )
    .await;

    assert_eq!(status, 200);
    assert_eq!(status_one, 200);
    let key = &one["RAX-KSKEY:apiKeyCredentials"];
    assert_eq!(key["username"], "joe");
    assert_eq!(key["apiKey"].as_str().unwrap().len(), 32);
    assert_eq!(list["credentials"][0], one);
    assert_eq!(list["credentials_links"], json!([]));

    // The key shown works for API-key authentication.
    let res = app
        .post_json(
            "/v2.0/tokens",
            &json!({"auth": {"RAX-KSKEY:apiKeyCredentials": {"username": "joe", "apiKey": key["apiKey"]}}}),
        )
        .await;
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn credentials_of_an_unknown_user_are_404() {
    let app = spawn_app().await;

    let (status, body) =
        status_and_json(app.get("/v2.0/users/nobody/OS-KSADM/credentials").await).await;

    assert_eq!(status, 404);
    assert_eq!(
        body,
        json!({"itemNotFound": {"code": 404, "message": "User nobody not found"}})
    );
}

#[tokio::test]
async fn mosso_answers_301_with_the_tenants_user() {
    let app = spawn_app().await;
    app.token_for("otter-admin", Some("000001")).await;

    for path in ["/v1.1/mosso/000001", "/identity/v1.1/mosso/000001"] {
        let (status, body) = status_and_json(app.get(path).await).await;
        assert_eq!(status, 301, "{path}");
        assert_eq!(body["user"]["id"], "otter-admin", "{path}");
    }
}

#[tokio::test]
async fn mosso_of_an_unseen_tenant_names_a_user_that_lands_in_that_tenant() {
    let app = spawn_app().await;

    let (status, body) = status_and_json(app.get("/v1.1/mosso/000010").await).await;
    let username = body["user"]["id"].as_str().unwrap().to_string();
    let (_, auth) = app.token_for(&username, None).await;

    assert_eq!(status, 301);
    assert_eq!(auth["access"]["token"]["tenant"]["id"], "000010");
}
