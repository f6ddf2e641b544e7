use std::collections::HashSet;

use serde_json::{json, Value};

use crate::helpers::{assert_error, spawn_app, spawn_app_with, FLAVOR, TENANT};

fn names(v: &Value) -> Vec<String> {
    let mut n: Vec<String> = v["servers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_string())
        .collect();
    n.sort();
    n
}

#[tokio::test]
async fn the_brief_list_has_id_name_and_links_only() {
    let app = spawn_app().await;
    let id = app.create_server("a").await;
    let v = app.get_json("servers").await;
    assert_eq!(
        v,
        json!({"servers": [{"id": id, "name": "a", "links": [
            {"href": format!("{}/v2/{TENANT}/servers/{id}", app.address), "rel": "self"},
            {"href": format!("{}/{TENANT}/servers/{id}", app.address), "rel": "bookmark"}]}]})
    );
}

#[tokio::test]
async fn name_filters_are_unanchored_regular_expressions() {
    let app = spawn_app().await;
    for n in ["bob", "bobbin", "alice", "web-01", "web-02"] {
        app.create_server(n).await;
    }
    assert_eq!(
        names(&app.get_json("servers?name=bob").await),
        ["bob", "bobbin"]
    );
    assert_eq!(
        names(
            &app.get_json("servers/detail?name=%5Eweb-0%5B12%5D%24")
                .await
        ),
        ["web-01", "web-02"]
    );
    assert_eq!(names(&app.get_json("servers?name=lic").await), ["alice"]);
    assert_eq!(
        names(&app.get_json("servers?name=%28").await),
        Vec::<String>::new(),
        "a bad regex matches literally"
    );
}

#[tokio::test]
async fn status_image_and_flavor_filters_select_exactly() {
    let app = spawn_app().await;
    let image = app.ubuntu().await;
    let a = app.create_server("a").await;
    app.create_with(&json!({"server": {"name": "b", "imageRef": image, "flavorRef": "3"}}))
        .await;
    let res = app
        .client
        .post(app.mimic_url("ORD", TENANT, "attributes"))
        .body(json!({"status": {a.clone(): "ERROR"}}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    assert_eq!(
        names(&app.get_json("servers/detail?status=error").await),
        ["a"]
    );
    assert_eq!(
        names(&app.get_json("servers/detail?status=ACTIVE").await),
        ["b"]
    );
    assert_eq!(
        names(&app.get_json("servers/detail?status=BOGUS").await),
        Vec::<String>::new()
    );
    assert_eq!(names(&app.get_json("servers/detail?flavor=3").await), ["b"]);
    assert_eq!(
        names(&app.get_json(&format!("servers?flavor={FLAVOR}")).await),
        ["a"]
    );
    assert_eq!(
        names(&app.get_json(&format!("servers?image={image}")).await),
        ["a", "b"]
    );
    assert_eq!(
        names(&app.get_json("servers?flavor=nope&foo=bar").await),
        Vec::<String>::new()
    );
    let res = app.get("servers?status=DELETED").await;
    assert_error(
        res,
        403,
        "forbidden",
        "Only administrators may list deleted instances",
    )
    .await;
}

#[tokio::test]
async fn changes_since_lists_deleted_servers_that_other_lists_hide() {
    let app = spawn_app().await;
    let keep = app.create_server("keep").await;
    let gone = app.create_server("gone").await;
    assert_eq!(app.delete(&format!("servers/{gone}")).await.status(), 204);
    let plain = app.get_json("servers/detail").await;
    assert_eq!(names(&plain), ["keep"]);
    let since = app
        .get_json("servers/detail?changes-since=2000-01-01T00:00:00Z")
        .await;
    assert_eq!(names(&since), ["gone", "keep"]);
    let deleted = since["servers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == gone.as_str())
        .unwrap();
    assert_eq!(deleted["status"], "DELETED");
    app.advance(60.0).await;
    let now = chrono::Utc::now() + chrono::Duration::seconds(30);
    let later = app
        .get_json(&format!(
            "servers/detail?changes-since={}",
            now.format("%Y-%m-%dT%H:%M:%SZ")
        ))
        .await;
    assert_eq!(
        names(&later),
        Vec::<String>::new(),
        "nothing changed since then"
    );
    let offset = app
        .get_json("servers/detail?changes-since=2000-01-01T00:00:00+00:00")
        .await;
    assert_eq!(
        names(&offset),
        ["gone", "keep"],
        "an unencoded + offset is read"
    );
    let res = app.get("servers/detail?changes-since=yesterday").await;
    assert_error(res, 400, "badRequest", "Invalid changes-since value").await;
    let _ = keep;
}

#[tokio::test]
async fn following_next_links_reaches_every_server_once_and_never_repeats_a_link() {
    let app = spawn_app().await;
    let mut created = HashSet::new();
    for n in 0..23 {
        created.insert(app.create_server(&format!("web-{n:02}")).await);
    }
    app.create_server("other").await;
    let mut seen = HashSet::new();
    let mut links = HashSet::new();
    let mut url = app.url("servers/detail?limit=5&name=web");
    loop {
        let res = app.get_url(&url).await;
        assert_eq!(res.status(), 200);
        let v: Value = res.json().await.unwrap();
        for s in v["servers"].as_array().unwrap() {
            assert!(
                seen.insert(s["id"].as_str().unwrap().to_string()),
                "no server twice"
            );
        }
        let Some(next) = v.get("servers_links") else {
            break;
        };
        assert_eq!(next[0]["rel"], "next");
        let href = next[0]["href"].as_str().unwrap().to_string();
        assert!(href.starts_with(&app.url("servers/detail?")), "{href}");
        assert!(
            href.contains("limit=5") && href.contains("name=web") && href.contains("marker="),
            "{href}"
        );
        assert!(links.insert(href.clone()), "a next link repeated: {href}");
        // otter re-sends only the query part to its own URL.
        url = app.url(&format!(
            "servers/detail?{}",
            href.split_once('?').unwrap().1
        ));
    }
    assert_eq!(seen, created);
}

#[tokio::test]
async fn a_full_page_without_limit_gets_a_next_link_carrying_the_limit() {
    let app = spawn_app_with(|s| s.compute.max_page_size = 3).await;
    for n in 0..3 {
        app.create_server(&format!("s{n}")).await;
    }
    let v = app.get_json("servers").await;
    let href = v["servers_links"][0]["href"].as_str().unwrap();
    assert!(href.contains("limit=3&marker="), "{href}");
    let v = app.get_url(href).await.json::<Value>().await.unwrap();
    assert_eq!(v["servers"], json!([]));
    assert!(v.get("servers_links").is_none());
}

#[tokio::test]
async fn bad_limits_and_unknown_markers_are_400() {
    let app = spawn_app().await;
    let res = app.get("servers?limit=abc").await;
    assert_error(res, 400, "badRequest", "limit param must be an integer").await;
    let res = app.get("servers/detail?limit=-1").await;
    assert_error(res, 400, "badRequest", "limit param must be positive").await;
    let res = app.get("servers?marker=X").await;
    assert_error(res, 400, "badRequest", "marker [X] not found").await;
}
