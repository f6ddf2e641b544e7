//! State out and in: a busy stack's snapshot (`GET /state?scope=stack`) put into a fresh
//! stack (`PUT /state?scope=stack`) answers every read the same, and goes on from there.
#![allow(clippy::unwrap_used)]

use reqwest::Method;
use serde_json::{json, Value};
mod support;
use support::{spawn_stack, Running};

impl Running {
    async fn call(
        &self,
        method: Method,
        url: &str,
        token: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self
            .client
            .request(method, url)
            .header("x-auth-token", token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// Everything a client can read of tenant `t`, with this stack's addresses written
    /// as `HOST` so two stacks compare.
    async fn reads(&self, t: &str, token: &str) -> Value {
        let mut out = serde_json::Map::new();
        for (name, url) in [
            ("servers", format!("{}/v2/{t}/servers/detail", self.compute)),
            ("keypairs", format!("{}/v2/{t}/os-keypairs", self.compute)),
            ("balancers", format!("{}/v1.0/{t}/loadbalancers", self.lb)),
            (
                "faults",
                format!("{}/_understudy/v1/faults?scope=stack", self.compute),
            ),
            ("clock", format!("{}/_understudy/v1/clock", self.lb)),
        ] {
            out.insert(
                name.into(),
                self.call(Method::GET, &url, token, None).await.1,
            );
        }
        let ids: Vec<u64> = out["balancers"]["loadBalancers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["id"].as_u64().unwrap())
            .collect();
        for id in ids {
            let url = format!("{}/v1.0/{t}/loadbalancers/{id}", self.lb);
            out.insert(
                format!("balancer {id}"),
                self.call(Method::GET, &url, token, None).await.1,
            );
        }
        let text = Value::Object(out)
            .to_string()
            .replace(&self.compute.replace("http://", ""), "COMPUTE")
            .replace(&self.lb.replace("http://", ""), "LB")
            .replace(&self.identity.replace("http://", ""), "IDENTITY");
        serde_json::from_str(&text).unwrap()
    }
}

#[tokio::test]
async fn a_busy_stack_restored_into_a_fresh_one_answers_every_read_the_same() {
    let a = spawn_stack().await;
    let t = "4242";
    let token = a.token(t).await;
    // A busy stack: a frozen clock, servers in several states, metadata, a key pair,
    // balancers with nodes and metadata, a fault rule that already fired, a behaviour.
    a.call(
        Method::POST,
        &format!("{}/_understudy/v1/clock/freeze", a.compute),
        "",
        Some(json!({"at": "2031-05-01T10:00:00Z"})),
    )
    .await;
    let (_, images) = a
        .call(
            Method::GET,
            &format!("{}/v2/{t}/images", a.compute),
            &token,
            None,
        )
        .await;
    let image = images["images"][0]["id"].as_str().unwrap().to_string();
    let mut servers = Vec::new();
    for i in 0..4 {
        let meta = if i == 0 {
            json!({"server_building": "120"})
        } else {
            json!({"role": format!("web-{i}")})
        };
        let (status, body) = a
            .call(
                Method::POST,
                &format!("{}/v2/{t}/servers", a.compute),
                &token,
                Some(json!({"server": {"name": format!("s{i}"), "imageRef": image, "flavorRef": "2", "metadata": meta}})),
            )
            .await;
        assert_eq!(status, 202, "{body}");
        servers.push(body["server"]["id"].as_str().unwrap().to_string());
    }
    let (status, _) = a
        .call(
            Method::DELETE,
            &format!("{}/v2/{t}/servers/{}", a.compute, servers[3]),
            &token,
            None,
        )
        .await;
    assert_eq!(status, 204);
    let (status, body) = a
        .call(
            Method::POST,
            &format!("{}/v2/{t}/os-keypairs", a.compute),
            &token,
            Some(json!({"keypair": {"name": "k1"}})),
        )
        .await;
    assert!(status == 200 || status == 201, "{body}");
    let (status, body) = a
        .call(
            Method::POST,
            &format!("{}/v1.0/{t}/loadbalancers", a.lb),
            &token,
            Some(
                json!({"loadBalancer": {"name": "lb1", "protocol": "HTTP", "port": 80,
                "virtualIps": [{"type": "PUBLIC"}],
                "nodes": [{"address": "10.0.0.1", "port": 80, "condition": "ENABLED"}],
                "metadata": [{"key": "owner", "value": "ops"}]}}),
            ),
        )
        .await;
    assert_eq!(status, 202, "{body}");
    let (status, body) = a
        .call(
            Method::POST,
            &format!("{}/_understudy/v1/faults", a.compute),
            "",
            Some(json!({"match": {"method": "GET", "path": "/v2/*/flavors"}, "action": {"type": "error", "status": 503}, "budget": {"times": 2}})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let flavors = format!("{}/v2/{t}/flavors", a.compute);
    assert_eq!(a.call(Method::GET, &flavors, &token, None).await.0, 503);
    a.call(
        Method::POST,
        &format!("{}/_understudy/v1/clock/advance", a.compute),
        "",
        Some(json!({"seconds": 60})),
    )
    .await;
    let before = a.reads(t, &token).await;

    let (status, snapshot) = a
        .call(
            Method::GET,
            &format!("{}/_understudy/v1/state?scope=stack", a.identity),
            "",
            None,
        )
        .await;
    assert_eq!(status, 200);

    let b = spawn_stack().await;
    let (status, answer) = b
        .call(
            Method::PUT,
            &format!("{}/_understudy/v1/state?scope=stack", b.identity),
            "",
            Some(snapshot.clone()),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    // The token issued by the first stack is still good: tokens are signed, not stored.
    let after = b.reads(t, &token).await;
    assert_eq!(after, before);
    assert_eq!(
        after["servers"]["servers"].as_array().unwrap().len(),
        3,
        "the deleted server stays gone"
    );

    // And goes on as the first would have: the fault has one firing left, time runs
    // from the same instant, new ids and addresses do not collide with restored ones.
    let flavors = format!("{}/v2/{t}/flavors", b.compute);
    assert_eq!(b.call(Method::GET, &flavors, &token, None).await.0, 503);
    assert_eq!(b.call(Method::GET, &flavors, &token, None).await.0, 200);
    let (_, building) = b
        .call(
            Method::GET,
            &format!("{}/v2/{t}/servers/{}", b.compute, servers[0]),
            &token,
            None,
        )
        .await;
    assert_eq!(building["server"]["status"], "BUILD");
    b.call(
        Method::POST,
        &format!("{}/_understudy/v1/clock/advance", b.compute),
        "",
        Some(json!({"seconds": 61})),
    )
    .await;
    let (_, built) = b
        .call(
            Method::GET,
            &format!("{}/v2/{t}/servers/{}", b.compute, servers[0]),
            &token,
            None,
        )
        .await;
    assert_eq!(
        built["server"]["status"], "ACTIVE",
        "the build timing came back with it"
    );
    let (status, lb2) = b
        .call(
            Method::POST,
            &format!("{}/v1.0/{t}/loadbalancers", b.lb),
            &token,
            Some(json!({"loadBalancer": {"name": "lb2", "protocol": "HTTP", "port": 80, "virtualIps": [{"type": "PUBLIC"}]}})),
        )
        .await;
    assert_eq!(status, 202, "{lb2}");
    let first_id = before["balancers"]["loadBalancers"][0]["id"]
        .as_u64()
        .unwrap();
    assert_ne!(lb2["loadBalancer"]["id"].as_u64().unwrap(), first_id);
}

#[tokio::test]
async fn a_state_that_cannot_be_restored_is_refused_and_changes_nothing() {
    let s = spawn_stack().await;
    let token = s.token("77").await;
    let (status, _) = s
        .call(
            Method::POST,
            &format!("{}/v2/77/os-keypairs", s.compute),
            &token,
            Some(json!({"keypair": {"name": "keep"}})),
        )
        .await;
    assert!(status == 200 || status == 201);
    let state = format!("{}/_understudy/v1/state", s.compute);
    let before = s.call(Method::GET, &state, "", None).await.1;
    for (body, why) in [
        (
            json!({"service": "compute", "tables": {"compute_servers": [{"tenant": "77", "region": "ORD", "records": [{"id": "x", "value": {"nope": 1}}]}]}}),
            "a record its table cannot hold",
        ),
        (
            json!({"service": "compute", "tables": {"no_such_table": []}}),
            "a table this mock has not",
        ),
        (
            json!({"service": "lb", "tables": {}}),
            "another mock's snapshot",
        ),
        (json!({"tables": {}}), "no service named"),
        (
            json!({"service": "compute", "tables": [], "counters": {}}),
            "tables not an object",
        ),
        (
            json!({"service": "compute", "tables": {}, "counters": {"x": -1}}),
            "a negative counter",
        ),
        (
            json!({"service": "compute", "tables": {}, "clock": {"mode": "sideways"}}),
            "a clock that is none",
        ),
        (json!("text"), "not an object"),
    ] {
        let (status, answer) = s.call(Method::PUT, &state, "", Some(body)).await;
        assert_eq!(status, 400, "{why}: {answer}");
        assert!(answer["error"]["message"].is_string(), "{why}: {answer}");
        assert_eq!(
            s.call(Method::GET, &state, "", None).await.1["tables"],
            before["tables"],
            "{why}"
        );
    }
}
