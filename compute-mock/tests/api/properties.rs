//! Whatever the body, no route that reads one answers a 5xx or anything but JSON
//! (property tests over arbitrary JSON; the smallest failing body is reported).

use reqwest::Method;
use test_support::{assert_never_a_5xx, Route};

use crate::helpers::{spawn_app, TENANT};

#[test]
fn no_body_gets_a_5xx_from_any_route_that_reads_one() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let app = rt.block_on(spawn_app());
    let server = rt.block_on(app.create_server("target"));
    let with_token = |method: Method, path: String, wrapper: &'static str| Route {
        method,
        url: app.url(&path),
        wrapper,
        headers: vec![("x-auth-token", app.token.clone())],
    };
    let mimic = |path: &str, wrapper: &'static str| Route {
        method: Method::POST,
        url: app.mimic_url("ORD", TENANT, path),
        wrapper,
        headers: vec![],
    };

    assert_never_a_5xx(
        &rt,
        &[
            with_token(Method::POST, "servers".into(), "server"),
            with_token(Method::PUT, format!("servers/{server}"), "server"),
            with_token(Method::POST, format!("servers/{server}/action"), "reboot"),
            with_token(
                Method::POST,
                format!("servers/{server}/action"),
                "createImage",
            ),
            with_token(
                Method::POST,
                format!("servers/{server}/metadata"),
                "metadata",
            ),
            with_token(
                Method::PUT,
                format!("servers/{server}/metadata"),
                "metadata",
            ),
            with_token(Method::PUT, format!("servers/{server}/metadata/k"), "meta"),
            with_token(Method::POST, "os-keypairs".into(), "keypair"),
            mimic("behaviors/creation", "criteria"),
            mimic("attributes", "status"),
        ],
    );
}
