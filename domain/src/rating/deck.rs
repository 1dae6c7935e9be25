//! Rate decks: rows as carriers publish them, compiled into an immutable structure that
//! rates a call in a few hundred nanoseconds.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use chrono::{DateTime, Utc};

use super::increment::BillingIncrement;
use super::index::PrefixIndex;
use crate::money::Currency;

/// One row of a rate deck: the price of calls to numbers starting with `prefix`, in force
/// from `effective_from` (inclusive) until `effective_to` (exclusive, `None` = open).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RateDeckRow {
    /// Where the row came from (file line), for error messages.
    pub line: u32,
    /// Dial code: 1–15 ASCII digits (ITU-T E.164 numbers have at most 15 digits).
    pub prefix: String,
    /// Destination name, e.g. "India-Voda-Idea-Mobile".
    pub destination: String,
    /// Price per minute, micro-units of `currency`.
    pub rate_micros: i64,
    /// Charged once per answered call, micro-units.
    pub connection_fee_micros: i64,
    pub increment: BillingIncrement,
    /// Billed floor, seconds.
    pub minimum_s: u32,
    /// Calls this short or shorter are not billed, seconds.
    pub grace_s: u32,
    pub effective_from: DateTime<Utc>,
    pub effective_to: Option<DateTime<Utc>>,
    pub currency: Currency,
}

/// A row the deck cannot hold, with its line.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct DeckError {
    pub line: u32,
    pub reason: String,
}

/// Billing terms shared by many rows, stored once.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Tariff {
    pub connection_fee_micros: i64,
    pub increment: BillingIncrement,
    pub minimum_s: u32,
    pub grace_s: u32,
    pub currency: Currency,
}

/// One revision of one prefix's rate, compiled.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CompiledRate {
    /// Unix seconds, inclusive.
    pub from: i64,
    /// Unix seconds, exclusive (`i64::MAX` when open).
    pub to: i64,
    pub rate_micros: i64,
    pub tariff: u32,
    pub destination: u32,
}

/// An immutable, compiled rate deck revision: build once with [`CompiledDeck::compile`],
/// share between threads behind an `Arc`, replace atomically with [`DeckHandle::publish`].
pub struct CompiledDeck {
    pub(crate) revision_id: String,
    /// Per code: its revisions `rates[start..start + count]` (sorted by `from`), packed
    /// as `start | count << 32` in the index slot, so a rating reads no other table.
    pub(crate) index: PrefixIndex,
    pub(crate) rates: Vec<CompiledRate>,
    pub(crate) tariffs: Vec<Tariff>,
    /// Destination names, inline up to 24 bytes (most are): a rating reads the name with
    /// the line that holds it, without a second load.
    pub(crate) destinations: Vec<compact_str::CompactString>,
}

/// Longest dial code accepted (ITU-T E.164: at most 15 digits in a number); the prefix
/// index holds codes up to this length.
pub const MAX_PREFIX_DIGITS: usize = super::index::MAX_DEPTH;

impl CompiledDeck {
    /// Compiles `rows` as revision `revision_id`.
    ///
    /// Errors (all of them, each with its line): a prefix that is not 1–15 digits, a
    /// negative rate or fee, `effective_to` not after `effective_from`, and two rows of
    /// the same prefix in force at the same instant.
    pub fn compile(
        revision_id: impl Into<String>,
        mut rows: Vec<RateDeckRow>,
    ) -> Result<CompiledDeck, Vec<DeckError>> {
        let mut errors = Vec::new();
        for row in &rows {
            let mut fail = |reason: String| {
                errors.push(DeckError {
                    line: row.line,
                    reason,
                })
            };
            if row.prefix.is_empty()
                || row.prefix.len() > MAX_PREFIX_DIGITS
                || !row.prefix.bytes().all(|b| b.is_ascii_digit())
            {
                fail(format!(
                    "dial code `{}` must be 1 to {MAX_PREFIX_DIGITS} digits",
                    row.prefix
                ));
            }
            if row.rate_micros < 0 {
                fail("rate must not be negative".into());
            }
            if row.connection_fee_micros < 0 {
                fail("connection fee must not be negative".into());
            }
            if row.effective_to.is_some_and(|to| to <= row.effective_from) {
                fail("effective_to must be after effective_from".into());
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        rows.sort_by(|a, b| {
            a.prefix
                .cmp(&b.prefix)
                .then(a.effective_from.cmp(&b.effective_from))
        });

        let mut codes: Vec<(String, u64)> = Vec::new();
        let mut rates = Vec::with_capacity(rows.len());
        let mut tariffs = Vec::new();
        let mut tariff_ids: HashMap<Tariff, u32> = HashMap::new();
        let mut destinations = Vec::new();
        let mut destination_ids: HashMap<String, u32> = HashMap::new();
        let mut i = 0;
        while i < rows.len() {
            let start = rates.len() as u32;
            let prefix = rows[i].prefix.clone();
            let mut previous: Option<&RateDeckRow> = None;
            while i < rows.len() && rows[i].prefix == prefix {
                let row = &rows[i];
                if let Some(prev) = previous {
                    let prev_to = prev.effective_to.map_or(i64::MAX, |t| t.timestamp());
                    if row.effective_from.timestamp() < prev_to {
                        errors.push(DeckError {
                            line: row.line,
                            reason: format!(
                                "dial code {prefix} is already in force at {} (line {}); close it with effective_to first",
                                row.effective_from.format("%Y-%m-%d %H:%M:%S UTC"),
                                prev.line
                            ),
                        });
                    }
                }
                let tariff = Tariff {
                    connection_fee_micros: row.connection_fee_micros,
                    increment: row.increment,
                    minimum_s: row.minimum_s,
                    grace_s: row.grace_s,
                    currency: row.currency,
                };
                let tariff = *tariff_ids.entry(tariff).or_insert_with(|| {
                    tariffs.push(tariff);
                    tariffs.len() as u32 - 1
                });
                let destination = match destination_ids.get(&row.destination) {
                    Some(id) => *id,
                    None => {
                        destinations.push(compact_str::CompactString::new(&row.destination));
                        let id = destinations.len() as u32 - 1;
                        destination_ids.insert(row.destination.clone(), id);
                        id
                    }
                };
                rates.push(CompiledRate {
                    from: row.effective_from.timestamp(),
                    to: row.effective_to.map_or(i64::MAX, |t| t.timestamp()),
                    rate_micros: row.rate_micros,
                    tariff,
                    destination,
                });
                previous = Some(row);
                i += 1;
            }
            let count = rates.len() as u32 - start;
            codes.push((prefix, u64::from(start) | u64::from(count) << 32));
        }
        if !errors.is_empty() {
            errors.sort_by_key(|e| e.line);
            return Err(errors);
        }
        let index = PrefixIndex::build(
            codes
                .iter()
                .map(|(c, v)| (c.as_bytes(), *v))
                .collect::<Vec<_>>()
                .into_iter(),
        );
        Ok(CompiledDeck {
            revision_id: revision_id.into(),
            index,
            rates,
            tariffs,
            destinations,
        })
    }

    /// The revision this deck was compiled from.
    pub fn revision_id(&self) -> &str {
        &self.revision_id
    }

    /// Number of distinct dial codes.
    pub fn prefixes(&self) -> usize {
        self.index.len()
    }

    /// Number of rate rows (all revisions of all codes).
    pub fn rows(&self) -> usize {
        self.rates.len()
    }

    /// Heap bytes held: `(prefix structure, everything)`.
    pub fn heap_bytes(&self) -> (usize, usize) {
        let trie = self.index.heap_bytes();
        let total = trie
            + self.rates.capacity() * std::mem::size_of::<CompiledRate>()
            + self.tariffs.capacity() * std::mem::size_of::<Tariff>()
            + self
                .destinations
                .iter()
                .map(|d| {
                    std::mem::size_of::<compact_str::CompactString>()
                        + if d.is_heap_allocated() {
                            d.capacity()
                        } else {
                            0
                        }
                })
                .sum::<usize>();
        (trie, total)
    }
}

/// A rate plan compiled for pricing: its deck at the live revision and the plan's
/// rules around it. Shared as an `Arc` by CDR rating and the routing API.
pub struct PlanDeck {
    pub plan_id: i64,
    /// The revision compiled (`None`: the plan has no live revision, the deck is empty).
    pub live_revision_id: Option<i64>,
    /// The plan's currency; `policy.currency` makes a row in another one `CurrencyMismatch`.
    pub currency: Currency,
    pub policy: super::engine::RatingPolicy,
    pub deck: CompiledDeck,
}

/// The deck in force, replaceable while other threads rate: readers take an `Arc` to the
/// current revision (a few nanoseconds, no copying) and keep using it even after a new
/// revision is published.
pub struct DeckHandle {
    current: RwLock<Arc<CompiledDeck>>,
}

impl DeckHandle {
    /// A handle serving `deck`.
    pub fn new(deck: CompiledDeck) -> Self {
        DeckHandle {
            current: RwLock::new(Arc::new(deck)),
        }
    }

    /// The revision in force now.
    pub fn current(&self) -> Arc<CompiledDeck> {
        self.current.read().expect("deck lock").clone()
    }

    /// Makes `deck` the revision in force for every later [`DeckHandle::current`].
    pub fn publish(&self, deck: CompiledDeck) {
        *self.current.write().expect("deck lock") = Arc::new(deck);
    }
}
