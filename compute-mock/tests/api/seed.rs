//! `compute-mock --seed FILE`: a mock alone takes its part of a seed before it binds.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::helpers::spawn_app;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn seed_file(text: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!(
        "compute-seed-{}.toml",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::write(&path, text).unwrap();
    path
}

#[tokio::test]
async fn a_mock_alone_starts_with_its_part_of_a_seed() {
    let app = spawn_app().await;
    let images: Value = app.get("images").await.json().await.unwrap();
    let image = images["images"][0]["id"].as_str().unwrap().to_string();
    let seed = seed_file(&format!(
        "[[servers]]\ntenant = \"77\"\nstatus = \"SHUTOFF\"\nserver = {{ name = \"seeded\", imageRef = \"{image}\", flavorRef = \"2\" }}\n\n\
         [[balancers]]\ntenant = \"77\"\nloadBalancer = {{ name = \"not-mine\" }}\n"
    ));
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_compute-mock"))
        .arg("--seed")
        .arg(&seed)
        .env("UNDERSTUDY__SERVER__PORT", port.to_string())
        .env("UNDERSTUDY__AUTH__MODE", "open")
        .env("UNDERSTUDY__CATALOG__IDENTITY_URL", "")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}/v2/77/servers/detail");
    let deadline = Instant::now() + Duration::from_secs(20);
    let body: Value = loop {
        match reqwest::Client::new()
            .get(&url)
            .header("x-auth-token", "t")
            .send()
            .await
        {
            Ok(r) => break r.json().await.unwrap(),
            Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await
            }
            Err(e) => panic!("{e}"),
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(body["servers"][0]["name"], "seeded");
    assert_eq!(body["servers"][0]["status"], "SHUTOFF");

    let bad = seed_file("[[keypairs]]\ntenant = \"77\"\nkeypair = { name = \"bad name!\" }\n");
    let out = Command::new(env!("CARGO_BIN_EXE_compute-mock"))
        .arg("--seed")
        .arg(&bad)
        .env("UNDERSTUDY__SERVER__PORT", free_port().to_string())
        .env("UNDERSTUDY__AUTH__MODE", "open")
        .env("UNDERSTUDY__CATALOG__IDENTITY_URL", "")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("keypairs[0]: 400"), "{stderr}");
}
