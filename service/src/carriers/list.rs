//! The carriers page's three lists — carriers, interconnects, services — with search,
//! filters, sorting and keyset pagination (`domain::listing`). Each selects only the
//! columns its table shows.
//!
//! Search: on PostgreSQL `ILIKE '%text%'` served by the trigram (`pg_trgm`) indexes; on
//! SQLite a prefix range on `lower(name)` (and on the upper-case account code) served by
//! ordinary indexes.

use chrono::{DateTime, Utc};
use domain::listing::{CarrierRow, InterconnectRow, ListQuery, Page, ServiceRow};
use sea_orm::sea_query::extension::postgres::PgExpr;
use sea_orm::sea_query::{Expr, ExprTrait, Func, IntoColumnRef, SimpleExpr};
use sea_orm::{
    ColumnTrait, Condition, DatabaseBackend, DatabaseConnection, EntityTrait, JoinType, Order,
    QueryFilter, QueryOrder, QuerySelect, RelationTrait, Select,
};
use serde::{Deserialize, Serialize};

use crate::entity::{carrier, interconnect, service};
use crate::ServiceResult;

/// The position of the last row of a page: its sort value and id.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum Key {
    Text(String, i64),
    Id(i64),
}

fn decode(after: &str) -> Option<Key> {
    if after.is_empty() {
        None
    } else {
        serde_json::from_str(after).ok()
    }
}

fn encode(key: Key) -> String {
    serde_json::to_string(&key).unwrap_or_default()
}

fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// `column` matches the search `text` on this backend (see the module docs).
fn matches(
    backend: DatabaseBackend,
    column: impl IntoColumnRef + Copy,
    text: &str,
    upper: bool,
) -> SimpleExpr {
    if backend == DatabaseBackend::Postgres {
        Expr::col(column).ilike(format!("%{}%", escape_like(text)))
    } else {
        let needle = if upper {
            text.to_uppercase()
        } else {
            text.to_lowercase()
        };
        let end = format!("{needle}\u{10FFFF}");
        let value: SimpleExpr = if upper {
            Expr::col(column).into()
        } else {
            Func::lower(Expr::col(column)).into()
        };
        value.clone().gte(needle).and(value.lt(end))
    }
}

/// Keyset condition and order for sorting by `column` (text) then id.
fn keyset<E: EntityTrait>(
    mut select: Select<E>,
    column: Option<SimpleExpr>,
    id: impl IntoColumnRef + Copy,
    desc: bool,
    after: Option<Key>,
) -> Select<E> {
    let order = if desc { Order::Desc } else { Order::Asc };
    match (&column, after) {
        (Some(col), Some(Key::Text(value, last))) => {
            let (beyond, id_beyond) = if desc {
                (col.clone().lt(value.clone()), Expr::col(id).lt(last))
            } else {
                (col.clone().gt(value.clone()), Expr::col(id).gt(last))
            };
            select = select.filter(
                Condition::any()
                    .add(beyond)
                    .add(Condition::all().add(col.clone().eq(value)).add(id_beyond)),
            );
        }
        (None, Some(Key::Id(last))) => {
            select = select.filter(if desc {
                Expr::col(id).lt(last)
            } else {
                Expr::col(id).gt(last)
            });
        }
        _ => {}
    }
    if let Some(col) = column {
        select = select.order_by(col, order.clone());
    }
    select.order_by(Expr::col(id), order)
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339()
}

/// A page of carriers. Sort keys: `name` (default), `account_code`, `created`.
/// Filters: `status`, `kind` (carrier type), `currency`.
pub async fn list_carriers(
    db: &DatabaseConnection,
    query: &ListQuery,
) -> ServiceResult<Page<CarrierRow>> {
    let backend = db.get_database_backend();
    let mut select = carrier::Entity::find().select_only().columns([
        carrier::Column::Id,
        carrier::Column::Name,
        carrier::Column::AccountCode,
        carrier::Column::CarrierType,
        carrier::Column::Status,
        carrier::Column::Currency,
        carrier::Column::CreatedAt,
    ]);
    let q = query.q.trim();
    if !q.is_empty() {
        select = select.filter(
            Condition::any()
                .add(matches(
                    backend,
                    (carrier::Entity, carrier::Column::Name),
                    q,
                    false,
                ))
                .add(matches(
                    backend,
                    (carrier::Entity, carrier::Column::AccountCode),
                    q,
                    true,
                )),
        );
    }
    if !query.status.is_empty() {
        select = select.filter(carrier::Column::Status.eq(query.status.as_str()));
    }
    if !query.kind.is_empty() {
        select = select.filter(carrier::Column::CarrierType.eq(query.kind.as_str()));
    }
    if !query.currency.is_empty() {
        select = select.filter(carrier::Column::Currency.eq(query.currency.to_uppercase()));
    }
    let column = match query.sort.as_str() {
        "account_code" => Some(carrier::Column::AccountCode),
        "created" => None,
        _ => Some(carrier::Column::Name),
    };
    let size = query.page_size() as usize;
    select = keyset(
        select,
        column.map(|c| Expr::col((carrier::Entity, c)).into()),
        (carrier::Entity, carrier::Column::Id),
        query.desc,
        decode(&query.after),
    )
    .limit(size as u64 + 1);
    let mut rows: Vec<CarrierRow> = select
        .into_tuple::<(i64, String, String, String, String, String, DateTime<Utc>)>()
        .all(db)
        .await?
        .into_iter()
        .map(
            |(id, name, account_code, carrier_type, status, currency, created_at)| CarrierRow {
                id,
                name,
                account_code,
                carrier_type,
                status,
                currency,
                created_at: rfc3339(created_at),
            },
        )
        .collect();
    let next = (rows.len() > size).then(|| {
        rows.truncate(size);
        let last = rows.last().expect("a full page has a last row");
        encode(match column {
            Some(carrier::Column::AccountCode) => Key::Text(last.account_code.clone(), last.id),
            Some(_) => Key::Text(last.name.clone(), last.id),
            None => Key::Id(last.id),
        })
    });
    Ok(Page { rows, next })
}

/// A page of interconnects with their carrier's name. Sort keys: `name` (default),
/// `created`. Filters: `status`, `kind` (`ingress`/`egress`). Search: interconnect name.
pub async fn list_interconnects(
    db: &DatabaseConnection,
    query: &ListQuery,
) -> ServiceResult<Page<InterconnectRow>> {
    let backend = db.get_database_backend();
    let mut select = interconnect::Entity::find()
        .select_only()
        .columns([
            interconnect::Column::Id,
            interconnect::Column::Name,
            interconnect::Column::CarrierId,
        ])
        .column_as(carrier::Column::Name, "carrier_name")
        .columns([
            interconnect::Column::Direction,
            interconnect::Column::Status,
            interconnect::Column::TechPrefix,
            interconnect::Column::CreatedAt,
        ])
        .join(JoinType::InnerJoin, interconnect::Relation::Carrier.def());
    let q = query.q.trim();
    if !q.is_empty() {
        select = select.filter(matches(
            backend,
            (interconnect::Entity, interconnect::Column::Name),
            q,
            false,
        ));
    }
    if !query.status.is_empty() {
        select = select.filter(interconnect::Column::Status.eq(query.status.as_str()));
    }
    if !query.kind.is_empty() {
        select = select.filter(interconnect::Column::Direction.eq(query.kind.as_str()));
    }
    let by_name = query.sort != "created";
    let size = query.page_size() as usize;
    select = keyset(
        select,
        by_name.then(|| Expr::col((interconnect::Entity, interconnect::Column::Name)).into()),
        (interconnect::Entity, interconnect::Column::Id),
        query.desc,
        decode(&query.after),
    )
    .limit(size as u64 + 1);
    type Tuple = (
        i64,
        String,
        i64,
        String,
        String,
        String,
        Option<String>,
        DateTime<Utc>,
    );
    let mut rows: Vec<InterconnectRow> = select
        .into_tuple::<Tuple>()
        .all(db)
        .await?
        .into_iter()
        .map(
            |(id, name, carrier_id, carrier_name, direction, status, tech_prefix, created_at)| {
                InterconnectRow {
                    id,
                    name,
                    carrier_id,
                    carrier_name,
                    direction,
                    status,
                    tech_prefix,
                    created_at: rfc3339(created_at),
                }
            },
        )
        .collect();
    let next = (rows.len() > size).then(|| {
        rows.truncate(size);
        let last = rows.last().expect("a full page has a last row");
        encode(if by_name {
            Key::Text(last.name.clone(), last.id)
        } else {
            Key::Id(last.id)
        })
    });
    Ok(Page { rows, next })
}

/// A page of services. Sort keys: `name` (default), `created`. Filters: `status`,
/// `kind` (`customer`/`supplier`). Search: name.
pub async fn list_services(
    db: &DatabaseConnection,
    query: &ListQuery,
) -> ServiceResult<Page<ServiceRow>> {
    let backend = db.get_database_backend();
    let mut select = service::Entity::find().select_only().columns([
        service::Column::Id,
        service::Column::Name,
        service::Column::Direction,
        service::Column::Status,
        service::Column::Description,
        service::Column::CreatedAt,
    ]);
    let q = query.q.trim();
    if !q.is_empty() {
        select = select.filter(matches(
            backend,
            (service::Entity, service::Column::Name),
            q,
            false,
        ));
    }
    if !query.status.is_empty() {
        select = select.filter(service::Column::Status.eq(query.status.as_str()));
    }
    if !query.kind.is_empty() {
        select = select.filter(service::Column::Direction.eq(query.kind.as_str()));
    }
    let by_name = query.sort != "created";
    let size = query.page_size() as usize;
    select = keyset(
        select,
        by_name.then(|| Expr::col((service::Entity, service::Column::Name)).into()),
        (service::Entity, service::Column::Id),
        query.desc,
        decode(&query.after),
    )
    .limit(size as u64 + 1);
    let mut rows: Vec<ServiceRow> = select
        .into_tuple::<(i64, String, String, String, String, DateTime<Utc>)>()
        .all(db)
        .await?
        .into_iter()
        .map(
            |(id, name, direction, status, description, created_at)| ServiceRow {
                id,
                name,
                direction,
                status,
                description,
                created_at: rfc3339(created_at),
            },
        )
        .collect();
    let next = (rows.len() > size).then(|| {
        rows.truncate(size);
        let last = rows.last().expect("a full page has a last row");
        encode(if by_name {
            Key::Text(last.name.clone(), last.id)
        } else {
            Key::Id(last.id)
        })
    });
    Ok(Page { rows, next })
}
