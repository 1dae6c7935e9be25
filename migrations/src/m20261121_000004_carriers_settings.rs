//! The carriers module's settings: reference data (codecs, POPs, categories, groups,
//! voice tiers, channel plans), services, contacts, credit alerts, interconnects with
//! their addresses, codecs and services, and the audit log.
//!
//! Interconnect settings that are saved as one ordered document (number validation
//! rules, translation rules) are JSON text columns; everything another row refers to
//! (codecs, services, addresses that must not overlap) is a table.

use sea_orm_migration::prelude::*;

use crate::columns::{create, fk, flag, id, index, int, nullable_int, nullable_text, text};
use crate::m20261121_000001_carriers::Carriers;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Codec catalogue.
        let mut t = Table::create();
        t.table(Alias::new("codecs")).if_not_exists();
        id(&mut t)
            .col(text("name", 32).unique_key())
            .col(nullable_int("payload_type"))
            .col(int("clock_rate", 8000))
            .col(text("description", 200));
        create(manager, t).await?;

        // POPs, customer categories and groups, voice tiers, channel plans: one table,
        // told apart by `kind`; channel plans use the two limits.
        let mut t = Table::create();
        t.table(Alias::new("reference_items")).if_not_exists();
        id(&mut t)
            .col(text("kind", 32))
            .col(text("name", 100))
            .col(text("description", 500))
            .col(nullable_int("max_channels"))
            .col(nullable_int("max_cps"));
        create(manager, t).await?;
        index(manager, "reference_items", &["kind", "name"], true).await?;

        // Services: what customers buy (`customer`) or suppliers sell us (`supplier`).
        let mut t = Table::create();
        t.table(Alias::new("services")).if_not_exists();
        id(&mut t)
            .col(text("name", 100).unique_key())
            .col(text("direction", 16))
            .col(text("status", 16))
            .col(nullable_int("voice_tier_id"))
            .col(text("description", 500))
            .foreign_key(&mut fk(
                "services",
                "voice_tier_id",
                Alias::new("reference_items"),
                ForeignKeyAction::Restrict,
            ));
        create(manager, t).await?;

        let mut t = Table::create();
        t.table(Alias::new("carrier_contacts")).if_not_exists();
        id(&mut t)
            .col(
                ColumnDef::new(Alias::new("carrier_id"))
                    .big_integer()
                    .not_null(),
            )
            .col(text("role", 16))
            .col(text("name", 200))
            .col(nullable_text("email", 254))
            .col(nullable_text("phone", 32))
            .foreign_key(&mut fk(
                "carrier_contacts",
                "carrier_id",
                Carriers::Table,
                ForeignKeyAction::Cascade,
            ));
        create(manager, t).await?;
        index(manager, "carrier_contacts", &["carrier_id"], false).await?;

        let mut t = Table::create();
        t.table(Alias::new("credit_alerts")).if_not_exists();
        id(&mut t)
            .col(
                ColumnDef::new(Alias::new("carrier_id"))
                    .big_integer()
                    .not_null(),
            )
            .col(int("threshold_micros", 0))
            .col(ColumnDef::new(Alias::new("recipients")).text().not_null())
            .col(nullable_int("repeat_every_hours"))
            .col(flag("enabled", true))
            .foreign_key(&mut fk(
                "credit_alerts",
                "carrier_id",
                Carriers::Table,
                ForeignKeyAction::Cascade,
            ));
        create(manager, t).await?;
        index(manager, "credit_alerts", &["carrier_id"], false).await?;

        let mut t = Table::create();
        t.table(Alias::new("interconnects")).if_not_exists();
        id(&mut t)
            .col(
                ColumnDef::new(Alias::new("carrier_id"))
                    .big_integer()
                    .not_null(),
            )
            .col(text("name", 200))
            .col(text("direction", 16))
            .col(text("status", 16))
            .col(nullable_text("tech_prefix", 16))
            .col(nullable_int("pop_id"))
            .col(nullable_int("channel_plan_id"))
            // Media
            .col(text("media_mode", 16).default("relay"))
            .col(text("dtmf_mode", 16).default("rfc2833"))
            .col(flag("transcoding_allowed", false))
            .col(int("max_call_duration_secs", 7200))
            // Signalling
            .col(int("max_cps", 0))
            .col(int("max_channels", 0))
            .col(flag("session_timers", true))
            .col(int("session_expires_secs", 1800))
            .col(text("pai_mode", 16).default("pass"))
            .col(text("privacy_mode", 16).default("honour"))
            .col(int("sip_port", 5060))
            .col(text("sip_transport", 8).default("udp"))
            // Validation and translation: JSON documents (domain::interconnect types).
            .col(ColumnDef::new(Alias::new("number_rules")).text().not_null())
            .col(
                ColumnDef::new(Alias::new("translation_rules"))
                    .text()
                    .not_null(),
            )
            // Monitoring (egress)
            .col(nullable_int("asr_min_percent"))
            .col(nullable_int("acd_min_seconds"))
            .col(nullable_int("pdd_max_ms"))
            .col(
                ColumnDef::new(Alias::new("alert_recipients"))
                    .text()
                    .not_null(),
            )
            .foreign_key(&mut fk(
                "interconnects",
                "carrier_id",
                Carriers::Table,
                ForeignKeyAction::Restrict,
            ))
            .foreign_key(&mut fk(
                "interconnects",
                "pop_id",
                Alias::new("reference_items"),
                ForeignKeyAction::Restrict,
            ))
            .foreign_key(&mut fk(
                "interconnects",
                "channel_plan_id",
                Alias::new("reference_items"),
                ForeignKeyAction::Restrict,
            ));
        create(manager, t).await?;
        index(manager, "interconnects", &["carrier_id", "name"], false).await?;
        index(manager, "interconnects", &["name", "id"], false).await?;
        let db = manager.get_connection();
        if manager.get_database_backend() == sea_orm_migration::sea_orm::DatabaseBackend::Postgres {
            // Search on the interconnects and services lists (carriers: migration 1).
            for table in ["interconnects", "services"] {
                db.execute_unprepared(&format!(
                    "CREATE INDEX IF NOT EXISTS idx_{table}_name_trgm ON {table} USING gin (lower(name) gin_trgm_ops)"
                ))
                .await?;
            }
        } else {
            for table in ["interconnects", "services"] {
                db.execute_unprepared(&format!(
                    "CREATE INDEX IF NOT EXISTS idx_{table}_name_lower ON {table} (lower(name))"
                ))
                .await?;
            }
        }

        // Addresses: `range_start`/`range_end` are the first and last address of the IP
        // or CIDR as 32 hex digits (IPv4 mapped into IPv6), so "overlaps" is an indexed
        // range test: start <= other_end AND end >= other_start. Hosts have none.
        let mut t = Table::create();
        t.table(Alias::new("interconnect_addresses"))
            .if_not_exists();
        id(&mut t)
            .col(
                ColumnDef::new(Alias::new("interconnect_id"))
                    .big_integer()
                    .not_null(),
            )
            .col(
                ColumnDef::new(Alias::new("carrier_id"))
                    .big_integer()
                    .not_null(),
            )
            .col(text("direction", 16))
            .col(text("address", 255))
            .col(int("port", 5060))
            .col(text("transport", 8))
            .col(nullable_text("range_start", 32))
            .col(nullable_text("range_end", 32))
            .foreign_key(&mut fk(
                "interconnect_addresses",
                "interconnect_id",
                Alias::new("interconnects"),
                ForeignKeyAction::Cascade,
            ));
        create(manager, t).await?;
        index(
            manager,
            "interconnect_addresses",
            &["interconnect_id"],
            false,
        )
        .await?;
        index(
            manager,
            "interconnect_addresses",
            &["direction", "range_start"],
            false,
        )
        .await?;

        let mut t = Table::create();
        t.table(Alias::new("interconnect_codecs")).if_not_exists();
        id(&mut t)
            .col(
                ColumnDef::new(Alias::new("interconnect_id"))
                    .big_integer()
                    .not_null(),
            )
            .col(
                ColumnDef::new(Alias::new("codec_id"))
                    .big_integer()
                    .not_null(),
            )
            .col(int("position", 0))
            .col(flag("relay_only", false))
            .foreign_key(&mut fk(
                "interconnect_codecs",
                "interconnect_id",
                Alias::new("interconnects"),
                ForeignKeyAction::Cascade,
            ))
            .foreign_key(&mut fk(
                "interconnect_codecs",
                "codec_id",
                Alias::new("codecs"),
                ForeignKeyAction::Restrict,
            ));
        create(manager, t).await?;
        index(
            manager,
            "interconnect_codecs",
            &["interconnect_id", "position"],
            false,
        )
        .await?;

        let mut t = Table::create();
        t.table(Alias::new("interconnect_services")).if_not_exists();
        id(&mut t)
            .col(
                ColumnDef::new(Alias::new("interconnect_id"))
                    .big_integer()
                    .not_null(),
            )
            .col(
                ColumnDef::new(Alias::new("service_id"))
                    .big_integer()
                    .not_null(),
            )
            .foreign_key(&mut fk(
                "interconnect_services",
                "interconnect_id",
                Alias::new("interconnects"),
                ForeignKeyAction::Cascade,
            ))
            .foreign_key(&mut fk(
                "interconnect_services",
                "service_id",
                Alias::new("services"),
                ForeignKeyAction::Restrict,
            ));
        create(manager, t).await?;
        index(
            manager,
            "interconnect_services",
            &["interconnect_id", "service_id"],
            true,
        )
        .await?;
        index(manager, "interconnect_services", &["service_id"], false).await?;

        // Audit log: who changed what, field by field. `changes` is a JSON array of
        // {field, before, after}; `carrier_id` lets a carrier's History list everything
        // that happened under it.
        let mut t = Table::create();
        t.table(Alias::new("audit_log")).if_not_exists();
        id(&mut t)
            .col(nullable_int("actor_id"))
            .col(text("actor_email", 254))
            .col(text("entity", 64))
            .col(
                ColumnDef::new(Alias::new("entity_id"))
                    .big_integer()
                    .not_null(),
            )
            .col(nullable_int("carrier_id"))
            .col(text("action", 16))
            .col(ColumnDef::new(Alias::new("changes")).text().not_null())
            .col(
                ColumnDef::new(Alias::new("occurred_at"))
                    .timestamp_with_time_zone()
                    .not_null(),
            );
        manager.create_table(t).await?;
        index(manager, "audit_log", &["carrier_id", "id"], false).await?;
        index(manager, "audit_log", &["entity", "entity_id"], false).await?;

        // The codec catalogue every platform starts with (IANA RTP payload types,
        // RFC 3551; dynamic ones have none).
        let now = "CURRENT_TIMESTAMP";
        for (name, pt, rate, description) in [
            ("PCMU", "0", 8000, "G.711 µ-law, 64 kbit/s"),
            ("PCMA", "8", 8000, "G.711 A-law, 64 kbit/s"),
            ("G729", "18", 8000, "G.729, 8 kbit/s"),
            ("G722", "9", 8000, "G.722 wideband, 64 kbit/s"),
            ("GSM", "3", 8000, "GSM 06.10 full rate, 13 kbit/s"),
            ("iLBC", "NULL", 8000, "iLBC, 13.3/15.2 kbit/s"),
            ("AMR", "NULL", 8000, "AMR narrowband"),
            ("AMR-WB", "NULL", 16000, "AMR wideband (G.722.2)"),
            ("opus", "NULL", 48000, "Opus, 6–510 kbit/s"),
        ] {
            db.execute_unprepared(&format!(
                "INSERT INTO codecs (name, payload_type, clock_rate, description, created_at, updated_at) \
                 VALUES ('{name}', {pt}, {rate}, '{description}', {now}, {now})"
            ))
            .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "audit_log",
            "interconnect_services",
            "interconnect_codecs",
            "interconnect_addresses",
            "interconnects",
            "credit_alerts",
            "carrier_contacts",
            "services",
            "reference_items",
            "codecs",
        ] {
            manager
                .drop_table(Table::drop().table(Alias::new(table)).to_owned())
                .await?;
        }
        Ok(())
    }
}
