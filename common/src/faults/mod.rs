//! Faults are data: rules that make any route of any mock fail the way real services do.
//!
//! - [`rules`]: the rule model, its checks, and the engine that decides which rule fires
//!   for a request (and spends its budget).
//! - [`inject`]: what a firing rule does to the request it fired on.

pub mod inject;
pub mod rules;
