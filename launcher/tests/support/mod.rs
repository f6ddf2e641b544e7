//! The stack as the launcher runs it, on free ports, for the black-box tests of this crate.
#![allow(dead_code)]

use serde_json::{json, Value};
use understudy::{Stack, StackSettings};

pub struct Running {
    pub identity: String,
    pub compute: String,
    pub lb: String,
    pub client: reqwest::Client,
}

/// The stack with its test settings (on Redis when `UNDERSTUDY_TEST_REDIS` says so).
pub async fn spawn_stack() -> Running {
    spawn_stack_with(|_| {}).await
}

/// The stack with its settings changed by `change` first.
pub async fn spawn_stack_with(change: impl FnOnce(&mut StackSettings)) -> Running {
    let mut settings = StackSettings::for_tests()
        .unwrap()
        .with_store(test_support::store_under_test());
    change(&mut settings);
    let stack = Stack::build(settings).unwrap();
    let url = |p: u16| format!("http://127.0.0.1:{p}");
    let running = Running {
        identity: url(stack.identity.port()),
        compute: url(stack.compute.port()),
        lb: url(stack.lb.port()),
        client: reqwest::Client::new(),
    };
    tokio::spawn(stack.run_until_stopped());
    running
}

impl Running {
    /// A token of `tenant` from Identity (open user mode: any password).
    pub async fn token(&self, tenant: &str) -> String {
        let body: Value = self
            .client
            .post(format!("{}/v2.0/tokens", self.identity))
            .json(&json!({"auth": {"passwordCredentials": {"username": format!("u-{tenant}"), "password": "p"}, "tenantId": tenant}}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        body["access"]["token"]["id"].as_str().unwrap().to_string()
    }

    /// The JSON body of `GET url`, with `token` when given.
    pub async fn get_json(&self, url: &str, token: Option<&str>) -> Value {
        let mut req = self.client.get(url);
        if let Some(token) = token {
            req = req.header("x-auth-token", token);
        }
        req.send().await.unwrap().json().await.unwrap()
    }

    /// The id of the first image Compute lists for `tenant`.
    pub async fn an_image(&self, tenant: &str, token: &str) -> String {
        let url = format!("{}/v2/{tenant}/images", self.compute);
        let images = self.get_json(&url, Some(token)).await;
        images["images"][0]["id"].as_str().unwrap().to_string()
    }
}
