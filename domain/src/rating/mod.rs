//! The rating engine: exact, explainable, and built for speed.
//!
//! - [`BillingIncrement`] and [`billed_seconds`]: how many seconds a call is billed;
//! - [`PrefixIndex`]: longest-prefix match over dial codes;
//! - [`CompiledDeck`]: a rate-deck revision compiled from [`RateDeckRow`]s, rating a
//!   [`CallToRate`] into a [`Rating`] (price + explanation) or a typed [`NoRate`];
//! - [`DeckHandle`]: the revision in force, swapped atomically when a new one is published.
//!
//! Money is `i64` micro-units (see [`crate::money`]); time is UTC.

mod deck;
mod engine;
mod increment;
mod index;

#[cfg(feature = "synthetic")]
pub mod synthetic;

pub use deck::{CompiledDeck, DeckError, DeckHandle, PlanDeck, RateDeckRow, MAX_PREFIX_DIGITS};
pub use engine::{
    BillableDuration, CallToRate, ExactCost, NoRate, Rating, RatingPolicy, Rounding, RoundingMode,
};
pub use increment::{billed_seconds, BillingIncrement};
pub use index::{MergedIndex, MergedRow, PrefixIndex, PrefixKeys, MAX_DEPTH, MAX_MERGED};
