//! Spawns lb-mock on port 0 with test settings and offers typed request helpers.

use reqwest::{Method, Response};
use serde_json::{json, Value};

use common::token::TokenCodec;
use lb_mock::configuration::Settings;

pub const TENANT: &str = "123456";

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub codec: TokenCodec,
    pub tenant: String,
    pub token: String,
}

pub fn settings() -> Settings {
    // No Identity in these tests: the catalog is local (and lists no Compute).
    test_support::settings()
}

pub async fn spawn_app() -> TestApp {
    spawn_with(|_| {}).await
}

pub async fn spawn_with(f: impl FnOnce(&mut Settings)) -> TestApp {
    let mut s = settings();
    f(&mut s);
    spawn_settings(s, None).await
}

pub async fn spawn_settings(s: Settings, shared: Option<common::context::Shared>) -> TestApp {
    let codec = TokenCodec::new(&s.base.auth.signing_key);
    let address = test_support::serve(lb_mock::build(s, shared).expect("lb-mock builds"));
    let token = issue(&codec, TENANT);
    TestApp {
        address,
        client: reqwest::Client::new(),
        codec,
        tenant: TENANT.into(),
        token,
    }
}

pub use test_support::mint as issue;

impl TestApp {
    /// `{address}/ORD/v1.0/{tenant}{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("{}/ORD/v1.0/{}{path}", self.address, self.tenant)
    }

    pub fn token_for(&self, tenant: &str) -> String {
        issue(&self.codec, tenant)
    }

    /// A request with this app's token, to a full URL.
    pub async fn call_url(&self, method: Method, url: &str, body: Option<Value>) -> Response {
        let mut req = self
            .client
            .request(method, url)
            .header("X-Auth-Token", &self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        req.send().await.expect("request is answered")
    }

    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Response {
        self.call_url(method, &self.url(path), body).await
    }

    pub async fn get(&self, path: &str) -> Response {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Response {
        self.call(Method::POST, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Response {
        self.call(Method::PUT, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Response {
        self.call(Method::DELETE, path, None).await
    }

    /// Mimic's control API: no token, no Content-Type (as otter sends it).
    pub async fn control(&self, method: Method, path: &str, body: &str) -> Response {
        self.client
            .request(
                method,
                format!("{}/mimic/ORD/v1.0/{}{path}", self.address, self.tenant),
            )
            .body(body.to_string())
            .send()
            .await
            .expect("control request is answered")
    }

    pub async fn advance(&self, seconds: f64) {
        let res = self
            .client
            .post(format!("{}/_understudy/v1/clock/advance", self.address))
            .json(&json!({ "seconds": seconds }))
            .send()
            .await
            .expect("clock advance is answered");
        assert_eq!(res.status().as_u16(), 200, "clock advance");
    }

    /// Creates a balancer (HTTP, one public VIP, optional nodes/extra fields); returns its id.
    pub async fn create_lb(&self, extra: Value) -> u64 {
        let res = self.post("/loadbalancers", lb_body(extra)).await;
        assert_eq!(res.status().as_u16(), 202, "create balancer");
        let body: Value = res.json().await.expect("json body");
        body["loadBalancer"]["id"].as_u64().expect("balancer id")
    }

    pub async fn lb(&self, id: u64) -> Value {
        let res = self.get(&format!("/loadbalancers/{id}")).await;
        assert_eq!(res.status().as_u16(), 200, "get balancer {id}");
        res.json::<Value>().await.expect("json")["loadBalancer"].clone()
    }

    pub async fn status(&self, id: u64) -> String {
        self.lb(id).await["status"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    pub async fn add_nodes(&self, id: u64, nodes: Value) -> Response {
        self.post(
            &format!("/loadbalancers/{id}/nodes"),
            json!({ "nodes": nodes }),
        )
        .await
    }
}

/// A create body: name, HTTP, port 80, one PUBLIC IPV4 VIP, merged with `extra`.
pub fn lb_body(extra: Value) -> Value {
    let mut lb = json!({
        "name": "a-load-balancer",
        "protocol": "HTTP",
        "port": 80,
        "virtualIps": [{"type": "PUBLIC", "ipVersion": "IPV4"}],
    });
    if let (Some(o), Some(e)) = (lb.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            o.insert(k.clone(), v.clone());
        }
    }
    json!({ "loadBalancer": lb })
}

pub fn node(address: &str, port: u16) -> Value {
    json!({"address": address, "port": port, "condition": "ENABLED"})
}

pub async fn body(res: Response) -> Value {
    res.json().await.expect("json body")
}

/// Asserts an error: status code and the plain CLB body.
pub async fn assert_fault(res: Response, code: u16, message: &str) {
    assert_eq!(res.status().as_u16(), code, "status for {message:?}");
    assert!(res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json")));
    let b = body(res).await;
    assert_eq!(b["message"], message, "body {b}");
    assert_eq!(b["code"], code, "body {b}");
}

/// Asserts a 400 Validation Failure with exactly these messages.
pub async fn assert_validation(res: Response, messages: &[&str]) {
    assert_eq!(res.status().as_u16(), 400);
    let b = body(res).await;
    assert_eq!(b["message"], "Validation Failure", "body {b}");
    assert_eq!(b["code"], 400);
    assert_eq!(b["details"], "The object is not valid");
    assert_eq!(
        b["validationErrors"]["messages"],
        json!(messages),
        "body {b}"
    );
}
