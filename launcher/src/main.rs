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
    /// A seed file of fixtures to start with (TOML, or JSON by its `.json` name); wins
    /// over `seed.file`.
    #[arg(long, value_name = "FILE")]
    seed: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let ports = Ports {
        identity: cli.identity_port,
        compute: cli.compute_port,
        lb: cli.lb_port,
    };
    let mut settings = match StackSettings::load(cli.config.as_deref(), || Env::Process, &ports) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("understudy: {e}");
            return ExitCode::from(2);
        }
    };
    let seed_path = cli.seed.clone().or_else(|| {
        let f = &settings.identity.base().seed.file;
        (!f.is_empty()).then(|| PathBuf::from(f))
    });
    let seed = match seed_path.as_deref().map(common::seed::load).transpose() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("understudy: {e}");
            return ExitCode::from(2);
        }
    };
    let shown = seed_path
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    if let Some(s) = &seed {
        if let Err(e) = settings.identity.add_seed_users(&s.users) {
            eprintln!("understudy: seed file {shown}: {e}");
            return ExitCode::from(2);
        }
    }
    common::telemetry::init(&settings.identity.base().telemetry);
    let result = actix_web::rt::System::new().block_on(async move {
        let seeded = match &seed {
            Some(seed) => match understudy::seed_stack(&settings, seed).await {
                Ok(state) => Some(state),
                Err(e) => return Ok(Err(format!("seed file {shown}: {e}"))),
            },
            None => None,
        };
        let stack = Stack::build(settings)?;
        if let Some(state) = &seeded {
            stack.restore(state).await.map_err(std::io::Error::other)?;
        }
        tracing::info!(
            identity = stack.identity.port(),
            compute = stack.compute.port(),
            lb = stack.lb.port(),
            "understudy stack is up"
        );
        stack.run_until_stopped().await.map(Ok)
    });
    match result {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(seed_error)) => {
            eprintln!("understudy: {seed_error}");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("understudy: {e}");
            ExitCode::FAILURE
        }
    }
}
