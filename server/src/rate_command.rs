//! `didtron rate`: rates a CDR file against a rate deck with the production engine and
//! no database — for disputes, what-if pricing and re-rating.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};

use domain::money::format_micros;
use domain::rating::{CallToRate, CompiledDeck, RatingPolicy};
use service::rating_files::{read_cdrs, read_deck_file, CdrFormat, RowError};

/// What one run did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct RateSummary {
    pub calls: u64,
    pub answered: u64,
    pub rated: u64,
    pub billed_seconds: u64,
    pub cost_micros: i64,
    /// destination → (calls, billed seconds, cost micros)
    pub by_destination: BTreeMap<String, (u64, u64, i64)>,
    /// reason code → calls
    pub unrated: BTreeMap<&'static str, u64>,
    pub malformed: Vec<RowError>,
    pub currency: String,
}

/// Rates every CDR in `cdrs_path` against the deck CSV at `deck_path`, writing one row
/// per CDR to `out` (see `OUTPUT_COLUMNS`).
///
/// Errors: the deck is unreadable or invalid (every bad line is listed), or a file cannot
/// be opened or written. Malformed CDR rows are not errors: they are counted and listed.
pub fn rate_file(
    deck_path: &str,
    cdrs_path: &str,
    format: Option<CdrFormat>,
    policy: &RatingPolicy,
    out: impl Write,
) -> anyhow::Result<RateSummary> {
    let deck_bytes = std::fs::read(deck_path)
        .map_err(|e| anyhow::anyhow!("cannot open deck {deck_path}: {e}"))?;
    let rows =
        read_deck_file(&deck_bytes, deck_path).map_err(|errors| deck_errors(deck_path, errors))?;
    let deck = CompiledDeck::compile(deck_path, rows).map_err(|errors| {
        deck_errors(
            deck_path,
            errors
                .into_iter()
                .map(|e| RowError {
                    line: u64::from(e.line),
                    reason: e.reason,
                })
                .collect(),
        )
    })?;
    let cdr_file =
        File::open(cdrs_path).map_err(|e| anyhow::anyhow!("cannot open CDRs {cdrs_path}: {e}"))?;
    let mut reader = BufReader::with_capacity(1 << 16, cdr_file);
    let format = match format {
        Some(f) => f,
        None => {
            let first = reader.fill_buf()?;
            let first_line =
                String::from_utf8_lossy(first.split(|b| *b == b'\n').next().unwrap_or_default())
                    .into_owned();
            CdrFormat::detect(cdrs_path, &first_line)
        }
    };
    let mut writer = csv::Writer::from_writer(BufWriter::with_capacity(1 << 16, out));
    writer.write_record(OUTPUT_COLUMNS)?;
    let mut summary = RateSummary::default();
    let mut write_error = None;
    let mut destination_totals: HashMap<String, (u64, u64, i64)> = HashMap::new();
    read_cdrs(
        reader,
        format,
        |cdr| {
            summary.calls += 1;
            summary.answered += u64::from(cdr.answered);
            let call = CallToRate {
                b_number: &cdr.b_number,
                start: cdr.start,
                duration: cdr.duration,
                answered: cdr.answered,
            };
            let start = cdr.start.to_rfc3339();
            let duration = cdr.duration.whole_seconds().to_string();
            let answered = if cdr.answered { "true" } else { "false" };
            // The fields every output row starts with, rated or not.
            let head = [
                cdr.call_id.as_str(),
                &cdr.b_number,
                &start,
                answered,
                &duration,
            ];
            let result = match deck.rate(&call, policy) {
                Ok(r) => {
                    summary.rated += 1;
                    summary.billed_seconds += r.billed_seconds;
                    summary.cost_micros += r.cost_micros;
                    summary.currency = r.currency.to_string();
                    let entry = match destination_totals.get_mut(r.destination) {
                        Some(e) => e,
                        None => destination_totals
                            .entry(r.destination.to_owned())
                            .or_default(),
                    };
                    entry.0 += 1;
                    entry.1 += r.billed_seconds;
                    entry.2 += r.cost_micros;
                    writer.write_record(head.into_iter().chain([
                        "rated",
                        r.prefix,
                        r.destination,
                        &format_micros(r.rate_micros, 6),
                        &r.increment.to_string(),
                        &r.minimum_s.to_string(),
                        &r.grace_s.to_string(),
                        &format_micros(r.connection_fee_micros, 6),
                        &r.billed_seconds.to_string(),
                        &r.unrounded.to_decimal(),
                        &format_micros(r.cost_micros, 6),
                        r.currency.as_str(),
                        r.revision_id,
                    ]))
                }
                Err(no_rate) => {
                    *summary.unrated.entry(no_rate.code()).or_default() += 1;
                    writer.write_record(head.into_iter().chain([
                        no_rate.code(),
                        "",
                        "",
                        "",
                        "",
                        "",
                        "",
                        "",
                        "",
                        "",
                        "",
                        "",
                        deck.revision_id(),
                    ]))
                }
            };
            if let Err(e) = result {
                write_error.get_or_insert(e);
            }
        },
        |error| summary.malformed.push(error),
    )?;
    if let Some(e) = write_error {
        return Err(e.into());
    }
    writer.flush()?;
    summary.by_destination = destination_totals.into_iter().collect();
    Ok(summary)
}

/// The columns of `didtron rate`'s output, in order.
pub const OUTPUT_COLUMNS: [&str; 18] = [
    "call_id",
    "b_number",
    "start",
    "answered",
    "duration_s",
    "status",
    "prefix",
    "destination",
    "rate",
    "increment",
    "minimum",
    "grace",
    "connection_fee",
    "billed_seconds",
    "unrounded_cost",
    "cost",
    "currency",
    "revision",
];

fn deck_errors(path: &str, errors: Vec<RowError>) -> anyhow::Error {
    let shown: Vec<_> = errors.iter().take(50).map(|e| format!("  {e}")).collect();
    let more = errors.len().saturating_sub(50);
    anyhow::anyhow!(
        "the deck {path} has {} bad row(s); nothing was rated:\n{}{}",
        errors.len(),
        shown.join("\n"),
        if more > 0 {
            format!("\n  … and {more} more")
        } else {
            String::new()
        }
    )
}

impl RateSummary {
    /// The human summary printed on stderr.
    pub fn report(&self) -> String {
        let mut s = String::new();
        s.push_str(&format!(
            "calls {}  answered {}  rated {}  billed minutes {}  cost {} {}\n",
            self.calls,
            self.answered,
            self.rated,
            minutes(self.billed_seconds),
            format_micros(self.cost_micros, 6),
            self.currency
        ));
        if !self.by_destination.is_empty() {
            s.push_str("cost per destination:\n");
            let mut rows: Vec<_> = self.by_destination.iter().collect();
            rows.sort_by(|a, b| b.1 .2.cmp(&a.1 .2).then(a.0.cmp(b.0)));
            for (destination, (calls, billed, cost)) in rows {
                s.push_str(&format!(
                    "  {destination:<40} calls {calls:>8}  minutes {:>12}  cost {:>16}\n",
                    minutes(*billed),
                    format_micros(*cost, 6)
                ));
            }
        }
        if !self.unrated.is_empty() {
            s.push_str("unrated by reason:\n");
            for (reason, calls) in &self.unrated {
                s.push_str(&format!("  {reason:<20} {calls}\n"));
            }
        }
        if !self.malformed.is_empty() {
            s.push_str(&format!(
                "malformed rows {} (not rated):\n",
                self.malformed.len()
            ));
            for e in self.malformed.iter().take(20) {
                s.push_str(&format!("  {e}\n"));
            }
            if self.malformed.len() > 20 {
                s.push_str(&format!("  … and {} more\n", self.malformed.len() - 20));
            }
        }
        s
    }
}

/// Seconds as minutes with two decimals, truncated (integer arithmetic).
fn minutes(seconds: u64) -> String {
    format!("{}.{:02}", seconds / 60, (seconds % 60) * 100 / 60)
}
