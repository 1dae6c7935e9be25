//! CDR files: Asterisk `Master.csv`, CSV with a header, or JSON lines, uploaded in the
//! admin portal (CDRs → CDR files) or imported with `didtron cdr import FILE`, and
//! stored, mediated, rated and posted by the same [`super::ingest`] as the switch API.
//!
//! An import is a background job with progress. It reads the whole file first: **with
//! any bad line nothing is stored**, and every bad line is reported with its number and
//! the field at fault. Then it ingests in batches of [`BATCH`] records, each batch one
//! transaction, recording progress after each; a job that stops halfway (a crash, a
//! deploy) resumes after the last batch recorded, and a batch it repeats is a replay
//! that changes nothing (CDRs are unique per source, call id and leg). A re-import of
//! the same file therefore stores nothing twice.
//!
//! ## Formats
//! - **`asterisk`**: `Master.csv` of Asterisk's `cdr_csv`, no header: `accountcode, src,
//!   dst, dcontext, clid, channel, dstchannel, lastapp, lastdata, start, answer, end,
//!   duration, billsec, disposition, amaflags[, uniqueid, userfield]`. Times are UTC
//!   (`usegmtime=yes`) `YYYY-MM-DD HH:MM:SS`. The SIP code comes from the disposition as
//!   Asterisk maps hangup causes (Q.850 → SIP, RFC 3398 §8.2.6.1): `ANSWERED` 200,
//!   `BUSY` 486, `NO ANSWER` 480, `CONGESTION` 503, `FAILED` 500. An answered call ends
//!   `billsec` seconds after its answer (Asterisk's billable time). The call id is
//!   `uniqueid`, or, when the file has none, `ast-` + the first 24 hex digits of the
//!   SHA-256 of the row (the same row always gets the same id). `dstchannel`
//!   `SIP/198.51.100.7-0000002a` gives the route `sip:198.51.100.7`.
//!   The file has no source address: the customer is the interconnect chosen for the
//!   file, or the one ingress interconnect of the carrier whose account code is the
//!   row's `accountcode`.
//! - **`csv`**: a header row naming DIDTron's fields (any order, case-insensitive):
//!   `call_id` and `b_number` and `setup_time` (or `start`) are required; `leg`,
//!   `source_ip`, `customer_interconnect_id`, `supplier_interconnect_id`, `a_number`,
//!   `answer_time` (or `answer`), `end_time` (or `end`), `billsec` (seconds) or
//!   `duration_ms`, `sip_code` or `disposition` (Asterisk's words), `sip_reason`,
//!   `route` are optional. Without a SIP code a call is answered (200) when its billable
//!   time is above zero, else 480. Without an answer time an answered call is answered
//!   at its setup; without an end time it ends its billable time after its answer.
//!   Times: RFC 3339, epoch seconds, or UTC `YYYY-MM-DD HH:MM:SS`.
//! - **`json`**: one CDR per line in Kamailio's `acc_json` shape or DIDTron's own (as
//!   the API takes them).
//!
//! The interconnects chosen for the file apply to every record that does not name its
//! own; they are written into the record kept as received, so processing it again
//! later finds the same parties.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use domain::cdr::views::{
    CdrFileChoices, CdrFileFormat, CdrFileOptions, CdrImportReport, CdrImportView, IngestReport,
    LineError,
};
use domain::cdr::{OwnCdr, Scalar};
use domain::FieldErrors;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde::{Deserialize, Serialize};

use super::{api_keys, DeckCache, ReceivedCdr};
use crate::audit::Actor;
use crate::entity::{api_key, carrier, cdr_import, interconnect, job};
use crate::jobs::{self, JobContext, JobError};
use crate::{ServiceError, ServiceResult};

/// Job kind of a CDR file import.
pub const IMPORT_JOB: &str = "cdr_import";
/// Largest CDR file accepted (bytes): about two million Master.csv rows.
pub const MAX_FILE_BYTES: usize = 256 * 1024 * 1024;
/// Records per ingest transaction.
pub const BATCH: usize = 5_000;
/// Bad lines kept in a report (all are counted).
const MAX_REPORTED_ERRORS: usize = 200;

/// Import states, as stored.
pub mod status {
    pub const QUEUED: &str = "queued";
    pub const RUNNING: &str = "running";
    pub const DONE: &str = "done";
    pub const FAILED: &str = "failed";
}

#[derive(Serialize, Deserialize)]
struct JobPayload {
    import_id: i64,
}

fn internal(e: impl std::fmt::Display) -> ServiceError {
    ServiceError::Internal(e.to_string())
}

/// Guesses a file's format: `.json`/`.ndjson`/`.jsonl` or a first line starting with
/// `{` → JSON lines; a first line naming `call_id` → CSV; else Asterisk.
pub fn detect(file_name: &str, first_line: &str) -> CdrFileFormat {
    let name = file_name.to_ascii_lowercase();
    if [".json", ".ndjson", ".jsonl"]
        .iter()
        .any(|e| name.ends_with(e))
        || first_line.trim_start().starts_with('{')
    {
        CdrFileFormat::Json
    } else if first_line.to_ascii_lowercase().contains("call_id") {
        CdrFileFormat::Csv
    } else {
        CdrFileFormat::Asterisk
    }
}

/// The SIP code of an Asterisk disposition (see the module documentation).
pub fn disposition_sip_code(disposition: &str) -> Option<u16> {
    match disposition.trim().to_ascii_uppercase().as_str() {
        "ANSWERED" => Some(200),
        "BUSY" => Some(486),
        "NO ANSWER" | "NOANSWER" => Some(480),
        "CONGESTION" => Some(503),
        "FAILED" => Some(500),
        _ => None,
    }
}

fn file_time(text: &str, field: &str) -> Result<DateTime<Utc>, String> {
    domain::cdr::parse_cdr_time(text)
        .or_else(|_| crate::rating_files::parse_time(text))
        .map_err(|_| {
            format!("{field} `{text}` is not a time (RFC 3339, epoch seconds or YYYY-MM-DD HH:MM:SS UTC)")
        })
}

fn text(value: impl Into<String>) -> Option<Scalar> {
    Some(Scalar::Text(value.into()))
}

fn time_text(t: DateTime<Utc>) -> Option<Scalar> {
    text(t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
}

/// Resolves what a record leaves out from the file's options and account codes.
struct Filing<'a> {
    options: &'a CdrFileOptions,
    /// Carrier account code → its one ingress interconnect.
    account_codes: HashMap<String, i64>,
}

fn asterisk_row(fields: &[&str], filing: &Filing<'_>) -> Result<serde_json::Value, String> {
    if fields.len() < 16 {
        return Err(format!(
            "Master.csv rows have at least 16 fields, this one has {}",
            fields.len()
        ));
    }
    let disposition = fields[14];
    let sip_code = disposition_sip_code(disposition).ok_or_else(|| {
        format!(
            "disposition `{disposition}` is not ANSWERED, BUSY, NO ANSWER, CONGESTION or FAILED"
        )
    })?;
    let setup = file_time(fields[9], "start")?;
    let billsec: i64 = fields[13]
        .trim()
        .parse()
        .map_err(|_| format!("billsec `{}` is not whole seconds", fields[13]))?;
    let end_field = if fields[11].trim().is_empty() {
        setup
    } else {
        file_time(fields[11], "end")?
    };
    let (answer, end) = if sip_code == 200 {
        let answer = if fields[10].trim().is_empty() {
            end_field - chrono::Duration::seconds(billsec)
        } else {
            file_time(fields[10], "answer")?
        };
        (Some(answer), answer + chrono::Duration::seconds(billsec))
    } else {
        (None, end_field.max(setup))
    };
    let call_id = match fields.get(16).map(|s| s.trim()).filter(|s| !s.is_empty()) {
        Some(id) => id.to_owned(),
        None => format!("ast-{}", super::sha256_hex(fields.join(",").as_bytes(), 12)),
    };
    let customer = match filing.options.customer_interconnect_id {
        Some(id) => id,
        None if filing.options.customer_by_account_code => {
            let code = fields[0].trim();
            *filing.account_codes.get(code).ok_or_else(|| {
                format!("accountcode `{code}` is not the account code of a carrier with one ingress interconnect")
            })?
        }
        None => {
            return Err(
                "the file has no source addresses: choose the customer interconnect, or match accountcode to carriers"
                    .into(),
            )
        }
    };
    // `SIP/198.51.100.7-0000002a` → `198.51.100.7`.
    let peer = fields[6]
        .split_once('/')
        .map(|(_, rest)| rest.rsplit_once('-').map_or(rest, |(p, _)| p))
        .unwrap_or("");
    let route = peer
        .parse::<std::net::IpAddr>()
        .ok()
        .map(|ip| format!("sip:{ip}"));
    let own = OwnCdr {
        call_id: text(call_id),
        leg: text("a"),
        source_ip: None,
        customer_interconnect_id: Some(Scalar::Integer(customer)),
        supplier_interconnect_id: filing.options.supplier_interconnect_id.map(Scalar::Integer),
        a_number: text(fields[1].trim()),
        b_number: text(fields[2].trim()),
        setup_time: time_text(setup),
        answer_time: answer.and_then(time_text),
        end_time: time_text(end),
        sip_code: Some(Scalar::Integer(i64::from(sip_code))),
        sip_reason: text(disposition.trim()),
        route: route.and_then(text),
    };
    serde_json::to_value(own).map_err(|e| e.to_string())
}

/// Column positions of a CSV header, by DIDTron's field names (aliases folded).
fn csv_columns(header: &[&str]) -> Result<HashMap<&'static str, usize>, String> {
    const NAMES: [(&str, &str); 22] = [
        ("call_id", "call_id"),
        ("callid", "call_id"),
        ("leg", "leg"),
        ("source_ip", "source_ip"),
        ("customer_interconnect_id", "customer_interconnect_id"),
        ("supplier_interconnect_id", "supplier_interconnect_id"),
        ("a_number", "a_number"),
        ("b_number", "b_number"),
        ("setup_time", "setup_time"),
        ("start", "setup_time"),
        ("answer_time", "answer_time"),
        ("answer", "answer_time"),
        ("end_time", "end_time"),
        ("end", "end_time"),
        ("billsec", "billsec"),
        ("duration_ms", "duration_ms"),
        ("sip_code", "sip_code"),
        ("disposition", "disposition"),
        ("sip_reason", "sip_reason"),
        ("route", "route"),
        ("answered", "answered"),
        ("duration", "billsec"),
    ];
    let mut columns = HashMap::new();
    for (i, name) in header.iter().enumerate() {
        let name = name
            .trim()
            .trim_start_matches('\u{feff}')
            .to_ascii_lowercase();
        if let Some((_, field)) = NAMES.iter().find(|(n, _)| *n == name) {
            columns.entry(*field).or_insert(i);
        }
    }
    let missing: Vec<&str> = ["call_id", "b_number", "setup_time"]
        .into_iter()
        .filter(|f| !columns.contains_key(f))
        .collect();
    if missing.is_empty() {
        Ok(columns)
    } else {
        Err(format!(
            "the header has no {} column (call_id, b_number and setup_time or start are required)",
            missing.join(", ")
        ))
    }
}

fn csv_row(
    fields: &[&str],
    columns: &HashMap<&'static str, usize>,
    filing: &Filing<'_>,
) -> Result<serde_json::Value, String> {
    let get = |name: &str| {
        columns
            .get(name)
            .and_then(|&i| fields.get(i))
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
    };
    let setup = file_time(get("setup_time").unwrap_or(""), "setup_time")?;
    let billable_ms: Option<i64> = match (get("duration_ms"), get("billsec")) {
        (Some(ms), _) => Some(
            ms.parse()
                .map_err(|_| format!("duration_ms `{ms}` is not whole milliseconds"))?,
        ),
        (None, Some(s)) => Some(
            domain::cdr::seconds_text_to_ms(s)
                .ok_or_else(|| format!("billsec `{s}` is not seconds"))? as i64,
        ),
        (None, None) => None,
    };
    let sip_code: i64 = match (get("sip_code"), get("disposition"), get("answered")) {
        (Some(code), _, _) => code
            .parse()
            .map_err(|_| format!("sip_code `{code}` is not a SIP response code"))?,
        (None, Some(d), _) => i64::from(disposition_sip_code(d).ok_or_else(|| {
            format!("disposition `{d}` is not ANSWERED, BUSY, NO ANSWER, CONGESTION or FAILED")
        })?),
        (None, None, Some(a)) => match a.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => 200,
            "false" | "0" | "no" => 480,
            other => return Err(format!("answered `{other}` is not true or false")),
        },
        (None, None, None) if billable_ms.unwrap_or(0) > 0 => 200,
        (None, None, None) => 480,
    };
    let answered = (200..300).contains(&sip_code);
    let answer = match get("answer_time") {
        Some(t) if answered => Some(file_time(t, "answer_time")?),
        _ if answered => Some(setup),
        _ => None,
    };
    let end = match (get("end_time"), billable_ms) {
        (Some(t), _) => file_time(t, "end_time")?,
        (None, Some(ms)) => answer.unwrap_or(setup) + chrono::Duration::milliseconds(ms),
        (None, None) => return Err("the row has neither end_time nor billsec/duration_ms".into()),
    };
    let named = |name: &str| get(name).map(|v| Scalar::Text(v.to_owned()));
    let customer = named("customer_interconnect_id").or_else(|| {
        filing
            .options
            .customer_interconnect_id
            .filter(|_| get("source_ip").is_none())
            .map(Scalar::Integer)
    });
    if customer.is_none() && get("source_ip").is_none() {
        return Err(
            "source_ip is empty: give each row a source_ip or customer_interconnect_id, or choose the customer interconnect for the file"
                .into(),
        );
    }
    let own = OwnCdr {
        call_id: named("call_id"),
        leg: named("leg"),
        source_ip: named("source_ip"),
        customer_interconnect_id: customer,
        supplier_interconnect_id: named("supplier_interconnect_id")
            .or_else(|| filing.options.supplier_interconnect_id.map(Scalar::Integer)),
        a_number: named("a_number"),
        b_number: named("b_number"),
        setup_time: time_text(setup),
        answer_time: answer.and_then(time_text),
        end_time: time_text(end),
        sip_code: Some(Scalar::Integer(sip_code)),
        sip_reason: named("sip_reason").or_else(|| named("disposition")),
        route: named("route"),
    };
    serde_json::to_value(own).map_err(|e| e.to_string())
}

/// Adds the file's interconnects to a JSON record that names none of its own.
fn json_row(line: &str, filing: &Filing<'_>) -> Result<serde_json::Value, String> {
    let mut value: serde_json::Value =
        serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
    if let serde_json::Value::Object(map) = &mut value {
        let pins = [
            (
                "customer_interconnect_id",
                filing.options.customer_interconnect_id,
            ),
            (
                "supplier_interconnect_id",
                filing.options.supplier_interconnect_id,
            ),
        ];
        for (key, id) in pins {
            if let Some(id) = id {
                map.entry(key).or_insert(serde_json::Value::from(id));
            }
        }
    }
    Ok(value)
}

/// A file read: its records (with their lines) or every bad line.
pub struct ReadCdrFile {
    pub format: CdrFileFormat,
    pub records: Vec<ReceivedCdr>,
    pub errors: Vec<LineError>,
    pub bad_lines: u64,
}

impl ReadCdrFile {
    fn bad(&mut self, line: u64, message: String) {
        self.bad_lines += 1;
        if self.errors.len() < MAX_REPORTED_ERRORS {
            self.errors.push(LineError { line, message });
        }
    }
}

fn read_with(bytes: &[u8], format: CdrFileFormat, filing: &Filing<'_>) -> ReadCdrFile {
    let mut out = ReadCdrFile {
        format,
        records: Vec::new(),
        errors: Vec::new(),
        bad_lines: 0,
    };
    let accept = |out: &mut ReadCdrFile, line: u64, row: Result<serde_json::Value, String>| {
        let result = row.and_then(|value| {
            super::read_record(value, out.records.len() + 1, Some(line as usize)).map_err(|e| {
                match e.field {
                    Some(field) => format!("{field}: {}", e.message),
                    None => e.message,
                }
            })
        });
        match result {
            Ok(r) => out.records.push(r),
            Err(message) => out.bad(line, message),
        }
    };
    match format {
        CdrFileFormat::Json => {
            for (i, line) in String::from_utf8_lossy(bytes).lines().enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                accept(&mut out, i as u64 + 1, json_row(line, filing));
            }
        }
        CdrFileFormat::Asterisk | CdrFileFormat::Csv => {
            let mut reader = csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .from_reader(bytes);
            let mut columns = None;
            let mut record = csv::ByteRecord::new();
            let mut row = 0u64;
            loop {
                match reader.read_byte_record(&mut record) {
                    Ok(false) => break,
                    Ok(true) => {
                        row += 1;
                        let line = record.position().map_or(row, |p| p.line());
                        let texts: Vec<String> = record
                            .iter()
                            .map(|f| String::from_utf8_lossy(f).into_owned())
                            .collect();
                        let fields: Vec<&str> = texts.iter().map(String::as_str).collect();
                        if fields.iter().all(|f| f.trim().is_empty()) {
                            continue;
                        }
                        if format == CdrFileFormat::Csv && columns.is_none() {
                            match csv_columns(&fields) {
                                Ok(c) => columns = Some(c),
                                Err(message) => {
                                    out.bad(line, message);
                                    return out;
                                }
                            }
                            continue;
                        }
                        let parsed = match &columns {
                            Some(columns) => csv_row(&fields, columns, filing),
                            None => asterisk_row(&fields, filing),
                        };
                        accept(&mut out, line, parsed);
                    }
                    Err(e) => {
                        row += 1;
                        let line = e.position().map_or(row, |p| p.line());
                        out.bad(line, e.to_string());
                    }
                }
            }
        }
    }
    if out.records.is_empty() && out.bad_lines == 0 {
        out.bad(0, "the file holds no CDR".into());
    }
    out
}

/// Carrier account codes → the one ingress interconnect of each carrier that has
/// exactly one.
async fn account_codes(db: &DatabaseConnection) -> ServiceResult<HashMap<String, i64>> {
    let carriers: HashMap<i64, String> = carrier::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.id, c.account_code))
        .collect();
    let mut by_carrier: HashMap<i64, Vec<i64>> = HashMap::new();
    for ic in interconnect::Entity::find()
        .filter(interconnect::Column::Direction.eq("ingress"))
        .all(db)
        .await?
    {
        by_carrier.entry(ic.carrier_id).or_default().push(ic.id);
    }
    Ok(by_carrier
        .into_iter()
        .filter(|(_, ids)| ids.len() == 1)
        .filter_map(|(carrier, ids)| Some((carriers.get(&carrier)?.clone(), ids[0])))
        .collect())
}

/// Reads `bytes` as `format` with `options` (see the module documentation). Pure but
/// for the account codes, which come from the database.
pub async fn read_file(
    db: &DatabaseConnection,
    bytes: &[u8],
    format: CdrFileFormat,
    options: &CdrFileOptions,
) -> ServiceResult<ReadCdrFile> {
    let account_codes = if options.customer_by_account_code {
        account_codes(db).await?
    } else {
        HashMap::new()
    };
    let filing = Filing {
        options,
        account_codes,
    };
    Ok(read_with(bytes, format, &filing))
}

/// Checks the options against the database and the file. Errors: `Validation` naming
/// `file`, `format`, `source_id`, `customer_interconnect_id` or
/// `supplier_interconnect_id`.
async fn check_options(
    db: &DatabaseConnection,
    file_name: &str,
    bytes: &[u8],
    options: &CdrFileOptions,
) -> ServiceResult<CdrFileFormat> {
    let mut errors = FieldErrors::new();
    if let Some(problem) = crate::files::upload_size_problem(
        bytes.len(),
        MAX_FILE_BYTES,
        "a CDR file (Master.csv, CSV or JSON lines)",
    ) {
        errors.add("file", problem);
    }
    let first_line = bytes
        .split(|&b| b == b'\n')
        .next()
        .map(String::from_utf8_lossy)
        .unwrap_or_default();
    let format = options
        .format
        .unwrap_or_else(|| detect(file_name, &first_line));
    if let Some(id) = options.source_id {
        let source = api_key::Entity::find_by_id(id).one(db).await?;
        if source.is_none_or(|s| s.revoked_at.is_some()) {
            errors.add(
                "source_id",
                "Choose an existing CDR source (API keys lists them).",
            );
        }
    }
    for (field, id, direction) in [
        (
            "customer_interconnect_id",
            options.customer_interconnect_id,
            "ingress",
        ),
        (
            "supplier_interconnect_id",
            options.supplier_interconnect_id,
            "egress",
        ),
    ] {
        let Some(id) = id else { continue };
        let found = interconnect::Entity::find_by_id(id).one(db).await?;
        if found.is_none_or(|ic| ic.direction != direction) {
            errors.add(
                field,
                format!("Interconnect {id} is not an {direction} interconnect."),
            );
        }
    }
    if format == CdrFileFormat::Asterisk
        && options.customer_interconnect_id.is_none()
        && !options.customer_by_account_code
    {
        errors.add(
            "customer_interconnect_id",
            "Master.csv has no source addresses: choose the customer interconnect, or match accountcode to carriers' account codes.",
        );
    }
    if errors.is_empty() {
        Ok(format)
    } else {
        Err(errors.into())
    }
}

/// Stores an uploaded CDR file and queues its import (unless `queue` is false: the CLI
/// runs it at once with [`import_now`]).
///
/// Errors: `Validation` (see the options check: empty or too big file, unknown source,
/// an interconnect of the wrong direction, Master.csv without a customer).
pub async fn upload(
    ctx: &JobContext,
    actor: &Actor,
    file_name: &str,
    bytes: Vec<u8>,
    options: CdrFileOptions,
    queue: bool,
) -> ServiceResult<cdr_import::Model> {
    let format = check_options(&ctx.db, file_name, &bytes, &options).await?;
    let source_id = match options.source_id {
        Some(id) => id,
        None => api_keys::file_source(&ctx.db).await?.id,
    };
    let key = format!(
        "cdr-files/{}-{}",
        uuid::Uuid::new_v4().simple(),
        crate::files::key_name(file_name)
    );
    let size = bytes.len();
    ctx.files.put(&key, bytes).await?;
    let now = Utc::now();
    let txn = crate::db::begin_write(&ctx.db).await?;
    let model = cdr_import::ActiveModel {
        file_name: Set(file_name.chars().take(255).collect()),
        file_key: Set(key),
        file_size: Set(size as i64),
        format: Set(format.as_str().into()),
        source_id: Set(source_id),
        options: Set(serde_json::to_string(&options).map_err(internal)?),
        status: Set(status::QUEUED.into()),
        rows_total: Set(0),
        rows_done: Set(0),
        report: Set(String::new()),
        error: Set(String::new()),
        created_by: Set(actor.email.clone()),
        started_at: Set(None),
        finished_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    crate::audit::record_change(
        &txn,
        actor,
        "cdr_import",
        model.id,
        None,
        None,
        Some(&model),
    )
    .await?;
    if queue {
        jobs::enqueue(
            &txn,
            IMPORT_JOB,
            &JobPayload {
                import_id: model.id,
            },
        )
        .await?;
    }
    txn.commit().await?;
    Ok(model)
}

async fn get_import(db: &DatabaseConnection, id: i64) -> ServiceResult<cdr_import::Model> {
    cdr_import::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound("CDR import"))
}

/// Writes the import's state; `report` and the counters as given.
async fn save(
    db: &DatabaseConnection,
    import: &cdr_import::Model,
    state: &str,
    rows_done: i64,
    rows_total: i64,
    report: &CdrImportReport,
    error: &str,
) -> ServiceResult<()> {
    let now = Utc::now();
    let mut active: cdr_import::ActiveModel = import.clone().into();
    active.status = Set(state.into());
    active.rows_done = Set(rows_done);
    active.rows_total = Set(rows_total);
    active.report = Set(serde_json::to_string(report).map_err(internal)?);
    active.error = Set(error.chars().take(2000).collect());
    active.updated_at = Set(now);
    if import.started_at.is_none() {
        active.started_at = Set(Some(now));
    }
    if matches!(state, status::DONE | status::FAILED) {
        active.finished_at = Set(Some(now));
    }
    active.update(db).await?;
    Ok(())
}

/// Runs import `id`: read, then ingest batch by batch (see the module documentation).
/// Resumes after the last batch recorded. `Err(Final)` when the file has bad lines
/// (recorded on the import, nothing stored).
pub async fn run_import(ctx: &JobContext, id: i64) -> Result<(), JobError> {
    let import = get_import(&ctx.db, id).await?;
    if matches!(import.status.as_str(), status::DONE | status::FAILED) {
        return Ok(());
    }
    let options: CdrFileOptions = serde_json::from_str(&import.options).unwrap_or_default();
    let format = CdrFileFormat::parse(&import.format)
        .ok_or_else(|| JobError::Final(format!("unknown format `{}`", import.format)))?;
    let bytes = ctx.files.get(&import.file_key).await?;
    let read = read_file(&ctx.db, &bytes, format, &options).await?;
    drop(bytes);
    let mut report: CdrImportReport = serde_json::from_str(&import.report).unwrap_or_default();
    report.format = format.as_str().into();
    report.records = read.records.len() as u64;
    report.bad_lines = read.bad_lines;
    report.errors = read.errors;
    let total = read.records.len() as i64;
    if report.bad_lines > 0 {
        let message = match report.errors.first() {
            Some(e) if e.line == 0 => e.message.clone(),
            _ => format!(
                "{} bad line{}; nothing was stored. Correct the file and upload it again.",
                report.bad_lines,
                if report.bad_lines == 1 { "" } else { "s" }
            ),
        };
        save(
            &ctx.db,
            &import,
            status::FAILED,
            0,
            total,
            &report,
            &message,
        )
        .await?;
        return Err(JobError::Final(message));
    }
    let cache = DeckCache::new();
    let mut done = import.rows_done.clamp(0, total) as usize;
    save(
        &ctx.db,
        &import,
        status::RUNNING,
        done as i64,
        total,
        &report,
        "",
    )
    .await?;
    let mut records = read.records;
    records.drain(..done);
    let mut rest = records.into_iter();
    loop {
        let batch: Vec<ReceivedCdr> = rest.by_ref().take(BATCH).collect();
        if batch.is_empty() {
            break;
        }
        let n = batch.len();
        let got =
            super::ingest_and_release(&ctx.db, &ctx.kv, &cache, import.source_id, batch).await?;
        add(&mut report.ingest, &got);
        done += n;
        save(
            &ctx.db,
            &import,
            status::RUNNING,
            done as i64,
            total,
            &report,
            "",
        )
        .await?;
    }
    save(
        &ctx.db,
        &import,
        status::DONE,
        done as i64,
        total,
        &report,
        "",
    )
    .await?;
    Ok(())
}

/// Adds a batch's counts to a running total.
pub(crate) fn add(total: &mut IngestReport, batch: &IngestReport) {
    total.received += batch.received;
    total.stored += batch.stored;
    total.duplicates += batch.duplicates;
    total.rated += batch.rated;
    total.unrated += batch.unrated;
    total.rejected += batch.rejected;
    total.unreadable += batch.unreadable;
    let room = super::MAX_UNREADABLE_LISTED.saturating_sub(total.unreadable_records.len());
    total
        .unreadable_records
        .extend(batch.unreadable_records.iter().take(room).cloned());
}

/// The job handler of [`IMPORT_JOB`].
pub async fn run_job(ctx: &JobContext, job: &job::Model) -> Result<(), JobError> {
    let payload: JobPayload = serde_json::from_str(&job.payload)
        .map_err(|e| JobError::Final(format!("bad payload: {e}")))?;
    match run_import(ctx, payload.import_id).await {
        Err(JobError::Retry(e)) if job.attempts >= job.max_attempts => {
            // Out of attempts: say so on the import, where people look.
            if let Ok(import) = get_import(&ctx.db, payload.import_id).await {
                let report = serde_json::from_str(&import.report).unwrap_or_default();
                let message = format!("the import stopped: {e}");
                let _ = save(
                    &ctx.db,
                    &import,
                    status::FAILED,
                    import.rows_done,
                    import.rows_total,
                    &report,
                    &message,
                )
                .await;
            }
            Err(JobError::Retry(e))
        }
        other => other,
    }
}

/// Uploads and imports a file at once, without the job queue (`didtron cdr import`).
/// Returns the import as its page shows it: `done` with its report, or `failed` with
/// every bad line.
pub async fn import_now(
    ctx: &JobContext,
    actor: &Actor,
    file_name: &str,
    bytes: Vec<u8>,
    options: CdrFileOptions,
) -> ServiceResult<CdrImportView> {
    let import = upload(ctx, actor, file_name, bytes, options, false).await?;
    match run_import(ctx, import.id).await {
        Ok(()) | Err(JobError::Final(_)) => import_view(&ctx.db, import.id).await,
        Err(JobError::Retry(e)) => Err(ServiceError::Internal(e)),
    }
}

fn view(model: cdr_import::Model, sources: &HashMap<i64, String>) -> CdrImportView {
    CdrImportView {
        id: model.id,
        file_name: model.file_name,
        file_size: model.file_size,
        format: CdrFileFormat::parse(&model.format)
            .map_or(model.format.clone(), |f| f.label().to_owned()),
        source: sources
            .get(&model.source_id)
            .cloned()
            .unwrap_or_else(|| format!("source {}", model.source_id)),
        status: model.status,
        rows_total: model.rows_total,
        rows_done: model.rows_done,
        error: model.error,
        report: serde_json::from_str(&model.report).ok(),
        created_by: model.created_by,
        created_at: super::views::rfc3339(model.created_at),
        finished_at: model.finished_at.map(super::views::rfc3339),
    }
}

async fn source_names(db: &DatabaseConnection) -> ServiceResult<HashMap<i64, String>> {
    Ok(api_key::Entity::find()
        .select_only()
        .columns([api_key::Column::Id, api_key::Column::Name])
        .into_tuple::<(i64, String)>()
        .all(db)
        .await?
        .into_iter()
        .collect())
}

/// One import with its report. Errors: `NotFound`.
pub async fn import_view(db: &DatabaseConnection, id: i64) -> ServiceResult<CdrImportView> {
    let sources = source_names(db).await?;
    Ok(view(get_import(db, id).await?, &sources))
}

/// The latest CDR imports, newest first (at most 50).
pub async fn list_imports(db: &DatabaseConnection) -> ServiceResult<Vec<CdrImportView>> {
    let sources = source_names(db).await?;
    Ok(cdr_import::Entity::find()
        .order_by_desc(cdr_import::Column::Id)
        .limit(50)
        .all(db)
        .await?
        .into_iter()
        .map(|m| view(m, &sources))
        .collect())
}

/// The upload form's choices: CDR sources (the file source first) and the
/// interconnects of each direction, labelled "Carrier — interconnect", by label.
pub async fn choices(db: &DatabaseConnection) -> ServiceResult<CdrFileChoices> {
    let file_source = api_keys::file_source(db).await?;
    let mut sources = vec![(file_source.id, file_source.name.clone())];
    sources.extend(
        api_keys::sources(db)
            .await?
            .into_iter()
            .filter(|k| k.id != file_source.id)
            .map(|k| (k.id, k.name)),
    );
    let carriers: HashMap<i64, String> = carrier::Entity::find()
        .select_only()
        .columns([carrier::Column::Id, carrier::Column::Name])
        .into_tuple::<(i64, String)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let mut choices = CdrFileChoices {
        sources,
        ..CdrFileChoices::default()
    };
    for ic in interconnect::Entity::find().all(db).await? {
        let label = format!(
            "{} — {}",
            carriers.get(&ic.carrier_id).map_or("?", String::as_str),
            ic.name
        );
        match ic.direction.as_str() {
            "ingress" => choices.customer_interconnects.push((ic.id, label)),
            _ => choices.supplier_interconnects.push((ic.id, label)),
        }
    }
    choices.customer_interconnects.sort_by(|a, b| a.1.cmp(&b.1));
    choices.supplier_interconnects.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(choices)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filing(options: &CdrFileOptions) -> Filing<'_> {
        Filing {
            options,
            account_codes: HashMap::from([("ACME".to_owned(), 7)]),
        }
    }

    #[test]
    fn master_csv_rows_become_calls_of_the_chosen_customer() {
        let options = CdrFileOptions {
            customer_interconnect_id: Some(3),
            ..CdrFileOptions::default()
        };
        let file = b"\"ACME\",\"1001\",\"919812345678\",\"default\",\"\"\"Bob\"\" <1001>\",\"SIP/1001-00000001\",\"SIP/198.51.100.7-00000002\",\"Dial\",\"SIP/x\",\"2026-11-21 10:00:00\",\"2026-11-21 10:00:05\",\"2026-11-21 10:01:36\",96,91,\"ANSWERED\",\"DOCUMENTATION\",\"1795253545.1\",\"\"\n\
\"ACME\",\"1001\",\"919812345679\",\"default\",\"\",\"SIP/1001-00000003\",\"\",\"Dial\",\"\",\"2026-11-21 10:02:00\",\"\",\"2026-11-21 10:02:20\",20,0,\"BUSY\",\"DOCUMENTATION\",\"\",\"\"\n";
        let read = read_with(file, CdrFileFormat::Asterisk, &filing(&options));
        assert!(read.errors.is_empty(), "{:?}", read.errors);
        let [answered, busy] = &read.records[..] else {
            panic!("two records")
        };
        let c = &answered.cdr;
        assert_eq!(c.call_id, "1795253545.1");
        assert_eq!(c.customer_interconnect_id, Some(3));
        assert_eq!(c.source_ip, None);
        assert_eq!(c.sip_code, 200);
        assert_eq!(c.duration_ms(), 91_000, "billsec is the talk time");
        assert_eq!(c.pdd_ms(), Some(5_000));
        assert_eq!(c.route.as_deref(), Some("sip:198.51.100.7"));
        assert_eq!(busy.cdr.sip_code, 486);
        assert!(busy.cdr.answer_at.is_none());
        assert!(busy.cdr.call_id.starts_with("ast-"), "{}", busy.cdr.call_id);
        // The record kept for processing again names the customer.
        assert!(
            busy.raw.contains("\"customer_interconnect_id\":3"),
            "{}",
            busy.raw
        );
        // The same row always gets the same id.
        let again = read_with(file, CdrFileFormat::Asterisk, &filing(&options));
        assert_eq!(again.records[1].cdr.call_id, busy.cdr.call_id);
    }

    #[test]
    fn account_codes_find_the_customer_and_unknown_ones_are_named() {
        let options = CdrFileOptions {
            customer_by_account_code: true,
            ..CdrFileOptions::default()
        };
        let row = |code: &str| {
            format!("{code},1001,4420,ctx,,SIP/a-1,,Dial,,2026-11-21 10:00:00,,2026-11-21 10:00:09,9,0,NO ANSWER,3\n")
        };
        let file = format!("{}{}", row("ACME"), row("GLOBEX"));
        let read = read_with(file.as_bytes(), CdrFileFormat::Asterisk, &filing(&options));
        assert_eq!(read.records.len(), 1);
        assert_eq!(read.records[0].cdr.customer_interconnect_id, Some(7));
        assert_eq!(read.records[0].cdr.sip_code, 480);
        assert_eq!(read.errors.len(), 1);
        assert_eq!(read.errors[0].line, 2);
        assert!(
            read.errors[0].message.contains("accountcode `GLOBEX`"),
            "{:?}",
            read.errors
        );
    }

    #[test]
    fn csv_with_a_header_reads_aliases_and_names_bad_fields() {
        let options = CdrFileOptions::default();
        let file = b"Call_ID,Source_IP,B_Number,Start,Billsec,Route\n\
c1,203.0.113.10,4420,2026-11-21 10:00:00,61,sip:198.51.100.7:5060\n\
c2,203.0.113.10,4420,2026-11-21 10:05:00,0,\n\
c3,203.0.113.10,4420,yesterday,5,\n\
c4,,4420,2026-11-21 10:05:00,5,\n";
        let read = read_with(file, CdrFileFormat::Csv, &filing(&options));
        assert_eq!(read.records.len(), 2);
        let c1 = &read.records[0].cdr;
        assert_eq!((c1.sip_code, c1.duration_ms()), (200, 61_000));
        assert_eq!(read.records[1].cdr.sip_code, 480);
        let lines: Vec<u64> = read.errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, [4, 5]);
        assert!(read.errors[0].message.contains("setup_time `yesterday`"));
        assert!(read.errors[1].message.contains("source_ip"));

        let headless = read_with(b"a,b\n1,2\n", CdrFileFormat::Csv, &filing(&options));
        assert!(headless.errors[0]
            .message
            .contains("call_id, b_number, setup_time"));
    }

    #[test]
    fn json_lines_take_the_file_interconnects_unless_they_name_theirs() {
        let options = CdrFileOptions {
            supplier_interconnect_id: Some(9),
            ..CdrFileOptions::default()
        };
        let file = br#"{"callid":"k1","src_ip":"203.0.113.10","callee":"4420","sip_code":"200","start_time":"1795253545.2","duration":"3"}

{"call_id":"o1","source_ip":"203.0.113.10","b_number":"4420","setup_time":"2026-11-21T10:00:00Z","answer_time":"2026-11-21T10:00:01Z","end_time":"2026-11-21T10:00:04Z","sip_code":200,"supplier_interconnect_id":4}
{"call_id":"o2"
"#;
        let read = read_with(file, CdrFileFormat::Json, &filing(&options));
        assert_eq!(read.records.len(), 2);
        assert_eq!(read.records[0].cdr.supplier_interconnect_id, Some(9));
        assert_eq!(read.records[1].cdr.supplier_interconnect_id, Some(4));
        assert_eq!(read.errors.len(), 1);
        assert_eq!(read.errors[0].line, 4);
    }

    #[test]
    fn formats_are_guessed_from_name_and_first_line() {
        assert_eq!(
            detect("Master.csv", "\"ACME\",\"1001\""),
            CdrFileFormat::Asterisk
        );
        assert_eq!(
            detect("day.csv", "call_id,b_number,start"),
            CdrFileFormat::Csv
        );
        assert_eq!(detect("acc.ndjson", ""), CdrFileFormat::Json);
        assert_eq!(detect("x.txt", " {\"callid\":1}"), CdrFileFormat::Json);
    }
}
