//! Compiled rate plans for rating CDRs, and the ingest configuration, kept in memory
//! between batches.
//!
//! A plan's deck is compiled once per live revision (every publish changes the live
//! revision, so a stale deck is never used) and shared as an `Arc`: a batch holds the
//! deck it started with even if a publish replaces it meanwhile. The ingest configuration
//! (mediation tables, carriers' currencies, rate plans) is loaded again only when the
//! `routing` change counter moved (the database's triggers raise it on every write to
//! the tables it is read from).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use domain::money::Currency;
use domain::rate_plans::RoundingChoice;
use domain::rating::{CompiledDeck, RatingPolicy, Rounding};

use crate::entity::rate_plan;
use crate::{ServiceError, ServiceResult};
use sea_orm::DatabaseConnection;

pub use domain::rating::PlanDeck;

/// The ingest configuration with the change counter's value it was loaded at.
type Loaded = (String, Arc<super::IngestConfig>);

/// Decks by plan id. Cheap to clone (shared).
#[derive(Clone, Default)]
pub struct DeckCache {
    decks: Arc<Mutex<HashMap<i64, Arc<PlanDeck>>>>,
    ingest_config: Arc<Mutex<Option<Loaded>>>,
    /// Hits and misses, for System Status.
    counter: crate::status::CacheCounter,
}

impl std::fmt::Debug for DeckCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let held = self.decks.lock().map(|d| d.len()).unwrap_or(0);
        f.debug_struct("DeckCache").field("decks", &held).finish()
    }
}

impl DeckCache {
    /// An empty cache.
    pub fn new() -> DeckCache {
        DeckCache::default()
    }

    /// The ingest configuration ([`super::load_ingest_config`]: the mediation tables, the
    /// carriers' currencies, the rate plans) as it is now: one row read (the `routing`
    /// change counter, [`crate::routing::fingerprint`]) per batch, and the six tables
    /// read again only when it moved.
    ///
    /// Errors: the database's; `Internal` when stored rules do not parse or compile.
    pub async fn ingest_config(
        &self,
        db: &DatabaseConnection,
    ) -> ServiceResult<Arc<super::IngestConfig>> {
        let version = crate::routing::fingerprint(db).await?;
        if let Some((seen, config)) = &*self.ingest_config.lock().expect("ingest config cache") {
            if *seen == version && !version.is_empty() {
                return Ok(config.clone());
            }
        }
        // Read after the counter: a change committed in between is loaded now and
        // loaded again on the next batch (the counter moved), never missed.
        let config = Arc::new(super::load_ingest_config(db).await?);
        *self.ingest_config.lock().expect("ingest config cache") = Some((version, config.clone()));
        Ok(config)
    }

    /// Its hits and misses.
    pub fn counter(&self) -> &crate::status::CacheCounter {
        &self.counter
    }

    /// The deck of `plan` at its live revision, compiled now unless already held.
    ///
    /// Errors: `Internal` when the stored rows do not compile (a revision that
    /// publishing let through would be a bug) or the plan's currency is unknown.
    pub async fn deck(
        &self,
        db: &DatabaseConnection,
        plan: &rate_plan::Model,
    ) -> ServiceResult<Arc<PlanDeck>> {
        if let Some(deck) = self.decks.lock().expect("deck cache").get(&plan.id) {
            if deck.live_revision_id == plan.live_revision_id {
                self.counter.hit();
                return Ok(deck.clone());
            }
        }
        self.counter.miss();
        let currency = Currency::parse(&plan.currency)
            .map_err(|_| ServiceError::Internal(format!("plan {} currency", plan.id)))?;
        let rows = crate::rate_plans::deck_rows(db, plan)
            .await?
            .into_iter()
            .enumerate()
            .map(|(i, (mut row, _))| {
                row.line = i as u32;
                row
            })
            .collect::<Vec<_>>();
        let revision = format!("{}:{}", plan.id, plan.live_revision_id.unwrap_or(0));
        // A large deck takes a while to compile: off the async workers.
        let deck = tokio::task::spawn_blocking(move || CompiledDeck::compile(revision, rows))
            .await
            .map_err(|e| ServiceError::Internal(format!("deck compile task: {e}")))?
            .map_err(|errors| {
                ServiceError::Internal(format!(
                    "plan {} does not compile: {}",
                    plan.id,
                    errors.first().map(|e| e.to_string()).unwrap_or_default()
                ))
            })?;
        let mode = RoundingChoice::parse(&plan.rounding)
            .unwrap_or(RoundingChoice::HalfUp)
            .mode();
        let compiled = Arc::new(PlanDeck {
            plan_id: plan.id,
            live_revision_id: plan.live_revision_id,
            currency,
            policy: RatingPolicy {
                rounding: Rounding {
                    scale: plan.rounding_decimals.clamp(0, 6) as u8,
                    mode,
                },
                currency: Some(currency),
                charge_unanswered: false,
            },
            deck,
        });
        self.decks
            .lock()
            .expect("deck cache")
            .insert(plan.id, compiled.clone());
        Ok(compiled)
    }
}
