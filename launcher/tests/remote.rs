//! One mock beside real services: Compute validates tokens against another Identity
//! (an identity-mock in strict mode with its own signing key, standing in for a real
//! Keystone), over v2 and v3, caching answers.
#![allow(clippy::unwrap_used)]

use common::settings::AuthMode;
use identity_mock::configuration::{UserEntry, UserMode};
use serde_json::{json, Value};

struct Keystone {
    address: String,
    handle: actix_web::dev::ServerHandle,
}

async fn spawn_keystone() -> Keystone {
    let mut s: identity_mock::configuration::Settings = common::settings::defaults().unwrap();
    s.base.server.port = 0;
    s.base.server.workers = 1;
    s.base.auth.signing_key = "a key the compute mock does not know".into();
    s.identity.user_mode = UserMode::Strict;
    s.identity.users = vec![UserEntry {
        username: "alice".into(),
        password: Some("secret".into()),
        api_key: None,
        user_id: Some("u-alice".into()),
        tenant_id: Some("100100".into()),
        tenant_name: Some("alice-co".into()),
        roles: None,
        default_region: Some("ORD".into()),
    }];
    let app = identity_mock::build(s, None).unwrap();
    let keystone = Keystone {
        address: format!("http://127.0.0.1:{}", app.port()),
        handle: app.handle(),
    };
    tokio::spawn(app.run_until_stopped());
    keystone
}

async fn spawn_compute(identity: &str, version: &str) -> String {
    let mut s: compute_mock::configuration::Settings = common::settings::defaults().unwrap();
    s.base.server.port = 0;
    s.base.server.workers = 1;
    s.base.auth.mode = AuthMode::Remote;
    s.base.auth.remote.url = identity.to_string();
    s.base.auth.remote.version = serde_json::from_value(json!(version)).unwrap();
    s.base.auth.remote.cache_ttl_ms = 60_000;
    let app = compute_mock::build(s, None).unwrap();
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    address
}

async fn v2_token(client: &reqwest::Client, keystone: &str) -> String {
    let res = client
        .post(format!("{keystone}/v2.0/tokens"))
        .json(
            &json!({"auth": {"passwordCredentials": {"username": "alice", "password": "secret"}}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    body["access"]["token"]["id"].as_str().unwrap().to_string()
}

async fn v3_token(client: &reqwest::Client, keystone: &str) -> String {
    let res = client
        .post(format!("{keystone}/v3/auth/tokens"))
        .json(
            &json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": "alice", "domain": {"id": "default"}, "password": "secret"}}},
            "scope": {"project": {"id": "100100"}}}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    res.headers()["x-subject-token"]
        .to_str()
        .unwrap()
        .to_string()
}

async fn list_servers(client: &reqwest::Client, compute: &str, token: &str) -> u16 {
    client
        .get(format!("{compute}/v2/100100/servers"))
        .header("x-auth-token", token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn accepted_refused_and_cached(version: &str) {
    let client = reqwest::Client::new();
    let keystone = spawn_keystone().await;
    let compute = spawn_compute(&keystone.address, version).await;
    let mint = || async {
        if version == "v3" {
            v3_token(&client, &keystone.address).await
        } else {
            v2_token(&client, &keystone.address).await
        }
    };
    let used = mint().await;
    let unused = mint().await;
    let revoked = mint().await;

    assert_eq!(
        list_servers(&client, &compute, &used).await,
        200,
        "a token Identity issued is accepted"
    );
    assert_eq!(
        list_servers(&client, &compute, "not-a-token").await,
        401,
        "a token Identity refuses is refused"
    );
    let res = client
        .delete(format!("{}/v2.0/tokens/{revoked}", keystone.address))
        .header("x-auth-token", &used)
        .send()
        .await
        .unwrap();
    assert!(
        res.status().is_success(),
        "revoke answered {}",
        res.status()
    );
    assert_eq!(
        list_servers(&client, &compute, &revoked).await,
        401,
        "a revoked token is refused"
    );

    keystone.handle.stop(false).await;
    // Hold Identity's port, so no app another test spawns on port 0 answers in its place.
    let port: u16 = keystone
        .address
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let _held = std::net::TcpListener::bind(("127.0.0.1", port))
        .expect("identity's port is free again once it stopped");
    assert_eq!(
        list_servers(&client, &compute, &used).await,
        200,
        "the cached answer holds while Identity is away"
    );
    assert_eq!(
        list_servers(&client, &compute, &unused).await,
        401,
        "a token never validated cannot be checked while Identity is away"
    );
}

#[tokio::test]
async fn remote_validation_over_keystone_v2() {
    accepted_refused_and_cached("v2").await;
}

#[tokio::test]
async fn remote_validation_over_keystone_v3() {
    accepted_refused_and_cached("v3").await;
}

#[tokio::test]
async fn a_remote_token_of_another_tenant_is_refused() {
    let client = reqwest::Client::new();
    let keystone = spawn_keystone().await;
    let compute = spawn_compute(&keystone.address, "v2").await;
    let token = v2_token(&client, &keystone.address).await;
    let res = client
        .get(format!("{compute}/v2/999999/servers"))
        .header("x-auth-token", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
}

#[tokio::test]
async fn a_mock_beside_a_real_identity_is_ready_when_that_identity_answers() {
    let keystone = spawn_keystone().await;
    // The catalog URL names nothing that serves Understudy's catalog, as beside Keystone.
    let beside = spawn_compute(&keystone.address, "v3").await;
    // And one beside an Identity that is not there (nothing listens on port 9).
    let alone = spawn_compute("http://127.0.0.1:9", "v3").await;
    let client = reqwest::Client::new();
    let ready = |compute: String| {
        let client = client.clone();
        async move {
            client
                .get(format!("{compute}/_understudy/v1/ready"))
                .send()
                .await
                .unwrap()
        }
    };

    let res = ready(beside).await;
    assert_eq!(res.status(), 200, "{:?}", res.text().await);

    let res = ready(alone).await;
    assert_eq!(res.status(), 503);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["waiting_for"][0]["what"], "identity");
}
