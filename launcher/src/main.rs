//! `understudy`: the whole stack in one process, on the mocks' default ports.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use common::settings::{Env, Settings};
use understudy::{Ports, Stack, StackSettings};

/// mimalloc: the mocks allocate many small, short-lived strings per request.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    version,
    about = "Identity (5000), Compute (8774) and Load Balancers (9876) in one process"
)]
struct Cli {
    /// A TOML settings file layered over every mock's defaults.
    #[arg(long, value_name = "PATH")]
    config: Option<PathBuf>,
    #[arg(long)]
    identity_port: Option<u16>,
    #[arg(long)]
    compute_port: Option<u16>,
    #[arg(long)]
    lb_port: Option<u16>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let ports = Ports {
        identity: cli.identity_port,
        compute: cli.compute_port,
        lb: cli.lb_port,
    };
    let settings = match StackSettings::load(cli.config.as_deref(), || Env::Process, &ports) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("understudy: {e}");
            return ExitCode::from(2);
        }
    };
    common::telemetry::init(&settings.identity.base().telemetry);
    let result = actix_web::rt::System::new().block_on(async move {
        let stack = Stack::build(settings)?;
        tracing::info!(
            identity = stack.identity.port(),
            compute = stack.compute.port(),
            lb = stack.lb.port(),
            "understudy stack is up"
        );
        stack.run_until_stopped().await
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("understudy: {e}");
            ExitCode::FAILURE
        }
    }
}
