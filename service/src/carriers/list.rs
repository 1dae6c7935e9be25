//! The carriers page's three lists — carriers, interconnects, services — with search,
//! filters, sorting and keyset pagination (`domain::listing`). Each selects only the
//! columns its table shows.
//!
//! Search: on PostgreSQL any part of the name or account code, case-insensitive
//! (`search_key LIKE '%text%'`, served by a `pg_trgm` GIN index; interconnects and
//! services: `lower(name)`); on SQLite a prefix of either, as ranges on `lower(name)` and
//! on the upper-case account code, served by B-tree indexes.
//!
//! A search page first collects every match (`WITH m AS MATERIALIZED`), then sorts and
//! cuts the page. Without that fence the planner walks the name index in order and
//! filters, expecting matches spread evenly; real matches cluster ("Wonka …" names sort
//! together), and that walk read 90 000 rows for one page (BENCHMARKS.md).

use chrono::{DateTime, Utc};
use domain::listing::{CarrierRow, InterconnectRow, ListQuery, Page, ServiceRow};
use sea_orm::sea_query::{Expr, ExprTrait, Func, IntoColumnRef, LikeExpr, SimpleExpr};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseBackend, DatabaseConnection, EntityTrait,
    JoinType, QueryFilter, QueryResult, QuerySelect, QueryTrait, RelationTrait, Select, Statement,
    Value,
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

/// PostgreSQL: `lower(column) LIKE '%text%'` (trigram-indexed).
fn contains(column: SimpleExpr, text: &str) -> SimpleExpr {
    column.like(LikeExpr::new(format!("%{}%", escape_like(&text.to_lowercase()))).escape('\\'))
}

/// SQLite: `column` starts with `text` (as a range, so a B-tree index serves it);
/// `upper` compares with the upper-cased text, else `lower(column)` with the lower-cased.
fn starts_with(column: impl IntoColumnRef + Copy, text: &str, upper: bool) -> SimpleExpr {
    let needle = if upper {
        text.to_uppercase()
    } else {
        text.to_lowercase()
    };
    let end = format!("{needle}\u{10FFFF}");
    let value: SimpleExpr = if upper {
        Expr::col(column)
    } else {
        Func::lower(Expr::col(column)).into()
    };
    value.clone().gte(needle).and(value.lt(end))
}

/// A name matches the search `text`: any part of it on PostgreSQL ([`contains`] on
/// `lower(name)`), its start on SQLite ([`starts_with`]).
fn name_matches(
    backend: DatabaseBackend,
    name: impl IntoColumnRef + Copy,
    text: &str,
) -> SimpleExpr {
    if backend == DatabaseBackend::Postgres {
        contains(Func::lower(Expr::col(name)).into(), text)
    } else {
        starts_with(name, text, false)
    }
}

/// How a page is cut: sort column (by its name in the selected columns; `None` sorts by
/// id alone), direction, cursor, size.
struct Cut<'a> {
    sort: Option<&'static str>,
    desc: bool,
    after: Option<Key>,
    size: u64,
    /// The table the columns belong to, for the plain (non-search) query.
    table: &'a str,
}

/// Runs `select` (columns and filters, no order or limit) for one page. Search pages go
/// through the materialised fence described in the module docs.
async fn page_rows<E: EntityTrait>(
    db: &DatabaseConnection,
    select: Select<E>,
    cut: Cut<'_>,
    fenced: bool,
) -> ServiceResult<Vec<QueryResult>> {
    let backend = db.get_database_backend();
    let inner = select.build(backend);
    let mut values: Vec<Value> = inner.values.map(|v| v.0).unwrap_or_default();
    let param = |v: Value, values: &mut Vec<Value>| {
        values.push(v);
        match backend {
            DatabaseBackend::Postgres => format!("${}", values.len()),
            _ => "?".to_owned(),
        }
    };
    let prefix = if fenced {
        "m.".to_owned()
    } else {
        format!("\"{}\".", cut.table)
    };
    let id = format!("{prefix}\"id\"");
    let (op, dir) = if cut.desc {
        ("<", "DESC")
    } else {
        (">", "ASC")
    };
    let mut condition = String::new();
    match (cut.sort, cut.after) {
        (Some(col), Some(Key::Text(value, last))) => {
            let col = format!("{prefix}\"{col}\"");
            let v1 = param(value.clone().into(), &mut values);
            let v2 = param(value.into(), &mut values);
            let v3 = param(last.into(), &mut values);
            condition = format!("({col} {op} {v1} OR ({col} = {v2} AND {id} {op} {v3}))");
        }
        (None, Some(Key::Id(last))) => {
            let v = param(last.into(), &mut values);
            condition = format!("{id} {op} {v}");
        }
        _ => {}
    }
    let order = match cut.sort {
        Some(col) => format!("{prefix}\"{col}\" {dir}, {id} {dir}"),
        None => format!("{id} {dir}"),
    };
    let sql = if fenced {
        let filter = if condition.is_empty() {
            String::new()
        } else {
            format!("WHERE {condition}")
        };
        format!(
            "WITH m AS MATERIALIZED ({}) SELECT * FROM m {filter} ORDER BY {order} LIMIT {}",
            inner.sql,
            cut.size + 1
        )
    } else {
        let glue = if inner.sql.contains(" WHERE ") {
            "AND"
        } else {
            "WHERE"
        };
        let filter = if condition.is_empty() {
            String::new()
        } else {
            format!("{glue} {condition}")
        };
        format!(
            "{} {filter} ORDER BY {order} LIMIT {}",
            inner.sql,
            cut.size + 1
        )
    };
    Ok(db
        .query_all_raw(Statement::from_sql_and_values(backend, sql, values))
        .await?)
}

/// Splits off the extra row that says another page exists; `key` makes its cursor.
fn finish<T>(mut rows: Vec<T>, size: u64, key: impl Fn(&T) -> Key) -> Page<T> {
    let next = (rows.len() as u64 > size).then(|| {
        rows.truncate(size as usize);
        encode(key(rows.last().expect("a full page has a last row")))
    });
    Page { rows, next }
}

fn text(row: &QueryResult, col: &str) -> ServiceResult<String> {
    Ok(row.try_get::<String>("", col)?)
}

fn id(row: &QueryResult, col: &str) -> ServiceResult<i64> {
    Ok(row.try_get::<i64>("", col)?)
}

fn created(row: &QueryResult) -> ServiceResult<String> {
    Ok(row.try_get::<DateTime<Utc>>("", "created_at")?.to_rfc3339())
}

/// Applies the `status` and `kind` filters of `query` to their columns.
fn with_filters<E: EntityTrait>(
    select: Select<E>,
    query: &ListQuery,
    status: E::Column,
    kind: E::Column,
) -> Select<E> {
    let mut select = select;
    if !query.status.is_empty() {
        select = select.filter(status.eq(query.status.as_str()));
    }
    if !query.kind.is_empty() {
        select = select.filter(kind.eq(query.kind.as_str()));
    }
    select
}

/// The cursor of a row in a list sorted by name (`sort` is `Some`) or by id.
fn name_or_id(sort: Option<&str>, name: &str, id: i64) -> Key {
    match sort {
        Some(_) => Key::Text(name.to_owned(), id),
        None => Key::Id(id),
    }
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
        select = select.filter(if backend == DatabaseBackend::Postgres {
            Condition::all().add(contains(Expr::col(carrier::Column::SearchKey), q))
        } else {
            Condition::any()
                .add(starts_with(
                    (carrier::Entity, carrier::Column::Name),
                    q,
                    false,
                ))
                .add(starts_with(
                    (carrier::Entity, carrier::Column::AccountCode),
                    q,
                    true,
                ))
        });
    }
    select = with_filters(
        select,
        query,
        carrier::Column::Status,
        carrier::Column::CarrierType,
    );
    if !query.currency.is_empty() {
        select = select.filter(carrier::Column::Currency.eq(query.currency.to_uppercase()));
    }
    let sort = match query.sort.as_str() {
        "account_code" => Some("account_code"),
        "created" => None,
        _ => Some("name"),
    };
    let size = u64::from(query.page_size());
    let cut = Cut {
        sort,
        desc: query.desc,
        after: decode(&query.after),
        size,
        table: "carriers",
    };
    let rows = page_rows(db, select, cut, !q.is_empty())
        .await?
        .iter()
        .map(|r| {
            Ok(CarrierRow {
                id: id(r, "id")?,
                name: text(r, "name")?,
                account_code: text(r, "account_code")?,
                carrier_type: text(r, "carrier_type")?,
                status: text(r, "status")?,
                currency: text(r, "currency")?,
                created_at: created(r)?,
            })
        })
        .collect::<ServiceResult<Vec<_>>>()?;
    Ok(finish(rows, size, |last| match sort {
        Some("account_code") => Key::Text(last.account_code.clone(), last.id),
        Some(_) => Key::Text(last.name.clone(), last.id),
        None => Key::Id(last.id),
    }))
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
        select = select.filter(name_matches(
            backend,
            (interconnect::Entity, interconnect::Column::Name),
            q,
        ));
    }
    select = with_filters(
        select,
        query,
        interconnect::Column::Status,
        interconnect::Column::Direction,
    );
    let sort = (query.sort != "created").then_some("name");
    let size = u64::from(query.page_size());
    let cut = Cut {
        sort,
        desc: query.desc,
        after: decode(&query.after),
        size,
        table: "interconnects",
    };
    let rows = page_rows(db, select, cut, !q.is_empty())
        .await?
        .iter()
        .map(|r| {
            Ok(InterconnectRow {
                id: id(r, "id")?,
                name: text(r, "name")?,
                carrier_id: id(r, "carrier_id")?,
                carrier_name: text(r, "carrier_name")?,
                direction: text(r, "direction")?,
                status: text(r, "status")?,
                tech_prefix: r.try_get::<Option<String>>("", "tech_prefix")?,
                created_at: created(r)?,
            })
        })
        .collect::<ServiceResult<Vec<_>>>()?;
    Ok(finish(rows, size, |last| {
        name_or_id(sort, &last.name, last.id)
    }))
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
        select = select.filter(name_matches(
            backend,
            (service::Entity, service::Column::Name),
            q,
        ));
    }
    select = with_filters(
        select,
        query,
        service::Column::Status,
        service::Column::Direction,
    );
    let sort = (query.sort != "created").then_some("name");
    let size = u64::from(query.page_size());
    let cut = Cut {
        sort,
        desc: query.desc,
        after: decode(&query.after),
        size,
        table: "services",
    };
    let rows = page_rows(db, select, cut, !q.is_empty())
        .await?
        .iter()
        .map(|r| {
            Ok(ServiceRow {
                id: id(r, "id")?,
                name: text(r, "name")?,
                direction: text(r, "direction")?,
                status: text(r, "status")?,
                description: text(r, "description")?,
                created_at: created(r)?,
            })
        })
        .collect::<ServiceResult<Vec<_>>>()?;
    Ok(finish(rows, size, |last| {
        name_or_id(sort, &last.name, last.id)
    }))
}
