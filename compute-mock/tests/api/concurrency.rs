use std::collections::HashSet;
use std::sync::Arc;

use serde_json::Value;

use crate::helpers::spawn_app_with;

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn concurrent_creates_leave_exactly_that_many_servers_with_unique_ids_and_addresses() {
    let app = Arc::new(
        spawn_app_with(|s| {
            s.compute.quota.instances = -1;
            s.compute.quota.ram_mb = -1;
            s.base.server.workers = 4;
        })
        .await,
    );
    let body = app.server_body("load").await;
    let tasks: Vec<_> = (0..64)
        .map(|_| {
            let app = app.clone();
            let body = body.clone();
            tokio::spawn(async move {
                for _ in 0..50 {
                    let res = app.post("servers", &body).await;
                    assert_eq!(res.status(), 202);
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let mut ids = HashSet::new();
    let mut addrs = HashSet::new();
    let mut url = app.url("servers/detail");
    loop {
        let v: Value = app.get_url(&url).await.json().await.unwrap();
        for s in v["servers"].as_array().unwrap() {
            assert!(ids.insert(s["id"].as_str().unwrap().to_string()));
            for net in ["private", "public"] {
                for a in s["addresses"][net].as_array().unwrap() {
                    assert!(
                        addrs.insert(a["addr"].as_str().unwrap().to_string()),
                        "address reused"
                    );
                }
            }
        }
        match v.get("servers_links") {
            Some(l) => url = l[0]["href"].as_str().unwrap().to_string(),
            None => break,
        }
    }
    assert_eq!(ids.len(), 3200);
    assert_eq!(addrs.len(), 3200 * 3);
    let limits = app.get_json("limits").await;
    assert_eq!(limits["limits"]["absolute"]["totalInstancesUsed"], 3200);
}
