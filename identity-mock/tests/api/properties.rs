//! Whatever the body, no route that reads one answers a 5xx or anything but JSON
//! (property tests over arbitrary JSON; the smallest failing body is reported).

use reqwest::Method;
use test_support::{assert_never_a_5xx, Route};

use crate::helpers::spawn_app;

#[test]
fn no_body_gets_a_5xx_from_any_route_that_reads_one() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let app = rt.block_on(spawn_app());
    let (token, _) = rt.block_on(app.token_for("prop-user", Some("424242")));
    let route = |path: &str, wrapper: &'static str| Route {
        method: Method::POST,
        url: app.url(path),
        wrapper,
        headers: vec![("x-auth-token", token.clone())],
    };

    assert_never_a_5xx(
        &rt,
        &[
            route("/v2.0/tokens", "auth"),
            route("/identity/v2.0/tokens", "auth"),
            route("/v3/auth/tokens", "auth"),
            route(
                "/v2.0/RAX-AUTH/impersonation-tokens",
                "RAX-AUTH:impersonation",
            ),
            route("/mimic/v1.1/IdentityControlAPI/behaviors/auth", "criteria"),
            route("/mimic/v1.1/tick", "amount"),
        ],
    );
}
