use serde_json::Value;

use crate::helpers::{assert_error, spawn_app, TENANT};

#[tokio::test]
async fn flavors_list_brief_and_detail_with_rackspace_fields() {
    let app = spawn_app().await;
    let brief = app.get_json("flavors").await;
    let first = &brief["flavors"][0];
    assert_eq!(first["id"], "2");
    assert_eq!(first["name"], "512MB Standard Instance");
    assert_eq!(
        first["links"][0]["href"],
        format!("{}/v2/{TENANT}/flavors/2", app.address)
    );
    let detail = app.get_json("flavors/detail").await;
    let f = &detail["flavors"][0];
    for field in [
        "ram",
        "disk",
        "vcpus",
        "swap",
        "OS-FLV-EXT-DATA:ephemeral",
        "rxtx_factor",
    ] {
        assert!(f.get(field).is_some(), "{field}");
    }
    assert_eq!(f["ram"], 512);
    assert_eq!(f["swap"], "");
    let one = app.get_json("flavors/general1-1").await;
    assert_eq!(one["flavor"]["vcpus"], 1);
    assert_eq!(
        one["flavor"]["OS-FLV-WITH-EXT-SPECS:extra_specs"]["class"],
        "general1"
    );
    let res = app.get("flavors/1").await;
    assert_error(res, 404, "itemNotFound", "The resource could not be found.").await;
    let big = app.get_json("flavors/detail?minRam=100000").await;
    assert!(big["flavors"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["ram"].as_u64().unwrap() >= 100_000));
    let res = app.get("flavors?minRam=lots").await;
    assert_error(res, 400, "badRequest", "Invalid minRam filter [lots]").await;
    let page = app.get_json("flavors?limit=2").await;
    assert_eq!(page["flavors"].as_array().unwrap().len(), 2);
    assert!(page["flavors_links"][0]["href"]
        .as_str()
        .unwrap()
        .contains("marker=3"));
}

#[tokio::test]
async fn onmetal_flavors_are_offered_in_iad_only() {
    let app = spawn_app().await;
    let iad = app
        .get_url(&app.region_url("IAD", TENANT, "flavors/onmetal-io1"))
        .await;
    assert_eq!(iad.status(), 200);
    let ord = app.get("flavors/onmetal-io1").await;
    assert_eq!(ord.status(), 404);
}

#[tokio::test]
async fn images_have_stable_ids_and_iso_dates() {
    let app = spawn_app().await;
    let other = spawn_app().await;
    assert_eq!(
        app.ubuntu().await,
        other.ubuntu().await,
        "two instances agree on ids"
    );
    let id = app.ubuntu().await;
    let v = app.get_json(&format!("images/{id}")).await;
    let i = &v["image"];
    assert_eq!(i["status"], "ACTIVE");
    assert_eq!(i["minDisk"], 20);
    assert_eq!(i["minRam"], 512);
    assert!(chrono::DateTime::parse_from_rfc3339(i["created"].as_str().unwrap()).is_ok());
    assert!(chrono::DateTime::parse_from_rfc3339(i["updated"].as_str().unwrap()).is_ok());
    assert_eq!(i["metadata"]["image_type"], "base");
    assert_eq!(i["links"][2]["rel"], "alternate");
    let res = app.get("images/00000000-0000-0000-0000-000000000000").await;
    assert_error(res, 404, "itemNotFound", "Image not found.").await;
    let res = app.delete(&format!("images/{id}")).await;
    assert_error(
        res,
        403,
        "forbidden",
        "You are not allowed to delete the image.",
    )
    .await;
    let detail = app.get_json("images/detail").await;
    assert!(detail["images"].as_array().unwrap().len() > 20);
    let brief: Value = app.get_json("images?limit=1").await;
    assert!(brief["images_links"][0]["href"]
        .as_str()
        .unwrap()
        .contains("marker="));
}
