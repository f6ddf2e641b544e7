//! The lb-mock binary: settings, then the library's application until SIGINT/SIGTERM.

use lb_mock::configuration::Settings;

/// mimalloc: the mocks allocate many small, short-lived strings per request.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    common::cli::main::<Settings, _, _>("lb-mock", |s| async move {
        lb_mock::build(s, None)?.run_until_stopped().await
    })
}
