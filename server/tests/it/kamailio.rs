//! Real calls through a real switch, end to end, on SQLite and on PostgreSQL + Redis:
//! sipp dials the 300 real numbers of `testdata/sipp/calls_airtel.csv` (codes of the
//! Airtel deck) through Kamailio running DIDTron's own configuration
//! (`deploy/kamailio/kamailio.cfg`), which asks DIDTron's routing API
//! (`POST /api/v1/route`) where each call goes and pushes the `acc_json` CDRs, batched,
//! to `POST /api/v1/cdrs` with the switch's API key. The customer's plan is the deck
//! plus 10 %; its routing plan sends every destination to Airtel (a sipp UAS); its
//! Validation tab blocks every 20th number. The first 150 calls are made while the CDR
//! API is unreachable (a gate answers 503): their CDRs wait in Kamailio and arrive once
//! it is back.
//!
//! Checked against the deck itself (read here with calamine, longest code wins): every
//! call is stored once (none lost in the outage, none twice); each answered call is
//! priced on the supplier leg at the deck's rate and pulse and on the customer leg at
//! the deck + 10 %; refused calls cost nothing; and both carriers' balances moved by
//! exactly the sums.
//!
//! Then the routing decisions, each with real calls: a call from an unknown address is
//! refused 403; a number no plan prices 404; a destination whose only supplier buys
//! above the sell price 503 (the margin guard); a supplier answering 503 fails over to
//! the next route, which answers and is billed; and a prepaid customer with credit for
//! three calls gets three and is then refused 402, and of two calls at once with credit
//! for one and a half, one is answered and the other refused 402.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use calamine::{Data, Reader};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use service::entity::cdr;
use service::jobs::JobContext;

use crate::support::spawn;

const TESTDATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata");
const KAMAILIO_CFG: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../deploy/kamailio/kamailio.cfg"
);
/// Ports away from the SIP defaults, so a switch on this machine is not disturbed.
const PROXY_PORT: u16 = 15060;
const SUPPLIER_PORT: u16 = 15070;
const CUSTOMER_PORT: u16 = 15080;
/// A second supplier that answers every call 503 (the failover test).
const FAILING_PORT: u16 = 15090;
/// How long each answered call lasts (sipp's pause between ACK and BYE).
const HOLD_MS: u64 = 1_500;

/// One deck row: rate in micro-units per minute, pulse (first, next) in seconds.
#[derive(Clone, Copy, Debug)]
struct DeckRate {
    rate_micros: i64,
    first_s: i64,
    next_s: i64,
}

/// The Airtel deck, read straight from the workbook: complete code → rate and pulse.
fn airtel_deck() -> HashMap<String, DeckRate> {
    let mut book =
        calamine::open_workbook_auto(service::testing::AIRTEL_WORKBOOK).expect("workbook opens");
    let sheet = book.worksheet_range("Pricing").expect("sheet Pricing");
    let mut rows = sheet
        .rows()
        .skip_while(|r| r.first() != Some(&Data::String("Destination".into())));
    let header = rows.next().expect("a header row");
    let col = |name: &str| {
        header
            .iter()
            .position(|c| c.to_string().trim() == name)
            .unwrap_or_else(|| panic!("column {name}"))
    };
    let (code, pulse) = (col("Complete Code"), col("Pulse"));
    let rate = 4; // "Rates (USD / Min)", a formula header
    let mut deck = HashMap::new();
    for r in rows {
        let c = r[code].to_string();
        if c.is_empty() {
            continue;
        }
        let rate_micros = match &r[rate] {
            Data::Float(f) => (f * 1_000_000.0).round() as i64,
            Data::Int(i) => i * 1_000_000,
            other => panic!("rate of {c}: {other:?}"),
        };
        let p = r[pulse].to_string();
        let (first, next) = p.split_once('/').unwrap_or_else(|| panic!("pulse {p}"));
        deck.insert(
            c,
            DeckRate {
                rate_micros,
                first_s: first.trim().parse().unwrap(),
                next_s: next.trim().parse().unwrap(),
            },
        );
    }
    assert_eq!(deck.len(), 18_254, "every code of the workbook");
    deck
}

/// The longest code of the deck that begins `number`, and its row.
fn longest_code<'a>(deck: &'a HashMap<String, DeckRate>, number: &str) -> (&'a str, DeckRate) {
    (1..=number.len())
        .rev()
        .find_map(|n| deck.get_key_value(&number[..n]))
        .map(|(k, v)| (k.as_str(), *v))
        .unwrap_or_else(|| panic!("{number} is under a code of the deck"))
}

/// A code of the deck (4+ digits, with `fits`) that begins none of `callees` and is
/// not inside (nor around) any of `avoid`.
fn unused_code(
    deck: &HashMap<String, DeckRate>,
    callees: &[String],
    avoid: &[&String],
    fits: impl Fn(&DeckRate) -> bool,
) -> String {
    let mut codes: Vec<&String> = deck.keys().filter(|c| c.len() >= 4).collect();
    codes.sort();
    codes
        .into_iter()
        .find(|c| {
            fits(&deck[c.as_str()])
                && callees.iter().all(|n| !n.starts_with(c.as_str()))
                && avoid
                    .iter()
                    .all(|a| !a.starts_with(c.as_str()) && !c.starts_with(a.as_str()))
                && {
                    let (longest, rate) = longest_code(deck, &number_under(c));
                    longest == c.as_str() && fits(&rate)
                }
        })
        .expect("an unused code")
        .clone()
}

/// A 12-digit number under `code` (the code, then 1s).
fn number_under(code: &str) -> String {
    format!("{code}{}", "1".repeat(12usize.saturating_sub(code.len())))
}

/// Billed seconds for a talk time: a started second counts, then the pulse
/// (first increment, then whole next increments).
fn billed_s(duration_ms: i64, r: DeckRate) -> i64 {
    let s = (duration_ms + 999) / 1000;
    if s == 0 {
        0
    } else if s <= r.first_s {
        r.first_s
    } else {
        r.first_s + (s - r.first_s + r.next_s - 1) / r.next_s * r.next_s
    }
}

/// `rate × seconds / 60`, rounded half up to the micro-unit.
fn charge(rate_micros: i64, seconds: i64) -> i64 {
    (rate_micros * seconds * 2 + 60) / 120
}

/// Child processes stopped (and reaped) when the test ends, however it ends: Kamailio
/// with SIGTERM, so its main process stops its workers (SIGKILL would orphan them, still
/// holding the SIP port); sipp with SIGKILL (it ignores SIGTERM).
struct Processes {
    kamailio: Child,
    supplier: Child,
    failing: Child,
}

impl Drop for Processes {
    fn drop(&mut self) {
        for sipp in [&mut self.supplier, &mut self.failing] {
            let _ = sipp.kill();
            let _ = sipp.wait();
        }
        let _ = Command::new("kill")
            .arg(self.kamailio.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.kamailio.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.kamailio.kill();
        let _ = self.kamailio.wait();
    }
}

fn tool(name: &str) -> &'static str {
    for path in ["/usr/sbin/kamailio", "/usr/bin/sipp"] {
        if path.ends_with(name) {
            assert!(
                Path::new(path).exists(),
                "{path} is missing: `scripts/setup.sh --test` installs Kamailio and sipp"
            );
            return path;
        }
    }
    unreachable!()
}

fn log_of(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// Between Kamailio and DIDTron: while `down` (an outage), every CDR request is
/// answered 503; otherwise it is passed on to DIDTron as it came. Counts the requests
/// that reached DIDTron.
#[derive(Clone)]
struct Gate {
    down: Arc<AtomicBool>,
    passed: Arc<AtomicUsize>,
    upstream: String,
    http: reqwest::Client,
}

async fn through_gate(State(g): State<Gate>, headers: HeaderMap, body: Bytes) -> Response {
    if g.down.load(Ordering::SeqCst) {
        return (StatusCode::SERVICE_UNAVAILABLE, "DIDTron is down").into_response();
    }
    let mut req = g
        .http
        .post(format!("{}/api/v1/cdrs", g.upstream))
        .body(body);
    if let Some(auth) = headers.get(header::AUTHORIZATION) {
        req = req.header(header::AUTHORIZATION, auth.clone());
    }
    let res = req.send().await.unwrap();
    g.passed.fetch_add(1, Ordering::SeqCst);
    let status = StatusCode::from_u16(res.status().as_u16()).unwrap();
    (status, res.bytes().await.unwrap()).into_response()
}

impl Gate {
    /// A gate in front of `upstream`, open; its address.
    async fn start(upstream: &str) -> (Gate, String) {
        let gate = Gate {
            down: Arc::new(AtomicBool::new(false)),
            passed: Arc::new(AtomicUsize::new(0)),
            upstream: upstream.to_owned(),
            http: reqwest::Client::new(),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = format!("http://{}", listener.local_addr().unwrap());
        let app = Router::new()
            .route("/api/v1/cdrs", post(through_gate))
            .with_state(gate.clone());
        let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
            let _ = tcp.set_nodelay(true);
        });
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (gate, addr)
    }
}

/// The CDRs of `source` DIDTron has stored, once `n` are there (or after 60 s).
async fn stored_cdrs(db: &sea_orm::DatabaseConnection, source: i64, n: usize) -> Vec<cdr::Model> {
    let started = Instant::now();
    loop {
        let rows = cdr::Entity::find()
            .filter(cdr::Column::SourceId.eq(source))
            .all(db)
            .await
            .unwrap();
        if rows.len() >= n || started.elapsed() > Duration::from_secs(60) {
            return rows;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Posts a payment of `micros` to `carrier`'s account, as the system.
async fn pay(db: &sea_orm::DatabaseConnection, carrier: i64, micros: i64, memo: &str) {
    service::cdrs::post_adjustment(
        db,
        &service::audit::Actor::system(),
        carrier,
        &domain::cdr::PostingForm {
            kind: "payment".into(),
            amount: domain::money::format_micros(micros, 6),
            memo: memo.into(),
        },
    )
    .await
    .unwrap();
}

/// `(SIP code, revenue)` of every stored call to `number`, sorted.
fn codes_to(all: &[cdr::Model], number: &str) -> Vec<(i64, i64)> {
    let mut codes: Vec<(i64, i64)> = all
        .iter()
        .filter(|c| c.b_dialled == number)
        .map(|c| (c.sip_code, c.revenue_micros))
        .collect();
    codes.sort();
    codes
}

/// A sipp UAS playing `scenario` on `port`.
fn uas(dir: &Path, scenario: &str, port: u16, log: &str) -> Child {
    Command::new(tool("sipp"))
        .arg("-sf")
        .arg(Path::new(TESTDATA).join("sipp").join(scenario))
        .args(["-i", "127.0.0.1", "-p", &port.to_string(), "-nostdin"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join(log)).unwrap())
        .current_dir(dir)
        .spawn()
        .expect("sipp (a supplier) starts")
}

/// Kamailio with DIDTron's configuration, asking `router` (DIDTron's API) for routes
/// and pushing CDRs to `didtron` (the gate), both with `key`; the supplier (a sipp UAS
/// answering every call) and a failing supplier (answering 503).
fn start_switch(dir: &Path, router: &str, didtron: &str, key: &str) -> Processes {
    let log = |name: &str| std::fs::File::create(dir.join(name)).unwrap();
    let kamailio = Command::new(tool("kamailio"))
        .args(["-f", KAMAILIO_CFG, "-DD", "-E", "-m", "64", "-M", "8"])
        .arg("-Y")
        .arg(dir)
        .arg("-P")
        .arg(dir.join("kamailio.pid"))
        .args(["-A", &format!("LISTEN_ADDR=udp:127.0.0.1:{PROXY_PORT}")])
        .args([
            "-A",
            &format!(
                "ROUTER_CON=\"router=>http://kamailio:{key}@{}/api/v1;timeout=1\"",
                router.trim_start_matches("http://")
            ),
        ])
        .args([
            "-A",
            &format!(
                "CDRSINK_CON=\"cdrsink=>http://kamailio:{key}@{}/api/v1;timeout=2\"",
                didtron.trim_start_matches("http://")
            ),
        ])
        .stdin(Stdio::null())
        .stdout(log("kamailio.out"))
        .stderr(log("kamailio.log"))
        .spawn()
        .expect("kamailio starts");
    let supplier = uas(dir, "uas_rr.xml", SUPPLIER_PORT, "supplier.log");
    let failing = uas(dir, "uas_503.xml", FAILING_PORT, "failing.log");
    let mut switch = Processes {
        kamailio,
        supplier,
        failing,
    };
    std::thread::sleep(Duration::from_millis(1_500));
    if let Ok(Some(status)) = switch.kamailio.try_wait() {
        panic!(
            "Kamailio exited {status}:\n{}",
            log_of(&dir.join("kamailio.log"))
        );
    }
    if let Ok(Some(status)) = switch.supplier.try_wait() {
        panic!(
            "the supplier (sipp) exited {status}:\n{}",
            log_of(&dir.join("supplier.log"))
        );
    }
    switch
}

/// The customer: sipp dialling every line of `calls` from 127.0.0.1, 100 calls a second,
/// `HOLD_MS` per answered call.
fn dial(dir: &Path, calls: &Path, count: usize) {
    dial_from(dir, calls, count, "127.0.0.1", &["-r", "100", "-l", "300"]);
}

/// Writes `numbers` as a sipp call file in `dir`; its path.
fn call_file(dir: &Path, name: &str, numbers: &[String]) -> PathBuf {
    let path = dir.join(name);
    let lines: Vec<String> = numbers
        .iter()
        .map(|n| format!("442079000999;{n};"))
        .collect();
    std::fs::write(&path, format!("SEQUENTIAL\n{}\n", lines.join("\n"))).unwrap();
    path
}

/// sipp dialling every line of `calls` from `source` (a loopback address) with `pace`
/// (rate and limit options).
fn dial_from(dir: &Path, calls: &Path, count: usize, source: &str, pace: &[&str]) {
    let out = Command::new(tool("sipp"))
        .arg(format!("127.0.0.1:{PROXY_PORT}"))
        .arg("-sf")
        .arg(Path::new(TESTDATA).join("sipp/uac_billing.xml"))
        .arg("-inf")
        .arg(calls)
        .args(["-i", source, "-p", &CUSTOMER_PORT.to_string()])
        .args(["-m", &count.to_string()])
        .args(pace)
        .args([
            "-d",
            &HOLD_MS.to_string(),
            "-timeout",
            "90",
            "-timeout_error",
        ])
        .arg("-nostdin")
        .current_dir(dir)
        .output()
        .expect("sipp (customer) runs");
    assert!(
        out.status.success(),
        "every call completes (sipp exit {}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .rev()
            .take(40)
            .collect::<Vec<_>>()
            .join("\n"),
        log_of(&dir.join("kamailio.log"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_calls_through_kamailio_are_rated_once_on_both_legs_at_the_deck_and_balances_move_by_the_sum(
) {
    let deck = airtel_deck();
    let calls_file = Path::new(TESTDATA).join("sipp/calls_airtel.csv");
    let callees: Vec<String> = std::fs::read_to_string(&calls_file)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(';').nth(1).unwrap().to_owned())
        .collect();
    assert_eq!(callees.len(), 300);
    assert_eq!(
        callees.iter().collect::<HashSet<_>>().len(),
        300,
        "300 different numbers"
    );
    let refused: HashSet<String> = callees.iter().step_by(20).cloned().collect();
    // Numbers for the routing decisions, chosen from the deck so no other call shares
    // their codes: one under no code, one for the margin guard, one for the failover,
    // and one under a 60/60 code for the prepaid customer.
    let no_rate = ["80812345678", "88812345678", "29912345678", "97912345678"]
        .into_iter()
        .find(|n| (1..=n.len()).all(|k| !deck.contains_key(&n[..k])))
        .expect("a number the deck does not price")
        .to_owned();
    let margin_code = unused_code(&deck, &callees, &[], |_| true);
    let failover_code = unused_code(&deck, &callees, &[&margin_code], |_| true);
    let prepaid_code = unused_code(&deck, &callees, &[&margin_code, &failover_code], |r| {
        (r.first_s, r.next_s) == (60, 60)
    });
    let [margin_number, failover_number, prepaid_number] =
        [&margin_code, &failover_code, &prepaid_code].map(|c| number_under(c));
    let prepaid_rate = longest_code(&deck, &prepaid_number).1;
    assert_eq!((prepaid_rate.first_s, prepaid_rate.next_s), (60, 60));

    for env in service::testing::backends().await {
        let server = spawn(env, &[]).await;
        let db = server.env.db.clone();
        let (files, files_dir) = service::testing::files();
        let ctx = JobContext {
            db: db.clone(),
            files,
            kv: service::kv::Kv::local(),
        };
        let world = service::testing::airtel_world(
            &ctx,
            "127.0.0.1",
            "127.0.0.1",
            &SUPPLIER_PORT.to_string(),
        )
        .await;
        let system = service::audit::Actor::system();
        // Postpaid with room for every call; every 20th number blocked on its trunk.
        service::testing::set_billing(&db, world.customer, "postpaid", "100000").await;
        service::carriers::interconnects::save_number_rules(
            &db,
            &system,
            world.ingress,
            &domain::interconnect::NumberRulesForm {
                blocked_prefixes: refused.iter().cloned().collect::<Vec<_>>().join(", "),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        // Least cost: Airtel for every destination; the margin code only to a supplier
        // that buys above the sell price; the failover code first to a cheaper supplier
        // that answers 503, then Airtel.
        let (_, _, costly) = service::testing::supplier(
            &ctx,
            "Costly",
            "COSTLY",
            "127.0.0.1",
            "15095",
            &[&format!("Costly,{margin_code},100")],
        )
        .await;
        let (_, failing_egress, failing) = service::testing::supplier(
            &ctx,
            "Failing",
            "FAILING",
            "127.0.0.1",
            &FAILING_PORT.to_string(),
            &[&format!("Failing,{failover_code},0.000001")],
        )
        .await;
        let airtel = service::testing::service_of(&db, world.egress).await;
        service::testing::routing_plan(
            &db,
            "Orbit routing",
            "lcr",
            &[
                ("", airtel),
                (&margin_code, costly),
                (&failover_code, failing),
                (&failover_code, airtel),
            ],
            service::testing::service_of(&db, world.ingress).await,
        )
        .await;
        let dir: PathBuf = std::env::temp_dir().join(format!(
            "didtron-kamailio-{}",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&dir).unwrap();

        // Half the calls while DIDTron is unreachable: Kamailio keeps their CDRs and
        // sends them once it is back; then the other half.
        let (gate, gate_addr) = Gate::start(&server.base).await;
        let lines: Vec<String> = std::fs::read_to_string(&calls_file)
            .unwrap()
            .lines()
            .skip(1)
            .map(str::to_owned)
            .collect();
        let halves: Vec<PathBuf> = lines
            .chunks(150)
            .enumerate()
            .map(|(i, part)| {
                let path = dir.join(format!("calls-{i}.csv"));
                std::fs::write(&path, format!("SEQUENTIAL\n{}\n", part.join("\n"))).unwrap();
                path
            })
            .collect();
        let (d, r, key) = (dir.clone(), server.base.clone(), world.source_key.clone());
        let switch = tokio::task::spawn_blocking(move || start_switch(&d, &r, &gate_addr, &key))
            .await
            .unwrap();
        gate.down.store(true, Ordering::SeqCst);
        let (d, c) = (dir.clone(), halves[0].clone());
        tokio::task::spawn_blocking(move || dial(&d, &c, 150))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(1_000)).await;
        let name = server.name();
        assert_eq!(
            stored_cdrs(&db, world.source, 0).await.len(),
            0,
            "{name}: nothing reached DIDTron during the outage"
        );
        gate.down.store(false, Ordering::SeqCst);
        assert_eq!(
            stored_cdrs(&db, world.source, 150).await.len(),
            150,
            "{name}: every call of the outage arrives once it is over:\n{}",
            log_of(&dir.join("kamailio.log"))
        );
        let (d, c) = (dir.clone(), halves[1].clone());
        tokio::task::spawn_blocking(move || dial(&d, &c, 150))
            .await
            .unwrap();
        let stored = stored_cdrs(&db, world.source, 300).await;
        // Anything late would show up as a duplicate or an extra row.
        tokio::time::sleep(Duration::from_millis(600)).await;
        let stored_again = stored_cdrs(&db, world.source, 0).await;
        assert_eq!(
            stored_again.len(),
            300,
            "{name}: one CDR per call:\n{}",
            log_of(&dir.join("kamailio.log"))
        );
        assert_eq!(stored.len(), stored_again.len());
        let requests = gate.passed.load(Ordering::SeqCst);
        assert!(
            requests < 100,
            "{name}: CDRs go in batches ({requests} requests for 300 calls)"
        );
        let by_callee: HashMap<&str, &cdr::Model> = stored_again
            .iter()
            .map(|c| (c.b_dialled.as_str(), c))
            .collect();
        assert_eq!(by_callee.len(), 300, "{name}: each number called once");

        let (mut revenue, mut cost) = (0i64, 0i64);
        for callee in &callees {
            let call = by_callee[callee.as_str()];
            let context = format!("{name}: {callee} ({})", call.call_id);
            if refused.contains(callee) {
                assert_eq!(
                    (call.sip_code, call.revenue_micros, call.cost_micros),
                    (403, 0, 0),
                    "{context}: refused, free"
                );
                continue;
            }
            assert_eq!(call.sip_code, 200, "{context}");
            assert_eq!(call.status, "rated", "{context}: {:?}", call.reason);
            assert!(
                // Kamailio times from the 200 it relays to the BYE: a little either side.
                (HOLD_MS as i64 - 100..HOLD_MS as i64 + 1_000).contains(&call.duration_ms),
                "{context}: talk time {} ms as Kamailio measured it",
                call.duration_ms
            );
            let (code, buy) = longest_code(&deck, callee);
            assert_eq!(call.supplier_prefix.as_deref(), Some(code), "{context}");
            assert_eq!(call.customer_prefix.as_deref(), Some(code), "{context}");
            assert_eq!(call.buy_rate_micros, Some(buy.rate_micros), "{context}");
            let sell = (buy.rate_micros * (100 + service::testing::AIRTEL_WORLD_MARKUP_PERCENT)
                + 99)
                / 100;
            assert_eq!(
                call.sell_rate_micros,
                Some(sell),
                "{context}: deck + 10 %, up"
            );
            let billed = billed_s(call.duration_ms, buy);
            assert_eq!(
                (call.supplier_billed_s, call.customer_billed_s),
                (billed, billed),
                "{context}: pulse {}/{}",
                buy.first_s,
                buy.next_s
            );
            assert_eq!(
                call.cost_micros,
                charge(buy.rate_micros, billed),
                "{context}"
            );
            assert_eq!(call.revenue_micros, charge(sell, billed), "{context}");
            assert_eq!(call.customer_carrier_id, Some(world.customer));
            assert_eq!(call.supplier_carrier_id, Some(world.supplier));
            revenue += call.revenue_micros;
            cost += call.cost_micros;
        }
        assert!(revenue > cost && cost > 0, "{name}: {revenue} / {cost}");

        let balance = |carrier| {
            let db = db.clone();
            async move {
                service::cdrs::balance(&db, carrier)
                    .await
                    .unwrap()
                    .map_or(0, |b| b.balance_micros)
            }
        };
        assert_eq!(
            balance(world.customer).await,
            -revenue,
            "{name}: the customer owes exactly the sum of its calls"
        );
        assert_eq!(
            balance(world.supplier).await,
            cost,
            "{name}: the supplier is owed exactly the sum of its legs"
        );
        assert_eq!(
            service::cdrs::ledger_sum(&db, world.customer)
                .await
                .unwrap(),
            -revenue
        );
        assert!(service::cdrs::reconcile(&db, false)
            .await
            .unwrap()
            .is_empty());

        // The routing decisions, with real calls. From an address no interconnect has:
        let unknown = call_file(&dir, "unknown.csv", std::slice::from_ref(&callees[1]));
        let d = dir.clone();
        tokio::task::spawn_blocking(move || {
            dial_from(&d, &unknown, 1, "127.0.0.3", &["-r", "10", "-l", "10"])
        })
        .await
        .unwrap();
        // A number no plan prices, the margin guard, a failover.
        let decisions = call_file(
            &dir,
            "decisions.csv",
            &[
                no_rate.clone(),
                margin_number.clone(),
                failover_number.clone(),
            ],
        );
        let d = dir.clone();
        tokio::task::spawn_blocking(move || dial(&d, &decisions, 3))
            .await
            .unwrap();
        let all = stored_cdrs(&db, world.source, 304).await;
        assert_eq!(all.len(), 304, "{name}: one CDR per call");
        let from_unknown = all
            .iter()
            .find(|c| c.source_ip == "127.0.0.3")
            .expect("the unknown source's call");
        assert_eq!(
            (from_unknown.sip_code, from_unknown.status.as_str()),
            (403, "rejected"),
            "{name}: {}",
            from_unknown.sip_reason
        );
        assert!(
            from_unknown.sip_reason.contains("unknown source"),
            "{}",
            from_unknown.sip_reason
        );
        let call_to = |number: &str| {
            all.iter()
                .find(|c| c.b_dialled == number && c.source_ip == "127.0.0.1")
                .unwrap_or_else(|| panic!("{name}: the call to {number}"))
                .clone()
        };
        let c = call_to(&no_rate);
        assert_eq!(c.sip_code, 404, "{name}: {}", c.sip_reason);
        assert!(c.sip_reason.starts_with("no rate"), "{}", c.sip_reason);
        let c = call_to(&margin_number);
        assert_eq!(c.sip_code, 503, "{name}: {}", c.sip_reason);
        assert!(
            c.sip_reason.contains("Costly") && c.sip_reason.contains("margin guard"),
            "{}",
            c.sip_reason
        );
        let c = call_to(&failover_number);
        assert_eq!(
            (c.sip_code, c.status.as_str()),
            (200, "rated"),
            "{name}: the 503 of the first route fails over to the second:\n{}",
            log_of(&dir.join("kamailio.log"))
        );
        assert_eq!(
            c.supplier_interconnect_id,
            Some(world.egress),
            "{name}: billed to Airtel"
        );
        assert_ne!(c.supplier_interconnect_id, Some(failing_egress));
        let (code, buy) = longest_code(&deck, &failover_number);
        assert_eq!(c.supplier_prefix.as_deref(), Some(code));
        assert_eq!(
            c.cost_micros,
            charge(buy.rate_micros, billed_s(c.duration_ms, buy))
        );
        assert!(
            log_of(&dir.join("kamailio.log")).contains("failover from sip:127.0.0.1:15090"),
            "{name}: Kamailio tried the failing supplier first"
        );

        // A prepaid customer with credit for three and a half minutes of a 60/60 code:
        // three calls, then 402.
        let sell =
            (prepaid_rate.rate_micros * (100 + service::testing::AIRTEL_WORLD_MARKUP_PERCENT) + 99)
                / 100;
        service::testing::set_billing(&db, world.customer, "prepaid", "0").await;
        let owed = balance(world.customer).await;
        let credit = sell * 7 / 2;
        pay(&db, world.customer, credit - owed, "prepayment").await;
        tokio::time::sleep(Duration::from_millis(600)).await;
        let prepaid = call_file(&dir, "prepaid.csv", &vec![prepaid_number.clone(); 5]);
        let d = dir.clone();
        // One call at a time, 3 s apart: each call's CDR is rated before the next INVITE.
        tokio::task::spawn_blocking(move || {
            dial_from(
                &d,
                &prepaid,
                5,
                "127.0.0.1",
                &["-r", "1", "-rp", "3000", "-l", "1"],
            )
        })
        .await
        .unwrap();
        let all = stored_cdrs(&db, world.source, 309).await;
        assert_eq!(
            codes_to(&all, &prepaid_number),
            vec![(200, sell), (200, sell), (200, sell), (402, 0), (402, 0)],
            "{name}: three calls, then no credit"
        );
        assert_eq!(
            balance(world.customer).await,
            credit - 3 * sell,
            "{name}: the prepaid balance, to the micro-unit"
        );
        assert!(service::cdrs::reconcile(&db, false)
            .await
            .unwrap()
            .is_empty());

        // Two calls at once with credit for one and a half: the first holds a minute of
        // the credit while it is in progress, so the second finds half a minute and is
        // refused 402; the balance never goes below zero.
        pay(&db, world.customer, sell, "top-up").await;
        tokio::time::sleep(Duration::from_millis(600)).await;
        let together = call_file(&dir, "together.csv", &vec![prepaid_number.clone(); 2]);
        let d = dir.clone();
        tokio::task::spawn_blocking(move || {
            dial_from(
                &d,
                &together,
                2,
                "127.0.0.1",
                &["-r", "2", "-rp", "100", "-l", "2"],
            )
        })
        .await
        .unwrap();
        let all = stored_cdrs(&db, world.source, 311).await;
        assert_eq!(
            codes_to(&all, &prepaid_number),
            vec![
                (200, sell),
                (200, sell),
                (200, sell),
                (200, sell),
                (402, 0),
                (402, 0),
                (402, 0)
            ],
            "{name}: of two calls at once, one fits the credit"
        );
        assert_eq!(
            balance(world.customer).await,
            credit + sell - 4 * sell,
            "{name}: half a minute left, never below zero"
        );

        drop(switch);
        server.stop().await;
        let _ = std::fs::remove_dir_all(&dir);
        let _ = std::fs::remove_dir_all(&files_dir);
    }
}
