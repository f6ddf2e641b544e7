//! Version documents at `/`, `/v2.0` and `/v3`.

use crate::helpers::{spawn_app, status_and_json};

#[tokio::test]
async fn the_root_lists_v3_and_v2_with_300_multiple_choices() {
    let app = spawn_app().await;

    let res = app.get("/").await;
    let location = res.headers().get("location").cloned();
    let (status, body) = status_and_json(res).await;

    assert_eq!(status, 300);
    assert!(location.unwrap().to_str().unwrap().ends_with("/v3/"));
    let values = body["versions"]["values"].as_array().unwrap();
    let ids: Vec<&str> = values.iter().map(|v| v["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["v3.14", "v2.0"]);
    for v in values {
        assert_eq!(v["status"], "stable");
        assert_eq!(v["links"][0]["rel"], "self");
    }
}

#[tokio::test]
async fn each_version_has_its_own_document() {
    let app = spawn_app().await;

    for (path, id, href_end) in [
        ("/v2.0", "v2.0", "/v2.0/"),
        ("/v2.0/", "v2.0", "/v2.0/"),
        ("/identity/v2.0", "v2.0", "/identity/v2.0/"),
        ("/v3", "v3.14", "/v3/"),
    ] {
        let (status, body) = status_and_json(app.get(path).await).await;
        assert_eq!(status, 200, "{path}");
        assert_eq!(body["version"]["id"], id, "{path}");
        let href = body["version"]["links"][0]["href"].as_str().unwrap();
        assert!(href.starts_with(&app.address), "{path}: {href}");
        assert!(href.ends_with(href_end), "{path}: {href}");
    }
}
