//! The route table as the stack sees it: `/metrics` and the journal name each endpoint by
//! its route pattern, never by an id.

use crate::helpers::{spawn_app, TENANT};

#[tokio::test]
async fn metrics_and_the_journal_name_each_endpoint_by_its_route_pattern() {
    let app = spawn_app().await;
    let id = app.create_server("labelled").await;
    assert_eq!(app.get(&format!("servers/{id}")).await.status(), 200);
    assert_eq!(app.get("servers/detail").await.status(), 200);
    let url = app.region_url("DFW", TENANT, &format!("servers/{id}/metadata"));
    assert_eq!(
        app.get_url(&url).await.status(),
        404,
        "the server is in ORD"
    );

    let metrics = app
        .get_url(&format!("{}/_understudy/v1/metrics", app.address))
        .await
        .text()
        .await
        .unwrap();
    for expected in [
        "route=\"/v2/{tenant_id}/servers\",method=\"POST\",status=\"202\"} 1",
        "route=\"/v2/{tenant_id}/servers/{server_id}\",method=\"GET\",status=\"200\"} 1",
        "route=\"/v2/{tenant_id}/servers/detail\",method=\"GET\",status=\"200\"} 1",
        "route=\"/{region}/v2/{tenant_id}/servers/{server_id}/metadata\",method=\"GET\",status=\"404\"} 1",
    ] {
        assert!(metrics.contains(expected), "{expected} in\n{metrics}");
    }
    assert!(!metrics.contains(&id), "no id is a label: {metrics}");

    let journal: serde_json::Value = app
        .get_url(&format!("{}/_understudy/v1/journal", app.address))
        .await
        .json()
        .await
        .unwrap();
    let entry = journal["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["path"] == format!("/v2/{TENANT}/servers/{id}"))
        .unwrap_or_else(|| panic!("GET of the server is journaled: {journal}"));
    assert_eq!(entry["route"], "/v2/{tenant_id}/servers/{server_id}");
    let unknown = app.get("no-such-thing").await;
    assert_eq!(unknown.status(), 404);
    let journal: serde_json::Value = app
        .get_url(&format!("{}/_understudy/v1/journal", app.address))
        .await
        .json()
        .await
        .unwrap();
    let entry = journal["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["path"] == format!("/v2/{TENANT}/no-such-thing"))
        .unwrap_or_else(|| panic!("the unknown route is journaled: {journal}"));
    assert!(entry["route"].is_null(), "{entry}");
}
