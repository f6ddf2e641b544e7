use serde_json::{json, Value};

use crate::helpers::{assert_error, spawn_app, spawn_app_with};

#[tokio::test]
async fn a_server_builds_with_rising_progress_then_becomes_active() {
    let app = spawn_app_with(|s| s.compute.build_time_ms = 60_000).await;
    let id = app.create_server("slow").await;
    let s = app.server(&id).await;
    assert_eq!(s["status"], "BUILD");
    assert_eq!(s["OS-EXT-STS:vm_state"], "building");
    let p0 = s["progress"].as_u64().unwrap();
    app.advance(30.0).await;
    let p1 = app.server(&id).await["progress"].as_u64().unwrap();
    assert!(p1 > p0 && p1 < 100, "progress rises: {p0} -> {p1}");
    app.advance(31.0).await;
    let s = app.server(&id).await;
    assert_eq!(s["status"], "ACTIVE");
    assert_eq!(s["progress"], 100);
    assert_ne!(
        s["updated"], s["created"],
        "updated moves when the build ends"
    );
}

#[tokio::test]
async fn soft_and_hard_reboots_return_to_active_after_their_times() {
    let app = spawn_app().await;
    let id = app.create_server("r").await;
    let res = app.action(&id, &json!({"reboot": {"type": "SOFT"}})).await;
    assert_eq!(res.status(), 202);
    assert_eq!(res.text().await.unwrap(), "");
    let s = app.server(&id).await;
    assert_eq!(
        (s["status"].as_str(), s["OS-EXT-STS:task_state"].as_str()),
        (Some("REBOOT"), Some("rebooting"))
    );
    app.advance(3.0).await;
    assert_eq!(app.status(&id).await, "ACTIVE");
    assert_eq!(
        app.action(&id, &json!({"reboot": {"type": "hard"}}))
            .await
            .status(),
        202
    );
    assert_eq!(app.status(&id).await, "HARD_REBOOT");
    app.advance(5.0).await;
    assert_eq!(app.status(&id).await, "HARD_REBOOT");
    app.advance(1.0).await;
    assert_eq!(app.status(&id).await, "ACTIVE");
}

#[tokio::test]
async fn a_rebuild_shows_rebuild_then_active() {
    let app = spawn_app().await;
    let id = app.create_server("rb").await;
    let image = app.ubuntu().await;
    let res = app
        .action(
            &id,
            &json!({"rebuild": {"imageRef": image, "name": "rebuilt"}}),
        )
        .await;
    assert_eq!(res.status(), 202);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["server"]["status"], "REBUILD");
    assert_eq!(v["server"]["name"], "rebuilt");
    assert!(v["server"]["adminPass"].is_string());
    app.advance(5.0).await;
    assert_eq!(app.status(&id).await, "ACTIVE");
}

#[tokio::test]
async fn a_deleted_server_shows_deleting_for_the_delete_time_then_404() {
    let app = spawn_app_with(|s| s.compute.delete_time_ms = 10_000).await;
    let id = app.create_server("d").await;
    assert_eq!(app.delete(&format!("servers/{id}")).await.status(), 204);
    let s = app.server(&id).await;
    assert_eq!(s["OS-EXT-STS:task_state"], "deleting");
    assert_eq!(s["status"], "ACTIVE");
    app.advance(10.0).await;
    assert_eq!(app.get(&format!("servers/{id}")).await.status(), 404);
}

#[tokio::test]
async fn a_server_deleted_while_building_stays_deleted() {
    let app = spawn_app_with(|s| s.compute.build_time_ms = 5_000).await;
    let id = app.create_server("b").await;
    assert_eq!(app.delete(&format!("servers/{id}")).await.status(), 204);
    app.advance(60.0).await;
    assert_eq!(app.get(&format!("servers/{id}")).await.status(), 404);
    let v = app.get_json("servers/detail").await;
    assert_eq!(v["servers"], json!([]));
}

#[tokio::test]
async fn actions_refused_by_the_state_are_409_with_novas_text() {
    let app = spawn_app_with(|s| s.compute.build_time_ms = 60_000).await;
    let id = app.create_server("busy").await;
    let res = app.action(&id, &json!({"reboot": {"type": "SOFT"}})).await;
    assert_error(
        res,
        409,
        "conflictingRequest",
        &format!("Cannot 'reboot' instance {id} while it is in vm_state building"),
    )
    .await;
    app.advance(60.0).await;
    assert_eq!(
        app.action(&id, &json!({"reboot": {"type": "SOFT"}}))
            .await
            .status(),
        202
    );
    let res = app
        .action(&id, &json!({"resize": {"flavorRef": "3"}}))
        .await;
    assert_error(
        res,
        409,
        "conflictingRequest",
        &format!("Cannot 'resize' instance {id} while it is in task_state rebooting"),
    )
    .await;
}
