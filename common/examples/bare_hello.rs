//! The yardstick of every benchmark: a bare actix-web handler with nothing of Understudy
//! in front of it. `bench/run.py` measures the mocks as ratios to this, in the same run.
//!
//! Usage: `bare_hello PORT` (one worker).

use actix_web::{web, App, HttpResponse, HttpServer};

fn main() -> std::io::Result<()> {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(7999);
    actix_web::rt::System::new().block_on(async move {
        HttpServer::new(|| {
            App::new().route(
                "/hello",
                web::get().to(|| async {
                    HttpResponse::Ok().json(serde_json::json!({"hello": "world"}))
                }),
            )
        })
        .workers(1)
        .bind(("127.0.0.1", port))?
        .run()
        .await
    })
}
