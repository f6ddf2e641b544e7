//! Spawns compute-mock on a free port and offers typed request helpers.

use common::token::TokenCodec;
use compute_mock::configuration::Settings;
use reqwest::{Client, Response};
use serde_json::{json, Value};

pub const TENANT: &str = "123456";

pub struct TestApp {
    pub address: String,
    pub client: Client,
    pub codec: TokenCodec,
    pub token: String,
}

/// The app with its defaults.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// On the Redis store under test (`UNDERSTUDY_TEST_REDIS`): the app with settings changed
/// by `change`, a second handle on its store (as another replica has, so a test can hold
/// or spoil records from outside the app) and the test tenant's scope in the default
/// region. `None` in memory, where nothing outside the app reaches its store.
pub async fn spawn_on_shared_store(
    change: impl FnOnce(&mut Settings),
) -> Option<(TestApp, common::store::Store, common::store::Scope)> {
    use common::store::{Scope, Store, StoreSettings};

    let mut store = StoreSettings::Memory;
    let mut region = String::new();
    let app = spawn_app_with(|s| {
        change(s);
        store = s.base.store.clone();
        region = s.compute.default_region.clone();
    })
    .await;
    if matches!(store, StoreSettings::Memory) {
        eprintln!("skipped: UNDERSTUDY_TEST_REDIS is not set");
        return None;
    }
    let other = Store::from_settings(&store, "compute").expect("a second store handle");
    Some((app, other, Scope::new(TENANT, region)))
}

/// The app with settings changed by `change` first.
pub async fn spawn_app_with(change: impl FnOnce(&mut Settings)) -> TestApp {
    let mut settings: Settings = test_support::settings();
    change(&mut settings);
    let codec = TokenCodec::new(&settings.base.auth.signing_key);
    let address = test_support::serve(compute_mock::build(settings, None).expect("app builds"));
    let token = mint(&codec, TENANT);
    TestApp {
        address,
        client: Client::new(),
        codec,
        token,
    }
}

pub use test_support::mint;

/// The flavor otter's suites use (`AS_FLAVOR_REF=2`).
pub const FLAVOR: &str = "2";

impl TestApp {
    /// `{address}/v2/{TENANT}/{path}` (the default region).
    pub fn url(&self, path: &str) -> String {
        format!("{}/v2/{TENANT}/{path}", self.address)
    }

    /// `{address}/{region}/v2/{tenant}/{path}`.
    pub fn region_url(&self, region: &str, tenant: &str, path: &str) -> String {
        format!("{}/{region}/v2/{tenant}/{path}", self.address)
    }

    /// `{address}/mimic/{region}/v2/{tenant}/{path}`: the cloudServersBehavior URL.
    pub fn mimic_url(&self, region: &str, tenant: &str, path: &str) -> String {
        format!("{}/mimic/{region}/v2/{tenant}/{path}", self.address)
    }

    pub async fn get(&self, path: &str) -> Response {
        self.get_url(&self.url(path)).await
    }

    pub async fn get_url(&self, url: &str) -> Response {
        self.client
            .get(url)
            .header("X-Auth-Token", &self.token)
            .send()
            .await
            .unwrap()
    }

    /// `GET {path}` with extra headers (`Host`, proxy headers), as JSON.
    pub async fn get_json_with(&self, path: &str, headers: &[(&str, &str)]) -> Value {
        let mut req = self
            .client
            .get(self.url(path))
            .header("X-Auth-Token", &self.token);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), 200, "GET {path}");
        res.json().await.unwrap()
    }

    pub async fn get_json(&self, path: &str) -> Value {
        let res = self.get(path).await;
        assert_eq!(res.status(), 200, "GET {path}");
        res.json().await.unwrap()
    }

    pub async fn post(&self, path: &str, body: &Value) -> Response {
        self.send(reqwest::Method::POST, &self.url(path), Some(body))
            .await
    }

    pub async fn put(&self, path: &str, body: &Value) -> Response {
        self.send(reqwest::Method::PUT, &self.url(path), Some(body))
            .await
    }

    pub async fn delete(&self, path: &str) -> Response {
        self.send(reqwest::Method::DELETE, &self.url(path), None)
            .await
    }

    pub async fn send(&self, method: reqwest::Method, url: &str, body: Option<&Value>) -> Response {
        let mut req = self
            .client
            .request(method, url)
            .header("X-Auth-Token", &self.token);
        if let Some(b) = body {
            req = req.json(b);
        }
        req.send().await.unwrap()
    }

    /// The first image whose name starts with "Ubuntu" (what otter picks).
    pub async fn ubuntu(&self) -> String {
        let images = self.get_json("images?limit=10000").await;
        images["images"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["name"].as_str().unwrap().starts_with("Ubuntu"))
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    pub async fn server_body(&self, name: &str) -> Value {
        json!({"server": {"name": name, "imageRef": self.ubuntu().await, "flavorRef": FLAVOR}})
    }

    /// Creates a server and returns its id.
    pub async fn create_server(&self, name: &str) -> String {
        let body = self.server_body(name).await;
        self.create_with(&body).await
    }

    pub async fn create_with(&self, body: &Value) -> String {
        let res = self.post("servers", body).await;
        assert_eq!(res.status(), 202, "create {body}");
        let v: Value = res.json().await.unwrap();
        v["server"]["id"].as_str().unwrap().to_string()
    }

    pub async fn server(&self, id: &str) -> Value {
        self.get_json(&format!("servers/{id}")).await["server"].clone()
    }

    pub async fn status(&self, id: &str) -> String {
        self.server(id).await["status"]
            .as_str()
            .unwrap()
            .to_string()
    }

    pub async fn action(&self, id: &str, body: &Value) -> Response {
        self.post(&format!("servers/{id}/action"), body).await
    }

    /// Moves the virtual clock.
    pub async fn advance(&self, seconds: f64) {
        let res = self
            .client
            .post(format!("{}/_understudy/v1/clock/advance", self.address))
            .json(&json!({ "seconds": seconds }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    }
}

/// Asserts a Nova error body `{kind: {message, code}}` and returns nothing.
pub async fn assert_error(res: Response, code: u16, kind: &str, message: &str) {
    assert_eq!(res.status(), code, "status for {message:?}");
    assert_eq!(
        res.headers()["content-type"],
        "application/json",
        "content type for {message:?}"
    );
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        body,
        json!({ kind: { "message": message, "code": code } }),
        "body for {message:?}"
    );
}
