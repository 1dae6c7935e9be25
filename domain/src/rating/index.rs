//! Longest-prefix match over dial codes, built for memory-level parallelism.
//!
//! A dial code of `k` digits is stored in one open-addressing hash table under the key
//! `(digits as an integer, k)`. To look a number up, the keys of its prefixes of every
//! length that occurs in the deck are computed first; their probes do not depend on one
//! another, so the CPU overlaps their cache misses instead of walking a chain of them (a
//! digit trie pays one dependent miss per digit). Dial codes have at most 15 digits (ITU-T
//! E.164 §6), so a key fits in a `u64`. Immutable once built; share it behind an `Arc`.
//!
//! The table is made of 64-byte buckets of four slots, one cache line each: a probe reads
//! one line and compares its four keys without branching; it reads the next bucket only
//! when a full bucket did not hold the key (rare at the load factor of ½ kept here).
//! Several indexes read for one call (a routing decision: the sell deck, the routing
//! plan, the suppliers' decks) can have their lines loaded together first with
//! [`PrefixIndex::touch_all`], then be read from the cache.

/// Longest dial code, in digits (ITU-T E.164: numbers have at most 15 digits).
pub const MAX_DEPTH: usize = 15;

/// Fibonacci hashing's multiplier (Knuth, TAOCP vol. 3 §6.4): 2^64 / φ.
const FIBONACCI: u64 = 0x9E37_79B9_7F4A_7C15;

#[derive(Clone, Copy)]
#[repr(C)]
struct Slot {
    /// `digits << 4 | length`; 0 = empty (a code has at least one digit).
    key: u64,
    value: u64,
}

const EMPTY: Slot = Slot { key: 0, value: 0 };

/// Four slots in one cache line.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Bucket([Slot; 4]);

const EMPTY_BUCKET: Bucket = Bucket([EMPTY; 4]);

impl Bucket {
    /// The value under `key` if this bucket holds it; `Err(true)` when it does not and is
    /// full (the key may be in the next bucket), `Err(false)` when it does not and has
    /// room (the key is absent).
    #[inline]
    fn find(&self, key: u64) -> Result<u64, bool> {
        let mut value = 0;
        let mut hit = false;
        let mut full = true;
        for slot in &self.0 {
            let same = slot.key == key;
            hit |= same;
            value |= if same { slot.value } else { 0 };
            full &= slot.key != 0;
        }
        if hit {
            Ok(value)
        } else {
            Err(full)
        }
    }
}

/// Maps digit-string prefixes (1–15 digits) to `u64` values; answers "every prefix of
/// this number that has a value" and "the longest".
#[derive(Clone)]
pub struct PrefixIndex {
    buckets: Vec<Bucket>,
    shift: u32,
    /// Bit `k` set: some code has `k` digits.
    lengths: u16,
    len: usize,
}

#[inline]
fn key(digits: u64, length: usize) -> u64 {
    (digits << 4) | length as u64
}

/// The keys of a number's prefixes (one per length, up to 15 digits, stopping at the
/// first non-digit) and their hashes, computed once for every index a lookup reads.
#[derive(Clone, Copy)]
pub struct PrefixKeys {
    keys: [u64; MAX_DEPTH + 1],
    hashes: [u64; MAX_DEPTH + 1],
    depth: u8,
}

impl PrefixKeys {
    /// The keys of `number`'s prefixes.
    #[inline]
    pub fn new(number: &[u8]) -> PrefixKeys {
        let mut keys = [0u64; MAX_DEPTH + 1];
        let mut hashes = [0u64; MAX_DEPTH + 1];
        let mut digits = 0u64;
        let mut depth = 0;
        for &d in number.iter().take(MAX_DEPTH) {
            let digit = d.wrapping_sub(b'0');
            if digit > 9 {
                break;
            }
            digits = digits * 10 + u64::from(digit);
            depth += 1;
            keys[depth] = key(digits, depth);
            hashes[depth] = keys[depth].wrapping_mul(FIBONACCI);
        }
        PrefixKeys {
            keys,
            hashes,
            depth: depth as u8,
        }
    }

    /// Digits read (0–15).
    pub fn depth(&self) -> usize {
        usize::from(self.depth)
    }
}

impl PrefixIndex {
    #[inline]
    fn home(&self, hash: u64) -> usize {
        (hash >> self.shift) as usize
    }

    /// Builds the index from `(code, value)` pairs; a repeated code keeps its last value.
    /// Codes are 1–15 ASCII digits: callers validate them first (this panics otherwise).
    pub fn build<'a>(codes: impl ExactSizeIterator<Item = (&'a [u8], u64)>) -> PrefixIndex {
        // Load factor ≤ ½: most buckets have room, so most probes read one line.
        let buckets = (codes.len().max(8) * 2 / 4).next_power_of_two();
        let mut index = PrefixIndex {
            buckets: vec![EMPTY_BUCKET; buckets],
            shift: 64 - buckets.trailing_zeros(),
            lengths: 0,
            len: 0,
        };
        let mask = buckets - 1;
        for (code, value) in codes {
            assert!(!code.is_empty() && code.len() <= MAX_DEPTH, "code length");
            assert!(code.iter().all(u8::is_ascii_digit), "code digits");
            let digits = code.iter().fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
            let k = key(digits, code.len());
            let mut b = index.home(k.wrapping_mul(FIBONACCI));
            'insert: loop {
                for slot in &mut index.buckets[b].0 {
                    if slot.key == 0 {
                        *slot = Slot { key: k, value };
                        index.len += 1;
                        break 'insert;
                    }
                    if slot.key == k {
                        slot.value = value;
                        break 'insert;
                    }
                }
                b = (b + 1) & mask;
            }
            index.lengths |= 1 << code.len();
        }
        index
    }

    /// Number of codes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when there is no code.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The value under prefix `k` (1–15) of `keys`, if it is a code.
    #[inline]
    fn get(&self, keys: &PrefixKeys, k: usize) -> Option<u64> {
        let mask = self.buckets.len() - 1;
        let mut b = self.home(keys.hashes[k]);
        loop {
            match self.buckets[b].find(keys.keys[k]) {
                Ok(value) => return Some(value),
                Err(false) => return None,
                Err(true) => b = (b + 1) & mask,
            }
        }
    }

    /// Writes into `out` the `(prefix length, value)` of every prefix of `number` that is a
    /// code, shortest first, and returns how many. Reads at most 15 digits and stops at the
    /// first non-digit.
    #[inline]
    pub fn matches(&self, number: &[u8], out: &mut [(u8, u64); MAX_DEPTH]) -> usize {
        let keys = PrefixKeys::new(number);
        self.touch(&keys);
        self.matches_of(&keys, out)
    }

    /// [`PrefixIndex::matches`] for keys already computed.
    #[inline]
    pub fn matches_of(&self, keys: &PrefixKeys, out: &mut [(u8, u64); MAX_DEPTH]) -> usize {
        let mut found = 0;
        for k in 1..=usize::from(keys.depth) {
            if self.lengths & (1 << k) != 0 {
                if let Some(value) = self.get(keys, k) {
                    out[found] = (k as u8, value);
                    found += 1;
                }
            }
        }
        found
    }

    /// The value of the longest prefix of `number` that is a code, with its length.
    #[inline]
    pub fn longest(&self, number: &[u8]) -> Option<(u8, u64)> {
        let keys = PrefixKeys::new(number);
        self.touch(&keys);
        self.longest_of(&keys)
    }

    /// [`PrefixIndex::longest`] for keys already computed: the lengths are tried from the
    /// longest down, so it stops at the first code (read after [`PrefixIndex::touch_all`],
    /// the lines are in the cache and the early stop saves the comparisons).
    #[inline]
    pub fn longest_of(&self, keys: &PrefixKeys) -> Option<(u8, u64)> {
        // The lengths some code has, up to the number's: bit k = k digits.
        let mut lengths = u32::from(self.lengths) & ((2u32 << keys.depth) - 2);
        while lengths != 0 {
            let k = (31 - lengths.leading_zeros()) as usize;
            if let Some(value) = self.get(keys, k) {
                return Some((k as u8, value));
            }
            lengths &= !(1 << k);
        }
        None
    }

    /// Loads the home bucket of every prefix of `keys` whose length some code has, with no
    /// branch between the loads, and returns a value folded from them (pass it to
    /// `std::hint::black_box`, so the loads are not optimised away).
    #[inline]
    pub fn touch(&self, keys: &PrefixKeys) -> u64 {
        let mut lengths = u32::from(self.lengths) & ((2u32 << keys.depth) - 2);
        let mut folded = 0;
        while lengths != 0 {
            let k = lengths.trailing_zeros() as usize;
            folded ^= self.buckets[self.home(keys.hashes[k])].0[0].key;
            lengths &= lengths - 1;
        }
        folded
    }

    /// [`PrefixIndex::touch`] for several indexes at once, one after the other in a tight
    /// loop (a few instructions a load), so that the misses of all the indexes are in
    /// flight together before any of them is read.
    #[inline]
    pub fn touch_all(indexes: &[&PrefixIndex], keys: &PrefixKeys) -> u64 {
        indexes
            .iter()
            .fold(0, |folded, index| folded ^ index.touch(keys))
    }

    /// Bytes of memory the index holds.
    pub fn heap_bytes(&self) -> usize {
        self.buckets.capacity() * std::mem::size_of::<Bucket>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn index(codes: &[&str]) -> PrefixIndex {
        PrefixIndex::build(
            codes
                .iter()
                .enumerate()
                .map(|(i, c)| (c.as_bytes(), i as u64))
                .collect::<Vec<_>>()
                .into_iter(),
        )
    }

    #[test]
    fn longest_prefix_wins() {
        let t = index(&["44", "447", "44770"]);
        assert_eq!(t.longest(b"447700900123"), Some((5, 2)));
        assert_eq!(t.longest(b"447800900123"), Some((3, 1)));
        assert_eq!(t.longest(b"442071234567"), Some((2, 0)));
        assert_eq!(t.longest(b"33123"), None);
        assert_eq!(t.longest(b""), None);
        assert_eq!(t.longest(b"44a7"), Some((2, 0)), "stops at a non-digit");
        assert_eq!(t.len(), 3);
        let repeated = index(&["1", "1"]);
        assert_eq!(
            (repeated.len(), repeated.longest(b"1555")),
            (1, Some((1, 1)))
        );
        // Same digits, different lengths are different codes ("0" vs "00").
        let zeros = index(&["0", "00"]);
        assert_eq!(zeros.longest(b"001"), Some((2, 1)));
        assert_eq!(zeros.longest(b"01"), Some((1, 0)));
    }

    proptest! {
        #[test]
        fn equals_a_brute_force_scan(
            codes in proptest::collection::vec("[0-9]{1,8}", 1..300),
            numbers in proptest::collection::vec("[0-9]{0,16}", 1..50),
        ) {
            let t = PrefixIndex::build(codes.iter().enumerate().map(|(i, p)| (p.as_bytes(), i as u64)).collect::<Vec<_>>().into_iter());
            for n in &numbers {
                let head = &n[..n.len().min(MAX_DEPTH)];
                // Brute force: the longest code that prefixes the number, its last value.
                let expected = codes
                    .iter()
                    .enumerate()
                    .filter(|(_, p)| head.starts_with(p.as_str()))
                    .max_by_key(|(i, p)| (p.len(), *i))
                    .map(|(i, p)| (p.len() as u8, i as u64));
                prop_assert_eq!(t.longest(n.as_bytes()), expected);
            }
        }
    }
}
