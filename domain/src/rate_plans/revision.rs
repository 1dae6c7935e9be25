//! Planning a revision: the rates read from a file compared with the plan's live rates,
//! giving each code its change code (New, Increase, Decrease, Unchanged, Removed), its
//! effective date and, on customer plans, the notice period's verdict.
//!
//! Rules (carrier convention, GLOSSARY "effective date"):
//! - the **live** rate of a code is its open row (no `effective_to`), the latest;
//! - a code's change is decided by its price per minute; at the same price, any other
//!   term that differs (connection fee, increment, minimum, grace) counts as an
//!   Increase, since it can only be noticed by a customer as a change of price;
//!   a destination renamed at the same terms stays Unchanged;
//! - a row without its own effective date takes the letterhead's: increases from the
//!   "Increase Validity Date", decreases and new codes from the "Decrease Validity
//!   Date"; failing those, the issue date; failing that, the import's time (`now`);
//! - on a **customer plan**, an increase effective before issue date + notice days is
//!   refused or moved to the earliest allowed instant, per the plan's
//!   [`NoticeAction`]; a removal is scheduled at issue date + notice days;
//! - on a **supplier deck**, a removal is effective from the decrease date (else the
//!   issue date, else now);
//! - a changed rate must start after the rate it replaces; the replaced row is closed
//!   (`effective_to`) at the new row's `effective_from`;
//! - with `replace_all` (a full deck, the default), codes missing from the file are
//!   Removed; otherwise (a partial update) they stay as they are.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::import::{DeckMetadata, ImportedRate, LineError};
use crate::money::Currency;
use crate::rating::BillingIncrement;

crate::validation::string_enum! {
    /// What a rate plan prices.
    pub enum PlanKind {
        /// Buy rates of one supplier service (cost).
        Supplier = ("supplier", "Supplier deck"),
        /// Sell rates of customer services (revenue).
        Customer = ("customer", "Customer plan"),
    }
}

crate::validation::string_enum! {
    /// What a customer plan does with an increase inside its notice period.
    pub enum NoticeAction {
        /// The line is an error.
        Refuse = ("refuse", "Refuse the increase"),
        /// The increase is moved to the earliest allowed date.
        Defer = ("defer", "Move it to the earliest allowed date"),
    }
}

crate::validation::string_enum! {
    /// Deck change codes, computed against the live rates (GLOSSARY).
    pub enum ChangeCode {
        New = ("new", "New"),
        Increase = ("increase", "Increase"),
        Decrease = ("decrease", "Decrease"),
        Unchanged = ("unchanged", "Unchanged"),
        Removed = ("removed", "Removed"),
    }
}

/// The plan settings a revision needs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanTerms {
    pub kind: PlanKind,
    pub currency: Currency,
    pub default_increment: BillingIncrement,
    pub default_minimum_s: u32,
    pub default_grace_s: u32,
    pub default_connection_fee_micros: i64,
    /// Days of notice an increase needs (customer plans).
    pub notice_days: u32,
    pub notice_action: NoticeAction,
}

/// A code's rate in force now (its open row).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveRate {
    /// The stored row's id, to close it.
    pub id: i64,
    pub prefix: String,
    pub destination: String,
    pub rate_micros: i64,
    pub connection_fee_micros: i64,
    pub increment: BillingIncrement,
    pub minimum_s: u32,
    pub grace_s: u32,
    pub effective_from: DateTime<Utc>,
}

/// A row the revision adds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedRate {
    pub line: u32,
    pub prefix: String,
    pub destination: String,
    pub rate_micros: i64,
    pub connection_fee_micros: i64,
    pub increment: BillingIncrement,
    pub minimum_s: u32,
    pub grace_s: u32,
    pub effective_from: DateTime<Utc>,
    pub effective_to: Option<DateTime<Utc>>,
    pub change: ChangeCode,
    /// The live rate it replaces (Increase, Decrease, Unchanged).
    pub previous_rate_micros: Option<i64>,
    /// The live row it closes.
    pub supersedes: Option<i64>,
    /// For an increase moved by the notice period: the date the file asked for.
    pub requested_from: Option<DateTime<Utc>>,
}

/// A live row the revision closes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedClose {
    pub rate_id: i64,
    pub prefix: String,
    pub effective_to: DateTime<Utc>,
}

/// Codes per change code.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeCounts {
    pub new: u64,
    pub increase: u64,
    pub decrease: u64,
    pub unchanged: u64,
    pub removed: u64,
}

impl ChangeCounts {
    fn add(&mut self, change: ChangeCode) {
        match change {
            ChangeCode::New => self.new += 1,
            ChangeCode::Increase => self.increase += 1,
            ChangeCode::Decrease => self.decrease += 1,
            ChangeCode::Unchanged => self.unchanged += 1,
            ChangeCode::Removed => self.removed += 1,
        }
    }

    /// Codes the revision changes (everything but Unchanged).
    pub fn changed(&self) -> u64 {
        self.new + self.increase + self.decrease + self.removed
    }
}

/// An increase that fell inside the notice period, and what was done with it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeFlag {
    pub line: u32,
    pub prefix: String,
    pub requested_from: DateTime<Utc>,
    pub earliest_from: DateTime<Utc>,
    pub action: NoticeAction,
}

/// What publishing a file would do.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevisionPlan {
    /// Every code of the file with its change code, in file order; Unchanged included
    /// (they are not stored again).
    pub rates: Vec<PlannedRate>,
    /// Live rows closed because a new row replaces them.
    pub superseded: Vec<PlannedClose>,
    /// Live rows closed because their code is not in the file (full decks only).
    pub removed: Vec<PlannedClose>,
    pub counts: ChangeCounts,
    pub notices: Vec<NoticeFlag>,
    /// Lines refused by the plan (notice period, dates); reading errors are the file's.
    pub errors: Vec<LineError>,
    /// The issue date the notice period counts from.
    pub issued: Option<DateTime<Utc>>,
}

impl RevisionPlan {
    /// Rows the revision stores (New, Increase, Decrease).
    pub fn stored(&self) -> impl Iterator<Item = &PlannedRate> {
        self.rates
            .iter()
            .filter(|r| r.change != ChangeCode::Unchanged)
    }
}

/// Plans a revision of a plan with `terms` whose live rates are `live`, from `rates`
/// read from a file with `metadata`, at server time `now`. Refused lines are in
/// `errors` and left out of everything else. See the module docs for the rules.
/// (The same as feeding a [`Planner`] line by line and keeping every planned rate.)
pub fn plan_revision(
    terms: &PlanTerms,
    live: &[LiveRate],
    rates: &[ImportedRate],
    metadata: &DeckMetadata,
    now: DateTime<Utc>,
    replace_all: bool,
) -> RevisionPlan {
    let mut planner = Planner::new(terms, live, metadata, now);
    let mut planned = Vec::with_capacity(rates.len());
    for line in rates.chunk_by(|a, b| a.line == b.line) {
        planned.extend(planner.line(line));
    }
    let mut plan = planner.finish(replace_all);
    plan.rates = planned;
    plan
}

/// Plans a revision line by line, holding only what the end needs (the live rates, a
/// flag per live rate, the closes and the refusals), so a file of any size can be
/// planned while it is read and published in chunks.
pub struct Planner<'a> {
    terms: &'a PlanTerms,
    live: &'a [LiveRate],
    live_index: HashMap<&'a str, usize>,
    /// Which live rates the file named.
    named: Vec<bool>,
    letterhead: (Option<DateTime<Utc>>, Option<DateTime<Utc>>),
    now: DateTime<Utc>,
    issued: DateTime<Utc>,
    earliest_increase: DateTime<Utc>,
    /// The file's currency differs from the plan's: every line is refused.
    wrong_currency: Option<LineError>,
    plan: RevisionPlan,
}

impl<'a> Planner<'a> {
    pub fn new(
        terms: &'a PlanTerms,
        live: &'a [LiveRate],
        metadata: &DeckMetadata,
        now: DateTime<Utc>,
    ) -> Planner<'a> {
        let issued = metadata.issued.unwrap_or(now);
        let wrong_currency = metadata
            .currency
            .filter(|c| *c != terms.currency)
            .map(|currency| LineError {
                line: 0,
                reason: format!(
                    "currency: the file is in {currency} and the plan in {}",
                    terms.currency
                ),
            });
        Planner {
            terms,
            live,
            live_index: live
                .iter()
                .enumerate()
                .map(|(i, l)| (l.prefix.as_str(), i))
                .collect(),
            named: vec![false; live.len()],
            letterhead: (metadata.increases_from, metadata.decreases_from),
            now,
            issued,
            earliest_increase: issued + Duration::days(i64::from(terms.notice_days)),
            wrong_currency,
            plan: RevisionPlan {
                issued: Some(issued),
                ..RevisionPlan::default()
            },
        }
    }

    /// Plans one line's rates (a line may hold several codes) and returns them, Unchanged
    /// ones included; nothing when the line is refused (the reason is kept for
    /// [`Planner::finish`]). A line with several codes is refused whole when one of
    /// them is.
    pub fn line(&mut self, rates: &[ImportedRate]) -> Vec<PlannedRate> {
        if self.wrong_currency.is_some() {
            return Vec::new();
        }
        let mut rows = Vec::with_capacity(rates.len());
        let mut closes = Vec::new();
        let mut notices = Vec::new();
        let mut refused: Option<LineError> = None;
        for r in rates {
            if let Some(&i) = self.live_index.get(r.prefix.as_str()) {
                self.named[i] = true;
            }
            match self.plan_rate(r, &mut notices) {
                Ok((row, close)) => {
                    rows.push(row);
                    closes.extend(close);
                }
                Err(e) => {
                    refused.get_or_insert(e);
                }
            }
        }
        self.plan.notices.extend(notices);
        if let Some(e) = refused {
            self.plan.errors.push(e);
            return Vec::new();
        }
        for row in &rows {
            self.plan.counts.add(row.change);
        }
        self.plan.superseded.extend(closes);
        rows
    }

    fn plan_rate(
        &self,
        r: &ImportedRate,
        notices: &mut Vec<NoticeFlag>,
    ) -> Result<(PlannedRate, Option<PlannedClose>), LineError> {
        let terms = self.terms;
        let refuse = |reason: String| LineError {
            line: r.line,
            reason,
        };
        let mut row = PlannedRate {
            line: r.line,
            prefix: r.prefix.clone(),
            destination: r.destination.clone(),
            rate_micros: r.rate_micros,
            connection_fee_micros: r
                .connection_fee_micros
                .unwrap_or(terms.default_connection_fee_micros),
            increment: r.increment.unwrap_or(terms.default_increment),
            minimum_s: r.minimum_s.unwrap_or(terms.default_minimum_s),
            grace_s: r.grace_s.unwrap_or(terms.default_grace_s),
            effective_from: self.now,
            effective_to: r.effective_to,
            change: ChangeCode::New,
            previous_rate_micros: None,
            supersedes: None,
            requested_from: None,
        };
        let previous = self
            .live_index
            .get(r.prefix.as_str())
            .map(|&i| &self.live[i]);
        row.change = match previous {
            None => ChangeCode::New,
            Some(p) => {
                row.previous_rate_micros = Some(p.rate_micros);
                row.supersedes = Some(p.id);
                if row.rate_micros > p.rate_micros {
                    ChangeCode::Increase
                } else if row.rate_micros < p.rate_micros {
                    ChangeCode::Decrease
                } else if (
                    row.connection_fee_micros,
                    row.increment,
                    row.minimum_s,
                    row.grace_s,
                ) == (p.connection_fee_micros, p.increment, p.minimum_s, p.grace_s)
                {
                    ChangeCode::Unchanged
                } else {
                    ChangeCode::Increase
                }
            }
        };
        let letterhead = match row.change {
            ChangeCode::Increase => self.letterhead.0,
            _ => self.letterhead.1,
        };
        row.effective_from = r.effective_from.or(letterhead).unwrap_or(self.issued);
        if row.change == ChangeCode::Unchanged {
            if let Some(p) = previous {
                row.effective_from = p.effective_from;
            }
            row.supersedes = None;
            return Ok((row, None));
        }
        let customer = terms.kind == PlanKind::Customer;
        if customer
            && row.change == ChangeCode::Increase
            && row.effective_from < self.earliest_increase
        {
            notices.push(NoticeFlag {
                line: row.line,
                prefix: row.prefix.clone(),
                requested_from: row.effective_from,
                earliest_from: self.earliest_increase,
                action: terms.notice_action,
            });
            match terms.notice_action {
                NoticeAction::Refuse => {
                    return Err(refuse(format!(
                        "effective from: the increase of {} on {} is inside the {}-day notice period; the earliest allowed is {}",
                        row.prefix,
                        row.effective_from.format("%Y-%m-%d %H:%M"),
                        terms.notice_days,
                        self.earliest_increase.format("%Y-%m-%d %H:%M"),
                    )));
                }
                NoticeAction::Defer => {
                    row.requested_from = Some(row.effective_from);
                    row.effective_from = self.earliest_increase;
                }
            }
        }
        let mut close = None;
        if let Some(p) = previous {
            if row.effective_from <= p.effective_from {
                return Err(refuse(format!(
                    "effective from: {} must be after {}, when the rate it replaces for {} started",
                    row.effective_from.format("%Y-%m-%d %H:%M"),
                    p.effective_from.format("%Y-%m-%d %H:%M"),
                    row.prefix
                )));
            }
            close = Some(PlannedClose {
                rate_id: p.id,
                prefix: p.prefix.clone(),
                effective_to: row.effective_from,
            });
        }
        if row.effective_to.is_some_and(|to| to <= row.effective_from) {
            return Err(refuse("effective to: must be after effective from".into()));
        }
        Ok((row, close))
    }

    /// Ends the file: with `replace_all` (a full deck), live codes the file did not
    /// name are Removed. Returns the plan without its rates (the caller has them).
    pub fn finish(mut self, replace_all: bool) -> RevisionPlan {
        if let Some(e) = self.wrong_currency.take() {
            return RevisionPlan {
                errors: vec![e],
                ..RevisionPlan::default()
            };
        }
        if replace_all {
            let removal = if self.terms.kind == PlanKind::Customer {
                self.earliest_increase
            } else {
                self.letterhead.1.unwrap_or(self.issued)
            };
            for (l, named) in self.live.iter().zip(&self.named) {
                if !named {
                    self.plan.removed.push(PlannedClose {
                        rate_id: l.id,
                        prefix: l.prefix.clone(),
                        effective_to: removal.max(l.effective_from + Duration::seconds(1)),
                    });
                    self.plan.counts.add(ChangeCode::Removed);
                }
            }
        }
        self.plan.errors.sort_by_key(|e| e.line);
        self.plan
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        super::super::import::parse_deck_date(super::super::import::CellRef::Text(s)).unwrap()
    }

    fn terms(kind: PlanKind, action: NoticeAction) -> PlanTerms {
        PlanTerms {
            kind,
            currency: Currency::parse("USD").unwrap(),
            default_increment: BillingIncrement {
                first: 60,
                next: 60,
            },
            default_minimum_s: 0,
            default_grace_s: 0,
            default_connection_fee_micros: 0,
            notice_days: 7,
            notice_action: action,
        }
    }

    fn live(id: i64, prefix: &str, rate: i64) -> LiveRate {
        LiveRate {
            id,
            prefix: prefix.into(),
            destination: "X".into(),
            rate_micros: rate,
            connection_fee_micros: 0,
            increment: BillingIncrement {
                first: 60,
                next: 60,
            },
            minimum_s: 0,
            grace_s: 0,
            effective_from: at("2023-01-01"),
        }
    }

    fn imported(line: u32, prefix: &str, rate: i64) -> ImportedRate {
        ImportedRate {
            line,
            prefix: prefix.into(),
            destination: "X".into(),
            rate_micros: rate,
            connection_fee_micros: None,
            increment: None,
            minimum_s: None,
            grace_s: None,
            effective_from: None,
            effective_to: None,
            file_change: None,
        }
    }

    fn letterhead() -> DeckMetadata {
        DeckMetadata {
            issued: Some(at("2023-05-09")),
            increases_from: Some(at("2023-05-16")),
            decreases_from: Some(at("2023-05-10")),
            ..DeckMetadata::default()
        }
    }

    #[test]
    fn every_change_code_against_the_live_rates() {
        let live = [
            live(1, "44", 100),
            live(2, "45", 100),
            live(3, "46", 100),
            live(4, "47", 100),
        ];
        let file = [
            imported(2, "44", 120),
            imported(3, "45", 80),
            imported(4, "46", 100),
            imported(5, "48", 50),
        ];
        let plan = plan_revision(
            &terms(PlanKind::Supplier, NoticeAction::Refuse),
            &live,
            &file,
            &letterhead(),
            at("2023-05-09"),
            true,
        );
        assert_eq!(
            plan.counts,
            ChangeCounts {
                new: 1,
                increase: 1,
                decrease: 1,
                unchanged: 1,
                removed: 1
            }
        );
        let changes: Vec<(&str, ChangeCode, DateTime<Utc>)> = plan
            .rates
            .iter()
            .map(|r| (r.prefix.as_str(), r.change, r.effective_from))
            .collect();
        assert_eq!(
            changes,
            vec![
                ("44", ChangeCode::Increase, at("2023-05-16")),
                ("45", ChangeCode::Decrease, at("2023-05-10")),
                ("46", ChangeCode::Unchanged, at("2023-01-01")),
                ("48", ChangeCode::New, at("2023-05-10")),
            ]
        );
        assert_eq!(plan.stored().count(), 3);
        assert_eq!(
            plan.removed,
            vec![PlannedClose {
                rate_id: 4,
                prefix: "47".into(),
                effective_to: at("2023-05-10")
            }]
        );
        let closes: Vec<(i64, DateTime<Utc>)> = plan
            .superseded
            .iter()
            .map(|c| (c.rate_id, c.effective_to))
            .collect();
        assert_eq!(closes, vec![(1, at("2023-05-16")), (2, at("2023-05-10"))]);
    }

    #[test]
    fn a_partial_update_removes_nothing() {
        let plan = plan_revision(
            &terms(PlanKind::Supplier, NoticeAction::Refuse),
            &[live(1, "44", 100), live(2, "45", 100)],
            &[imported(2, "44", 100)],
            &letterhead(),
            at("2023-05-09"),
            false,
        );
        assert_eq!(plan.counts.removed, 0);
        assert_eq!(plan.counts.unchanged, 1);
    }

    #[test]
    fn a_customer_increase_inside_the_notice_period_is_refused_or_moved() {
        let mut early = imported(2, "44", 150);
        early.effective_from = Some(at("2023-05-12"));
        let live = [live(1, "44", 100)];
        let refused = plan_revision(
            &terms(PlanKind::Customer, NoticeAction::Refuse),
            &live,
            std::slice::from_ref(&early),
            &letterhead(),
            at("2023-05-09"),
            true,
        );
        assert_eq!(refused.errors.len(), 1);
        assert!(refused.errors[0]
            .reason
            .contains("inside the 7-day notice period; the earliest allowed is 2023-05-16"));
        assert_eq!(refused.stored().count(), 0);
        assert!(refused.superseded.is_empty());

        let moved = plan_revision(
            &terms(PlanKind::Customer, NoticeAction::Defer),
            &live,
            &[early],
            &letterhead(),
            at("2023-05-09"),
            true,
        );
        assert!(moved.errors.is_empty());
        assert_eq!(moved.rates[0].effective_from, at("2023-05-16"));
        assert_eq!(moved.rates[0].requested_from, Some(at("2023-05-12")));
        assert_eq!(moved.notices.len(), 1);
        assert_eq!(moved.superseded[0].effective_to, at("2023-05-16"));
    }

    #[test]
    fn a_supplier_increase_needs_no_notice_but_must_start_after_the_live_rate() {
        let mut row = imported(2, "44", 150);
        row.effective_from = Some(at("2022-12-01"));
        let plan = plan_revision(
            &terms(PlanKind::Supplier, NoticeAction::Refuse),
            &[live(1, "44", 100)],
            &[row],
            &letterhead(),
            at("2023-05-09"),
            true,
        );
        assert_eq!(plan.errors.len(), 1);
        assert!(plan.errors[0].reason.contains("must be after 2023-01-01"));
    }

    #[test]
    fn a_file_in_another_currency_publishes_nothing() {
        let metadata = DeckMetadata {
            currency: Currency::parse("EUR").ok(),
            ..letterhead()
        };
        let plan = plan_revision(
            &terms(PlanKind::Supplier, NoticeAction::Refuse),
            &[],
            &[imported(2, "44", 1)],
            &metadata,
            at("2023-05-09"),
            true,
        );
        assert_eq!(plan.errors[0].line, 0);
        assert!(plan.rates.is_empty());
    }

    #[test]
    fn other_terms_at_the_same_price_count_as_an_increase() {
        let mut row = imported(2, "44", 100);
        row.increment = Some(BillingIncrement { first: 60, next: 1 });
        row.effective_from = Some(at("2023-06-01"));
        let plan = plan_revision(
            &terms(PlanKind::Supplier, NoticeAction::Refuse),
            &[live(1, "44", 100)],
            &[row],
            &letterhead(),
            at("2023-05-09"),
            true,
        );
        assert_eq!(plan.counts.increase, 1);
    }
}
