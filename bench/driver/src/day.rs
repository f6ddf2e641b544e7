//! The scenario: an autoscaler's day, phase by phase.
//!
//! 1. `auth`: `POST /v2.0/tokens` (passwordCredentials + tenantId), the catalog's
//!    `cloudServersOpenStack` and `cloudLoadBalancers` public URLs for the region, an image.
//! 2. `balancers`: one balancer per 25 servers (CLB's node limit is 25 per balancer, so a
//!    group of N servers behind CLB needs ceil(N/25) of them), ACTIVE before use.
//! 3. `create servers`: N servers with Mimic's `server_building` metadata (BUILD for that
//!    many seconds of virtual time), `--concurrency` in flight, 5xx retried.
//! 4. `tick`: one server is read (BUILD: the build time is virtual), then the stack's
//!    clock moves past the build time.
//! 5. `list`: `servers/detail?limit=1000` page after page (the `servers_links` next
//!    marker); every server made must be ACTIVE; their private addresses become nodes.
//! 6. `add nodes`: each balancer gets its 25 servers in one request, then is read until
//!    ACTIVE again (PENDING_UPDATE: the clock is ticked, `--lb-tick-seconds` at a time;
//!    with `--lb-wait retry` it is not read, and only a 422 on its next change waits).
//! 7. `fault`: a rule on Compute fails the tenant's next create once (500); one more
//!    server is created, its first attempt fails and the retry succeeds; the rule says it
//!    fired once and is removed; a tick builds the server, which is read ACTIVE.
//! 8. `remove nodes`: every node removed, 10 ids per bulk delete (CLB's batch limit),
//!    each delete followed by the balancer's return to ACTIVE (as in 6).
//! 9. `delete servers`: all N + 1, then the tenant's list must not show them.
//! 10. `delete balancers`.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::task::JoinSet;

use crate::args::Args;
use crate::http::{on_replica, origin, query_param, Answer, Api, Http, Json, Method, Result};

/// Nodes per balancer (CLB's limit) and node ids per bulk delete (CLB's batch limit).
const NODES_PER_BALANCER: usize = 25;
const NODE_IDS_PER_DELETE: usize = 10;
/// Reads of a balancer (with a tick between) before giving up on its return to ACTIVE.
const ACTIVE_READS: usize = 60;

pub struct Phase {
    pub name: &'static str,
    pub seconds: f64,
    pub requests: u64,
}

/// What the day did, beside the timings.
#[derive(Default)]
pub struct Outcome {
    pub servers_active: usize,
    pub balancers: usize,
    pub nodes_added: usize,
    pub pages: usize,
    /// A server's status before the tick (BUILD).
    pub status_before_tick: String,
    pub injected_failure_status: u16,
    pub retry_succeeded: bool,
    pub rule_fired: u64,
    pub tick_endpoint: &'static str,
    pub compute_urls: Vec<String>,
    pub lb_url: String,
}

struct Clock {
    start: Instant,
    mark: Instant,
    requests: u64,
    phases: Vec<Phase>,
}

impl Clock {
    fn new(http: &Http) -> Clock {
        let now = Instant::now();
        Clock {
            start: now,
            mark: now,
            requests: http.requests(),
            phases: Vec::new(),
        }
    }

    fn done(&mut self, name: &'static str, http: &Http) {
        let now = Instant::now();
        let requests = http.requests();
        self.phases.push(Phase {
            name,
            seconds: (now - self.mark).as_secs_f64(),
            requests: requests - self.requests,
        });
        self.mark = now;
        self.requests = requests;
    }
}

/// Runs `f` over `items` with at most `limit` in flight (that many tasks, each taking the
/// next item); the results in the items' order. The first error stops the others taking
/// more and is returned.
async fn bounded<T, R, F, Fut>(api: &Arc<Api>, items: Vec<T>, limit: usize, f: F) -> Result<Vec<R>>
where
    T: Send + 'static,
    R: Send + 'static,
    F: Fn(Arc<Api>, T) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<R>> + Send + 'static,
{
    let total = items.len();
    let queue = Arc::new(Mutex::new(items.into_iter().enumerate()));
    let f = Arc::new(f);
    let failed = Arc::new(AtomicBool::new(false));
    let mut tasks = JoinSet::new();
    for _ in 0..limit.min(total) {
        let (queue, f, api, failed) = (queue.clone(), f.clone(), api.clone(), failed.clone());
        tasks.spawn(async move {
            let mut out = Vec::new();
            while !failed.load(Relaxed) {
                let next = queue.lock().unwrap_or_else(|e| e.into_inner()).next();
                let Some((i, item)) = next else { break };
                match f(api.clone(), item).await {
                    Ok(r) => out.push((i, r)),
                    Err(e) => {
                        failed.store(true, Relaxed);
                        return Err(e);
                    }
                }
            }
            Ok(out)
        });
    }
    let mut all = Vec::with_capacity(total);
    let mut first_error = None;
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(Ok(part)) => all.extend(part),
            Ok(Err(e)) => {
                first_error.get_or_insert(e);
            }
            Err(e) => {
                first_error.get_or_insert(format!("a task failed: {e}"));
            }
        }
    }
    if let Some(e) = first_error {
        return Err(e);
    }
    all.sort_unstable_by_key(|(i, _)| *i);
    Ok(all.into_iter().map(|(_, r)| r).collect())
}

#[derive(Deserialize)]
struct Access {
    access: AccessBody,
}
#[derive(Deserialize)]
struct AccessBody {
    token: TokenBody,
    #[serde(rename = "serviceCatalog")]
    catalog: Vec<CatalogEntry>,
}
#[derive(Deserialize)]
struct TokenBody {
    id: String,
}
#[derive(Deserialize)]
struct CatalogEntry {
    name: String,
    #[serde(default)]
    endpoints: Vec<Endpoint>,
}
#[derive(Deserialize)]
struct Endpoint {
    #[serde(default)]
    region: Option<String>,
    #[serde(rename = "publicURL")]
    public_url: String,
}

#[derive(Deserialize)]
struct Images {
    images: Vec<Image>,
}
#[derive(Deserialize)]
struct Image {
    id: String,
    #[serde(default)]
    name: String,
}

#[derive(Deserialize)]
struct Created {
    server: CreatedServer,
}
#[derive(Deserialize)]
struct CreatedServer {
    id: String,
}

#[derive(Deserialize)]
struct ServerPage {
    servers: Vec<ListedServer>,
    #[serde(default)]
    servers_links: Vec<Link>,
}
#[derive(Deserialize)]
struct ListedServer {
    id: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    addresses: Addresses,
}
/// Of a server's networks, the one whose address becomes a node (the others are scanned
/// past, not stored).
#[derive(Deserialize, Default)]
struct Addresses {
    #[serde(default)]
    private: Vec<Address>,
}
#[derive(Deserialize)]
struct Address {
    addr: String,
    #[serde(default)]
    version: u8,
}
#[derive(Deserialize)]
struct Link {
    href: String,
    rel: String,
}

#[derive(Deserialize)]
struct OneServer {
    server: ListedServer,
}

#[derive(Deserialize)]
struct Balancer {
    #[serde(rename = "loadBalancer")]
    lb: BalancerBody,
}
#[derive(Deserialize)]
struct BalancerBody {
    id: u64,
    status: String,
}
#[derive(Deserialize)]
struct Nodes {
    nodes: Vec<NodeId>,
}
#[derive(Deserialize)]
struct NodeId {
    id: u64,
}

#[derive(Deserialize)]
struct Rule {
    id: String,
    #[serde(default)]
    fired: u64,
}

/// `POST /v2.0/tokens`; the token, the region's Compute and Load Balancers URLs.
async fn authenticate(http: &Http, args: &Args) -> Result<(String, String, String)> {
    let body = Json::of(&json!({"auth": {
        "passwordCredentials": {"username": args.username, "password": "understudy"},
        "tenantId": args.tenant,
    }}))?;
    let url = format!("{}/v2.0/tokens", args.identity);
    let access: Access = http
        .send(Method::POST, &url, Some(&body), None)
        .await?
        .expect(200, "authenticate")?
        .json("authenticate")?;
    let endpoint = |name: &str| {
        access
            .access
            .catalog
            .iter()
            .filter(|e| e.name == name)
            .flat_map(|e| e.endpoints.iter())
            .find(|e| e.region.as_deref() == Some(args.region.as_str()))
            .map(|e| e.public_url.trim_end_matches('/').to_string())
            .ok_or_else(|| format!("the catalog has no {name} endpoint in {}", args.region))
    };
    let compute = endpoint("cloudServersOpenStack")?;
    let lb = endpoint("cloudLoadBalancers")?;
    Ok((access.access.token.id, compute, lb))
}

/// Reads the balancer until it is ACTIVE, ticking the clock while it is BUILD or
/// PENDING_UPDATE (the mock's `lb.build_time_ms` / `pending_update_time_ms`).
async fn wait_active(api: &Api, id: u64, tick_seconds: f64) -> Result<()> {
    let url = format!("{}/loadbalancers/{id}", api.lb);
    for _ in 0..ACTIVE_READS {
        let b: Balancer = api
            .call(Method::GET, &url, None)
            .await?
            .expect(200, "read balancer")?
            .json("read balancer")?;
        match b.lb.status.as_str() {
            "ACTIVE" => return Ok(()),
            "BUILD" | "PENDING_UPDATE" => api.tick(tick_seconds).await?,
            other => {
                return Err(format!(
                    "balancer {id} is {other}, not on its way to ACTIVE"
                ))
            }
        }
    }
    Err(format!(
        "balancer {id} is not ACTIVE after {ACTIVE_READS} reads"
    ))
}

/// A change to a balancer that CLB refuses with 422 while it is not ACTIVE: on 422 the
/// balancer is waited for and the change sent again.
async fn change_balancer(
    api: &Api,
    id: u64,
    method: Method,
    url: &str,
    body: Option<&Json>,
    tick_seconds: f64,
    what: &str,
) -> Result<Answer> {
    for _ in 0..5 {
        let (a, _) = api.call_retrying(method, || url.to_string(), body).await?;
        if a.status != 422 {
            return a.expect(202, what);
        }
        wait_active(api, id, tick_seconds).await?;
    }
    Err(format!("{what}: balancer {id} kept refusing the change"))
}

/// A server that stays BUILD for `build_seconds` of virtual time (Mimic's metadata).
fn server_body(name: &str, image: &str, build_seconds: u64) -> Result<Json> {
    #[derive(Serialize)]
    struct New<'a> {
        server: NewServer<'a>,
    }
    #[derive(Serialize)]
    struct NewServer<'a> {
        name: &'a str,
        #[serde(rename = "imageRef")]
        image_ref: &'a str,
        #[serde(rename = "flavorRef")]
        flavor_ref: &'a str,
        metadata: Building,
    }
    #[derive(Serialize)]
    struct Building {
        server_building: String,
    }
    Json::of(&New {
        server: NewServer {
            name,
            image_ref: image,
            flavor_ref: "2",
            metadata: Building {
                server_building: build_seconds.to_string(),
            },
        },
    })
}

/// Servers' addresses as a balancer's nodes.
fn nodes_body(addresses: &[String]) -> Result<Json> {
    #[derive(Serialize)]
    struct NewNodes<'a> {
        nodes: Vec<NewNode<'a>>,
    }
    #[derive(Serialize)]
    struct NewNode<'a> {
        address: &'a str,
        port: u16,
        condition: &'static str,
        #[serde(rename = "type")]
        kind: &'static str,
    }
    Json::of(&NewNodes {
        nodes: addresses
            .iter()
            .map(|a| NewNode {
                address: a,
                port: 80,
                condition: "ENABLED",
                kind: "PRIMARY",
            })
            .collect(),
    })
}

/// The marker of a `servers_links` next link.
fn next_marker(links: &[Link]) -> Option<String> {
    let next = links.iter().find(|l| l.rel == "next")?;
    query_param(&next.href, "marker")
}

fn private_v4(s: &ListedServer) -> Option<String> {
    s.addresses
        .private
        .iter()
        .find(|a| a.version == 4 || a.version == 0)
        .map(|a| a.addr.clone())
}

pub async fn run(args: &Args, http: Http) -> Result<(Arc<Api>, Vec<Phase>, f64, Outcome)> {
    let mut out = Outcome::default();
    let mut clock = Clock::new(&http);
    let c = args.concurrency;
    let tick_seconds = args.lb_tick_seconds;
    let read_after = args.lb_read_after_change;

    // 1. Authenticate; the catalog; an image.
    let (token, catalog_compute, lb) = authenticate(&http, args).await?;
    let computes = if args.compute_urls.is_empty() {
        vec![catalog_compute]
    } else {
        args.compute_urls
            .iter()
            .map(|r| on_replica(&catalog_compute, r))
            .collect::<Result<_>>()?
    };
    out.compute_urls = computes.clone();
    out.lb_url = lb.clone();
    let api = Arc::new(Api::new(http, token, args.identity.clone(), computes, lb));
    let images: Images = api
        .call(Method::GET, &format!("{}/images", api.compute()), None)
        .await?
        .expect(200, "list images")?
        .json("list images")?;
    let image = images
        .images
        .iter()
        .find(|i| i.name.starts_with("Ubuntu"))
        .or(images.images.first())
        .map(|i| i.id.clone())
        .ok_or("Compute lists no image")?;
    clock.done("auth", &api.http);

    // 2. The balancers, one per 25 servers.
    let k = args.n.div_ceil(NODES_PER_BALANCER);
    let balancers = bounded(&api, (0..k).collect(), c, move |api, i| async move {
        let body = Json::of(&json!({"loadBalancer": {
            "name": format!("autoscale-{i}"),
            "port": 80,
            "protocol": "HTTP",
            "virtualIps": [{"type": "PUBLIC"}],
        }}))?;
        let url = format!("{}/loadbalancers", api.lb);
        let (a, _) = api
            .call_retrying(Method::POST, || url.clone(), Some(&body))
            .await?;
        let b: Balancer = a.expect(202, "create balancer")?.json("create balancer")?;
        if b.lb.status != "ACTIVE" {
            wait_active(&api, b.lb.id, tick_seconds).await?;
        }
        Ok(b.lb.id)
    })
    .await?;
    out.balancers = balancers.len();
    clock.done("balancers", &api.http);

    // 3. N servers, BUILD for build_seconds of virtual time.
    let build_seconds = args.build_seconds;
    let image_id = Arc::new(image);
    let im = image_id.clone();
    let ids = bounded(&api, (0..args.n).collect(), c, move |api, i| {
        let body = server_body(&format!("as-{i}"), &im, build_seconds);
        async move {
            let body = body?;
            let (a, _) = api
                .call_retrying(
                    Method::POST,
                    || format!("{}/servers", api.compute()),
                    Some(&body),
                )
                .await?;
            let s: Created = a.expect(202, "create server")?.json("create server")?;
            Ok(s.server.id)
        }
    })
    .await?;
    clock.done("create servers", &api.http);

    // 4. Past the build time. Before it, a server is still BUILD: `server_building` is
    // virtual time (the wall clock has not moved that far), whatever compute.build_time_ms.
    if let Some(first) = ids.first() {
        let seen: OneServer = api
            .call(
                Method::GET,
                &format!("{}/servers/{first}", api.compute()),
                None,
            )
            .await?
            .expect(200, "read server")?
            .json("read server")?;
        if build_seconds > 0 && seen.server.status != "BUILD" {
            return Err(format!(
                "server {first} is {} before the tick, not BUILD",
                seen.server.status
            ));
        }
        out.status_before_tick = seen.server.status;
    }
    api.tick(build_seconds as f64 + 1.0).await?;
    out.tick_endpoint = api.tick_endpoint();
    clock.done("tick", &api.http);

    // 5. Every page of the list; every server ACTIVE.
    let mut listed: HashMap<String, ListedServer> = HashMap::with_capacity(args.n);
    let mut marker: Option<String> = None;
    loop {
        let mut url = format!("{}/servers/detail?limit=1000", api.compute());
        if let Some(m) = &marker {
            url.push_str("&marker=");
            url.push_str(m);
        }
        let page: ServerPage = api
            .call(Method::GET, &url, None)
            .await?
            .expect(200, "list servers")?
            .json("list servers")?;
        out.pages += 1;
        let next = next_marker(&page.servers_links);
        let empty = page.servers.is_empty();
        for s in page.servers {
            listed.insert(s.id.clone(), s);
        }
        match next {
            Some(m) if !empty && marker.as_deref() != Some(m.as_str()) => marker = Some(m),
            _ => break,
        }
    }
    let mut ips = Vec::with_capacity(ids.len());
    let mut not_active: HashMap<String, usize> = HashMap::new();
    for id in &ids {
        match listed.get(id) {
            Some(s) if s.status == "ACTIVE" => {
                ips.push(private_v4(s).ok_or_else(|| format!("server {id} has no private IPv4"))?)
            }
            Some(s) => *not_active.entry(s.status.clone()).or_default() += 1,
            None => *not_active.entry("not listed".into()).or_default() += 1,
        }
    }
    out.servers_active = ips.len();
    if !not_active.is_empty() {
        return Err(format!(
            "{} of {} servers are ACTIVE after the tick; the others: {not_active:?}",
            ips.len(),
            ids.len()
        ));
    }
    clock.done("list", &api.http);

    // 6. Each balancer takes its 25 servers.
    let groups: Vec<(u64, Vec<String>)> = balancers
        .iter()
        .copied()
        .zip(ips.chunks(NODES_PER_BALANCER).map(<[String]>::to_vec))
        .collect();
    let node_ids = bounded(&api, groups, c, move |api, (id, addrs)| async move {
        let body = nodes_body(&addrs)?;
        let url = format!("{}/loadbalancers/{id}/nodes", api.lb);
        let added: Nodes = change_balancer(
            &api,
            id,
            Method::POST,
            &url,
            Some(&body),
            tick_seconds,
            "add nodes",
        )
        .await?
        .json("add nodes")?;
        if read_after {
            wait_active(&api, id, tick_seconds).await?;
        }
        Ok((
            id,
            added.nodes.into_iter().map(|n| n.id).collect::<Vec<_>>(),
        ))
    })
    .await?;
    out.nodes_added = node_ids.iter().map(|(_, n)| n.len()).sum();
    clock.done("add nodes", &api.http);

    // 7. One create fails (an injected 500), the retry succeeds.
    let compute0 = api.computes[0].clone();
    let control = format!("{}/_understudy/v1/faults", origin(&compute0)?);
    let rule = Json::of(&json!({
        "description": "understudy-driver: the next create fails once",
        "match": {"method": "POST", "path": "/**/servers", "tenant": args.tenant},
        "action": {"type": "error", "status": 500, "kind": "computeFault",
                   "message": "injected by understudy-driver"},
        "budget": {"times": 1},
    }))?;
    let rule: Rule = api
        .call(Method::POST, &control, Some(&rule))
        .await?
        .expect(201, "add fault rule")?
        .json("add fault rule")?;
    let body = server_body("as-retried", &image_id, build_seconds)?;
    let (a, failed) = api
        .call_retrying(Method::POST, || format!("{compute0}/servers"), Some(&body))
        .await?;
    let extra: Created = a
        .expect(202, "create after a failure")?
        .json("create server")?;
    out.injected_failure_status = failed.first().copied().unwrap_or(0);
    out.retry_succeeded = failed == [500];
    if !out.retry_succeeded {
        return Err(format!(
            "expected one failed create (500) then success, the failed attempts were {failed:?}"
        ));
    }
    let seen: Rule = api
        .call(Method::GET, &format!("{control}/{}", rule.id), None)
        .await?
        .expect(200, "read fault rule")?
        .json("read fault rule")?;
    out.rule_fired = seen.fired;
    api.call(Method::DELETE, &format!("{control}/{}", rule.id), None)
        .await?;
    api.tick(build_seconds as f64 + 1.0).await?;
    let one: OneServer = api
        .call(
            Method::GET,
            &format!("{}/servers/{}", api.compute(), extra.server.id),
            None,
        )
        .await?
        .expect(200, "read the retried server")?
        .json("read server")?;
    if one.server.status != "ACTIVE" {
        return Err(format!(
            "the retried server is {} after the tick",
            one.server.status
        ));
    }
    clock.done("fault + retry", &api.http);

    // 8. Scale down: the nodes leave their balancers, 10 ids per bulk delete.
    bounded(&api, node_ids, c, move |api, (id, nodes)| async move {
        for chunk in nodes.chunks(NODE_IDS_PER_DELETE) {
            let q: Vec<String> = chunk.iter().map(|n| format!("id={n}")).collect();
            let url = format!("{}/loadbalancers/{id}/nodes?{}", api.lb, q.join("&"));
            change_balancer(
                &api,
                id,
                Method::DELETE,
                &url,
                None,
                tick_seconds,
                "remove nodes",
            )
            .await?;
            if read_after {
                wait_active(&api, id, tick_seconds).await?;
            }
        }
        Ok(())
    })
    .await?;
    clock.done("remove nodes", &api.http);

    // 9. The servers go.
    let mut all = ids;
    all.push(extra.server.id);
    let gone: std::collections::HashSet<String> = all.iter().cloned().collect();
    bounded(&api, all, c, move |api, id| async move {
        let (a, _) = api
            .call_retrying(
                Method::DELETE,
                || format!("{}/servers/{id}", api.compute()),
                None,
            )
            .await?;
        a.expect(204, "delete server")?;
        Ok(())
    })
    .await?;
    let left: ServerPage = api
        .call(
            Method::GET,
            &format!("{}/servers?limit=1000", api.compute()),
            None,
        )
        .await?
        .expect(200, "list servers")?
        .json("list servers")?;
    let still = left.servers.iter().filter(|s| gone.contains(&s.id)).count();
    if still > 0 {
        return Err(format!("{still} deleted servers are still listed"));
    }
    clock.done("delete servers", &api.http);

    // 10. The balancers go. CLB refuses to delete a PENDING_UPDATE balancer (400 "could not
    // be found"): after the last node change it may be one (`--lb-wait retry`), so a
    // refusal waits for ACTIVE and asks again.
    bounded(&api, balancers, c, move |api, id| async move {
        let url = format!("{}/loadbalancers/{id}", api.lb);
        for _ in 0..5 {
            let (a, _) = api
                .call_retrying(Method::DELETE, || url.clone(), None)
                .await?;
            if a.status != 400 && a.status != 422 {
                a.expect(202, "delete balancer")?;
                return Ok(());
            }
            wait_active(&api, id, tick_seconds).await?;
        }
        Err(format!("balancer {id} kept refusing to be deleted"))
    })
    .await?;
    clock.done("delete balancers", &api.http);

    let total = clock.start.elapsed().as_secs_f64();
    Ok((api, clock.phases, total, out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_marker_is_read_from_the_link() {
        let links = vec![Link {
            href: "http://localhost:8774/ORD/v2/1/servers/detail?limit=1000&marker=abc-1".into(),
            rel: "next".into(),
        }];
        assert_eq!(next_marker(&links).as_deref(), Some("abc-1"));
        assert_eq!(next_marker(&[]), None);
    }
}
