#![allow(clippy::unwrap_used)]

mod compute;
mod controls;
mod features;
mod helpers;
mod loadbalancers;
mod nodes;
mod properties;
mod routes;
mod status;
