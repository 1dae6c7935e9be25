//! The CDR list and detail, the carrier balances and the API keys as the admin pages
//! show them.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use domain::cdr::views::{
    ApiKeyRow, BalanceRow, CdrDetail, CdrQuery, CdrRow, NettedPosition, ReasonCount, Spend24h,
    SpendHour, SpendRow, TotalsView,
};
use domain::listing::{page_size, Page};
use domain::FieldErrors;
use sea_orm::sea_query::Condition;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Statement,
};

use crate::entity::{api_key, carrier, carrier_balance, cdr, interconnect};
use crate::rate_plans::rate_text;
use crate::{ServiceError, ServiceResult};

pub(crate) fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn day(text: &str, field: &str, errors: &mut FieldErrors) -> Option<NaiveDate> {
    let t = text.trim();
    if t.is_empty() {
        return None;
    }
    match NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        Ok(d) => Some(d),
        Err(_) => {
            errors.add(field, "Enter a date as YYYY-MM-DD.");
            None
        }
    }
}

pub(crate) async fn carrier_names(
    db: &DatabaseConnection,
    ids: Vec<i64>,
) -> ServiceResult<HashMap<i64, String>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(carrier::Entity::find()
        .filter(carrier::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.id, c.name))
        .collect())
}

fn row_of(c: &cdr::Model, names: &HashMap<i64, String>) -> CdrRow {
    let name = |id: Option<i64>| id.and_then(|i| names.get(&i).cloned());
    let billed = c.status == "rated";
    CdrRow {
        id: c.id,
        setup_at: rfc3339(c.setup_at),
        customer: name(c.customer_carrier_id),
        supplier: name(c.supplier_carrier_id),
        a_number: c.a_number.clone(),
        b_number: c.b_number.clone().unwrap_or_else(|| c.b_dialled.clone()),
        duration: format!("{}.{:03}", c.duration_ms / 1000, c.duration_ms % 1000),
        disposition: c.disposition.clone(),
        sip_code: c.sip_code,
        status: c.status.clone(),
        reason: c.reason.clone(),
        revenue: if billed {
            rate_text(c.revenue_micros)
        } else {
            "—".into()
        },
        cost: if billed {
            rate_text(c.cost_micros)
        } else {
            "—".into()
        },
        margin: if billed {
            rate_text(c.revenue_micros - c.cost_micros)
        } else {
            "—".into()
        },
        currency: c.currency.clone().unwrap_or_default(),
    }
}

/// The CDRs `q` selects (every filter but the page size), newest first.
///
/// Errors: `Validation` on `from`, `to`, `carrier_id`, `interconnect_id` or `after` when
/// unreadable.
pub(crate) fn filtered(q: &CdrQuery) -> ServiceResult<sea_orm::Select<cdr::Entity>> {
    let mut errors = FieldErrors::new();
    let from = day(&q.from, "from", &mut errors);
    let to = day(&q.to, "to", &mut errors);
    let carrier_id = match q.carrier_id.trim() {
        "" => None,
        t => match t.parse::<i64>() {
            Ok(id) => Some(id),
            Err(_) => {
                errors.add("carrier_id", "Choose a carrier from the list.");
                None
            }
        },
    };
    let interconnect_id = match q.interconnect_id.trim() {
        "" => None,
        t => match t.parse::<i64>() {
            Ok(id) => Some(id),
            Err(_) => {
                errors.add("interconnect_id", "Choose an interconnect from the list.");
                None
            }
        },
    };
    let after = match q.after.trim() {
        "" => None,
        t => match t.parse::<i64>() {
            Ok(id) => Some(id),
            Err(_) => {
                errors.add("after", "The page cursor is not valid; reload the list.");
                None
            }
        },
    };
    let number: String = q.number.chars().filter(char::is_ascii_digit).collect();
    if !errors.is_empty() {
        return Err(errors.into());
    }
    let mut query = cdr::Entity::find().order_by_desc(cdr::Column::Id);
    if let Some(after) = after {
        query = query.filter(cdr::Column::Id.lt(after));
    }
    if !q.status.trim().is_empty() {
        query = query.filter(cdr::Column::Status.eq(q.status.trim()));
    }
    if !q.disposition.trim().is_empty() {
        query = query.filter(cdr::Column::Disposition.eq(q.disposition.trim()));
    }
    if !q.reason_code.trim().is_empty() {
        query = query.filter(cdr::Column::ReasonCode.eq(q.reason_code.trim()));
    }
    if let Some(id) = carrier_id {
        query = query.filter(
            Condition::any()
                .add(cdr::Column::CustomerCarrierId.eq(id))
                .add(cdr::Column::SupplierCarrierId.eq(id)),
        );
    }
    if let Some(id) = interconnect_id {
        query = query.filter(
            Condition::any()
                .add(cdr::Column::CustomerInterconnectId.eq(id))
                .add(cdr::Column::SupplierInterconnectId.eq(id)),
        );
    }
    if !number.is_empty() {
        query = query.filter(
            Condition::any()
                .add(cdr::Column::BNumber.starts_with(&number))
                .add(cdr::Column::BDialled.starts_with(&number)),
        );
    }
    if let Some(from) = from {
        query = query.filter(
            cdr::Column::SetupAt.gte(from.and_hms_opt(0, 0, 0).expect("midnight").and_utc()),
        );
    }
    if let Some(to) = to {
        let next = to
            .succ_opt()
            .unwrap_or(to)
            .and_hms_opt(0, 0, 0)
            .expect("midnight")
            .and_utc();
        query = query.filter(cdr::Column::SetupAt.lt(next));
    }
    Ok(query)
}

/// A page of CDRs, newest first (keyset on the id; `after` is the last id shown).
///
/// Errors: `Validation` on `from`, `to`, `carrier_id`, `interconnect_id` or `after` when
/// unreadable.
pub async fn cdr_page(db: &DatabaseConnection, q: &CdrQuery) -> ServiceResult<Page<CdrRow>> {
    let query = filtered(q)?;
    let size = page_size(q.limit) as u64;
    let mut rows = query.limit(size + 1).all(db).await?;
    let more = rows.len() as u64 > size;
    rows.truncate(size as usize);
    let ids: Vec<i64> = rows
        .iter()
        .flat_map(|r| [r.customer_carrier_id, r.supplier_carrier_id])
        .flatten()
        .collect();
    let names = carrier_names(db, ids).await?;
    Ok(Page {
        next: more
            .then(|| rows.last().map(|r| r.id.to_string()))
            .flatten(),
        rows: rows.iter().map(|r| row_of(r, &names)).collect(),
    })
}

/// The rejected and unrated CDRs counted by status and reason, most first, each with
/// its latest reason in words.
pub async fn problem_reasons(db: &DatabaseConnection) -> ServiceResult<Vec<ReasonCount>> {
    let groups: Vec<(String, Option<String>, i64, i64)> = cdr::Entity::find()
        .select_only()
        .column(cdr::Column::Status)
        .column(cdr::Column::ReasonCode)
        .expr_as(sea_orm::sea_query::Expr::cust("COUNT(*)"), "n")
        .expr_as(sea_orm::sea_query::Expr::cust("MAX(id)"), "latest")
        .filter(cdr::Column::Status.is_in(["rejected", "unrated"]))
        .group_by(cdr::Column::Status)
        .group_by(cdr::Column::ReasonCode)
        .into_tuple()
        .all(db)
        .await?;
    let latest: HashMap<i64, String> = cdr::Entity::find()
        .filter(cdr::Column::Id.is_in(groups.iter().map(|g| g.3)))
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.id, c.reason.unwrap_or_default()))
        .collect();
    let mut rows: Vec<ReasonCount> = groups
        .into_iter()
        .map(|(status, code, count, id)| ReasonCount {
            status,
            reason_code: code.unwrap_or_default(),
            count,
            example: latest.get(&id).cloned().unwrap_or_default(),
        })
        .collect();
    rows.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then(a.reason_code.cmp(&b.reason_code))
    });
    Ok(rows)
}

/// One CDR with its source, interconnects, both legs' explanations and the record as
/// received.
///
/// Errors: `NotFound`.
pub async fn cdr_detail(db: &DatabaseConnection, id: i64) -> ServiceResult<CdrDetail> {
    let c = cdr::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound("CDR"))?;
    let ids: Vec<i64> = [c.customer_carrier_id, c.supplier_carrier_id]
        .into_iter()
        .flatten()
        .collect();
    let names = carrier_names(db, ids).await?;
    let source = api_key::Entity::find_by_id(c.source_id)
        .one(db)
        .await?
        .map(|k| k.name)
        .unwrap_or_default();
    let interconnect_name = |id: Option<i64>| async move {
        match id {
            None => Ok::<_, ServiceError>(None),
            Some(id) => Ok(interconnect::Entity::find_by_id(id)
                .one(db)
                .await?
                .map(|i| i.name)),
        }
    };
    let raw = serde_json::from_str::<serde_json::Value>(&c.raw)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| c.raw.clone());
    Ok(CdrDetail {
        row: row_of(&c, &names),
        call_id: c.call_id.clone(),
        leg: c.leg.clone(),
        source,
        source_ip: c.source_ip.clone(),
        b_dialled: c.b_dialled.clone(),
        answer_at: c.answer_at.map(rfc3339),
        end_at: rfc3339(c.end_at),
        pdd_ms: c.pdd_ms,
        route: c.route.clone(),
        customer_interconnect: interconnect_name(c.customer_interconnect_id).await?,
        supplier_interconnect: interconnect_name(c.supplier_interconnect_id).await?,
        explanation: serde_json::from_str(&c.explain).unwrap_or_default(),
        raw,
        received_at: rfc3339(c.received_at),
        unreadable: c.reason_code.as_deref() == Some("unreadable"),
    })
}

/// Every carrier's account: balance (from the running balance), credit limit,
/// available credit (balance + limit), billing mode, status, last CDR; lowest
/// available credit first (who needs attention).
pub async fn balances(db: &DatabaseConnection) -> ServiceResult<Vec<BalanceRow>> {
    let held: HashMap<i64, carrier_balance::Model> = carrier_balance::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|b| (b.carrier_id, b))
        .collect();
    // Call postings per carrier and side, for carriers that are both.
    let sides: Vec<(i64, String, i64)> = crate::entity::ledger_entry::Entity::find()
        .select_only()
        .column(crate::entity::ledger_entry::Column::CarrierId)
        .column(crate::entity::ledger_entry::Column::Kind)
        .expr_as(
            sea_orm::sea_query::Expr::cust("CAST(COALESCE(SUM(amount_micros), 0) AS BIGINT)"),
            "total",
        )
        .filter(crate::entity::ledger_entry::Column::Kind.is_in(["revenue", "cost"]))
        .group_by(crate::entity::ledger_entry::Column::CarrierId)
        .group_by(crate::entity::ledger_entry::Column::Kind)
        .into_tuple()
        .all(db)
        .await?;
    let mut by_side: HashMap<i64, (i64, i64)> = HashMap::new();
    for (carrier_id, kind, total) in sides {
        let entry = by_side.entry(carrier_id).or_default();
        if kind == "revenue" {
            entry.0 += total;
        } else {
            entry.1 += total;
        }
    }
    let mut rows: Vec<BalanceRow> = carrier::Entity::find()
        .order_by_asc(carrier::Column::Name)
        .all(db)
        .await?
        .into_iter()
        .map(|c| {
            let b = held.get(&c.id);
            let balance = b.map_or(0, |b| b.balance_micros);
            let available = balance.saturating_add(c.credit_limit_micros);
            BalanceRow {
                carrier_id: c.id,
                name: c.name,
                account_code: c.account_code,
                billing_mode: c.billing_mode,
                currency: c.currency,
                balance: rate_text(balance),
                credit_limit: rate_text(c.credit_limit_micros),
                available: rate_text(available),
                available_micros: available,
                status: c.status,
                blocked: b.is_some_and(|b| b.blocked),
                last_cdr_at: b.and_then(|b| b.last_cdr_at).map(rfc3339),
                netted: (c.carrier_type == "both").then(|| {
                    let (customer, supplier) = by_side.get(&c.id).copied().unwrap_or_default();
                    NettedPosition {
                        as_customer: rate_text(customer),
                        as_supplier: rate_text(supplier),
                        calls_net: rate_text(customer + supplier),
                    }
                }),
                held_by_calls: None,
            }
        })
        .collect();
    rows.sort_by_key(|r| r.available_micros);
    Ok(rows)
}

/// Every API key, newest first.
pub async fn api_key_rows(db: &DatabaseConnection) -> ServiceResult<Vec<ApiKeyRow>> {
    Ok(super::api_keys::list(db)
        .await?
        .into_iter()
        .map(|k| ApiKeyRow {
            id: k.id,
            name: k.name,
            prefix: k.key_prefix,
            created_by: k.created_by,
            created_at: rfc3339(k.created_at),
            last_used_at: k.last_used_at.map(rfc3339),
            revoked_at: k.revoked_at.map(rfc3339),
        })
        .collect())
}

fn placeholder(backend: DbBackend) -> &'static str {
    match backend {
        DbBackend::Postgres => "$1",
        _ => "?",
    }
}

fn sum(col: &str) -> String {
    format!("CAST(COALESCE(SUM({col}), 0) AS BIGINT)")
}

/// One group's sums over a time window (see [`grouped_totals`]).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Totals {
    key: String,
    currency: String,
    calls: i64,
    answered: i64,
    duration_ms: i64,
    revenue: i64,
    cost: i64,
}

/// Sums of the mediated CDRs set up in `[since, until)`, grouped by the SQL expression
/// `key` (cast to text) and currency: attempts, answered calls, talk time, revenue and
/// cost. One grouped query; `key` is ours, never user input.
async fn grouped_totals(
    db: &DatabaseConnection,
    key: &str,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
) -> ServiceResult<Vec<Totals>> {
    let backend = db.get_database_backend();
    let (p1, p2) = match backend {
        DbBackend::Postgres => ("$1", "$2"),
        _ => ("?", "?"),
    };
    let sql = format!(
        "SELECT CAST({key} AS TEXT) AS k, COALESCE(currency, '') AS currency, \
         COUNT(*) AS calls, {answered} AS answered, {duration} AS duration_ms, \
         {revenue} AS revenue, {cost} AS cost \
         FROM cdrs WHERE setup_at >= {p1} AND setup_at < {p2} AND {key} IS NOT NULL \
         GROUP BY {key}, currency",
        answered = sum("CASE WHEN answer_at IS NULL THEN 0 ELSE 1 END"),
        duration = sum("duration_ms"),
        revenue = sum("revenue_micros"),
        cost = sum("cost_micros"),
    );
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [since.into(), until.into()],
        ))
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let get = |c: &str| r.try_get::<i64>("", c);
        out.push(Totals {
            key: r.try_get("", "k")?,
            currency: r.try_get("", "currency")?,
            calls: get("calls")?,
            answered: get("answered")?,
            duration_ms: get("duration_ms")?,
            revenue: get("revenue")?,
            cost: get("cost")?,
        });
    }
    Ok(out)
}

/// `part ÷ whole` as a percentage with one decimal, rounded half up; `—` for 0 ÷ 0.
fn percent(part: i64, whole: i64) -> String {
    if whole <= 0 {
        return "—".into();
    }
    let permille = (part * 2000 / whole + 1) / 2;
    format!("{}.{}", permille / 10, permille % 10)
}

/// Milliseconds as minutes with one decimal (truncated).
fn minutes(ms: i64) -> String {
    format!("{}.{}", ms / 60_000, (ms % 60_000) / 6_000)
}

/// Rows of `totals`, named by `name`, largest `by` first (then by name).
fn spend_rows(
    totals: Vec<Totals>,
    name: impl Fn(&str) -> (i64, String),
    by_cost: bool,
) -> Vec<SpendRow> {
    let mut rows: Vec<(i64, SpendRow)> = totals
        .into_iter()
        .map(|t| {
            let (carrier_id, label) = name(&t.key);
            (
                if by_cost { t.cost } else { t.revenue },
                SpendRow {
                    carrier_id,
                    name: label,
                    currency: t.currency,
                    calls: t.calls,
                    answered: t.answered,
                    minutes: minutes(t.duration_ms),
                    revenue: rate_text(t.revenue),
                    cost: rate_text(t.cost),
                    margin: rate_text(t.revenue - t.cost),
                    asr: percent(t.answered, t.calls),
                    acd: if t.answered > 0 {
                        format!("{}", (t.duration_ms / t.answered + 500) / 1000)
                    } else {
                        "—".into()
                    },
                },
            )
        })
        .collect();
    rows.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.name.cmp(&b.1.name)));
    rows.into_iter().map(|(_, r)| r).collect()
}

async fn carrier_rows(
    db: &DatabaseConnection,
    totals: Vec<Totals>,
    by_cost: bool,
) -> ServiceResult<Vec<SpendRow>> {
    let ids: Vec<i64> = totals.iter().filter_map(|t| t.key.parse().ok()).collect();
    let names = carrier_names(db, ids).await?;
    Ok(spend_rows(
        totals,
        |key| {
            let id = key.parse().unwrap_or(0);
            (
                id,
                names
                    .get(&id)
                    .cloned()
                    .unwrap_or_else(|| format!("carrier {id}")),
            )
        },
        by_cost,
    ))
}

/// The 24 hours up to `now`: traffic by customer and by supplier (highest revenue or
/// cost first) and hourly totals per currency. Read from the CDRs with grouped
/// queries; mediated CDRs only.
pub async fn spend_24h(db: &DatabaseConnection, now: DateTime<Utc>) -> ServiceResult<Spend24h> {
    let backend = db.get_database_backend();
    let since = now - chrono::Duration::hours(24);
    let p = placeholder(backend);
    let until = now + chrono::Duration::seconds(1);
    let customers = carrier_rows(
        db,
        grouped_totals(db, "customer_carrier_id", since, until).await?,
        false,
    )
    .await?;
    let suppliers = carrier_rows(
        db,
        grouped_totals(db, "supplier_carrier_id", since, until).await?,
        true,
    )
    .await?;

    let bucket = match backend {
        DbBackend::Postgres => {
            "to_char(date_trunc('hour', setup_at AT TIME ZONE 'UTC'), 'YYYY-MM-DD\"T\"HH24:00')"
        }
        _ => "strftime('%Y-%m-%dT%H:00', setup_at)",
    };
    let sql = format!(
        "SELECT {bucket} AS hour, COALESCE(currency, '') AS currency, COUNT(*) AS calls, \
         {revenue} AS revenue, {cost} AS cost FROM cdrs \
         WHERE setup_at >= {p} AND customer_carrier_id IS NOT NULL GROUP BY 1, 2",
        revenue = sum("revenue_micros"),
        cost = sum("cost_micros"),
    );
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(backend, sql, [since.into()]))
        .await?;
    let mut by_currency: std::collections::BTreeMap<String, HashMap<String, (i64, i64, i64)>> =
        Default::default();
    for r in rows {
        let currency: String = r.try_get("", "currency")?;
        by_currency.entry(currency).or_default().insert(
            r.try_get("", "hour")?,
            (
                r.try_get("", "calls")?,
                r.try_get("", "revenue")?,
                r.try_get("", "cost")?,
            ),
        );
    }
    // The hours the window touches: the one it starts in to the current one (25).
    let hours = by_currency
        .into_iter()
        .filter(|(currency, _)| !currency.is_empty())
        .map(|(currency, held)| {
            let points = (0..=24)
                .map(|i| {
                    let t = since + chrono::Duration::hours(i);
                    let hour = t.format("%Y-%m-%dT%H:00").to_string();
                    let (calls, revenue_micros, cost_micros) =
                        held.get(&hour).copied().unwrap_or_default();
                    SpendHour {
                        hour,
                        calls,
                        revenue_micros,
                        cost_micros,
                    }
                })
                .collect();
            (currency, points)
        })
        .collect();
    Ok(Spend24h {
        as_of: rfc3339(now),
        customers,
        suppliers,
        hours,
    })
}

/// Start of `period` at `now`: `today` (UTC midnight), `7d` (7 × 24 hours back) or
/// `month` (the 1st, UTC).
///
/// Errors: `Validation` on `period`.
fn period_start(period: &str, now: DateTime<Utc>) -> ServiceResult<DateTime<Utc>> {
    use chrono::Datelike;
    let midnight = |d: NaiveDate| d.and_hms_opt(0, 0, 0).expect("midnight").and_utc();
    match period {
        "today" | "" => Ok(midnight(now.date_naive())),
        "7d" => Ok(now - chrono::Duration::days(7)),
        "month" => Ok(midnight(now.date_naive().with_day(1).expect("the 1st"))),
        _ => {
            let mut e = FieldErrors::new();
            e.add("period", "Choose today, 7 days or this month.");
            Err(e.into())
        }
    }
}

/// Balance and totals for `period` (see [`period_start`]) up to `now`: totals per
/// currency, by customer and by destination (the customer leg's destination), each
/// with calls, ASR, ACD, minutes, revenue, cost and margin.
///
/// Errors: `Validation` on `period`.
pub async fn totals(
    db: &DatabaseConnection,
    period: &str,
    now: DateTime<Utc>,
) -> ServiceResult<TotalsView> {
    let since = period_start(period, now)?;
    let until = now + chrono::Duration::seconds(1);
    let by_currency = spend_rows(
        grouped_totals(db, "currency", since, until).await?,
        |key| (0, key.to_owned()),
        false,
    )
    .into_iter()
    .filter(|r| !r.currency.is_empty())
    .collect();
    let by_carrier = carrier_rows(
        db,
        grouped_totals(db, "customer_carrier_id", since, until).await?,
        false,
    )
    .await?;
    let by_destination = spend_rows(
        grouped_totals(db, "customer_destination", since, until).await?,
        |key| (0, key.to_owned()),
        false,
    );
    Ok(TotalsView {
        period: if period.is_empty() {
            "today".into()
        } else {
            period.to_owned()
        },
        since: rfc3339(since),
        as_of: rfc3339(now),
        by_currency,
        by_carrier,
        by_destination,
    })
}
