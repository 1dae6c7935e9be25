//! Real calls through a real switch, end to end, on SQLite and on PostgreSQL + Redis:
//! sipp dials the 300 real numbers of `testdata/sipp/calls_airtel.csv` (codes of the
//! Airtel deck) through Kamailio running DIDTron's own configuration
//! (`deploy/kamailio/kamailio.cfg`); a stub router (this test, until the routing API of
//! issue 7) sends them to a sipp supplier, refusing every 20th; Kamailio pushes the
//! `acc_json` CDRs, batched, to `POST /api/v1/cdrs` with the switch's API key. The first
//! 150 calls are made while DIDTron is unreachable (a gate answers 503): their CDRs wait
//! in Kamailio and arrive once it is back.
//!
//! Checked against the deck itself (read here with calamine, longest code wins): every
//! call is stored once (none lost in the outage, none twice); each answered call is
//! priced on the supplier leg at the deck's rate and pulse and on the customer leg at
//! the deck + 10 %; refused calls cost nothing; and both carriers' balances moved by
//! exactly the sums.

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
use axum::{Json, Router};
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
}

impl Drop for Processes {
    fn drop(&mut self) {
        let _ = self.supplier.kill();
        let _ = self.supplier.wait();
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

/// A stub router on a random port: every 20th number of the file is refused with 403,
/// the rest go to the supplier.
async fn stub_router(refused: Arc<HashSet<String>>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let app = Router::new().route(
        "/route",
        post(move |Json(req): Json<serde_json::Value>| {
            let refused = refused.clone();
            async move {
                let callee = req["callee"].as_str().unwrap_or_default();
                Json(if refused.contains(callee) {
                    serde_json::json!({"action": "reject", "code": 403, "reason": "Refused by test"})
                } else {
                    serde_json::json!({
                        "action": "route",
                        "routes": [format!("sip:127.0.0.1:{SUPPLIER_PORT}")]
                    })
                })
            }
        }),
    );
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
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

/// Kamailio with DIDTron's configuration, routing through `router` and pushing CDRs to
/// `didtron` with `key`; and the supplier (a sipp UAS answering every call).
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
            &format!("ROUTER_CON=\"router=>http://{router};timeout=1\""),
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
    let supplier = Command::new(tool("sipp"))
        .arg("-sf")
        .arg(Path::new(TESTDATA).join("sipp/uas_rr.xml"))
        .args([
            "-i",
            "127.0.0.1",
            "-p",
            &SUPPLIER_PORT.to_string(),
            "-nostdin",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log("supplier.log"))
        .current_dir(dir)
        .spawn()
        .expect("sipp (supplier) starts");
    let mut switch = Processes { kamailio, supplier };
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

/// The customer: sipp dialling every line of `calls`, `HOLD_MS` per answered call.
fn dial(dir: &Path, calls: &Path, count: usize) {
    let out = Command::new(tool("sipp"))
        .arg(format!("127.0.0.1:{PROXY_PORT}"))
        .arg("-sf")
        .arg(Path::new(TESTDATA).join("sipp/uac_billing.xml"))
        .arg("-inf")
        .arg(calls)
        .args(["-i", "127.0.0.1", "-p", &CUSTOMER_PORT.to_string()])
        .args(["-m", &count.to_string(), "-r", "100", "-l", "300"])
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
    let refused: Arc<HashSet<String>> = Arc::new(callees.iter().step_by(20).cloned().collect());
    let router = stub_router(refused.clone()).await;

    for env in service::testing::backends().await {
        let server = spawn(env, &[]).await;
        let db = server.env.db.clone();
        let (files, files_dir) = service::testing::files();
        let ctx = JobContext {
            db: db.clone(),
            files,
        };
        let world = service::testing::airtel_world(
            &ctx,
            "127.0.0.1",
            "127.0.0.1",
            &SUPPLIER_PORT.to_string(),
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
        let (d, r, key) = (dir.clone(), router.clone(), world.source_key.clone());
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
        drop(switch);
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

        server.stop().await;
        let _ = std::fs::remove_dir_all(&dir);
        let _ = std::fs::remove_dir_all(&files_dir);
    }
}
