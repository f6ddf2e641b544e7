//! Pure identity logic, free of HTTP and of the store.
//!
//! - [`derive`]: the stable ids and keys of open-mode users, derived from the username.
//! - [`user`]: users, who a configured entry or an open-mode name is, which credentials
//!   prove them and which tenants they may use.
//! - [`credentials`]: Keystone v2.0 `POST /tokens` bodies parsed into [`credentials::AuthRequest`].
//! - [`v3`]: Keystone v3 `POST /auth/tokens` bodies parsed into [`v3::V3AuthRequest`].
//! - [`token`]: what a new token says ([`token::NewToken`]) and when it expires.
//! - [`render`]: token and user bodies (times, roles, methods) shared by v2 and v3.
//! - [`keystone`]: the service catalog as Keystone v2 and v3 write it, rendered once.
//! - [`external`]: external APIs (OS-KSADM services, OS-KSCATALOG endpoint templates)
//!   suites add to the catalog, and which tenants see them.
//! - [`mimic`]: Mimic's auth behaviours and the failures they inject.

pub mod credentials;
pub mod derive;
pub mod external;
pub mod keystone;
pub mod mimic;
pub mod render;
pub mod token;
pub mod user;
pub mod v3;
