//! Billing increments `a/b`, minimum duration and grace period: how many seconds a call
//! is billed for.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A billing increment `a/b`: the first `a` seconds are billed as one block, then blocks
/// of `b` seconds (carrier convention, e.g. 60/60, 30/6, 6/6, 1/1, 60/1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BillingIncrement {
    /// First block, seconds (≥ 1).
    pub first: u32,
    /// Every later block, seconds (≥ 1).
    pub next: u32,
}

impl BillingIncrement {
    /// Per-second billing, 1/1.
    pub const PER_SECOND: BillingIncrement = BillingIncrement { first: 1, next: 1 };

    /// Parses `a/b` (`"30/6"`) or a single `n` meaning `n/n`. Both parts are whole seconds
    /// from 1 to 3600.
    pub fn parse(text: &str) -> Result<BillingIncrement, String> {
        let t = text.trim();
        let (a, b) = t.split_once('/').unwrap_or((t, t));
        let part = |s: &str| {
            s.trim()
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=3600).contains(n))
        };
        match (part(a), part(b)) {
            (Some(first), Some(next)) => Ok(BillingIncrement { first, next }),
            _ => Err(format!(
                "`{text}` is not a billing increment like 60/60, 30/6 or 1/1"
            )),
        }
    }
}

impl fmt::Display for BillingIncrement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.first, self.next)
    }
}

/// Seconds billed for a call of `duration_s` whole seconds.
///
/// Rules, applied in this order (the usual wholesale convention, as in Digitalk and
/// ConnexCS rate cards):
/// 1. `duration_s ≤ grace_s` → 0: grace seconds are not billed at all (a call that
///    lasts longer than the grace is billed in full, grace included);
/// 2. `duration_s ≤ a` → `a`: the first block is billed whole;
/// 3. otherwise `a + ⌈(duration_s − a) / b⌉ · b`;
/// 4. the result is raised to `minimum_s` (the billed floor).
///
/// So 30/6 bills 29 s as 30 s and 31 s as 36 s; 60/60 bills 1 s as 60 s. A zero duration
/// is never billed. No overflow: everything is `u64`.
pub fn billed_seconds(
    duration_s: u64,
    increment: BillingIncrement,
    minimum_s: u32,
    grace_s: u32,
) -> u64 {
    if duration_s == 0 || duration_s <= u64::from(grace_s) {
        return 0;
    }
    let a = u64::from(increment.first);
    let b = u64::from(increment.next);
    let blocks = if duration_s <= a {
        a
    } else {
        a + (duration_s - a).div_ceil(b) * b
    };
    blocks.max(u64::from(minimum_s))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inc(s: &str) -> BillingIncrement {
        BillingIncrement::parse(s).unwrap()
    }

    #[test]
    fn industry_increments() {
        assert_eq!(billed_seconds(1, inc("60/60"), 0, 0), 60);
        assert_eq!(billed_seconds(61, inc("60/60"), 0, 0), 120);
        assert_eq!(billed_seconds(31, inc("30/6"), 0, 0), 36);
        assert_eq!(billed_seconds(29, inc("30/6"), 0, 0), 30);
        assert_eq!(billed_seconds(30, inc("30/6"), 0, 0), 30);
        assert_eq!(billed_seconds(37, inc("30/6"), 0, 0), 42);
        assert_eq!(billed_seconds(7, inc("6/6"), 0, 0), 12);
        assert_eq!(billed_seconds(7, inc("1/1"), 0, 0), 7);
        assert_eq!(billed_seconds(5, inc("60/1"), 0, 0), 60);
        assert_eq!(billed_seconds(61, inc("60/1"), 0, 0), 61);
        assert_eq!(billed_seconds(0, inc("60/60"), 0, 0), 0);
    }

    #[test]
    fn minimum_and_grace() {
        assert_eq!(billed_seconds(3, inc("1/1"), 0, 3), 0, "within grace");
        assert_eq!(
            billed_seconds(4, inc("1/1"), 0, 3),
            4,
            "past grace: all seconds"
        );
        assert_eq!(billed_seconds(4, inc("1/1"), 30, 0), 30, "minimum");
        assert_eq!(
            billed_seconds(2, inc("1/1"), 30, 3),
            0,
            "grace before minimum"
        );
        assert_eq!(billed_seconds(45, inc("30/6"), 60, 0), 60);
    }

    #[test]
    fn parsing_and_bounds() {
        assert_eq!(
            inc("60"),
            BillingIncrement {
                first: 60,
                next: 60
            }
        );
        assert_eq!(inc(" 30 / 6 ").to_string(), "30/6");
        for bad in ["0/1", "1/0", "a/b", "", "60/60/60", "-1/1"] {
            assert!(BillingIncrement::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            billed_seconds(u64::MAX / 2, inc("60/1"), 0, 0),
            u64::MAX / 2
        );
    }
}
