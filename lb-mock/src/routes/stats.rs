//! `/loadbalancers/{id}/stats`: plausible connection statistics derived from the id.

use actix_web::HttpResponse;
use serde_json::json;

use super::request::Req;
use crate::domain::status::LbStatus;
use crate::error::LbError;

pub async fn get_stats(r: Req) -> Result<HttpResponse, LbError> {
    let id = r.lb_id()?;
    let (lb, seen) = r.balancers().load(id).await?;
    if seen.status != LbStatus::Active {
        return Err(LbError::unprocessable(
            "The load balancer is not available to display statistics.",
        ));
    }
    let s = lb.id.wrapping_mul(40_503) % 97;
    let nodes = lb.nodes.len() as u64;
    Ok(HttpResponse::Ok().json(json!({
        "connectTimeOut": s % 10,
        "connectError": s % 7,
        "connectFailure": s % 5,
        "dataTimedOut": s % 13,
        "keepAliveTimedOut": s % 11,
        "maxConn": 10 * nodes + s,
        "currentConn": 3 * nodes + s % 17,
        "connectTimeOutSsl": 0,
        "connectErrorSsl": 0,
        "connectFailureSsl": 0,
        "dataTimedOutSsl": 0,
        "keepAliveTimedOutSsl": 0,
        "maxConnSsl": 0,
        "currentConnSsl": 0,
    })))
}
