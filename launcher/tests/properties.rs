//! Whatever the body, the control API (on every mock of the stack) answers no 5xx and
//! nothing but JSON (property tests over arbitrary JSON).
#![allow(clippy::unwrap_used)]

use reqwest::Method;
use test_support::{assert_never_a_5xx, Route};
use understudy::{Stack, StackSettings};

#[test]
fn no_control_call_body_gets_a_5xx() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let stack = rt.block_on(async {
        Stack::build(
            StackSettings::for_tests()
                .unwrap()
                .with_store(test_support::store_under_test()),
        )
        .unwrap()
    });
    let ports = [stack.identity.port(), stack.compute.port(), stack.lb.port()];
    rt.spawn(stack.run_until_stopped());

    let mut routes = Vec::new();
    for port in ports {
        for (method, path, wrapper) in [
            (Method::POST, "/faults", "action"),
            (Method::POST, "/faults?scope=stack", "match"),
            (Method::PUT, "/clock", "mode"),
            (Method::POST, "/clock/advance", "seconds"),
            (Method::POST, "/clock/set", "now"),
            (Method::POST, "/clock/freeze", "at"),
            (Method::PUT, "/journal/capacity", "capacity"),
            (Method::POST, "/revocations", "id"),
        ] {
            routes.push(Route {
                method,
                url: format!("http://127.0.0.1:{port}/_understudy/v1{path}"),
                wrapper,
                headers: vec![],
            });
        }
    }
    assert_never_a_5xx(&rt, &routes);
}
