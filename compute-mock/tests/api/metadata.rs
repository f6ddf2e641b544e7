use serde_json::{json, Map, Value};

use crate::helpers::{assert_error, spawn_app, spawn_app_with};

#[tokio::test]
async fn metadata_can_be_replaced_merged_read_set_and_deleted() {
    let app = spawn_app().await;
    let id = app.create_server("m").await;
    let path = format!("servers/{id}/metadata");
    let res = app
        .put(&path, &json!({"metadata": {"a": "1", "b": "2"}}))
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({"metadata": {"a": "1", "b": "2"}})
    );
    let res = app
        .post(&path, &json!({"metadata": {"b": "3", "c": "4"}}))
        .await;
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({"metadata": {"a": "1", "b": "3", "c": "4"}})
    );
    let res = app
        .put(&format!("{path}/d"), &json!({"meta": {"d": "5"}}))
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({"meta": {"d": "5"}})
    );
    assert_eq!(
        app.get_json(&format!("{path}/d")).await,
        json!({"meta": {"d": "5"}})
    );
    assert_eq!(app.delete(&format!("{path}/a")).await.status(), 204);
    assert_eq!(
        app.get_json(&path).await,
        json!({"metadata": {"b": "3", "c": "4", "d": "5"}})
    );
    let res = app.get(&format!("{path}/a")).await;
    assert_error(res, 404, "itemNotFound", "Metadata item was not found").await;
    let res = app.delete(&format!("{path}/a")).await;
    assert_error(res, 404, "itemNotFound", "Metadata item was not found").await;
    assert_eq!(app.put(&path, &json!({"metadata": {}})).await.status(), 200);
    assert_eq!(app.get_json(&path).await, json!({"metadata": {}}));
}

#[tokio::test]
async fn metadata_bodies_are_checked_with_novas_texts() {
    let app = spawn_app().await;
    let id = app.create_server("m").await;
    let path = format!("servers/{id}/metadata");
    let cases = [
        (
            path.clone(),
            json!({"meta": {}}),
            400,
            "badRequest",
            "Malformed request body",
        ),
        (
            path.clone(),
            json!({"metadata": "x"}),
            400,
            "badRequest",
            "Malformed request body. metadata must be object",
        ),
        (
            path.clone(),
            json!({"metadata": {"a": 1}}),
            400,
            "badRequest",
            "Invalid metadata: The input is not a string or unicode",
        ),
        (
            path.clone(),
            json!({"metadata": {"k".repeat(256): "v"}}),
            413,
            "overLimit",
            "Invalid metadata size: Metadata property key greater than 255 characters",
        ),
        (
            format!("{path}/a"),
            json!({"metadata": {}}),
            400,
            "badRequest",
            "Malformed request body",
        ),
        (
            format!("{path}/a"),
            json!({"meta": "x"}),
            400,
            "badRequest",
            "Malformed request body. meta item must be object",
        ),
        (
            format!("{path}/a"),
            json!({"meta": {"b": "1"}}),
            400,
            "badRequest",
            "Request body and URI mismatch",
        ),
        (
            format!("{path}/a"),
            json!({"meta": {"a": "1", "b": "2"}}),
            400,
            "badRequest",
            "Request body contains too many items",
        ),
    ];
    for (p, body, code, kind, message) in cases {
        let res = app.put(&p, &body).await;
        assert_error(res, code, kind, message).await;
    }
    let res = app.get("servers/nope/metadata").await;
    assert_error(
        res,
        404,
        "itemNotFound",
        "Instance nope could not be found.",
    )
    .await;
}

#[tokio::test]
async fn more_than_40_items_is_403_and_changes_nothing() {
    let app = spawn_app().await;
    let id = app.create_server("m").await;
    let path = format!("servers/{id}/metadata");
    let forty: Map<String, Value> = (0..40).map(|n| (format!("k{n}"), json!("v"))).collect();
    assert_eq!(
        app.put(&path, &json!({ "metadata": forty })).await.status(),
        200
    );
    let res = app
        .put(
            &format!("{path}/one-more"),
            &json!({"meta": {"one-more": "v"}}),
        )
        .await;
    assert_error(
        res,
        403,
        "forbidden",
        "Maximum number of metadata items exceeds 40",
    )
    .await;
    let res = app.post(&path, &json!({"metadata": {"x": "y"}})).await;
    assert_error(
        res,
        403,
        "forbidden",
        "Maximum number of metadata items exceeds 40",
    )
    .await;
    assert_eq!(
        app.put(&format!("{path}/k0"), &json!({"meta": {"k0": "w"}}))
            .await
            .status(),
        200,
        "replacing a key is fine"
    );
    assert_eq!(
        app.get_json(&path).await["metadata"]
            .as_object()
            .unwrap()
            .len(),
        40
    );
}

#[tokio::test]
async fn metadata_of_a_building_server_cannot_change() {
    let app = spawn_app_with(|s| s.compute.build_time_ms = 10_000).await;
    let id = app.create_server("m").await;
    let res = app
        .put(
            &format!("servers/{id}/metadata/a"),
            &json!({"meta": {"a": "1"}}),
        )
        .await;
    assert_error(
        res,
        409,
        "conflictingRequest",
        &format!("Cannot 'update metadata' instance {id} while it is in vm_state building"),
    )
    .await;
}
