//! The launcher: Identity, Compute and Load Balancers in one process.
//!
//! It reuses each mock's library (`build(settings, Some(shared))`) and gives each mock its
//! own [`Shared`] (store, journal, metrics), exactly as three processes would have, with
//! one difference: the three read one [`Clock`] object, so a clock call on any of them
//! moves all three without a message. Everything else that is stack-wide (fault rules
//! that name another service, `?scope=stack`, revocations) travels over HTTP through
//! Identity's catalog, as in Compose; so the launcher behaves as the three binaries do.

use std::path::Path;

use common::clock::Clock;
use common::context::Shared;
use common::settings::{self, Env, Settings, SettingsError};
use common::startup::Application;

/// The settings of the three mocks, loaded from the same layers.
#[derive(Clone)]
pub struct StackSettings {
    pub identity: identity_mock::configuration::Settings,
    pub compute: compute_mock::configuration::Settings,
    pub lb: lb_mock::configuration::Settings,
}

/// Ports to bind, when not the mocks' defaults.
#[derive(Debug, Clone, Default)]
pub struct Ports {
    pub identity: Option<u16>,
    pub compute: Option<u16>,
    pub lb: Option<u16>,
}

impl StackSettings {
    /// Each mock's defaults, then `file`, then `env`; then the ports asked for, and
    /// Identity's catalog handed to the other two.
    pub fn load(
        file: Option<&Path>,
        env: impl Fn() -> Env,
        ports: &Ports,
    ) -> Result<StackSettings, SettingsError> {
        let mut s = StackSettings {
            identity: settings::load(file, env())?,
            compute: settings::load(file, env())?,
            lb: settings::load(file, env())?,
        };
        s.apply_ports(ports);
        Ok(s)
    }

    /// Defaults only, every port 0: for tests.
    pub fn for_tests() -> Result<StackSettings, SettingsError> {
        let mut s = StackSettings::load(None, || Env::None, &Ports::default())?;
        s.apply_ports(&Ports {
            identity: Some(0),
            compute: Some(0),
            lb: Some(0),
        });
        Ok(s)
    }

    /// The three mocks on one store (a shared backend keeps each service's keys apart).
    pub fn with_store(mut self, store: common::store::StoreSettings) -> StackSettings {
        self.identity.base_mut().store = store.clone();
        self.compute.base_mut().store = store.clone();
        self.lb.base_mut().store = store;
        self
    }

    fn apply_ports(&mut self, ports: &Ports) {
        if let Some(p) = ports.identity {
            self.identity.base_mut().server.port = p;
        }
        if let Some(p) = ports.compute {
            self.compute.base_mut().server.port = p;
        }
        if let Some(p) = ports.lb {
            self.lb.base_mut().server.port = p;
        }
    }
}

/// What a seed leaves in each mock: applied to a scratch stack (loopback, ports 0, memory
/// stores) through the APIs, so a bad entry is refused before the real ports are bound.
pub struct SeededState {
    pub identity: common::store::Image,
    pub compute: common::store::Image,
    pub lb: common::store::Image,
}

/// Applies `seed` to a scratch copy of the stack `settings` describe; its state.
pub async fn seed_stack(
    settings: &StackSettings,
    seed: &common::seed::Seed,
) -> Result<SeededState, String> {
    let mut scratch = settings.clone();
    for base in [
        scratch.identity.base_mut(),
        scratch.compute.base_mut(),
        scratch.lb.base_mut(),
    ] {
        if base.auth.mode == common::settings::AuthMode::Remote {
            return Err(
                "a seed needs auth.mode signed or open (its calls carry tokens this stack signs)"
                    .into(),
            );
        }
        base.server.host = "127.0.0.1".into();
        base.server.port = 0;
        base.server.workers = 1;
        base.store = common::store::StoreSettings::Memory;
    }
    let admin = scratch.identity.base().control.admin_token.clone();
    let codec = common::token::TokenCodec::new(&scratch.compute.base().auth.signing_key);
    let compute_region = scratch.compute.compute.default_region.clone();
    let lb_region = scratch.lb.lb.default_region.clone();
    let stack = Stack::build(scratch).map_err(|e| e.to_string())?;
    let url = |p: u16| format!("http://127.0.0.1:{p}");
    let urls = [
        url(stack.identity.port()),
        url(stack.compute.port()),
        url(stack.lb.port()),
    ];
    let handles = [
        stack.identity.handle(),
        stack.compute.handle(),
        stack.lb.handle(),
    ];
    let running = actix_web::rt::spawn(stack.run_until_stopped());
    let targets = common::seed::Targets {
        identity: Some(urls[0].clone()),
        compute: Some(urls[1].clone()),
        lb: Some(urls[2].clone()),
        compute_region,
        lb_region,
        admin_token: admin.clone(),
        codec,
    };
    let outcome = async {
        common::seed::apply(seed, &targets).await?;
        Ok::<_, String>(SeededState {
            identity: common::seed::image_of(&urls[0], &admin).await?,
            compute: common::seed::image_of(&urls[1], &admin).await?,
            lb: common::seed::image_of(&urls[2], &admin).await?,
        })
    }
    .await;
    for h in handles {
        h.stop(true).await;
    }
    let _ = running.await;
    outcome
}

/// The three mocks, bound and ready to run.
pub struct Stack {
    pub identity: Application,
    pub compute: Application,
    pub lb: Application,
    /// The clock the three read.
    pub clock: Clock,
}

impl Stack {
    /// Binds all three. The catalog every mock uses is Identity's, with the ports that
    /// were really bound (so port 0 works) filled into its URLs.
    pub fn build(mut s: StackSettings) -> std::io::Result<Stack> {
        let clock = Clock::default();
        let shared = |base: &common::settings::BaseSettings, service: &str| {
            Shared::with_clock(base, service, clock.clone()).map_err(std::io::Error::other)
        };
        let defaults = [
            (5000u16, s.identity.base().server.port),
            (8774, s.compute.base().server.port),
            (9876, s.lb.base().server.port),
        ];
        // Bind first, so the catalog can name the real ports.
        let identity_listener = bind(&s.identity.base().server)?;
        let compute_listener = bind(&s.compute.base().server)?;
        let lb_listener = bind(&s.lb.base().server)?;
        let bound = [
            identity_listener.local_addr()?.port(),
            compute_listener.local_addr()?.port(),
            lb_listener.local_addr()?.port(),
        ];
        let mut catalog = s.identity.base().catalog.clone();
        let moves: Vec<(u16, u16)> = defaults.iter().map(|(d, _)| *d).zip(bound).collect();
        let rebind = |url: &str| rebind_ports(url, &moves);
        catalog.identity_url = rebind(&format!("{}/", catalog.identity_url))
            .trim_end_matches('/')
            .to_string();
        for svc in &mut catalog.services {
            if svc.external {
                continue;
            }
            svc.public_url = rebind(&svc.public_url);
            svc.internal_url = svc.internal_url.as_deref().map(rebind);
            svc.admin_url = svc.admin_url.as_deref().map(rebind);
        }
        for (base, port) in [
            (s.identity.base_mut(), bound[0]),
            (s.compute.base_mut(), bound[1]),
            (s.lb.base_mut(), bound[2]),
        ] {
            base.catalog = catalog.clone();
            base.server.port = port;
        }
        drop((identity_listener, compute_listener, lb_listener));
        let (identity, compute, lb) = (
            shared(s.identity.base(), "identity")?,
            shared(s.compute.base(), "compute")?,
            shared(s.lb.base(), "lb")?,
        );
        Ok(Stack {
            identity: identity_mock::build(s.identity, Some(identity))?,
            compute: compute_mock::build(s.compute, Some(compute))?,
            lb: lb_mock::build(s.lb, Some(lb))?,
            clock,
        })
    }

    /// Puts a seeded state into the three stores (bound, before the first request).
    pub async fn restore(&self, state: &SeededState) -> Result<(), String> {
        for (app, image) in [
            (&self.identity, &state.identity),
            (&self.compute, &state.compute),
            (&self.lb, &state.lb),
        ] {
            app.context()
                .store
                .restore(image)
                .await
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    /// Serves all three until the process is told to stop.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let (a, b, c) = futures_util::future::join3(
            self.identity.run_until_stopped(),
            self.compute.run_until_stopped(),
            self.lb.run_until_stopped(),
        )
        .await;
        a.and(b).and(c)
    }
}

/// `url` with each `:{from}/` turned into `:{to}/`, all at once: a port moved onto another
/// mock's default (`--identity-port 8774`) is not moved a second time.
fn rebind_ports(url: &str, moves: &[(u16, u16)]) -> String {
    let mut out = String::with_capacity(url.len());
    let mut rest = url;
    'scan: while !rest.is_empty() {
        for (from, to) in moves {
            let pattern = format!(":{from}/");
            if let Some(tail) = rest.strip_prefix(pattern.as_str()) {
                out.push_str(&format!(":{to}/"));
                rest = tail;
                continue 'scan;
            }
        }
        let mut chars = rest.chars();
        if let Some(c) = chars.next() {
            out.push(c);
        }
        rest = chars.as_str();
    }
    out
}

fn bind(server: &common::settings::ServerSettings) -> std::io::Result<std::net::TcpListener> {
    std::net::TcpListener::bind((server.host.as_str(), server.port))
}

#[cfg(test)]
mod tests {
    use super::rebind_ports;

    #[test]
    fn ports_are_moved_at_once_even_onto_each_others_defaults() {
        let moves = [(5000, 8774), (8774, 9876), (9876, 5000)];
        assert_eq!(
            rebind_ports("http://localhost:8774/ORD/v2/t", &moves),
            "http://localhost:9876/ORD/v2/t"
        );
        assert_eq!(
            rebind_ports("http://localhost:5000/", &moves),
            "http://localhost:8774/"
        );
        assert_eq!(rebind_ports("http://h:15000/x", &moves), "http://h:15000/x");
    }
}
