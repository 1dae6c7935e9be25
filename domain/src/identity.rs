//! Who may sign in and what they may open: roles, e-mail addresses, the password policy
//! and the rule for the sign-in page's `next` parameter.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A user's role. Stored as its [`Role::as_str`] text.
///
/// - `SuperAdmin`: everything, including managing admins;
/// - `Admin`: the admin portal (`/admin`);
/// - `Customer`: only the customer portal (`/portal`) of its own carrier.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    SuperAdmin,
    Admin,
    Customer,
}

/// Error from [`Role::parse`]: the text is not one of `super_admin`, `admin`, `customer`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown role `{0}`: expected super_admin, admin or customer")]
pub struct UnknownRole(pub String);

impl Role {
    /// Every role, most privileged first.
    pub const ALL: [Role; 3] = [Role::SuperAdmin, Role::Admin, Role::Customer];

    /// The stored and command-line spelling: `super_admin`, `admin`, `customer`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::SuperAdmin => "super_admin",
            Role::Admin => "admin",
            Role::Customer => "customer",
        }
    }

    /// A label for people: "Super admin", "Admin", "Customer".
    pub fn label(self) -> &'static str {
        match self {
            Role::SuperAdmin => "Super admin",
            Role::Admin => "Admin",
            Role::Customer => "Customer",
        }
    }

    /// Parses the stored spelling (see [`Role::as_str`]); also accepts `-` for `_`.
    pub fn parse(text: &str) -> Result<Role, UnknownRole> {
        match text.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "super_admin" => Ok(Role::SuperAdmin),
            "admin" => Ok(Role::Admin),
            "customer" => Ok(Role::Customer),
            _ => Err(UnknownRole(text.to_string())),
        }
    }

    /// True for staff roles, which may open the admin portal.
    pub fn is_staff(self) -> bool {
        matches!(self, Role::SuperAdmin | Role::Admin)
    }

    /// True when this role has at least the rights of `required`
    /// (`SuperAdmin` ⊇ `Admin`; `Customer` satisfies only `Customer`).
    pub fn satisfies(self, required: Role) -> bool {
        match required {
            Role::SuperAdmin => self == Role::SuperAdmin,
            Role::Admin => self.is_staff(),
            Role::Customer => self == Role::Customer,
        }
    }

    /// Where this role lands after sign-in when no `next` was given.
    pub fn home_path(self) -> &'static str {
        if self.is_staff() {
            "/admin"
        } else {
            "/portal"
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A syntactically plausible e-mail address, trimmed and lower-cased.
///
/// Rule (a pragmatic subset of RFC 5321 §4.5.3.1): at most 254 characters, exactly one
/// `@`, a local part of 1–64 characters, a domain of labels separated by dots with at
/// least one dot, no whitespace. Deliverability is not checked.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EmailAddress(String);

impl EmailAddress {
    /// Parses and normalises `text`. The error is a sentence for the `email` field.
    pub fn parse(text: &str) -> Result<EmailAddress, String> {
        let text = text.trim().to_lowercase();
        if text.is_empty() {
            return Err("Enter an e-mail address.".into());
        }
        if text.len() > 254 {
            return Err("An e-mail address has at most 254 characters.".into());
        }
        if text.chars().any(char::is_whitespace) {
            return Err("An e-mail address has no spaces.".into());
        }
        let Some((local, domain)) = text.split_once('@') else {
            return Err("An e-mail address looks like name@example.com.".into());
        };
        let domain_ok = !domain.contains('@')
            && domain.contains('.')
            && domain
                .split('.')
                .all(|label| !label.is_empty() && !label.starts_with('-') && !label.ends_with('-'));
        if local.is_empty() || local.len() > 64 || !domain_ok {
            return Err("An e-mail address looks like name@example.com.".into());
        }
        Ok(EmailAddress(text))
    }

    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A new password that meets the policy: 12 to 128 characters, not only whitespace.
///
/// Length over composition rules, as NIST SP 800-63B §5.1.1.2 recommends. The value is
/// never printed by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    /// Shortest accepted password, in characters.
    pub const MIN_CHARS: usize = 12;
    /// Longest accepted password, in characters (bounds hashing work).
    pub const MAX_CHARS: usize = 128;

    /// Checks `text` against the policy. The error is a sentence for the `password` field.
    pub fn parse(text: &str) -> Result<Password, String> {
        let chars = text.chars().count();
        if text.trim().is_empty() {
            return Err("Enter a password.".into());
        }
        if chars < Self::MIN_CHARS {
            return Err(format!(
                "A password has at least {} characters.",
                Self::MIN_CHARS
            ));
        }
        if chars > Self::MAX_CHARS {
            return Err(format!(
                "A password has at most {} characters.",
                Self::MAX_CHARS
            ));
        }
        Ok(Password(text.to_string()))
    }

    /// The password itself, to hash it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(…)")
    }
}

/// The sign-in page's `next` parameter, if it is safe to send the browser there.
///
/// Only a local absolute path is accepted: it starts with one `/`, is not `//…` or `/\…`
/// (which browsers treat as another host), has no control characters and does not point
/// back at `/sign-in`. Anything else is refused, so a link cannot bounce a user who just
/// signed in to another site (OWASP "Unvalidated Redirects and Forwards").
pub fn safe_next_path(next: &str) -> Option<&str> {
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && !next.chars().any(|c| c.is_control())
        && !next.starts_with("/sign-in")
        && next.len() <= 2048;
    ok.then_some(next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn roles_round_trip_and_order_rights() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Ok(role));
        }
        assert_eq!(Role::parse("Super-Admin"), Ok(Role::SuperAdmin));
        assert!(Role::parse("root").is_err());
        assert!(Role::SuperAdmin.satisfies(Role::Admin));
        assert!(Role::Admin.satisfies(Role::Admin));
        assert!(!Role::Admin.satisfies(Role::SuperAdmin));
        assert!(!Role::Customer.satisfies(Role::Admin));
        assert!(!Role::Admin.satisfies(Role::Customer));
        assert_eq!(Role::Customer.home_path(), "/portal");
        assert_eq!(Role::Admin.home_path(), "/admin");
    }

    #[test]
    fn email_is_normalised_and_checked() {
        assert_eq!(
            EmailAddress::parse("  NOC@Carrier.Example ")
                .unwrap()
                .as_str(),
            "noc@carrier.example"
        );
        for bad in [
            "",
            "noc",
            "noc@",
            "@carrier.example",
            "noc@carrier",
            "a b@c.de",
            "a@b@c.de",
            "a@-b.com",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn password_policy_counts_characters_not_bytes() {
        assert!(Password::parse("short").is_err());
        assert!(Password::parse("            ").is_err());
        assert!(Password::parse("ééééééééééé").is_err(), "11 characters");
        assert!(Password::parse("éééééééééééé").is_ok(), "12 characters");
        assert!(Password::parse(&"x".repeat(129)).is_err());
        assert_eq!(
            format!("{:?}", Password::parse("correct horse battery").unwrap()),
            "Password(…)"
        );
    }

    #[test]
    fn next_path_only_allows_local_paths() {
        assert_eq!(
            safe_next_path("/admin/carriers?tab=2"),
            Some("/admin/carriers?tab=2")
        );
        for bad in [
            "https://evil.example/",
            "//evil.example",
            "/\\evil.example",
            "admin",
            "/sign-in?next=/x",
            "/a\nb",
        ] {
            assert_eq!(safe_next_path(bad), None, "{bad:?} accepted");
        }
    }

    proptest! {
        #[test]
        fn a_safe_next_path_never_leaves_the_site(s in ".{0,64}") {
            if let Some(p) = safe_next_path(&s) {
                prop_assert!(p.starts_with('/'));
                prop_assert!(!p.starts_with("//"));
                prop_assert!(!p.contains('\n'));
            }
        }
    }
}
