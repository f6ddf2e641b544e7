//! Sub-resources: health monitor, session persistence, throttle, access list, error page,
//! caching, logging, metadata, virtual IPs, usage, stats and account-level lists.

use serde_json::{json, Value};

use crate::helpers::{assert_fault, assert_validation, body, spawn_app, spawn_with};

const CONNECT: &str = r#"{"healthMonitor":{"type":"CONNECT","delay":10,"timeout":10,"attemptsBeforeDeactivation":3}}"#;

fn hm() -> Value {
    serde_json::from_str(CONNECT).unwrap()
}

#[tokio::test]
async fn health_monitor_can_be_set_read_and_deleted() {
    let app = spawn_app().await;
    let id = app.create_lb(json!({})).await;
    let path = format!("/loadbalancers/{id}/healthmonitor");
    assert_eq!(
        body(app.get(&path).await).await,
        json!({"healthMonitor": {}})
    );
    assert_eq!(app.put(&path, hm()).await.status().as_u16(), 202);
    assert_eq!(body(app.get(&path).await).await, hm());
    let http = json!({"healthMonitor": {"type": "HTTP", "delay": 5, "timeout": 5, "attemptsBeforeDeactivation": 2, "path": "/health", "statusRegex": "^[234][0-9][0-9]$", "bodyRegex": ".*"}});
    assert_eq!(app.put(&path, http.clone()).await.status().as_u16(), 202);
    assert_eq!(body(app.get(&path).await).await, http);
    assert_eq!(app.lb(id).await["healthMonitor"]["type"], "HTTP");
    assert_eq!(app.delete(&path).await.status().as_u16(), 202);
    assert_fault(
        app.delete(&path).await,
        422,
        "No health monitor found to delete.",
    )
    .await;
}

#[tokio::test]
async fn health_monitor_validation_texts() {
    let app = spawn_app().await;
    let id = app.create_lb(json!({})).await;
    let path = format!("/loadbalancers/{id}/healthmonitor");
    assert_validation(
        app.put(&path, json!({"healthMonitor": {"type": "CONNECT"}}))
            .await,
        &[
            "Must provide delay for the health monitor.",
            "Must provide timeout for the health monitor.",
            "Must provide attempts before deactivation for the health monitor.",
        ],
    )
    .await;
    assert_validation(
        app.put(&path, json!({"healthMonitor": {"type": "CONNECT", "delay": 0, "timeout": 301, "attemptsBeforeDeactivation": 11}})).await,
        &["Must specify valid delay range between 1 and 3600.", "Must specify valid timeout range between 1 and 300.", "Must specify valid attempts before deactivation range between 1 and 10."],
    )
    .await;
    assert_validation(
        app.put(&path, json!({"healthMonitor": {"type": "HTTP", "delay": 1, "timeout": 1, "attemptsBeforeDeactivation": 1, "path": "health"}})).await,
        &["Must provide a forward slash(/) as the beginning of the path.", "Must provide a status regex for the health monitor."],
    )
    .await;
    assert_fault(
        app.put(&path, json!({"healthMonitor": {"type": "HTTPS", "delay": 1, "timeout": 1, "attemptsBeforeDeactivation": 1, "path": "/", "statusRegex": "2.."}})).await,
        400,
        "Cannot update Health Monitor to Type HTTPS because load balancer protocol is HTTP",
    )
    .await;
    let res = app.put(&path, json!({"healthMonitor": {"type": "PING", "delay": 1, "timeout": 1, "attemptsBeforeDeactivation": 1}})).await;
    assert_eq!(
        body(res).await,
        json!({"validationErrors": {"messages": ["JSON does not match the expected schema"]},
               "message": "Validation Failure", "code": 400, "details": "The object is not valid"})
    );
}

#[tokio::test]
async fn session_persistence_and_connection_throttle() {
    let app = spawn_app().await;
    let id = app.create_lb(json!({})).await;
    let sp = format!("/loadbalancers/{id}/sessionpersistence");
    assert_eq!(
        body(app.get(&sp).await).await,
        json!({"sessionPersistence": {}})
    );
    assert_eq!(
        app.put(
            &sp,
            json!({"sessionPersistence": {"persistenceType": "HTTP_COOKIE"}})
        )
        .await
        .status()
        .as_u16(),
        202
    );
    assert_eq!(
        body(app.get(&sp).await).await["sessionPersistence"]["persistenceType"],
        "HTTP_COOKIE"
    );
    assert_fault(
        app.put(
            &sp,
            json!({"sessionPersistence": {"persistenceType": "SSL_ID"}}),
        )
        .await,
        400,
        "SSL_ID session persistence is only valid with the HTTPS protocol. ",
    )
    .await;
    assert_validation(
        app.put(&sp, json!({"sessionPersistence": {}})).await,
        &["Must provide a persistence type."],
    )
    .await;
    assert_eq!(app.delete(&sp).await.status().as_u16(), 202);
    assert_fault(
        app.delete(&sp).await,
        422,
        "Session persistence is already deleted.",
    )
    .await;

    let ct = format!("/loadbalancers/{id}/connectionthrottle");
    assert_eq!(
        body(app.get(&ct).await).await,
        json!({"connectionThrottle": {}})
    );
    let throttle = json!({"connectionThrottle": {"maxConnections": 100, "minConnections": 10, "maxConnectionRate": 50, "rateInterval": 60}});
    assert_eq!(app.put(&ct, throttle.clone()).await.status().as_u16(), 202);
    assert_eq!(body(app.get(&ct).await).await, throttle);
    assert_validation(
        app.put(
            &ct,
            json!({"connectionThrottle": {"maxConnections": -1, "rateInterval": 0}}),
        )
        .await,
        &[
            "Must provide a valid maximum connections range.",
            "Must provide a valid rate interval range.",
        ],
    )
    .await;
    assert_eq!(app.delete(&ct).await.status().as_u16(), 202);
    assert_fault(
        app.delete(&ct).await,
        422,
        "No connection throttle found to delete.",
    )
    .await;
}

#[tokio::test]
async fn access_list_appends_and_deletes() {
    let app = spawn_app().await;
    let id = app.create_lb(json!({})).await;
    let al = format!("/loadbalancers/{id}/accesslist");
    assert_eq!(body(app.get(&al).await).await, json!({"accessList": []}));
    let res = app.post(&al, json!({"accessList": [{"address": "206.160.163.21", "type": "DENY"}, {"address": "0.0.0.0/0", "type": "ALLOW"}]})).await;
    assert_eq!(res.status().as_u16(), 202);
    let items = body(app.get(&al).await).await["accessList"].clone();
    assert_eq!(items.as_array().unwrap().len(), 2);
    assert_eq!(items[0]["type"], "DENY");
    let first = items[0]["id"].as_u64().unwrap();
    assert_fault(
        app.post(
            &al,
            json!({"accessList": [{"address": "206.160.163.21", "type": "ALLOW"}]}),
        )
        .await,
        400,
        "Must supply a unique access list item to update the current list.",
    )
    .await;
    assert_validation(
        app.post(&al, json!({"accessList": []})).await,
        &["Must provide at least one network item to the access list."],
    )
    .await;
    // A network item is an address or a CIDR, not a host name; a refused list adds nothing.
    for address in ["bad", "example.com", "10.0.0.0/33"] {
        assert_validation(
            app.post(
                &al,
                json!({"accessList": [{"address": address, "type": "DENY"}]}),
            )
            .await,
            &["Must provide a valid address for the network item."],
        )
        .await;
    }
    assert_eq!(
        body(app.get(&al).await).await["accessList"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_fault(
        app.delete(&format!("{al}?id=9999")).await,
        400,
        "Network item with id 9999 not found.",
    )
    .await;
    assert_eq!(
        app.delete(&format!("{al}?id={first}"))
            .await
            .status()
            .as_u16(),
        202
    );
    assert_eq!(
        body(app.get(&al).await).await["accessList"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(app.delete(&al).await.status().as_u16(), 202);
    assert_fault(app.delete(&al).await, 422, "No access list found to delete").await;
}

#[tokio::test]
async fn error_page_caching_and_logging() {
    let app = spawn_app().await;
    let id = app.create_lb(json!({})).await;
    let ep = format!("/loadbalancers/{id}/errorpage");
    assert_eq!(
        body(app.get(&ep).await).await,
        json!({"errorpage": {"content": "<html> DEFAULT ERROR PAGE</html>"}})
    );
    let page = json!({"errorpage": {"content": "<html>oops</html>"}});
    let res = app.put(&ep, page.clone()).await;
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(body(res).await, page);
    assert_eq!(body(app.get(&ep).await).await, page);
    assert_validation(
        app.put(&ep, json!({"errorpage": {}})).await,
        &["You must provide Content to set ErrorPage"],
    )
    .await;
    assert_eq!(app.delete(&ep).await.status().as_u16(), 200);

    let cc = format!("/loadbalancers/{id}/contentcaching");
    assert_eq!(
        app.put(&cc, json!({"contentCaching": {"enabled": "true"}}))
            .await
            .status()
            .as_u16(),
        202
    );
    assert_eq!(
        body(app.get(&cc).await).await,
        json!({"contentCaching": {"enabled": true}})
    );
    assert_validation(
        app.put(&cc, json!({"contentCaching": {}})).await,
        &["Must specify whether content caching is enabled or not."],
    )
    .await;

    let cl = format!("/loadbalancers/{id}/connectionlogging");
    assert_eq!(
        app.put(&cl, json!({"connectionLogging": {"enabled": true}}))
            .await
            .status()
            .as_u16(),
        202
    );
    assert_eq!(
        body(app.get(&cl).await).await,
        json!({"connectionLogging": {"enabled": true}})
    );
    assert_eq!(app.lb(id).await["connectionLogging"]["enabled"], true);
}

#[tokio::test]
async fn error_page_needs_http_and_active() {
    let app = spawn_with(|s| s.lb.pending_update_time_ms = 1000).await;
    let id = app.create_lb(json!({})).await;
    app.put(
        &format!("/loadbalancers/{id}"),
        json!({"loadBalancer": {"name": "x"}}),
    )
    .await;
    assert_fault(
        app.put(
            &format!("/loadbalancers/{id}/errorpage"),
            json!({"errorpage": {"content": "x"}}),
        )
        .await,
        422,
        "Load balancer is considered immutable and cannot process request",
    )
    .await;
    let tcp = app.create_lb(json!({"protocol": "TCP", "port": 22})).await;
    assert_fault(
        app.put(
            &format!("/loadbalancers/{tcp}/errorpage"),
            json!({"errorpage": {"content": "x"}}),
        )
        .await,
        400,
        "Custom error page is allowed only on loadbalancers with HTTP protocol.",
    )
    .await;
}

#[tokio::test]
async fn balancer_metadata_lifecycle() {
    let app = spawn_app().await;
    let id = app
        .create_lb(json!({"metadata": [{"key": "color", "value": "red"}]}))
        .await;
    let md = format!("/loadbalancers/{id}/metadata");
    let list = body(app.get(&md).await).await;
    assert_eq!(list["metadata"][0]["key"], "color");
    let res = app
        .post(&md, json!({"metadata": [{"key": "size", "value": "L"}]}))
        .await;
    assert_eq!(res.status().as_u16(), 200);
    let mid = body(res).await["metadata"][0]["id"].as_u64().unwrap();
    assert_fault(
        app.post(&md, json!({"metadata": [{"key": "size", "value": "M"}]})).await,
        422,
        "Duplicate metadata keys detected. One or more metadata keys already configured on load balancer.",
    )
    .await;
    assert_eq!(
        app.put(&format!("{md}/{mid}"), json!({"meta": {"value": "XL"}}))
            .await
            .status()
            .as_u16(),
        200
    );
    assert_eq!(
        body(app.get(&format!("{md}/{mid}")).await).await["meta"]["value"],
        "XL"
    );
    assert_validation(
        app.delete(&format!("{md}?id=98765")).await,
        &["Metadata ids 98765 are not a part of your loadbalancer"],
    )
    .await;
    assert_eq!(
        app.delete(&format!("{md}?id={mid}"))
            .await
            .status()
            .as_u16(),
        200
    );
    assert_fault(
        app.get(&format!("{md}/{mid}")).await,
        404,
        &format!("LoadbalancerMeta data item with id #{mid} not found for loadbalancer #{id}"),
    )
    .await;
    let app2 = spawn_with(|s| s.lb.metadata_limit = 1).await;
    let id = app2
        .create_lb(json!({"metadata": [{"key": "a", "value": "1"}]}))
        .await;
    assert_fault(
        app2.post(
            &format!("/loadbalancers/{id}/metadata"),
            json!({"metadata": [{"key": "b", "value": "2"}]}),
        )
        .await,
        400,
        "Metadata must not exceed 1 per load balancer.",
    )
    .await;
}

#[tokio::test]
async fn virtual_ips_can_be_added_and_removed() {
    let app = spawn_app().await;
    let id = app.create_lb(json!({})).await;
    let vp = format!("/loadbalancers/{id}/virtualips");
    let res = app
        .post(&vp, json!({"type": "PUBLIC", "ipVersion": "IPV6"}))
        .await;
    assert_eq!(res.status().as_u16(), 202);
    let vip = body(res).await;
    assert_eq!(vip["ipVersion"], "IPV6");
    let vid = vip["id"].as_u64().unwrap();
    assert_eq!(
        body(app.get(&vp).await).await["virtualIps"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let res = app.post(&vp, json!({"id": 5})).await;
    assert_eq!(res.status().as_u16(), 400);
    assert_eq!(
        body(res).await["validationErrors"]["messages"][0],
        "Cannot add a shared virtual ip."
    );
    assert_fault(
        app.delete(&format!("{vp}/999999")).await,
        400,
        "Must provide valid virtual ips, 999999 could not be found.",
    )
    .await;
    assert_eq!(
        app.delete(&format!("{vp}/{vid}")).await.status().as_u16(),
        202
    );
    let last = app.lb(id).await["virtualIps"][0]["id"].as_u64().unwrap();
    assert_fault(
        app.delete(&format!("{vp}/{last}")).await,
        400,
        "Cannot delete virtual ips. Minimum number of virtual ips required is 1.",
    )
    .await;
}

#[tokio::test]
async fn usage_and_stats_have_plausible_numbers() {
    let app = spawn_app().await;
    let id = app.create_lb(json!({})).await;
    let usage = body(app.get(&format!("/loadbalancers/{id}/usage")).await).await;
    let rec = &usage["loadBalancerUsageRecords"][0];
    assert!(rec["incomingTransfer"].as_u64().unwrap() > 0);
    assert_eq!(rec["numVips"], 1);
    assert_eq!(usage["links"], json!([]));
    assert_eq!(
        app.get(&format!("/loadbalancers/{id}/usage/current"))
            .await
            .status()
            .as_u16(),
        200
    );
    assert_fault(
        app.get(&format!("/loadbalancers/{id}/usage?startTime=soon"))
            .await,
        400,
        "Date parameters must follow ISO-8601 format",
    )
    .await;
    let stats = body(app.get(&format!("/loadbalancers/{id}/stats")).await).await;
    for key in [
        "connectTimeOut",
        "connectError",
        "connectFailure",
        "dataTimedOut",
        "keepAliveTimedOut",
        "maxConn",
        "currentConn",
    ] {
        assert!(stats[key].is_u64(), "stats lack {key}");
    }
    let account = body(app.get("/loadbalancers/usage").await).await;
    assert_eq!(account["loadBalancerUsages"][0]["loadBalancerId"], id);
}

#[tokio::test]
async fn account_level_lists() {
    let app = spawn_app().await;
    let p = body(app.get("/loadbalancers/protocols").await).await;
    let protocols = p["protocols"].as_array().unwrap();
    assert_eq!(protocols.len(), 19);
    assert!(protocols.contains(&json!({"name": "HTTP", "port": 80})));
    let a = body(app.get("/loadbalancers/algorithms").await).await;
    assert_eq!(a["algorithms"].as_array().unwrap().len(), 5);
    let l = body(app.get("/loadbalancers/absolutelimits").await).await;
    assert!(l["absolute"]
        .as_array()
        .unwrap()
        .contains(&json!({"name": "NODE_LIMIT", "value": 25})));
    let r = body(app.get("/limits").await).await;
    assert_eq!(r["limits"]["rate"][0]["limit"].as_array().unwrap().len(), 4);
}
