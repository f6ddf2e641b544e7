//! Spawns identity-mock on a free port and offers typed request helpers.

use common::token::{Claims, TokenCodec};
use identity_mock::configuration::{Settings, TokenExpiry, UserEntry, UserMode};
use reqwest::{Client, Response};
use serde_json::{json, Value};

pub struct TestApp {
    pub address: String,
    pub client: Client,
    pub codec: TokenCodec,
}

/// The app with its defaults (open users).
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// The app with settings changed by `change` first.
pub async fn spawn_app_with(change: impl FnOnce(&mut Settings)) -> TestApp {
    let mut settings: Settings = test_support::settings();
    settings.base.server.workers = 1;
    // Alone: the mocks its catalog names are not running, so no control call goes there.
    for service in &mut settings.base.catalog.services {
        service.external = true;
    }
    change(&mut settings);
    let codec = TokenCodec::new(&settings.base.auth.signing_key);
    let address = test_support::serve(identity_mock::build(settings, None).expect("app builds"));
    let client = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    TestApp {
        address,
        client,
        codec,
    }
}

/// Open mode, with tokens that expire on the virtual clock (`identity.token_expiry`).
pub async fn spawn_expiring_app() -> TestApp {
    spawn_app_with(|s| s.identity.token_expiry = TokenExpiry::Virtual).await
}

/// Strict mode with alice (password and API key) and bob (password only).
pub async fn spawn_strict_app() -> TestApp {
    spawn_app_with(|s| {
        s.identity.user_mode = UserMode::Strict;
        s.identity.users = vec![
            UserEntry {
                username: "alice".into(),
                password: Some("secret".into()),
                api_key: Some("alice-key".into()),
                user_id: Some("u-alice".into()),
                tenant_id: Some("100100".into()),
                tenant_name: Some("alice-co".into()),
                roles: None,
                default_region: Some("LON".into()),
            },
            UserEntry {
                username: "bob".into(),
                password: Some("hunter2".into()),
                api_key: None,
                user_id: None,
                tenant_id: Some("200200".into()),
                tenant_name: None,
                roles: Some(vec!["identity:default".into()]),
                default_region: None,
            },
        ];
    })
    .await
}

pub fn password_body(username: &str, password: &str, tenant_id: Option<&str>) -> Value {
    let mut auth = json!({"passwordCredentials": {"username": username, "password": password}});
    if let Some(t) = tenant_id {
        auth["tenantId"] = json!(t);
    }
    json!({ "auth": auth })
}

pub fn v3_password_body(username: &str, password: &str, scope: Value) -> Value {
    let mut auth = json!({"identity": {"methods": ["password"], "password": {"user":
        {"name": username, "domain": {"id": "default"}, "password": password}}}});
    if !scope.is_null() {
        auth["scope"] = scope;
    }
    json!({ "auth": auth })
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// A body sent as is, with no Content-Type (as otter sends control calls).
    pub async fn post_raw(&self, path: &str, body: &str) -> Response {
        self.client
            .post(self.url(path))
            .body(body.to_string())
            .send()
            .await
            .unwrap()
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    pub async fn get_as(&self, path: &str, token: &str) -> Response {
        self.client
            .get(self.url(path))
            .header("X-Auth-Token", token)
            .send()
            .await
            .unwrap()
    }

    pub async fn delete(&self, path: &str) -> Response {
        self.client.delete(self.url(path)).send().await.unwrap()
    }

    /// `POST /v2.0/tokens` with password credentials; the whole response.
    pub async fn authenticate(&self, username: &str, tenant_id: Option<&str>) -> Response {
        self.post_json(
            "/v2.0/tokens",
            &password_body(username, "any-password", tenant_id),
        )
        .await
    }

    /// A v2 token for a user (open mode), and the response body.
    pub async fn token_for(&self, username: &str, tenant_id: Option<&str>) -> (String, Value) {
        let res = self.authenticate(username, tenant_id).await;
        assert_eq!(res.status(), 200, "authentication of {username} succeeds");
        let body: Value = res.json().await.unwrap();
        let token = body["access"]["token"]["id"].as_str().unwrap().to_string();
        (token, body)
    }

    /// `POST /v3/auth/tokens`; the response.
    pub async fn v3_authenticate(&self, body: &Value) -> Response {
        self.post_json("/v3/auth/tokens", body).await
    }

    pub async fn v3_request(&self, method: reqwest::Method, subject: &str) -> Response {
        self.client
            .request(method, self.url("/v3/auth/tokens"))
            .header("X-Subject-Token", subject)
            .send()
            .await
            .unwrap()
    }

    /// Moves the virtual clock with the control API.
    pub async fn advance_clock(&self, seconds: u64) {
        let res = self
            .post_json(
                "/_understudy/v1/clock/advance",
                &json!({ "seconds": seconds }),
            )
            .await;
        assert!(res.status().is_success(), "clock advances");
    }

    pub fn claims(&self, token: &str) -> Claims {
        self.codec.verify(token).expect("a token of this stack")
    }
}

/// The status and JSON body of a response.
pub async fn status_and_json(res: Response) -> (u16, Value) {
    let status = res.status().as_u16();
    let ct = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let text = res.text().await.unwrap();
    let body = serde_json::from_str(&text)
        .unwrap_or_else(|_| panic!("status {status}: body is not JSON ({ct}): {text}"));
    assert!(
        ct.starts_with("application/json"),
        "status {status}: content type is {ct}"
    );
    (status, body)
}
