//! Reading rate decks and CDRs from files, for offline rating (`didtron rate`) and later
//! imports. Readers stream; every bad row is reported with its line number and reason.
//!
//! ## Rate decks
//! Read by [`read_deck_file`] with the same parser imports use
//! (`domain::rate_plans::import`): CSV or a workbook as the carrier sent it. The
//! columns DIDTron itself writes (exports) are `prefix, destination, rate,
//! connection_fee, increment, minimum, grace, effective_from, effective_to, currency`.
//!
//! ## CDR formats
//! - `asterisk`: Asterisk `Master.csv` (cdr_csv), no header: accountcode, src, dst,
//!   dcontext, clid, channel, dstchannel, lastapp, lastdata, start, answer, end,
//!   duration, billsec, disposition, amaflags[, uniqueid, userfield]. Times are UTC
//!   `YYYY-MM-DD HH:MM:SS`; answered = disposition `ANSWERED`; billable = `billsec`;
//!   call id = `uniqueid` (else `line-N`).
//! - `csv`: header row with `call_id`, `b_number`, `start` (formats as above), and
//!   `billsec` (seconds) or `duration_ms`; optional `answered` (`true`/`false`, default:
//!   billable duration > 0).
//! - `kamailio-json`: one `acc_json` CDR object per line, as pushed by the harness
//!   (`callid`, `callee`, `start_time` epoch seconds, `duration` seconds with decimals,
//!   `sip_code`); answered = 2xx.

use std::collections::HashMap;
use std::io::BufRead;

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use domain::rating::{BillableDuration, BillingIncrement, RateDeckRow};

/// A row that could not be read: its 1-based line and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct RowError {
    pub line: u64,
    pub reason: String,
}

/// Parses a timestamp: `YYYY-MM-DD` (00:00 UTC), `YYYY-MM-DD HH:MM:SS` (UTC),
/// `YYYY-MM-DDTHH:MM:SS` (UTC) or RFC 3339 with an offset.
pub fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    let t = text.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
        return Ok(dt.with_timezone(&Utc));
    }
    for format in ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S"] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(t, format) {
            return Ok(Utc.from_utc_datetime(&dt));
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        return Ok(Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0).expect("midnight")));
    }
    Err(format!(
        "`{text}` is not a date (YYYY-MM-DD), a UTC time (YYYY-MM-DD HH:MM:SS) or RFC 3339"
    ))
}

/// Digits of a dial code or number as carriers write it: spaces, `-`, `.` and a leading
/// `+` or `00` removed. Non-digits that remain are the caller's to refuse.
pub fn normalise_digits(text: &str) -> String {
    let cleaned: String = text
        .trim()
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
        .collect();
    let cleaned = cleaned.strip_prefix('+').unwrap_or(&cleaned);
    cleaned.strip_prefix("00").unwrap_or(cleaned).to_owned()
}

fn headers_index(headers: &csv::StringRecord) -> HashMap<String, usize> {
    headers
        .iter()
        .enumerate()
        .map(|(i, h)| (h.trim().to_ascii_lowercase(), i))
        .collect()
}

/// Reads a rate deck file for offline rating with the import parser
/// ([`crate::rate_plans::import::read_deck`]): a carrier's CSV or workbook as it is,
/// letterhead and all. What the file leaves out takes a new plan's defaults: increment
/// 60/60, no minimum, grace or connection fee; a row without an effective date is in
/// force from the letterhead's issue date, else from 1970-01-01. The currency is the
/// file's (letterhead, rate header or column). All rows or nothing: every bad line is
/// returned, each with its line.
pub fn read_deck_file(bytes: &[u8], file_name: &str) -> Result<Vec<RateDeckRow>, Vec<RowError>> {
    use crate::rate_plans::import::{read_deck, ReadProgress};
    let read = read_deck(
        bytes,
        file_name,
        &domain::rate_plans::import::ReadOptions::default(),
        &ReadProgress::default(),
    )
    .map_err(|reason| vec![RowError { line: 0, reason }])?;
    let deck = read.deck;
    if !deck.errors.is_empty() {
        return Err(deck
            .errors
            .into_iter()
            .map(|e| RowError {
                line: u64::from(e.line),
                reason: e.reason,
            })
            .collect());
    }
    let Some(currency) = deck.metadata.currency else {
        return Err(vec![RowError {
            line: 0,
            reason: "the file does not say its currency (a Currency line above the table, a currency column, or a rate header like \"Rate (USD)\")".into(),
        }]);
    };
    let since = deck.metadata.issued.unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
    Ok(deck
        .rates
        .into_iter()
        .map(|r| RateDeckRow {
            line: r.line,
            prefix: r.prefix,
            destination: r.destination,
            rate_micros: r.rate_micros,
            connection_fee_micros: r.connection_fee_micros.unwrap_or(0),
            increment: r.increment.unwrap_or(BillingIncrement {
                first: 60,
                next: 60,
            }),
            minimum_s: r.minimum_s.unwrap_or(0),
            grace_s: r.grace_s.unwrap_or(0),
            effective_from: r.effective_from.unwrap_or(since),
            effective_to: r.effective_to,
            currency,
        })
        .collect())
}

/// CDR file formats `didtron rate` reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CdrFormat {
    Asterisk,
    Csv,
    KamailioJson,
}

impl CdrFormat {
    /// `asterisk`, `csv` or `kamailio-json`.
    pub fn parse(text: &str) -> Result<CdrFormat, String> {
        match text {
            "asterisk" => Ok(CdrFormat::Asterisk),
            "csv" => Ok(CdrFormat::Csv),
            "kamailio-json" => Ok(CdrFormat::KamailioJson),
            _ => Err(format!(
                "unknown CDR format `{text}`: use asterisk, csv or kamailio-json"
            )),
        }
    }

    /// Guesses from the file name and first line: `.json`/`.ndjson` or a line starting
    /// with `{` → kamailio-json; a header naming `call_id` → csv; else asterisk.
    pub fn detect(path: &str, first_line: &str) -> CdrFormat {
        if path.ends_with(".json")
            || path.ends_with(".ndjson")
            || first_line.trim_start().starts_with('{')
        {
            CdrFormat::KamailioJson
        } else if first_line.to_ascii_lowercase().contains("call_id") {
            CdrFormat::Csv
        } else {
            CdrFormat::Asterisk
        }
    }
}

/// One CDR as read from a file, ready to rate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CdrRecord {
    pub line: u64,
    pub call_id: String,
    pub b_number: String,
    pub start: DateTime<Utc>,
    pub duration: BillableDuration,
    pub answered: bool,
}

/// Streams CDRs from `reader` in `format`, calling `on_record` for each good row and
/// `on_error` for each malformed one (with its line); returns nothing itself.
pub fn read_cdrs(
    reader: impl BufRead,
    format: CdrFormat,
    mut on_record: impl FnMut(CdrRecord),
    mut on_error: impl FnMut(RowError),
) -> std::io::Result<()> {
    match format {
        CdrFormat::KamailioJson => {
            for (i, line) in reader.lines().enumerate() {
                let line_no = i as u64 + 1;
                let line = line?;
                if line.trim().is_empty() {
                    continue;
                }
                match parse_kamailio(&line, line_no) {
                    Ok(r) => on_record(r),
                    Err(reason) => on_error(RowError {
                        line: line_no,
                        reason,
                    }),
                }
            }
        }
        CdrFormat::Asterisk | CdrFormat::Csv => {
            let has_headers = format == CdrFormat::Csv;
            let mut csv = csv::ReaderBuilder::new()
                .has_headers(has_headers)
                .flexible(true)
                .trim(csv::Trim::All)
                .from_reader(reader);
            let index = if has_headers {
                let h = csv.headers().map_err(std::io::Error::other)?.clone();
                headers_index(&h)
            } else {
                HashMap::new()
            };
            if has_headers {
                let missing: Vec<_> = ["call_id", "b_number", "start"]
                    .into_iter()
                    .filter(|c| !index.contains_key(*c))
                    .collect();
                let no_duration =
                    !index.contains_key("billsec") && !index.contains_key("duration_ms");
                if !missing.is_empty() || no_duration {
                    let mut names = missing.join(", ");
                    if no_duration {
                        names = [names, "billsec or duration_ms".into()]
                            .into_iter()
                            .filter(|s| !s.is_empty())
                            .collect::<Vec<_>>()
                            .join(", ");
                    }
                    on_error(RowError {
                        line: 1,
                        reason: format!("missing column(s): {names}"),
                    });
                    return Ok(());
                }
            }
            let mut record = csv::StringRecord::new();
            let mut row = 0u64;
            loop {
                match csv.read_record(&mut record) {
                    Ok(false) => break,
                    Ok(true) => {
                        row += 1;
                        let line = record.position().map_or(row, |p| p.line());
                        let parsed = if has_headers {
                            parse_plain(&record, &index, line)
                        } else {
                            parse_asterisk(&record, line)
                        };
                        match parsed {
                            Ok(r) => on_record(r),
                            Err(reason) => on_error(RowError { line, reason }),
                        }
                    }
                    Err(e) => {
                        row += 1;
                        let line = e.position().map_or(row, |p| p.line());
                        on_error(RowError {
                            line,
                            reason: e.to_string(),
                        });
                    }
                }
            }
        }
    }
    Ok(())
}

fn number(text: &str, field: &str) -> Result<String, String> {
    let digits = normalise_digits(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        Err(format!("{field} `{text}` is not a number"))
    } else {
        Ok(digits)
    }
}

fn parse_asterisk(r: &csv::StringRecord, line: u64) -> Result<CdrRecord, String> {
    if r.len() < 16 {
        return Err(format!(
            "Master.csv rows have at least 16 fields, this one has {}",
            r.len()
        ));
    }
    let b_number = number(&r[2], "dst")?;
    let answered = r[14].eq_ignore_ascii_case("ANSWERED");
    let start_text = if answered && !r[10].is_empty() {
        &r[10]
    } else {
        &r[9]
    };
    let start = parse_time(start_text).map_err(|e| format!("start/answer: {e}"))?;
    let billsec: u64 = r[13]
        .parse()
        .map_err(|_| format!("billsec `{}` is not whole seconds", &r[13]))?;
    let call_id = r
        .get(16)
        .filter(|s| !s.is_empty())
        .map_or_else(|| format!("line-{line}"), str::to_owned);
    Ok(CdrRecord {
        line,
        call_id,
        b_number,
        start,
        duration: BillableDuration::Seconds(billsec),
        answered,
    })
}

fn parse_plain(
    r: &csv::StringRecord,
    index: &HashMap<String, usize>,
    line: u64,
) -> Result<CdrRecord, String> {
    let get = |name: &str| index.get(name).and_then(|&i| r.get(i)).unwrap_or("");
    let b_number = number(get("b_number"), "b_number")?;
    let start = parse_time(get("start")).map_err(|e| format!("start: {e}"))?;
    let duration = match (get("duration_ms"), get("billsec")) {
        (ms, _) if !ms.is_empty() => BillableDuration::Millis(
            ms.parse()
                .map_err(|_| format!("duration_ms `{ms}` is not whole milliseconds"))?,
        ),
        (_, s) => BillableDuration::Seconds(
            s.parse()
                .map_err(|_| format!("billsec `{s}` is not whole seconds"))?,
        ),
    };
    let answered = match get("answered").to_ascii_lowercase().as_str() {
        "" => duration.whole_seconds() > 0,
        "true" | "1" | "yes" => true,
        "false" | "0" | "no" => false,
        other => return Err(format!("answered `{other}` is not true or false")),
    };
    let call_id = match get("call_id") {
        "" => return Err("call_id is empty".into()),
        id => id.to_owned(),
    };
    Ok(CdrRecord {
        line,
        call_id,
        b_number,
        start,
        duration,
        answered,
    })
}

fn parse_kamailio(line: &str, line_no: u64) -> Result<CdrRecord, String> {
    let v: serde_json::Value = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
    let field = |name: &str| -> Result<String, String> {
        match v.get(name) {
            Some(serde_json::Value::String(s)) => Ok(s.clone()),
            Some(serde_json::Value::Number(n)) => Ok(n.to_string()),
            _ => Err(format!("`{name}` is missing")),
        }
    };
    let call_id = field("callid")?;
    let b_number = number(&field("callee")?, "callee")?;
    let start_ms = domain::cdr::seconds_text_to_ms(&field("start_time")?)
        .ok_or("start_time is not epoch seconds")?;
    let start = DateTime::<Utc>::from_timestamp_millis(start_ms as i64)
        .ok_or("start_time is out of range")?;
    let duration_ms =
        domain::cdr::seconds_text_to_ms(&field("duration")?).ok_or("duration is not seconds")?;
    let answered = field("sip_code")?.starts_with('2');
    Ok(CdrRecord {
        line: line_no,
        call_id,
        b_number,
        start,
        duration: BillableDuration::Millis(duration_ms),
        answered,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_deck_and_reports_every_bad_line() {
        let csv = "prefix,destination,rate,increment,effective_from,currency,connection_fee\n\
                   +44,UK,0.01,60/60,2026-01-01,USD,\n\
                   0033-6,France Mobile,0.0123,30/6,2026-01-01 12:00:00,usd,0.001\n\
                   44x,Bad,abc,7/,yesterday,US,\n";
        let errors = read_deck_file(csv.as_bytes(), "deck.csv").unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].line, 4);
        for needle in ["code", "rate", "increment", "effective from", "currency"] {
            assert!(errors[0].reason.contains(needle), "{needle}: {}", errors[0]);
        }
        let rows =
            read_deck_file(&csv.as_bytes()[..csv.rfind("44x").unwrap()], "deck.csv").unwrap();
        assert_eq!(rows[0].prefix, "44");
        assert_eq!(rows[1].prefix, "336");
        assert_eq!(rows[1].connection_fee_micros, 1_000);
        assert_eq!(
            rows[1].effective_from.to_rfc3339(),
            "2026-01-01T12:00:00+00:00"
        );
        let missing = read_deck_file("prefix,destination\n1,US\n".as_bytes(), "d.csv").unwrap_err();
        assert!(
            missing[0].reason.contains("no header row found"),
            "{}",
            missing[0]
        );
    }

    #[test]
    fn reads_each_cdr_format() {
        let asterisk = "\"acc\",\"100\",\"447700900123\",\"ctx\",\"\",\"SIP/a\",\"SIP/b\",\"Dial\",\"\",\"2026-06-01 10:00:00\",\"2026-06-01 10:00:05\",\"2026-06-01 10:01:05\",65,60,\"ANSWERED\",\"DOCUMENTATION\",\"1717236000.1\",\"\"\n\
                        \"acc\",\"100\",\"abc\",\"ctx\",\"\",\"\",\"\",\"\",\"\",\"2026-06-01 10:00:00\",\"\",\"2026-06-01 10:00:05\",5,0,\"NO ANSWER\",\"DOCUMENTATION\"\n";
        let (mut ok, mut bad) = (Vec::new(), Vec::new());
        read_cdrs(
            asterisk.as_bytes(),
            CdrFormat::Asterisk,
            |r| ok.push(r),
            |e| bad.push(e),
        )
        .unwrap();
        assert_eq!(ok.len(), 1);
        assert_eq!(
            (
                ok[0].call_id.as_str(),
                ok[0].answered,
                ok[0].start.to_rfc3339().as_str()
            ),
            ("1717236000.1", true, "2026-06-01T10:00:05+00:00")
        );
        assert_eq!(
            (bad[0].line, bad[0].reason.as_str()),
            (2, "dst `abc` is not a number")
        );

        let plain = "call_id,b_number,start,duration_ms\nc1,+33612345678,2026-06-01T10:00:00Z,30200\nc2,33,2026-06-01,x\n";
        let (mut ok, mut bad) = (Vec::new(), Vec::new());
        read_cdrs(
            plain.as_bytes(),
            CdrFormat::Csv,
            |r| ok.push(r),
            |e| bad.push(e),
        )
        .unwrap();
        assert_eq!(
            (
                ok[0].b_number.as_str(),
                ok[0].duration.whole_seconds(),
                ok[0].answered
            ),
            ("33612345678", 31, true)
        );
        assert_eq!(bad[0].line, 3);

        let json = "{\"start_time\":\"1795253545.221\",\"duration\":\"3.003\",\"callid\":\"1-29770@127.0.0.1\",\"callee\":\"1555000\",\"sip_code\":\"200\"}\n\n{\"callid\":\"x\"}\n";
        let (mut ok, mut bad) = (Vec::new(), Vec::new());
        read_cdrs(
            json.as_bytes(),
            CdrFormat::KamailioJson,
            |r| ok.push(r),
            |e| bad.push(e),
        )
        .unwrap();
        assert_eq!(ok[0].duration, BillableDuration::Millis(3003));
        assert_eq!(ok[0].start.timestamp_millis(), 1_795_253_545_221);
        assert_eq!(
            (bad[0].line, bad[0].reason.as_str()),
            (3, "`callee` is missing")
        );
        assert_eq!(
            CdrFormat::detect("x.csv", "call_id,b_number"),
            CdrFormat::Csv
        );
        assert_eq!(
            CdrFormat::detect("Master.csv", "\"acc\",\"1\""),
            CdrFormat::Asterisk
        );
        assert_eq!(domain::cdr::seconds_text_to_ms("0.0001"), Some(1));
    }
}
