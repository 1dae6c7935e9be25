//! Limits failed sign-ins per account and per client IP, so passwords cannot be guessed
//! (OWASP Authentication Cheat Sheet, "Protect against automated attacks").
//!
//! Each failure increments two counters in [`Kv`] (shared by every process when Redis is
//! configured) that expire `window` after the first failure. When either reaches
//! `max_failures`, sign-in is refused — even with the right password — until it expires.
//! A successful sign-in clears the account's counter, not the IP's.

use std::net::IpAddr;
use std::time::Duration;

use crate::kv::{Kv, KvError};

/// Sign-in is refused until `retry_after` has passed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Locked {
    pub retry_after: Duration,
}

/// The limiter: `max_failures` per account and per IP within `window`.
///
/// When Redis fails, this process's own counters take over until it answers again:
/// sign-in keeps working and stays limited (per instance) during an outage.
#[derive(Clone, Debug)]
pub struct SignInLimiter {
    kv: Kv,
    fallback: Kv,
    max_failures: i64,
    window: Duration,
}

impl SignInLimiter {
    /// A limiter over `kv` (e.g. 10 failures in 15 minutes).
    pub fn new(kv: Kv, max_failures: u32, window: Duration) -> Self {
        Self {
            kv,
            fallback: Kv::local(),
            max_failures: i64::from(max_failures.max(1)),
            window,
        }
    }

    fn keys(email: &str, ip: Option<IpAddr>) -> [Option<String>; 2] {
        [
            Some(format!(
                "signin:fail:account:{}",
                email.trim().to_lowercase()
            )),
            ip.map(|ip| format!("signin:fail:ip:{ip}")),
        ]
    }

    /// `Err(Locked)` when this account or IP has used up its failures.
    pub async fn check(
        &self,
        email: &str,
        ip: Option<IpAddr>,
    ) -> Result<Result<(), Locked>, KvError> {
        match self.check_on(&self.kv, email, ip).await {
            Err(e) if matches!(self.kv, Kv::Redis { .. }) => {
                tracing::warn!(error = %e, "sign-in limits: Redis failed, using this process's counters");
                self.check_on(&self.fallback, email, ip).await
            }
            other => other,
        }
    }

    async fn check_on(
        &self,
        kv: &Kv,
        email: &str,
        ip: Option<IpAddr>,
    ) -> Result<Result<(), Locked>, KvError> {
        let mut retry_after = Duration::ZERO;
        for key in Self::keys(email, ip).into_iter().flatten() {
            if kv.counter(&key).await? >= self.max_failures {
                let left = kv.time_to_live(&key).await?.unwrap_or(self.window);
                retry_after = retry_after.max(left);
            }
        }
        Ok(if retry_after.is_zero() {
            Ok(())
        } else {
            Err(Locked { retry_after })
        })
    }

    /// Counts one failed attempt against the account and the IP.
    pub async fn record_failure(&self, email: &str, ip: Option<IpAddr>) -> Result<(), KvError> {
        for key in Self::keys(email, ip).into_iter().flatten() {
            if let Err(e) = self.kv.increment(&key, self.window).await {
                if !matches!(self.kv, Kv::Redis { .. }) {
                    return Err(e);
                }
                tracing::warn!(error = %e, "sign-in limits: Redis failed, counting in this process");
                self.fallback.increment(&key, self.window).await?;
            }
        }
        Ok(())
    }

    /// Forgets the account's failures after a successful sign-in.
    pub async fn record_success(&self, email: &str) -> Result<(), KvError> {
        if let [Some(account), _] = Self::keys(email, None) {
            self.fallback.delete(&account).await?;
            if let Err(e) = self.kv.delete(&account).await {
                if !matches!(self.kv, Kv::Redis { .. }) {
                    return Err(e);
                }
                tracing::warn!(error = %e, "sign-in limits: Redis failed clearing a count");
            }
        }
        Ok(())
    }
}
