//! Rating one call against a compiled deck: the price, and every figure behind it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::deck::{CompiledDeck, CompiledRate};
use super::increment::{billed_seconds, BillingIncrement};
use super::index::{PrefixKeys, MAX_DEPTH};
use crate::money::Currency;

/// How long a call was billable, as the switch reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BillableDuration {
    Seconds(u64),
    Millis(u64),
}

impl BillableDuration {
    /// Whole seconds. Milliseconds round **up**: a started second counts, as switches
    /// report `billsec` (Asterisk, FreeSWITCH) and as carriers bill (30.2 s is 31 s).
    pub fn whole_seconds(self) -> u64 {
        match self {
            BillableDuration::Seconds(s) => s,
            BillableDuration::Millis(ms) => ms.div_ceil(1000),
        }
    }
}

/// A call to price.
#[derive(Clone, Copy, Debug)]
pub struct CallToRate<'a> {
    /// The called number, E.164 digits without `+`.
    pub b_number: &'a str,
    /// When the call started (answer time for answered calls): picks the rate in force.
    pub start: DateTime<Utc>,
    pub duration: BillableDuration,
    pub answered: bool,
}

/// How a cost is rounded, per rate plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RoundingMode {
    /// Half away from zero (0.5 → 1): the wholesale default.
    HalfUp,
    /// Half to even (banker's rounding).
    HalfEven,
    /// Always away from zero (any fraction → next unit).
    Up,
    /// Always toward zero (fractions dropped).
    Down,
}

/// Rounding of each call's cost: to `scale` decimals (0–6) with `mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rounding {
    pub scale: u8,
    pub mode: RoundingMode,
}

impl Default for Rounding {
    /// 6 decimals (micro-units), half-up (DESIGN.md "Money").
    fn default() -> Self {
        Rounding {
            scale: 6,
            mode: RoundingMode::HalfUp,
        }
    }
}

/// A rate plan's rules around the deck.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RatingPolicy {
    pub rounding: Rounding,
    /// The plan's currency: a deck row in another currency is `CurrencyMismatch`.
    pub currency: Option<Currency>,
    /// Charge the connection fee on unanswered calls too (off: they cost 0).
    pub charge_unanswered: bool,
}

/// An exact cost before rounding, in sixtieths of a micro-unit (`rate × seconds / 60`
/// is exact in these units).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ExactCost(pub i128);

impl ExactCost {
    /// Decimal text in currency units: exact when it terminates within 9 decimals,
    /// otherwise 9 decimals followed by `…`.
    pub fn to_decimal(self) -> String {
        let negative = self.0 < 0;
        let abs = self.0.unsigned_abs();
        // units of 10⁻⁹: abs / 60 micro = abs * 1000 / 60 nano
        let nano_num = abs * 1000;
        let nano = nano_num / 60;
        let exact = nano_num.is_multiple_of(60);
        let whole = nano / 1_000_000_000;
        let frac = nano % 1_000_000_000;
        let mut text = format!("{}{whole}.{frac:09}", if negative { "-" } else { "" });
        if exact {
            while text.ends_with('0') && !text.ends_with(".0") {
                text.pop();
            }
        } else {
            text.push('…');
        }
        text
    }
}

/// A priced call and everything needed to explain the price from the CDR alone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rating<'a> {
    /// The dial code that matched (longest with a rate in force at `start`).
    pub prefix: &'a str,
    pub destination: &'a str,
    pub revision_id: &'a str,
    /// Per minute, micro-units.
    pub rate_micros: i64,
    /// Micro-units; charged on answered calls (and unanswered when the plan says so).
    pub connection_fee_micros: i64,
    pub increment: BillingIncrement,
    pub minimum_s: u32,
    pub grace_s: u32,
    pub currency: Currency,
    /// The call's duration in whole seconds (see [`BillableDuration::whole_seconds`]).
    pub duration_s: u64,
    pub billed_seconds: u64,
    /// `connection fee + rate × billed_seconds / 60`, exact.
    pub unrounded: ExactCost,
    pub rounding: Rounding,
    /// The cost charged, micro-units, rounded per `rounding`.
    pub cost_micros: i64,
}

/// Why a call could not be priced. Never a silent zero.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NoRate {
    /// No dial code of the deck is a prefix of the number.
    #[error("no dial code matches the number")]
    NoPrefix,
    /// Codes matched (the longest is `prefix_len` digits) but none has a rate in force at
    /// the call's start.
    #[error("dial code matched but no rate is in force at the call's start")]
    NoRateInForce { prefix_len: u8 },
    /// The matched row is priced in `deck`, the plan bills in `plan`.
    #[error("rate is in {deck}, the plan bills in {plan}")]
    CurrencyMismatch { deck: Currency, plan: Currency },
    /// The cost does not fit in 64-bit micro-units.
    #[error("cost overflows")]
    CostOverflow,
}

impl NoRate {
    /// A short stable code for reports: `no_prefix`, `no_rate_in_force`,
    /// `currency_mismatch`, `cost_overflow`.
    pub fn code(&self) -> &'static str {
        match self {
            NoRate::NoPrefix => "no_prefix",
            NoRate::NoRateInForce { .. } => "no_rate_in_force",
            NoRate::CurrencyMismatch { .. } => "currency_mismatch",
            NoRate::CostOverflow => "cost_overflow",
        }
    }
}

/// Rounds `value` (in units of `divisor`) to a whole number of units with `mode`.
fn round_div(value: i128, divisor: i128, mode: RoundingMode) -> i128 {
    // A 64-bit division when both fit (real prices always do): a 128-bit one is a
    // library call, several times slower.
    let (q, r) = match (i64::try_from(value), i64::try_from(divisor)) {
        (Ok(v), Ok(d)) => (i128::from(v / d), i128::from(v % d)),
        _ => (value / divisor, value % divisor),
    };
    if r == 0 {
        return q;
    }
    let away = if value < 0 { -1 } else { 1 };
    let twice = r.abs() * 2;
    match mode {
        RoundingMode::Down => q,
        RoundingMode::Up => q + away,
        RoundingMode::HalfUp => {
            if twice >= divisor {
                q + away
            } else {
                q
            }
        }
        RoundingMode::HalfEven => {
            if twice > divisor || (twice == divisor && q % 2 != 0) {
                q + away
            } else {
                q
            }
        }
    }
}

impl CompiledDeck {
    /// Prices `call`.
    ///
    /// 1. Every dial code that prefixes the B-number is found; from the longest down, the
    ///    first with a rate in force at `call.start` (`effective_from ≤ start <
    ///    effective_to`) applies. A longer code that is closed (or not yet open) therefore
    ///    falls back to the shorter code, as carriers expect when a breakout is removed.
    /// 2. Billed seconds follow [`billed_seconds`] (increment, minimum, grace).
    /// 3. Cost = connection fee + rate × billed seconds / 60, exact, then rounded once per
    ///    call per `policy.rounding`. Unanswered calls cost 0 (or the connection fee when
    ///    `policy.charge_unanswered`).
    ///
    /// Errors: [`NoRate`]. Never allocates.
    pub fn rate<'a>(
        &'a self,
        call: &CallToRate<'a>,
        policy: &RatingPolicy,
    ) -> Result<Rating<'a>, NoRate> {
        let mut found = [(0u8, 0u64); MAX_DEPTH];
        let n = self.index.matches(call.b_number.as_bytes(), &mut found);
        let (len, rate) = self.in_force(&found[..n], call.start.timestamp())?;
        self.price(len, rate, call, policy)
    }

    /// Step 1 of [`CompiledDeck::rate`]: among the codes that prefix the number (`found`,
    /// shortest first, as the index gives them), the longest with a row in force at
    /// `start` (Unix seconds): its length and its row.
    ///
    /// Errors: `NoPrefix` when nothing matched, `NoRateInForce` when no match is in force.
    #[inline]
    pub(crate) fn in_force(
        &self,
        found: &[(u8, u64)],
        start: i64,
    ) -> Result<(u8, &CompiledRate), NoRate> {
        let Some(&(longest, _)) = found.last() else {
            return Err(NoRate::NoPrefix);
        };
        found
            .iter()
            .rev()
            .find_map(|&(len, span)| self.revision_at(span, start).map(|r| (len, r)))
            .ok_or(NoRate::NoRateInForce {
                prefix_len: longest,
            })
    }

    /// [`CompiledDeck::in_force`] from the longest code alone (`longest`, from
    /// [`PrefixIndex::longest_of`](super::PrefixIndex::longest_of)): the usual case reads
    /// nothing else; when that code has no row in force at `start`, the shorter codes of
    /// `keys` are looked up.
    #[inline]
    pub(crate) fn in_force_longest(
        &self,
        keys: &PrefixKeys,
        longest: Option<(u8, u64)>,
        start: i64,
    ) -> Result<(u8, &CompiledRate), NoRate> {
        let Some((len, span)) = longest else {
            return Err(NoRate::NoPrefix);
        };
        if let Some(rate) = self.revision_at(span, start) {
            return Ok((len, rate));
        }
        let mut found = [(0u8, 0u64); MAX_DEPTH];
        let n = self.index.matches_of(keys, &mut found);
        self.in_force(&found[..n], start)
    }

    /// The row of code `span` (`start | count << 32` in `rates`, sorted by `from`) in
    /// force at `start`.
    #[inline]
    fn revision_at(&self, span: u64, start: i64) -> Option<&CompiledRate> {
        let (first, count) = (span as u32 as usize, (span >> 32) as usize);
        self.rates[first..first + count]
            .iter()
            .rev()
            .find(|r| r.from <= start && start < r.to)
    }

    /// The newest row of code `span` (the last of its revisions): a lookup that is about
    /// to call [`CompiledDeck::in_force_longest`] reads it first, so the rows of several
    /// decks load together.
    #[inline]
    pub(crate) fn newest_row(&self, span: u64) -> Option<&CompiledRate> {
        let (first, count) = (span as u32 as usize, (span >> 32) as usize);
        self.rates.get(first + count.max(1) - 1)
    }

    /// Steps 2 and 3 of [`CompiledDeck::rate`]: the call's price on row `rate` of a code
    /// of `len` digits (from [`CompiledDeck::in_force`]).
    ///
    /// Errors: `CurrencyMismatch`, `CostOverflow`. Never allocates.
    #[inline]
    pub(crate) fn price<'a>(
        &'a self,
        len: u8,
        rate: &CompiledRate,
        call: &CallToRate<'a>,
        policy: &RatingPolicy,
    ) -> Result<Rating<'a>, NoRate> {
        let tariff = &self.tariffs[rate.tariff as usize];
        if let Some(plan) = policy.currency {
            if plan != tariff.currency {
                return Err(NoRate::CurrencyMismatch {
                    deck: tariff.currency,
                    plan,
                });
            }
        }
        let duration_s = call.duration.whole_seconds();
        let (billed, fee) = if call.answered {
            let billed = billed_seconds(
                duration_s,
                tariff.increment,
                tariff.minimum_s,
                tariff.grace_s,
            );
            // No fee on a call inside the grace period: nothing of it is billed.
            (
                billed,
                if billed > 0 {
                    tariff.connection_fee_micros
                } else {
                    0
                },
            )
        } else {
            (
                0,
                if policy.charge_unanswered {
                    tariff.connection_fee_micros
                } else {
                    0
                },
            )
        };
        let unrounded = i128::from(fee) * 60 + i128::from(rate.rate_micros) * i128::from(billed);
        let unit = 60 * 10_i128.pow(6 - u32::from(policy.rounding.scale.min(6)));
        let rounded = round_div(unrounded, unit, policy.rounding.mode) * (unit / 60);
        let cost_micros = i64::try_from(rounded).map_err(|_| NoRate::CostOverflow)?;
        Ok(Rating {
            prefix: &call.b_number[..usize::from(len)],
            destination: &self.destinations[rate.destination as usize],
            revision_id: &self.revision_id,
            rate_micros: rate.rate_micros,
            connection_fee_micros: tariff.connection_fee_micros,
            increment: tariff.increment,
            minimum_s: tariff.minimum_s,
            grace_s: tariff.grace_s,
            currency: tariff.currency,
            duration_s,
            billed_seconds: billed,
            unrounded: ExactCost(unrounded),
            rounding: policy.rounding,
            cost_micros,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::deck::{CompiledDeck, RateDeckRow};
    use super::*;
    use crate::money::parse_micros;
    use chrono::TimeZone;
    use proptest::prelude::*;

    fn t(y: i32, m: u32, d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, 0, 0, 0).unwrap()
    }

    fn row(line: u32, prefix: &str, rate: &str, inc: &str) -> RateDeckRow {
        RateDeckRow {
            line,
            prefix: prefix.into(),
            destination: format!("Dest {prefix}"),
            rate_micros: parse_micros(rate).unwrap(),
            connection_fee_micros: 0,
            increment: BillingIncrement::parse(inc).unwrap(),
            minimum_s: 0,
            grace_s: 0,
            effective_from: t(2026, 1, 1),
            effective_to: None,
            currency: Currency::parse("USD").unwrap(),
        }
    }

    fn call(b: &str, secs: u64) -> CallToRate<'_> {
        CallToRate {
            b_number: b,
            start: t(2026, 6, 1),
            duration: BillableDuration::Seconds(secs),
            answered: true,
        }
    }

    fn deck(rows: Vec<RateDeckRow>) -> CompiledDeck {
        CompiledDeck::compile("rev-1", rows).unwrap()
    }

    #[test]
    fn longest_prefix_beats_a_cheaper_shorter_one() {
        let d = deck(vec![
            row(1, "44", "0.001", "1/1"),
            row(2, "447", "0.05", "1/1"),
        ]);
        let r = d
            .rate(&call("447700900123", 60), &RatingPolicy::default())
            .unwrap();
        assert_eq!(
            (r.prefix, r.destination, r.rate_micros, r.cost_micros),
            ("447", "Dest 447", 50_000, 50_000)
        );
        assert_eq!(r.revision_id, "rev-1");
    }

    #[test]
    fn cost_is_exact_with_six_decimal_rates_and_rounds_half_up_once() {
        // 0.022585/min × 7 s = 0.0026349166… → 0.002635 at 6 decimals.
        let d = deck(vec![row(1, "91", "0.022585", "1/1")]);
        let r = d
            .rate(&call("917562929406", 7), &RatingPolicy::default())
            .unwrap();
        assert_eq!(r.unrounded, ExactCost(22_585 * 7));
        assert_eq!(r.unrounded.to_decimal(), "0.002634916…");
        assert_eq!(r.cost_micros, 2_635);
        let cents = RatingPolicy {
            rounding: Rounding {
                scale: 2,
                mode: RoundingMode::HalfUp,
            },
            ..Default::default()
        };
        assert_eq!(
            d.rate(&call("917562929406", 7), &cents)
                .unwrap()
                .cost_micros,
            0
        );
        let up = RatingPolicy {
            rounding: Rounding {
                scale: 2,
                mode: RoundingMode::Up,
            },
            ..Default::default()
        };
        assert_eq!(
            d.rate(&call("917562929406", 7), &up).unwrap().cost_micros,
            10_000
        );
        // 5-decimal rate, 30/6: 31 s → 36 s × 0.01234/60 = 0.0074040 exactly.
        let d = deck(vec![row(1, "33", "0.01234", "30/6")]);
        let r = d
            .rate(&call("33612345678", 31), &RatingPolicy::default())
            .unwrap();
        assert_eq!((r.billed_seconds, r.cost_micros), (36, 7_404));
        assert_eq!(r.unrounded.to_decimal(), "0.007404");
    }

    #[test]
    fn half_even_and_half_up_differ_only_on_ties() {
        assert_eq!(round_div(150, 100, RoundingMode::HalfUp), 2);
        assert_eq!(round_div(250, 100, RoundingMode::HalfUp), 3);
        assert_eq!(round_div(250, 100, RoundingMode::HalfEven), 2);
        assert_eq!(round_div(251, 100, RoundingMode::HalfEven), 3);
        assert_eq!(round_div(-150, 100, RoundingMode::HalfUp), -2);
        assert_eq!(round_div(101, 100, RoundingMode::Down), 1);
        assert_eq!(round_div(101, 100, RoundingMode::Up), 2);
    }

    #[test]
    fn connection_fee_only_on_answered_calls_and_grace() {
        let mut r1 = row(1, "1", "0.01", "60/60");
        r1.connection_fee_micros = 5_000;
        r1.grace_s = 3;
        let d = deck(vec![r1]);
        let p = RatingPolicy::default();
        let answered = d.rate(&call("15551234567", 10), &p).unwrap();
        assert_eq!(
            (answered.billed_seconds, answered.cost_micros),
            (60, 15_000)
        );
        let in_grace = d.rate(&call("15551234567", 3), &p).unwrap();
        assert_eq!((in_grace.billed_seconds, in_grace.cost_micros), (0, 0));
        let mut unanswered = call("15551234567", 0);
        unanswered.answered = false;
        assert_eq!(d.rate(&unanswered, &p).unwrap().cost_micros, 0);
        let charge = RatingPolicy {
            charge_unanswered: true,
            ..Default::default()
        };
        assert_eq!(d.rate(&unanswered, &charge).unwrap().cost_micros, 5_000);
    }

    #[test]
    fn the_rate_in_force_at_call_start_applies_from_its_first_second() {
        let mut old = row(1, "49", "0.02", "1/1");
        old.effective_to = Some(t(2026, 6, 1));
        let mut new = row(2, "49", "0.03", "1/1");
        new.effective_from = t(2026, 6, 1);
        let d = deck(vec![new, old]);
        let p = RatingPolicy::default();
        let mut c = call("4915112345678", 60);
        c.start = t(2026, 6, 1) - chrono::Duration::seconds(1);
        assert_eq!(
            d.rate(&c, &p).unwrap().rate_micros,
            20_000,
            "last second of the old rate"
        );
        c.start = t(2026, 6, 1);
        assert_eq!(
            d.rate(&c, &p).unwrap().rate_micros,
            30_000,
            "first second of the new rate"
        );
        c.start = t(2025, 12, 31);
        assert_eq!(d.rate(&c, &p), Err(NoRate::NoRateInForce { prefix_len: 2 }));
    }

    #[test]
    fn a_closed_longer_code_falls_back_to_the_shorter_one() {
        let mut closed = row(1, "4477", "0.09", "1/1");
        closed.effective_to = Some(t(2026, 3, 1));
        let d = deck(vec![closed, row(2, "44", "0.01", "1/1")]);
        let r = d
            .rate(&call("447712345678", 60), &RatingPolicy::default())
            .unwrap();
        assert_eq!((r.prefix, r.rate_micros), ("44", 10_000));
    }

    #[test]
    fn no_rate_is_typed_never_zero() {
        let d = deck(vec![row(1, "44", "0.01", "1/1")]);
        let p = RatingPolicy::default();
        assert_eq!(d.rate(&call("33123456789", 60), &p), Err(NoRate::NoPrefix));
        let eur = RatingPolicy {
            currency: Some(Currency::parse("EUR").unwrap()),
            ..Default::default()
        };
        assert!(matches!(
            d.rate(&call("441234", 60), &eur),
            Err(NoRate::CurrencyMismatch { .. })
        ));
        assert_eq!(NoRate::NoPrefix.code(), "no_prefix");
    }

    #[test]
    fn large_durations_and_rates_do_not_overflow() {
        let d = deck(vec![row(1, "1", "999999.999999", "1/1")]);
        let r = d.rate(&call("1555", u64::from(u32::MAX)), &RatingPolicy::default());
        assert_eq!(
            r,
            Err(NoRate::CostOverflow),
            "too large for i64 micro-units: refused, not wrapped"
        );
        let d = deck(vec![row(1, "1", "0.5", "1/1")]);
        let r = d
            .rate(&call("1555", 10 * 365 * 86_400), &RatingPolicy::default())
            .unwrap();
        assert_eq!(r.cost_micros, 500_000 * 10 * 365 * 1440);
        assert_eq!(BillableDuration::Millis(30_200).whole_seconds(), 31);
        assert_eq!(BillableDuration::Millis(30_000).whole_seconds(), 30);
    }

    #[test]
    fn bad_decks_are_refused_line_by_line() {
        let mut to_before_from = row(3, "44", "0.01", "1/1");
        to_before_from.effective_to = Some(t(2025, 1, 1));
        let mut overlap = row(5, "33", "0.02", "1/1");
        overlap.effective_from = t(2026, 2, 1);
        let errors = CompiledDeck::compile(
            "r",
            vec![
                row(1, "4a", "0.01", "1/1"),
                row(2, "1234567890123456", "0.01", "1/1"),
                to_before_from,
            ],
        )
        .err()
        .unwrap();
        assert_eq!(
            errors.iter().map(|e| e.line).collect::<Vec<_>>(),
            vec![1, 2, 3]
        );
        let errors = CompiledDeck::compile("r", vec![row(4, "33", "0.01", "1/1"), overlap])
            .err()
            .unwrap();
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0]
                .to_string()
                .starts_with("line 5: dial code 33 is already in force"),
            "{}",
            errors[0]
        );
    }

    #[test]
    fn publishing_a_revision_swaps_it_for_new_readers_only() {
        use super::super::deck::DeckHandle;
        let handle = DeckHandle::new(deck(vec![row(1, "44", "0.01", "1/1")]));
        let before = handle.current();
        handle.publish(CompiledDeck::compile("rev-2", vec![row(1, "44", "0.02", "1/1")]).unwrap());
        let p = RatingPolicy::default();
        // A rating in flight keeps the revision it started with…
        assert_eq!(
            before.rate(&call("441", 60), &p).unwrap().rate_micros,
            10_000
        );
        // …every later one sees the new revision, across threads.
        let after = std::thread::scope(|s| {
            s.spawn(|| handle.current().revision_id().to_owned())
                .join()
                .unwrap()
        });
        assert_eq!(after, "rev-2");
        assert_eq!(
            handle
                .current()
                .rate(&call("441", 60), &p)
                .unwrap()
                .rate_micros,
            20_000
        );
    }

    proptest! {
        #[test]
        fn cost_never_decreases_as_duration_grows(
            rate in 0i64..5_000_000, fee in 0i64..100_000, a in 1u32..120, b in 1u32..120,
            min in 0u32..120, grace in 0u32..10, d in 0u64..20_000,
        ) {
            let mut r = row(1, "1", "0", "1/1");
            r.rate_micros = rate;
            r.connection_fee_micros = fee;
            r.increment = BillingIncrement { first: a, next: b };
            r.minimum_s = min;
            r.grace_s = grace;
            let deck = deck(vec![r]);
            let p = RatingPolicy::default();
            let shorter = deck.rate(&call("1555", d), &p).unwrap();
            let longer = deck.rate(&call("1555", d + 1), &p).unwrap();
            prop_assert!(longer.cost_micros >= shorter.cost_micros);
            let billed = shorter.billed_seconds;
            if d > u64::from(grace) {
                prop_assert!(billed >= d);
                prop_assert!(billed >= u64::from(min));
                if billed > u64::from(a) && billed > u64::from(min) {
                    prop_assert_eq!((billed - u64::from(a)) % u64::from(b), 0);
                }
            } else {
                prop_assert_eq!(billed, 0);
            }
        }
    }
}
