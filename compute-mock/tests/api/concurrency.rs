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

/// A delete whose client goes away while it is in flight still gives the server's usage
/// back: the request runs to its end (actix keeps serving a request whose client closed
/// its side, `h1_allow_half_closed`; were the handler dropped, its queued release would be
/// left out). Only on Redis can a test hold the tenant's usage record from outside the app
/// (as another replica would), so the client is sure to leave while the delete waits for
/// it; in memory it checks nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delete_whose_client_goes_away_still_gives_the_usage_back() {
    use std::time::Duration;

    let Some((app, other, scope)) = crate::helpers::spawn_on_shared_store(|_| {}).await else {
        return;
    };
    let id = app.create_server("leaving").await;
    let used = |v: &Value| v["limits"]["absolute"]["totalInstancesUsed"].clone();
    assert_eq!(used(&app.get_json("limits").await), 1);

    // Another replica holds the tenant's usage for a second and a half.
    let holder = test_support::hold_partition(
        other.table::<Value>("compute_usage"),
        scope,
        Duration::from_millis(1500),
    )
    .await;
    // The client gives up after 300 ms, while the delete waits for the usage record.
    let gone = app
        .client
        .delete(app.url(&format!("servers/{id}")))
        .header("X-Auth-Token", &app.token)
        .timeout(Duration::from_millis(300))
        .send()
        .await;
    assert!(
        gone.is_err(),
        "the delete answered while usage was held: {gone:?}"
    );
    tokio::task::spawn_blocking(move || holder.join().unwrap())
        .await
        .unwrap()
        .unwrap();
    // Its usage is given back once the record is let go.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let limits = app.get_json("limits").await;
        if used(&limits) == 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the usage of a deleted server was never given back: {limits}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
