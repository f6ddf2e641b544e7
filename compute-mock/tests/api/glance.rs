//! The image service (Glance v2) under `/{region}/images`: the images Nova shows, with the
//! same ids, as current OpenStack clients look them up before a boot.

use serde_json::Value;

use crate::helpers::{spawn_app, TestApp};

async fn glance(app: &TestApp, path: &str) -> (u16, Value) {
    let res = app
        .client
        .get(format!("{}/ORD/images{path}", app.address))
        .header("X-Auth-Token", &app.token)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn the_root_lists_v2_with_an_absolute_link_under_the_prefix() {
    let app = spawn_app().await;

    let (status, body) = glance(&app, "/").await;

    assert_eq!(status, 300);
    let href = body["versions"][0]["links"][0]["href"].as_str().unwrap();
    assert_eq!(href, format!("{}/ORD/images/v2/", app.address));
    assert_eq!(body["versions"][0]["status"], "CURRENT");
}

#[tokio::test]
async fn the_image_list_shows_novas_images_with_the_same_ids() {
    let app = spawn_app().await;
    let nova = app.get_json("images?limit=1000").await;
    let nova_ids: std::collections::BTreeSet<String> = nova["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect();

    let (status, body) = glance(&app, "/v2/images?limit=1000").await;

    assert_eq!(status, 200);
    let ids: std::collections::BTreeSet<String> = body["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, nova_ids);
    let first = &body["images"][0];
    assert_eq!(first["status"], "active");
    assert_eq!(first["visibility"], "public");
    assert_eq!(first["protected"], false, "a JSON boolean, not a string");
    assert_eq!(body["schema"], "/v2/schemas/images");
}

#[tokio::test]
async fn a_full_page_links_the_next_one_in_glances_own_form() {
    let app = spawn_app().await;

    let (_, page) = glance(&app, "/v2/images?limit=2").await;

    assert_eq!(page["images"].as_array().unwrap().len(), 2);
    let last = page["images"][1]["id"].as_str().unwrap();
    assert_eq!(page["next"], format!("/v2/images?limit=2&marker={last}"));
    let (_, next) = glance(&app, &page["next"].as_str().unwrap()[3..]).await;
    assert_ne!(next["images"][0]["id"], page["images"][0]["id"]);
}

#[tokio::test]
async fn a_name_is_not_found_as_an_id_then_found_by_filter() {
    let app = spawn_app().await;
    let (_, all) = glance(&app, "/v2/images?limit=1000").await;
    let image = &all["images"][0];
    let name = image["name"].as_str().unwrap();

    let (by_id_status, by_id) = glance(&app, &format!("/v2/images/{name}")).await;
    let (_, by_name) = glance(&app, &format!("/v2/images?name={}", name.replace(' ', "+"))).await;
    let (status, shown) = glance(
        &app,
        &format!("/v2/images/{}", image["id"].as_str().unwrap()),
    )
    .await;

    assert_eq!(by_id_status, 404);
    assert_eq!(by_id["code"], "404 Not Found");
    assert_eq!(by_name["images"][0]["id"], image["id"]);
    assert_eq!(status, 200);
    assert_eq!(shown["id"], image["id"], "the bare image, no wrapper");
}

#[tokio::test]
async fn a_snapshot_is_the_tenants_private_image() {
    let app = spawn_app().await;
    let server = app.create_server("snap-me").await;
    let res = app
        .action(
            &server,
            &serde_json::json!({"createImage": {"name": "my-snap"}}),
        )
        .await;
    assert_eq!(res.status(), 202);

    let (_, body) = glance(&app, "/v2/images?visibility=private").await;

    let images = body["images"].as_array().unwrap();
    assert_eq!(images.len(), 1);
    assert_eq!(images[0]["name"], "my-snap");
    assert_eq!(images[0]["image_type"], "snapshot");
}

#[tokio::test]
async fn bad_queries_are_glances_400() {
    let app = spawn_app().await;
    for (query, text) in [
        ("limit=-1", "limit param must be positive"),
        ("sort_key=flavor", "Invalid sort key: flavor."),
        ("visibility=everyone", "Invalid visibility value: everyone"),
        (
            "marker=nope",
            "Invalid marker. Image nope could not be found.",
        ),
    ] {
        let (status, body) = glance(&app, &format!("/v2/images?{query}")).await;
        assert_eq!(status, 400, "{query}");
        assert_eq!(body["message"], text, "{query}");
        assert_eq!(body["code"], "400 Bad Request", "{query}");
    }
}

#[tokio::test]
async fn the_schemas_name_their_properties() {
    let app = spawn_app().await;
    for (path, name) in [
        ("/v2/schemas/image", "image"),
        ("/v2/schemas/images", "images"),
    ] {
        let (status, body) = glance(&app, path).await;
        assert_eq!(status, 200, "{path}");
        assert_eq!(body["name"], name);
        assert!(body["properties"].is_object());
    }
}

#[tokio::test]
async fn novaclients_doubled_version_prefix_is_served_too() {
    let app = spawn_app().await;
    let (_, all) = glance(&app, "/v2/images?limit=1").await;
    let id = all["images"][0]["id"].as_str().unwrap();

    let (status, shown) = glance(&app, &format!("/v2/v2/images/{id}")).await;

    assert_eq!(status, 200);
    assert_eq!(shown["id"], id);
}

#[tokio::test]
async fn the_image_service_refuses_and_fails_in_glances_own_shape() {
    let app = spawn_app().await;

    let anonymous = app
        .client
        .get(format!("{}/ORD/images/v2/images", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    let refusal: Value = anonymous.json().await.unwrap();
    assert_eq!(refusal["code"], "401 Unauthorized", "{refusal}");
    assert_eq!(refusal["title"], "Unauthorized");

    let rule = app
        .client
        .post(format!("{}/_understudy/v1/faults", app.address))
        .json(&serde_json::json!({"match": {"path": "/*/images/**"},
                                  "action": {"type": "error", "status": 503, "message": "down"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(rule.status(), 201);
    let (status, body) = glance(&app, "/v2/images").await;
    assert_eq!(status, 503);
    assert_eq!(body["code"], "503 Service Unavailable", "{body}");
    assert_eq!(body["message"], "down");
}
