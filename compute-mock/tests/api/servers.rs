use std::net::Ipv4Addr;

use serde_json::{json, Value};

use crate::helpers::{assert_error, mint, spawn_app, spawn_app_with, FLAVOR, TENANT};

#[tokio::test]
async fn create_server_returns_202_with_id_links_password_and_location() {
    let app = spawn_app().await;
    let body = app.server_body("web-1").await;
    let res = app.post("servers", &body).await;
    assert_eq!(res.status(), 202);
    assert_eq!(res.headers()["content-type"], "application/json");
    let location = res.headers()["location"].to_str().unwrap().to_string();
    let v: Value = res.json().await.unwrap();
    let s = &v["server"];
    let id = s["id"].as_str().unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok(), "id is a UUID");
    assert_eq!(s["adminPass"].as_str().unwrap().len(), 12);
    assert_eq!(s["OS-DCF:diskConfig"], "AUTO");
    let self_link = format!("{}/v2/{TENANT}/servers/{id}", app.address);
    assert_eq!(s["links"][0], json!({"href": self_link, "rel": "self"}));
    assert_eq!(
        s["links"][1],
        json!({"href": format!("{}/{TENANT}/servers/{id}", app.address), "rel": "bookmark"})
    );
    assert_eq!(location, self_link);
}

#[tokio::test]
async fn a_server_shows_every_field_clients_read() {
    let app = spawn_app().await;
    let image = app.ubuntu().await;
    let id = app
        .create_with(
            &json!({"server": {"name": "db", "imageRef": image, "flavorRef": FLAVOR,
            "metadata": {"role": "db"}, "OS-DCF:diskConfig": "MANUAL"}}),
        )
        .await;
    let s = app.server(&id).await;
    for field in [
        "id",
        "name",
        "status",
        "tenant_id",
        "user_id",
        "created",
        "updated",
        "hostId",
        "addresses",
        "accessIPv4",
        "accessIPv6",
        "flavor",
        "image",
        "key_name",
        "metadata",
        "links",
        "progress",
        "OS-EXT-STS:vm_state",
        "OS-EXT-STS:task_state",
        "OS-EXT-STS:power_state",
        "OS-DCF:diskConfig",
    ] {
        assert!(s.get(field).is_some(), "field {field} is present");
    }
    assert_eq!(s["status"], "ACTIVE");
    assert_eq!(s["OS-EXT-STS:vm_state"], "active");
    assert_eq!(s["OS-EXT-STS:task_state"], Value::Null);
    assert_eq!(s["OS-EXT-STS:power_state"], 1);
    assert_eq!(s["progress"], 100);
    assert_eq!(s["tenant_id"], TENANT);
    assert_eq!(s["user_id"], format!("user-{TENANT}"));
    assert_eq!(s["OS-DCF:diskConfig"], "MANUAL");
    assert_eq!(s["metadata"], json!({"role": "db"}));
    assert_eq!(s["flavor"]["id"], FLAVOR);
    assert_eq!(
        s["flavor"]["links"][0]["href"],
        format!("{}/{TENANT}/flavors/{FLAVOR}", app.address)
    );
    assert_eq!(s["image"]["id"], image.as_str());
    assert_eq!(
        s["image"]["links"][0]["href"],
        format!("{}/{TENANT}/images/{image}", app.address)
    );
    assert_eq!(s["hostId"].as_str().unwrap().len(), 56);
    let created = s["created"].as_str().unwrap();
    assert!(
        created.ends_with('Z') && !created.contains('.'),
        "{created}"
    );
    assert!(chrono::DateTime::parse_from_rfc3339(created).is_ok());
    let private: Ipv4Addr = s["addresses"]["private"][0]["addr"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(private.octets()[0], 10);
    assert_eq!(s["addresses"]["private"][0]["version"], 4);
    let public: Ipv4Addr = s["addresses"]["public"][0]["addr"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(!public.is_private(), "{public} is public");
    assert_eq!(s["addresses"]["public"][1]["version"], 6);
}

#[tokio::test]
async fn links_follow_the_host_and_region_the_client_used() {
    let app = spawn_app().await;
    let image = app.ubuntu().await;
    let res = app
        .client
        .post(app.region_url("DFW", TENANT, "servers"))
        .header("X-Auth-Token", &app.token)
        .header("Host", "compute.example.test:8774")
        .json(&json!({"server": {"name": "x", "imageRef": image, "flavorRef": FLAVOR}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    let v: Value = res.json().await.unwrap();
    let id = v["server"]["id"].as_str().unwrap();
    assert_eq!(
        v["server"]["links"][0]["href"],
        format!("http://compute.example.test:8774/DFW/v2/{TENANT}/servers/{id}")
    );
    assert_eq!(
        v["server"]["links"][1]["href"],
        format!("http://compute.example.test:8774/DFW/{TENANT}/servers/{id}")
    );
}

#[tokio::test]
async fn create_server_refuses_bad_bodies_with_novas_texts() {
    let app = spawn_app().await;
    let image = app.ubuntu().await;
    let ok = |extra: Value| {
        let mut s = json!({"name": "n", "imageRef": image, "flavorRef": FLAVOR});
        for (k, v) in extra.as_object().unwrap() {
            if v.is_null() {
                s.as_object_mut().unwrap().remove(k);
            } else {
                s[k] = v.clone();
            }
        }
        json!({ "server": s })
    };
    let cases: Vec<(Value, u16, &str, &str)> = vec![
        (
            ok(json!({"OS-DCF:diskConfig": "SOMETIMES"})),
            400,
            "badRequest",
            "OS-DCF:diskConfig must be either 'MANUAL' or 'AUTO'.",
        ),
        (
            json!({"nothing": {}}),
            422,
            "computeFault",
            "Unable to process the contained instructions",
        ),
        (
            ok(json!({"adminPass": 5})),
            400,
            "badRequest",
            "Invalid adminPass",
        ),
        (
            ok(json!({"name": null})),
            400,
            "badRequest",
            "Server name is not defined",
        ),
        (
            ok(json!({"name": "   "})),
            400,
            "badRequest",
            "Server name has a minimum character requirement of 1.",
        ),
        (
            ok(json!({"name": "x".repeat(256)})),
            400,
            "badRequest",
            "Server name has more than 255 characters.",
        ),
        (
            ok(json!({"imageRef": null})),
            400,
            "badRequest",
            "Missing imageRef attribute",
        ),
        (
            ok(json!({"imageRef": "not-a-uuid"})),
            400,
            "badRequest",
            "Invalid imageRef provided.",
        ),
        (
            ok(json!({"networks": "public"})),
            400,
            "badRequest",
            "Bad networks format",
        ),
        (
            ok(json!({"personality": [{"contents": "aGk="}]})),
            400,
            "badRequest",
            "Bad personality format: missing 'path'",
        ),
        (
            ok(json!({"personality": "x"})),
            400,
            "badRequest",
            "Bad personality format",
        ),
        (
            ok(json!({"networks": [{"uuid": "nope"}]})),
            400,
            "badRequest",
            "Bad networks format: network uuid is not in proper format (nope)",
        ),
        (
            ok(
                json!({"networks": [{"uuid": "00000000-0000-0000-0000-000000000000"}, {"uuid": "00000000-0000-0000-0000-000000000000"}]}),
            ),
            400,
            "badRequest",
            "Duplicate networks (00000000-0000-0000-0000-000000000000) are not allowed",
        ),
        (
            ok(json!({"accessIPv6": "zz::zz::"})),
            400,
            "badRequest",
            "accessIPv6 is not proper IPv6 format",
        ),
        (
            ok(json!({"min_count": "many"})),
            400,
            "badRequest",
            "Invalid input received: min_count must be an integer",
        ),
        (
            ok(json!({"max_count": 0})),
            400,
            "badRequest",
            "Invalid input received: max_count must be >= 1",
        ),
        (
            ok(json!({"accessIPv4": "1.2.3"})),
            400,
            "badRequest",
            "accessIPv4 is not proper IPv4 format",
        ),
        (
            ok(json!({"flavorRef": null})),
            400,
            "badRequest",
            "Missing flavorRef attribute",
        ),
        (
            ok(json!({"flavorRef": "nope"})),
            400,
            "badRequest",
            "Invalid flavorRef provided.",
        ),
        (
            ok(json!({"imageRef": "00000000-0000-0000-0000-000000000001"})),
            400,
            "badRequest",
            "Can not find requested image",
        ),
        (
            ok(json!({"metadata": ["a"]})),
            400,
            "badRequest",
            "Invalid metadata: Metadata type should be dict.",
        ),
        (
            ok(json!({"metadata": {"a": 1}})),
            400,
            "badRequest",
            "Invalid metadata: The input is not a string or unicode",
        ),
        (
            ok(json!({"metadata": {"k": "v".repeat(256)}})),
            413,
            "overLimit",
            "Invalid metadata size: Metadata property value greater than 255 characters",
        ),
        (
            ok(json!({"key_name": "missing"})),
            400,
            "badRequest",
            "Invalid key_name provided.",
        ),
    ];
    for (body, code, kind, message) in cases {
        let res = app.post("servers", &body).await;
        assert_error(res, code, kind, message).await;
    }
    let too_many: serde_json::Map<String, Value> =
        (0..41).map(|n| (format!("k{n}"), json!("v"))).collect();
    let res = app
        .post("servers", &ok(json!({ "metadata": too_many })))
        .await;
    assert_eq!(res.headers()["retry-after"], "0");
    assert_error(
        res,
        403,
        "forbidden",
        "Maximum number of metadata items exceeds 40",
    )
    .await;
    let res = app
        .client
        .post(app.url("servers"))
        .header("X-Auth-Token", &app.token)
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_error(res, 400, "badRequest", "Malformed request body").await;
    let listed = app.get_json("servers").await;
    assert_eq!(
        listed["servers"],
        json!([]),
        "no refused create made a server"
    );
}

#[tokio::test]
async fn create_server_accepts_hrefs_nulls_and_novaclients_extra_fields() {
    let app = spawn_app().await;
    let image = app.ubuntu().await;
    let res = app
        .post(
            "servers",
            &json!({"server": {"name": "n", "imageRef": format!("{}/v2/{TENANT}/images/{image}", app.address),
                "flavorRef": format!("http://x/{TENANT}/flavors/{FLAVOR}"), "min_count": 1, "max_count": 1,
                "metadata": null, "key_name": null, "personality": [], "config_drive": true,
                "networks": [{"uuid": "00000000-0000-0000-0000-000000000000"},
                             {"uuid": "11111111-1111-1111-1111-111111111111"}],
                "unknown_extension": {"x": 1}}}),
        )
        .await;
    assert_eq!(res.status(), 202);
}

#[tokio::test]
async fn get_server_of_an_unknown_id_is_instance_not_found() {
    let app = spawn_app().await;
    let res = app.get("servers/abc").await;
    assert_error(res, 404, "itemNotFound", "Instance abc could not be found.").await;
}

#[tokio::test]
async fn delete_server_answers_204_then_the_server_is_gone() {
    let app = spawn_app().await;
    let id = app.create_server("gone").await;
    let res = app.delete(&format!("servers/{id}")).await;
    assert_eq!(res.status(), 204);
    assert_eq!(res.text().await.unwrap(), "");
    let res = app.get(&format!("servers/{id}")).await;
    assert_error(
        res,
        404,
        "itemNotFound",
        &format!("Instance {id} could not be found."),
    )
    .await;
    let res = app.delete(&format!("servers/{id}")).await;
    assert_eq!(res.status(), 404);
    let listed = app.get_json("servers/detail").await;
    assert_eq!(listed["servers"], json!([]));
}

#[tokio::test]
async fn update_server_renames_and_sets_access_ips() {
    let app = spawn_app().await;
    let id = app.create_server("old").await;
    let res = app
        .put(
            &format!("servers/{id}"),
            &json!({"server": {"name": "new", "accessIPv4": "1.2.3.4"}}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["server"]["name"], "new");
    assert_eq!(v["server"]["accessIPv4"], "1.2.3.4");
    let res = app
        .put(
            &format!("servers/{id}"),
            &json!({"server": {"hostId": "x"}}),
        )
        .await;
    assert_error(res, 400, "badRequest", "HostId cannot be updated.").await;
}

#[tokio::test]
async fn ips_list_every_network_and_one_network_by_label() {
    let app = spawn_app().await;
    let id = app.create_server("net").await;
    let all = app.get_json(&format!("servers/{id}/ips")).await;
    assert_eq!(all["addresses"]["private"][0]["version"], 4);
    assert_eq!(all["addresses"]["public"].as_array().unwrap().len(), 2);
    let public = app.get_json(&format!("servers/{id}/ips/public")).await;
    assert_eq!(public["public"], all["addresses"]["public"]);
    let res = app.get(&format!("servers/{id}/ips/nowhere")).await;
    assert_error(
        res,
        404,
        "itemNotFound",
        "Instance is not a member of specified network",
    )
    .await;
    let res = app.get("servers/nope/ips").await;
    assert_error(
        res,
        404,
        "itemNotFound",
        "Instance nope could not be found.",
    )
    .await;
}

#[tokio::test]
async fn tenants_never_see_each_others_servers() {
    let app = spawn_app().await;
    let id = app.create_server("mine").await;
    let other = mint(&app.codec, "777");
    let res = app
        .client
        .get(format!("{}/v2/777/servers/{id}", app.address))
        .header("X-Auth-Token", &other)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let res = app
        .client
        .get(format!("{}/v2/777/servers/detail", app.address))
        .header("X-Auth-Token", &other)
        .send()
        .await
        .unwrap();
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["servers"], json!([]));
}

#[tokio::test]
async fn each_region_keeps_its_own_servers_and_the_default_is_ord() {
    let app = spawn_app().await;
    let id = app.create_server("in-ord").await;
    let ord = app
        .get_url(&app.region_url("ORD", TENANT, &format!("servers/{id}")))
        .await;
    assert_eq!(ord.status(), 200, "the unprefixed routes are ORD");
    let dfw = app
        .get_url(&app.region_url("DFW", TENANT, &format!("servers/{id}")))
        .await;
    assert_eq!(dfw.status(), 404);
}

#[tokio::test]
async fn the_default_region_comes_from_settings() {
    let app = spawn_app_with(|s| s.compute.default_region = "LON".into()).await;
    let id = app.create_server("in-lon").await;
    let lon = app
        .get_url(&app.region_url("LON", TENANT, &format!("servers/{id}")))
        .await;
    assert_eq!(lon.status(), 200);
}

#[tokio::test]
async fn addresses_are_unique_within_a_tenant_and_region() {
    let app = spawn_app().await;
    let mut seen = std::collections::HashSet::new();
    for n in 0..20 {
        let id = app.create_server(&format!("s{n}")).await;
        let s = app.server(&id).await;
        assert!(seen.insert(s["addresses"]["private"][0]["addr"].to_string()));
        assert!(seen.insert(s["addresses"]["public"][0]["addr"].to_string()));
        assert!(seen.insert(s["addresses"]["public"][1]["addr"].to_string()));
    }
}

#[tokio::test]
async fn max_count_makes_numbered_servers_and_counts_them_all_against_the_quota() {
    let app = spawn_app_with(|s| s.compute.quota.instances = 3).await;
    let image = app.ubuntu().await;
    let res = app
        .post("servers", &json!({"server": {"name": "many", "imageRef": image, "flavorRef": FLAVOR, "min_count": 3, "max_count": 3}}))
        .await;
    assert_eq!(res.status(), 202);
    let v = app.get_json("servers").await;
    let mut names: Vec<_> = v["servers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    assert_eq!(names, ["many-1", "many-2", "many-3"]);
    let res = app
        .post(
            "servers",
            &json!({"server": {"name": "one", "imageRef": image, "flavorRef": FLAVOR}}),
        )
        .await;
    assert_error(
        res,
        403,
        "forbidden",
        "Quota exceeded for instances: Requested 1, but already used 3 of 3 instances",
    )
    .await;
    let res = app
        .post("servers", &json!({"server": {"name": "x", "imageRef": image, "flavorRef": FLAVOR, "min_count": 2, "max_count": 1}}))
        .await;
    assert_error(
        res,
        400,
        "badRequest",
        "Invalid input received: min_count must be <= max_count",
    )
    .await;
}

/// Answers are rendered once and remembered; what is remembered must never outlive a
/// change of the server, of its status on the clock, or of the host the client used.
#[tokio::test]
async fn a_remembered_rendering_never_shows_a_stale_server() {
    let app = spawn_app_with(|s| s.compute.build_time_ms = 10_000).await;
    let id = app.create_server("fresh").await;
    let detail = |v: Value| {
        v["servers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == id.as_str())
            .unwrap()
            .clone()
    };
    for _ in 0..2 {
        assert_eq!(app.status(&id).await, "BUILD");
        assert_eq!(
            detail(app.get_json("servers/detail").await)["status"],
            "BUILD"
        );
    }
    app.advance(11.0).await;
    assert_eq!(app.status(&id).await, "ACTIVE");
    assert_eq!(
        detail(app.get_json("servers/detail").await)["status"],
        "ACTIVE"
    );

    let res = app
        .put(
            &format!("servers/{id}/metadata/color"),
            &json!({"meta": {"color": "blue"}}),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(app.server(&id).await["metadata"], json!({"color": "blue"}));
    assert_eq!(
        detail(app.get_json("servers/detail").await)["metadata"],
        json!({"color": "blue"})
    );
    let res = app
        .put(
            &format!("servers/{id}"),
            &json!({"server": {"name": "renamed"}}),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(app.server(&id).await["name"], "renamed");

    let elsewhere = app
        .get_json_with(&format!("servers/{id}"), &[("Host", "other.example.test")])
        .await;
    assert_eq!(
        elsewhere["server"]["links"][0]["href"],
        format!("http://other.example.test/v2/{TENANT}/servers/{id}")
    );
    assert_eq!(
        app.server(&id).await["links"][0]["href"],
        format!("{}/v2/{TENANT}/servers/{id}", app.address)
    );
}

#[tokio::test]
async fn links_follow_a_proxys_forwarded_host_and_scheme() {
    let app = spawn_app().await;
    let id = app.create_server("proxied").await;
    let v = app
        .get_json_with(
            &format!("servers/{id}"),
            &[
                ("X-Forwarded-Proto", "https"),
                ("X-Forwarded-Host", "api.example.test"),
            ],
        )
        .await;
    assert_eq!(
        v["server"]["links"][0]["href"],
        format!("https://api.example.test/v2/{TENANT}/servers/{id}")
    );
}

#[tokio::test]
async fn names_with_control_characters_and_metadata_keys_outside_novas_rule_are_400_and_change_nothing(
) {
    let app = spawn_app().await;
    let good = app.server_body("fine").await;
    let mut cases = Vec::new();
    for name in ["nul\u{0}", "bell\u{7}", "esc\u{1b}[1m", "new\nline"] {
        let mut body = good.clone();
        body["server"]["name"] = json!(name);
        cases.push((body, "Invalid input for field/attribute name."));
    }
    let mut body = good.clone();
    body["server"]["metadata"] = json!({"bad/key": "v"});
    cases.push((body, "Invalid input for field/attribute metadata."));

    for (body, text) in cases {
        let res = app.post("servers", &body).await;
        assert_eq!(res.status(), 400, "{body}");
        let refusal: Value = res.json().await.unwrap();
        assert_eq!(refusal["badRequest"]["code"], 400);
        assert!(
            refusal["badRequest"]["message"]
                .as_str()
                .unwrap()
                .starts_with(text),
            "{refusal}"
        );
    }

    let list = app.get_json("servers").await;
    assert_eq!(
        list["servers"].as_array().unwrap().len(),
        0,
        "nothing was created"
    );
}

async fn deleted_names(app: &crate::helpers::TestApp) -> Vec<String> {
    let body = app
        .get_json("servers/detail?changes-since=1970-01-01T00:00:00Z")
        .await;
    let mut names: Vec<String> = body["servers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

async fn churn(app: &crate::helpers::TestApp, name: &str) {
    let id = app.create_server(name).await;
    assert_eq!(app.delete(&format!("servers/{id}")).await.status(), 204);
}

#[tokio::test]
async fn deleted_servers_are_forgotten_after_the_window_and_beyond_the_cap() {
    let app = spawn_app_with(|s| {
        s.compute.deleted_retention_ms = 60_000;
        s.compute.max_deleted_kept = 3;
    })
    .await;

    churn(&app, "old").await;
    app.advance(61.0).await;
    churn(&app, "new").await;
    assert_eq!(
        deleted_names(&app).await,
        ["new"],
        "deleted longer than the window: forgotten"
    );

    for name in ["a", "b", "c", "d"] {
        churn(&app, name).await;
    }
    assert_eq!(
        deleted_names(&app).await,
        ["b", "c", "d"],
        "at most max_deleted_kept deleted servers are kept"
    );
}

#[tokio::test]
async fn an_overflowing_deleted_queue_forgets_its_oldest_sixteenth_at_once_and_never_keeps_more_than_the_cap(
) {
    let app = spawn_app_with(|s| s.compute.max_deleted_kept = 32).await;
    let mut counts = Vec::new();
    for i in 0..36 {
        churn(&app, &format!("s{i:02}")).await;
        counts.push(deleted_names(&app).await.len());
    }
    // Up to the cap every deleted server is listed; the 33rd deletion forgets the oldest
    // three (32 - 32/16 = 30 kept), and the queue fills again from there.
    let want: Vec<usize> = (1..=32).chain([30, 31, 32, 30]).collect();
    assert_eq!(counts, want);
    let names = deleted_names(&app).await;
    assert_eq!(names.first().map(String::as_str), Some("s06"), "{names:?}");
    assert_eq!(names.last().map(String::as_str), Some("s35"), "{names:?}");
    // A forgotten server is gone for good: 404, not listed.
    let all = app.get_json("servers/detail").await;
    assert!(all["servers"].as_array().unwrap().is_empty(), "{all}");
}

/// A trim whose store step fails forgets nothing for good: the queue keeps its entries,
/// and the next deletion that trims forgets their servers; the deletion that tried still
/// answers 204. Only on Redis can a test make a
/// server's record unreadable from outside the app; in memory it checks nothing.
#[tokio::test]
async fn a_trim_that_fails_leaves_its_servers_for_the_next_trim_to_forget() {
    let Some((app, other, scope)) =
        crate::helpers::spawn_on_shared_store(|s| s.compute.max_deleted_kept = 32).await
    else {
        return;
    };
    let mut ids = Vec::new();
    for i in 0..32 {
        let id = app.create_server(&format!("s{i:02}")).await;
        assert_eq!(app.delete(&format!("servers/{id}")).await.status(), 204);
        ids.push(id);
    }
    // The 33rd deletion trims the oldest three (s00..s02); one of their records cannot be
    // read while it does.
    let servers = other.table::<Value>("compute_servers");
    let record = servers.get(&scope, &ids[1]).await.unwrap().unwrap();
    servers
        .put(&scope, &ids[1], json!("unreadable"))
        .await
        .unwrap();
    // The deletion itself is done (204); only its trim failed.
    let id = app.create_server("s32").await;
    assert_eq!(app.delete(&format!("servers/{id}")).await.status(), 204);
    servers.put(&scope, &ids[1], record).await.unwrap();
    assert_eq!(deleted_names(&app).await.len(), 33, "nothing was forgotten");

    // The 35th deletion trims again, to 30: the three are forgotten with the next two.
    churn(&app, "s33").await;
    churn(&app, "s34").await;
    let names = deleted_names(&app).await;
    let want: Vec<String> = (5..35).map(|i| format!("s{i:02}")).collect();
    assert_eq!(names, want);
    for id in &ids[..3] {
        assert_eq!(app.get(&format!("servers/{id}")).await.status(), 404);
    }
}

/// A deletion stored is answered 204 even when giving back its quota fails afterwards
/// (a 5xx would say nothing changed). Only on Redis can a test make the usage record
/// unreadable from outside the app; in memory it checks nothing.
#[tokio::test]
async fn a_deletion_whose_quota_cannot_be_given_back_is_still_done() {
    let Some((app, other, scope)) = crate::helpers::spawn_on_shared_store(|_| {}).await else {
        return;
    };
    let id = app.create_server("doomed").await;
    let usage = other.table::<Value>("compute_usage");
    let record = usage.get(&scope, "usage").await.unwrap().unwrap();
    usage
        .put(&scope, "usage", json!("unreadable"))
        .await
        .unwrap();
    assert_eq!(app.delete(&format!("servers/{id}")).await.status(), 204);
    usage.put(&scope, "usage", record).await.unwrap();
    assert_eq!(app.get(&format!("servers/{id}")).await.status(), 404);
    assert_eq!(
        app.delete(&format!("servers/{id}")).await.status(),
        404,
        "the deletion stands"
    );
}

#[tokio::test]
async fn deletions_past_the_cap_in_flight_together_still_keep_no_more_than_the_cap() {
    let app = std::sync::Arc::new(spawn_app_with(|s| s.compute.max_deleted_kept = 32).await);
    let mut ids = Vec::new();
    for i in 0..100 {
        ids.push(app.create_server(&format!("c{i:03}")).await);
    }
    let mut tasks = Vec::new();
    for id in ids {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            app.delete(&format!("servers/{id}")).await.status()
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 204);
    }
    // However the deletions interleave, the queue ends between what a trim leaves (30)
    // and the cap: a deletion that passes the cap by one always trims.
    let kept = deleted_names(&app).await.len();
    assert!((30..=32).contains(&kept), "{kept} kept");
}
