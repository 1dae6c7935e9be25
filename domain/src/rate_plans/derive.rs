//! Deriving a customer plan's sell rates from supplier decks by a markup rule.
//!
//! For every code in any source deck, the **basis** buy rate is the lowest (what least
//! cost routing would pay) or the highest (a margin over every source) of the sources'
//! live rates for that exact code. Then, exactly, in micro-units:
//!
//! 1. `sell = buy + buy × percent / 100 + absolute`;
//! 2. `sell = max(sell, buy + minimum margin)`;
//! 3. `sell` is rounded **up** to `decimals` (0–6) decimal places, so rounding never
//!    eats the margin.
//!
//! The connection fee, increment, minimum and grace come with the basis row (the
//! customer is billed on the terms the supplier bills us). The result is a list of
//! [`ImportedRate`]s without dates, planned against the customer plan like an import:
//! increases get the plan's notice period.

use serde::{Deserialize, Serialize};

use super::import::ImportedRate;
use super::revision::LiveRate;
use crate::money::parse_micros;
use crate::validation::{choice, take, whole_number};
use crate::FieldErrors;

crate::validation::string_enum! {
    /// Which source rate a derived sell rate is based on.
    pub enum DeriveBasis {
        /// The cheapest source: the rate least cost routing pays.
        Lowest = ("lowest", "The lowest buy rate (least cost)"),
        /// The dearest source: a margin over every supplier.
        Highest = ("highest", "The highest buy rate (margin on every route)"),
    }
}

/// The markup form as typed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarkupForm {
    /// Supplier deck ids to derive from.
    pub sources: Vec<i64>,
    /// One of [`DeriveBasis`].
    pub basis: String,
    /// Percent added to the buy rate, decimal (`12.5`); empty = 0.
    pub percent: String,
    /// Added per minute after the percent, decimal; empty = 0.
    pub absolute: String,
    /// Least margin per minute, decimal; empty = 0.
    pub minimum_margin: String,
    /// Decimals the sell rate is rounded up to, 0–6.
    pub decimals: String,
}

impl MarkupForm {
    /// A new form: lowest basis, no markup, 4 decimals.
    pub fn new_rule() -> MarkupForm {
        MarkupForm {
            basis: "lowest".into(),
            decimals: "4".into(),
            ..MarkupForm::default()
        }
    }
}

/// A valid markup rule. Percent is in millionths of a percent (so `12.5` % is
/// 12 500 000), amounts in micro-units.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarkupRule {
    pub sources: Vec<i64>,
    pub basis: DeriveBasis,
    pub percent_micros: i64,
    pub absolute_micros: i64,
    pub minimum_margin_micros: i64,
    pub decimals: u8,
}

/// Validates the markup form. Errors: `sources` (none chosen), `basis`, `percent`,
/// `absolute`, `minimum_margin` (decimals, up to 6 places, not negative; percent at most
/// 1000), `decimals` (0–6).
pub fn validate_markup(form: &MarkupForm) -> Result<MarkupRule, FieldErrors> {
    let mut e = FieldErrors::new();
    if form.sources.is_empty() {
        e.add(
            "sources",
            "Choose at least one supplier deck to derive from.",
        );
    }
    let basis = take(&mut e, "basis", choice::<DeriveBasis>(&form.basis));
    let amount = |text: &str, what: &str| -> Result<i64, String> {
        match text.trim() {
            "" => Ok(0),
            t => match parse_micros(t) {
                Ok(v) if v >= 0 => Ok(v),
                Ok(_) => Err(format!("{what} cannot be negative.")),
                Err(err) => Err(format!(
                    "Enter {} as a decimal: {err}.",
                    what.to_lowercase()
                )),
            },
        }
    };
    let percent = take(
        &mut e,
        "percent",
        amount(&form.percent, "The percent").and_then(|p| {
            if p > 1000 * 1_000_000 {
                Err("The percent is at most 1000.".into())
            } else {
                Ok(p)
            }
        }),
    );
    let absolute = take(&mut e, "absolute", amount(&form.absolute, "The amount"));
    let minimum = take(
        &mut e,
        "minimum_margin",
        amount(&form.minimum_margin, "The minimum margin"),
    );
    let decimals = take(
        &mut e,
        "decimals",
        whole_number(&form.decimals, 0, 6, "the decimals").map(|n| n as u8),
    );
    if !e.is_empty() {
        return Err(e);
    }
    Ok(MarkupRule {
        sources: form.sources.clone(),
        basis: basis.expect("checked"),
        percent_micros: percent.expect("checked"),
        absolute_micros: absolute.expect("checked"),
        minimum_margin_micros: minimum.expect("checked"),
        decimals: decimals.expect("checked"),
    })
}

impl MarkupRule {
    /// The form showing this rule.
    pub fn form(&self) -> MarkupForm {
        let text = |v: i64| {
            let t = crate::money::format_micros(v, 6);
            t.trim_end_matches('0').trim_end_matches('.').to_owned()
        };
        MarkupForm {
            sources: self.sources.clone(),
            basis: self.basis.as_str().into(),
            percent: text(self.percent_micros),
            absolute: text(self.absolute_micros),
            minimum_margin: text(self.minimum_margin_micros),
            decimals: self.decimals.to_string(),
        }
    }

    /// The sell rate for buy rate `buy` (micro-units), per the module's rules.
    pub fn sell(&self, buy: i64) -> i64 {
        let buy = i128::from(buy);
        // percent_micros / 100 / 1e6 = percent as a fraction; round the markup up.
        let scale = 100 * 1_000_000i128;
        let markup = (buy * i128::from(self.percent_micros) + scale - 1) / scale;
        let mut sell = buy + markup + i128::from(self.absolute_micros);
        sell = sell.max(buy + i128::from(self.minimum_margin_micros));
        let step = 10i128.pow(6 - u32::from(self.decimals.min(6)));
        sell = (sell + step - 1) / step * step;
        sell.clamp(0, i128::from(i64::MAX)) as i64
    }
}

/// What deriving would do (or did), for the Derive tab.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DerivationPreview {
    /// Codes across the sources.
    pub codes: u64,
    pub counts: super::revision::ChangeCounts,
    pub first_rows: Vec<super::PreviewRow>,
    /// Codes whose increase the notice period refused (they keep their current rate).
    pub refused: Vec<super::import::LineError>,
    /// Increases moved to the end of the notice period.
    pub deferred: u64,
    /// The revision published, after publishing.
    pub revision: Option<i64>,
}

/// Derives sell rates from the sources' live rates (`sources[i]` is one deck's), by code.
/// Returns the rates in code order, ready for [`super::revision::plan_revision`].
pub fn derive(rule: &MarkupRule, sources: &[Vec<LiveRate>]) -> Vec<ImportedRate> {
    let mut best: std::collections::BTreeMap<&str, &LiveRate> = std::collections::BTreeMap::new();
    for deck in sources {
        for rate in deck {
            best.entry(rate.prefix.as_str())
                .and_modify(|b| {
                    let better = match rule.basis {
                        DeriveBasis::Lowest => rate.rate_micros < b.rate_micros,
                        DeriveBasis::Highest => rate.rate_micros > b.rate_micros,
                    };
                    if better {
                        *b = rate;
                    }
                })
                .or_insert(rate);
        }
    }
    best.into_values()
        .enumerate()
        .map(|(i, r)| ImportedRate {
            line: i as u32 + 1,
            prefix: r.prefix.clone(),
            destination: r.destination.clone(),
            rate_micros: rule.sell(r.rate_micros),
            connection_fee_micros: Some(r.connection_fee_micros),
            increment: Some(r.increment),
            minimum_s: Some(r.minimum_s),
            grace_s: Some(r.grace_s),
            effective_from: None,
            effective_to: None,
            file_change: None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rating::BillingIncrement;

    fn rule(percent: &str, absolute: &str, minimum: &str, decimals: &str) -> MarkupRule {
        validate_markup(&MarkupForm {
            sources: vec![1],
            basis: "lowest".into(),
            percent: percent.into(),
            absolute: absolute.into(),
            minimum_margin: minimum.into(),
            decimals: decimals.into(),
        })
        .unwrap()
    }

    #[test]
    fn markup_percent_absolute_minimum_margin_and_rounding_up() {
        // 0.1237 + 10 % = 0.13607 → up to 4 decimals: 0.1361.
        assert_eq!(rule("10", "", "", "4").sell(123_700), 136_100);
        // + 0.002 absolute after the percent.
        assert_eq!(rule("10", "0.002", "", "4").sell(123_700), 138_100);
        // A minimum margin of 0.02 wins over a 1 % markup.
        assert_eq!(rule("1", "", "0.02", "4").sell(123_700), 143_700);
        // Rounding never lowers: 0.10001 at 2 decimals is 0.11.
        assert_eq!(rule("", "0.00001", "", "2").sell(100_000), 110_000);
        // Exact amounts stay: 0.5 at 1 decimal is 0.5.
        assert_eq!(rule("", "", "", "1").sell(500_000), 500_000);
    }

    #[test]
    fn the_basis_picks_the_lowest_or_highest_source_per_code() {
        let live = |prefix: &str, rate: i64, inc: u32| LiveRate {
            id: 0,
            prefix: prefix.into(),
            destination: format!("D{prefix}"),
            rate_micros: rate,
            connection_fee_micros: 0,
            increment: BillingIncrement {
                first: inc,
                next: inc,
            },
            minimum_s: 0,
            grace_s: 0,
            effective_from: chrono::DateTime::UNIX_EPOCH,
        };
        let a = vec![live("44", 100_000, 60), live("33", 50_000, 1)];
        let b = vec![live("44", 80_000, 1)];
        let mut r = rule("", "", "", "6");
        let lowest = derive(&r, &[a.clone(), b.clone()]);
        let got: Vec<(&str, i64, u32)> = lowest
            .iter()
            .map(|x| (x.prefix.as_str(), x.rate_micros, x.increment.unwrap().first))
            .collect();
        assert_eq!(got, vec![("33", 50_000, 1), ("44", 80_000, 1)]);
        r.basis = DeriveBasis::Highest;
        let highest = derive(&r, &[a, b]);
        assert_eq!(highest[1].rate_micros, 100_000);
        assert_eq!(
            highest[1].increment.unwrap().first,
            60,
            "terms come with the basis row"
        );
    }

    #[test]
    fn bad_markup_fields_are_named() {
        let e = validate_markup(&MarkupForm {
            sources: vec![],
            basis: "median".into(),
            percent: "-1".into(),
            absolute: "x".into(),
            minimum_margin: "0.0000001".into(),
            decimals: "9".into(),
        })
        .unwrap_err();
        for f in [
            "sources",
            "basis",
            "percent",
            "absolute",
            "minimum_margin",
            "decimals",
        ] {
            assert!(e.get(f).is_some(), "{f}");
        }
        let ok = rule("12.5", "0.001", "0.002", "4");
        assert_eq!(ok.percent_micros, 12_500_000);
        assert_eq!(validate_markup(&ok.form()).unwrap(), ok);
    }
}
