//! The feeds of a balancer's nodes: `.../nodes/events` (every node's entries, JSON) and
//! `.../nodes/{node_id}.atom` (one node's, Atom XML).

use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use serde_json::{json, Value};

use super::request::Req;
use super::wire;
use crate::domain::nodes::feed_text;
use crate::error::LbError;

/// `GET .../nodes/events`: the node feed entries of every node, newest first, as JSON.
pub async fn list_node_events(r: Req) -> Result<HttpResponse, LbError> {
    let id = r.lb_id()?;
    let lb = r.balancers().load_live(id).await?;
    let mut events: Vec<(i64, Value)> = Vec::new();
    for node in &lb.nodes {
        for (n, e) in node.events.iter().enumerate() {
            let (title, message, kind) = feed_text(node, e);
            events.push((
                e.at_ms,
                json!({
                    "nodeId": node.id,
                    "detailedMessage": message,
                    "callbackHost": "",
                    "accountId": r.tenant.parse::<u64>().map(Value::from).unwrap_or_else(|_| Value::from(r.tenant.clone())),
                    "loadbalancerId": lb.id,
                    "severity": "INFO",
                    "author": "Rackspace Cloud",
                    "created": wire::iso(e.at_ms),
                    "category": kind,
                    "relativeUri": format!("/{}/loadbalancers/{}/nodes/{}", r.tenant, lb.id, node.id),
                    "description": message,
                    "title": title,
                    "id": node.id * 1000 + n as u64,
                    "type": if e.created { "CREATED_NODE" } else { "UPDATE_NODE" },
                }),
            ));
        }
    }
    events.sort_by_key(|e| std::cmp::Reverse(e.0));
    let events: Vec<Value> = events.into_iter().map(|(_, v)| v).collect();
    Ok(HttpResponse::Ok().json(json!({"nodeServiceEvents": events, "links": []})))
}

/// `GET .../nodes/{node_id}.atom`: Atom XML whatever the Accept header, newest entry first;
/// an unknown or deleted balancer or node is answered in XML too.
pub async fn get_node_feed(r: Req) -> Result<HttpResponse, LbError> {
    match node_feed(&r).await {
        Err(LbError::Fault(status, message))
            if status == StatusCode::NOT_FOUND || status == StatusCode::GONE =>
        {
            Ok(xml_error(status, &message))
        }
        answer => answer,
    }
}

/// A feed's 404 or 410 as CLB's XML (as Mimic gives it): `itemNotFound` with its
/// message, or the bare message of a deleted balancer.
fn xml_error(status: StatusCode, message: &str) -> HttpResponse {
    const HEAD: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>"#;
    const NS: &str = "http://docs.openstack.org/loadbalancers/api/v1.0";
    let message = escape(message);
    let body = if status == StatusCode::NOT_FOUND {
        format!(
            r#"{HEAD}<itemNotFound xmlns="{NS}" code="404"><message>{message}</message></itemNotFound>"#
        )
    } else {
        format!(
            r#"{HEAD}<message xmlns="{NS}" code="{}">{message}</message>"#,
            status.as_u16()
        )
    };
    HttpResponse::build(status)
        .content_type("application/xml")
        .body(body)
}

async fn node_feed(r: &Req) -> Result<HttpResponse, LbError> {
    let (id, nid) = (r.lb_id()?, r.item_id("node_id")?);
    let lb = r.balancers().load_live(id).await?;
    let node = lb
        .node(nid)
        .ok_or_else(|| LbError::not_found("Node not found"))?;
    let base = format!("/v1.0/{}/loadbalancers/{id}/nodes/{nid}", r.tenant);
    let page = r
        .query("page")
        .and_then(|p| p.parse::<usize>().ok())
        .unwrap_or(1);
    let mut xml = String::with_capacity(512 + node.events.len() * 512);
    xml.push_str(
        r#"<?xml version="1.0" encoding="UTF-8"?><feed xmlns="http://www.w3.org/2005/Atom">"#,
    );
    xml.push_str(&format!(
        r#"<title type="text">Node Feed</title><id>{}-loadbalancers-{id}-nodes-{nid}</id><author><name>Rackspace Cloud</name></author>"#,
        escape(&r.tenant)
    ));
    if page <= 1 {
        for (n, e) in node.events.iter().enumerate().rev() {
            let (title, summary, term) = feed_text(node, e);
            xml.push_str(&format!(
                r#"<entry><title type="text">{title}</title><summary type="text">{}</summary><author><name>{}</name></author><link href="{}"/><id>urn:lb-mock:{id}:{nid}:{n}</id><category term="{term}"/><updated>{}</updated></entry>"#,
                escape(&summary),
                escape(&r.tenant),
                escape(&base),
                wire::iso(e.at_ms),
            ));
        }
    }
    xml.push_str("</feed>");
    Ok(HttpResponse::Ok()
        .content_type("application/atom+xml")
        .body(xml))
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
