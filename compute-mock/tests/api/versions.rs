use serde_json::Value;

use crate::helpers::{assert_error, spawn_app};

#[tokio::test]
async fn the_root_lists_v2_with_links_to_the_host_the_client_used() {
    let app = spawn_app().await;
    let res = app
        .client
        .get(format!("{}/", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["versions"][0]["id"], "v2.0");
    assert_eq!(body["versions"][0]["status"], "CURRENT");
    assert_eq!(
        body["versions"][0]["links"][0]["href"],
        format!("{}/v2/", app.address)
    );
}

#[tokio::test]
async fn v2_answers_its_version_document_with_and_without_a_region() {
    let app = spawn_app().await;
    for path in ["/v2", "/v2/", "/DFW/v2", "/DFW/v2/"] {
        let res = app
            .client
            .get(format!("{}{path}", app.address))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{path}");
        assert_eq!(res.headers()["content-type"], "application/json");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["version"]["id"], "v2.0", "{path}");
        assert_eq!(
            body["version"]["media-types"][0]["type"],
            "application/vnd.openstack.compute+json;version=2"
        );
    }
}

#[tokio::test]
async fn an_unknown_region_is_novas_404() {
    let app = spawn_app().await;
    let res = app
        .get_url(&app.region_url("XYZ", "123456", "servers"))
        .await;
    assert_error(res, 404, "itemNotFound", "The resource could not be found.").await;
}

#[tokio::test]
async fn an_unknown_route_is_novas_404() {
    let app = spawn_app().await;
    let res = app.get("no-such-thing").await;
    assert_error(res, 404, "itemNotFound", "The resource could not be found.").await;
}

#[tokio::test]
async fn an_unsupported_method_is_bad_method() {
    let app = spawn_app().await;
    let res = app.delete("flavors").await;
    assert_error(
        res,
        405,
        "badMethod",
        "The method DELETE is not allowed for this resource.",
    )
    .await;
}
