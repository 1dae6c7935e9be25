//! The routing API's engine room: the compiled [`RoutingTable`] kept current, the live
//! credit and quality beside it, and the channel and CPS caps.
//!
//! - [`Router`] holds the table in force and a [`LiveState`]; [`Router::decide`] reads
//!   both without waiting (a read lock around an `Arc` clone) and then applies the caps.
//! - [`Router::refresh`] rebuilds the table when the configuration changed: a
//!   fingerprint of every table routing reads (row counts and the newest `updated_at`,
//!   one query) is compared with the last one; the new table is compiled off the lock and
//!   swapped in whole, so a lookup never waits for a rebuild. The live credit (balances
//!   and blocks, one small query) is read on every refresh. `didtron serve` refreshes
//!   every 250 ms, so every instance follows a change within a second without Redis
//!   pub/sub, and each instance reads the database itself.
//! - Supplier quality (ASR, ACD per egress interconnect over the last
//!   [`QUALITY_WINDOW_MINUTES`]) is recomputed from the rated CDRs every minute.
//! - Caps ([`capacity`]): an ingress interconnect over its CPS or channels is 503; an
//!   egress interconnect whose channels are full is skipped (excluded, with the reason).
//!   Counters live in the [`Kv`] (Redis when configured, shared by every instance).

pub mod capacity;
pub mod plans;

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, RwLock};

use chrono::{DateTime, Duration, Utc};
use domain::interconnect::{AddressSpec, Direction, NumberRules, TranslationRule, Transport};
use domain::routing::{
    Credit, Decision, Excluded, LinkQuality, LiveState, Refusal, RouteInterconnect, RouteQuery,
    RoutingFacts, RoutingTable,
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, FromQueryResult, QueryFilter,
    Statement,
};

use crate::cdrs::DeckCache;
use crate::entity::{
    carrier, carrier_balance, interconnect, interconnect_address, interconnect_service, rate_plan,
    reference_item, service,
};
use crate::kv::Kv;
use crate::{ServiceError, ServiceResult};
use domain::catalog::ReferenceKind;

/// How often `didtron serve` calls [`Router::refresh`].
pub const REFRESH_EVERY: std::time::Duration = std::time::Duration::from_millis(250);

/// Minutes of rated CDRs the quality strategy looks back over.
pub const QUALITY_WINDOW_MINUTES: i64 = 60;

/// Reads the routing configuration as it is in the database now and compiles decks
/// through `decks` (shared with CDR rating, so a plan is compiled once).
///
/// Errors: the database's; `Internal` for stored rules that do not parse.
pub async fn load_facts(db: &DatabaseConnection, decks: &DeckCache) -> ServiceResult<RoutingFacts> {
    let carriers: HashMap<i64, carrier::Model> = carrier::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    let services: HashMap<i64, service::Model> = service::Entity::find()
        .filter(service::Column::Status.eq("active"))
        .filter(service::Column::RatePlanId.is_not_null())
        .all(db)
        .await?
        .into_iter()
        .map(|s| (s.id, s))
        .collect();
    let mut links = interconnect_service::Entity::find().all(db).await?;
    // Mediation's rule: the first linked service (by id) of the direction.
    links.sort_by_key(|l| l.service_id);
    let mut addresses = interconnect_address::Entity::find().all(db).await?;
    addresses.sort_by_key(|a| a.id);
    // An interconnect's channel plan (Reference data) limits it as its own caps do.
    let channel_plans: HashMap<i64, (u32, u32)> = reference_item::Entity::find()
        .filter(reference_item::Column::Kind.eq(ReferenceKind::ChannelPlan.as_str()))
        .all(db)
        .await?
        .into_iter()
        .map(|p| {
            let of = |v: Option<i64>| v.map_or(0, limit);
            (p.id, (of(p.max_cps), of(p.max_channels)))
        })
        .collect();
    let mut facts = RoutingFacts::default();
    let mut plan_ids = std::collections::HashSet::new();
    for ic in interconnect::Entity::find().all(db).await? {
        let internal = |what: &str, e: &dyn std::fmt::Display| {
            ServiceError::Internal(format!("interconnect {} {what}: {e}", ic.id))
        };
        let direction =
            Direction::parse(&ic.direction).ok_or_else(|| internal("direction", &"unknown"))?;
        let wanted = match direction {
            Direction::Ingress => "customer",
            Direction::Egress => "supplier",
        };
        let service = links
            .iter()
            .filter(|l| l.interconnect_id == ic.id)
            .filter_map(|l| services.get(&l.service_id))
            .find(|s| s.direction == wanted);
        let translation_rules: Vec<TranslationRule> =
            serde_json::from_str(&ic.translation_rules)
                .map_err(|e| internal("translation rules", &e))?;
        let number_rules: NumberRules = if ic.number_rules.trim().is_empty() {
            NumberRules::default()
        } else {
            serde_json::from_str(&ic.number_rules).map_err(|e| internal("number rules", &e))?
        };
        let target = (direction == Direction::Egress)
            .then(|| {
                addresses
                    .iter()
                    .filter(|a| a.interconnect_id == ic.id)
                    .find_map(|a| {
                        let spec = AddressSpec::parse(&a.address).ok()?;
                        let transport = Transport::parse(&a.transport).unwrap_or(Transport::Udp);
                        Some((spec, u16::try_from(a.port).unwrap_or(5060), transport))
                    })
            })
            .flatten();
        let plan_caps = ic
            .channel_plan_id
            .and_then(|id| channel_plans.get(&id).copied());
        let active = carriers
            .get(&ic.carrier_id)
            .is_some_and(|c| c.status == "active")
            && ic.status == "active";
        if let Some(plan) = service.and_then(|s| s.rate_plan_id) {
            plan_ids.insert(plan);
        }
        facts.interconnects.push(RouteInterconnect {
            id: ic.id,
            carrier_id: ic.carrier_id,
            name: ic.name,
            direction,
            active,
            tech_prefix: ic.tech_prefix.filter(|t| !t.is_empty()),
            number_rules,
            translation_rules,
            max_call_secs: u32::try_from(ic.max_call_duration_secs).unwrap_or(7200),
            max_cps: tightest(limit(ic.max_cps), plan_caps.map_or(0, |(cps, _)| cps)),
            max_channels: tightest(
                limit(ic.max_channels),
                plan_caps.map_or(0, |(_, channels)| channels),
            ),
            service: service.and_then(|s| s.rate_plan_id.map(|p| (s.id, p))),
            routing_plan_id: service.and_then(|s| s.routing_plan_id),
            target,
        });
    }
    for a in &addresses {
        if a.direction == "ingress" {
            if let Ok(spec) = AddressSpec::parse(&a.address) {
                facts.ingress_addresses.push((spec, a.interconnect_id));
            }
        }
    }
    if !plan_ids.is_empty() {
        for plan in rate_plan::Entity::find()
            .filter(rate_plan::Column::Id.is_in(plan_ids.iter().copied()))
            .all(db)
            .await?
        {
            facts.decks.insert(plan.id, decks.deck(db, &plan).await?);
        }
    }
    facts.plans = plans::all_plan_facts(db).await?;
    facts.carrier_caps = carriers
        .values()
        .filter(|c| c.max_cps > 0 || c.max_channels > 0)
        .map(|c| (c.id, (limit(c.max_cps), limit(c.max_channels))))
        .collect();
    facts.carrier_names = carriers.into_iter().map(|(id, c)| (id, c.name)).collect();
    Ok(facts)
}

/// A stored limit (0 = none) as routing holds it; a negative one is none.
fn limit(stored: i64) -> u32 {
    u32::try_from(stored).unwrap_or(0)
}

/// The tighter of two limits where 0 means none: an interconnect's own cap and its
/// channel plan's.
fn tightest(a: u32, b: u32) -> u32 {
    match (a, b) {
        (0, b) => b,
        (a, 0) => a,
        (a, b) => a.min(b),
    }
}

/// How long after a balance's `updated_at` its row is read again: a transaction that
/// stamped it before the last read but committed after is still caught.
const CREDIT_OVERLAP_SECS: i64 = 10;
/// How often the whole credit is read again anyway (besides every configuration change).
const CREDIT_FULL_EVERY_SECS: i64 = 30;

/// The credit routing uses and what it is made of: every carrier's credit limit (read
/// with the configuration) and the running balances, read again only where they changed
/// (`updated_at`), so a refresh costs the rows that moved, not every carrier.
#[derive(Default)]
struct CreditBook {
    limits: HashMap<i64, i64>,
    credit: HashMap<i64, Credit>,
    /// Newest `updated_at` of the balances read.
    seen: Option<DateTime<Utc>>,
    /// When every balance was last read.
    full_at: Option<DateTime<Utc>>,
}

#[derive(FromQueryResult)]
struct BalanceRow {
    carrier_id: i64,
    balance_micros: i64,
    blocked: bool,
    updated_at: DateTime<Utc>,
}

async fn balances_since<C: ConnectionTrait>(
    db: &C,
    since: Option<DateTime<Utc>>,
) -> ServiceResult<Vec<BalanceRow>> {
    use sea_orm::QuerySelect;
    let mut query = carrier_balance::Entity::find()
        .select_only()
        .column(carrier_balance::Column::CarrierId)
        .column(carrier_balance::Column::BalanceMicros)
        .column(carrier_balance::Column::Blocked)
        .column(carrier_balance::Column::UpdatedAt);
    if let Some(since) = since {
        query = query.filter(carrier_balance::Column::UpdatedAt.gt(since));
    }
    Ok(query.into_model::<BalanceRow>().all(db).await?)
}

impl CreditBook {
    /// Every carrier's limit and every balance.
    async fn load<C: ConnectionTrait>(db: &C) -> ServiceResult<CreditBook> {
        use sea_orm::QuerySelect;
        let limits: HashMap<i64, i64> = carrier::Entity::find()
            .select_only()
            .column(carrier::Column::Id)
            .column(carrier::Column::CreditLimitMicros)
            .into_tuple::<(i64, i64)>()
            .all(db)
            .await?
            .into_iter()
            .collect();
        let mut book = CreditBook {
            credit: limits
                .iter()
                .map(|(id, limit)| {
                    (
                        *id,
                        Credit {
                            available_micros: *limit,
                            blocked: false,
                        },
                    )
                })
                .collect(),
            limits,
            seen: None,
            full_at: Some(Utc::now()),
        };
        let rows = balances_since(db, None).await?;
        book.apply(&rows);
        Ok(book)
    }

    /// `rows` over the credit in force; whether any carrier's credit changed.
    fn apply(&mut self, rows: &[BalanceRow]) -> bool {
        let mut changed = false;
        for row in rows {
            self.seen = self.seen.max(Some(row.updated_at));
            // A balance of a carrier the configuration does not know (deleted, or newer
            // than the configuration read) waits for the next configuration read.
            let Some(limit) = self.limits.get(&row.carrier_id) else {
                continue;
            };
            let credit = Credit {
                available_micros: row.balance_micros.saturating_add(*limit),
                blocked: row.blocked,
            };
            if self.credit.insert(row.carrier_id, credit) != Some(credit) {
                changed = true;
            }
        }
        changed
    }

    /// The balances that changed since the last read (with [`CREDIT_OVERLAP_SECS`]),
    /// applied; whether any carrier's credit changed.
    async fn catch_up<C: ConnectionTrait>(&mut self, db: &C) -> ServiceResult<bool> {
        let since = self
            .seen
            .map(|t| t - Duration::seconds(CREDIT_OVERLAP_SECS));
        let rows = balances_since(db, since).await?;
        Ok(self.apply(&rows))
    }
}

#[derive(FromQueryResult)]
struct QualityRow {
    supplier_interconnect_id: i64,
    attempts: i64,
    answered: i64,
    talk_ms: i64,
}

/// ASR and ACD of every egress interconnect over the `minutes` before `now`, from the
/// stored CDRs (attempts: every CDR routed to it; answered: those with an answer time).
pub async fn load_quality<C: ConnectionTrait>(
    db: &C,
    now: DateTime<Utc>,
    minutes: i64,
) -> ServiceResult<HashMap<i64, LinkQuality>> {
    let backend = db.get_database_backend();
    let since = now - Duration::minutes(minutes);
    let sql = "SELECT supplier_interconnect_id, \
               CAST(COUNT(*) AS BIGINT) AS attempts, \
               CAST(SUM(CASE WHEN answer_at IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT) AS answered, \
               CAST(COALESCE(SUM(CASE WHEN answer_at IS NOT NULL THEN duration_ms ELSE 0 END), 0) AS BIGINT) AS talk_ms \
               FROM cdrs WHERE supplier_interconnect_id IS NOT NULL AND setup_at >= $1 \
               GROUP BY supplier_interconnect_id";
    let sql = if backend == sea_orm::DatabaseBackend::Sqlite {
        sql.replace("$1", "?")
    } else {
        sql.to_owned()
    };
    let rows =
        QualityRow::find_by_statement(Statement::from_sql_and_values(backend, sql, [since.into()]))
            .all(db)
            .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let answered = u32::try_from(r.answered).unwrap_or(u32::MAX);
            (
                r.supplier_interconnect_id,
                LinkQuality {
                    attempts: u32::try_from(r.attempts).unwrap_or(u32::MAX),
                    answered,
                    acd_s: if answered == 0 {
                        0
                    } else {
                        u32::try_from(r.talk_ms / 1000 / i64::from(answered)).unwrap_or(0)
                    },
                },
            )
        })
        .collect())
}

#[derive(FromQueryResult, PartialEq, Eq, Clone, Debug)]
struct Fingerprint {
    state: String,
}

/// One string that changes whenever anything routing reads changes: the `routing`
/// change counter, raised by the database's triggers on every write to those tables
/// (migration `m20261206_000020_change_counters`) and made visible with the write's
/// commit. One row read, whatever the size of the configuration.
pub(crate) async fn fingerprint(db: &DatabaseConnection) -> ServiceResult<String> {
    let backend = db.get_database_backend();
    Ok(Fingerprint::find_by_statement(Statement::from_string(
        backend,
        "SELECT CAST(version AS TEXT) AS state FROM change_counters WHERE name = 'routing'",
    ))
    .one(db)
    .await?
    .map(|f| f.state)
    .unwrap_or_default())
}

struct Current {
    table: Arc<RoutingTable>,
    live: Arc<LiveState>,
    fingerprint: String,
    built_at: DateTime<Utc>,
    quality_at: Option<DateTime<Utc>>,
}

/// A routed call's customer: `(carrier id, available credit in micro-units, when the
/// router read that credit)`.
type CustomerCredit = (i64, i64, DateTime<Utc>);

/// What a [`Router::decide`] answers: the decision, with the caps applied.
pub type Answer = Decision;

/// The routing table in force and what moves with traffic (see the module
/// documentation). Cheap to clone (shared).
#[derive(Clone)]
pub struct Router {
    current: Arc<RwLock<Current>>,
    /// When the credit in force was read (UTC ms): reservations given back after it
    /// still count ([`Kv::reserve`]'s `as_of`).
    credit_read_at: Arc<AtomicI64>,
    credit: Arc<tokio::sync::Mutex<CreditBook>>,
    kv: Kv,
    decks: DeckCache,
}

impl std::fmt::Debug for Router {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Router").finish_non_exhaustive()
    }
}

/// Sizes and age of the table in force, for status pages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouterStatus {
    pub built_at: DateTime<Utc>,
    pub rate_rows: usize,
    pub routing_entries: usize,
}

impl Router {
    /// Loads and compiles the table now.
    ///
    /// Errors: as [`load_facts`]; `Internal` when the table does not compile.
    pub async fn load(db: &DatabaseConnection, kv: Kv, decks: DeckCache) -> ServiceResult<Router> {
        let router = Router {
            current: Arc::new(RwLock::new(Current {
                table: Arc::new(
                    RoutingTable::compile(RoutingFacts::default())
                        .map_err(ServiceError::Internal)?,
                ),
                live: Arc::new(LiveState::default()),
                // Never a counter's value: the first refresh builds.
                fingerprint: "none".to_owned(),
                built_at: Utc::now(),
                quality_at: None,
            })),
            credit: Arc::new(tokio::sync::Mutex::new(CreditBook::default())),
            credit_read_at: Arc::new(AtomicI64::new(0)),
            kv,
            decks,
        };
        router.refresh(db).await?;
        Ok(router)
    }

    /// Rebuilds the table if the configuration changed since the last build, and brings
    /// the live credit up to date (every carrier's on a configuration change or every
    /// 30 s, else only the balances that moved) and, once a minute, the suppliers'
    /// quality. Returns whether the table was rebuilt.
    ///
    /// Errors: the database's; `Internal` when the new table does not compile (the old
    /// one stays in force).
    pub async fn refresh(&self, db: &DatabaseConnection) -> ServiceResult<bool> {
        let now = Utc::now();
        let fingerprint = fingerprint(db).await?;
        // One refresh at a time owns the credit book (no copy of it per tick).
        let mut book = self.credit.lock().await;
        let (stale, quality_due, old_live) = {
            let current = self.current.read().expect("router lock");
            (
                current.fingerprint != fingerprint,
                current
                    .quality_at
                    .is_none_or(|t| now - t >= Duration::seconds(60)),
                current.live.clone(),
            )
        };
        let table = if stale {
            let facts = load_facts(db, &self.decks).await?;
            let table = tokio::task::spawn_blocking(move || RoutingTable::compile(facts))
                .await
                .map_err(|e| ServiceError::Internal(format!("routing compile task: {e}")))?
                .map_err(ServiceError::Internal)?;
            Some(Arc::new(table))
        } else {
            None
        };
        let credit_read_at = Utc::now();
        let credit_changed = if stale
            || book
                .full_at
                .is_none_or(|t| now - t >= Duration::seconds(CREDIT_FULL_EVERY_SECS))
        {
            *book = CreditBook::load(db).await?;
            true
        } else {
            book.catch_up(db).await?
        };
        let quality = if quality_due {
            load_quality(db, now, QUALITY_WINDOW_MINUTES).await?
        } else {
            old_live.quality.clone()
        };
        let live = (credit_changed || quality_due).then(|| {
            Arc::new(LiveState {
                credit: book.credit.clone(),
                quality,
            })
        });
        // The old table and state are dropped after the lock is released: freeing a
        // large table takes milliseconds, and no lookup may wait for it.
        let (_old_table, _old_live) = {
            let mut current = self.current.write().expect("router lock");
            let old_table = table.map(|table| {
                current.fingerprint = fingerprint;
                current.built_at = now;
                std::mem::replace(&mut current.table, table)
            });
            if quality_due {
                current.quality_at = Some(now);
            }
            (
                old_table,
                live.map(|live| std::mem::replace(&mut current.live, live)),
            )
        };
        // After the swap: a decision reads this first, then the credit, so the time it
        // uses is never later than its credit's.
        self.credit_read_at
            .store(credit_read_at.timestamp_millis(), Ordering::SeqCst);
        Ok(stale)
    }

    /// The table and live state in force (a snapshot: later swaps do not change it).
    pub fn snapshot(&self) -> (Arc<RoutingTable>, Arc<LiveState>) {
        let current = self.current.read().expect("router lock");
        (current.table.clone(), current.live.clone())
    }

    /// Sizes and age of the table in force.
    pub fn status(&self) -> RouterStatus {
        let current = self.current.read().expect("router lock");
        let (rate_rows, routing_entries) = current.table.size();
        RouterStatus {
            built_at: current.built_at,
            rate_rows,
            routing_entries,
        }
    }

    /// Decides one call and applies the caps (step 6): the ingress interconnect's CPS and
    /// channels (503 over either), then each route's egress channels (a full supplier is
    /// excluded; none left is 503), then reserves the credit the call may spend, the
    /// customer's other calls in progress taken into account (shortened to what is left,
    /// or 402). A routed call holds its channels and credit under its call id until
    /// [`capacity::release`] (its CDR) or the longest call's time passes.
    ///
    /// A cap the store cannot check (Redis down) does not refuse calls: the failure is
    /// logged and the call is decided without it (each call then sees the whole credit).
    pub async fn decide(&self, query: &RouteQuery<'_>) -> Answer {
        let (mut decision, table, credit) = self.decide_on_snapshot(query);
        if decision.refusal.is_some() {
            return decision;
        }
        let credit = credit.map(|(_, available, as_of)| (available, as_of));
        match capacity::apply(&self.kv, &table, credit, query.call_id, &mut decision).await {
            Ok(()) => {}
            Err(e) => tracing::warn!(error = %e, "routing caps unavailable; deciding without them"),
        }
        decision
    }

    /// The table's decision on the snapshot in force, the table, and for a routed call
    /// its customer's `(carrier id, available credit, when the credit was read)`. The
    /// time is read before the snapshot, so it is never later than the credit's.
    fn decide_on_snapshot(
        &self,
        query: &RouteQuery<'_>,
    ) -> (Decision, Arc<RoutingTable>, Option<CustomerCredit>) {
        let read_at = self.credit_read_at.load(Ordering::SeqCst);
        let (table, live) = self.snapshot();
        let decision = table.decide(query, &live);
        let credit = decision
            .customer_carrier
            .filter(|_| decision.refusal.is_none())
            .and_then(|c| Some((c, live.credit.get(&c)?.available_micros)))
            .zip(DateTime::from_timestamp_millis(read_at))
            .map(|((carrier, available), at)| (carrier, available, at));
        (decision, table, credit)
    }
}

impl Router {
    /// Decides a call as [`Router::decide`] would, without placing it: no channel is
    /// held, no call counted and no credit reserved, but the credit the customer's calls
    /// in progress hold is taken into account (read only). Returns the table it used.
    ///
    /// A store that cannot be read (Redis down) is logged and left out.
    pub async fn simulate(&self, query: &RouteQuery<'_>) -> (Decision, Arc<RoutingTable>) {
        let (mut decision, table, credit) = self.decide_on_snapshot(query);
        if let Some((carrier, available, as_of)) = credit {
            match self
                .kv
                .reserved(&capacity::credit_key(carrier), as_of)
                .await
            {
                Ok(r) if r.amount > 0 => {
                    decision.fit_credit(available, (r.amount, r.holders));
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "reserved credit unavailable"),
            }
        }
        (decision, table)
    }
}

/// Refuses `decision` at the capacity step with `code` and `reason`.
pub(crate) fn refuse_capacity(decision: &mut Decision, code: u16, reason: String) {
    decision.routes.clear();
    decision.steps.push(domain::routing::Step {
        step: "capacity".into(),
        passed: false,
        detail: reason.clone(),
    });
    decision.refusal = Some(Refusal { code, reason });
}

/// Moves route `index` of `decision` to its excluded candidates, with `reason`.
pub(crate) fn exclude(decision: &mut Decision, index: usize, name: String, reason: String) {
    let route = decision.routes.remove(index);
    decision.excluded.push(Excluded {
        supplier_interconnect: route.supplier_interconnect,
        name,
        reason: domain::routing::Exclusion::Said(reason),
    });
}
