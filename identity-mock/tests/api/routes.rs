//! Every request is labelled by the route it matched: `/metrics` counts it under the
//! route's pattern (a token never becomes a label) and the journal keeps the request.

use serde_json::Value;

use crate::helpers::{spawn_app, status_and_json};

#[tokio::test]
async fn validating_a_token_is_counted_under_its_route_and_journaled() {
    let app = spawn_app().await;
    let (token, _) = app.token_for("joe", None).await;

    for path in [
        format!("/v2.0/tokens/{token}"),
        format!("/v2.0/tokens/{token}/endpoints"),
        format!("/identity/v2.0/tokens/{token}/endpoints"),
    ] {
        assert_eq!(app.get(&path).await.status(), 200, "{path}");
    }
    let res = app
        .client
        .head(app.url(&format!("/v2.0/tokens/{token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    let metrics = app
        .get("/_understudy/v1/metrics")
        .await
        .text()
        .await
        .unwrap();
    for (route, method) in [
        ("/v2.0/tokens", "POST"),
        ("/v2.0/tokens/{token_id}", "GET"),
        ("/v2.0/tokens/{token_id}", "HEAD"),
        ("/v2.0/tokens/{token_id}/endpoints", "GET"),
        ("/identity/v2.0/tokens/{token_id}/endpoints", "GET"),
    ] {
        let line = format!(
            "understudy_requests_total{{service=\"identity\",route=\"{route}\",method=\"{method}\",status=\"200\"}} 1"
        );
        assert!(metrics.contains(&line), "{line} in {metrics}");
    }
    assert!(!metrics.contains(&token), "no token is a label: {metrics}");

    let path = format!("/v2.0/tokens/{token}/endpoints");
    let (status, journal) = status_and_json(
        app.get(&format!("/_understudy/v1/journal?path={path}"))
            .await,
    )
    .await;
    assert_eq!(status, 200);
    let entries = journal["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{journal}");
    let entry: &Value = &entries[0];
    assert_eq!(entry["service"], "identity");
    assert_eq!(entry["method"], "GET");
    assert_eq!(entry["path"], path);
    assert_eq!(entry["route"], "/v2.0/tokens/{token_id}/endpoints");
    assert_eq!(entry["status"], 200);
}
