//! Minting a token: the claims of a new token from the user, the tenant it is scoped to,
//! how the user proved who they are, and when it expires. Signing them is
//! `common::token`'s; this says what goes in.

use common::token::Claims;

use crate::domain::user::User;

/// When a new token expires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    /// After the TTL, if this Identity's tokens expire (`identity.token_expiry`).
    Default,
    /// At this instant (unix seconds), as the client asked (impersonation's
    /// `expire-in-seconds`): such a token expires whatever the setting.
    At(i64),
    /// As the token it is derived from (a token cannot extend itself).
    Inherit { exp: i64, never_expires: bool },
}

impl Expiry {
    /// The expiry of a token derived from `original`.
    pub fn of(original: &Claims) -> Expiry {
        Expiry::Inherit {
            exp: original.exp,
            never_expires: original.never_expires,
        }
    }
}

/// How this Identity's tokens expire by default (`auth.token_ttl_s`,
/// `identity.token_expiry`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenPolicy {
    pub ttl_s: i64,
    /// Whether tokens with the default expiry expire at all.
    pub expire: bool,
}

/// What a new token says: for whom, in which tenant, proved how, until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewToken<'a> {
    pub user: &'a User,
    /// The tenant the token is scoped to, as (id, name); empty for an unscoped token.
    pub tenant: (String, String),
    /// `RAX-AUTH:authenticatedBy`: how the user proved who they are.
    pub methods: Vec<String>,
    pub expiry: Expiry,
    /// The (id, name) of the user impersonating `user`, for impersonation tokens.
    pub impersonator: Option<(String, String)>,
}

impl NewToken<'_> {
    /// The claims of the token, with id `id`, issued at `now` (unix seconds).
    pub fn claims(self, id: String, now: i64, policy: TokenPolicy) -> Claims {
        let (exp, never_expires) = match self.expiry {
            Expiry::Default => (now.saturating_add(policy.ttl_s), !policy.expire),
            Expiry::At(exp) => (exp, false),
            Expiry::Inherit { exp, never_expires } => (exp, never_expires),
        };
        Claims {
            id,
            tenant_id: self.tenant.0,
            tenant_name: self.tenant.1,
            user_id: self.user.id.clone(),
            user_name: self.user.name.clone(),
            roles: self.user.roles.clone(),
            methods: self.methods,
            iat: now,
            exp,
            never_expires,
            impersonator: self.impersonator,
        }
    }
}

/// A new token id: 32 hex digits from the thread's generator (a v4 UUID from the OS
/// costs a system call per token).
pub fn new_id() -> String {
    uuid::Builder::from_random_bytes(rand::random())
        .into_uuid()
        .simple()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn joe() -> User {
        User::open(
            "joe",
            "u1".into(),
            Some("42".into()),
            vec!["compute:default".into()],
            "DFW".into(),
        )
    }

    fn token(user: &User, expiry: Expiry) -> NewToken<'_> {
        NewToken {
            user,
            tenant: ("42".into(), "42".into()),
            methods: vec!["PASSWORD".into()],
            expiry,
            impersonator: None,
        }
    }

    #[test]
    fn the_default_expiry_follows_the_policy_and_others_are_kept() {
        let joe = joe();
        let expiring = TokenPolicy {
            ttl_s: 100,
            expire: true,
        };
        let c = token(&joe, Expiry::Default).claims("t".into(), 1_000, expiring);
        assert_eq!((c.iat, c.exp, c.never_expires), (1_000, 1_100, false));
        assert_eq!((c.user_name.as_str(), c.tenant_id.as_str()), ("joe", "42"));
        let lasting = TokenPolicy {
            ttl_s: 100,
            expire: false,
        };
        assert!(
            token(&joe, Expiry::Default)
                .claims("t".into(), 1_000, lasting)
                .never_expires
        );
        let asked = token(&joe, Expiry::At(5_000)).claims("t".into(), 1_000, lasting);
        assert_eq!((asked.exp, asked.never_expires), (5_000, false));
        let inherited = Expiry::Inherit {
            exp: 7,
            never_expires: true,
        };
        let c = token(&joe, inherited).claims("t".into(), 1_000, expiring);
        assert_eq!((c.exp, c.never_expires), (7, true));
    }

    #[test]
    fn token_ids_are_32_hex_digits() {
        let id = new_id();
        assert_eq!(id.len(), 32);
        assert!(id.chars().all(|c| c.is_ascii_hexdigit()));
    }
}
