//! Wire formats of servers, flavors and images, rendered from domain records on read.

use std::sync::Arc;

use bytes::Bytes;
use chrono::{TimeZone, Utc};
use common::render::RenderCacheGuard;
use serde::Serialize;
use serde_json::{json, Value};

use actix_web::http::StatusCode;
use actix_web::HttpResponse;

use super::request::{Links, Tenant};
use crate::configuration::FlavorSettings;
use crate::domain::catalog::Image;
use crate::domain::digest;
use crate::domain::server::{addresses, Metadata, ServerRecord};
use crate::domain::status::View;

#[derive(Serialize)]
pub struct Link {
    pub href: String,
    pub rel: &'static str,
}

#[derive(Serialize)]
pub struct Ref {
    pub id: String,
    pub links: [Link; 1],
}

#[derive(Serialize)]
pub struct Addr {
    pub addr: String,
    pub version: u8,
}

#[derive(Serialize)]
pub struct Addresses {
    pub private: [Addr; 1],
    pub public: [Addr; 2],
}

/// One server as `GET /servers/{id}` and `/servers/detail` show it.
#[derive(Serialize)]
pub struct ServerDetail<'a> {
    #[serde(rename = "OS-DCF:diskConfig")]
    pub disk_config: &'static str,
    #[serde(rename = "OS-EXT-STS:power_state")]
    pub power_state: u8,
    #[serde(rename = "OS-EXT-STS:task_state")]
    pub task_state: Option<&'static str>,
    #[serde(rename = "OS-EXT-STS:vm_state")]
    pub vm_state: std::borrow::Cow<'static, str>,
    #[serde(rename = "accessIPv4")]
    pub access_ipv4: &'a str,
    #[serde(rename = "accessIPv6")]
    pub access_ipv6: &'a str,
    pub addresses: Addresses,
    pub created: String,
    pub flavor: Ref,
    #[serde(rename = "hostId")]
    pub host_id: &'a str,
    pub id: String,
    pub image: Ref,
    pub key_name: Option<&'a str>,
    pub links: [Link; 2],
    pub metadata: &'a Metadata,
    pub name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub progress: Option<u8>,
    pub status: std::borrow::Cow<'static, str>,
    pub tenant_id: &'a str,
    pub updated: String,
    pub user_id: &'a str,
}

/// One server as the brief list shows it.
#[derive(Serialize)]
pub struct ServerBrief<'a> {
    pub id: String,
    pub links: [Link; 2],
    pub name: &'a str,
}

pub fn iso(ms: i64) -> String {
    Utc.timestamp_millis_opt(ms)
        .single()
        .map(common::clock::iso_seconds)
        .unwrap_or_default()
}

/// Nova's hostId: a 56-hex-digit digest of the project and its host.
pub fn host_id(tenant: &str, region: &str) -> String {
    digest::hex(&digest::bytes(
        &format!("{tenant}/{region}/compute-host"),
        28,
    ))
}

pub fn addresses_of(rec: &ServerRecord) -> Addresses {
    let (private, public, v6) = addresses(rec.addr);
    Addresses {
        private: [Addr {
            addr: private.to_string(),
            version: 4,
        }],
        public: [
            Addr {
                addr: public.to_string(),
                version: 4,
            },
            Addr {
                addr: v6.to_string(),
                version: 6,
            },
        ],
    }
}

pub fn server_links(links: &Links, id: &str) -> [Link; 2] {
    let path = format!("servers/{id}");
    [
        Link {
            href: links.versioned(&path),
            rel: "self",
        },
        Link {
            href: links.bookmark(&path),
            rel: "bookmark",
        },
    ]
}

pub fn server_detail<'a>(
    rec: &'a ServerRecord,
    view: View,
    links: &Links,
    tenant: &'a str,
    host: &'a str,
) -> ServerDetail<'a> {
    let id = rec.id.to_string();
    ServerDetail {
        disk_config: if rec.disk_auto { "AUTO" } else { "MANUAL" },
        power_state: view.power_state,
        task_state: view.task_state,
        vm_state: view.vm_state,
        access_ipv4: rec.access_ipv4.as_deref().unwrap_or(""),
        access_ipv6: rec.access_ipv6.as_deref().unwrap_or(""),
        addresses: addresses_of(rec),
        created: iso(rec.created_ms),
        flavor: Ref {
            id: rec.flavor_id.clone(),
            links: [Link {
                href: links.bookmark(&format!("flavors/{}", rec.flavor_id)),
                rel: "bookmark",
            }],
        },
        host_id: host,
        image: Ref {
            id: rec.image_id.clone(),
            links: [Link {
                href: links.bookmark(&format!("images/{}", rec.image_id)),
                rel: "bookmark",
            }],
        },
        key_name: rec.key_name.as_deref(),
        links: server_links(links, &id),
        metadata: &rec.metadata,
        name: &rec.name,
        progress: view.progress,
        status: view.status,
        tenant_id: tenant,
        updated: iso(view.changed_ms),
        user_id: &rec.user_id,
        id,
    }
}

/// What every server of one answer is rendered with: the link base and the region
/// (`hostId` digests tenant and region).
#[derive(Debug, PartialEq, Eq)]
pub struct RenderBase {
    pub links: Links,
    pub region: String,
}

impl RenderBase {
    pub fn of(t: &super::request::Tenant) -> Arc<RenderBase> {
        Arc::new(RenderBase {
            links: t.links.clone(),
            region: t.scope.region.clone(),
        })
    }
}

/// Everything the JSON of one server is rendered from: the record (by its store
/// revision: equal revisions, equal records), what it shows now, and the base.
#[derive(Debug, PartialEq)]
pub struct ServerStamp {
    pub revision: u64,
    pub view: View,
    pub base: Arc<RenderBase>,
}

/// One server's JSON as `GET /servers/{id}` and `servers/detail` show it.
pub fn render_server(rec: &ServerRecord, view: &View, base: &RenderBase) -> Vec<u8> {
    let tenant = &base.links.tenant;
    let host = host_id(tenant, &base.region);
    let detail = server_detail(rec, view.clone(), &base.links, tenant, &host);
    serde_json::to_vec(&detail).unwrap_or_default()
}

/// The JSON of servers as `GET /servers/{id}` and `servers/detail` show them, shared by
/// every worker (app data of its own, beside the state).
pub type RenderedServers = common::render::RenderCache<uuid::Uuid, ServerStamp>;

/// [`render_server`], remembered in `cache` and reused while the record's revision, its
/// view and the base are unchanged.
pub fn server_json(
    cache: &mut RenderCacheGuard<'_, uuid::Uuid, ServerStamp>,
    rec: &ServerRecord,
    revision: u64,
    view: View,
    base: &Arc<RenderBase>,
) -> Bytes {
    cache.get_or_render(
        &rec.id,
        |s| s.revision == revision && s.view == view && s.base == *base,
        || ServerStamp {
            revision,
            view: view.clone(),
            base: base.clone(),
        },
        |s| render_server(rec, &s.view, &s.base),
    )
}

pub fn server_brief<'a>(rec: &'a ServerRecord, links: &Links) -> ServerBrief<'a> {
    let id = rec.id.to_string();
    ServerBrief {
        links: server_links(links, &id),
        name: &rec.name,
        id,
    }
}

fn pair_links(links: &Links, collection: &str, id: &str) -> Vec<Value> {
    let path = format!("{collection}/{id}");
    vec![
        json!({"href": links.versioned(&path), "rel": "self"}),
        json!({"href": links.bookmark(&path), "rel": "bookmark"}),
    ]
}

pub fn flavor_brief(f: &FlavorSettings, links: &Links) -> Value {
    json!({"id": f.id, "name": f.name, "links": pair_links(links, "flavors", &f.id)})
}

pub fn flavor_detail(f: &FlavorSettings, links: &Links) -> Value {
    let policy = format!(
        "{}_flavor",
        f.class.trim_end_matches(|c: char| c.is_ascii_digit())
    );
    json!({
        "OS-FLV-EXT-DATA:ephemeral": f.ephemeral,
        "OS-FLV-WITH-EXT-SPECS:extra_specs": {"class": f.class, "policy_class": policy},
        "disk": f.disk,
        "id": f.id,
        "links": pair_links(links, "flavors", &f.id),
        "name": f.name,
        "ram": f.ram,
        "rxtx_factor": f.rxtx_factor,
        "swap": if f.swap == 0 { json!("") } else { json!(f.swap) },
        "vcpus": if f.vcpus == 0 { json!("") } else { json!(f.vcpus) },
    })
}

fn image_links(i: &Image, links: &Links) -> Vec<Value> {
    let mut l = pair_links(links, "images", &i.id);
    l.push(json!({
        "href": format!("{}/images/{}", links.origin, i.id),
        "type": "application/vnd.openstack.image",
        "rel": "alternate",
    }));
    l
}

pub fn image_brief(i: &Image, links: &Links) -> Value {
    json!({"id": i.id, "name": i.name, "links": image_links(i, links)})
}

pub fn image_metadata(i: &Image) -> Value {
    match &i.server {
        None => json!({
            "flavor_classes": "*,!onmetal",
            "image_type": "base",
            "os_type": i.os_type,
            "org.openstack__1__os_distro": i.os_distro,
            "vm_mode": "hvm",
            "auto_disk_config": "disabled",
        }),
        Some(server) => json!({
            "image_type": "snapshot",
            "instance_uuid": server,
            "auto_disk_config": "disabled",
        }),
    }
}

pub fn image_detail(i: &Image, links: &Links) -> Value {
    let mut v = json!({
        "id": i.id,
        "name": i.name,
        "status": "ACTIVE",
        "progress": 100,
        "created": iso(i.created_ms),
        "updated": iso(i.created_ms),
        "minDisk": i.min_disk,
        "minRam": i.min_ram,
        "OS-EXT-IMG-SIZE:size": 2_147_483_648_u64,
        "OS-DCF:diskConfig": "MANUAL",
        "metadata": image_metadata(i),
        "links": image_links(i, links),
    });
    if let Some(server) = &i.server {
        v["server"] = json!({"id": server, "links": pair_links(links, "servers", server)});
    }
    v
}

/// A JSON answer; actix sets `Content-Type: application/json`.
pub(crate) fn json(status: StatusCode, body: &impl serde::Serialize) -> HttpResponse {
    HttpResponse::build(status).json(body)
}

/// A JSON answer sent as the parts it was assembled from.
pub(crate) fn json_parts(parts: common::render::JsonParts) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(actix_web::http::header::ContentType::json())
        .body(parts)
}

/// `{"server": ...}` of one server rendering.
pub(crate) fn server_answer(server: bytes::Bytes) -> HttpResponse {
    json_parts(common::render::JsonParts::new(
        b"{\"server\":",
        vec![server],
        bytes::Bytes::from_static(b"}"),
    ))
}

/// `{"server": ...}` of one live server (just written: rendered afresh).
pub(crate) fn one_server(
    t: &Tenant,
    rec: &crate::domain::server::ServerRecord,
    view: crate::domain::status::View,
) -> HttpResponse {
    let base = RenderBase::of(t);
    server_answer(bytes::Bytes::from(render_server(rec, &view, &base)))
}
