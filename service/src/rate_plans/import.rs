//! Importing a rate deck file into a plan: upload → read (a background job: progress,
//! preview) → the user corrects the mapping, then publishes or cancels → publish (a
//! background job: one transaction) → report.
//!
//! Files: CSV (UTF-8 or Windows-1252, `,` `;` or tab separated, detected) and
//! workbooks (XLSX, XLS, ODS through `calamine`; formulas read as their cached values;
//! the first sheet with a recognisable header row is used). Reading is
//! `domain::rate_plans::import`; comparing with the live rates is
//! `domain::rate_plans::revision`.
//!
//! All or nothing: a file with bad lines publishes nothing unless the user chose "skip
//! bad rows", and then the report lists every skipped line, so lines in = lines
//! published + lines reported. Publishing is one transaction (revision, new rows,
//! closed rows, plan's live revision, audit entry); a publish job that dies halfway
//! leaves nothing and runs again.
//!
//! Memory: both jobs read the file twice and never hold its rates — a first pass
//! ([`scan_deck`]) finds every bad line (duplicates by sorting 24 bytes a code), a
//! second ([`stream_deck`]) hands the good lines one by one to a `Planner`; publishing
//! inserts the planned rows in chunks as they come. A 1 000 000-line import peaks at
//! about 1.5× the file (BENCHMARKS.md).

use std::io::Cursor;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use domain::rate_plans::import::{CellRef, DeckFile, DeckReader, LineError, ReadOptions};
use domain::rate_plans::revision::{ChangeCode, PlannedRate, Planner, RevisionPlan};
use domain::rate_plans::{
    ImportOptions, ImportPreview, ImportReport, ImportView, PreviewRow, PREVIEW_ROWS,
};
use domain::FieldErrors;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection,
    EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set, Statement,
};
use serde::{Deserialize, Serialize};

use super::{get_plan, live_rates, plan_of, rate_text, rfc3339};
use crate::audit::{self, Actor, FieldChange};
use crate::entity::{deck_mapping, job, rate, rate_import, rate_plan, rate_revision};
use crate::jobs::{self, JobContext, JobError};
use crate::{ServiceError, ServiceResult};

/// Job kind: read an uploaded file and write its preview.
pub const READ_JOB: &str = "rate_import.read";
/// Job kind: publish a previewed import as a revision.
pub const PUBLISH_JOB: &str = "rate_import.publish";

/// Largest file accepted, bytes (a 1 000 000-line CSV deck is about 60 MB).
pub const MAX_FILE_BYTES: usize = 200 * 1024 * 1024;

/// Import states, as stored.
pub mod status {
    pub const QUEUED: &str = "queued";
    pub const READING: &str = "reading";
    pub const PREVIEWED: &str = "previewed";
    pub const PUBLISHING: &str = "publishing";
    pub const PUBLISHED: &str = "published";
    pub const FAILED: &str = "failed";
    pub const CANCELLED: &str = "cancelled";
}

#[derive(Serialize, Deserialize)]
struct JobPayload {
    import_id: i64,
    /// Who asked (for the audit entry of the publication).
    actor_email: String,
    actor_id: Option<i64>,
}

/// Rows read so far and rows to read, updated while a file is read. A job that reads
/// its file twice (errors first, then the rates) counts both passes in one total.
#[derive(Debug)]
pub struct ReadProgress {
    pub done: AtomicU64,
    pub total: AtomicU64,
    lines: AtomicU64,
    pass: AtomicU64,
    passes: u64,
}

impl Default for ReadProgress {
    fn default() -> Self {
        ReadProgress::with_passes(1)
    }
}

impl ReadProgress {
    /// Progress over `passes` readings of the same file.
    pub fn with_passes(passes: u64) -> ReadProgress {
        ReadProgress {
            done: AtomicU64::new(0),
            total: AtomicU64::new(0),
            lines: AtomicU64::new(0),
            pass: AtomicU64::new(0),
            passes: passes.max(1),
        }
    }

    fn start(&self, lines: u64) {
        self.lines.store(lines, Ordering::Relaxed);
        self.total.store(lines * self.passes, Ordering::Relaxed);
        self.at(0);
    }

    fn at(&self, line: u64) {
        let lines = self.lines.load(Ordering::Relaxed);
        let pass = self.pass.load(Ordering::Relaxed);
        self.done
            .store(pass * lines + line.min(lines), Ordering::Relaxed);
    }

    fn end(&self) {
        self.at(u64::MAX);
        self.pass.fetch_add(1, Ordering::Relaxed);
    }
}

/// Receives a file's rates line by line while it is read (streaming): the reader's
/// metadata so far and one line's rates.
pub type LineSink<'a> = dyn FnMut(&domain::rate_plans::import::DeckMetadata, Vec<domain::rate_plans::import::ImportedRate>)
    + 'a;

/// How [`read_file`] hands out rates.
enum Mode<'a, 'b> {
    /// Keep every rate in the [`DeckFile`] (duplicates checked and removed).
    Collect,
    /// Check duplicates, hand nothing out (a first pass for the errors).
    Scan,
    /// Hand each line to the sink; no duplicate check (the first pass did it).
    Stream(&'a mut LineSink<'b>),
}

/// A file read: the deck and, for workbooks, the sheet it came from.
#[derive(Debug)]
pub struct ReadFile {
    pub deck: DeckFile,
    pub sheet: Option<String>,
}

fn is_workbook(bytes: &[u8], file_name: &str) -> bool {
    let name = file_name.to_ascii_lowercase();
    bytes.starts_with(b"PK\x03\x04")
        || bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0])
        || [".xlsx", ".xlsm", ".xlsb", ".xls", ".ods"]
            .iter()
            .any(|ext| name.ends_with(ext))
}

/// A file opened once for any number of readings: CSV bytes (decoded per reading, a
/// borrow when UTF-8), or a workbook's sheets parsed once by calamine (formulas as their
/// cached values).
pub enum OpenedDeck {
    Csv(Vec<u8>),
    Sheets(Vec<(String, calamine::Range<calamine::Data>)>),
}

/// Opens a rate deck file (CSV or workbook, told apart by content and name). Errors: a
/// workbook calamine cannot read (the message says which formats it tried).
pub fn open_deck(bytes: Vec<u8>, file_name: &str) -> Result<OpenedDeck, String> {
    use calamine::Reader;
    if !is_workbook(&bytes, file_name) {
        return Ok(OpenedDeck::Csv(bytes));
    }
    let mut workbook = calamine::open_workbook_auto_from_rs(Cursor::new(bytes)).map_err(|e| {
        format!("the file is not a workbook calamine can read (XLSX, XLS, ODS): {e}")
    })?;
    let mut sheets = Vec::new();
    for name in workbook.sheet_names().to_vec() {
        match workbook.worksheet_range(&name) {
            Ok(range) => sheets.push((name, range)),
            Err(e) => return Err(format!("sheet {name}: {e}")),
        }
    }
    if sheets.is_empty() {
        return Err("the workbook has no sheets".into());
    }
    Ok(OpenedDeck::Sheets(sheets))
}

/// Reads a rate deck file with `options`, keeping every rate (duplicates checked and
/// removed), counting rows in `progress`. Errors: see [`open_deck`].
pub fn read_deck(
    bytes: &[u8],
    file_name: &str,
    options: &ReadOptions,
    progress: &ReadProgress,
) -> Result<ReadFile, String> {
    let opened = open_deck(bytes.to_vec(), file_name)?;
    Ok(read_opened(&opened, options, progress, Mode::Collect))
}

/// Reads an opened file for its errors only (every bad line, duplicates included),
/// holding no rate: the first pass of an import. `deck.rates` is empty.
pub fn scan_deck(opened: &OpenedDeck, options: &ReadOptions, progress: &ReadProgress) -> ReadFile {
    read_opened(opened, options, progress, Mode::Scan)
}

/// Reads an opened file and hands each line's rates to `sink` as it goes, holding none:
/// the second pass of an import (duplicates are not checked again). `deck.rates` is
/// empty.
pub fn stream_deck(
    opened: &OpenedDeck,
    options: &ReadOptions,
    progress: &ReadProgress,
    sink: &mut LineSink<'_>,
) -> ReadFile {
    read_opened(opened, options, progress, Mode::Stream(sink))
}

fn read_opened(
    opened: &OpenedDeck,
    options: &ReadOptions,
    progress: &ReadProgress,
    mut mode: Mode<'_, '_>,
) -> ReadFile {
    match opened {
        OpenedDeck::Csv(bytes) => ReadFile {
            deck: read_csv(bytes, options, progress, &mut mode),
            sheet: None,
        },
        OpenedDeck::Sheets(sheets) => read_sheets(sheets, options, progress, &mut mode),
    }
}

fn new_reader(options: &ReadOptions, mode: &Mode<'_, '_>, lines: usize) -> DeckReader {
    let mut reader = DeckReader::new(options.clone());
    match mode {
        Mode::Collect => reader.reserve(lines),
        Mode::Scan => {}
        Mode::Stream(_) => reader = reader.without_duplicate_check(),
    }
    reader
}

/// After each row: in Scan and Stream modes the reader keeps no rate.
fn hand_out(reader: &mut DeckReader, mode: &mut Mode<'_, '_>) {
    match mode {
        Mode::Collect => {}
        Mode::Scan => {
            reader.take_rates();
        }
        Mode::Stream(sink) => {
            let rates = reader.take_rates();
            if !rates.is_empty() {
                sink(reader.metadata(), rates);
            }
        }
    }
}

/// Text of a CSV file: UTF-8 (a byte-order mark removed), else Windows-1252 as Latin-1
/// (what spreadsheet programs on Windows write).
fn decode(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(s) => s.into(),
        Err(_) => bytes.iter().map(|&b| b as char).collect::<String>().into(),
    }
}

/// The separator used most in the first lines: `,`, `;` or tab.
fn detect_delimiter(text: &str) -> u8 {
    let head: String = text.lines().take(30).collect::<Vec<_>>().join("\n");
    [b',', b';', b'\t']
        .into_iter()
        .max_by_key(|d| head.bytes().filter(|b| b == d).count())
        .unwrap_or(b',')
}

fn read_csv(
    bytes: &[u8],
    options: &ReadOptions,
    progress: &ReadProgress,
    mode: &mut Mode<'_, '_>,
) -> DeckFile {
    let text = decode(bytes);
    let lines = memchr_count(text.as_bytes()) as u64 + 1;
    progress.start(lines);
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(detect_delimiter(&text))
        .from_reader(text.as_bytes());
    let mut reader = new_reader(options, mode, lines as usize);
    let mut record = csv::StringRecord::new();
    let mut n = 0u64;
    loop {
        match csv.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                // A malformed record (bad quoting) is reported on its line; reading goes on.
                let line = e.position().map(|p| p.line() as u32).unwrap_or(0);
                let mut file = reader.finish();
                file.errors.push(LineError {
                    line,
                    reason: format!("the file cannot be read past this line: {e}"),
                });
                return file;
            }
        }
        let line = record.position().map(|p| p.line() as u32).unwrap_or(0);
        fn cell(f: &str) -> CellRef<'_> {
            if f.is_empty() {
                CellRef::Empty
            } else {
                CellRef::Text(f)
            }
        }
        // Rows of up to 32 cells live on the stack; wider ones in a Vec.
        let mut small = [CellRef::Empty; 32];
        let wide: Vec<CellRef>;
        let cells: &[CellRef] = if record.len() <= small.len() {
            for (slot, f) in small.iter_mut().zip(record.iter()) {
                *slot = cell(f);
            }
            &small[..record.len()]
        } else {
            wide = record.iter().map(cell).collect();
            &wide
        };
        reader.push_row(line, cells);
        hand_out(&mut reader, mode);
        n += 1;
        if n.is_multiple_of(4096) {
            progress.at(u64::from(line));
            if reader.gave_up() {
                break;
            }
        }
        if reader.gave_up() && n > u64::from(domain::rate_plans::import::HEADER_SEARCH_LINES) {
            break;
        }
    }
    progress.end();
    reader.finish()
}

fn memchr_count(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| b == b'\n').count()
}

/// The first sheet with a header row (or the first sheet, to report that none has one).
fn read_sheets(
    sheets: &[(String, calamine::Range<calamine::Data>)],
    options: &ReadOptions,
    progress: &ReadProgress,
    mode: &mut Mode<'_, '_>,
) -> ReadFile {
    use calamine::Data;
    let mut first: Option<ReadFile> = None;
    for (name, range) in sheets {
        let (top, _) = range.start().unwrap_or((0, 0));
        progress.start(range.height() as u64);
        let mut reader = new_reader(options, mode, range.height());
        for (i, row) in range.rows().enumerate() {
            let line = top + i as u32 + 1;
            let cells: Vec<CellRef> = row
                .iter()
                .map(|cell| match cell {
                    Data::Empty | Data::Error(_) => CellRef::Empty,
                    Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => {
                        CellRef::Text(s)
                    }
                    Data::Float(f) => CellRef::Number(*f),
                    Data::Int(n) => CellRef::Number(*n as f64),
                    Data::Bool(true) => CellRef::Text("true"),
                    Data::Bool(false) => CellRef::Text("false"),
                    Data::DateTime(d) => CellRef::Number(d.as_f64()),
                })
                .collect();
            reader.push_row(line, &cells);
            hand_out(&mut reader, mode);
            if i % 4096 == 0 {
                progress.at(i as u64);
                if reader.gave_up() {
                    break;
                }
            }
        }
        let deck = reader.finish();
        let found = deck.header_line.is_some();
        let read = ReadFile {
            deck,
            sheet: Some(name.clone()),
        };
        if found {
            progress.end();
            return read;
        }
        first.get_or_insert(read);
    }
    first.expect("open_deck refuses a workbook without sheets")
}

fn internal(e: impl std::fmt::Display) -> ServiceError {
    ServiceError::Internal(e.to_string())
}

async fn get_import<C: ConnectionTrait>(db: &C, id: i64) -> ServiceResult<rate_import::Model> {
    rate_import::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound("import"))
}

/// A file name safe as part of a storage key.
/// The mapping remembered for the plan's carrier, as header names (empty when none).
async fn remembered_mapping<C: ConnectionTrait>(
    db: &C,
    plan: &rate_plan::Model,
) -> ServiceResult<Vec<(domain::rate_plans::import::DeckField, String)>> {
    let Some(carrier_id) = plan.carrier_id else {
        return Ok(Vec::new());
    };
    Ok(deck_mapping::Entity::find()
        .filter(deck_mapping::Column::CarrierId.eq(carrier_id))
        .one(db)
        .await?
        .and_then(|m| serde_json::from_str(&m.mapping).ok())
        .unwrap_or_default())
}

/// Stores an uploaded file and queues reading it (unless `queue` is false: the CLI reads
/// it at once). Options default to a full deck, automatic mapping (or the mapping
/// remembered for the plan's carrier). Errors: `Validation` on `file` (empty, too big);
/// `NotFound`.
pub async fn upload(
    ctx: &JobContext,
    actor: &Actor,
    plan_id: i64,
    file_name: &str,
    bytes: Vec<u8>,
    options: Option<ImportOptions>,
    queue: bool,
) -> ServiceResult<rate_import::Model> {
    let plan = get_plan(&ctx.db, plan_id).await?;
    let mut errors = FieldErrors::new();
    if let Some(problem) =
        crate::files::upload_size_problem(bytes.len(), MAX_FILE_BYTES, "a rate deck (CSV or Excel)")
    {
        errors.add("file", problem);
    }
    if !errors.is_empty() {
        return Err(errors.into());
    }
    let mut options = options.unwrap_or(ImportOptions {
        replace_all: true,
        ..ImportOptions::default()
    });
    if options.read.mapping.is_none() && options.read.remembered.is_empty() {
        options.read.remembered = remembered_mapping(&ctx.db, &plan).await?;
    }
    let key = format!(
        "rate-decks/{plan_id}/{}-{}",
        uuid::Uuid::new_v4().simple(),
        crate::files::key_name(file_name)
    );
    let size = bytes.len();
    ctx.files.put(&key, bytes).await?;
    let now = Utc::now();
    let txn = crate::db::begin_write(&ctx.db).await?;
    let model = rate_import::ActiveModel {
        rate_plan_id: Set(plan_id),
        file_name: Set(file_name.chars().take(255).collect()),
        file_key: Set(key),
        file_size: Set(size as i64),
        status: Set(status::QUEUED.into()),
        options: Set(serde_json::to_string(&options).map_err(internal)?),
        rows_done: Set(0),
        rows_total: Set(0),
        rows_per_s: Set(0),
        preview: Set(String::new()),
        report: Set(String::new()),
        error: Set(String::new()),
        base_revision_id: Set(None),
        revision_id: Set(None),
        created_by: Set(actor.email.clone()),
        started_at: Set(None),
        finished_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    if queue {
        enqueue(&txn, READ_JOB, model.id, actor).await?;
    }
    txn.commit().await?;
    Ok(model)
}

async fn enqueue<C: ConnectionTrait>(
    db: &C,
    kind: &str,
    import_id: i64,
    actor: &Actor,
) -> ServiceResult<()> {
    jobs::enqueue(
        db,
        kind,
        &JobPayload {
            import_id,
            actor_email: actor.email.clone(),
            actor_id: actor.user_id,
        },
    )
    .await?;
    Ok(())
}

async fn set_status<C: ConnectionTrait>(
    db: &C,
    id: i64,
    status: &str,
    error: &str,
) -> ServiceResult<()> {
    let now = Utc::now();
    rate_import::Entity::update_many()
        .col_expr(rate_import::Column::Status, status.into())
        .col_expr(
            rate_import::Column::Error,
            error.chars().take(2000).collect::<String>().into(),
        )
        .col_expr(rate_import::Column::UpdatedAt, now.into())
        .filter(rate_import::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Reads the import again with new `options` (a corrected mapping, header line, full or
/// partial deck). Allowed while previewed or failed. Errors: `Conflict` otherwise;
/// `NotFound`.
pub async fn change_options(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i64,
    options: ImportOptions,
) -> ServiceResult<()> {
    let txn = crate::db::begin_write(db).await?;
    let import = get_import(&txn, id).await?;
    if !matches!(import.status.as_str(), status::PREVIEWED | status::FAILED) {
        return Err(ServiceError::Conflict(format!(
            "the import is {}; it can be read again once previewed",
            import.status
        )));
    }
    let mut active: rate_import::ActiveModel = import.into();
    active.options = Set(serde_json::to_string(&options).map_err(internal)?);
    active.status = Set(status::QUEUED.into());
    active.error = Set(String::new());
    active.preview = Set(String::new());
    active.rows_done = Set(0);
    active.updated_at = Set(Utc::now());
    active.update(&txn).await?;
    enqueue(&txn, READ_JOB, id, actor).await?;
    txn.commit().await?;
    Ok(())
}

/// Queues publishing a previewed import. With bad lines, `skip_bad_rows` must be true
/// (they are then listed in the report). Errors: `Conflict` (not previewed, bad lines
/// without skipping, nothing readable); `NotFound`.
pub async fn publish(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i64,
    skip_bad_rows: bool,
) -> ServiceResult<()> {
    let txn = crate::db::begin_write(db).await?;
    let import = get_import(&txn, id).await?;
    if import.status != status::PREVIEWED {
        return Err(ServiceError::Conflict(format!(
            "the import is {}; only a previewed import can be published",
            import.status
        )));
    }
    let preview: ImportPreview = serde_json::from_str(&import.preview).map_err(internal)?;
    if preview.errors.iter().any(|e| e.line == 0) {
        return Err(ServiceError::Conflict(format!(
            "the file cannot be published: {}",
            preview.errors[0].reason
        )));
    }
    if !preview.errors.is_empty() && !skip_bad_rows {
        return Err(ServiceError::Conflict(format!(
            "the file has {} bad lines; correct them, or choose to skip bad rows",
            preview.errors.len()
        )));
    }
    let mut options: ImportOptions = serde_json::from_str(&import.options).map_err(internal)?;
    options.skip_bad_rows = skip_bad_rows;
    let mut active: rate_import::ActiveModel = import.into();
    active.options = Set(serde_json::to_string(&options).map_err(internal)?);
    active.status = Set(status::PUBLISHING.into());
    active.rows_done = Set(0);
    active.updated_at = Set(Utc::now());
    active.update(&txn).await?;
    enqueue(&txn, PUBLISH_JOB, id, actor).await?;
    txn.commit().await?;
    Ok(())
}

/// Cancels an import that is not published (its file is deleted). Errors: `Conflict`
/// once published or while a job works on it; `NotFound`.
pub async fn cancel(ctx: &JobContext, id: i64) -> ServiceResult<()> {
    let import = get_import(&ctx.db, id).await?;
    if !matches!(
        import.status.as_str(),
        status::PREVIEWED | status::FAILED | status::QUEUED
    ) {
        return Err(ServiceError::Conflict(format!(
            "the import is {}; it cannot be cancelled now",
            import.status
        )));
    }
    set_status(&ctx.db, id, status::CANCELLED, "").await?;
    ctx.files.delete(&import.file_key).await?;
    Ok(())
}

fn view(model: rate_import::Model, with_preview: bool) -> ImportView {
    ImportView {
        id: model.id,
        rate_plan_id: model.rate_plan_id,
        file_name: model.file_name,
        file_size: model.file_size,
        status: model.status,
        rows_done: model.rows_done,
        rows_total: model.rows_total,
        rows_per_s: model.rows_per_s,
        error: model.error,
        options: serde_json::from_str(&model.options).unwrap_or_default(),
        preview: if with_preview {
            serde_json::from_str(&model.preview).ok()
        } else {
            None
        },
        report: serde_json::from_str(&model.report).ok(),
        created_by: model.created_by,
        created_at: rfc3339(model.created_at),
        revision_id: model.revision_id,
    }
}

/// One import with its preview and report. Errors: `NotFound`.
pub async fn import_view(db: &DatabaseConnection, id: i64) -> ServiceResult<ImportView> {
    Ok(view(get_import(db, id).await?, true))
}

/// A plan's imports, newest first (at most 100), without their previews.
pub async fn list_imports(db: &DatabaseConnection, plan_id: i64) -> ServiceResult<Vec<ImportView>> {
    get_plan(db, plan_id).await?;
    Ok(rate_import::Entity::find()
        .filter(rate_import::Column::RatePlanId.eq(plan_id))
        .order_by_desc(rate_import::Column::Id)
        .limit(100)
        .all(db)
        .await?
        .into_iter()
        .map(|m| view(m, false))
        .collect())
}

/// Runs a job of kind [`READ_JOB`] or [`PUBLISH_JOB`].
pub(crate) async fn run_job(ctx: &JobContext, job: &job::Model) -> Result<(), JobError> {
    let payload: JobPayload = serde_json::from_str(&job.payload)
        .map_err(|e| JobError::Final(format!("bad payload: {e}")))?;
    let actor = Actor {
        user_id: payload.actor_id,
        email: payload.actor_email,
    };
    match job.kind.as_str() {
        READ_JOB => read_import(ctx, payload.import_id).await,
        _ => publish_import(ctx, &actor, payload.import_id).await,
    }
}

/// Runs `task` (reading, in a blocking thread) while copying `progress` into the
/// import's row every 250 ms (rows done, total, rows/s), unless `record` is false (a
/// SQLite transaction is open: a write beside it would wait for the lock).
async fn with_progress<T: Send + 'static>(
    ctx: &JobContext,
    import_id: i64,
    progress: Arc<ReadProgress>,
    record: bool,
    task: impl FnOnce() -> T + Send + 'static,
) -> Result<T, JobError> {
    let task = tokio::task::spawn_blocking(task);
    tokio::pin!(task);
    let started = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    let write = |done: i64, total: i64, per_s: i64| {
        rate_import::Entity::update_many()
            .col_expr(rate_import::Column::RowsDone, done.into())
            .col_expr(rate_import::Column::RowsTotal, total.into())
            .col_expr(rate_import::Column::RowsPerS, per_s.into())
            .filter(rate_import::Column::Id.eq(import_id))
            .exec(&ctx.db)
    };
    let result = loop {
        tokio::select! {
            result = &mut task => break result,
            _ = tick.tick(), if record => {
                let done = progress.done.load(Ordering::Relaxed) as i64;
                let total = progress.total.load(Ordering::Relaxed) as i64;
                let per_s = (done as f64 / started.elapsed().as_secs_f64().max(0.001)) as i64;
                write(done, total, per_s).await.map_err(|e| JobError::Retry(e.to_string()))?;
            }
        }
    };
    if record {
        let done = progress.done.load(Ordering::Relaxed) as i64;
        let total = progress.total.load(Ordering::Relaxed) as i64;
        let per_s = (done as f64 / started.elapsed().as_secs_f64().max(0.001)) as i64;
        write(done, total, per_s)
            .await
            .map_err(|e| JobError::Retry(e.to_string()))?;
    }
    result.map_err(|e| JobError::Retry(format!("reader stopped: {e}")))
}

/// A reading failure the user must see: the import is marked failed with the reason.
async fn failed(ctx: &JobContext, id: i64, reason: String) -> Result<(), JobError> {
    set_status(&ctx.db, id, status::FAILED, &reason).await?;
    Err(JobError::Final(reason))
}

/// Every bad line: the file's and the plan's, in line order.
fn all_errors(read: &ReadFile, revision: &RevisionPlan) -> Vec<LineError> {
    let mut errors: Vec<LineError> = read
        .deck
        .errors
        .iter()
        .chain(revision.errors.iter())
        .cloned()
        .collect();
    errors.sort_by_key(|e| e.line);
    errors
}

/// The first [`PREVIEW_ROWS`] codes of a planned revision, as the preview shows them.
pub(crate) fn preview_rows(revision: &RevisionPlan, notice_days: u32) -> Vec<PreviewRow> {
    revision
        .rates
        .iter()
        .take(PREVIEW_ROWS)
        .map(|r| PreviewRow {
            line: r.line,
            prefix: r.prefix.clone(),
            destination: r.destination.clone(),
            rate: rate_text(r.rate_micros),
            increment: r.increment.to_string(),
            effective_from: rfc3339(r.effective_from),
            change: r.change.as_str().into(),
            previous_rate: r.previous_rate_micros.map(rate_text),
            note: match r.requested_from {
                Some(asked) => format!(
                    "moved from {} by the {notice_days}-day notice period",
                    asked.format("%Y-%m-%d")
                ),
                None => String::new(),
            },
        })
        .collect()
}

fn preview_of(
    read: &ReadFile,
    revision: &RevisionPlan,
    codes: u64,
    base: Option<i64>,
    notice_days: u32,
) -> ImportPreview {
    let errors = all_errors(read, revision);
    let bad_lines: std::collections::HashSet<u32> = errors.iter().map(|e| e.line).collect();
    let first_rows = preview_rows(revision, notice_days);
    ImportPreview {
        sheet: read.sheet.clone(),
        metadata: read.deck.metadata.clone(),
        header_line: read.deck.header_line,
        headers: read.deck.headers.clone(),
        mapping: read.deck.mapping.clone(),
        conventions: read.deck.conventions.describe(),
        data_lines: read.deck.data_lines,
        good_lines: read
            .deck
            .data_lines
            .saturating_sub(bad_lines.iter().filter(|l| **l > 0).count() as u64),
        codes,
        counts: revision.counts,
        first_rows,
        errors,
        notices: revision.notices.clone(),
        base_revision: base,
    }
}

/// What the planning pass produced: the plan (its `rates` only the first
/// [`PREVIEW_ROWS`]) and the number of codes on good lines.
struct Planned {
    plan: RevisionPlan,
    codes: u64,
}

/// The second pass: streams the file's good lines through a [`Planner`] (created with the
/// first pass's metadata), handing each line's planned rates to `each`.
#[allow(clippy::too_many_arguments)]
fn plan_pass(
    opened: &OpenedDeck,
    options: &ImportOptions,
    progress: &ReadProgress,
    scan: &ReadFile,
    terms: &domain::rate_plans::PlanTerms,
    live: &[domain::rate_plans::revision::LiveRate],
    now: chrono::DateTime<Utc>,
    mut each: impl FnMut(Vec<PlannedRate>),
) -> Result<Planned, String> {
    let bad: std::collections::HashSet<u32> = scan.deck.errors.iter().map(|e| e.line).collect();
    let mut planner = Planner::new(terms, live, &scan.deck.metadata, now);
    let mut first = Vec::new();
    let mut codes = 0u64;
    stream_deck(opened, &options.read, progress, &mut |_, rates| {
        let line = rates[0].line;
        if bad.contains(&line) {
            return;
        }
        codes += rates.len() as u64;
        let planned = planner.line(&rates);
        if first.len() < PREVIEW_ROWS {
            first.extend(planned.iter().take(PREVIEW_ROWS - first.len()).cloned());
        }
        each(planned);
    });
    let mut plan = planner.finish(options.replace_all);
    plan.rates = first;
    Ok(Planned { plan, codes })
}

async fn read_import(ctx: &JobContext, id: i64) -> Result<(), JobError> {
    let import = get_import(&ctx.db, id).await?;
    if import.status != status::QUEUED && import.status != status::READING {
        return Ok(()); // cancelled (or already read by an earlier attempt)
    }
    let now = Utc::now();
    rate_import::Entity::update_many()
        .col_expr(rate_import::Column::Status, status::READING.into())
        .col_expr(rate_import::Column::StartedAt, Some(now).into())
        .filter(rate_import::Column::Id.eq(id))
        .exec(&ctx.db)
        .await
        .map_err(|e| JobError::Retry(e.to_string()))?;
    let options: ImportOptions = serde_json::from_str(&import.options).unwrap_or_default();
    let plan = get_plan(&ctx.db, import.rate_plan_id).await?;
    let terms = plan_of(&plan)?.terms();
    let live = live_rates(&ctx.db, plan.id).await?;
    let bytes = ctx.files.get(&import.file_key).await?;
    // Two passes over the file held once: its errors (duplicates need the whole file),
    // then its good lines planned one by one. No pass holds the rates.
    let progress = Arc::new(ReadProgress::with_passes(2));
    let outcome = {
        let progress = progress.clone();
        let name = import.file_name.clone();
        let options = options.clone();
        with_progress(ctx, id, progress.clone(), true, move || {
            let opened = open_deck(bytes, &name)?;
            let scan = scan_deck(&opened, &options.read, &progress);
            let planned = plan_pass(
                &opened,
                &options,
                &progress,
                &scan,
                &terms,
                &live,
                Utc::now(),
                |_| {},
            )?;
            Ok::<_, String>((scan, planned))
        })
        .await?
    };
    let (scan, planned) = match outcome {
        Ok(done) => done,
        Err(reason) => return failed(ctx, id, reason).await,
    };
    let preview = preview_of(
        &scan,
        &planned.plan,
        planned.codes,
        plan.live_revision_id,
        plan.notice_days as u32,
    );
    let now = Utc::now();
    rate_import::Entity::update_many()
        .col_expr(rate_import::Column::Status, status::PREVIEWED.into())
        .col_expr(
            rate_import::Column::Preview,
            serde_json::to_string(&preview)
                .map_err(|e| JobError::Final(e.to_string()))?
                .into(),
        )
        .col_expr(
            rate_import::Column::BaseRevisionId,
            plan.live_revision_id.into(),
        )
        .col_expr(rate_import::Column::UpdatedAt, now.into())
        .filter(rate_import::Column::Id.eq(id))
        .exec(&ctx.db)
        .await
        .map_err(|e| JobError::Retry(e.to_string()))?;
    Ok(())
}

/// Rows per message from the planning thread to the inserting task.
const STREAM_CHUNK: usize = 10_000;

async fn publish_import(ctx: &JobContext, actor: &Actor, id: i64) -> Result<(), JobError> {
    let import = get_import(&ctx.db, id).await?;
    if import.status != status::PUBLISHING {
        return Ok(()); // published by an earlier attempt, or cancelled
    }
    let started = Instant::now();
    let options: ImportOptions = serde_json::from_str(&import.options).unwrap_or_default();
    let bytes = ctx.files.get(&import.file_key).await?;
    let progress = Arc::new(ReadProgress::with_passes(2));

    // Pass 1, before the transaction: every bad line (the file opened once for both).
    let opened_and_scan = {
        let (progress, options) = (progress.clone(), options.clone());
        let name = import.file_name.clone();
        with_progress(ctx, id, progress.clone(), true, move || {
            let opened = open_deck(bytes, &name)?;
            let scan = scan_deck(&opened, &options.read, &progress);
            Ok::<_, String>((Arc::new(opened), scan))
        })
        .await?
    };
    let (opened, scan) = match opened_and_scan {
        Ok(done) => done,
        Err(reason) => return failed(ctx, id, reason).await,
    };
    if let Some(e) = scan.deck.errors.iter().find(|e| e.line == 0) {
        return failed(ctx, id, e.reason.clone()).await;
    }
    if !scan.deck.errors.is_empty() && !options.skip_bad_rows {
        return failed(
            ctx,
            id,
            format!("the file has {} bad lines", scan.deck.errors.len()),
        )
        .await;
    }

    // Pass 2, in the publishing transaction: plan line by line in a blocking thread,
    // insert the stored rows here in chunks as they come.
    let txn = crate::db::begin_write(&ctx.db)
        .await
        .map_err(|e| JobError::Retry(e.to_string()))?;
    let plan = get_plan(&txn, import.rate_plan_id).await?;
    if plan.live_revision_id != import.base_revision_id {
        drop(txn);
        return failed(
            ctx,
            id,
            "the plan has published another revision since this preview; read the file again to compare with it"
                .into(),
        )
        .await;
    }
    let terms = plan_of(&plan)?.terms();
    let live = live_rates(&txn, plan.id).await?;
    let saved = begin_revision(&txn, &plan, "import", Some(id), actor, "").await?;
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<PlannedRate>>(2);
    let planning = {
        let (opened, progress, options) = (opened.clone(), progress.clone(), options.clone());
        let record = txn.get_database_backend() == DatabaseBackend::Postgres;
        let ctx = ctx.clone();
        tokio::spawn(async move {
            with_progress(&ctx, id, progress.clone(), record, move || {
                let mut chunk = Vec::with_capacity(STREAM_CHUNK);
                let planned = plan_pass(
                    &opened,
                    &options,
                    &progress,
                    &scan,
                    &terms,
                    &live,
                    Utc::now(),
                    |rows| {
                        chunk.extend(
                            rows.into_iter()
                                .filter(|r| r.change != ChangeCode::Unchanged),
                        );
                        if chunk.len() >= STREAM_CHUNK {
                            let full =
                                std::mem::replace(&mut chunk, Vec::with_capacity(STREAM_CHUNK));
                            // The receiver is gone only when the publish failed.
                            let _ = tx.blocking_send(full);
                        }
                    },
                );
                if !chunk.is_empty() {
                    let _ = tx.blocking_send(chunk);
                }
                planned.map(|p| (scan, p))
            })
            .await
        })
    };
    let mut rows_stored = 0u64;
    while let Some(chunk) = rx.recv().await {
        rows_stored += chunk.len() as u64;
        let refs: Vec<&PlannedRate> = chunk.iter().collect();
        insert_rates(&txn, plan.id, saved.id, &refs).await?;
    }
    let (scan, planned) = match planning
        .await
        .map_err(|e| JobError::Retry(format!("planner stopped: {e}")))??
    {
        Ok(done) => done,
        Err(reason) => {
            drop(txn);
            return failed(ctx, id, reason).await;
        }
    };
    let revision = planned.plan;
    let errors = all_errors(&scan, &revision);
    if let Some(e) = errors.iter().find(|e| e.line == 0) {
        let reason = e.reason.clone();
        drop(txn);
        return failed(ctx, id, reason).await;
    }
    if !errors.is_empty() && !options.skip_bad_rows {
        drop(txn);
        return failed(ctx, id, format!("the file has {} bad lines", errors.len())).await;
    }
    finish_revision(&txn, actor, &plan, &saved, &revision).await?;
    let bad_lines: std::collections::HashSet<u32> = errors.iter().map(|e| e.line).collect();
    let report = ImportReport {
        revision: saved.number,
        lines_in: scan.deck.data_lines,
        lines_published: scan.deck.data_lines - bad_lines.len() as u64,
        skipped: errors,
        rows_stored,
        counts: revision.counts,
        milliseconds: started.elapsed().as_millis() as u64,
    };
    if let Some(carrier_id) = plan.carrier_id {
        remember_mapping(&txn, carrier_id, &scan.deck).await?;
    }
    let now = Utc::now();
    rate_import::Entity::update_many()
        .col_expr(rate_import::Column::Status, status::PUBLISHED.into())
        .col_expr(
            rate_import::Column::Report,
            serde_json::to_string(&report)
                .map_err(|e| JobError::Final(e.to_string()))?
                .into(),
        )
        .col_expr(rate_import::Column::RevisionId, Some(saved.id).into())
        .col_expr(rate_import::Column::FinishedAt, Some(now).into())
        .col_expr(rate_import::Column::UpdatedAt, now.into())
        .filter(rate_import::Column::Id.eq(id))
        .exec(&txn)
        .await
        .map_err(|e| JobError::Retry(e.to_string()))?;
    txn.commit()
        .await
        .map_err(|e| JobError::Retry(e.to_string()))?;
    Ok(())
}

async fn remember_mapping<C: ConnectionTrait>(
    db: &C,
    carrier_id: i64,
    deck: &DeckFile,
) -> ServiceResult<()> {
    let mapping =
        serde_json::to_string(&deck.mapping.remembered(&deck.headers)).map_err(internal)?;
    let now = Utc::now();
    match deck_mapping::Entity::find()
        .filter(deck_mapping::Column::CarrierId.eq(carrier_id))
        .one(db)
        .await?
    {
        Some(existing) => {
            let mut active: deck_mapping::ActiveModel = existing.into();
            active.mapping = Set(mapping);
            active.updated_at = Set(now);
            active.update(db).await?;
        }
        None => {
            deck_mapping::ActiveModel {
                carrier_id: Set(carrier_id),
                mapping: Set(mapping),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            }
            .insert(db)
            .await?;
        }
    }
    Ok(())
}

/// Rows per multi-row INSERT on SQLite (16 columns: well under its 32 766 bound
/// parameters).
const INSERT_CHUNK: usize = 1000;

/// Rows per `INSERT … SELECT FROM unnest(arrays)` on PostgreSQL: one statement and twelve
/// parameters carry this many rows, so the server parses arrays instead of statements.
const PG_ARRAY_CHUNK: usize = 50_000;

fn stored_destination(destination: &str) -> String {
    destination.chars().take(200).collect()
}

fn stored_change(change: ChangeCode) -> &'static str {
    match change {
        ChangeCode::Increase => "increase",
        ChangeCode::Decrease => "decrease",
        _ => "new",
    }
}

/// A PostgreSQL array literal of `items` (each `None` is `NULL`): elements double-quoted
/// with `"` and `\` escaped, per the array input syntax (PostgreSQL manual 8.15.6).
fn pg_array<'a>(items: impl Iterator<Item = Option<&'a str>>) -> String {
    let mut out = String::from("{");
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push(',');
        }
        match item {
            None => out.push_str("NULL"),
            Some(text) => {
                out.push('"');
                for ch in text.chars() {
                    if ch == '"' || ch == '\\' {
                        out.push('\\');
                    }
                    out.push(ch);
                }
                out.push('"');
            }
        }
    }
    out.push('}');
    out
}

/// Inserts `rows` in one statement: each column travels as one array literal and
/// `unnest` turns them back into rows — PostgreSQL's bulk path short of `COPY`, and
/// usable inside the publishing transaction.
async fn insert_rates_pg<C: ConnectionTrait>(
    txn: &C,
    plan_id: i64,
    revision_id: i64,
    rows: &[&PlannedRate],
    now: chrono::DateTime<Utc>,
) -> ServiceResult<()> {
    let ts = |t: chrono::DateTime<Utc>| t.format("%Y-%m-%d %H:%M:%S+00").to_string();
    let destinations: Vec<String> = rows
        .iter()
        .map(|r| stored_destination(&r.destination))
        .collect();
    let keys: Vec<String> = destinations.iter().map(|d| d.to_lowercase()).collect();
    let ints = |f: &dyn Fn(&PlannedRate) -> i64| -> String {
        let texts: Vec<String> = rows.iter().map(|r| f(r).to_string()).collect();
        pg_array(texts.iter().map(|t| Some(t.as_str())))
    };
    let froms: Vec<String> = rows.iter().map(|r| ts(r.effective_from)).collect();
    let tos: Vec<Option<String>> = rows.iter().map(|r| r.effective_to.map(ts)).collect();
    let values: Vec<sea_orm::Value> = vec![
        plan_id.into(),
        revision_id.into(),
        now.into(),
        pg_array(rows.iter().map(|r| Some(r.prefix.as_str()))).into(),
        pg_array(destinations.iter().map(|d| Some(d.as_str()))).into(),
        pg_array(keys.iter().map(|k| Some(k.as_str()))).into(),
        ints(&|r| r.rate_micros).into(),
        ints(&|r| r.connection_fee_micros).into(),
        ints(&|r| i64::from(r.increment.first)).into(),
        ints(&|r| i64::from(r.increment.next)).into(),
        ints(&|r| i64::from(r.minimum_s)).into(),
        ints(&|r| i64::from(r.grace_s)).into(),
        pg_array(froms.iter().map(|t| Some(t.as_str()))).into(),
        pg_array(tos.iter().map(|t| t.as_deref())).into(),
        pg_array(rows.iter().map(|r| Some(stored_change(r.change)))).into(),
    ];
    let sql = "INSERT INTO rates (rate_plan_id, revision_id, prefix, destination, destination_key, \
        rate_micros, connection_fee_micros, increment_first, increment_next, minimum_s, grace_s, \
        effective_from, effective_to, change, closed_by_revision_id, created_at, updated_at) \
        SELECT $1, $2, t.p, t.d, t.k, t.r, t.f, t.i1, t.i2, t.mn, t.g, t.ef, t.et, t.c, NULL, $3, $3 \
        FROM unnest($4::text::text[], $5::text::text[], $6::text::text[], $7::text::bigint[], \
        $8::text::bigint[], $9::text::bigint[], $10::text::bigint[], $11::text::bigint[], \
        $12::text::bigint[], $13::text::timestamptz[], $14::text::timestamptz[], $15::text::text[]) \
        AS t(p, d, k, r, f, i1, i2, mn, g, ef, et, c)";
    txn.execute_raw(Statement::from_sql_and_values(
        DatabaseBackend::Postgres,
        sql,
        values,
    ))
    .await?;
    Ok(())
}

/// Publishes `revision` on `txn` (the caller commits): a revision row numbered after the
/// plan's last, the stored rows, the replaced and removed rows closed, the plan's live
/// revision moved, and one audit entry. (An import streams the same three steps:
/// [`begin_revision`], [`insert_rates`] per chunk, [`finish_revision`].)
pub async fn publish_revision<C: ConnectionTrait>(
    txn: &C,
    actor: &Actor,
    plan: &rate_plan::Model,
    revision: &RevisionPlan,
    source: &str,
    import_id: Option<i64>,
    note: &str,
) -> ServiceResult<rate_revision::Model> {
    let saved = begin_revision(txn, plan, source, import_id, actor, note).await?;
    let stored: Vec<&PlannedRate> = revision.stored().collect();
    insert_rates(txn, plan.id, saved.id, &stored).await?;
    finish_revision(txn, actor, plan, &saved, revision).await?;
    Ok(saved)
}

/// Adds the revision row (numbered after the plan's last; counts filled in by
/// [`finish_revision`]).
pub async fn begin_revision<C: ConnectionTrait>(
    txn: &C,
    plan: &rate_plan::Model,
    source: &str,
    import_id: Option<i64>,
    actor: &Actor,
    note: &str,
) -> ServiceResult<rate_revision::Model> {
    let now = Utc::now();
    let last = rate_revision::Entity::find()
        .filter(rate_revision::Column::RatePlanId.eq(plan.id))
        .order_by_desc(rate_revision::Column::Number)
        .one(txn)
        .await?
        .map(|r| r.number)
        .unwrap_or(0);
    Ok(rate_revision::ActiveModel {
        rate_plan_id: Set(plan.id),
        number: Set(last + 1),
        source: Set(source.into()),
        import_id: Set(import_id),
        new_codes: Set(0),
        increases: Set(0),
        decreases: Set(0),
        unchanged: Set(0),
        removed: Set(0),
        published_by: Set(actor.email.clone()),
        published_at: Set(now),
        note: Set(note.chars().take(500).collect()),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(txn)
    .await?)
}

/// Stores planned rows under `revision_id`: `unnest` arrays of up to 50 000 rows on
/// PostgreSQL, multi-row inserts of 1 000 on SQLite.
pub async fn insert_rates<C: ConnectionTrait>(
    txn: &C,
    plan_id: i64,
    revision_id: i64,
    stored: &[&PlannedRate],
) -> ServiceResult<()> {
    let now = Utc::now();
    if txn.get_database_backend() == DatabaseBackend::Postgres {
        for chunk in stored.chunks(PG_ARRAY_CHUNK) {
            insert_rates_pg(txn, plan_id, revision_id, chunk, now).await?;
        }
        return Ok(());
    }
    for chunk in stored.chunks(INSERT_CHUNK) {
        let batch: Vec<rate::ActiveModel> = chunk
            .iter()
            .map(|r| rate::ActiveModel {
                rate_plan_id: Set(plan_id),
                revision_id: Set(revision_id),
                prefix: Set(r.prefix.clone()),
                destination: Set(stored_destination(&r.destination)),
                destination_key: Set(stored_destination(&r.destination).to_lowercase()),
                rate_micros: Set(r.rate_micros),
                connection_fee_micros: Set(r.connection_fee_micros),
                increment_first: Set(i64::from(r.increment.first)),
                increment_next: Set(i64::from(r.increment.next)),
                minimum_s: Set(i64::from(r.minimum_s)),
                grace_s: Set(i64::from(r.grace_s)),
                effective_from: Set(r.effective_from),
                effective_to: Set(r.effective_to),
                change: Set(stored_change(r.change).into()),
                closed_by_revision_id: Set(None),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            })
            .collect();
        rate::Entity::insert_many(batch)
            .exec_without_returning(txn)
            .await?;
    }
    Ok(())
}

/// Closes the replaced and removed rows, writes the revision's counts, moves the plan's
/// live revision and writes the audit entry. `revision.rates` is not used.
pub async fn finish_revision<C: ConnectionTrait>(
    txn: &C,
    actor: &Actor,
    plan: &rate_plan::Model,
    saved: &rate_revision::Model,
    revision: &RevisionPlan,
) -> ServiceResult<()> {
    let now = Utc::now();
    // Close replaced and removed rows, grouped by their new end (usually one or two
    // letterhead dates), in chunks of ids.
    let mut by_end: std::collections::BTreeMap<chrono::DateTime<Utc>, Vec<i64>> =
        std::collections::BTreeMap::new();
    for close in revision.superseded.iter().chain(revision.removed.iter()) {
        by_end
            .entry(close.effective_to)
            .or_default()
            .push(close.rate_id);
    }
    for (end, ids) in by_end {
        for chunk in ids.chunks(INSERT_CHUNK) {
            rate::Entity::update_many()
                .col_expr(rate::Column::EffectiveTo, Some(end).into())
                .col_expr(rate::Column::ClosedByRevisionId, Some(saved.id).into())
                .col_expr(rate::Column::UpdatedAt, now.into())
                .filter(rate::Column::Id.is_in(chunk.to_vec()))
                .exec(txn)
                .await?;
        }
    }
    let c = revision.counts;
    rate_revision::Entity::update_many()
        .col_expr(rate_revision::Column::NewCodes, (c.new as i64).into())
        .col_expr(rate_revision::Column::Increases, (c.increase as i64).into())
        .col_expr(rate_revision::Column::Decreases, (c.decrease as i64).into())
        .col_expr(
            rate_revision::Column::Unchanged,
            (c.unchanged as i64).into(),
        )
        .col_expr(rate_revision::Column::Removed, (c.removed as i64).into())
        .filter(rate_revision::Column::Id.eq(saved.id))
        .exec(txn)
        .await?;
    rate_plan::Entity::update_many()
        .col_expr(rate_plan::Column::LiveRevisionId, Some(saved.id).into())
        .col_expr(rate_plan::Column::UpdatedAt, now.into())
        .filter(rate_plan::Column::Id.eq(plan.id))
        .exec(txn)
        .await?;
    let change = |field: &str, value: u64| FieldChange {
        field: field.into(),
        before: None,
        after: Some(value.to_string()),
    };
    audit::record(
        txn,
        actor,
        "rate_revision",
        saved.id,
        plan.carrier_id,
        audit::Action::Create,
        vec![
            FieldChange {
                field: "plan".into(),
                before: None,
                after: Some(format!("{} revision {}", plan.name, saved.number)),
            },
            change("new", c.new),
            change("increase", c.increase),
            change("decrease", c.decrease),
            change("unchanged", c.unchanged),
            change("removed", c.removed),
        ],
    )
    .await?;
    Ok(())
}

/// Imports a file at once, without the job queue (`didtron deck import`): upload, read,
/// and publish when the file has no bad line (or `skip_bad_rows`). Returns the import
/// as its page would show it: `published` with its report, or `failed`/`previewed` with
/// the preview's errors.
pub async fn import_now(
    ctx: &JobContext,
    actor: &Actor,
    plan_id: i64,
    file_name: &str,
    bytes: Vec<u8>,
    options: ImportOptions,
) -> ServiceResult<ImportView> {
    let skip = options.skip_bad_rows;
    let import = upload(ctx, actor, plan_id, file_name, bytes, Some(options), false).await?;
    let as_service = |e: JobError| match e {
        JobError::Retry(m) => ServiceError::Internal(m),
        JobError::Final(_) => ServiceError::Internal("read failed".into()),
    };
    match read_import(ctx, import.id).await {
        Ok(()) => {}
        Err(JobError::Final(_)) => return import_view(&ctx.db, import.id).await,
        Err(e) => return Err(as_service(e)),
    }
    let previewed = import_view(&ctx.db, import.id).await?;
    let clean = previewed
        .preview
        .as_ref()
        .is_some_and(|p| p.errors.is_empty() || (skip && !p.errors.iter().any(|e| e.line == 0)));
    if !clean {
        return Ok(previewed);
    }
    publish(&ctx.db, actor, import.id, skip).await?;
    // The job publish() queued is done here; mark it so no worker repeats it (a repeat
    // would find the import published and do nothing).
    match publish_import(ctx, actor, import.id).await {
        Ok(()) | Err(JobError::Final(_)) => {}
        Err(e) => return Err(as_service(e)),
    }
    job::Entity::update_many()
        .col_expr(job::Column::Status, jobs::status::DONE.into())
        .filter(job::Column::Kind.eq(PUBLISH_JOB))
        .filter(job::Column::Status.eq(jobs::status::QUEUED))
        .filter(job::Column::Payload.like(format!("{{\"import_id\":{},%", import.id)))
        .exec(&ctx.db)
        .await?;
    import_view(&ctx.db, import.id).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(bytes: &[u8], name: &str) -> DeckFile {
        read_deck(
            bytes,
            name,
            &ReadOptions::default(),
            &ReadProgress::default(),
        )
        .unwrap()
        .deck
    }

    #[test]
    fn windows_1252_semicolon_csv_from_a_spreadsheet_program_is_read() {
        // "Côte d'Ivoire" in Windows-1252 (ô = 0xF4), `;`-separated, with a byte-order
        // mark nowhere and CRLF line ends.
        let mut bytes = b"Destination;Dial Code;Price\r\nC".to_vec();
        bytes.push(0xF4);
        bytes.extend_from_slice(b"te d'Ivoire;225;0.1\r\n");
        let deck = read(&bytes, "notice.csv");
        assert!(deck.errors.is_empty(), "{:?}", deck.errors);
        assert_eq!(deck.rates[0].destination, "Côte d'Ivoire");
        assert_eq!(deck.rates[0].prefix, "225");
    }

    #[test]
    fn a_utf8_bom_and_tabs_are_handled() {
        let deck = read(
            "\u{feff}Code\tRate\tDestination\n44\t0.01\tUK\n".as_bytes(),
            "deck.txt",
        );
        assert!(deck.errors.is_empty(), "{:?}", deck.errors);
        assert_eq!(deck.header_line, Some(1));
        assert_eq!(deck.rates[0].destination, "UK");
    }

    #[test]
    fn a_file_that_is_not_a_workbook_says_so() {
        let err = read_deck(
            b"PK\x03\x04 not really a zip",
            "deck.xlsx",
            &ReadOptions::default(),
            &ReadProgress::default(),
        )
        .unwrap_err();
        assert!(err.contains("not a workbook"), "{err}");
    }
}
