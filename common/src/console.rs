//! The console: `GET /_understudy/ui/` on every mock, a page for people.
//!
//! Server-rendered HTML (maud, which escapes everything it is given: a server named
//! `<script>` is shown as text) in four panels — Requests, Faults, Clock, State — each a
//! fragment under `/_understudy/ui/panels/`, built from the whole stack's control API
//! (this mock's own answer and every peer's, as `?scope=stack` reads do). A little plain
//! JavaScript (`console.js`) loads the panels, listens to `/_understudy/ui/events` (server-sent
//! events: one each time the stack's journal, fault rules or clock change) to refresh
//! them, reads the Clock and State panels again every two seconds (time alone moves what
//! they show), and sends the forms to the control API, showing the API's own error text.
//!
//! With `control.admin_token` set, the panels and events need it as the control API does
//! (`X-Admin-Token`), or as the cookie `understudy_admin_token` the page sets once the
//! token is typed in; the page itself holds no data.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup, DOCTYPE};
use serde_json::Value;

use crate::context::{
    admin_allowed, ServiceContext, ADMIN_TOKEN_REQUIRED, CONTROL_PREFIX, UI_PREFIX,
};
use crate::control::{clock_view, peer_reads};
use crate::faults::rules::SERVICES;
use crate::journal::JournalQuery;

/// The cookie the page keeps the admin token in.
const TOKEN_COOKIE: &str = "understudy_admin_token";

const CSS: &str = include_str!("console.css");
const JS: &str = include_str!("console.js");

type Ctx = web::Data<ServiceContext>;

pub fn scope() -> actix_web::Scope {
    web::scope(UI_PREFIX)
        // `/_understudy/ui/` arrives without its slash (the pipeline trims them).
        .route("", web::get().to(page))
        .route("/console.js", web::get().to(script))
        .route("/console.css", web::get().to(style))
        .route("/panels/{panel}", web::get().to(panel))
        .route("/events", web::get().to(events))
}

async fn script() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .body(JS)
}

async fn style() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .body(CSS)
}

/// Whether the caller may read the stack: the admin token as a header, or as the cookie.
fn allowed(ctx: &ServiceContext, req: &HttpRequest) -> bool {
    let expected = &ctx.base.control.admin_token;
    if admin_allowed(expected, req.headers()) {
        return true;
    }
    req.headers()
        .get_all(actix_web::http::header::COOKIE)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(name, _)| *name == TOKEN_COOKIE)
        .any(|(_, value)| {
            let value = crate::percent_decode(value);
            subtle::ConstantTimeEq::ct_eq(value.as_bytes(), expected.as_bytes()).into()
        })
}

async fn page(ctx: Ctx) -> HttpResponse {
    let name = ctx.spec.name;
    let needs_token = !ctx.base.control.admin_token.is_empty();
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "Understudy console · " (name) }
                link rel="icon" href="data:,";
                link rel="stylesheet" href={(UI_PREFIX) "/console.css"};
            }
            body data-needs-token=(needs_token) {
                header {
                    h1 { "Understudy" }
                    span.served-by { "console of the stack, served by " b { (name) } }
                    span #live.live { "connecting…" }
                }
                form #token-form.token hidden {
                    label { "Admin token " input #token type="password" autocomplete="off"; }
                    button type="submit" { "Use" }
                    span.hint { "control.admin_token is set on this stack" }
                }
                main {
                    section #requests-section {
                        h2 { "Requests" }
                        form #request-filters.filters {
                            @for (field, hint) in [("service", "service"), ("tenant", "tenant"), ("method", "method"), ("path", "path prefix"), ("status", "status"), ("rule", "rule id")] {
                                input name=(field) placeholder=(hint) size="10";
                            }
                        }
                        div #requests.panel data-panel="requests" { "…" }
                    }
                    section #faults-section {
                        h2 { "Faults" }
                        div #faults.panel data-panel="faults" { "…" }
                        form #fault-form.fault-form {
                            label { "Rule (the JSON POST /_understudy/v1/faults takes)"
                                textarea #fault-json name="rule" rows="6" spellcheck="false" {
                                    "{\"match\": {\"method\": \"POST\", \"path\": \"/v2/*/servers\"},\n \"action\": {\"type\": \"error\", \"status\": 500},\n \"budget\": {\"times\": 1}}"
                                }
                            }
                            label { "For "
                                select #fault-service name="service" {
                                    option value="" { "this mock (" (name) ")" }
                                    @for s in SERVICES { @if *s != name { option value=(s) { (s) } } }
                                    option value="stack" { "every mock (scope=stack)" }
                                }
                            }
                            button type="submit" { "Add rule" }
                            button #faults-clear type="button" { "Delete all" }
                            p #fault-error.error role="alert" {}
                        }
                    }
                    section #clock-section {
                        h2 { "Clock" }
                        div #clock.panel data-panel="clock" { "…" }
                        form #clock-form.clock-form {
                            input #clock-seconds type="number" value="60" step="any" aria-label="seconds";
                            button data-clock="advance" type="button" { "Advance" }
                            button data-clock="tick" type="button" { "Tick (freeze, then advance)" }
                            button data-clock="freeze" type="button" { "Freeze" }
                            button data-clock="unfreeze" type="button" { "Unfreeze" }
                            input #clock-at type="text" placeholder="2030-01-01T00:00:00Z" aria-label="set to";
                            button data-clock="set" type="button" { "Set" }
                            button data-clock="reset" type="button" { "Wall time" }
                            p #clock-error.error role="alert" {}
                        }
                    }
                    section #state-section {
                        h2 { "State" }
                        div #state.panel data-panel="state" { "…" }
                    }
                }
                script src={(UI_PREFIX) "/console.js"} {}
            }
        }
    };
    html_response(markup)
}

fn html_response(m: Markup) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header(("cache-control", "no-store"))
        .body(m.into_string())
}

fn refused() -> HttpResponse {
    HttpResponse::build(StatusCode::UNAUTHORIZED)
        .content_type("text/html; charset=utf-8")
        .body(html! { p.error { (ADMIN_TOKEN_REQUIRED) } }.into_string())
}

async fn panel(ctx: Ctx, req: HttpRequest, name: web::Path<String>) -> HttpResponse {
    if !allowed(&ctx, &req) {
        return refused();
    }
    let markup = match name.as_str() {
        "requests" => requests(&ctx, &req).await,
        "faults" => faults(&ctx).await,
        "clock" => clock(&ctx).await,
        "state" => state(&ctx).await,
        _ => return HttpResponse::NotFound().finish(),
    };
    html_response(markup)
}

/// This mock's answer to a control read and every peer's (`path` under the control
/// prefix), as `?scope=stack` reads gather them; the mocks not reached.
async fn gather(ctx: &ServiceContext, local: Value, path: &str) -> (Vec<Value>, Vec<String>) {
    let path = format!("{}{path}", CONTROL_PREFIX);
    let (peers, unreached) = peer_reads(ctx, &path).await;
    let mut out = vec![local];
    out.extend(peers);
    (out, unreached)
}

fn unreached_note(unreached: &[String]) -> Markup {
    html! {
        @if !unreached.is_empty() {
            p.error { "Not reached: " (unreached.join(", ")) }
        }
    }
}

async fn requests(ctx: &ServiceContext, req: &HttpRequest) -> Markup {
    let query = req.query_string();
    let q = match web::Query::<JournalQuery>::from_query(query) {
        Ok(q) => q.into_inner(),
        Err(e) => return html! { p.error { "Bad filter: " (e.to_string()) } },
    };
    let local: Vec<Value> = match ctx.journal.query(&q).await {
        Ok(entries) => entries
            .into_iter()
            .filter_map(|e| serde_json::to_value(e).ok())
            .collect(),
        Err(e) => return html! { p.error { "The journal cannot be read: " (e.to_string()) } },
    };
    let path = if query.is_empty() {
        "/journal".to_string()
    } else {
        format!("/journal?{query}")
    };
    let (answers, unreached) = gather(ctx, serde_json::json!({"entries": local}), &path).await;
    let mut entries: Vec<Value> = answers
        .iter()
        .flat_map(|a| a["entries"].as_array().cloned().unwrap_or_default())
        .collect();
    entries.sort_by_key(|e| {
        (
            e["time"].as_str().and_then(crate::clock::parse_timestamp),
            e["received_us"].as_i64().unwrap_or_default(),
        )
    });
    entries.reverse();
    entries.truncate(200);
    html! {
        (unreached_note(&unreached))
        @if entries.is_empty() { p.empty { "No requests yet." } }
        @for e in &entries {
            @let status = e["status"].as_u64().unwrap_or_default();
            @let key = format!("{}-{}", text(&e["service"]), e["seq"]);
            details.entry data-key=(key) data-status=(status) {
                summary {
                    span.time { (short_time(&e["time"])) }
                    span.service { (text(&e["service"])) }
                    span.method { (text(&e["method"])) }
                    span.path { (text(&e["path"])) @if !text(&e["query"]).is_empty() { "?" (text(&e["query"])) } }
                    span class={"status " (status_class(status))} { (status) }
                    span.tenant { (text(&e["tenant"])) }
                    @if let Some(rule) = e["rule"].as_str() {
                        span.rule title={"the fault rule that fired: " (rule)} { "rule " (rule) }
                    }
                    span.latency { (e["latency_us"].as_u64().unwrap_or_default() / 1000) " ms" }
                }
                (exchange(&e["exchange"]))
            }
        }
    }
}

fn exchange(x: &Value) -> Markup {
    let headers = |list: &Value| -> Markup {
        html! {
            table.headers {
                @for h in list.as_array().into_iter().flatten() {
                    tr { th { (text(&h[0])) } td { (text(&h[1])) } }
                }
            }
        }
    };
    let body = |b: &Value| -> Markup {
        html! {
            @if b.is_object() {
                @if let Some(note) = b["note"].as_str() { p.note { (note) } }
                @if !text(&b["text"]).is_empty() { pre { (pretty(&b["text"])) } }
            }
        }
    };
    html! {
        div.exchange {
            div {
                h4 { "Request" }
                (headers(&x["request_headers"]))
                (body(&x["request_body"]))
            }
            div {
                h4 { "Answer" }
                (headers(&x["response_headers"]))
                (body(&x["response_body"]))
            }
        }
    }
}

async fn faults(ctx: &ServiceContext) -> Markup {
    let local = match ctx.faults.list().await {
        Ok(rules) => serde_json::json!({"faults": rules}),
        Err(e) => return html! { p.error { "The rules cannot be read: " (e.to_string()) } },
    };
    let (answers, unreached) = gather(ctx, local, "/faults").await;
    let rules: Vec<Value> = answers
        .iter()
        .flat_map(|a| a["faults"].as_array().cloned().unwrap_or_default())
        .collect();
    html! {
        (unreached_note(&unreached))
        @if rules.is_empty() { p.empty { "No fault rules." } }
        @else {
            table.rules {
                tr { th { "id" } th { "service" } th { "match" } th { "action" } th { "budget" } th { "matched" } th { "fired" } th {} }
                @for r in &rules {
                    tr data-rule=(text(&r["id"])) {
                        td.id { (text(&r["id"])) }
                        td { (text(&r["match"]["service"])) }
                        td { code { (compact(&r["match"])) } }
                        td { code { (compact(&r["action"])) } }
                        td { code { (compact(&r["budget"])) } }
                        td.matched { (r["matched"]) }
                        td.fired { (r["fired"]) }
                        td { button.delete-rule type="button" data-id=(text(&r["id"])) { "Delete" } }
                    }
                }
            }
        }
    }
}

async fn clock(ctx: &ServiceContext) -> Markup {
    let v = clock_view(ctx);
    html! {
        p.clock {
            span.now { (text(&v["now"])) }
            " "
            span.mode { (text(&v["mode"])) }
            @if let Some(ms) = v["offset_ms"].as_i64() {
                " (" (ms / 1000) " s from wall time)"
            }
        }
    }
}

async fn state(ctx: &Ctx) -> Markup {
    let scopes = match &ctx.spec.summary {
        Some(f) => match f(ctx.clone()).await {
            Ok(s) => s["scopes"].clone(),
            Err(e) => return html! { p.error { "The state cannot be read: " (e.to_string()) } },
        },
        None => Value::Array(Vec::new()),
    };
    let local = serde_json::json!({"service": ctx.spec.name, "scopes": scopes});
    let (answers, unreached) = gather(ctx, local, "/summary").await;
    html! {
        (unreached_note(&unreached))
        @for svc in &answers {
            @for scope in svc["scopes"].as_array().into_iter().flatten() {
                @if let Some(servers) = scope["servers"].as_array() {
                    @if !servers.is_empty() {
                        h3 { "Servers · tenant " (text(&scope["tenant"])) " · " (text(&scope["region"])) }
                        table.servers {
                            tr { th { "name" } th { "id" } th { "status" } th { "addresses" } }
                            @for s in servers {
                                tr data-server=(text(&s["id"])) {
                                    td.name { (text(&s["name"])) }
                                    td.id { (text(&s["id"])) }
                                    td.status { (text(&s["status"])) @if let Some(t) = s["task_state"].as_str() { " (" (t) ")" } }
                                    td { @for a in s["addresses"].as_array().into_iter().flatten() { span.addr { (text(a)) } " " } }
                                }
                            }
                        }
                    }
                }
                @if let Some(balancers) = scope["balancers"].as_array() {
                    @if !balancers.is_empty() {
                        h3 { "Load balancers · tenant " (text(&scope["tenant"])) " · " (text(&scope["region"])) }
                        table.balancers {
                            tr { th { "name" } th { "id" } th { "status" } th { "nodes (condition / status)" } }
                            @for b in balancers {
                                tr data-balancer=(b["id"]) {
                                    td.name { (text(&b["name"])) }
                                    td.id { (b["id"]) }
                                    td.status { (text(&b["status"])) }
                                    td {
                                        @for n in b["nodes"].as_array().into_iter().flatten() {
                                            span.node { (text(&n["address"])) ":" (n["port"]) " " (text(&n["condition"])) " / " (text(&n["status"])) } " "
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if answers.iter().all(|a| a["scopes"].as_array().is_none_or(|s| s.iter().all(|x| x["servers"].as_array().is_none_or(Vec::is_empty) && x["balancers"].as_array().is_none_or(Vec::is_empty)))) {
            p.empty { "No servers or load balancers." }
        }
    }
}

/// `text/event-stream`: an event each time what the panels show may have changed (the
/// stack's newest journal entries, its rules and their counters, the clock), checked
/// twice a second; a comment every 15 s keeps proxies from closing the stream.
async fn events(ctx: Ctx, req: HttpRequest) -> HttpResponse {
    if !allowed(&ctx, &req) {
        return refused();
    }
    let stream = futures_util::stream::unfold(
        (ctx, String::new(), 0u32),
        |(ctx, last, quiet)| async move {
            tokio::time::sleep(Duration::from_millis(500)).await;
            let now = fingerprint(&ctx).await;
            let (chunk, quiet) = if now != last {
                (format!("event: changed\ndata: {now}\n\n"), 0)
            } else if quiet >= 30 {
                (": still here\n\n".to_string(), 0)
            } else {
                (String::new(), quiet + 1)
            };
            Some((
                Ok::<_, actix_web::Error>(web::Bytes::from(chunk)),
                (ctx, now, quiet),
            ))
        },
    );
    HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("cache-control", "no-store"))
        .streaming(stream)
}

/// The clock's state (not its reading, which moves on its own while it runs).
async fn clock_state(ctx: &ServiceContext) -> String {
    let _ = ctx.store.sync_clock().await;
    serde_json::to_string(&ctx.store.clock().state()).unwrap_or_default()
}

/// A short text that changes when the panels would: the newest journal entry and the
/// rules of every mock, and the clock.
async fn fingerprint(ctx: &ServiceContext) -> String {
    let newest = ctx
        .journal
        .query(&JournalQuery {
            limit: Some(1),
            ..JournalQuery::default()
        })
        .await
        .ok()
        .and_then(|e| e.last().map(|e| e.seq))
        .unwrap_or_default();
    let rules = ctx
        .faults
        .list()
        .await
        .map(|r| serde_json::to_string(&r).unwrap_or_default())
        .unwrap_or_default();
    // The peers' newest entries and rules (their answers after this mock's own).
    let (journals, _) = gather(ctx, Value::Null, "/journal?limit=1").await;
    let (faults, _) = gather(ctx, Value::Null, "/faults").await;
    let digest = format!(
        "{newest}|{rules}|{}|{}|{}",
        journals
            .iter()
            .skip(1)
            .map(|a| a["entries"].to_string())
            .collect::<String>(),
        faults
            .iter()
            .skip(1)
            .map(|a| a["faults"].to_string())
            .collect::<String>(),
        clock_state(ctx).await
    );
    let mut h = std::hash::DefaultHasher::new();
    std::hash::Hash::hash(&digest, &mut h);
    format!("{:016x}", std::hash::Hasher::finish(&h))
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// A rule's part as JSON, without the fields left unset.
fn compact(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Object(map) => {
            let set: serde_json::Map<String, Value> = map
                .iter()
                .filter(|(_, x)| !x.is_null())
                .map(|(k, x)| (k.clone(), x.clone()))
                .collect();
            serde_json::to_string(&set).unwrap_or_default()
        }
        other => other.to_string(),
    }
}

/// A JSON body indented for reading; any other text as it is.
fn pretty(v: &Value) -> String {
    let t = text(v);
    serde_json::from_str::<Value>(&t)
        .ok()
        .and_then(|j| serde_json::to_string_pretty(&j).ok())
        .unwrap_or(t)
}

fn short_time(v: &Value) -> String {
    let t = text(v);
    t.get(11..23).map(str::to_string).unwrap_or(t)
}

fn status_class(status: u64) -> &'static str {
    match status {
        0..=299 => "ok",
        300..=399 => "redirect",
        400..=499 => "client-error",
        _ => "server-error",
    }
}
