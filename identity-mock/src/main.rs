//! The identity-mock binary: settings, telemetry and the command line come from `common`.

use identity_mock::configuration::Settings;

/// mimalloc: the mocks allocate many small, short-lived strings per request.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    common::cli::main::<Settings>("identity-mock", "identity", identity_mock::build)
}
