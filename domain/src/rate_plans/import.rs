//! Reading a rate deck as carriers send it: a grid of cells (a CSV file or one sheet of
//! an XLSX workbook), pushed row by row into a [`DeckReader`].
//!
//! The reader
//! 1. scans the **letterhead** above the table for `label: value` pairs it knows
//!    (currency, date issued, increase and decrease validity dates) — see
//!    [`DeckMetadata`];
//! 2. finds the **header row**: the first row whose cells name a code column and a rate
//!    column (or the row the caller names), and maps columns from their names
//!    ([`DeckField::from_header`]) unless the caller gives a [`ColumnMapping`];
//! 3. reads every later row into [`ImportedRate`]s (one per dial code: a cell may hold
//!    several codes) or a [`LineError`] naming the line and the field.
//!
//! Codes are read as carriers write them ([`expand_codes`]): one code per cell, country
//! code and area code in two columns, `93-76` meaning 9376, several codes per cell
//! separated by `,`, `;` or `|`, a leading `+` or `00`. Dates ([`parse_deck_date`]): ISO
//! 8601, `dd-MMM-yy`, `dd-MMM-yyyy`, `dd/mm/yyyy` and Excel serial numbers (1900 date
//! system), all UTC. Pulses: `a/b` ([`BillingIncrement::parse`]). Numbers stored by a
//! spreadsheet as binary floating point are read through their shortest round-trip
//! decimal text (`0.28499999999999998` is the `0.285` the carrier typed), then exactly.
//!
//! No I/O here: the service feeds cells from files; the same reader serves imports and
//! `didtron rate --deck`.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use crate::money::{parse_micros, Currency};
use crate::rating::{BillingIncrement, MAX_PREFIX_DIGITS};

/// One cell as a file holds it. CSV cells are all `Text`; XLSX numbers and dates arrive
/// as `Number` (dates as Excel serial days), formulas as their cached value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum CellRef<'a> {
    Empty,
    Text(&'a str),
    Number(f64),
}

impl CellRef<'_> {
    fn is_empty(&self) -> bool {
        match self {
            CellRef::Empty => true,
            CellRef::Text(t) => t.trim().is_empty(),
            CellRef::Number(_) => false,
        }
    }

    /// The cell as text: numbers in their shortest round-trip decimal form, whole numbers
    /// without a fraction.
    pub fn text(&self) -> std::borrow::Cow<'_, str> {
        match self {
            CellRef::Empty => "".into(),
            CellRef::Text(t) => t.trim().into(),
            CellRef::Number(n) => number_text(*n).into(),
        }
    }
}

fn number_text(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

crate::validation::string_enum! {
    /// What a column of a rate deck holds.
    pub enum DeckField {
        /// Destination name, e.g. "Afghanistan-MTN-Mobile".
        Destination = ("destination", "Destination"),
        /// The whole dial code (one or several per cell).
        Code = ("code", "Code"),
        /// Country code, when the code is split in two columns.
        CountryCode = ("country_code", "Country code"),
        /// Area code (one or several per cell), appended to the country code.
        AreaCode = ("area_code", "Area code"),
        /// Price per minute, decimal.
        Rate = ("rate", "Rate per minute"),
        /// First instant the rate applies.
        EffectiveFrom = ("effective_from", "Effective from"),
        /// Instant the rate stops applying (exclusive).
        EffectiveTo = ("effective_to", "Effective to"),
        /// Billing increment `a/b` ("pulse").
        Increment = ("increment", "Increment (pulse)"),
        /// The carrier's own change code ("Increase", "No Change"…), for reference.
        ChangeCode = ("change_code", "Change code"),
        /// Charged once per answered call, decimal.
        ConnectionFee = ("connection_fee", "Connection fee"),
        /// Minimum billed seconds.
        Minimum = ("minimum", "Minimum (s)"),
        /// Seconds not billed.
        Grace = ("grace", "Grace (s)"),
        /// ISO 4217 currency of the row.
        Currency = ("currency", "Currency"),
    }
}

/// Lower-case ASCII letters and digits only: `"Rates (USD / Min)"` → `"ratesusdmin"`.
fn squash(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

impl DeckField {
    /// The field a header names, from the names carriers use (case, spaces and
    /// punctuation ignored): Destination; Code / Dial Code / Complete Code / Prefix /
    /// City Code(s); Country Code; Area Code; Rate / Price / Rate per min / Rates (USD /
    /// Min); Effective / Valid From / Effective Date; Valid To / End Date; Pulse /
    /// Increment / Billing; Change / Rate Change; Connection Fee; Minimum; Grace;
    /// Currency. `None` for anything else ("Time Type", "Notes").
    pub fn from_header(header: &str) -> Option<DeckField> {
        let h = squash(header);
        let h = h.as_str();
        let field = match h {
            "destination" | "destinationname" | "description" | "country" | "name" | "zone"
            | "route" => DeckField::Destination,
            "code" | "codes" | "dialcode" | "dialcodes" | "completecode" | "completecodes"
            | "prefix" | "prefixes" | "citycode" | "citycodes" | "destinationcode"
            | "destinationcodes" | "dialingcode" | "dialingcodes" => DeckField::Code,
            "countrycode" | "cc" => DeckField::CountryCode,
            "areacode" | "areacodes" | "ac" | "ndc" => DeckField::AreaCode,
            "effective" | "effectivefrom" | "effectivedate" | "validfrom" | "startdate"
            | "validitydate" | "dateeffective" => DeckField::EffectiveFrom,
            "effectiveto" | "validto" | "validuntil" | "enddate" | "expirydate" => {
                DeckField::EffectiveTo
            }
            "pulse" | "pulses" | "increment" | "increments" | "billing" | "billingincrement"
            | "interval" | "billingincrements" => DeckField::Increment,
            "change" | "ratechange" | "changecode" | "status" => DeckField::ChangeCode,
            "connectionfee" | "connectfee" | "connectioncharge" | "setupfee" | "connection" => {
                DeckField::ConnectionFee
            }
            "minimum" | "minimumduration" | "minduration" | "min" => DeckField::Minimum,
            "grace" | "graceperiod" => DeckField::Grace,
            "currency" => DeckField::Currency,
            _ if (h.starts_with("rate") || h.starts_with("price")) && !h.contains("change") => {
                DeckField::Rate
            }
            _ => return None,
        };
        Some(field)
    }
}

/// Which column holds which field (0-based column indexes). A field appears at most once;
/// the first column that names a field wins.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnMapping {
    pub columns: Vec<(DeckField, usize)>,
}

impl ColumnMapping {
    /// Maps `headers` by their names ([`DeckField::from_header`]).
    pub fn from_headers<S: AsRef<str>>(headers: &[S]) -> ColumnMapping {
        let mut mapping = ColumnMapping::default();
        for (i, h) in headers.iter().enumerate() {
            if let Some(field) = DeckField::from_header(h.as_ref()) {
                if mapping.column(field).is_none() {
                    mapping.columns.push((field, i));
                }
            }
        }
        mapping
    }

    /// Maps `headers` by a mapping remembered as header names (see
    /// [`ColumnMapping::remembered`]); fields whose header is absent fall back to
    /// [`ColumnMapping::from_headers`].
    pub fn from_remembered<S: AsRef<str>>(
        headers: &[S],
        remembered: &[(DeckField, String)],
    ) -> ColumnMapping {
        let mut mapping = ColumnMapping::default();
        for (field, name) in remembered {
            let wanted = squash(name);
            if let Some(i) = headers.iter().position(|h| squash(h.as_ref()) == wanted) {
                mapping.set(*field, Some(i));
            }
        }
        let auto = ColumnMapping::from_headers(headers);
        for (field, i) in auto.columns {
            let used = mapping.columns.iter().any(|(_, c)| *c == i);
            if mapping.column(field).is_none() && !used {
                mapping.columns.push((field, i));
            }
        }
        mapping
    }

    /// The mapping as header names, to remember for the next file of the same supplier.
    pub fn remembered<S: AsRef<str>>(&self, headers: &[S]) -> Vec<(DeckField, String)> {
        self.columns
            .iter()
            .filter_map(|(f, i)| headers.get(*i).map(|h| (*f, h.as_ref().to_owned())))
            .collect()
    }

    /// The column of `field`, if mapped.
    pub fn column(&self, field: DeckField) -> Option<usize> {
        self.columns
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, c)| *c)
    }

    /// Maps `field` to `column` (or unmaps it with `None`).
    pub fn set(&mut self, field: DeckField, column: Option<usize>) {
        self.columns.retain(|(f, _)| *f != field);
        if let Some(c) = column {
            self.columns.push((field, c));
        }
    }

    /// Whether the mapping can read rates: a code (or country code) and a rate.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.column(DeckField::Code).is_none() && self.column(DeckField::CountryCode).is_none() {
            problems.push("no column is mapped to Code (or Country code)".to_owned());
        }
        if self.column(DeckField::Rate).is_none() {
            problems.push("no column is mapped to Rate per minute".to_owned());
        }
        problems
    }
}

/// What the letterhead above the table says (each `None` when absent).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeckMetadata {
    /// "Currency: USD", or a currency named in the rate header ("Rates (USD / Min)").
    pub currency: Option<Currency>,
    /// "Date Issued", "Issue Date".
    pub issued: Option<DateTime<Utc>>,
    /// "Increase Validity Date": when increases apply.
    pub increases_from: Option<DateTime<Utc>>,
    /// "Decrease Validity Date": when decreases (and new codes) apply.
    pub decreases_from: Option<DateTime<Utc>>,
    /// Other `label: value` pairs of the letterhead, as written (customer id, product…).
    pub other: Vec<(String, String)>,
}

/// How a file writes its codes; counted per line, so the preview can say which
/// convention the file uses.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeConventions {
    /// Lines whose code came from country code + area code columns.
    pub split_columns: u64,
    /// Lines with a separator inside a code (`93-76`, `93 76`).
    pub separated: u64,
    /// Lines with several codes in one cell.
    pub several_per_cell: u64,
    /// Lines with a leading `+` or `00` removed.
    pub international_prefix: u64,
}

impl CodeConventions {
    /// One sentence per convention seen, for people.
    pub fn describe(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.split_columns > 0 {
            out.push(format!(
                "Country code and area code in separate columns ({} lines).",
                self.split_columns
            ));
        } else {
            out.push("One code column.".to_owned());
        }
        if self.separated > 0 {
            out.push(format!(
                "Codes written with a separator, e.g. 93-76 = 9376 ({} lines).",
                self.separated
            ));
        }
        if self.several_per_cell > 0 {
            out.push(format!(
                "Several codes in one cell, each imported as its own code ({} lines).",
                self.several_per_cell
            ));
        }
        if self.international_prefix > 0 {
            out.push(format!(
                "Leading + or 00 removed ({} lines).",
                self.international_prefix
            ));
        }
        out
    }
}

/// One dial code's rate as read from a file, before it is compared with the plan.
/// `None` fields were not in the file: the plan's defaults (or the letterhead's dates)
/// apply.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportedRate {
    /// 1-based line (spreadsheet row number) the rate came from.
    pub line: u32,
    /// E.164 dial code, 1–15 digits, no `+`.
    pub prefix: String,
    pub destination: String,
    /// Price per minute, micro-units.
    pub rate_micros: i64,
    pub connection_fee_micros: Option<i64>,
    pub increment: Option<BillingIncrement>,
    pub minimum_s: Option<u32>,
    pub grace_s: Option<u32>,
    pub effective_from: Option<DateTime<Utc>>,
    pub effective_to: Option<DateTime<Utc>>,
    /// The carrier's change code as written ("Increase", "No Change"…), if mapped.
    pub file_change: Option<String>,
}

/// A line that could not be read, with the reason (which names the field).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct LineError {
    pub line: u32,
    pub reason: String,
}

/// Where the reader is.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Stage {
    Letterhead,
    Rows,
}

/// What the caller decides about the header and the columns (`Default`: find and map
/// them automatically).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadOptions {
    /// The header row's line; `None` = the first row naming a code and a rate column.
    pub header_line: Option<u32>,
    /// The columns; `None` = from the header names (or `remembered`).
    pub mapping: Option<ColumnMapping>,
    /// A mapping remembered for this supplier, as header names.
    pub remembered: Vec<(DeckField, String)>,
}

/// Header rows are looked for in the first this many lines.
pub const HEADER_SEARCH_LINES: u32 = 200;

/// Streams a deck: [`DeckReader::push_row`] each row in order, then
/// [`DeckReader::finish`].
pub struct DeckReader {
    options: ReadOptions,
    stage: Stage,
    metadata: DeckMetadata,
    headers: Vec<String>,
    header_line: Option<u32>,
    mapping: ColumnMapping,
    rates: Vec<ImportedRate>,
    errors: Vec<LineError>,
    conventions: CodeConventions,
    data_lines: u64,
    last_line: u32,
    codes: Vec<String>,
    /// Every code read, compactly, for the duplicate check at the end: (code as a
    /// number — codes never start with 0 —, effective from in Unix seconds or
    /// `i64::MIN`, line). 24 bytes a code, whatever the file holds.
    keys: Vec<(u64, i64, u32)>,
    check_duplicates: bool,
}

/// Everything read from one file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeckFile {
    pub metadata: DeckMetadata,
    /// Header row's line and its cells as text; `None` when no header was found.
    pub header_line: Option<u32>,
    pub headers: Vec<String>,
    pub mapping: ColumnMapping,
    pub conventions: CodeConventions,
    /// Non-blank lines below the header: each gave one or more rates or one error.
    pub data_lines: u64,
    /// Rates in file order.
    pub rates: Vec<ImportedRate>,
    /// Every line that could not be read, in line order (a missing header is line 0).
    pub errors: Vec<LineError>,
}

impl DeckFile {
    /// Lines that gave rates.
    pub fn good_lines(&self) -> u64 {
        self.data_lines - self.errors.iter().filter(|e| e.line > 0).count() as u64
    }
}

impl DeckReader {
    pub fn new(options: ReadOptions) -> DeckReader {
        DeckReader {
            options,
            stage: Stage::Letterhead,
            metadata: DeckMetadata::default(),
            headers: Vec::new(),
            header_line: None,
            mapping: ColumnMapping::default(),
            rates: Vec::new(),
            errors: Vec::new(),
            conventions: CodeConventions::default(),
            data_lines: 0,
            last_line: 0,
            codes: Vec::new(),
            keys: Vec::new(),
            check_duplicates: true,
        }
    }

    /// A reader that does not look for duplicate codes (a second pass over a file whose
    /// bad lines are already known): it then holds nothing per code.
    pub fn without_duplicate_check(mut self) -> DeckReader {
        self.check_duplicates = false;
        self
    }

    /// Takes the rates read so far, so a caller can stream a file line by line without
    /// the reader holding every rate.
    pub fn take_rates(&mut self) -> Vec<ImportedRate> {
        std::mem::take(&mut self.rates)
    }

    /// What the letterhead (and the file so far) said.
    pub fn metadata(&self) -> &DeckMetadata {
        &self.metadata
    }

    /// Makes room for `rates` more rates (say, the file's line count), so a large file
    /// is read without the vector doubling (and briefly holding old and new copies).
    pub fn reserve(&mut self, rates: usize) {
        self.rates.reserve_exact(rates);
    }

    /// Rates read so far (for progress).
    pub fn rates_read(&self) -> usize {
        self.rates.len()
    }

    /// Feeds row `line` (1-based, increasing).
    pub fn push_row(&mut self, line: u32, cells: &[CellRef<'_>]) {
        self.last_line = line;
        match self.stage {
            Stage::Letterhead => self.letterhead_row(line, cells),
            Stage::Rows => {
                if cells.iter().all(CellRef::is_empty) {
                    return;
                }
                self.data_lines += 1;
                if let Err(reason) = self.rate_row(line, cells) {
                    self.errors.push(LineError { line, reason });
                }
            }
        }
    }

    fn letterhead_row(&mut self, line: u32, cells: &[CellRef<'_>]) {
        let is_header = match self.options.header_line {
            Some(h) => h == line,
            None => {
                let headers: Vec<String> = cells.iter().map(|c| c.text().into_owned()).collect();
                let mapping = self.auto_mapping(&headers);
                mapping.problems().is_empty()
                    && mapping.column(DeckField::Code) != mapping.column(DeckField::Rate)
            }
        };
        if is_header {
            self.headers = cells.iter().map(|c| c.text().into_owned()).collect();
            while self.headers.last().is_some_and(|h| h.is_empty()) {
                self.headers.pop();
            }
            self.mapping = match &self.options.mapping {
                Some(m) => m.clone(),
                None => self.auto_mapping(&self.headers),
            };
            if self.metadata.currency.is_none() {
                if let Some(c) = self.mapping.column(DeckField::Rate) {
                    self.metadata.currency = currency_in(&self.headers[c]);
                }
            }
            self.header_line = Some(line);
            self.stage = Stage::Rows;
            return;
        }
        self.read_label(cells);
    }

    fn auto_mapping(&self, headers: &[String]) -> ColumnMapping {
        if self.options.remembered.is_empty() {
            ColumnMapping::from_headers(headers)
        } else {
            ColumnMapping::from_remembered(headers, &self.options.remembered)
        }
    }

    /// `Label: value` pairs: the first non-empty cell is the label, the next one the value.
    fn read_label(&mut self, cells: &[CellRef<'_>]) {
        let mut filled = cells.iter().filter(|c| !c.is_empty());
        let (Some(label), Some(value)) = (filled.next(), filled.next()) else {
            return;
        };
        let label_text = label.text();
        let key = squash(&label_text);
        let date = || parse_deck_date(*value).ok();
        match key.as_str() {
            "currency" => self.metadata.currency = Currency::parse(&value.text()).ok(),
            "dateissued" | "issuedate" | "issued" | "dateofissue" | "issuedon" => {
                self.metadata.issued = date()
            }
            "increasevaliditydate" | "increasesvalidfrom" | "increaseeffectivedate" => {
                self.metadata.increases_from = date()
            }
            "decreasevaliditydate" | "decreasesvalidfrom" | "decreaseeffectivedate" => {
                self.metadata.decreases_from = date()
            }
            _ => {
                let label = label_text.trim_end_matches(':').trim().to_owned();
                self.metadata.other.push((label, value.text().into_owned()));
            }
        }
    }

    fn rate_row(&mut self, line: u32, cells: &[CellRef<'_>]) -> Result<(), String> {
        let cell = |field: DeckField| {
            self.mapping
                .column(field)
                .and_then(|c| cells.get(c).copied())
                .unwrap_or(CellRef::Empty)
        };
        let mut problems: Vec<String> = Vec::new();
        let mut codes = std::mem::take(&mut self.codes);
        codes.clear();
        let mut used = CodeUse::default();
        let code_result = if self.mapping.column(DeckField::Code).is_some() {
            expand_codes("", cell(DeckField::Code), &mut codes, &mut used)
        } else {
            used.split_columns = true;
            let cc_cell = cell(DeckField::CountryCode);
            let cc = cc_cell.text();
            let mut country = Vec::new();
            let mut cc_use = CodeUse::default();
            expand_codes("", CellRef::Text(&cc), &mut country, &mut cc_use).and_then(|()| {
                if country.len() != 1 {
                    return Err(format!("country code `{cc}` must be one code"));
                }
                used.international |= cc_use.international;
                let area = cell(DeckField::AreaCode);
                if area.is_empty() {
                    codes.push(country.pop().expect("one"));
                    Ok(())
                } else {
                    expand_codes(&country[0], area, &mut codes, &mut used)
                }
            })
        };
        let code_name = if self.mapping.column(DeckField::Code).is_some() {
            "code"
        } else {
            "country code / area code"
        };
        if let Err(e) = code_result {
            problems.push(format!("{code_name}: {e}"));
        }
        let rate = match cell(DeckField::Rate) {
            c if c.is_empty() => Err("rate is empty".to_owned()),
            c => parse_amount(c).map_err(|e| format!("rate: {e}")),
        };
        let rate_micros = rate.unwrap_or_else(|e| {
            problems.push(e);
            0
        });
        if rate_micros < 0 {
            problems.push("rate: must not be negative".into());
        }
        let fee = optional(
            cell(DeckField::ConnectionFee),
            "connection fee",
            &mut problems,
            |c| {
                parse_amount(c).and_then(|v| {
                    if v < 0 {
                        Err("must not be negative".into())
                    } else {
                        Ok(v)
                    }
                })
            },
        );
        let minimum = optional(
            cell(DeckField::Minimum),
            "minimum",
            &mut problems,
            parse_seconds,
        );
        let grace = optional(
            cell(DeckField::Grace),
            "grace",
            &mut problems,
            parse_seconds,
        );
        let increment = optional(
            cell(DeckField::Increment),
            "increment",
            &mut problems,
            |c| BillingIncrement::parse(&c.text()),
        );
        let effective_from = optional(
            cell(DeckField::EffectiveFrom),
            "effective from",
            &mut problems,
            parse_deck_date,
        );
        let effective_to = optional(
            cell(DeckField::EffectiveTo),
            "effective to",
            &mut problems,
            parse_deck_date,
        );
        if let (Some(f), Some(t)) = (effective_from, effective_to) {
            if t <= f {
                problems.push("effective to: must be after effective from".into());
            }
        }
        let currency_cell = cell(DeckField::Currency);
        if !currency_cell.is_empty() {
            match Currency::parse(&currency_cell.text()) {
                Ok(c) => match self.metadata.currency {
                    None => self.metadata.currency = Some(c),
                    Some(file) if file != c => problems.push(format!(
                        "currency: {c} differs from the file's currency {file}"
                    )),
                    Some(_) => {}
                },
                Err(e) => problems.push(format!("currency: {e}")),
            }
        }
        if !problems.is_empty() {
            self.codes = codes;
            return Err(problems.join("; "));
        }
        let destination = cell(DeckField::Destination).text().into_owned();
        let file_change = match cell(DeckField::ChangeCode) {
            c if c.is_empty() => None,
            c => Some(c.text().into_owned()),
        };
        self.conventions.split_columns += u64::from(used.split_columns);
        self.conventions.separated += u64::from(used.separated);
        self.conventions.several_per_cell += u64::from(codes.len() > 1);
        self.conventions.international_prefix += u64::from(used.international);
        for prefix in codes.drain(..) {
            if self.check_duplicates {
                // 1–15 digits, checked by expand_codes: fits a u64 exactly.
                let number = prefix.parse::<u64>().unwrap_or(u64::MAX);
                let from = effective_from.map_or(i64::MIN, |d| d.timestamp());
                self.keys.push((number, from, line));
            }
            self.rates.push(ImportedRate {
                line,
                prefix,
                destination: destination.clone(),
                rate_micros,
                connection_fee_micros: fee,
                increment,
                minimum_s: minimum,
                grace_s: grace,
                effective_from,
                effective_to,
                file_change: file_change.clone(),
            });
        }
        self.codes = codes;
        Ok(())
    }

    /// Ends the file. Without a header row, the file gives one error on line 0 that says
    /// what was looked for. Duplicate codes (the same code twice at the same effective
    /// date) are errors on the later line.
    pub fn finish(mut self) -> DeckFile {
        if self.header_line.is_none() {
            self.errors.push(LineError {
                line: 0,
                reason: match self.options.header_line {
                    Some(h) => format!("the file has no line {h} to use as its header"),
                    None => format!(
                        "no header row found in the first {HEADER_SEARCH_LINES} lines: a row must name a code column (Code, Dial Code, Prefix, Country Code…) and a rate column (Rate, Price…)"
                    ),
                },
            });
        } else {
            // Sorted by (code, date, line): a code's repeats sit together, first line first.
            self.keys.sort_unstable();
            let mut bad = std::collections::BTreeMap::new();
            let mut run: Option<(u64, i64, u32)> = None;
            for &(code, from, line) in &self.keys {
                match run {
                    Some((c, f, first)) if c == code && f == from => {
                        if line != first {
                            bad.entry(line).or_insert((code, first));
                        }
                    }
                    _ => run = Some((code, from, line)),
                }
            }
            self.keys = Vec::new();
            if !bad.is_empty() {
                for (&line, &(code, first)) in &bad {
                    self.errors.push(LineError {
                        line,
                        reason: format!("code: {code} is already on line {first}"),
                    });
                }
                self.rates.retain(|r| !bad.contains_key(&r.line));
                self.errors.sort_by_key(|e| e.line);
                self.errors.dedup();
            }
        }
        DeckFile {
            metadata: self.metadata,
            header_line: self.header_line,
            headers: self.headers,
            mapping: self.mapping,
            conventions: self.conventions,
            data_lines: self.data_lines,
            rates: self.rates,
            errors: self.errors,
        }
    }

    /// Whether the header search is over without a header (the caller may stop early).
    pub fn gave_up(&self) -> bool {
        self.stage == Stage::Letterhead
            && self.options.header_line.is_none()
            && self.last_line >= HEADER_SEARCH_LINES
    }
}

#[derive(Default)]
struct CodeUse {
    split_columns: bool,
    separated: bool,
    international: bool,
}

/// A three-letter upper-case word in a header that is a currency ("Rates (USD / Min)").
fn currency_in(header: &str) -> Option<Currency> {
    header
        .split(|c: char| !c.is_ascii_alphabetic())
        .find(|w| w.len() == 3 && w.bytes().all(|b| b.is_ascii_uppercase()) && *w != "MIN")
        .and_then(|w| Currency::parse(w).ok())
}

/// Appends to `out` the dial codes a cell holds, each prefixed with `country`: codes
/// separated by `,`, `;`, `|` or line breaks; inside a code, spaces, `-`, `.` and
/// parentheses are separators to remove (`93-76` = 9376); a leading `+` or `00` is
/// removed. Each code must then be 1–15 digits (ITU-T E.164) not starting with 0.
/// A number cell is a whole number.
pub fn expand_codes(
    country: &str,
    cell: CellRef<'_>,
    out: &mut Vec<String>,
    used: &mut impl CodeUseSink,
) -> Result<(), String> {
    let text = cell.text();
    if text.is_empty() {
        return Err("is empty".to_owned());
    }
    if let CellRef::Number(n) = cell {
        if n.fract() != 0.0 || n < 0.0 {
            return Err(format!("`{text}` is not digits"));
        }
    }
    for part in text.split([',', ';', '|', '\n', '\r']) {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let mut code = String::with_capacity(country.len() + part.len());
        code.push_str(country);
        let mut rest = part;
        if let Some(r) = rest.strip_prefix('+') {
            rest = r;
            used.international();
        } else if let Some(r) = rest.strip_prefix("00") {
            rest = r;
            used.international();
        }
        let mut separated = false;
        for ch in rest.chars() {
            match ch {
                '0'..='9' => code.push(ch),
                ' ' | '-' | '.' | '(' | ')' | '\u{a0}' => separated = true,
                _ => return Err(format!("`{part}` is not digits")),
            }
        }
        if separated {
            used.separated();
        }
        if code.len() == country.len() {
            return Err(format!("`{part}` is not digits"));
        }
        if code.len() > MAX_PREFIX_DIGITS {
            return Err(format!(
                "`{code}` is longer than {MAX_PREFIX_DIGITS} digits (ITU-T E.164)"
            ));
        }
        if code.starts_with('0') {
            return Err(format!(
                "`{part}` starts with 0: write codes in E.164 form, country code first"
            ));
        }
        out.push(code);
    }
    if out.is_empty() {
        return Err(format!("`{text}` holds no code"));
    }
    Ok(())
}

/// Receives what [`expand_codes`] noticed about how a code was written.
pub trait CodeUseSink {
    fn international(&mut self);
    fn separated(&mut self);
}

impl CodeUseSink for CodeUse {
    fn international(&mut self) {
        self.international = true;
    }
    fn separated(&mut self) {
        self.separated = true;
    }
}

/// Ignores what [`expand_codes`] noticed.
pub struct IgnoreCodeUse;

impl CodeUseSink for IgnoreCodeUse {
    fn international(&mut self) {}
    fn separated(&mut self) {}
}

/// A decimal amount: text (a leading currency sign `$`, `€`, `£` and thousands `,` are
/// not allowed — the error says so) or a spreadsheet number (its shortest round-trip
/// decimal). Micro-units; more than 6 decimals is an error.
pub fn parse_amount(cell: CellRef<'_>) -> Result<i64, String> {
    let text = cell.text();
    parse_micros(&text).map_err(|e| e.to_string())
}

/// An optional cell: `None` when empty; a parse error is recorded as `what: error`.
fn optional<T>(
    cell: CellRef<'_>,
    what: &str,
    problems: &mut Vec<String>,
    parse: impl Fn(CellRef<'_>) -> Result<T, String>,
) -> Option<T> {
    if cell.is_empty() {
        return None;
    }
    parse(cell)
        .map_err(|e| problems.push(format!("{what}: {e}")))
        .ok()
}

fn parse_seconds(cell: CellRef<'_>) -> Result<u32, String> {
    let text = cell.text();
    text.parse::<u32>()
        .map_err(|_| format!("`{text}` is not whole seconds"))
}

/// Excel serial day 0 of the 1900 date system as used since Lotus 1-2-3: 1899-12-30
/// (serial 60 is the non-existent 1900-02-29; serials from 61 on are right).
fn excel_epoch() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(1899, 12, 30)
        .expect("valid")
        .and_hms_opt(0, 0, 0)
        .expect("valid")
}

/// Excel serial days (with a fraction of a day) to UTC, rounded to the second. Serials
/// 1–2 958 465 (up to 9999-12-31) are accepted.
pub fn from_excel_serial(serial: f64) -> Option<DateTime<Utc>> {
    if !(1.0..2_958_466.0).contains(&serial) {
        return None;
    }
    let seconds = (serial * 86_400.0).round() as i64;
    Some(Utc.from_utc_datetime(&(excel_epoch() + Duration::seconds(seconds))))
}

/// `YYYY-MM-DD` without the format machinery (the common case, read a million times).
fn iso_date(t: &str) -> Option<DateTime<Utc>> {
    let b = t.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        b[r].iter().try_fold(0u32, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
        })
    };
    let date = NaiveDate::from_ymd_opt(num(0..4)? as i32, num(5..7)?, num(8..10)?)?;
    Some(Utc.from_utc_datetime(&date.and_hms_opt(0, 0, 0)?))
}

/// Parses a date or date-time cell, UTC: ISO 8601 (`2023-05-16`, `2023-05-16 10:00:00`,
/// `2023-05-16T10:00:00`, RFC 3339 with an offset), `16-May-23`, `16-May-2023`,
/// `16/05/2023` (day first, the European and ITU convention carriers use), `16.05.2023`,
/// and Excel serial numbers (a number cell, or whole-number text from 20 000 to 80 000,
/// i.e. 1954–2119). A date alone means 00:00 UTC.
pub fn parse_deck_date(cell: CellRef<'_>) -> Result<DateTime<Utc>, String> {
    if let CellRef::Number(n) = cell {
        return from_excel_serial(n).ok_or_else(|| format!("`{n}` is not an Excel date"));
    }
    let text = cell.text();
    let t = text.trim();
    if let Some(d) = iso_date(t) {
        return Ok(d);
    }
    if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
        return Ok(dt.with_timezone(&Utc));
    }
    for format in [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%d/%m/%Y %H:%M:%S",
        "%d/%m/%Y %H:%M",
        "%d-%b-%Y %H:%M:%S",
    ] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(t, format) {
            return Ok(Utc.from_utc_datetime(&dt));
        }
    }
    // dd-MMM-yy first (`%Y` would read "23" as the year 23): two-digit years are
    // 2000–2099, rate notices being recent.
    for format in [
        "%d-%b-%y", "%Y-%m-%d", "%d-%b-%Y", "%d/%m/%Y", "%d.%m.%Y", "%d %b %Y",
    ] {
        if let Ok(d) = NaiveDate::parse_from_str(t, format) {
            return Ok(Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0).expect("midnight")));
        }
    }
    if let Ok(serial) = t.parse::<f64>() {
        if (20_000.0..80_000.0).contains(&serial) {
            if let Some(d) = from_excel_serial(serial) {
                return Ok(d);
            }
        }
    }
    Err(format!(
        "`{t}` is not a date (2023-05-16, 16-May-23, 16/05/2023 or an Excel date)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> CellRef<'_> {
        if s.is_empty() {
            CellRef::Empty
        } else {
            CellRef::Text(s)
        }
    }

    fn read(rows: &[&[&str]]) -> DeckFile {
        let mut reader = DeckReader::new(ReadOptions::default());
        for (i, row) in rows.iter().enumerate() {
            let cells: Vec<CellRef> = row.iter().map(|s| text(s)).collect();
            reader.push_row(i as u32 + 1, &cells);
        }
        reader.finish()
    }

    /// A number as the Airtel workbook's XML stores it.
    fn stored(xml: &str) -> f64 {
        xml.parse().unwrap()
    }

    fn date(s: &str) -> DateTime<Utc> {
        parse_deck_date(CellRef::Text(s)).unwrap()
    }

    #[test]
    fn headers_carriers_write_are_recognised() {
        let cases = [
            ("Destination", Some(DeckField::Destination)),
            ("Dial Code", Some(DeckField::Code)),
            ("Complete Code", Some(DeckField::Code)),
            ("City Code(s)", Some(DeckField::Code)),
            ("PREFIX", Some(DeckField::Code)),
            ("Country Code", Some(DeckField::CountryCode)),
            ("Area Code", Some(DeckField::AreaCode)),
            ("Rates (USD / Min)", Some(DeckField::Rate)),
            ("Rate per min", Some(DeckField::Rate)),
            ("Price", Some(DeckField::Rate)),
            ("Valid From", Some(DeckField::EffectiveFrom)),
            ("Effective Date", Some(DeckField::EffectiveFrom)),
            ("Pulse", Some(DeckField::Increment)),
            ("Billing", Some(DeckField::Increment)),
            ("Rate Change", Some(DeckField::ChangeCode)),
            ("Connection fee", Some(DeckField::ConnectionFee)),
            ("Minimum", Some(DeckField::Minimum)),
            ("Time Type", None),
            ("Area Code Change", None),
            ("Notes", None),
        ];
        for (header, field) in cases {
            assert_eq!(DeckField::from_header(header), field, "{header}");
        }
    }

    #[test]
    fn the_header_is_found_under_a_letterhead_and_its_metadata_read() {
        let file = read(&[
            &["Acme Telecom Ltd."],
            &[],
            &["Currency:", "EUR"],
            &["Date Issued:", "09-May-23"],
            &["Increase Validity Date:", "16/05/2023"],
            &["Decrease Validity Date:", "2023-05-10"],
            &["Customer ID:", "UKTX"],
            &["Destination", "Code", "Rate", "Pulse"],
            &["Afghanistan-MTN-Mobile", "9376", "0.1237", "60/60"],
        ]);
        assert_eq!(file.header_line, Some(8));
        assert_eq!(file.metadata.currency, Currency::parse("EUR").ok());
        assert_eq!(file.metadata.issued, Some(date("2023-05-09")));
        assert_eq!(file.metadata.increases_from, Some(date("2023-05-16")));
        assert_eq!(file.metadata.decreases_from, Some(date("2023-05-10")));
        assert_eq!(
            file.metadata.other,
            vec![("Customer ID".to_owned(), "UKTX".to_owned())]
        );
        assert!(file.errors.is_empty(), "{:?}", file.errors);
        assert_eq!(file.rates.len(), 1);
        let r = &file.rates[0];
        assert_eq!(
            (r.prefix.as_str(), r.rate_micros, r.increment),
            (
                "9376",
                123_700,
                Some(BillingIncrement {
                    first: 60,
                    next: 60
                })
            )
        );
    }

    #[test]
    fn codes_are_read_as_carriers_write_them() {
        let file = read(&[
            &["Destination", "Code", "Rate"],
            &["Afghanistan", "93-76", "0.1"],
            &["UK Mobile", "447700, 447701; 447702", "0.01"],
            &["UK", "+44", "0.01"],
            &["US", "001", "0.01"],
            &["Bad", "12a4", "0.01"],
            &["Local", "0207", "0.01"],
        ]);
        let codes: Vec<(u32, &str)> = file
            .rates
            .iter()
            .map(|r| (r.line, r.prefix.as_str()))
            .collect();
        assert_eq!(
            codes,
            vec![
                (2, "9376"),
                (3, "447700"),
                (3, "447701"),
                (3, "447702"),
                (4, "44"),
                (5, "1")
            ]
        );
        assert_eq!(file.errors.len(), 2);
        assert_eq!(file.errors[0].line, 6);
        assert!(file.errors[0].reason.contains("code: `12a4` is not digits"));
        assert_eq!(file.errors[1].line, 7);
        assert_eq!(file.conventions.separated, 1);
        assert_eq!(file.conventions.several_per_cell, 1);
        assert_eq!(file.conventions.international_prefix, 2);
        assert_eq!(file.data_lines, 6);
        assert_eq!(file.good_lines(), 4);
    }

    #[test]
    fn country_and_area_codes_in_two_columns_are_joined() {
        let file = read(&[
            &["Destination", "Country Code", "Area Code", "Rate"],
            &["Afghanistan-AWCC", "93", "70, 71", "0.16"],
            &["Afghanistan-Fixed", "93", "", "0.16"],
        ]);
        let codes: Vec<&str> = file.rates.iter().map(|r| r.prefix.as_str()).collect();
        assert_eq!(codes, vec!["9370", "9371", "93"]);
        assert_eq!(file.conventions.split_columns, 2);
        assert!(file.conventions.describe()[0].starts_with("Country code and area code"));
    }

    #[test]
    fn dates_in_every_format_carriers_use() {
        let want = date("2023-05-16");
        for text in [
            "2023-05-16",
            "16-May-23",
            "16-May-2023",
            "16/05/2023",
            "45062",
        ] {
            assert_eq!(parse_deck_date(CellRef::Text(text)), Ok(want), "{text}");
        }
        assert_eq!(parse_deck_date(CellRef::Number(45062.0)), Ok(want));
        assert_eq!(
            parse_deck_date(CellRef::Number(stored("45055.481261574103"))),
            Ok(date("2023-05-09 11:33:01"))
        );
        let err = parse_deck_date(CellRef::Text("next week")).unwrap_err();
        assert!(err.contains("`next week` is not a date"), "{err}");
    }

    #[test]
    fn spreadsheet_floats_are_the_decimals_the_carrier_typed() {
        assert_eq!(
            parse_amount(CellRef::Number(stored("0.28499999999999998"))),
            Ok(285_000)
        );
        assert_eq!(
            parse_amount(CellRef::Number(stored("3.5499999999999997E-2"))),
            Ok(35_500)
        );
        assert_eq!(number_text(79407.0), "79407");
    }

    #[test]
    fn every_bad_field_is_named_on_its_line() {
        let file = read(&[
            &["Code", "Rate", "Pulse", "Valid From", "Connection fee"],
            &["44", "abc", "60/0", "someday", "-1"],
            &["45", "", "1/1", "", ""],
            &["46", "0.1234567", "", "", ""],
        ]);
        assert!(file.rates.is_empty());
        let reasons: Vec<&str> = file.errors.iter().map(|e| e.reason.as_str()).collect();
        assert!(
            reasons[0].contains("rate: `abc` is not a decimal number"),
            "{reasons:?}"
        );
        assert!(reasons[0].contains("increment: `60/0`"), "{reasons:?}");
        assert!(
            reasons[0].contains("effective from: `someday`"),
            "{reasons:?}"
        );
        assert!(
            reasons[0].contains("connection fee: must not be negative"),
            "{reasons:?}"
        );
        assert_eq!(reasons[1], "rate is empty");
        assert!(
            reasons[2].contains("more than 6 decimal places"),
            "{reasons:?}"
        );
    }

    #[test]
    fn a_code_twice_at_the_same_date_is_an_error_on_the_later_line() {
        let file = read(&[&["Code", "Rate"], &["44", "0.1"], &["44", "0.2"]]);
        assert_eq!(file.rates.len(), 1);
        assert_eq!(
            file.errors,
            vec![LineError {
                line: 3,
                reason: "code: 44 is already on line 2".into()
            }]
        );
    }

    #[test]
    fn a_file_without_a_header_says_what_was_looked_for() {
        let file = read(&[&["hello", "world"], &["1", "2"]]);
        assert_eq!(file.errors.len(), 1);
        assert_eq!(file.errors[0].line, 0);
        assert!(file.errors[0].reason.contains("no header row found"));
    }

    #[test]
    fn a_corrected_mapping_and_a_remembered_one_are_used() {
        let rows: [&[&str]; 2] = [&["Dst", "Num", "Cost"], &["UK", "44", "0.02"]];
        let mut mapping = ColumnMapping::default();
        mapping.set(DeckField::Destination, Some(0));
        mapping.set(DeckField::Code, Some(1));
        mapping.set(DeckField::Rate, Some(2));
        let options = ReadOptions {
            header_line: Some(1),
            mapping: Some(mapping.clone()),
            remembered: Vec::new(),
        };
        let mut reader = DeckReader::new(options);
        for (i, row) in rows.iter().enumerate() {
            let cells: Vec<CellRef> = row.iter().map(|s| text(s)).collect();
            reader.push_row(i as u32 + 1, &cells);
        }
        let file = reader.finish();
        assert_eq!(file.rates[0].rate_micros, 20_000);
        let remembered = mapping.remembered(&file.headers);
        let again = ColumnMapping::from_remembered(&["Cost", "Dst", "Num"], &remembered);
        assert_eq!(again.column(DeckField::Rate), Some(0));
        assert_eq!(again.column(DeckField::Code), Some(2));
    }
}
