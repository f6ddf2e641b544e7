use serde_json::{json, Value};

use crate::helpers::{assert_error, spawn_app, TENANT};

#[tokio::test]
async fn resize_then_confirm_or_revert() {
    let app = spawn_app().await;
    let id = app.create_server("rs").await;
    let res = app
        .action(&id, &json!({"resize": {"flavorRef": "3"}}))
        .await;
    assert_eq!(res.status(), 202);
    let s = app.server(&id).await;
    assert_eq!(
        (s["status"].as_str(), s["flavor"]["id"].as_str()),
        (Some("VERIFY_RESIZE"), Some("3"))
    );
    let res = app.action(&id, &json!({"confirmResize": null})).await;
    assert_eq!(res.status(), 204);
    assert_eq!(app.status(&id).await, "ACTIVE");
    assert_eq!(
        app.action(&id, &json!({"resize": {"flavorRef": "4"}}))
            .await
            .status(),
        202
    );
    assert_eq!(
        app.action(&id, &json!({"revertResize": null}))
            .await
            .status(),
        202
    );
    let s = app.server(&id).await;
    assert_eq!(
        (s["status"].as_str(), s["flavor"]["id"].as_str()),
        (Some("ACTIVE"), Some("3"))
    );
    let res = app.action(&id, &json!({"confirmResize": null})).await;
    assert_error(
        res,
        409,
        "conflictingRequest",
        &format!("Cannot 'confirmResize' instance {id} while it is in vm_state active"),
    )
    .await;
}

#[tokio::test]
async fn action_bodies_are_checked_with_novas_texts() {
    let app = spawn_app().await;
    let id = app.create_server("x").await;
    let cases = [
        (json!({"reboot": {}}), "Missing argument 'type' for reboot"),
        (
            json!({"reboot": {"type": "GENTLE"}}),
            "Argument 'type' for reboot is not HARD or SOFT",
        ),
        (
            json!({"reboot": {"type": 1}}),
            "Argument 'type' for reboot must be a string",
        ),
        (
            json!({"resize": {}}),
            "Resize requests require 'flavorRef' attribute.",
        ),
        (
            json!({"resize": {"flavorRef": "nope"}}),
            "Unable to locate requested flavor.",
        ),
        (
            json!({"resize": {"flavorRef": "2"}}),
            "Resize requires a flavor change.",
        ),
        (
            json!({"rebuild": {}}),
            "Could not parse imageRef from request.",
        ),
        (
            json!({"rebuild": {"imageRef": "bad"}}),
            "Invalid imageRef provided.",
        ),
        (
            json!({"rebuild": {"imageRef": "00000000-0000-0000-0000-000000000009"}}),
            "Cannot find image for rebuild",
        ),
        (json!({"changePassword": {}}), "No adminPass was specified"),
        (
            json!({"changePassword": {"adminPass": 3}}),
            "Invalid adminPass",
        ),
        (
            json!({"createImage": {}}),
            "createImage entity requires name attribute",
        ),
        (json!({"explode": {}}), "There is no such action: explode"),
    ];
    for (body, message) in cases {
        let res = app.action(&id, &body).await;
        assert_error(res, 400, "badRequest", message).await;
    }
    // A rebuild's personality is checked as a create's, and a refused rebuild changes
    // nothing.
    let image = app.ubuntu().await;
    for (personality, message) in [
        (json!("x"), "Bad personality format"),
        (
            json!([{"path": "/etc/motd"}]),
            "Bad personality format: missing 'contents'",
        ),
    ] {
        let body = json!({"rebuild": {"imageRef": image, "personality": personality}});
        let res = app.action(&id, &body).await;
        assert_error(res, 400, "badRequest", message).await;
    }
    assert_eq!(app.server(&id).await["status"], "ACTIVE");
    let res = app
        .action("nope", &json!({"reboot": {"type": "SOFT"}}))
        .await;
    assert_error(
        res,
        404,
        "itemNotFound",
        "Instance nope could not be found.",
    )
    .await;
}

#[tokio::test]
async fn rescue_returns_a_password_and_unrescue_returns_to_active() {
    let app = spawn_app().await;
    let id = app.create_server("rsc").await;
    let res = app.action(&id, &json!({"rescue": null})).await;
    assert_eq!(res.status(), 200);
    let v: Value = res.json().await.unwrap();
    assert!(v["adminPass"].is_string());
    assert_eq!(app.status(&id).await, "RESCUE");
    let res = app
        .action(&id, &json!({"rescue": {"adminPass": "p"}}))
        .await;
    assert_eq!(res.status(), 409);
    assert_eq!(
        app.action(&id, &json!({"unrescue": null})).await.status(),
        202
    );
    assert_eq!(app.status(&id).await, "ACTIVE");
    let res = app.action(&id, &json!({"unrescue": null})).await;
    assert_error(
        res,
        409,
        "conflictingRequest",
        &format!("Cannot 'unrescue' instance {id} while it is in vm_state active"),
    )
    .await;
}

#[tokio::test]
async fn change_password_is_accepted_on_an_active_server() {
    let app = spawn_app().await;
    let id = app.create_server("pw").await;
    let res = app
        .action(&id, &json!({"changePassword": {"adminPass": "s3cret"}}))
        .await;
    assert_eq!(res.status(), 202);
}

#[tokio::test]
async fn create_image_makes_a_snapshot_listed_with_the_images() {
    let app = spawn_app().await;
    let id = app.create_server("snap").await;
    let res = app
        .action(&id, &json!({"createImage": {"name": "my-snap"}}))
        .await;
    assert_eq!(res.status(), 202);
    let location = res.headers()["location"].to_str().unwrap().to_string();
    let prefix = format!("{}/v2/{TENANT}/images/", app.address);
    assert!(location.starts_with(&prefix), "{location}");
    let image_id = location.trim_start_matches(&prefix).to_string();
    let image = app.get_json(&format!("images/{image_id}")).await;
    assert_eq!(image["image"]["name"], "my-snap");
    assert_eq!(image["image"]["server"]["id"], id.as_str());
    assert_eq!(image["image"]["metadata"]["image_type"], "snapshot");
    let snaps = app.get_json("images/detail?type=snapshot").await;
    assert_eq!(snaps["images"].as_array().unwrap().len(), 1);
    let built = app
        .create_with(
            &json!({"server": {"name": "from-snap", "imageRef": image_id, "flavorRef": "2"}}),
        )
        .await;
    assert_eq!(app.server(&built).await["image"]["id"], image_id.as_str());
    assert_eq!(
        app.delete(&format!("images/{image_id}")).await.status(),
        204
    );
    assert_eq!(app.get(&format!("images/{image_id}")).await.status(), 404);
}
