use std::process::ExitCode;

use compute_mock::configuration::Settings;

fn main() -> ExitCode {
    common::cli::main::<Settings, _, _>("compute-mock", |s| async move {
        compute_mock::build(s, None)?.run_until_stopped().await
    })
}
