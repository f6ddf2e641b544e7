//! Domain of lb-mock: stored records ([`model`]), the pure status machine ([`status`]),
//! and the rules and validation of every resource, with CLB's texts. Nothing here knows
//! HTTP: a refused request is a [`rejection::Rejection`], which `error` turns into CLB's
//! answer; routes turn wire bodies into these types and back.

pub mod balancer;
pub mod features;
pub mod fields;
pub mod guards;
pub mod metadata;
pub mod model;
pub mod nodes;
pub mod rejection;
pub mod status;

pub use rejection::Rejection;
