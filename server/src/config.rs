//! Configuration: read once from the environment at start-up and validated as a whole.
//! A bad or missing value stops start-up with one message listing every problem.
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `DATABASE_URL` | `sqlite://./data/didtron.db?mode=rwc` | SQLite file or `postgres://…` |
//! | `DATABASE_MAX_CONNECTIONS` | `10` | pool size |
//! | `REDIS_URL` | unset (in-process) | `redis://host:port/db` for cache, locks, counters, sessions |
//! | `REDIS_KEY_PREFIX` | `didtron:` | prefix of every DIDTron key in Redis |
//! | `BIND_ADDR` | `127.0.0.1:3000` | address the HTTP server listens on |
//! | `PUBLIC_URL` | `http://<BIND_ADDR>` | the URL people use; `https` makes cookies `Secure`; allowed `Origin` |
//! | `SITE_ROOT` | `target/site` | folder with the built `pkg/` (WASM, JS, CSS) and public files |
//! | `DIDTRON_ADMIN_EMAIL` | `admin@didtron.local` | first super admin's e-mail (first start only) |
//! | `DIDTRON_ADMIN_PASSWORD` | generated, printed once | first super admin's password (first start only) |
//! | `SESSION_IDLE_TIMEOUT_SECS` | `28800` (8 h) | a session ends after this long without a request |
//! | `SIGNIN_MAX_FAILURES` | `10` | failed sign-ins allowed per account and per IP in the window |
//! | `SIGNIN_WINDOW_SECS` | `900` (15 min) | the failure window |
//! | `DIDTRON_FILES_DIR` | `./data/files` | where uploaded rate decks (and later exports) are kept |
//! | `DIDTRON_WORKERS` | `1` | background job workers in this process (imports); `0` runs none |
//! | `LEDGER_CHECK_SECS` | `3600` | how often the workers compare every running balance with its ledger (and repair) |
//! | `SMTP_URL` | unset (mail stays in the outbox) | relay for outgoing mail: `smtps://user:pass@host:465`, `smtp://user:pass@host:587?tls=required`, or `smtp://host:25` (no TLS) |
//! | `MAIL_FROM` | `DIDTron <didtron@localhost>` | sender of outgoing mail, `Name <address>` |
//! | `SHUTDOWN_GRACE_SECS` | `30` | on SIGTERM, how long in-flight requests may finish |
//! | `LOG_FORMAT` | `text` | `text` or `json` |
//! | `RUST_LOG` | `info` | log filter (tracing `EnvFilter` syntax) |

use std::net::SocketAddr;
use std::time::Duration;

/// Log output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// A secret that never prints.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// The validated configuration.
#[derive(Clone, Debug)]
pub struct Config {
    pub database_url: String,
    pub database_max_connections: u32,
    pub redis_url: Option<String>,
    pub redis_key_prefix: String,
    pub bind_addr: SocketAddr,
    pub public_url: url::Url,
    pub site_root: String,
    pub admin_email: Option<String>,
    pub admin_password: Option<Secret>,
    pub session_idle_timeout: Duration,
    pub signin_max_failures: u32,
    pub signin_window: Duration,
    pub shutdown_grace: Duration,
    pub log_format: LogFormat,
    /// Folder of the file store.
    pub files_dir: std::path::PathBuf,
    /// Job workers this process runs.
    pub workers: u32,
    /// Seconds between ledger checks.
    pub ledger_check: Duration,
    /// The SMTP relay (`smtp://` or `smtps://`); `None`: mail stays in the outbox.
    pub smtp_url: Option<Secret>,
    /// Sender of outgoing mail.
    pub mail_from: String,
    /// How often every instance flushes its figures and the collector runs
    /// (`STATUS_COLLECT_SECS`, default 60).
    pub status_period: Duration,
    /// Test-only: requests to this path wait this long first (`DIDTRON_TEST_DELAY`,
    /// `PATH=MS`), to show a budget breach in tests.
    pub test_delay: Option<(String, Duration)>,
}

/// Every problem found in the configuration.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("DIDTron cannot start: the configuration is invalid:\n{}", .0.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
pub struct ConfigError(pub Vec<String>);

/// The embedded default database.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://./data/didtron.db?mode=rwc";

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Config, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads configuration through `get` (the environment, or a map in tests).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let mut problems = Vec::new();
        let get = |k: &str| {
            get(k)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };

        let database_url = get("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.into());
        if service::db::Backend::of_url(&database_url).is_none() {
            problems.push(format!(
                "DATABASE_URL must start with sqlite: or postgres:// (got `{}`)",
                redact(&database_url)
            ));
        }
        let redis_url = get("REDIS_URL");
        if let Some(url) = &redis_url {
            if !(url.starts_with("redis://") || url.starts_with("rediss://")) {
                problems.push(format!(
                    "REDIS_URL must start with redis:// or rediss:// (got `{}`)",
                    redact(url)
                ));
            }
        }
        let mut number = |key: &str, default: u64, min: u64, max: u64| -> u64 {
            match get(key) {
                None => default,
                Some(v) => match v.parse::<u64>() {
                    Ok(n) if (min..=max).contains(&n) => n,
                    _ => {
                        problems.push(format!(
                            "{key} must be a whole number from {min} to {max} (got `{v}`)"
                        ));
                        default
                    }
                },
            }
        };
        let database_max_connections = number("DATABASE_MAX_CONNECTIONS", 10, 1, 1000) as u32;
        let session_idle_timeout = Duration::from_secs(number(
            "SESSION_IDLE_TIMEOUT_SECS",
            8 * 3600,
            1,
            30 * 86_400,
        ));
        let signin_max_failures = number("SIGNIN_MAX_FAILURES", 10, 1, 10_000) as u32;
        let signin_window = Duration::from_secs(number("SIGNIN_WINDOW_SECS", 900, 1, 86_400));
        let shutdown_grace = Duration::from_secs(number("SHUTDOWN_GRACE_SECS", 30, 0, 3600));
        let workers = number("DIDTRON_WORKERS", 1, 0, 64) as u32;
        let ledger_check = Duration::from_secs(number("LEDGER_CHECK_SECS", 3600, 60, 86_400));
        let status_period = Duration::from_secs(number("STATUS_COLLECT_SECS", 60, 1, 3600));
        let test_delay = match get("DIDTRON_TEST_DELAY") {
            None => None,
            Some(v) => match v.rsplit_once('=').map(|(p, ms)| (p, ms.parse::<u64>())) {
                Some((path, Ok(ms))) if path.starts_with('/') && ms <= 60_000 => {
                    Some((path.to_owned(), Duration::from_millis(ms)))
                }
                _ => {
                    problems.push(format!(
                        "DIDTRON_TEST_DELAY must be PATH=MILLISECONDS, e.g. /fn/admin/dashboard=300 (at most 60000) (got `{v}`)"
                    ));
                    None
                }
            },
        };

        let bind_addr = match get("BIND_ADDR")
            .unwrap_or_else(|| "127.0.0.1:3000".into())
            .parse()
        {
            Ok(a) => a,
            Err(_) => {
                problems.push(format!(
                    "BIND_ADDR must be an address with a port, e.g. 127.0.0.1:3000 (got `{}`)",
                    get("BIND_ADDR").unwrap_or_default()
                ));
                SocketAddr::from(([127, 0, 0, 1], 3000))
            }
        };
        let public_text = get("PUBLIC_URL").unwrap_or_else(|| format!("http://{bind_addr}"));
        let public_url = match url::Url::parse(&public_text) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => u,
            _ => {
                problems.push(format!("PUBLIC_URL must be an http(s) URL, e.g. https://didtron.example.com (got `{public_text}`)"));
                url::Url::parse("http://127.0.0.1:3000").expect("valid")
            }
        };
        let log_format = match get("LOG_FORMAT").as_deref().unwrap_or("text") {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            other => {
                problems.push(format!("LOG_FORMAT must be text or json (got `{other}`)"));
                LogFormat::Text
            }
        };
        let admin_email = get("DIDTRON_ADMIN_EMAIL");
        if let Some(email) = &admin_email {
            if let Err(m) = domain::EmailAddress::parse(email) {
                problems.push(format!("DIDTRON_ADMIN_EMAIL: {m}"));
            }
        }
        let smtp_url = get("SMTP_URL").map(Secret);
        if let Some(url) = &smtp_url {
            if !(url.0.starts_with("smtp://") || url.0.starts_with("smtps://")) {
                problems.push(format!(
                    "SMTP_URL must start with smtp:// or smtps:// (got `{}`)",
                    redact(&url.0)
                ));
            }
        }
        let admin_password = get("DIDTRON_ADMIN_PASSWORD").map(Secret);
        if let Some(p) = &admin_password {
            if let Err(m) = domain::Password::parse(&p.0) {
                problems.push(format!("DIDTRON_ADMIN_PASSWORD: {m}"));
            }
        }
        let config = Config {
            database_url,
            database_max_connections,
            redis_url,
            redis_key_prefix: get("REDIS_KEY_PREFIX").unwrap_or_else(|| "didtron:".into()),
            bind_addr,
            public_url,
            site_root: get("SITE_ROOT").unwrap_or_else(|| "target/site".into()),
            admin_email,
            admin_password,
            session_idle_timeout,
            signin_max_failures,
            signin_window,
            shutdown_grace,
            log_format,
            files_dir: get("DIDTRON_FILES_DIR")
                .unwrap_or_else(|| "./data/files".into())
                .into(),
            workers,
            ledger_check,
            smtp_url,
            mail_from: get("MAIL_FROM").unwrap_or_else(|| "DIDTron <didtron@localhost>".into()),
            status_period,
            test_delay,
        };
        if problems.is_empty() {
            Ok(config)
        } else {
            Err(ConfigError(problems))
        }
    }

    /// True when people reach DIDTron over HTTPS (cookies get `Secure`).
    pub fn is_https(&self) -> bool {
        self.public_url.scheme() == "https"
    }
}

/// `scheme://user:***@host…`: hides a password in a URL before printing it.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_run_on_embedded_sqlite() {
        let c = config(&[]).unwrap();
        assert_eq!(c.database_url, DEFAULT_DATABASE_URL);
        assert_eq!(c.redis_url, None);
        assert_eq!(c.bind_addr.to_string(), "127.0.0.1:3000");
        assert_eq!(c.public_url.as_str(), "http://127.0.0.1:3000/");
        assert_eq!(c.signin_max_failures, 10);
        assert_eq!(c.signin_window, Duration::from_secs(900));
        assert!(!c.is_https());
    }

    #[test]
    fn every_problem_is_listed_in_one_message() {
        let err = config(&[
            ("DATABASE_URL", "mysql://root:hunter2@db/x"),
            ("BIND_ADDR", "everywhere"),
            ("LOG_FORMAT", "xml"),
            ("SIGNIN_MAX_FAILURES", "0"),
            ("DIDTRON_ADMIN_PASSWORD", "short"),
            ("SMTP_URL", "http://mailer:hunter2@mail.example.net"),
            ("STATUS_COLLECT_SECS", "0"),
            ("DIDTRON_TEST_DELAY", "/fn/x=soon"),
        ])
        .unwrap_err();
        assert_eq!(err.0.len(), 8, "{err}");
        let text = err.to_string();
        for needle in [
            "DATABASE_URL",
            "BIND_ADDR",
            "LOG_FORMAT",
            "SIGNIN_MAX_FAILURES",
            "DIDTRON_ADMIN_PASSWORD",
            "SMTP_URL",
            "STATUS_COLLECT_SECS",
            "DIDTRON_TEST_DELAY",
        ] {
            assert!(text.contains(needle), "{needle} missing from {text}");
        }
        assert!(!text.contains("hunter2"), "password printed: {text}");
    }

    #[test]
    fn https_public_url_makes_cookies_secure() {
        let c = config(&[("PUBLIC_URL", "https://didtron.example.com")]).unwrap();
        assert!(c.is_https());
        assert!(format!(
            "{:?}",
            config(&[("DIDTRON_ADMIN_PASSWORD", "a long password")]).unwrap()
        )
        .contains("Secret(…)"));
    }
}
