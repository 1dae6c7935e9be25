//! The ledger check: every carrier's running balance (`carrier_balances`, kept in the
//! transaction of each posting) compared with the sum of its ledger entries, which is
//! the truth.
//!
//! - The comparison is one statement, so it sees one snapshot: a posting committing
//!   meanwhile is either wholly in it (entries and balance) or wholly out of it, and
//!   never shows as a difference.
//! - A repair sets a running balance to its ledger sum only if it still holds the value
//!   the check saw (`… WHERE balance_micros = seen`). A posting that lands in between
//!   leaves it alone, and the next check looks again.
//! - The ledger itself is never changed.
//!
//! `didtron serve` runs [`check_ledger`] every `LEDGER_CHECK_SECS` (one instance at a
//! time, lock `ledger-check`), repairing and recording each run (`ledger_checks`, shown
//! on the Carrier balances page). `didtron ledger check [--repair]` runs [`reconcile`]
//! by hand.

use std::time::Duration;

use chrono::Utc;
use domain::cdr::views::LedgerCheckView;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    FromQueryResult, PaginatorTrait, QueryFilter, QueryOrder, Set, Statement,
};
use serde::{Deserialize, Serialize};

use crate::audit::{self, Actor};
use crate::entity::{carrier_balance, ledger_check};
use crate::kv::Kv;
use crate::rate_plans::rate_text;
use crate::ServiceResult;

/// How long the check's lock is held at most.
pub const LOCK_TTL: Duration = Duration::from_secs(600);
const LOCK_KEY: &str = "ledger-check";

/// A carrier whose running balance differs from the sum of its ledger entries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, FromQueryResult)]
pub struct BalanceMismatch {
    pub carrier_id: i64,
    /// `carrier_balances.balance_micros` (0 when the row is missing).
    pub running_micros: i64,
    /// The sum of `ledger_entries.amount_micros`.
    pub ledger_micros: i64,
}

/// Every running balance that differs from its ledger sum, by carrier id, read in one
/// statement (one snapshot).
async fn mismatches<C: ConnectionTrait>(db: &C) -> ServiceResult<Vec<BalanceMismatch>> {
    let sql = "SELECT COALESCE(b.carrier_id, l.carrier_id) AS carrier_id, \
               CAST(COALESCE(b.balance_micros, 0) AS BIGINT) AS running_micros, \
               CAST(COALESCE(l.total, 0) AS BIGINT) AS ledger_micros \
               FROM carrier_balances b \
               FULL OUTER JOIN (SELECT carrier_id, SUM(amount_micros) AS total \
                                FROM ledger_entries GROUP BY carrier_id) l \
               ON l.carrier_id = b.carrier_id \
               WHERE COALESCE(b.balance_micros, 0) <> COALESCE(l.total, 0) \
               ORDER BY 1";
    Ok(
        BalanceMismatch::find_by_statement(Statement::from_string(db.get_database_backend(), sql))
            .all(db)
            .await?,
    )
}

/// Reconciles every running balance with the ledger: the carriers whose running balance
/// is not the sum of their entries (none, when every posting went through `ingest`,
/// `reprocess`, `post_adjustment` or a re-rating). With `repair`, each is set to its
/// ledger sum unless a posting changed it meanwhile (see the module documentation);
/// every repair is audited (`carrier_balance`, by `system`).
///
/// Errors: the database's.
pub async fn reconcile(
    db: &DatabaseConnection,
    repair: bool,
) -> ServiceResult<Vec<BalanceMismatch>> {
    let found = mismatches(db).await?;
    if !repair {
        return Ok(found);
    }
    for m in &found {
        let txn = crate::db::begin_write(db).await?;
        let changed = carrier_balance::Entity::update_many()
            .col_expr(
                carrier_balance::Column::BalanceMicros,
                Expr::value(m.ledger_micros),
            )
            .col_expr(carrier_balance::Column::UpdatedAt, Expr::value(Utc::now()))
            .filter(carrier_balance::Column::CarrierId.eq(m.carrier_id))
            .filter(carrier_balance::Column::BalanceMicros.eq(m.running_micros))
            .exec(&txn)
            .await?
            .rows_affected;
        if changed == 1 {
            audit::record(
                &txn,
                &Actor::system(),
                "carrier_balance",
                m.carrier_id,
                Some(m.carrier_id),
                audit::Action::Update,
                vec![audit::FieldChange {
                    field: "balance_micros".into(),
                    before: Some(m.running_micros.to_string()),
                    after: Some(m.ledger_micros.to_string()),
                }],
            )
            .await?;
            tracing::warn!(
                carrier = m.carrier_id,
                running = m.running_micros,
                ledger = m.ledger_micros,
                "running balance repaired from the ledger"
            );
        }
        txn.commit().await?;
    }
    Ok(found)
}

/// The scheduled check: [`reconcile`] with repair, under the `ledger-check` lock (another
/// instance holding it makes this a no-op, `None`), recorded in `ledger_checks`.
///
/// Errors: the database's or the lock store's.
pub async fn check_ledger(
    db: &DatabaseConnection,
    kv: &Kv,
) -> ServiceResult<Option<LedgerCheckView>> {
    let Some(token) = kv.try_lock(LOCK_KEY, LOCK_TTL).await? else {
        return Ok(None);
    };
    let result = async {
        let found = reconcile(db, true).await?;
        let carriers = carrier_balance::Entity::find().count(db).await? as i64;
        let now = Utc::now();
        ledger_check::ActiveModel {
            carriers: Set(carriers),
            mismatches: Set(serde_json::to_string(&found).unwrap_or_else(|_| "[]".into())),
            repaired: Set(!found.is_empty()),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(db)
        .await?;
        last_check(db).await
    }
    .await;
    let _ = kv.unlock(LOCK_KEY, &token).await;
    result
}

/// The latest ledger check, carriers by name and amounts as decimals; `None` before the
/// first.
pub async fn last_check(db: &DatabaseConnection) -> ServiceResult<Option<LedgerCheckView>> {
    let Some(last) = ledger_check::Entity::find()
        .order_by_desc(ledger_check::Column::Id)
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let found: Vec<BalanceMismatch> = serde_json::from_str(&last.mismatches).unwrap_or_default();
    let names =
        super::views::carrier_names(db, found.iter().map(|m| m.carrier_id).collect()).await?;
    Ok(Some(LedgerCheckView {
        checked_at: super::views::rfc3339(last.created_at),
        carriers: last.carriers.max(0) as u64,
        mismatches: found
            .iter()
            .map(|m| {
                (
                    names
                        .get(&m.carrier_id)
                        .cloned()
                        .unwrap_or_else(|| format!("carrier {}", m.carrier_id)),
                    rate_text(m.running_micros),
                    rate_text(m.ledger_micros),
                )
            })
            .collect(),
        repaired: last.repaired,
    }))
}
