//! HTTP routes of the compute mock, their wire formats, and the [`Tenant`] extractor
//! every emulated route starts with (region check, token, links).
//!
//! The same routes are mounted twice: under `/{region}/v2/{tenant_id}` and under
//! `/v2/{tenant_id}` (the default region). Mimic's control routes live under
//! `/mimic/{region}/v2/{tenant_id}` and need no token. The image service (Glance v2)
//! lives under `/{region}/images`.

mod actions;
mod flavors;
mod glance;
mod images;
mod keypairs;
mod limits;
mod metadata;
mod mimic;
mod request;
mod servers;
mod versions;
mod wire;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use crate::error::ComputeError;

pub use request::{Links, Tenant};
pub use wire::RenderedServers;

/// Mounts every route of the mock.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(versions::get_versions))
        .route("/v2", web::get().to(versions::get_version))
        .route("/v2/", web::get().to(versions::get_version))
        .service(mimic::scope())
        .service(api(web::scope("/v2/{tenant_id}")))
        .service(glance::scope())
        .service(api(web::scope("/{region}/v2/{tenant_id}")))
        .route("/{region}/v2", web::get().to(versions::get_version))
        .route("/{region}/v2/", web::get().to(versions::get_version));
}

/// A resource answering 405 `badMethod` in Nova's format for methods it does not serve.
fn resource(path: &str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(bad_method))
}

async fn bad_method(req: HttpRequest) -> Result<HttpResponse, ComputeError> {
    Err(ComputeError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!(
            "The method {} is not allowed for this resource.",
            req.method()
        ),
    ))
}

fn api<T>(scope: actix_web::Scope<T>) -> actix_web::Scope<T>
where
    T: actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Error = actix_web::Error,
        InitError = (),
    >,
{
    scope
        .service(
            resource("/servers")
                .route(web::get().to(servers::list_servers))
                .route(web::post().to(servers::create_server)),
        )
        .service(resource("/servers/detail").route(web::get().to(servers::list_servers_detail)))
        .service(
            resource("/servers/{server_id}")
                .route(web::get().to(servers::get_server))
                .route(web::put().to(servers::update_server))
                .route(web::delete().to(servers::delete_server)),
        )
        .service(resource("/servers/{server_id}/ips").route(web::get().to(servers::list_ips)))
        .service(
            resource("/servers/{server_id}/ips/{network}")
                .route(web::get().to(servers::get_ips_by_network)),
        )
        .service(resource("/servers/{server_id}/action").route(web::post().to(actions::act)))
        .service(
            resource("/servers/{server_id}/metadata")
                .route(web::get().to(metadata::list_metadata))
                .route(web::put().to(metadata::replace_metadata))
                .route(web::post().to(metadata::merge_metadata)),
        )
        .service(
            resource("/servers/{server_id}/metadata/{key}")
                .route(web::get().to(metadata::get_metadata_item))
                .route(web::put().to(metadata::set_metadata_item))
                .route(web::delete().to(metadata::delete_metadata_item)),
        )
        .service(resource("/flavors").route(web::get().to(flavors::list_flavors)))
        .service(resource("/flavors/detail").route(web::get().to(flavors::list_flavors_detail)))
        .service(resource("/flavors/{flavor_id}").route(web::get().to(flavors::get_flavor)))
        .service(resource("/images").route(web::get().to(images::list_images)))
        .service(resource("/images/detail").route(web::get().to(images::list_images_detail)))
        .service(
            resource("/images/{image_id}")
                .route(web::get().to(images::get_image))
                .route(web::delete().to(images::delete_image)),
        )
        .service(resource("/limits").route(web::get().to(limits::get_limits)))
        .service(
            resource("/os-quota-sets/{quota_tenant}").route(web::get().to(limits::get_quota_set)),
        )
        .service(
            resource("/os-keypairs")
                .route(web::get().to(keypairs::list_keypairs))
                .route(web::post().to(keypairs::create_keypair)),
        )
        .service(
            resource("/os-keypairs/{name}")
                .route(web::get().to(keypairs::get_keypair))
                .route(web::delete().to(keypairs::delete_keypair)),
        )
}
