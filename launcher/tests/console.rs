//! The console (`/_understudy/ui/`): served by every mock, showing the whole stack,
//! escaping what users named, guarded by the admin token, and never in the journal.
#![allow(clippy::unwrap_used)]

use serde_json::{json, Value};
mod support;
use support::{spawn_stack_with, Running};

async fn spawn_stack(admin_token: &str) -> Running {
    spawn_stack_with(|s| {
        for base in [&mut s.identity.base, &mut s.compute.base, &mut s.lb.base] {
            base.control.admin_token = admin_token.to_string();
        }
    })
    .await
}

impl Running {
    async fn panel(&self, base: &str, name: &str, admin: Option<&str>) -> (u16, String) {
        let mut req = self
            .client
            .get(format!("{base}/_understudy/ui/panels/{name}"));
        if let Some(t) = admin {
            req = req.header("x-admin-token", t);
        }
        let res = req.send().await.unwrap();
        (res.status().as_u16(), res.text().await.unwrap())
    }
}

#[tokio::test]
async fn every_mock_serves_the_console_of_the_whole_stack_and_escapes_what_users_named() {
    let s = spawn_stack("").await;
    for base in [&s.identity, &s.compute, &s.lb] {
        let res = s
            .client
            .get(format!("{base}/_understudy/ui/"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{base}");
        assert!(res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        let page = res.text().await.unwrap();
        assert!(page.contains("/_understudy/ui/console.js"), "{page}");
        let js = s
            .client
            .get(format!("{base}/_understudy/ui/console.js"))
            .send()
            .await
            .unwrap();
        assert_eq!(js.status(), 200);
    }
    let token = s.token("555").await;
    let image = s.an_image("555", &token).await;
    let res = s
        .client
        .post(format!("{}/v2/555/servers", s.compute))
        .header("x-auth-token", &token)
        .json(&json!({"server": {"name": "<script>alert(1)</script>", "imageRef": image, "flavorRef": "2"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    let res = s
        .client
        .post(format!("{}/v1.0/555/loadbalancers", s.lb))
        .header("x-auth-token", &token)
        .json(&json!({"loadBalancer": {"name": "<img src=x onerror=alert(2)>", "protocol": "HTTP", "port": 80,
            "virtualIps": [{"type": "PUBLIC"}], "nodes": [{"address": "10.0.0.1", "port": 80, "condition": "ENABLED"}]}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);

    // The console served by Identity shows Compute's servers and the LB's nodes.
    let (status, state) = s.panel(&s.identity, "state", None).await;
    assert_eq!(status, 200);
    assert!(
        state.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{state}"
    );
    assert!(!state.contains("<script>"), "{state}");
    assert!(
        state.contains("&lt;img src=x onerror=alert(2)&gt;"),
        "{state}"
    );
    assert!(state.contains("10.0.0.1:80 ENABLED / ONLINE"), "{state}");
    assert!(state.contains("ACTIVE"));

    let (_, requests) = s.panel(&s.lb, "requests", None).await;
    assert!(
        requests.contains("/v2/555/servers"),
        "Compute's requests, on the LB's console"
    );
    assert!(requests.contains("/v1.0/555/loadbalancers"));
    assert!(
        !requests.contains("<script>alert"),
        "request bodies are escaped too"
    );
    let (_, filtered) = s.panel(&s.lb, "requests?service=lb", None).await;
    assert!(!filtered.contains("/v2/555/servers"));
    let (_, none) = s.panel(&s.lb, "requests?status=abc", None).await;
    assert!(none.contains("Bad filter"), "{none}");

    // Nothing the console asked for lands in the journal, nor trips a fault rule.
    let journal: Value = s
        .client
        .get(format!("{}/_understudy/v1/journal?scope=stack", s.compute))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for e in journal["entries"].as_array().unwrap() {
        let path = e["path"].as_str().unwrap();
        assert!(!path.starts_with("/_understudy/ui"), "{path}");
        let console_lookup = e["exchange"]["request_headers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h[0] == "x-understudy-console");
        assert!(!console_lookup, "{e}");
    }
}

#[tokio::test]
async fn the_console_needs_the_admin_token_when_one_is_set() {
    let s = spawn_stack("s3cret").await;
    let page = s
        .client
        .get(format!("{}/_understudy/ui/", s.compute))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200, "the page itself holds no data");
    assert!(page
        .text()
        .await
        .unwrap()
        .contains("data-needs-token=\"true\""));
    for name in ["requests", "faults", "clock", "state"] {
        assert_eq!(s.panel(&s.compute, name, None).await.0, 401, "{name}");
        assert_eq!(
            s.panel(&s.compute, name, Some("wrong")).await.0,
            401,
            "{name}"
        );
        assert_eq!(
            s.panel(&s.compute, name, Some("s3cret")).await.0,
            200,
            "{name}"
        );
    }
    let with_cookie = s
        .client
        .get(format!("{}/_understudy/ui/panels/faults", s.compute))
        .header("cookie", "other=1; understudy_admin_token=s3cret")
        .send()
        .await
        .unwrap();
    assert_eq!(with_cookie.status(), 200);
    let events = s
        .client
        .get(format!("{}/_understudy/ui/events", s.compute))
        .send()
        .await
        .unwrap();
    assert_eq!(events.status(), 401);
}
