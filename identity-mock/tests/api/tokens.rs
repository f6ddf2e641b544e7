//! Keystone v2.0 tokens: authenticate, validate, revoke, endpoints.

use serde_json::{json, Value};

use crate::helpers::{password_body, spawn_app, status_and_json};

#[tokio::test]
async fn password_auth_returns_200_with_token_user_and_catalog() {
    let app = spawn_app().await;

    let (status, body) = status_and_json(app.authenticate("joe", None).await).await;

    assert_eq!(status, 200);
    let token = &body["access"]["token"];
    assert!(token["id"].as_str().unwrap().starts_with("uu1."));
    assert_eq!(token["RAX-AUTH:authenticatedBy"], json!(["PASSWORD"]));
    let tenant = token["tenant"]["id"].as_str().unwrap();
    assert!(
        tenant.chars().all(|c| c.is_ascii_digit()),
        "a numeric tenant"
    );
    assert_eq!(token["tenant"]["name"], tenant);
    let user = &body["access"]["user"];
    assert_eq!(user["name"], "joe");
    assert_eq!(user["id"].as_str().unwrap().len(), 32);
    assert_eq!(user["RAX-AUTH:defaultRegion"], "DFW");
    assert_eq!(user["roles"][0]["name"], "identity:user-admin");
    let catalog = body["access"]["serviceCatalog"].as_array().unwrap();
    let names: Vec<&str> = catalog
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
    let ord = catalog[0]["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["region"] == "ORD")
        .unwrap();
    assert_eq!(
        ord["publicURL"],
        format!("http://localhost:8774/ORD/v2/{tenant}")
    );
    assert_eq!(ord["tenantId"], tenant);
    let images = &catalog[4]["endpoints"][1];
    assert_eq!(
        images["tenantId"], tenant,
        "Glance's URL names no tenant; the entry does"
    );
    assert_eq!(
        images["publicURL"],
        format!(
            "http://localhost:8774/{}/images/v2",
            images["region"].as_str().unwrap()
        )
    );
    let heat = &catalog[6]["endpoints"][1];
    assert_eq!(
        heat["publicURL"],
        format!(
            "https://{}.orchestration.api.rackspacecloud.com/v1/{tenant}",
            heat["region"].as_str().unwrap().to_lowercase()
        )
    );
}

#[tokio::test]
async fn a_username_always_maps_to_the_same_tenant_and_user_across_apps() {
    let first = spawn_app().await;
    let second = spawn_app().await;

    let (_, a) = first.token_for("stable-user", None).await;
    let (_, b) = second.token_for("stable-user", None).await;

    assert_eq!(
        a["access"]["token"]["tenant"],
        b["access"]["token"]["tenant"]
    );
    assert_eq!(a["access"]["user"]["id"], b["access"]["user"]["id"]);
}

#[tokio::test]
async fn expires_is_utc_with_milliseconds_and_a_literal_z() {
    let app = spawn_app().await;

    let (_, body) = app.token_for("joe", None).await;

    let expires = body["access"]["token"]["expires"].as_str().unwrap();
    let re = regex::Regex::new(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$").unwrap();
    assert!(re.is_match(expires), "{expires}");
}

#[tokio::test]
async fn a_requested_tenant_id_or_name_is_honoured_in_open_mode_then_settled() {
    let app = spawn_app().await;

    let (_, by_id) = app.token_for("joe", Some("000001")).await;
    let password = |user: &str, tenant: Value| {
        let mut auth = json!({"passwordCredentials": {"username": user, "password": "x"}});
        auth.as_object_mut()
            .unwrap()
            .extend(tenant.as_object().unwrap().clone());
        json!({ "auth": auth })
    };
    let (status, by_name) = status_and_json(
        app.post_json(
            "/v2.0/tokens",
            &password("jane", json!({"tenantName": "demo"})),
        )
        .await,
    )
    .await;

    assert_eq!(
        by_id["access"]["token"]["tenant"],
        json!({"id": "000001", "name": "000001"})
    );
    assert_eq!(
        by_id["access"]["serviceCatalog"][0]["endpoints"][0]["tenantId"],
        "000001"
    );
    assert_eq!(status, 200);
    assert_eq!(by_name["access"]["token"]["tenant"]["id"], "demo");

    // From then on each user's tenant is settled (Mimic's sessions, and Rackspace): the
    // same tenant again, by id or name, is fine; another is a 401 and changes nothing.
    for tenant in [
        json!({"tenantId": "000001"}),
        json!({"tenantName": "000001"}),
    ] {
        let again = app
            .post_json("/v2.0/tokens", &password("joe", tenant))
            .await;
        assert_eq!(again.status(), 200);
    }
    let id_of = |access: &Value| access["access"]["user"]["id"].as_str().unwrap().to_string();
    for (user, id, tenant, named) in [
        ("joe", id_of(&by_id), json!({"tenantId": "999"}), "999"),
        (
            "jane",
            id_of(&by_name),
            json!({"tenantName": "other"}),
            "other",
        ),
    ] {
        let (status, body) =
            status_and_json(app.post_json("/v2.0/tokens", &password(user, tenant)).await).await;
        assert_eq!(status, 401, "{body}");
        assert_eq!(
            body,
            json!({"unauthorized": {"code": 401, "message": format!(
                "Tenant with Name/Id: '{named}' is not valid for User '{user}' (id: '{id}')"
            )}})
        );
    }
    let (_, plain) = app.token_for("joe", None).await;
    assert_eq!(plain["access"]["token"]["tenant"]["id"], "000001");
}

#[tokio::test]
async fn api_key_auth_is_reported_as_apikey() {
    let app = spawn_app().await;

    let (status, body) = status_and_json(
        app.post_json(
            "/v2.0/tokens",
            &json!({"auth": {"RAX-KSKEY:apiKeyCredentials": {"username": "joe", "apiKey": "k"}, "tenantId": "1100111"}}),
        )
        .await,
    )
    .await;

    assert_eq!(status, 200);
    assert_eq!(
        body["access"]["token"]["RAX-AUTH:authenticatedBy"],
        json!(["APIKEY"])
    );
    assert_eq!(body["access"]["token"]["tenant"]["id"], "1100111");
}

#[tokio::test]
async fn token_auth_returns_the_presented_token() {
    let app = spawn_app().await;
    let (token, _) = app.token_for("joe", Some("555")).await;

    let (status, body) = status_and_json(
        app.post_json(
            "/v2.0/tokens",
            &json!({"auth": {"token": {"id": token}, "tenantId": "555"}}),
        )
        .await,
    )
    .await;

    assert_eq!(status, 200);
    assert_eq!(body["access"]["token"]["id"], token.as_str());
    assert_eq!(body["access"]["user"]["name"], "joe");
}

#[tokio::test]
async fn token_auth_with_an_unknown_token_is_401() {
    let app = spawn_app().await;

    let (status, body) = status_and_json(
        app.post_json("/v2.0/tokens", &json!({"auth": {"token": {"id": "nope"}}}))
            .await,
    )
    .await;

    assert_eq!(status, 401);
    assert_eq!(
        body,
        json!({"unauthorized": {"code": 401, "message": "Token not authenticated."}})
    );
}

#[tokio::test]
async fn malformed_auth_bodies_are_400_bad_request() {
    let app = spawn_app().await;
    let cases: [(&str, &str); 6] = [
        ("{not json", "not JSON"),
        ("[]", "not an object"),
        (r#"{"auth": {}}"#, "no credentials"),
        (
            r#"{"auth": {"secretCredentials": {"username": "joe"}}}"#,
            "unknown credential type",
        ),
        (
            r#"{"auth": {"passwordCredentials": {"username": "joe"}}}"#,
            "missing password",
        ),
        (
            r#"{"auth": {"passwordCredentials": {"username": "joe", "password": "p"}, "tenantId": "1", "tenantName": "x"}}"#,
            "both tenantId and tenantName",
        ),
    ];
    for (body, why) in cases {
        let (status, json) = status_and_json(app.post_raw("/v2.0/tokens", body).await).await;
        assert_eq!(status, 400, "{why}");
        assert_eq!(json["badRequest"]["code"], 400, "{why}: {json}");
        assert!(json["badRequest"]["message"].as_str().is_some(), "{why}");
    }
}

#[tokio::test]
async fn the_same_routes_answer_under_the_identity_prefix() {
    let app = spawn_app().await;

    let res = app
        .post_json(
            "/identity/v2.0/tokens",
            &password_body("joe", "p", Some("1")),
        )
        .await;
    let (status, body) = status_and_json(res).await;
    let token = body["access"]["token"]["id"].as_str().unwrap();
    let validated = app.get(&format!("/identity/v2.0/tokens/{token}")).await;

    assert_eq!(status, 200);
    assert_eq!(validated.status(), 200);
}

#[tokio::test]
async fn validate_returns_token_and_user_without_catalog() {
    let app = spawn_app().await;
    let (token, _) = app.token_for("joe", Some("4242")).await;

    let (status, body) = status_and_json(app.get(&format!("/v2.0/tokens/{token}")).await).await;

    assert_eq!(status, 200);
    assert_eq!(body["access"]["token"]["id"], token.as_str());
    assert_eq!(body["access"]["token"]["tenant"]["id"], "4242");
    assert_eq!(body["access"]["user"]["name"], "joe");
    assert!(body["access"].get("serviceCatalog").is_none());
}

#[tokio::test]
async fn validate_with_belongs_to_checks_the_tenant() {
    let app = spawn_app().await;
    let (token, _) = app.token_for("joe", Some("4242")).await;

    let ok = app
        .get(&format!("/v2.0/tokens/{token}?belongsTo=4242"))
        .await;
    let (status, body) = status_and_json(
        app.get(&format!("/v2.0/tokens/{token}?belongsTo=999"))
            .await,
    )
    .await;

    assert_eq!(ok.status(), 200);
    assert_eq!(status, 404);
    assert_eq!(
        body["itemNotFound"]["message"],
        "Token doesn't belong to Tenant with Id/Name: '999'"
    );
}

#[tokio::test]
async fn head_validates_without_a_body() {
    let app = spawn_app().await;
    let (token, _) = app.token_for("joe", None).await;

    let good = app
        .client
        .head(app.url(&format!("/v2.0/tokens/{token}")))
        .send()
        .await
        .unwrap();
    let bad = app
        .client
        .head(app.url("/v2.0/tokens/unknown"))
        .send()
        .await
        .unwrap();

    assert_eq!(good.status(), 200);
    assert_eq!(bad.status(), 404);
    assert!(bad.text().await.unwrap().is_empty());
}

#[tokio::test]
async fn unknown_tampered_expired_and_revoked_tokens_are_404_on_validation() {
    let app = crate::helpers::spawn_expiring_app().await;
    let (live, _) = app.token_for("joe", None).await;
    let (revoked, _) = app.token_for("jane", None).await;
    // Another token's payload under this token's signature, and a token signed with
    // another key.
    let (other, _) = app.token_for("mallory", None).await;
    let payload = other.split('.').nth(1).unwrap();
    let signature = live.rsplit('.').next().unwrap();
    let tampered = format!("uu1.{payload}.{signature}");
    let foreign = common::token::TokenCodec::new("another-key").issue(&app.claims(&other));

    let revoke = app
        .client
        .delete(app.url(&format!("/v2.0/tokens/{revoked}")))
        .header("X-Auth-Token", &revoked)
        .send()
        .await
        .unwrap();
    assert_eq!(revoke.status(), 204);
    for (token, why) in [
        ("token_123".to_string(), "unknown"),
        (tampered, "tampered"),
        (foreign, "signed with another key"),
        (revoked.clone(), "revoked"),
    ] {
        let (status, body) = status_and_json(app.get(&format!("/v2.0/tokens/{token}")).await).await;
        assert_eq!(status, 404, "{why}");
        assert_eq!(
            body,
            json!({"itemNotFound": {"code": 404, "message": "Token not found."}}),
            "{why}"
        );
    }

    assert_eq!(app.get(&format!("/v2.0/tokens/{live}")).await.status(), 200);
    app.advance_clock(86_401).await;
    let (status, _) = status_and_json(app.get(&format!("/v2.0/tokens/{live}")).await).await;
    assert_eq!(status, 404, "expired after the clock passes the TTL");
}

/// `DELETE /v2.0/tokens/{id}` as the caller's `X-Auth-Token`.
async fn revoke_as(app: &crate::helpers::TestApp, token: &str, by: Option<&str>) -> (u16, Value) {
    let mut req = app.client.delete(app.url(&format!("/v2.0/tokens/{token}")));
    if let Some(by) = by {
        req = req.header("X-Auth-Token", by);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[tokio::test]
async fn revoking_an_unknown_token_is_404() {
    let app = spawn_app().await;
    let (caller, _) = app.token_for("joe", None).await;

    let (status, body) = revoke_as(&app, "unknown", Some(&caller)).await;

    assert_eq!(status, 404);
    assert_eq!(body["itemNotFound"]["message"], "Token not found");
}

#[tokio::test]
async fn revoking_a_token_takes_a_token_of_its_tenant_or_an_identity_admins() {
    let app = spawn_app().await;
    let (victim, _) = app.token_for("joe", Some("100")).await;
    let (colleague, _) = app.token_for("jane", Some("100")).await;
    let (stranger, _) = app.token_for("mallory", Some("200")).await;
    let valid = |t: String| {
        let app = &app;
        async move {
            app.get(&format!("/v2.0/tokens/{t}"))
                .await
                .status()
                .as_u16()
        }
    };

    let (status, body) = revoke_as(&app, &victim, None).await;
    assert_eq!(status, 401, "no caller: {body}");
    assert_eq!(
        body["unauthorized"]["message"],
        "No valid token provided. Please use the 'X-Auth-Token' header with a valid token."
    );
    let (status, _) = revoke_as(&app, &victim, Some("not-a-token")).await;
    assert_eq!(status, 401, "a caller whose token is not valid");
    let (status, body) = revoke_as(&app, &victim, Some(&stranger)).await;
    assert_eq!(
        (status, body),
        (
            403,
            json!({"forbidden": {"code": 403, "message": "Not Authorized"}})
        ),
        "another tenant's caller"
    );
    assert_eq!(
        valid(victim.clone()).await,
        200,
        "a refused revoke changes nothing"
    );

    let (status, _) = revoke_as(&app, &victim, Some(&colleague)).await;
    assert_eq!(status, 204, "a caller of the token's own tenant");
    assert_eq!(valid(victim).await, 404);
    let (status, _) = revoke_as(&app, &stranger, Some(&stranger)).await;
    assert_eq!(status, 204, "the caller's own token");
    assert_eq!(valid(stranger).await, 404);
}

#[tokio::test]
async fn an_identity_admin_revokes_any_tenants_token() {
    let app = crate::helpers::spawn_app_with(|s| {
        s.identity.default_roles = vec!["identity:service-admin".into()];
    })
    .await;
    let (victim, _) = app.token_for("joe", Some("100")).await;
    let (admin, _) = app.token_for("ops", Some("200")).await;

    let (status, _) = revoke_as(&app, &victim, Some(&admin)).await;

    assert_eq!(status, 204);
    assert_eq!(
        app.get(&format!("/v2.0/tokens/{victim}")).await.status(),
        404
    );
}

#[tokio::test]
async fn delete_without_an_id_revokes_the_callers_own_token() {
    let app = spawn_app().await;
    let (token, _) = app.token_for("joe", None).await;

    let res = app
        .client
        .delete(app.url("/v2.0/tokens"))
        .header("X-Auth-Token", &token)
        .send()
        .await
        .unwrap();

    assert_eq!(res.status(), 204);
    assert_eq!(
        app.get(&format!("/v2.0/tokens/{token}")).await.status(),
        404
    );
}

#[tokio::test]
async fn endpoints_of_a_token_are_the_flattened_catalog() {
    let app = spawn_app().await;
    let (token, _) = app.token_for("joe", Some("000001")).await;

    let (status, body) =
        status_and_json(app.get(&format!("/v2.0/tokens/{token}/endpoints")).await).await;

    assert_eq!(status, 200);
    let endpoints = body["endpoints"].as_array().unwrap();
    assert_eq!(endpoints.len(), 8 * 6, "eight services in six regions");
    let lb_ord: Vec<&Value> = endpoints
        .iter()
        .filter(|e| e["name"] == "cloudLoadBalancers" && e["region"] == "ORD")
        .collect();
    assert_eq!(lb_ord.len(), 1);
    assert_eq!(lb_ord[0]["type"], "rax:load-balancer");
    assert_eq!(
        lb_ord[0]["publicURL"],
        "http://localhost:9876/ORD/v1.0/000001"
    );
    let unknown = app.get("/v2.0/tokens/unknown/endpoints").await;
    assert_eq!(unknown.status(), 404);
}

#[tokio::test]
async fn tokens_issued_here_validate_with_the_shared_development_key() {
    let app = spawn_app().await;
    let (token, _) = app.token_for("joe", Some("777")).await;

    let claims = common::token::TokenCodec::new("understudy-development-key-not-secret")
        .verify(&token)
        .unwrap();

    assert_eq!(claims.tenant_id, "777");
    assert_eq!(claims.user_name, "joe");
}

#[tokio::test]
async fn token_auth_for_another_tenant_is_a_401_and_for_its_own_the_same_token() {
    let app = spawn_app().await;
    let (token, _) = app.token_for("joe", Some("555")).await;
    let auth = |tenant: Value| {
        let mut auth = json!({"token": {"id": token}});
        auth.as_object_mut()
            .unwrap()
            .extend(tenant.as_object().unwrap().clone());
        json!({ "auth": auth })
    };

    for own in [json!({"tenantId": "555"}), json!({"tenantName": "555"})] {
        let (status, body) = status_and_json(app.post_json("/v2.0/tokens", &auth(own)).await).await;
        assert_eq!(status, 200);
        assert_eq!(body["access"]["token"]["id"], token.as_str());
    }
    let (status, body) = status_and_json(
        app.post_json("/v2.0/tokens", &auth(json!({"tenantId": "666"})))
            .await,
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(
        body,
        json!({"unauthorized": {"code": 401,
            "message": "Token doesn't belong to Tenant with Id/Name: '666'"}})
    );
}

#[tokio::test]
async fn first_tokens_at_once_for_different_tenants_settle_one_and_refuse_the_others() {
    let app = std::sync::Arc::new(spawn_app().await);
    let mut tasks = Vec::new();
    for i in 0..8 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            let res = app.authenticate("racer", Some(&format!("70{i}"))).await;
            let (status, body) = status_and_json(res).await;
            (status, body["access"]["token"]["tenant"]["id"].clone())
        }));
    }
    let mut won = Vec::new();
    for t in tasks {
        let (status, tenant) = t.await.unwrap();
        match status {
            200 => won.push(tenant),
            401 => {}
            other => panic!("{other}"),
        }
    }
    assert_eq!(won.len(), 1, "exactly one first token: {won:?}");
    let (_, again) = app.token_for("racer", None).await;
    assert_eq!(again["access"]["token"]["tenant"]["id"], won[0]);
}

#[tokio::test]
async fn a_user_named_by_id_is_settled_under_that_id_for_token_auth_too() {
    let app = spawn_app().await;
    let by_id = json!({"auth": {"passwordCredentials": {"userId": "u-123", "password": "p"},
        "tenantId": "5"}});
    let (status, body) = status_and_json(app.post_json("/v2.0/tokens", &by_id).await).await;
    assert_eq!(status, 200, "{body}");
    let token = body["access"]["token"]["id"].as_str().unwrap();
    let other = json!({"auth": {"token": {"id": token}, "tenantId": "6"}});
    let (status, _) = status_and_json(app.post_json("/v2.0/tokens", &other).await).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn tokens_live_for_the_configured_ttl_on_the_virtual_clock() {
    let app = crate::helpers::spawn_app_with(|s| {
        s.base.auth.token_ttl_s = 60;
        s.identity.token_expiry = identity_mock::configuration::TokenExpiry::Virtual;
    })
    .await;
    let (token, _) = app.token_for("joe", None).await;
    let claims = app.claims(&token);
    assert_eq!(claims.exp - claims.iat, 60);

    app.advance_clock(59).await;
    assert_eq!(
        app.get(&format!("/v2.0/tokens/{token}")).await.status(),
        200
    );
    app.advance_clock(1).await;
    assert_eq!(
        app.get(&format!("/v2.0/tokens/{token}")).await.status(),
        404
    );
}
