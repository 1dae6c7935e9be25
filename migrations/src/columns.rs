//! Column, key and index helpers shared by the migrations (one spelling for every table).

use sea_orm_migration::prelude::*;

/// `id`: 64-bit auto-increment primary key.
pub(crate) fn id(table: &mut TableCreateStatement) -> &mut TableCreateStatement {
    table.col(
        ColumnDef::new(Alias::new("id"))
            .big_integer()
            .not_null()
            .auto_increment()
            .primary_key(),
    )
}

/// Required text of at most `len` characters.
pub(crate) fn text(name: &str, len: u32) -> ColumnDef {
    let mut col = ColumnDef::new(Alias::new(name));
    col.string_len(len).not_null();
    col
}

pub(crate) fn nullable_text(name: &str, len: u32) -> ColumnDef {
    let mut col = ColumnDef::new(Alias::new(name));
    col.string_len(len).null();
    col
}

pub(crate) fn int(name: &str, default: i64) -> ColumnDef {
    let mut col = ColumnDef::new(Alias::new(name));
    col.big_integer().not_null().default(default);
    col
}

pub(crate) fn nullable_int(name: &str) -> ColumnDef {
    let mut col = ColumnDef::new(Alias::new(name));
    col.big_integer().null();
    col
}

pub(crate) fn flag(name: &str, default: bool) -> ColumnDef {
    let mut col = ColumnDef::new(Alias::new(name));
    col.boolean().not_null().default(default);
    col
}

/// Required UTC timestamp.
pub(crate) fn time(name: &str) -> ColumnDef {
    let mut col = ColumnDef::new(Alias::new(name));
    col.timestamp_with_time_zone().not_null();
    col
}

/// Optional UTC timestamp.
pub(crate) fn nullable_time(name: &str) -> ColumnDef {
    let mut col = ColumnDef::new(Alias::new(name));
    col.timestamp_with_time_zone().null();
    col
}

/// Unbounded text, empty by default (JSON documents, reports).
pub(crate) fn document(name: &str) -> ColumnDef {
    let mut col = ColumnDef::new(Alias::new(name));
    col.text().not_null().default("");
    col
}

/// A foreign key `fk_<table>_<column>` to `to.id`.
pub(crate) fn fk(
    table: &str,
    column: &str,
    to: impl IntoIden,
    action: ForeignKeyAction,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(format!("fk_{table}_{column}"))
        .from(Alias::new(table), Alias::new(column))
        .to(to, Alias::new("id"))
        .on_delete(action)
        .to_owned()
}

/// An index `idx_<table>_<columns>`.
pub(crate) async fn index(
    manager: &SchemaManager<'_>,
    table: &str,
    columns: &[&str],
    unique: bool,
) -> Result<(), DbErr> {
    let mut stmt = Index::create();
    stmt.name(format!("idx_{table}_{}", columns.join("_")))
        .table(Alias::new(table));
    for c in columns {
        stmt.col(Alias::new(*c));
    }
    if unique {
        stmt.unique();
    }
    manager.create_index(stmt).await
}

/// Creates `table` with `created_at`/`updated_at`.
pub(crate) async fn create(
    manager: &SchemaManager<'_>,
    mut table: TableCreateStatement,
) -> Result<(), DbErr> {
    crate::timestamps(&mut table);
    manager.create_table(table).await
}
