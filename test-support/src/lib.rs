//! What the test suites of every Understudy crate share, and nothing a binary carries (a
//! dev-dependency only): a mock's settings for a test, the mock served on a free port, a
//! token signed as the stack signs them, the store a test runs on (memory, or Redis when
//! `UNDERSTUDY_TEST_REDIS` names one), a partition of it held as another replica would,
//! and arbitrary request bodies for property tests ([`props`]).

pub mod props;

use common::settings::Settings;
use common::startup::Application;
use common::token::{Claims, TokenCodec};

pub use props::{arbitrary_body, arbitrary_json, assert_never_a_5xx, Route, CASES};

/// A mock's defaults made for a test: a free port, two workers, no Identity to look for
/// (the mock runs alone, so no control call goes looking for peers), and the store under
/// test.
pub fn settings<S: Settings>() -> S {
    let mut s: S = common::settings::defaults().expect("the default settings load");
    let base = s.base_mut();
    base.server.port = 0;
    base.server.workers = 2;
    base.catalog.identity_url = String::new();
    base.store = store_under_test();
    s
}

/// Serves a built mock in the background; its base URL (`http://127.0.0.1:{port}`).
pub fn serve(app: Application) -> String {
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    address
}

/// A token for `tenant` signed with `codec`, as Identity would issue it: a user of the
/// tenant with the `identity:user-admin` role, never expiring however far a test moves
/// the clock.
pub fn mint(codec: &TokenCodec, tenant: &str) -> String {
    codec.issue(&Claims {
        id: format!("tok-{tenant}-{}", uuid::Uuid::new_v4()),
        tenant_id: tenant.into(),
        tenant_name: tenant.into(),
        user_id: format!("user-{tenant}"),
        user_name: format!("user{tenant}"),
        roles: vec!["identity:user-admin".into()],
        methods: vec!["PASSWORD".into()],
        iat: 0,
        exp: i64::MAX / 2,
        never_expires: false,
        impersonator: None,
    })
}

/// The environment variable that puts the black-box suites on Redis: a URL such as
/// `redis://127.0.0.1:6379/0`. Unset, they run in memory. CI runs the workspace suite
/// once each way.
pub const TEST_REDIS: &str = "UNDERSTUDY_TEST_REDIS";

/// The store a black-box test runs on: memory, or the Redis at [`TEST_REDIS`] under a
/// namespace of its own (so tests running side by side never see each other's keys).
pub fn store_under_test() -> common::store::StoreSettings {
    match std::env::var(TEST_REDIS) {
        Ok(url) if !url.is_empty() => {
            common::store::StoreSettings::Redis(common::store::redis::RedisSettings {
                url,
                namespace: format!("test-{}", uuid::Uuid::new_v4().simple()),
                timeout_ms: 5000,
            })
        }
        _ => common::store::StoreSettings::Memory,
    }
}

/// Holds `scope`'s partition of `table` for `hold`, as another replica would: on a thread
/// and runtime of its own (so its sleep holds up nobody else's runtime), and answers once
/// it holds it. Joining the handle waits for the hold to end and gives the step's outcome.
pub async fn hold_partition<T: common::store::Record>(
    table: common::store::Table<T>,
    scope: common::store::Scope,
    hold: std::time::Duration,
) -> std::thread::JoinHandle<Result<(), common::store::StoreError>> {
    let (holding, held) = std::sync::mpsc::channel();
    let holder = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime for the holder");
        rt.block_on(table.transact(&scope, |_| {
            let _ = holding.send(());
            std::thread::sleep(hold);
        }))
    });
    tokio::task::spawn_blocking(move || held.recv())
        .await
        .expect("the holder's wait ends")
        .expect("the holder holds the partition");
    holder
}
