use reqwest::Response;
use serde_json::{json, Value};

use crate::helpers::{assert_error, spawn_app, TestApp, FLAVOR, TENANT};

/// Posts to the cloudServersBehavior URL as otter does: no token, no Content-Type.
async fn control(app: &TestApp, region: &str, path: &str, body: &Value) -> Response {
    app.client
        .post(app.mimic_url(region, TENANT, path))
        .body(body.to_string())
        .send()
        .await
        .unwrap()
}

async fn register(app: &TestApp, body: Value) -> String {
    let res = control(app, "ORD", "behaviors/creation", &body).await;
    assert_eq!(res.status(), 201);
    res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

fn sequence(prefix: &str, behaviors: Value) -> Value {
    json!({"criteria": [{"server_name": format!("{prefix}.*")}], "name": "sequence",
           "parameters": {"behaviors": behaviors}})
}

async fn create(app: &TestApp, name: &str) -> Response {
    let body = app.server_body(name).await;
    app.post("servers", &body).await
}

#[tokio::test]
async fn catc_009_error_then_default() {
    let app = spawn_app().await;
    register(
        &app,
        sequence(
            "cat9",
            json!([{"name": "error", "parameters": {}}, {"name": "default"}, {"name": "default"}]),
        ),
    )
    .await;
    let first = create(&app, "cat9-a").await.json::<Value>().await.unwrap();
    assert_eq!(
        app.status(first["server"]["id"].as_str().unwrap()).await,
        "ERROR"
    );
    let second = create(&app, "cat9-b").await.json::<Value>().await.unwrap();
    assert_eq!(
        app.status(second["server"]["id"].as_str().unwrap()).await,
        "ACTIVE"
    );
}

#[tokio::test]
async fn catc_010_build_keeps_a_server_in_build_for_the_duration() {
    let app = spawn_app().await;
    register(&app, sequence("cat10", json!([{"name": "build", "parameters": {"duration": 90000}}, {"name": "default"}, {"name": "default"}]))).await;
    let v = create(&app, "cat10-a").await.json::<Value>().await.unwrap();
    let id = v["server"]["id"].as_str().unwrap();
    assert_eq!(app.status(id).await, "BUILD");
    app.advance(89_999.0).await;
    assert_eq!(app.status(id).await, "BUILD");
    app.advance(1.0).await;
    assert_eq!(app.status(id).await, "ACTIVE");
}

#[tokio::test]
async fn catc_029_false_negative_creates_the_server_and_still_fails() {
    let app = spawn_app().await;
    register(&app, sequence("cat29", json!([{"name": "false-negative", "parameters": {"code": 500, "message": "Server creation failed."}}, {"name": "default"}, {"name": "default"}]))).await;
    let res = create(&app, "cat29-a").await;
    assert_error(res, 500, "computeFault", "Server creation failed.").await;
    let list = app.get_json("servers?name=cat29").await;
    assert_eq!(list["servers"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn catc_024_intermittent_errors_answer_a_raw_string_then_a_fault_then_default() {
    let app = spawn_app().await;
    register(
        &app,
        sequence(
            "cat24",
            json!([
        {"name": "fail", "parameters": {"code": 401, "type": "string", "message": ""}},
        {"name": "fail", "parameters": {"code": 500, "type": "computeFault", "message": "Oops!."}},
        {"name": "default"}]),
        ),
    )
    .await;
    let res = create(&app, "cat24-a").await;
    assert_eq!(res.status(), 401);
    assert_eq!(res.text().await.unwrap(), "");
    let res = create(&app, "cat24-b").await;
    assert_error(res, 500, "computeFault", "Oops!.").await;
    assert_eq!(create(&app, "cat24-c").await.status(), 202);
    let list = app.get_json("servers?name=cat24").await;
    assert_eq!(
        list["servers"].as_array().unwrap().len(),
        1,
        "fail creates nothing"
    );
}

#[tokio::test]
async fn catc_025_over_quota_then_the_behaviour_is_deleted() {
    let app = spawn_app().await;
    let message = "Quota exceeded for ram: Requested 1024, but already used 131072 of 131072 ram";
    let id = register(
        &app,
        sequence(
            "cat25",
            json!([{"name": "default"},
        {"name": "fail", "parameters": {"code": 403, "type": "forbidden", "message": message}}]),
        ),
    )
    .await;
    assert_eq!(create(&app, "cat25-a").await.status(), 202);
    assert_error(create(&app, "cat25-b").await, 403, "forbidden", message).await;
    let res = app
        .client
        .delete(app.mimic_url("ORD", TENANT, &format!("behaviors/creation/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let res = app
        .client
        .delete(app.mimic_url("ORD", TENANT, &format!("behaviors/creation/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(create(&app, "cat25-c").await.status(), 202);
    assert_eq!(create(&app, "cat25-d").await.status(), 202);
}

#[tokio::test]
async fn active_then_error_turns_to_error_after_the_duration() {
    let app = spawn_app().await;
    register(&app, json!({"criteria": [{"metadata": {"kind": "flaky"}}], "name": "active-then-error", "parameters": {"duration": 30}})).await;
    let image = app.ubuntu().await;
    let id = app
        .create_with(&json!({"server": {"name": "x", "imageRef": image, "flavorRef": FLAVOR, "metadata": {"kind": "flaky"}}}))
        .await;
    assert_eq!(app.status(&id).await, "ACTIVE");
    app.advance(30.0).await;
    assert_eq!(app.status(&id).await, "ERROR");
    let plain = app.create_server("y").await;
    assert_eq!(app.status(&plain).await, "ACTIVE", "criteria must match");
}

#[tokio::test]
async fn behaviours_are_scoped_to_their_region() {
    let app = spawn_app().await;
    let res = control(
        &app,
        "DFW",
        "behaviors/creation",
        &json!({"criteria": [], "name": "error", "parameters": {}}),
    )
    .await;
    assert_eq!(res.status(), 201);
    let id = app.create_server("ord").await;
    assert_eq!(app.status(&id).await, "ACTIVE");
}

#[tokio::test]
async fn malformed_registrations_are_400() {
    let app = spawn_app().await;
    for body in [
        json!({"criteria": [], "name": "explode", "parameters": {}}),
        json!({"criteria": [{"colour": "red"}], "name": "fail", "parameters": {}}),
        json!({"name": "fail", "parameters": {}}),
    ] {
        assert_eq!(
            control(&app, "ORD", "behaviors/creation", &body)
                .await
                .status(),
            400,
            "{body}"
        );
    }
    let res = app
        .client
        .post(app.mimic_url("ORD", TENANT, "behaviors/creation"))
        .body("{nope")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
}

#[tokio::test]
async fn attributes_force_statuses_that_stick_and_refuse_unknown_ids_atomically() {
    let app = spawn_app().await;
    let a = app.create_server("a").await;
    let b = app.create_server("b").await;
    let res = control(
        &app,
        "ORD",
        "attributes/",
        &json!({"status": {a.clone(): "ERROR", b.clone(): "SHUTOFF"}}),
    )
    .await;
    assert_eq!(res.status(), 201);
    assert_eq!(app.status(&a).await, "ERROR");
    let s = app.server(&b).await;
    assert_eq!(
        (s["status"].as_str(), s["OS-EXT-STS:vm_state"].as_str()),
        (Some("SHUTOFF"), Some("stopped"))
    );
    let res = control(
        &app,
        "ORD",
        "attributes",
        &json!({"status": {a.clone(): "ACTIVE", "unknown": "ERROR"}}),
    )
    .await;
    assert_eq!(res.status(), 400);
    assert_eq!(app.status(&a).await, "ERROR", "nothing changed");
    app.advance(100_000.0).await;
    assert_eq!(
        app.status(&a).await,
        "ERROR",
        "no timer overrides a forced status"
    );
}

#[tokio::test]
async fn metadata_keys_inject_failures_builds_and_errors() {
    let app = spawn_app().await;
    let image = app.ubuntu().await;
    let with = |md: Value| json!({"server": {"name": "m", "imageRef": image, "flavorRef": FLAVOR, "metadata": md}});
    let res = app
        .post(
            "servers",
            &with(json!({"create_server_failure": "{\"message\": \"boom\", \"code\": 503}"})),
        )
        .await;
    assert_error(res, 503, "computeFault", "boom").await;
    let res = app.post("servers", &with(json!({"create_server_failure": "{\"message\": \"nope\", \"code\": 400, \"type\": \"badRequest\"}"}))).await;
    assert_error(res, 400, "badRequest", "nope").await;
    assert_eq!(app.get_json("servers").await["servers"], json!([]));
    let building = app
        .create_with(&with(json!({"server_building": "30"})))
        .await;
    assert_eq!(app.status(&building).await, "BUILD");
    app.advance(30.0).await;
    assert_eq!(app.status(&building).await, "ACTIVE");
    let errored = app.create_with(&with(json!({"server_error": "1"}))).await;
    assert_eq!(app.status(&errored).await, "ERROR");
    let res = app
        .post("servers", &with(json!({"server_building": 120})))
        .await;
    assert_eq!(res.status(), 400, "values must be strings");
}

#[tokio::test]
async fn delete_server_failure_fails_the_first_deletes_with_its_code() {
    let app = spawn_app().await;
    let image = app.ubuntu().await;
    let id = app
        .create_with(
            &json!({"server": {"name": "d", "imageRef": image, "flavorRef": FLAVOR,
            "metadata": {"delete_server_failure": "{\"code\": 503, \"times\": 2}"}}}),
        )
        .await;
    assert_eq!(app.delete(&format!("servers/{id}")).await.status(), 503);
    let md = app.get_json(&format!("servers/{id}/metadata")).await;
    let left: Value =
        serde_json::from_str(md["metadata"]["delete_server_failure"].as_str().unwrap()).unwrap();
    assert_eq!(left["times"], 1, "the count is stored back");
    assert_eq!(app.delete(&format!("servers/{id}")).await.status(), 503);
    assert_eq!(app.delete(&format!("servers/{id}")).await.status(), 204);
    assert_eq!(app.get(&format!("servers/{id}")).await.status(), 404);
}

#[tokio::test]
async fn catc_024_nova_400s_alternate_with_default() {
    let app = spawn_app().await;
    register(&app, sequence("n400", json!([{"name": "default"},
        {"name": "fail", "parameters": {"code": 400, "message": "Can not find requested image", "type": "badRequest"}}]))).await;
    assert_eq!(create(&app, "n400-a").await.status(), 202);
    assert_error(
        create(&app, "n400-b").await,
        400,
        "badRequest",
        "Can not find requested image",
    )
    .await;
    assert_eq!(
        create(&app, "n400-c").await.status(),
        202,
        "the sequence cycles"
    );
}

#[tokio::test]
async fn error_reasons_updated_fail_until_the_behaviour_is_deleted() {
    let app = spawn_app().await;
    let id = register(&app, sequence("why", json!([{"name": "fail",
        "parameters": {"code": 400, "message": "Invalid key_name provided.", "type": "badRequest"}}]))).await;
    assert_error(
        create(&app, "why-1").await,
        400,
        "badRequest",
        "Invalid key_name provided.",
    )
    .await;
    assert_error(
        create(&app, "why-2").await,
        400,
        "badRequest",
        "Invalid key_name provided.",
    )
    .await;
    assert_eq!(
        create(&app, "other").await.status(),
        202,
        "criteria are anchored to the prefix"
    );
    let res = app
        .client
        .delete(app.mimic_url("ORD", TENANT, &format!("behaviors/creation/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(create(&app, "why-3").await.status(), 202);
}

#[tokio::test]
async fn pause_resume_single_build_sequence_builds_every_server() {
    let app = spawn_app().await;
    register(
        &app,
        sequence(
            "pr",
            json!([{"name": "build", "parameters": {"duration": 15}}]),
        ),
    )
    .await;
    let a = create(&app, "pr-a").await.json::<Value>().await.unwrap();
    let b = create(&app, "pr-b").await.json::<Value>().await.unwrap();
    for v in [&a, &b] {
        assert_eq!(
            app.status(v["server"]["id"].as_str().unwrap()).await,
            "BUILD"
        );
    }
    app.advance(15.0).await;
    for v in [&a, &b] {
        assert_eq!(
            app.status(v["server"]["id"].as_str().unwrap()).await,
            "ACTIVE"
        );
    }
}

#[tokio::test]
async fn control_routes_need_no_token_and_ignore_generic_faults() {
    let app = spawn_app().await;
    let res = app
        .client
        .post(format!("{}/_understudy/v1/faults", app.address))
        .json(&json!({"match": {"service": "compute"}, "action": {"type": "error", "status": 503}}))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "fault rule installed");
    let res = app.get("flavors").await;
    assert_eq!(res.status(), 503, "the emulated API obeys the rule");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["serviceUnavailable"]["code"], 503, "in Nova's format");
    let res = control(
        &app,
        "ORD",
        "behaviors/creation",
        &json!({"criteria": [], "name": "error", "parameters": {}}),
    )
    .await;
    assert_eq!(res.status(), 201, "Mimic's control routes are exempt");
}

#[tokio::test]
async fn with_an_admin_token_mimics_controls_need_it_too() {
    let app =
        crate::helpers::spawn_app_with(|s| s.base.control.admin_token = "s3cret".into()).await;
    let body =
        json!({"criteria": [{"server_name": "x.*"}], "name": "fail", "parameters": {"code": 500}});
    let url = |path: &str| app.mimic_url("ORD", TENANT, path);

    let without = app
        .client
        .post(url("behaviors/creation"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let attributes = app
        .client
        .post(url("attributes"))
        .json(&json!({"status": {}}))
        .send()
        .await
        .unwrap();
    let with = app
        .client
        .post(url("behaviors/creation"))
        .header("X-Admin-Token", "s3cret")
        .json(&body)
        .send()
        .await
        .unwrap();

    assert_eq!(without.status(), 401);
    let refusal: Value = without.json().await.unwrap();
    assert_eq!(refusal["unauthorized"]["code"], 401, "in Nova's format");
    assert_eq!(attributes.status(), 401);
    assert_eq!(with.status(), 201);
}

#[tokio::test]
async fn a_behaviour_with_a_garbage_code_or_message_is_400_and_registers_nothing() {
    let app = spawn_app().await;
    for parameters in [
        json!({"code": "500"}),
        json!({"code": -1}),
        json!({"code": 1e30}),
        json!({"code": 500, "message": 42}),
    ] {
        let body = json!({"criteria": [{"server_name": "garbage.*"}], "name": "fail",
                          "parameters": parameters});

        let res = control(&app, "ORD", "behaviors/creation", &body).await;

        assert_eq!(res.status(), 400, "{parameters}");
    }
    assert_eq!(
        create(&app, "garbage-1").await.status(),
        202,
        "nothing was registered"
    );
}
