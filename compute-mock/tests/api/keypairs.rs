use serde_json::{json, Value};

use crate::helpers::{assert_error, spawn_app, TENANT};

#[tokio::test]
async fn a_generated_keypair_has_a_private_key_and_can_be_listed_read_and_deleted() {
    let app = spawn_app().await;
    let res = app
        .post("os-keypairs", &json!({"keypair": {"name": "kp1"}}))
        .await;
    assert_eq!(res.status(), 200);
    let v: Value = res.json().await.unwrap();
    let kp = &v["keypair"];
    assert!(kp["public_key"].as_str().unwrap().starts_with("ssh-rsa "));
    assert!(kp["private_key"]
        .as_str()
        .unwrap()
        .starts_with("-----BEGIN RSA PRIVATE KEY-----"));
    assert_eq!(kp["fingerprint"].as_str().unwrap().split(':').count(), 16);
    assert_eq!(kp["user_id"], format!("user-{TENANT}"));
    let list = app.get_json("os-keypairs").await;
    assert_eq!(list["keypairs"][0]["keypair"]["name"], "kp1");
    assert!(list["keypairs"][0]["keypair"].get("private_key").is_none());
    let one = app.get_json("os-keypairs/kp1").await;
    assert_eq!(one["keypair"]["public_key"], kp["public_key"]);
    let res = app
        .post("os-keypairs", &json!({"keypair": {"name": "kp1"}}))
        .await;
    assert_error(
        res,
        409,
        "conflictingRequest",
        "Key pair 'kp1' already exists.",
    )
    .await;
    let id = app
        .create_with(&json!({"server": {"name": "k", "imageRef": app.ubuntu().await, "flavorRef": "2", "key_name": "kp1"}}))
        .await;
    assert_eq!(app.server(&id).await["key_name"], "kp1");
    let res = app.delete("os-keypairs/kp1").await;
    assert_eq!(res.status(), 202);
    let res = app.get("os-keypairs/kp1").await;
    assert_error(
        res,
        404,
        "itemNotFound",
        &format!("Keypair kp1 not found for user user-{TENANT}"),
    )
    .await;
}

#[tokio::test]
async fn an_imported_keypair_has_no_private_key() {
    let app = spawn_app().await;
    let key = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC0 me@host";
    let res = app
        .post(
            "os-keypairs",
            &json!({"keypair": {"name": "imp", "public_key": key}}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["keypair"]["public_key"], key);
    assert!(v["keypair"].get("private_key").is_none());
    let res = app
        .post(
            "os-keypairs",
            &json!({"keypair": {"name": "bad", "public_key": "junk"}}),
        )
        .await;
    assert_error(
        res,
        400,
        "badRequest",
        "Keypair data is invalid: failed to generate fingerprint",
    )
    .await;
}

#[tokio::test]
async fn keypair_names_and_bodies_are_checked() {
    let app = spawn_app().await;
    let res = app.post("os-keypairs", &json!({"nope": {}})).await;
    assert_error(res, 400, "badRequest", "Invalid request body").await;
    let res = app
        .post("os-keypairs", &json!({"keypair": {"name": "a/b"}}))
        .await;
    assert_error(
        res,
        400,
        "badRequest",
        "Keypair data is invalid: Keypair name contains unsafe characters",
    )
    .await;
}

#[tokio::test]
async fn a_keypair_type_other_than_ssh_or_x509_is_400_and_creates_nothing() {
    let app = spawn_app().await;

    let res = app
        .post(
            "os-keypairs",
            &json!({"keypair": {"name": "k1", "type": "rsa"}}),
        )
        .await;

    assert_error(
        res,
        400,
        "badRequest",
        "Invalid input for field/attribute type. Value: \"rsa\". \"rsa\" is not one of ['ssh', 'x509']",
    )
    .await;
    let list = app.get_json("os-keypairs").await;
    assert_eq!(list["keypairs"].as_array().unwrap().len(), 0);
    let ok = app
        .post(
            "os-keypairs",
            &json!({"keypair": {"name": "k2", "type": "x509"}}),
        )
        .await;
    assert_eq!(ok.status(), 200);
}
