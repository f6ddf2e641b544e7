//! Black-box tests of what `common` gives every mock: the pipeline (request ids, body
//! limit, unknown routes), every fault action, and the control API.
#![allow(clippy::unwrap_used)]

mod control;
mod faults;
mod helpers;
mod pipeline;
