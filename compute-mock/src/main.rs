use std::process::ExitCode;

use compute_mock::configuration::Settings;

/// mimalloc: the mocks allocate many small, short-lived strings per request.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    common::cli::main::<Settings>("compute-mock", "compute", compute_mock::build)
}
