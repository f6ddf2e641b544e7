//! Black-box tests of identity-mock: the real app on port 0, driven over HTTP.
#![allow(clippy::unwrap_used)]

mod errors;
mod external;
mod helpers;
mod impersonation;
mod mimic;
mod properties;
mod routes;
mod strict;
mod tokens;
mod users;
mod v3;
mod versions;
