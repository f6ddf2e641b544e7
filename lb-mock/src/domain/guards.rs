//! Whether a balancer may change now: the statuses that allow it, with CLB's texts, and
//! the limit of ids one bulk request may name.

use super::model::LoadBalancer;
use super::rejection::Rejection;
use super::status::LbStatus;

pub const DELETED_IMMUTABLE: &str = "The load balancer is deleted and considered immutable.";
pub const NOT_ACTIVE: &str = "LoadBalancer is not ACTIVE";

/// Refused unless the balancer is ACTIVE (a DELETED one has its own text).
pub fn require_active(lb: &LoadBalancer, status: LbStatus) -> Result<(), Rejection> {
    match status {
        LbStatus::Active => Ok(()),
        LbStatus::Deleted => Err(Rejection::unprocessable(DELETED_IMMUTABLE)),
        s => Err(Rejection::unprocessable(immutable_text(lb.id, s))),
    }
}

/// Refused unless the balancer is ACTIVE, with the batch texts (bulk deletes).
pub fn require_active_for_batch(status: LbStatus) -> Result<(), Rejection> {
    match status {
        LbStatus::Active => Ok(()),
        LbStatus::Deleted => Err(Rejection::unprocessable(DELETED_IMMUTABLE)),
        _ => Err(Rejection::unprocessable(NOT_ACTIVE)),
    }
}

pub fn immutable_text(id: u64, status: LbStatus) -> String {
    format!(
        "Load Balancer '{id}' has a status of '{}' and is considered immutable.",
        status.as_str()
    )
}

/// The limit of ids one bulk request may name.
pub fn check_batch_size(n: usize, max: usize) -> Result<(), Rejection> {
    if n > max {
        return Err(Rejection::bad_request(format!(
            "Currently, the limit of accepted parameters is: {max} :please supply a valid parameter list."
        )));
    }
    Ok(())
}
