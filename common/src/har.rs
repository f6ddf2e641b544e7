//! The journal as HAR 1.2 (`GET /_understudy/v1/journal.har`): what browsers' developer
//! tools and HAR viewers open.
//!
//! Each journal entry becomes one HAR entry: the request and the answer with their
//! headers and the bodies the journal kept (`journal.body_limit_bytes`; a cut or streamed
//! body says so in `comment`). What HAR has no field for (the service, the tenant, the
//! fault rule that fired, the wall time) is under `_understudy`, as HAR's custom fields
//! start with an underscore. `startedDateTime` is the mock's virtual time: the time the
//! journal orders and filters by, and the one a test reasons in.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Map, Value};

use crate::journal::{Headers, JournalEntry, KeptBody};

/// A HAR 1.2 document of `entries`, in their order.
pub fn document(entries: &[JournalEntry]) -> Value {
    json!({
        "log": {
            "version": "1.2",
            "creator": {"name": "Understudy", "version": env!("CARGO_PKG_VERSION")},
            "entries": entries.iter().map(entry).collect::<Vec<_>>(),
        }
    })
}

fn entry(e: &JournalEntry) -> Value {
    let x = e.exchange.as_deref();
    // The mock's own (virtual) time, as the journal orders and filters entries; the wall
    // time is kept under `_understudy`.
    let started = e.time.to_rfc3339_opts(SecondsFormat::Millis, true);
    let wall = DateTime::<Utc>::from_timestamp_micros(e.received_us)
        .map(|t| t.to_rfc3339_opts(SecondsFormat::Micros, true));
    let host = x
        .map(|x| x.host.as_str())
        .filter(|h| !h.is_empty())
        .unwrap_or("localhost");
    let url = if e.query.is_empty() {
        format!("http://{host}{}", e.path)
    } else {
        format!("http://{host}{}?{}", e.path, e.query)
    };
    let wait_ms = e.latency_us as f64 / 1000.0;
    let mut request = json!({
        "method": e.method,
        "url": url,
        "httpVersion": "HTTP/1.1",
        "cookies": [],
        "headers": headers(x.map(|x| &x.request_headers)),
        "queryString": query_string(&e.query),
        "headersSize": -1,
        "bodySize": x.and_then(|x| x.request_body.as_ref()).map_or(0, |b| b.size as i64),
    });
    if let Some(b) = x.and_then(|x| x.request_body.as_ref()) {
        let mut post = json!({"mimeType": b.mime_type, "text": b.text});
        if let Some(c) = comment(b) {
            post["comment"] = json!(c);
        }
        request["postData"] = post;
    }
    let response_headers = x.map(|x| &x.response_headers);
    let location = response_headers
        .and_then(|h| h.get("location"))
        .unwrap_or_default();
    let body = x.and_then(|x| x.response_body.as_ref());
    let mut content = Map::new();
    content.insert("size".into(), json!(body.map_or(0, |b| b.size)));
    content.insert(
        "mimeType".into(),
        json!(body.map_or("", |b| b.mime_type.as_str())),
    );
    if let Some(b) = body {
        if b.note.as_deref() != Some(crate::journal::STREAMED_NOT_KEPT) {
            content.insert("text".into(), json!(b.text));
        }
        if let Some(enc) = &b.encoding {
            content.insert("encoding".into(), json!(enc));
        }
        if let Some(c) = comment(b) {
            content.insert("comment".into(), json!(c));
        }
    }
    let status = actix_web::http::StatusCode::from_u16(e.status).ok();
    let mut out = json!({
        "startedDateTime": started,
        "time": wait_ms,
        "request": request,
        "response": {
            "status": e.status,
            "statusText": status.and_then(|s| s.canonical_reason()).unwrap_or(""),
            "httpVersion": "HTTP/1.1",
            "cookies": [],
            "headers": headers(response_headers),
            "content": content,
            "redirectURL": location,
            "headersSize": -1,
            "bodySize": body.map_or(-1, |b| b.size as i64),
        },
        "cache": {},
        "timings": {"send": 0, "wait": wait_ms, "receive": 0},
        "_understudy": {
            "seq": e.seq,
            "service": e.service,
            "route": e.route,
            "tenant": e.tenant,
            "region": e.region,
            "rule": e.rule,
            "virtualTime": e.time.to_rfc3339_opts(SecondsFormat::Micros, true),
            "wallTime": wall,
            "requestId": e.request_id,
        },
    });
    if let Some(rule) = &e.rule {
        out["comment"] = json!(format!("fault rule {rule} fired"));
    }
    out
}

fn comment(b: &KeptBody) -> Option<String> {
    match (&b.note, &b.encoding) {
        (Some(n), _) => Some(n.clone()),
        (None, Some(enc)) => Some(format!("{enc}-encoded: not UTF-8 text")),
        _ => None,
    }
}

fn headers(list: Option<&Headers>) -> Vec<Value> {
    list.into_iter()
        .flat_map(Headers::iter)
        .map(|(name, value)| json!({"name": name, "value": value}))
        .collect()
}

fn query_string(query: &str) -> Vec<Value> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            json!({"name": query_decode(name), "value": query_decode(value)})
        })
        .collect()
}

/// `a%20b+c` → `a b c`: what a query string means (`+` is a space there).
fn query_decode(s: &str) -> String {
    crate::percent_decode(&s.replace('+', "%20"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_strings_are_decoded() {
        assert_eq!(query_decode("a%20b+c%zz%4%2B"), "a b c%zz%4+");
        assert_eq!(
            query_string("limit=1&name=x%3Dy&flag"),
            vec![
                json!({"name": "limit", "value": "1"}),
                json!({"name": "name", "value": "x=y"}),
                json!({"name": "flag", "value": ""}),
            ]
        );
    }
}
