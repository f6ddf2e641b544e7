//! One mock as `common` sees it: what the mock tells about itself ([`ServiceSpec`]), its
//! state ([`Shared`]) and everything its handlers may need ([`ServiceContext`], the app
//! data of every worker); with the addresses and the admin gate of the control plane,
//! which the request pipeline needs as much as the control API and the console do.

use std::sync::Arc;
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::web;

use crate::auth::Authenticator;
use crate::behaviors::Behaviors;
use crate::catalog::{CatalogClient, RemoteIdentity};
use crate::clock::Clock;
use crate::error::{ApiError, ErrorStyle};
use crate::faults::rules::FaultEngine;
use crate::journal::Journal;
use crate::metrics::Metrics;
use crate::settings::{AuthMode, BaseSettings};
use crate::store::{Store, StoreError};

/// The prefix of the control API every mock serves; no emulated route starts with it.
pub const CONTROL_PREFIX: &str = "/_understudy/v1";

/// Where the console lives on every mock.
pub const UI_PREFIX: &str = "/_understudy/ui";

/// Marks a request the console makes of a mock's API on its own behalf (the LB's
/// summary asking Compute about servers): no fault rule touches it and the journal does
/// not keep it, as the console's own reads.
pub const CONSOLE_HEADER: &str = "x-understudy-console";

/// Carried by every call one mock forwards to another: the sender's store id.
pub const STORE_HEADER: &str = "x-understudy-store";

/// The text of a control call refused for want of the admin token.
pub const ADMIN_TOKEN_REQUIRED: &str = "admin token required";

/// Whether a control call may proceed: no admin token is set, or the request carries it
/// (`X-Admin-Token`, or `Authorization: Bearer`). One gate for every control surface:
/// the control API, the console and Mimic's control routes (see `pipeline`).
pub fn admin_allowed(expected: &str, headers: &actix_web::http::header::HeaderMap) -> bool {
    if expected.is_empty() {
        return true;
    }
    let given = headers
        .get("x-admin-token")
        .and_then(|v| v.to_str().ok())
        .or_else(|| {
            headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
        });
    given.is_some_and(|g| subtle::ConstantTimeEq::ct_eq(g.as_bytes(), expected.as_bytes()).into())
}

/// What a mock can tell from a path alone, before routing: the tenant and region it is
/// about (for fault rules and the journal) and, when one API answers in two formats
/// (Keystone v2 and v3), the error style of that path.
#[derive(Debug, Clone, Default)]
pub struct RouteInfo {
    pub tenant: Option<String>,
    pub region: Option<String>,
    pub style: Option<ErrorStyle>,
}

impl RouteInfo {
    /// The tenant and region of `[/mimic][/{region}]/{version}/{tenant_id}/…`, the shape
    /// Compute's and the Load Balancers' routes share: the default region for a path
    /// without a `{region}` segment, and for one with it what `region` makes of the
    /// segment as the routes read it (`None`: no region serves that path).
    pub fn of_tenant_path(
        path: &str,
        version: &str,
        default_region: &str,
        region: impl Fn(&str) -> Option<String>,
    ) -> RouteInfo {
        let path = path.trim_start_matches('/');
        let path = path.strip_prefix("mimic/").unwrap_or(path);
        let mut segs = path.split('/');
        let (first, second, third) = (segs.next(), segs.next(), segs.next());
        let (tenant, region) = match (first, second, third) {
            (Some(v), Some(tenant), _) if v == version => (tenant, Some(default_region.into())),
            (Some(r), Some(v), Some(tenant)) if v == version => (tenant, region(r)),
            _ => return RouteInfo::default(),
        };
        if tenant.is_empty() {
            return RouteInfo::default();
        }
        RouteInfo {
            tenant: Some(tenant.to_string()),
            region,
            style: None,
        }
    }
}

/// Reads a [`RouteInfo`] from a path; a closure, so it can know settings (the default
/// region of unprefixed routes).
pub type RouteInfoFn = Arc<dyn Fn(&str) -> RouteInfo + Send + Sync>;

/// What a mock tells `common` about itself.
#[derive(Clone)]
pub struct ServiceSpec {
    /// `identity`, `compute` or `lb`: the name fault rules and the journal use.
    pub name: &'static str,
    pub style: ErrorStyle,
    /// The API's text for a body that is not valid JSON.
    pub bad_json: &'static str,
    /// The API's text for an unknown route.
    pub not_found: &'static str,
    pub route_info: RouteInfoFn,
    /// Mimic's control routes: generic faults never touch them, and the admin token
    /// guards them as it guards the control API.
    pub fault_exempt: &'static [&'static str],
    /// The path to route instead of the one sent, when it differs (`None`: route as
    /// sent). Applied after fault rules and the journal have read the path as sent, so
    /// only routing (and the route label of metrics) sees it.
    pub rewrite_path: Option<fn(&str) -> Option<String>>,
    /// What the mock holds, as its API shows it now (statuses judged on the clock):
    /// `GET /_understudy/v1/summary` and the console's State panel.
    pub summary: Option<SummaryFn>,
}

/// A mock's summary of its state: `{"scopes": [{"tenant", "region", ...}]}`.
pub type SummaryFn = Arc<
    dyn Fn(
            web::Data<ServiceContext>,
        )
            -> futures_util::future::LocalBoxFuture<'static, Result<serde_json::Value, StoreError>>
        + Send
        + Sync,
>;

/// The state of one mock: its store (with the clock it reads), journal and metrics.
///
/// Every mock has its own, in every topology; the launcher builds three with
/// [`Shared::with_clock`] so that only the clock is one object in its process. What a
/// mock knows of its peers it learns over HTTP, in one process or in three (but the
/// stack's clock, which a Redis store also keeps).
#[derive(Clone)]
pub struct Shared {
    pub store: Store,
    pub journal: Journal,
    pub metrics: Metrics,
}

impl Shared {
    /// The state of the mock `service` (its [`ServiceSpec::name`]).
    pub fn new(base: &BaseSettings, service: &str) -> Result<Shared, StoreError> {
        Shared::with_clock(base, service, Clock::default())
    }

    /// What a mock's `build(settings, shared)` starts from: the state it was given (the
    /// launcher's), or its own made from its settings.
    pub fn given_or_new(
        given: Option<Shared>,
        base: &BaseSettings,
        service: &str,
    ) -> std::io::Result<Shared> {
        match given {
            Some(s) => Ok(s),
            None => Shared::new(base, service).map_err(std::io::Error::other),
        }
    }

    /// A mock's state that reads a clock other mocks of this process read too.
    pub fn with_clock(
        base: &BaseSettings,
        service: &str,
        clock: Clock,
    ) -> Result<Shared, StoreError> {
        let store = Store::from_settings_with_clock(&base.store, service, clock)?;
        Ok(Shared {
            journal: Journal::for_store(base.journal.capacity, &store),
            store,
            metrics: Metrics::default(),
        })
    }
}

/// Everything a handler of one mock may need from `common`; app data of every worker.
pub struct ServiceContext {
    pub spec: ServiceSpec,
    pub style: ErrorStyle,
    pub base: BaseSettings,
    pub store: Store,
    pub journal: Journal,
    pub metrics: Metrics,
    pub auth: Authenticator,
    pub faults: FaultEngine,
    pub behaviors: Behaviors,
    pub catalog: Arc<CatalogClient>,
    pub http: reqwest::Client,
    /// Whether this mock reads the stack's clock: true at once for a mock with no
    /// Identity to ask (Identity itself, the launcher's, a mock alone); for the others,
    /// once they have taken Identity's clock (a mock that starts or restarts after a
    /// tick must not run on wall time while its peers stand still).
    pub clock_joined: std::sync::atomic::AtomicBool,
}

impl ServiceContext {
    pub fn new(spec: ServiceSpec, base: &BaseSettings, shared: &Shared) -> ServiceContext {
        ServiceContext {
            style: spec.style,
            base: base.clone(),
            store: shared.store.clone(),
            journal: shared.journal.clone(),
            metrics: shared.metrics.clone(),
            auth: Authenticator::new(&base.auth, shared.store.clone()),
            faults: FaultEngine::new(spec.name, &shared.store),
            spec,
            behaviors: Behaviors::new(&shared.store),
            catalog: Arc::new(CatalogClient::new(&base.catalog).beside(
                (base.auth.mode == AuthMode::Remote).then(|| RemoteIdentity {
                    url: base.auth.remote.url.clone(),
                    version: base.auth.remote.version,
                }),
            )),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .unwrap_or_default(),
            clock_joined: std::sync::atomic::AtomicBool::new(
                base.catalog.identity_url.is_empty() || !base.catalog.services.is_empty(),
            ),
        }
    }

    /// The error style of a path: the control API's under its prefix, else the API's,
    /// unless the path says otherwise.
    pub fn style_of(&self, path: &str) -> ErrorStyle {
        if path.starts_with(CONTROL_PREFIX) {
            return ErrorStyle::CONTROL;
        }
        (self.spec.route_info)(path).style.unwrap_or(self.style)
    }

    /// An error in this API's format.
    pub fn error(&self, status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError::new(self.style, status, message)
    }
}
