//! Logging through `tracing`: `RUST_LOG` wins over the configured level; JSON lines on
//! request.

use tracing_subscriber::{fmt, EnvFilter};

use crate::settings::TelemetrySettings;

/// Installs the global subscriber once; later calls (tests, the launcher) are no-ops.
pub fn init(settings: &TelemetrySettings) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(settings.level.clone()));
    let builder = fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = if settings.json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
