//! Keystone v3: `POST/GET/HEAD/DELETE /v3/auth/tokens`, projects, catalog.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{
    spawn_app, spawn_app_with, spawn_strict_app, status_and_json, v3_password_body, TestApp,
};

async fn issue(app: &TestApp, body: &Value) -> (String, Value) {
    let res = app.v3_authenticate(body).await;
    let subject = res
        .headers()
        .get("x-subject-token")
        .map(|v| v.to_str().unwrap().to_string());
    let (status, body) = status_and_json(res).await;
    assert_eq!(status, 201, "{body}");
    (subject.expect("X-Subject-Token"), body)
}

#[tokio::test]
async fn project_scope_by_id_gives_201_with_subject_token_and_catalog() {
    let app = spawn_app().await;

    let (token, body) = issue(
        &app,
        &v3_password_body("admin", "devstacker", json!({"project": {"id": "5b50"}})),
    )
    .await;

    let t = &body["token"];
    assert!(token.starts_with("uu1."));
    assert!(t.get("id").is_none(), "the token is not in the body");
    assert_eq!(t["methods"], json!(["password"]));
    assert_eq!(t["user"]["name"], "admin");
    assert_eq!(t["user"]["domain"]["id"], "default");
    assert_eq!(t["project"]["id"], "5b50");
    assert_eq!(t["project"]["domain"]["id"], "default");
    assert_eq!(t["is_domain"], false);
    assert_eq!(t["roles"][0]["name"], "identity:user-admin");
    assert_eq!(t["audit_ids"].as_array().unwrap().len(), 1);
    let re = regex::Regex::new(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$").unwrap();
    assert!(re.is_match(t["expires_at"].as_str().unwrap()));
    assert!(re.is_match(t["issued_at"].as_str().unwrap()));
    let compute = &t["catalog"][0];
    assert_eq!(compute["type"], "compute");
    assert_eq!(compute["name"], "cloudServersOpenStack");
    let ord_public = compute["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["region_id"] == "ORD" && e["interface"] == "public")
        .unwrap();
    assert_eq!(ord_public["url"], "http://localhost:8774/ORD/v2/5b50");
    assert!(ord_public["id"].as_str().is_some());
}

#[tokio::test]
async fn project_scope_by_name_and_domain() {
    let app = spawn_app().await;

    let (_, body) = issue(
        &app,
        &v3_password_body(
            "admin",
            "p",
            json!({"project": {"name": "demo", "domain": {"name": "Default"}}}),
        ),
    )
    .await;

    assert_eq!(body["token"]["project"]["name"], "demo");
    assert!(body["token"]["catalog"].as_array().is_some());
}

#[tokio::test]
async fn unscoped_tokens_have_no_project_roles_or_catalog() {
    let app = spawn_app().await;

    for scope in [json!("unscoped"), json!({"unscoped": {}})] {
        let (token, body) = issue(&app, &v3_password_body("admin", "p", scope.clone())).await;
        for key in ["project", "catalog", "roles"] {
            assert!(body["token"].get(key).is_none(), "{scope}: no {key}");
        }
        let (_, v2) = status_and_json(app.get(&format!("/v2.0/tokens/{token}")).await).await;
        assert!(v2["access"]["token"].get("tenant").is_none(), "{scope}");
    }
}

#[tokio::test]
async fn without_a_scope_the_users_default_project_is_used() {
    let app = spawn_app().await;
    let (_, v2) = app.token_for("admin", None).await;

    let (_, body) = issue(&app, &v3_password_body("admin", "p", Value::Null)).await;

    assert_eq!(
        body["token"]["project"]["id"],
        v2["access"]["token"]["tenant"]["id"]
    );
}

#[tokio::test]
async fn a_user_can_be_named_by_id() {
    let app = spawn_app().await;
    let (_, v2) = app.token_for("admin", None).await;
    let id = v2["access"]["user"]["id"].as_str().unwrap();
    let tenant = v2["access"]["token"]["tenant"]["id"].as_str().unwrap();

    let (_, body) = issue(
        &app,
        &json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"id": id, "password": "p"}}},
            "scope": {"project": {"id": tenant}}}}),
    )
    .await;

    assert_eq!(body["token"]["user"]["id"], id);
    assert_eq!(body["token"]["user"]["name"], "admin");
    assert_eq!(body["token"]["project"]["id"], tenant);
}

#[tokio::test]
async fn the_token_method_keeps_the_original_expiry() {
    let app = spawn_app().await;
    let (first, original) = issue(&app, &v3_password_body("admin", "p", json!("unscoped"))).await;
    app.advance_clock(60).await;

    let (_, body) = issue(
        &app,
        &json!({"auth": {"identity": {"methods": ["token"], "token": {"id": first}},
            "scope": {"project": {"id": "42"}}}}),
    )
    .await;

    assert_eq!(body["token"]["expires_at"], original["token"]["expires_at"]);
    assert_eq!(body["token"]["methods"], json!(["password", "token"]));
    assert_eq!(body["token"]["project"]["id"], "42");
}

#[tokio::test]
async fn the_token_method_with_an_unknown_token_is_404() {
    let app = spawn_app().await;

    let (status, body) = status_and_json(
        app.v3_authenticate(
            &json!({"auth": {"identity": {"methods": ["token"], "token": {"id": "nope"}}}}),
        )
        .await,
    )
    .await;

    assert_eq!(status, 404);
    assert_eq!(
        body,
        json!({"error": {"code": 404, "message": "Could not find token: nope.", "title": "Not Found"}})
    );
}

#[tokio::test]
async fn malformed_v3_bodies_are_400_in_v3_format() {
    let app = spawn_app().await;
    for (body, why) in [
        ("{", "not JSON"),
        ("{}", "no auth"),
        (
            r#"{"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "a", "password": "p"}}}}}"#,
            "name without domain",
        ),
        (
            r#"{"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "a", "domain": {"id": "default"}, "password": "p"}}}, "scope": {"project": {"name": "p"}}}}"#,
            "project name without domain",
        ),
    ] {
        let (status, json) = status_and_json(app.post_raw("/v3/auth/tokens", body).await).await;
        assert_eq!(status, 400, "{why}");
        assert_eq!(json["error"]["code"], 400, "{why}");
        assert_eq!(json["error"]["title"], "Bad Request", "{why}");
        assert!(
            json["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with("Expecting to find"),
            "{why}: {json}"
        );
    }
}

#[tokio::test]
async fn an_oversized_chunked_v3_body_is_413_in_v3_format() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app_with(|s| s.base.server.request_body_limit_bytes = 128).await;
    let chunk = "x".repeat(500);
    let request = format!(
        "POST /v3/auth/tokens HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\
         Connection: close\r\n\r\n{:x}\r\n{chunk}\r\n0\r\n\r\n",
        chunk.len()
    );
    let addr = app.address.trim_start_matches("http://").to_string();
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();

    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();

    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(
        answer.contains(r#""title":"Payload Too Large""#),
        "{answer}"
    );
}

#[tokio::test]
async fn strict_mode_refuses_wrong_passwords_and_foreign_projects_with_v3_401() {
    let app = spawn_strict_app().await;

    for (body, why) in [
        (
            v3_password_body("alice", "wrong", Value::Null),
            "wrong password",
        ),
        (
            v3_password_body("alice", "secret", json!({"project": {"id": "200200"}})),
            "another user's project",
        ),
    ] {
        let res = app.v3_authenticate(&body).await;
        assert!(res.headers().contains_key("www-authenticate"), "{why}");
        let (status, json) = status_and_json(res).await;
        assert_eq!(status, 401, "{why}");
        assert_eq!(
            json["error"]["message"], "The request you have made requires authentication.",
            "{why}"
        );
    }
    let (_, ok) = issue(
        &app,
        &v3_password_body(
            "alice",
            "secret",
            json!({"project": {"name": "alice-co", "domain": {"id": "default"}}}),
        ),
    )
    .await;
    assert_eq!(ok["token"]["project"]["id"], "100100");
}

#[tokio::test]
async fn get_head_and_delete_work_on_the_subject_token() {
    let app = spawn_app().await;
    let (token, issued) = issue(
        &app,
        &v3_password_body("admin", "p", json!({"project": {"id": "9"}})),
    )
    .await;

    let got = app.v3_request(Method::GET, &token).await;
    assert_eq!(got.headers()["x-subject-token"], token.as_str());
    let (status, body) = status_and_json(got).await;
    assert_eq!(status, 200);
    assert_eq!(body, issued);
    let head = app.v3_request(Method::HEAD, &token).await;
    assert_eq!(head.status(), 200);
    let no_catalog = app
        .client
        .get(app.url("/v3/auth/tokens?nocatalog"))
        .header("X-Subject-Token", &token)
        .send()
        .await
        .unwrap();
    let (_, body) = status_and_json(no_catalog).await;
    assert!(body["token"].get("catalog").is_none());

    // Revoking takes the caller's own token: none is a 401, another tenant's a 403, and
    // neither changes anything.
    let (status, body) = status_and_json(app.v3_request(Method::DELETE, &token).await).await;
    assert_eq!(
        (status, body),
        (
            401,
            json!({"error": {"code": 401, "title": "Unauthorized",
                "message": "The request you have made requires authentication."}})
        )
    );
    let (stranger, _) = app.token_for("mallory", Some("10")).await;
    let delete_as = |by: String| {
        app.client
            .delete(app.url("/v3/auth/tokens"))
            .header("X-Subject-Token", &token)
            .header("X-Auth-Token", by)
            .send()
    };
    let (status, body) = status_and_json(delete_as(stranger).await.unwrap()).await;
    assert_eq!(
        (status, body),
        (
            403,
            json!({"error": {"code": 403, "title": "Forbidden",
                "message": "You are not authorized to perform the requested action."}})
        )
    );
    assert_eq!(app.v3_request(Method::HEAD, &token).await.status(), 200);
    let deleted = delete_as(token.clone()).await.unwrap();
    assert_eq!(deleted.status(), 204);
    let (status, body) = status_and_json(app.v3_request(Method::GET, &token).await).await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["title"], "Not Found");
    assert_eq!(app.v3_request(Method::HEAD, &token).await.status(), 404);
    assert_eq!(
        app.get(&format!("/v2.0/tokens/{token}")).await.status(),
        404,
        "revoked for v2 as well"
    );
}

#[tokio::test]
async fn a_v2_token_validates_on_v3_and_a_v3_token_on_v2() {
    let app = spawn_app().await;
    let (v2_token, _) = app.token_for("joe", Some("123")).await;
    let (v3_token, _) = issue(
        &app,
        &v3_password_body("joe", "p", json!({"project": {"id": "123"}})),
    )
    .await;
    // The user's project is settled by its first token: another is refused, as Keystone
    // refuses a project the user has no role on.
    let other = app
        .v3_authenticate(&v3_password_body(
            "joe",
            "p",
            json!({"project": {"id": "456"}}),
        ))
        .await;
    let (status, body) = status_and_json(other).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"]["code"], 401);

    let (status, on_v3) = status_and_json(app.v3_request(Method::GET, &v2_token).await).await;
    let (status2, on_v2) =
        status_and_json(app.get(&format!("/v2.0/tokens/{v3_token}")).await).await;

    assert_eq!(status, 200);
    assert_eq!(on_v3["token"]["project"]["id"], "123");
    assert_eq!(on_v3["token"]["user"]["name"], "joe");
    assert_eq!(status2, 200);
    assert_eq!(on_v2["access"]["token"]["tenant"]["id"], "123");
}

#[tokio::test]
async fn missing_or_expired_subject_tokens_are_404() {
    let app = crate::helpers::spawn_expiring_app().await;
    let (token, _) = issue(&app, &v3_password_body("admin", "p", Value::Null)).await;

    let missing = app
        .client
        .get(app.url("/v3/auth/tokens"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    app.advance_clock(86_400).await;
    let (status, body) = status_and_json(app.v3_request(Method::GET, &token).await).await;

    assert_eq!(status, 404);
    assert_eq!(
        body["error"]["message"],
        format!("Could not find token: {token}.")
    );
}

#[tokio::test]
async fn projects_and_catalog_of_the_caller() {
    let app = spawn_app().await;
    let (token, _) = issue(
        &app,
        &v3_password_body("admin", "p", json!({"project": {"id": "77"}})),
    )
    .await;
    let (unscoped, _) = issue(&app, &v3_password_body("admin", "p", json!("unscoped"))).await;

    let (status, auth_projects) =
        status_and_json(app.get_as("/v3/auth/projects", &token).await).await;
    let (_, projects) = status_and_json(app.get_as("/v3/projects", &token).await).await;
    let (_, catalog) = status_and_json(app.get_as("/v3/auth/catalog", &token).await).await;
    let (forbidden, _) = status_and_json(app.get_as("/v3/auth/catalog", &unscoped).await).await;
    let (anonymous, _) = status_and_json(app.get("/v3/auth/projects").await).await;

    assert_eq!(status, 200);
    assert_eq!(auth_projects["projects"][0]["id"], "77");
    assert_eq!(auth_projects["projects"][0]["domain_id"], "default");
    assert_eq!(projects["projects"][0]["is_domain"], false);
    assert_eq!(catalog["catalog"][0]["type"], "compute");
    assert_eq!(forbidden, 403);
    assert_eq!(anonymous, 401);
}
