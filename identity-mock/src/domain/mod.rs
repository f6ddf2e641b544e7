//! Pure identity logic, free of HTTP and of the store.
//!
//! - [`derive`]: the stable ids and keys of open-mode users, derived from the username.
//! - [`credentials`]: Keystone v2.0 `POST /tokens` bodies parsed into [`credentials::AuthRequest`].
//! - [`v3`]: Keystone v3 `POST /auth/tokens` bodies parsed into [`v3::V3AuthRequest`].
//! - [`render`]: token and user bodies (times, roles, methods) shared by v2 and v3.
//! - [`keystone`]: the service catalog as Keystone v2 and v3 write it, rendered once.

pub mod credentials;
pub mod derive;
pub mod keystone;
pub mod render;
pub mod v3;
