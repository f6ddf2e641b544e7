//! The command line every mock binary shares, so each `main.rs` stays a few lines:
//! `--config PATH`, `--print-config`, `--seed FILE`, and `healthcheck` (for images with
//! no shell).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::context::{Shared, CONTROL_PREFIX};
use crate::settings::{self, Env, Settings};
use crate::startup::Application;

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
    /// A seed file of fixtures (this mock's part of it) to start with: TOML, or JSON by
    /// its `.json` name. Wins over `seed.file`.
    #[arg(long, value_name = "FILE")]
    pub seed: Option<PathBuf>,
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

/// How a mock is built: its `build(settings, shared)`.
pub type Build<S> = fn(S, Option<Shared>) -> std::io::Result<Application>;

/// Parses the command line, loads settings (and the seed file), builds the mock named
/// `service` (the binary `name`) with `build` and serves it on an actix runtime. Bad
/// settings or a bad seed end the process before any port is bound, with one line and
/// exit 2.
pub fn main<S: Settings>(name: &str, service: &'static str, build: Build<S>) -> ExitCode {
    let cli = Cli::parse();
    let mut settings: S = match settings::load(cli.config.as_deref(), Env::Process) {
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
        let url = url.unwrap_or_else(|| format!("http://127.0.0.1:{port}{}/ready", CONTROL_PREFIX));
        return healthcheck(&url);
    }
    crate::telemetry::init(&settings.base().telemetry);
    if settings.base().auth.signing_key == "understudy-development-key-not-secret" {
        tracing::warn!("using the built-in development signing key: tokens are not secret");
    }
    let seed_path = cli.seed.clone().or_else(|| {
        let f = &settings.base().seed.file;
        (!f.is_empty()).then(|| PathBuf::from(f))
    });
    let seed = match seed_path.as_deref().map(crate::seed::load).transpose() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{name}: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(s) = &seed {
        if let Err(e) = settings.add_seed_users(&s.users) {
            eprintln!("{name}: seed file {}: {e}", display(&seed_path));
            return ExitCode::from(2);
        }
    }
    let result = actix_web::rt::System::new().block_on(async move {
        let image = match &seed {
            Some(seed) => Some(
                seeded(service, &settings, build, seed)
                    .await
                    .map_err(|e| Start::Seed(format!("seed file {}: {e}", display(&seed_path))))?,
            ),
            None => None,
        };
        let shared = Shared::new(settings.base(), service).map_err(Start::from)?;
        // Bound, not yet serving: the seeded state is in before the first request.
        let app = build(settings, Some(shared.clone())).map_err(Start::Io)?;
        if let Some(image) = image {
            shared
                .store
                .restore(&image)
                .await
                .map_err(|e| Start::Other(std::io::Error::other(e.to_string())))?;
        }
        app.run_until_stopped().await.map_err(Start::Io)
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Start::Seed(e)) => {
            eprintln!("{name}: {e}");
            ExitCode::from(2)
        }
        Err(Start::Io(e)) | Err(Start::Other(e)) => {
            eprintln!("{name}: {e}");
            ExitCode::FAILURE
        }
    }
}

enum Start {
    Seed(String),
    Io(std::io::Error),
    Other(std::io::Error),
}

impl From<crate::store::StoreError> for Start {
    fn from(e: crate::store::StoreError) -> Self {
        Start::Other(std::io::Error::other(e))
    }
}

fn display(path: &Option<PathBuf>) -> String {
    path.as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_default()
}

/// Applies this mock's part of `seed` to a scratch copy of it (loopback, port 0, memory
/// store, alone) and hands back the state it ends with.
async fn seeded<S: Settings>(
    name: &'static str,
    settings: &S,
    build: Build<S>,
    seed: &crate::seed::Seed,
) -> Result<crate::store::Image, String> {
    let mut scratch = settings.clone();
    {
        let base = scratch.base_mut();
        base.server.host = "127.0.0.1".into();
        base.server.port = 0;
        base.server.workers = 1;
        base.store = crate::store::StoreSettings::Memory;
        base.catalog.identity_url = String::new();
        base.auth.mode = match base.auth.mode {
            crate::settings::AuthMode::Remote => return Err(
                "a seed needs auth.mode signed or open (its calls carry tokens this stack signs)"
                    .into(),
            ),
            m => m,
        };
    }
    let base = scratch.base().clone();
    let region = scratch.default_region().unwrap_or_default();
    let app = build(scratch, None).map_err(|e| e.to_string())?;
    let url = format!("http://127.0.0.1:{}", app.port());
    let handle = app.handle();
    let server = actix_web::rt::spawn(app.run_until_stopped());
    let mine = |n: &str| (n == name).then(|| url.clone());
    let targets = crate::seed::Targets {
        identity: mine("identity"),
        compute: mine("compute"),
        lb: mine("lb"),
        compute_region: region.clone(),
        lb_region: region,
        admin_token: base.control.admin_token.clone(),
        codec: crate::token::TokenCodec::new(&base.auth.signing_key),
    };
    let outcome = match crate::seed::apply(seed, &targets).await {
        Ok(()) => crate::seed::image_of(&url, &base.control.admin_token).await,
        Err(e) => Err(e),
    };
    handle.stop(true).await;
    let _ = server.await;
    outcome
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
