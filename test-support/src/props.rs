//! Arbitrary JSON for property tests of request parsers — "whatever the body, the answer
//! is never a 5xx" — and the check that sends it.

use proptest::prelude::*;
use serde_json::{json, Map, Value};

/// Field names the mocks' parsers read, so arbitrary objects reach deep into them.
const KEYS: &[&str] = &[
    "auth",
    "passwordCredentials",
    "RAX-KSKEY:apiKeyCredentials",
    "token",
    "id",
    "username",
    "password",
    "apiKey",
    "tenantId",
    "tenantName",
    "identity",
    "methods",
    "user",
    "scope",
    "project",
    "domain",
    "name",
    "RAX-AUTH:impersonation",
    "expire-in-seconds",
    "server",
    "imageRef",
    "flavorRef",
    "metadata",
    "meta",
    "key_name",
    "networks",
    "personality",
    "OS-DCF:diskConfig",
    "adminPass",
    "reboot",
    "type",
    "resize",
    "rebuild",
    "createImage",
    "confirmResize",
    "changePassword",
    "keypair",
    "public_key",
    "loadBalancer",
    "port",
    "protocol",
    "algorithm",
    "virtualIps",
    "nodes",
    "node",
    "address",
    "condition",
    "weight",
    "healthMonitor",
    "delay",
    "timeout",
    "attemptsBeforeDeactivation",
    "path",
    "sessionPersistence",
    "persistenceType",
    "connectionThrottle",
    "maxConnections",
    "accessList",
    "networkItems",
    "key",
    "value",
    "errorpage",
    "content",
    "contentCaching",
    "enabled",
    "connectionLogging",
    "ipVersion",
    "criteria",
    "parameters",
    "behaviors",
    "code",
    "message",
    "status",
    "amount",
    "seconds",
    "now",
    "at",
    "match",
    "action",
    "budget",
    "times",
    "capacity",
    "server_name",
];

/// Values the parsers know, mixed with arbitrary text.
const WORDS: &[&str] = &[
    "",
    "HTTP",
    "HTTPS",
    "TCP",
    "ROUND_ROBIN",
    "RANDOM",
    "ENABLED",
    "DRAINING",
    "PRIMARY",
    "SECONDARY",
    "PUBLIC",
    "SERVICENET",
    "IPV4",
    "IPV6",
    "CONNECT",
    "HTTP_COOKIE",
    "ssh",
    "x509",
    "2",
    "ACTIVE",
    "ERROR",
    "10.0.0.1",
    "::1",
    "sequence",
    "fail",
    "default",
    "build",
    ".*",
    "SOFT",
    "HARD",
    "AUTO",
    "MANUAL",
    "error",
    "delay",
    "2030-01-01T00:00:00Z",
    "\u{0}",
    "\u{1b}[1m",
    "\u{202e}",
    "password",
    "token",
];

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(KEYS).prop_map(str::to_string),
        1 => any::<String>(),
    ]
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        prop_oneof![Just(-1i64), Just(0), Just(1), Just(25), Just(101)].prop_map(Value::from),
        any::<f64>()
            .prop_filter("JSON numbers are finite", |f| f.is_finite())
            .prop_map(Value::from),
        Just(json!(1e30)),
        prop::sample::select(WORDS).prop_map(Value::from),
        any::<String>().prop_map(Value::String),
    ]
}

/// Any JSON value, a few levels deep, whose object keys are mostly ones the parsers read.
pub fn arbitrary_json() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// A request body: mostly `{wrapper: <any JSON>}` (past the first check of most parsers),
/// sometimes any JSON at all.
pub fn arbitrary_body(wrapper: &'static str) -> impl Strategy<Value = Value> {
    prop_oneof![
        3 => arbitrary_json().prop_map(move |v| json!({ wrapper: v })),
        1 => arbitrary_json(),
    ]
}

/// How many bodies each property test sends to each route.
pub const CASES: u32 = 96;

/// One route a property test sends bodies to: method, full URL, the wrapper key its
/// bodies mostly carry, and headers (a token).
pub struct Route {
    pub method: reqwest::Method,
    pub url: String,
    pub wrapper: &'static str,
    pub headers: Vec<(&'static str, String)>,
}

/// Sends [`CASES`] arbitrary bodies to every route on `rt` and panics, with the smallest
/// body found, on the first answer that is a 5xx, not JSON, or not an answer at all.
pub fn assert_never_a_5xx(rt: &tokio::runtime::Runtime, routes: &[Route]) {
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .unwrap_or_default();
    for route in routes {
        let mut runner = proptest::test_runner::TestRunner::new(proptest::test_runner::Config {
            cases: CASES,
            failure_persistence: None,
            ..Default::default()
        });
        let outcome = runner.run(&arbitrary_body(route.wrapper), |body| {
            let mut call = client
                .request(route.method.clone(), &route.url)
                .header("content-type", "application/json")
                .body(body.to_string());
            for (name, value) in &route.headers {
                call = call.header(*name, value);
            }
            let answer = rt.block_on(async {
                let res = call.send().await.map_err(|e| e.to_string())?;
                let status = res.status().as_u16();
                let bytes = res.bytes().await.map_err(|e| e.to_string())?;
                Ok::<_, String>((status, bytes))
            });
            let (status, bytes) =
                answer.map_err(|e| TestCaseError::fail(format!("no answer: {e}")))?;
            prop_assert!(
                status < 500,
                "{} {} answered {status}",
                route.method,
                route.url
            );
            prop_assert!(
                bytes.is_empty() || serde_json::from_slice::<Value>(&bytes).is_ok(),
                "{} {} answered {status} with a body that is not JSON",
                route.method,
                route.url
            );
            Ok(())
        });
        if let Err(e) = outcome {
            panic!("{} {}: {e}", route.method, route.url);
        }
    }
}
