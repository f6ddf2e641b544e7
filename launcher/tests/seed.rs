//! `understudy --seed FILE`: the stack starts with fixtures written in the APIs' own
//! create shapes; a bad seed stops it before it binds, naming the entry and the field.
#![allow(clippy::unwrap_used)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

mod support;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Launched {
    child: Child,
    identity: String,
    compute: String,
    lb: String,
    /// Where the child's standard error goes (shown when it does not come up).
    stderr: std::path::PathBuf,
}

impl Drop for Launched {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.stderr);
    }
}

fn launch(seed: &std::path::Path, env: &[(&str, &str)]) -> Launched {
    let ports = [free_port(), free_port(), free_port()];
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_understudy"));
    cmd.args([
        "--identity-port",
        &ports[0].to_string(),
        "--compute-port",
        &ports[1].to_string(),
        "--lb-port",
        &ports[2].to_string(),
        "--seed",
    ])
    .arg(seed)
    .env("UNDERSTUDY__AUTH__MODE", "open")
    .stdout(Stdio::null());
    let stderr = tempfile("", "stderr");
    cmd.stderr(std::fs::File::create(&stderr).unwrap());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let url = |p: u16| format!("http://127.0.0.1:{p}");
    Launched {
        child: cmd.spawn().unwrap(),
        identity: url(ports[0]),
        compute: url(ports[1]),
        lb: url(ports[2]),
        stderr,
    }
}

/// A stack launched with `seed` and up: launched again on other ports when one of its
/// ports was taken between `free_port` and the bind (the child exits), and its standard
/// error shown when it does not come up.
fn launch_up(seed: &std::path::Path) -> Launched {
    for _ in 0..3 {
        let mut s = launch(seed, &[]);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let up = [&s.identity, &s.compute, &s.lb].iter().all(|u| {
                let port: u16 = u.rsplit(':').next().unwrap().parse().unwrap();
                std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
            });
            if up {
                return s;
            }
            if s.child.try_wait().unwrap().is_some() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the seeded stack did not come up: {}",
                std::fs::read_to_string(&s.stderr).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        eprintln!(
            "the seeded stack exited before it was up; again on other ports: {}",
            std::fs::read_to_string(&s.stderr).unwrap_or_default()
        );
    }
    panic!("the seeded stack exited three times before it was up")
}

async fn get(url: &str) -> Value {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match client.get(url).header("x-auth-token", "any").send().await {
            Ok(r) => return r.json().await.unwrap(),
            Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("{url}: {e}"),
        }
    }
}

/// An image id of the defaults (ids are stable: derived from the image's name), read from
/// a stack in this process on port 0 (no port to race for).
async fn an_image() -> String {
    let stack = support::spawn_stack().await;
    let token = stack.token("1").await;
    stack.an_image("1", &token).await
}

fn tempfile(text: &str, ext: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!(
        "understudy-seed-{}.{ext}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::write(&path, text).unwrap();
    path
}

#[tokio::test]
async fn a_seeded_stack_starts_with_its_fixtures() {
    let image = an_image().await;
    let seed = tempfile(
        &format!(
            r#"
[[users]]
username = "alice"
password = "s3cret"
tenant_id = "900"

[[servers]]
tenant = "900"
status = "ERROR"
age_s = 7200
server = {{ name = "old-broken", imageRef = "{image}", flavorRef = "2", metadata = {{ role = "db" }} }}

[[servers]]
tenant = "900"
server = {{ name = "fresh", imageRef = "{image}", flavorRef = "2" }}

[[keypairs]]
tenant = "900"
keypair = {{ name = "ops" }}

[[balancers]]
tenant = "900"
status = "ERROR"
loadBalancer = {{ name = "web", protocol = "HTTP", port = 80, virtualIps = [{{ type = "PUBLIC" }}], nodes = [{{ address = "10.0.0.1", port = 80, condition = "ENABLED" }}] }}

[[faults]]
id = "one-bad-flavor-list"
match = {{ service = "compute", method = "GET", path = "/v2/*/flavors" }}
action = {{ type = "error", status = 503 }}
budget = {{ times = 1 }}

[[behaviors]]
service = "compute"
event = "creation"
tenant = "900"
behavior = {{ name = "fail", parameters = {{ code = 500, message = "no room" }}, criteria = [{{ server_name = "doomed.*" }}] }}
"#
        ),
        "toml",
    );
    let s = launch_up(&seed);
    let servers = get(&format!("{}/v2/900/servers/detail", s.compute)).await;
    let by_name = |n: &str| {
        servers["servers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["name"] == n)
            .cloned()
            .unwrap()
    };
    assert_eq!(by_name("old-broken")["status"], "ERROR");
    assert_eq!(by_name("old-broken")["metadata"]["role"], "db");
    assert_eq!(by_name("fresh")["status"], "ACTIVE");
    let created = |n: &str| {
        chrono::DateTime::parse_from_rfc3339(by_name(n)["created"].as_str().unwrap()).unwrap()
    };
    let age = created("fresh") - created("old-broken");
    assert!(
        (7190..=7210).contains(&age.num_seconds()),
        "aged by two hours: {age}"
    );
    let keypairs = get(&format!("{}/v2/900/os-keypairs", s.compute)).await;
    assert_eq!(keypairs["keypairs"][0]["keypair"]["name"], "ops");
    let balancers = get(&format!("{}/v1.0/900/loadbalancers", s.lb)).await;
    assert_eq!(balancers["loadBalancers"][0]["name"], "web");
    assert_eq!(balancers["loadBalancers"][0]["status"], "ERROR");
    let rules = get(&format!("{}/_understudy/v1/faults", s.compute)).await;
    assert_eq!(rules["faults"][0]["id"], "one-bad-flavor-list");
    // The seed's own requests are not in the journal: it starts empty.
    let journal = get(&format!(
        "{}/_understudy/v1/journal?scope=stack",
        s.identity
    ))
    .await;
    let paths: Vec<&str> = journal["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert!(
        !paths
            .iter()
            .any(|p| p.ends_with("/servers") || p.contains("/mimic/")),
        "{paths:?}"
    );
    // The behaviour is registered: a matching create fails as it says.
    let res = reqwest::Client::new()
        .post(format!("{}/v2/900/servers", s.compute))
        .header("x-auth-token", "any")
        .json(&serde_json::json!({"server": {"name": "doomed-1", "imageRef": image, "flavorRef": "2"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 500);
}

#[tokio::test]
async fn a_bad_seed_stops_the_stack_before_it_binds_naming_the_entry_and_field() {
    let image = an_image().await;
    for (text, ext, expected) in [
        (
            "[[servers]]\nserver = { name = \"x\" }\n".to_string(),
            "toml",
            "servers[0]: missing field `tenant`",
        ),
        (
            format!("[[servers]]\ntenant = \"1\"\nserver = {{ name = \"x\", imageRef = \"{image}\", flavorRef = \"nope\" }}\n"),
            "toml",
            "servers[0]: 400",
        ),
        (
            r#"{"balancers": [{"tenant": "1", "loadBalancer": {"name": "x", "protocol": "HTTP", "port": 80}}]}"#.to_string(),
            "json",
            "balancers[0]: 400",
        ),
        (
            "[[faults]]\naction = { type = \"explode\" }\n".to_string(),
            "toml",
            "faults[0]:",
        ),
        ("[[planets]]\nname = \"x\"\n".to_string(), "toml", "planets"),
        ("not = [toml".to_string(), "toml", "not TOML"),
    ] {
        let seed = tempfile(&text, ext);
        let mut s = launch(&seed, &[]);
        let out = s.child.wait().unwrap();
        assert_eq!(out.code(), Some(2), "{text}");
        // Nothing was bound: the ports are still free.
        for url in [&s.identity, &s.compute, &s.lb] {
            let port: u16 = url.rsplit(':').next().unwrap().parse().unwrap();
            assert!(
                std::net::TcpListener::bind(("127.0.0.1", port)).is_ok(),
                "{text}: port {port} was bound"
            );
        }
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_understudy"));
        let output = cmd
            .args(["--identity-port", "0", "--compute-port", "0", "--lb-port", "0", "--seed"])
            .arg(&seed)
            .env("UNDERSTUDY__AUTH__MODE", "open")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(expected), "{text}: {stderr}");
        assert!(stderr.contains(&seed.display().to_string()), "{stderr}");
    }
}
