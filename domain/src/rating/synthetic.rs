//! Benchmark decks shaped like real ones: dial codes grow under real ITU-T E.164 country
//! codes (ITU-T E.164 Annex to Operational Bulletin, the assigned list), weighted by how
//! many breakouts wholesale decks carry per country, with area/operator digits appended to
//! 2–9 digits in all. Numbers to look up are drawn under those codes. Deterministic
//! (seeded xorshift), no dependencies. Only for benchmarks and load scripts.

use super::deck::RateDeckRow;
use super::increment::BillingIncrement;
use crate::money::Currency;
use chrono::{TimeZone, Utc};

/// Real country calling codes with a weight (≈ share of breakouts in wholesale decks).
const COUNTRY_CODES: &[(&str, u32)] = &[
    ("1", 60),
    ("7", 20),
    ("20", 6),
    ("27", 6),
    ("30", 3),
    ("31", 4),
    ("32", 3),
    ("33", 8),
    ("34", 6),
    ("36", 3),
    ("39", 8),
    ("40", 3),
    ("41", 3),
    ("43", 3),
    ("44", 12),
    ("45", 2),
    ("46", 3),
    ("47", 2),
    ("48", 4),
    ("49", 12),
    ("51", 4),
    ("52", 10),
    ("53", 2),
    ("54", 6),
    ("55", 14),
    ("56", 4),
    ("57", 6),
    ("58", 4),
    ("60", 5),
    ("61", 5),
    ("62", 14),
    ("63", 8),
    ("64", 2),
    ("65", 2),
    ("66", 6),
    ("81", 6),
    ("82", 5),
    ("84", 8),
    ("86", 30),
    ("90", 6),
    ("91", 40),
    ("92", 10),
    ("93", 3),
    ("94", 3),
    ("95", 3),
    ("98", 6),
    ("212", 4),
    ("213", 4),
    ("216", 2),
    ("218", 2),
    ("220", 1),
    ("221", 2),
    ("223", 2),
    ("224", 2),
    ("225", 3),
    ("226", 2),
    ("227", 1),
    ("228", 1),
    ("229", 2),
    ("230", 1),
    ("231", 1),
    ("232", 1),
    ("233", 4),
    ("234", 8),
    ("235", 1),
    ("236", 1),
    ("237", 3),
    ("238", 1),
    ("239", 1),
    ("240", 1),
    ("241", 1),
    ("242", 1),
    ("243", 3),
    ("244", 2),
    ("245", 1),
    ("248", 1),
    ("249", 2),
    ("250", 2),
    ("251", 3),
    ("252", 2),
    ("253", 1),
    ("254", 4),
    ("255", 3),
    ("256", 3),
    ("257", 1),
    ("258", 2),
    ("260", 2),
    ("261", 2),
    ("262", 1),
    ("263", 2),
    ("264", 1),
    ("265", 1),
    ("266", 1),
    ("267", 1),
    ("268", 1),
    ("269", 1),
    ("290", 1),
    ("291", 1),
    ("297", 1),
    ("298", 1),
    ("299", 1),
    ("350", 1),
    ("351", 3),
    ("352", 1),
    ("353", 2),
    ("354", 1),
    ("355", 2),
    ("356", 1),
    ("357", 1),
    ("358", 2),
    ("359", 2),
    ("370", 1),
    ("371", 1),
    ("372", 1),
    ("373", 1),
    ("374", 1),
    ("375", 2),
    ("376", 1),
    ("377", 1),
    ("378", 1),
    ("380", 4),
    ("381", 2),
    ("382", 1),
    ("383", 1),
    ("385", 2),
    ("386", 1),
    ("387", 1),
    ("389", 1),
    ("420", 2),
    ("421", 1),
    ("423", 1),
    ("500", 1),
    ("501", 1),
    ("502", 2),
    ("503", 2),
    ("504", 2),
    ("505", 2),
    ("506", 2),
    ("507", 1),
    ("509", 2),
    ("591", 2),
    ("592", 1),
    ("593", 2),
    ("595", 2),
    ("597", 1),
    ("598", 1),
    ("670", 1),
    ("673", 1),
    ("675", 1),
    ("676", 1),
    ("677", 1),
    ("678", 1),
    ("679", 1),
    ("685", 1),
    ("686", 1),
    ("687", 1),
    ("689", 1),
    ("852", 3),
    ("853", 1),
    ("855", 2),
    ("856", 2),
    ("880", 5),
    ("886", 3),
    ("960", 1),
    ("961", 2),
    ("962", 2),
    ("963", 2),
    ("964", 3),
    ("965", 1),
    ("966", 4),
    ("967", 2),
    ("968", 1),
    ("970", 2),
    ("971", 4),
    ("972", 3),
    ("973", 1),
    ("974", 1),
    ("975", 1),
    ("976", 1),
    ("977", 2),
    ("992", 2),
    ("993", 1),
    ("994", 2),
    ("995", 2),
    ("996", 2),
    ("998", 3),
];

/// A seeded xorshift64* generator (deterministic benchmark data).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

fn pick_country(rng: &mut Rng) -> &'static str {
    let total: u32 = COUNTRY_CODES.iter().map(|c| c.1).sum();
    let mut x = rng.below(u64::from(total)) as u32;
    for (code, w) in COUNTRY_CODES {
        if x < *w {
            return code;
        }
        x -= w;
    }
    COUNTRY_CODES[0].0
}

/// `count` distinct dial codes (plus every country code), deterministic for a seed.
pub fn prefixes(count: usize, seed: u64) -> Vec<String> {
    let mut rng = Rng::new(seed);
    let mut set: std::collections::HashSet<String> =
        COUNTRY_CODES.iter().map(|c| c.0.to_owned()).collect();
    while set.len() < count {
        let cc = pick_country(&mut rng);
        // Total length 2–9 digits, skewed toward 5–7 (area/operator codes).
        let total = 2 + (rng.below(4) + rng.below(5)) as usize;
        let mut p = String::from(cc);
        while p.len() < total.max(cc.len() + 1) {
            p.push((b'0' + rng.below(10) as u8) as char);
        }
        set.insert(p);
    }
    let mut v: Vec<String> = set.into_iter().collect();
    v.sort_unstable();
    v
}

/// A deck over `prefixes`: one open revision per code, with varied rates and increments.
pub fn deck_rows(prefixes: &[String], seed: u64) -> Vec<RateDeckRow> {
    let mut rng = Rng::new(seed ^ 0x9E37_79B9);
    let increments =
        ["1/1", "60/60", "30/6", "6/6", "60/1"].map(|s| BillingIncrement::parse(s).expect("valid"));
    let from = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let usd = Currency::parse("USD").expect("valid");
    prefixes
        .iter()
        .enumerate()
        .map(|(i, p)| RateDeckRow {
            line: i as u32 + 2,
            prefix: p.clone(),
            destination: format!("Destination {}", &p[..p.len().min(4)]),
            rate_micros: 1_000 + rng.below(250_000) as i64,
            connection_fee_micros: 0,
            increment: increments[rng.below(5) as usize],
            minimum_s: 0,
            grace_s: 0,
            effective_from: from,
            effective_to: None,
            currency: usd,
        })
        .collect()
}

/// `count` numbers to rate: 12-digit numbers under random codes of `prefixes` (so the
/// deep codes are exercised), and one in ten under a bare country code.
pub fn numbers(prefixes: &[String], count: usize, seed: u64) -> Vec<String> {
    let mut rng = Rng::new(seed ^ 0xD1B5_4A32);
    (0..count)
        .map(|i| {
            let mut n = if i % 10 == 0 {
                pick_country(&mut rng).to_owned()
            } else {
                prefixes[rng.below(prefixes.len() as u64) as usize].clone()
            };
            while n.len() < 12 {
                n.push((b'0' + rng.below(10) as u8) as char);
            }
            n
        })
        .collect()
}

/// `count` numbers with the skew of real carrier traffic: the code of each call is drawn
/// with probability ≈ 1/rank (Zipf, s = 1, via a log-uniform rank), the hot codes being
/// scattered across the deck rather than adjacent. A few thousand destinations then carry
/// most calls, as in wholesale traffic.
pub fn skewed_numbers(prefixes: &[String], count: usize, seed: u64) -> Vec<String> {
    let mut rng = Rng::new(seed ^ 0x5851_F42D);
    let n = prefixes.len() as f64;
    (0..count)
        .map(|_| {
            let u = rng.below(1 << 53) as f64 / (1u64 << 53) as f64;
            let rank = (n.powf(u) as u64).saturating_sub(1);
            let index = (rank.wrapping_mul(2_654_435_761) % prefixes.len() as u64) as usize;
            let mut number = prefixes[index].clone();
            while number.len() < 12 {
                number.push((b'0' + rng.below(10) as u8) as char);
            }
            number
        })
        .collect()
}
