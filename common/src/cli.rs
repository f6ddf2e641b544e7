//! The command line every mock binary shares, so each `main.rs` stays a few lines:
//! `--config PATH`, `--print-config`, and `healthcheck` (for images with no shell).

use std::future::Future;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::settings::{self, Env, Settings};

#[derive(Parser, Debug)]
#[command(
    version,
    about = "An Understudy mock: a fast, stateful, fault-injectable stand-in"
)]
pub struct Cli {
    /// A TOML settings file layered over the built-in defaults.
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Print the effective settings (defaults, file and environment) as JSON and exit.
    #[arg(long)]
    pub print_config: bool,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Ask a running mock whether it is ready (its catalog reachable); exit 0 if it is.
    Healthcheck {
        /// URL to probe; defaults to this mock's readiness on 127.0.0.1.
        #[arg(long)]
        url: Option<String>,
    },
}

/// Parses the command line, loads settings and runs `serve` on an actix runtime.
/// Bad settings end the process before any port is bound, with one line and exit 2.
pub fn main<S, F, Fut>(name: &str, serve: F) -> ExitCode
where
    S: Settings,
    F: FnOnce(S) -> Fut,
    Fut: Future<Output = std::io::Result<()>>,
{
    let cli = Cli::parse();
    let settings: S = match settings::load(cli.config.as_deref(), Env::Process) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{name}: {e}");
            return ExitCode::from(2);
        }
    };
    if cli.print_config {
        // JSON, so the effective value of every key is unambiguous; a closed pipe
        // (`| head`) is not an error worth a panic.
        let text = match serde_json::to_string_pretty(&settings) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("{name}: cannot print settings: {e}");
                return ExitCode::from(2);
            }
        };
        let _ = writeln!(std::io::stdout(), "{text}");
        return ExitCode::SUCCESS;
    }
    if let Some(Command::Healthcheck { url }) = cli.command {
        let port = settings.base().server.port;
        let url = url.unwrap_or_else(|| {
            format!(
                "http://127.0.0.1:{port}{}/ready",
                crate::startup::CONTROL_PREFIX
            )
        });
        return healthcheck(&url);
    }
    crate::telemetry::init(&settings.base().telemetry);
    if settings.base().auth.signing_key == "understudy-development-key-not-secret" {
        tracing::warn!("using the built-in development signing key: tokens are not secret");
    }
    let result = actix_web::rt::System::new().block_on(serve(settings));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{name}: {e}");
            ExitCode::FAILURE
        }
    }
}

fn healthcheck(url: &str) -> ExitCode {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("healthcheck: {e}");
            return ExitCode::FAILURE;
        }
    };
    let ok = rt.block_on(async {
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(2))
            .build()
            .unwrap_or_default();
        matches!(client.get(url).send().await, Ok(r) if r.status().is_success())
    });
    if ok {
        ExitCode::SUCCESS
    } else {
        eprintln!("healthcheck: {url} is not healthy");
        ExitCode::FAILURE
    }
}
