use std::process::ExitCode;

use compute_mock::configuration::Settings;

/// mimalloc: the mocks allocate many small, short-lived strings per request.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    common::cli::main::<Settings, _, _>("compute-mock", |s| async move {
        compute_mock::build(s, None)?.run_until_stopped().await
    })
}
