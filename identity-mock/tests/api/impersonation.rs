//! `POST /v2.0/RAX-AUTH/impersonation-tokens`, as otter's impersonating authenticator uses it.

use serde_json::{json, Value};

use crate::helpers::{spawn_app, spawn_strict_app, status_and_json, TestApp};

fn impersonation(username: &str, seconds: Value) -> Value {
    json!({"RAX-AUTH:impersonation": {"user": {"username": username}, "expire-in-seconds": seconds}})
}

async fn impersonate(app: &TestApp, admin: Option<&str>, body: &Value) -> reqwest::Response {
    let mut req = app
        .client
        .post(app.url("/v2.0/RAX-AUTH/impersonation-tokens"))
        .json(body);
    if let Some(t) = admin {
        req = req.header("X-Auth-Token", t);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn otters_flow_admin_mosso_impersonate_endpoints() {
    let app = spawn_app().await;
    let (admin, _) = app.token_for("autoscale-admin", None).await;
    // The customer authenticated once with their tenant.
    app.token_for("customer", Some("000001")).await;

    let (_, mosso) = status_and_json(app.get("/identity/v1.1/mosso/000001").await).await;
    let user = mosso["user"]["id"].as_str().unwrap();
    let (status, body) =
        status_and_json(impersonate(&app, Some(&admin), &impersonation(user, json!(10800))).await)
            .await;
    let token = body["access"]["token"]["id"].as_str().unwrap();
    let (_, endpoints) = status_and_json(
        app.get_as(&format!("/v2.0/tokens/{token}/endpoints"), &admin)
            .await,
    )
    .await;

    assert_eq!(status, 200);
    let ord_names: Vec<&str> = endpoints["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["region"] == "ORD")
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    for needed in [
        "cloudServersOpenStack",
        "cloudLoadBalancers",
        "cloudOrchestration",
        "rackconnect",
    ] {
        assert!(ord_names.contains(&needed), "{needed} in ORD");
    }
    assert!(endpoints["endpoints"][0]["publicURL"]
        .as_str()
        .unwrap()
        .ends_with("/000001"));
}

#[tokio::test]
async fn an_impersonation_token_names_its_impersonator_and_expires_when_asked() {
    let app = crate::helpers::spawn_expiring_app().await;
    let (admin, admin_auth) = app.token_for("autoscale-admin", None).await;

    let (_, body) = status_and_json(
        impersonate(&app, Some(&admin), &impersonation("customer", json!(60))).await,
    )
    .await;
    let token = body["access"]["token"]["id"].as_str().unwrap();
    let (status, validated) =
        status_and_json(app.get(&format!("/v2.0/tokens/{token}")).await).await;

    assert_eq!(status, 200);
    assert_eq!(validated["access"]["user"]["name"], "customer");
    assert_eq!(
        validated["access"]["RAX-AUTH:impersonator"]["name"],
        "autoscale-admin"
    );
    assert_eq!(
        validated["access"]["RAX-AUTH:impersonator"]["id"],
        admin_auth["access"]["user"]["id"]
    );
    let claims = app.claims(token);
    assert_eq!(claims.exp - claims.iat, 60);

    app.advance_clock(61).await;
    assert_eq!(
        app.get(&format!("/v2.0/tokens/{token}")).await.status(),
        404
    );
}

#[tokio::test]
async fn malformed_impersonation_requests_are_400() {
    let app = spawn_app().await;
    let (admin, _) = app.token_for("admin", None).await;

    for (body, why) in [
        (json!({}), "no impersonation object"),
        (
            json!({"RAX-AUTH:impersonation": {"user": {}}}),
            "no username",
        ),
        (impersonation("joe", json!(-5)), "negative lifetime"),
        (impersonation("joe", json!("soon")), "lifetime not a number"),
    ] {
        let (status, res) = status_and_json(impersonate(&app, Some(&admin), &body).await).await;
        assert_eq!(status, 400, "{why}");
        assert_eq!(res["badRequest"]["code"], 400, "{why}");
    }
}

#[tokio::test]
async fn strict_mode_needs_a_caller_token_and_a_known_user() {
    let app = spawn_strict_app().await;
    let (admin, _) = {
        let res = app
            .post_json(
                "/v2.0/tokens",
                &crate::helpers::password_body("alice", "secret", None),
            )
            .await;
        let body: Value = res.json().await.unwrap();
        (
            body["access"]["token"]["id"].as_str().unwrap().to_string(),
            body,
        )
    };

    let anonymous = impersonate(&app, None, &impersonation("bob", Value::Null)).await;
    let unknown = impersonate(&app, Some(&admin), &impersonation("carol", Value::Null)).await;
    let ok = impersonate(&app, Some(&admin), &impersonation("bob", Value::Null)).await;

    assert_eq!(anonymous.status(), 401);
    assert_eq!(unknown.status(), 404);
    assert_eq!(ok.status(), 200);
    let body: Value = ok.json().await.unwrap();
    let claims = app.claims(body["access"]["token"]["id"].as_str().unwrap());
    assert_eq!(claims.tenant_id, "200200");
    assert_eq!(claims.exp - claims.iat, 86_400, "Mimic's default lifetime");
}
