//! The lb-mock binary: settings, then the library's application until SIGINT/SIGTERM.

use lb_mock::configuration::Settings;

/// mimalloc: the mocks allocate many small, short-lived strings per request.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    common::cli::main::<Settings>("lb-mock", "lb", lb_mock::build)
}
