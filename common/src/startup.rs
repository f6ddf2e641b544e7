//! Start-up of one mock: bind first (port 0 works), wrap the mock's routes in the shared
//! request pipeline (`pipeline`), add the control API, the console and the answer to
//! unknown routes, so every mock has them; serve until SIGINT/SIGTERM.

use std::net::TcpListener;

use actix_web::dev::{Server, ServerHandle};
use actix_web::http::StatusCode;
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};

use crate::context::{ServiceContext, ServiceSpec, Shared};
use crate::error::{ApiError, ErrorStyle};
use crate::pipeline::pipeline;
use crate::settings::BaseSettings;

/// A bound, not yet running, mock.
pub struct Application {
    port: u16,
    server: Server,
    context: web::Data<ServiceContext>,
}

impl Application {
    /// Binds `base.server.host:port` and prepares the server; `routes` adds the mock's
    /// own routes (and its own app data, built once by the caller).
    pub fn build(
        spec: ServiceSpec,
        base: &BaseSettings,
        shared: Shared,
        routes: impl Fn(&mut web::ServiceConfig) + Clone + Send + 'static,
    ) -> std::io::Result<Application> {
        let listener = TcpListener::bind((base.server.host.as_str(), base.server.port))?;
        let port = listener.local_addr()?.port();
        let name = spec.name;
        let context = web::Data::new(ServiceContext::new(spec, base, &shared));
        if tokio::runtime::Handle::try_current().is_ok() {
            tokio::spawn(crate::control::join_stack_clock(context.clone()));
        }
        let ctx = context.clone();
        let mut server = HttpServer::new(move || {
            App::new()
                .app_data(ctx.clone())
                .wrap(from_fn(pipeline))
                .service(crate::control::scope())
                .service(crate::console::scope())
                .configure(routes.clone())
                .default_service(web::to(not_found))
        })
        // Without it, the last segment of a large answer (a page of servers) waits for
        // the client's delayed ACK: up to 40 ms per answer.
        .tcp_nodelay(true)
        .listen(listener)?
        .shutdown_timeout(base.server.shutdown_timeout_s);
        if base.server.workers > 0 {
            server = server.workers(base.server.workers);
        }
        tracing::info!(service = name, port, "listening");
        Ok(Application {
            port,
            server: server.run(),
            context,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn context(&self) -> web::Data<ServiceContext> {
        self.context.clone()
    }

    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until stopped (SIGINT/SIGTERM, or the handle), letting requests finish.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

async fn not_found(req: HttpRequest) -> HttpResponse {
    let ctx = req.app_data::<web::Data<ServiceContext>>();
    let (style, message) = ctx
        .map(|c| (c.style_of(req.path()), c.spec.not_found))
        .unwrap_or((ErrorStyle::CONTROL, "not found"));
    ApiError::new(style, StatusCode::NOT_FOUND, message)
        .kind("itemNotFound")
        .to_response()
}
