//! A tiny emulated API served through `common`, and a client for it.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use common::auth::Caller;
use common::context::{RouteInfo, ServiceContext, ServiceSpec, Shared};
use common::error::{ApiError, ErrorStyle};
use common::json::Json;
use common::settings::{AuthMode, BaseSettings, Settings};
use common::startup::Application;
use common::store::Scope;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TestSettings {
    #[serde(flatten)]
    pub base: BaseSettings,
}

impl Settings for TestSettings {
    const DEFAULTS: &'static str = "";
    fn base(&self) -> &BaseSettings {
        &self.base
    }
    fn base_mut(&mut self) -> &mut BaseSettings {
        &mut self.base
    }
}

fn render(status: StatusCode, kind: Option<&str>, message: &str) -> Value {
    ErrorStyle::wrapped(status, kind.unwrap_or("testFault"), message)
}

fn route_info(path: &str) -> RouteInfo {
    let mut parts = path.trim_start_matches('/').split('/');
    match (parts.next(), parts.next()) {
        (Some("v1"), Some(t)) => RouteInfo {
            tenant: Some(t.to_string()),
            region: Some("ORD".into()),
            style: None,
        },
        _ => RouteInfo::default(),
    }
}

pub fn spec() -> ServiceSpec {
    ServiceSpec {
        name: "test",
        style: ErrorStyle { render },
        bad_json: "Malformed request body",
        not_found: "The resource could not be found.",
        route_info: std::sync::Arc::new(route_info),
        fault_exempt: &["/exempt/"],
        rewrite_path: None,
        summary: None,
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Thing {
    name: String,
}

async fn hello(caller: Caller) -> HttpResponse {
    HttpResponse::Ok().json(json!({"hello": caller.tenant_id, "padding": "x".repeat(64)}))
}

async fn create_thing(
    ctx: web::Data<ServiceContext>,
    caller: Caller,
    Json(body): Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let name = body["thing"]["name"]
        .as_str()
        .unwrap_or("unnamed")
        .to_string();
    ctx.store
        .table::<Thing>("things")
        .put(
            &Scope::tenant(caller.tenant_id),
            &name,
            Thing { name: name.clone() },
        )
        .await
        .map_err(|_| ctx.error(StatusCode::INTERNAL_SERVER_ERROR, "store"))?;
    Ok(HttpResponse::Accepted().json(json!({"thing": {"name": name}})))
}

async fn list_things(
    ctx: web::Data<ServiceContext>,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    let things = ctx
        .store
        .table::<Thing>("things")
        .list(&Scope::tenant(caller.tenant_id))
        .await
        .map_err(|_| ctx.error(StatusCode::INTERNAL_SERVER_ERROR, "store"))?;
    Ok(HttpResponse::Ok().json(json!({"things": things})))
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub shared: Shared,
}

pub fn settings() -> TestSettings {
    let mut s: TestSettings = common::settings::defaults().unwrap();
    s.base.server.port = 0;
    s.base.server.workers = 2;
    s.base.auth.mode = AuthMode::Open;
    // Alone unless a test lists peers: no Identity runs beside it.
    s.base.catalog.identity_url = String::new();
    s.base.store = test_support::store_under_test();
    s
}

pub async fn spawn_app() -> TestApp {
    spawn_with(settings(), None).await
}

pub async fn spawn_with(settings: TestSettings, shared: Option<Shared>) -> TestApp {
    let shared = shared.unwrap_or_else(|| Shared::new(&settings.base, "test").unwrap());
    let app = Application::build(spec(), &settings.base, shared.clone(), |cfg| {
        cfg.route("/v1/{tenant_id}/hello", web::get().to(hello))
            .route("/exempt/{tenant_id}/hello", web::get().to(hello))
            .route("/v1/{tenant_id}/things", web::post().to(create_thing))
            .route("/v1/{tenant_id}/things", web::get().to(list_things));
    })
    .unwrap();
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        client: reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .unwrap(),
        shared,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    pub async fn control(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> reqwest::Response {
        let mut req = self
            .client
            .request(method, self.url(&format!("/_understudy/v1{path}")));
        if let Some(b) = body {
            req = req.json(&b);
        }
        req.send().await.unwrap()
    }

    /// Installs a fault rule and returns its id.
    pub async fn add_fault(&self, rule: Value) -> String {
        let res = self
            .control(reqwest::Method::POST, "/faults", Some(rule))
            .await;
        assert_eq!(res.status(), 201, "fault rule should be created");
        let body: Value = res.json().await.unwrap();
        body["id"].as_str().unwrap().to_string()
    }
}
