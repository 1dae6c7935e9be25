//! `didtron rate` over real files in each CDR format.

use domain::rating::RatingPolicy;
use server::rate_command::{rate_file, OUTPUT_COLUMNS};
use service::rating_files::CdrFormat;

fn write(dir: &std::path::Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

fn rows(out: &[u8]) -> Vec<Vec<String>> {
    csv::Reader::from_reader(out)
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

const DECK: &str = "prefix,destination,rate,increment,effective_from,effective_to,currency\n\
    91,India,0.010000,1/1,2026-01-01,,USD\n\
    9175629,India-Voda-Idea-Mobile,0.022585,1/1,2026-01-01,,USD\n\
    1555,US Test,0.006,6/6,2026-01-01,2026-12-01,USD\n";

#[test]
fn rates_kamailio_cdrs_as_the_harness_pushes_them() {
    let dir = std::env::temp_dir().join(format!("didtron-rate-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let deck = write(&dir, "deck.csv", DECK);
    // Shapes from ../shared/harness/kamailio/README.md: an answered call and a rejected one.
    let cdrs = write(
        &dir,
        "cdrs.json",
        "{\"start_time\":\"1795253545.221\",\"end_time\":\"1795253548.224\",\"duration\":\"3.003\",\"callid\":\"1-29770@127.0.0.1\",\"caller\":\"44207000000\",\"callee\":\"1555000\",\"src_ip\":\"127.0.0.1\",\"route\":\"sip:127.0.0.1:5070\",\"sip_code\":\"200\",\"sip_reason\":\"OK\",\"setup_time\":\"1795253545.164945\"}\n\
         {\"start_time\":\"1795253545.221\",\"duration\":\"0\",\"callid\":\"2-1@127.0.0.1\",\"callee\":\"917562929406\",\"sip_code\":\"403\",\"route\":\"\"}\n\
         not json\n",
    );
    let mut out = Vec::new();
    let summary = rate_file(&deck, &cdrs, None, &RatingPolicy::default(), &mut out).unwrap();
    let rows = rows(&out);
    assert_eq!(rows.len(), 2);
    let col = |name: &str| OUTPUT_COLUMNS.iter().position(|c| *c == name).unwrap();
    // 3.003 s → 4 s (a started second counts) → 6/6 → 6 s × 0.006/60 = 0.0006.
    assert_eq!(rows[0][col("status")], "rated");
    assert_eq!(rows[0][col("prefix")], "1555");
    assert_eq!(rows[0][col("billed_seconds")], "6");
    assert_eq!(rows[0][col("cost")], "0.000600");
    // The rejected call is priced at zero as unanswered, on the longest code.
    assert_eq!(
        (
            rows[1][col("prefix")].as_str(),
            rows[1][col("cost")].as_str()
        ),
        ("9175629", "0.000000")
    );
    assert_eq!((summary.calls, summary.answered, summary.rated), (2, 1, 2));
    assert_eq!(summary.malformed.len(), 1);
    assert_eq!(summary.malformed[0].line, 3);
    assert!(summary.report().contains("malformed rows 1"));
}

#[test]
fn rates_asterisk_master_csv_and_reports_unrated_reasons() {
    let dir = std::env::temp_dir().join(format!("didtron-rate-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let deck = write(&dir, "deck.csv", DECK);
    let cdrs = write(
        &dir,
        "Master.csv",
        "\"\",\"100\",\"917562929406\",\"out\",\"\",\"SIP/a-1\",\"SIP/b-2\",\"Dial\",\"SIP/b\",\"2026-06-01 10:00:00\",\"2026-06-01 10:00:02\",\"2026-06-01 10:01:02\",62,60,\"ANSWERED\",\"DOCUMENTATION\",\"1780308000.1\",\"\"\n\
         \"\",\"100\",\"33612345678\",\"out\",\"\",\"SIP/a-1\",\"SIP/b-2\",\"Dial\",\"SIP/b\",\"2026-06-01 10:00:00\",\"2026-06-01 10:00:02\",\"2026-06-01 10:01:02\",62,60,\"ANSWERED\",\"DOCUMENTATION\",\"1780308000.2\",\"\"\n\
         \"\",\"100\",\"15551234\",\"out\",\"\",\"SIP/a-1\",\"SIP/b-2\",\"Dial\",\"SIP/b\",\"2026-12-02 10:00:00\",\"2026-12-02 10:00:02\",\"2026-12-02 10:01:02\",62,60,\"ANSWERED\",\"DOCUMENTATION\",\"1780308000.3\",\"\"\n",
    );
    let mut out = Vec::new();
    let summary = rate_file(
        &deck,
        &cdrs,
        Some(CdrFormat::Asterisk),
        &RatingPolicy::default(),
        &mut out,
    )
    .unwrap();
    let rows = rows(&out);
    assert_eq!(rows[0][0], "1780308000.1");
    assert_eq!(rows[0][15], "0.022585", "60 s at 0.022585/min");
    assert_eq!(rows[1][5], "no_prefix");
    assert_eq!(
        rows[2][5], "no_rate_in_force",
        "the US code closed on 2026-12-01"
    );
    assert_eq!(summary.unrated.get("no_prefix"), Some(&1));
    assert_eq!(
        summary.by_destination["India-Voda-Idea-Mobile"],
        (1, 60, 22_585)
    );
}

#[test]
fn a_bad_deck_rates_nothing_and_names_every_line() {
    let dir = std::env::temp_dir().join(format!("didtron-rate-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let deck = write(
        &dir,
        "deck.csv",
        "prefix,destination,rate,increment,effective_from,currency\n44,UK,0.01,60/60,2026-01-01,USD\n44,UK again,0.02,60/60,2026-02-01,USD\nx,Bad,0.01,60/60,2026-01-01,USD\n",
    );
    let cdrs = write(
        &dir,
        "c.csv",
        "call_id,b_number,start,billsec\nc1,441,2026-06-01,1\n",
    );
    let err = rate_file(&deck, &cdrs, None, &RatingPolicy::default(), Vec::new())
        .unwrap_err()
        .to_string();
    assert!(err.contains("line 4: code: `x` is not digits"), "{err}");
    let deck2 = write(
        &dir,
        "deck2.csv",
        "prefix,destination,rate,increment,effective_from,currency\n44,UK,0.01,60/60,2026-01-01,USD\n44,UK again,0.02,60/60,2026-02-01,USD\n",
    );
    let err = rate_file(&deck2, &cdrs, None, &RatingPolicy::default(), Vec::new())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("line 3: dial code 44 is already in force"),
        "{err}"
    );
}

#[test]
fn rates_against_a_carriers_workbook_as_it_was_sent() {
    let dir = std::env::temp_dir().join(format!("didtron-rate-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let deck = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../testdata/rate-decks/airtel-wholesale-gold-plus-2023-05-09.xlsx"
    );
    let cdrs = write(
        &dir,
        "cdrs.csv",
        "call_id,b_number,start,billsec\n\
         c1,237681234567,2023-06-01 10:00:00,61\n\
         c2,237681234567,2023-05-12 10:00:00,60\n",
    );
    let mut out = Vec::new();
    rate_file(
        deck,
        &cdrs,
        Some(CdrFormat::Csv),
        &RatingPolicy::default(),
        &mut out,
    )
    .unwrap();
    let rows = rows(&out);
    let col = |name: &str| OUTPUT_COLUMNS.iter().position(|c| *c == name).unwrap();
    // After the increase of 2023-05-16: 0.231 per minute, 1/1, 61 s.
    assert_eq!(rows[0][col("status")], "rated");
    assert_eq!(rows[0][col("prefix")], "237681");
    assert_eq!(rows[0][col("cost")], "0.234850");
    // Before it, the Cameroon code had no row in this notice: the shorter 237 code rates.
    assert_ne!(rows[1][col("prefix")], "237681");
    std::fs::remove_dir_all(dir).unwrap();
}
