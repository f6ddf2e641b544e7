//! Black-box tests of compute-mock: the real app on a free port, driven over HTTP.
#![allow(clippy::unwrap_used)]

mod actions;
mod auth;
mod catalog;
mod concurrency;
mod glance;
mod helpers;
mod keypairs;
mod listing;
mod metadata;
mod mimic;
mod properties;
mod quotas;
mod routes;
mod seed;
mod servers;
mod status;
mod versions;
