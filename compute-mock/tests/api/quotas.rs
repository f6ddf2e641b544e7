use serde_json::{json, Value};

use crate::helpers::{mint, spawn_app, spawn_app_with, TENANT};
use compute_mock::configuration::QuotaOverride;

#[tokio::test]
async fn exceeding_the_instance_quota_is_403_in_novas_words() {
    let app = spawn_app_with(|s| s.compute.quota.instances = 2).await;
    app.create_server("a").await;
    app.create_server("b").await;
    let body = app.server_body("c").await;
    let res = app.post("servers", &body).await;
    assert_eq!(res.status(), 403);
    assert_eq!(res.headers()["retry-after"], "0");
    let v: Value = res.json().await.unwrap();
    assert_eq!(
        v,
        json!({"forbidden": {"message": "Quota exceeded for instances: Requested 1, but already used 2 of 2 instances", "code": 403}})
    );
}

#[tokio::test]
async fn deleting_a_server_gives_its_quota_back() {
    let app = spawn_app_with(|s| s.compute.quota.instances = 1).await;
    let a = app.create_server("a").await;
    assert_eq!(app.delete(&format!("servers/{a}")).await.status(), 204);
    app.create_server("b").await;
}

#[tokio::test]
async fn ram_and_cores_quotas_use_the_flavor() {
    let app = spawn_app_with(|s| {
        s.compute.quota.ram_mb = 1024;
        s.compute.quota.cores = 4;
    })
    .await;
    app.create_server("a").await;
    app.create_server("b").await;
    let body = app.server_body("c").await;
    let v: Value = app.post("servers", &body).await.json().await.unwrap();
    assert_eq!(
        v["forbidden"]["message"],
        "Quota exceeded for ram: Requested 512, but already used 1024 of 1024 ram"
    );
}

#[tokio::test]
async fn per_tenant_overrides_replace_the_default_quota() {
    let app = spawn_app_with(|s| {
        s.compute.quota_overrides.insert(
            TENANT.into(),
            QuotaOverride {
                instances: Some(1),
                ..Default::default()
            },
        );
    })
    .await;
    app.create_server("a").await;
    let body = app.server_body("b").await;
    assert_eq!(app.post("servers", &body).await.status(), 403);
    let other = mint(&app.codec, "555");
    let res = app
        .client
        .post(format!("{}/v2/555/servers", app.address))
        .header("X-Auth-Token", other)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202, "other tenants keep the default");
}

#[tokio::test]
async fn limits_show_the_quota_and_real_usage() {
    // Rackspace's limits, as the README's "Coming from Mimic" sets them.
    let app = spawn_app_with(|s| {
        s.compute.quota.instances = 200;
        s.compute.quota.ram_mb = 256_000;
    })
    .await;
    app.create_server("a").await;
    app.create_server("b").await;
    let v = app.get_json("limits").await;
    let abs = &v["limits"]["absolute"];
    assert_eq!(abs["maxTotalInstances"], 200);
    assert_eq!(abs["maxTotalCores"], -1);
    assert_eq!(abs["maxTotalRAMSize"], 256000);
    assert_eq!(abs["maxServerMeta"], 40);
    assert_eq!(abs["totalInstancesUsed"], 2);
    assert_eq!(abs["totalCoresUsed"], 2);
    assert_eq!(abs["totalRAMUsed"], 1024);
    assert_eq!(v["limits"]["rate"][0]["uri"], "*");
    let q = app.get_json(&format!("os-quota-sets/{TENANT}")).await;
    assert_eq!(q["quota_set"]["instances"], 200);
}

#[tokio::test]
async fn concurrent_creates_never_exceed_the_quota() {
    let app = std::sync::Arc::new(spawn_app_with(|s| s.compute.quota.instances = 25).await);
    let body = app.server_body("race").await;
    let tasks: Vec<_> = (0..60)
        .map(|_| {
            let app = app.clone();
            let body = body.clone();
            tokio::spawn(async move { app.post("servers", &body).await.status().as_u16() })
        })
        .collect();
    let mut accepted = 0;
    for t in tasks {
        if t.await.unwrap() == 202 {
            accepted += 1;
        }
    }
    assert_eq!(accepted, 25);
    let v = app.get_json("servers").await;
    assert_eq!(v["servers"].as_array().unwrap().len(), 25);
    let _ = spawn_app;
}
