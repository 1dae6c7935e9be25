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
//! [`PrefixIndex::touch_all`], then be read from the cache; better still, merged into one
//! [`MergedIndex`], whose single lookup answers for all of them.

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
        let mut index = PrefixIndex::with_room(codes.len());
        for (code, value) in codes {
            assert!(!code.is_empty() && code.len() <= MAX_DEPTH, "code length");
            assert!(code.iter().all(u8::is_ascii_digit), "code digits");
            let digits = code.iter().fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
            index.insert(digits, code.len(), value);
        }
        index
    }

    /// An empty index sized for `codes` codes (load factor ≤ ½: most buckets have room,
    /// so most probes read one line).
    fn with_room(codes: usize) -> PrefixIndex {
        let buckets = (codes.max(8) * 2 / 4).next_power_of_two();
        PrefixIndex {
            buckets: vec![EMPTY_BUCKET; buckets],
            shift: 64 - buckets.trailing_zeros(),
            lengths: 0,
            len: 0,
        }
    }

    /// Puts `value` under the code of `length` (1–15) digits whose integer is `digits`.
    fn insert(&mut self, digits: u64, length: usize, value: u64) {
        let k = key(digits, length);
        let mask = self.buckets.len() - 1;
        let mut b = self.home(k.wrapping_mul(FIBONACCI));
        'insert: loop {
            for slot in &mut self.buckets[b].0 {
                if slot.key == 0 {
                    *slot = Slot { key: k, value };
                    self.len += 1;
                    break 'insert;
                }
                if slot.key == k {
                    slot.value = value;
                    break 'insert;
                }
            }
            b = (b + 1) & mask;
        }
        self.lengths |= 1 << length;
    }

    /// Every code with its value, in the table's order: `(digits as an integer, length,
    /// value)`. The digits and the length are the code ("044" is `(44, 3)`).
    pub fn entries(&self) -> impl Iterator<Item = (u64, u8, u64)> + '_ {
        self.buckets
            .iter()
            .flat_map(|b| b.0.iter())
            .filter(|s| s.key != 0)
            .map(|s| (s.key >> 4, (s.key & 0xF) as u8, s.value))
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

/// Most indexes one [`MergedIndex`] merges: a row of their answers fills one cache line.
pub const MAX_MERGED: usize = 7;

// A code's place in `MergedIndex::build` keeps 3 bits for the table.
const _: () = assert!(MAX_MERGED <= 8);

/// Powers of ten up to 10^15.
const POW10: [u64; MAX_DEPTH + 1] = {
    let mut p = [1u64; MAX_DEPTH + 1];
    let mut i = 1;
    while i <= MAX_DEPTH {
        p[i] = p[i - 1] * 10;
        i += 1;
    }
    p
};

/// The answers of every merged index for one code of any of them: for index `t`, its
/// longest code that is a prefix of that code (the code itself when `t` has it), as
/// `(length, value)`. One cache line.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
pub struct MergedRow {
    values: [u64; MAX_MERGED],
    /// Digits of index `t`'s code; 0 = it has none.
    lengths: [u8; MAX_MERGED],
}

const EMPTY_ROW: MergedRow = MergedRow {
    values: [0; MAX_MERGED],
    lengths: [0; MAX_MERGED],
};

impl MergedRow {
    /// Index `table`'s longest code as [`PrefixIndex::longest_of`] gives it: `(length,
    /// value)`, `None` when it has no code on the way. Panics if `table` ≥
    /// [`MAX_MERGED`].
    #[inline]
    pub fn get(&self, table: usize) -> Option<(u8, u64)> {
        let length = self.lengths[table];
        (length != 0).then_some((length, self.values[table]))
    }
}

/// Several [`PrefixIndex`]es answered by one lookup: the codes of all of them in one
/// table, each with a [`MergedRow`] of every index's longest code on its way.
///
/// Why it is right: the longest code `C` of any index that prefixes a number is found
/// first; every code of index `t` that prefixes the number is then a prefix of `C` (it is
/// a code of the union no longer than `C`), so `t`'s longest one is the one stored in
/// `C`'s row. A routing decision reads the sell deck, the routing plan and the supplier
/// decks: with them merged it probes one table per code length instead of one per index
/// and reads one row, so a call touches about a fifth of the cache lines.
///
/// Memory: 32 bytes a code for the table (load factor ≤ ½), 64 bytes a code for its row,
/// over the codes of the union.
pub struct MergedIndex {
    /// Every code of the union; the value is its row in `rows`.
    codes: PrefixIndex,
    rows: Vec<MergedRow>,
    tables: usize,
}

impl MergedIndex {
    /// Merges `tables` (at most [`MAX_MERGED`]; row column `t` answers for
    /// `tables[t]`). Sorts the codes of all of them once: O(n log n) for n codes in all.
    ///
    /// Panics if more than [`MAX_MERGED`] tables are given.
    pub fn build(tables: &[&PrefixIndex]) -> MergedIndex {
        assert!(tables.len() <= MAX_MERGED, "at most {MAX_MERGED} indexes");
        // Every code of every table under its place in dial-code order: its digits padded
        // to 15 (a prefix sorts before the codes it starts, and right before them), then
        // its length ("1" before "10"), then the table; `place << 3 | table` in one word
        // (10^15 < 2^50: 50 + 4 + 3 bits).
        let place = |digits: u64, length: u8| {
            (digits * POW10[MAX_DEPTH - usize::from(length)]) << 4 | u64::from(length)
        };
        let mut all: Vec<(u64, u64)> = Vec::with_capacity(tables.iter().map(|t| t.len()).sum());
        for (t, index) in tables.iter().enumerate() {
            all.extend(
                index
                    .entries()
                    .map(|(digits, length, value)| (place(digits, length) << 3 | t as u64, value)),
            );
        }
        all.sort_unstable_by_key(|&(order, _)| order);
        let distinct = all
            .windows(2)
            .filter(|w| w[0].0 >> 3 != w[1].0 >> 3)
            .count()
            + 1;
        let mut codes = PrefixIndex::with_room(distinct);
        let mut rows: Vec<MergedRow> = Vec::with_capacity(distinct);
        // The codes of the union that prefix the current one, shortest first:
        // `(digits, length, row)`.
        let mut open: Vec<(u64, usize, usize)> = Vec::with_capacity(MAX_DEPTH);
        let mut i = 0;
        while i < all.len() {
            let place = all[i].0 >> 3;
            let length = (place & 0xF) as usize;
            let digits = (place >> 4) / POW10[MAX_DEPTH - length];
            while let Some(&(d, l, _)) = open.last() {
                if l < length && digits / POW10[length - l] == d {
                    break;
                }
                open.pop();
            }
            let mut row = open.last().map_or(EMPTY_ROW, |&(_, _, r)| rows[r]);
            while i < all.len() && all[i].0 >> 3 == place {
                let (order, value) = all[i];
                let table = (order & 7) as usize;
                row.values[table] = value;
                row.lengths[table] = length as u8;
                i += 1;
            }
            codes.insert(digits, length, rows.len() as u64);
            open.push((digits, length, rows.len()));
            rows.push(row);
        }
        MergedIndex {
            codes,
            rows,
            tables: tables.len(),
        }
    }

    /// Indexes merged.
    pub fn tables(&self) -> usize {
        self.tables
    }

    /// Codes of the union.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True when no merged index had a code.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// [`PrefixIndex::touch`] of the union's table: call it before
    /// [`MergedIndex::longest_of`] so the probes' misses overlap.
    #[inline]
    pub fn touch(&self, keys: &PrefixKeys) -> u64 {
        self.codes.touch(keys)
    }

    /// The row of the longest code of the union that prefixes `keys`' number; `None`
    /// when no merged index has one (then none of them has a match).
    #[inline]
    pub fn longest_of(&self, keys: &PrefixKeys) -> Option<&MergedRow> {
        self.codes
            .longest_of(keys)
            .map(|(_, row)| &self.rows[row as usize])
    }

    /// Bytes of memory the merged index holds.
    pub fn heap_bytes(&self) -> usize {
        self.codes.heap_bytes() + self.rows.capacity() * std::mem::size_of::<MergedRow>()
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

    #[test]
    fn entries_give_back_the_codes() {
        let t = index(&["44", "044", "7", "447700"]);
        let mut got: Vec<_> = t.entries().collect();
        got.sort_unstable();
        assert_eq!(got, vec![(7, 1, 2), (44, 2, 0), (44, 3, 1), (447700, 6, 3)]);
    }

    #[test]
    fn merged_rows_hold_each_index_longest_code() {
        let sell = index(&["44", "4477", "33"]);
        let plan = index(&["4", "447"]);
        let merged = MergedIndex::build(&[&sell, &plan]);
        assert_eq!((merged.tables(), merged.len()), (2, 5));
        let row = |n: &str| {
            merged
                .longest_of(&PrefixKeys::new(n.as_bytes()))
                .map(|r| (r.get(0), r.get(1)))
        };
        assert_eq!(row("447712345"), Some((Some((4, 1)), Some((3, 1)))));
        assert_eq!(row("447812345"), Some((Some((2, 0)), Some((3, 1)))));
        assert_eq!(row("441234"), Some((Some((2, 0)), Some((1, 0)))));
        assert_eq!(row("331234"), Some((Some((2, 2)), None)));
        assert_eq!(row("491234"), Some((None, Some((1, 0)))));
        assert_eq!(row("1234"), None);
    }

    proptest! {
        #[test]
        fn merged_equals_each_index_alone(
            tables in proptest::collection::vec(
                proptest::collection::vec("[0-9]{1,6}", 0..80), 1..=MAX_MERGED),
            numbers in proptest::collection::vec("[0-9]{0,16}", 1..60),
        ) {
            let indexes: Vec<PrefixIndex> = tables
                .iter()
                .map(|codes| PrefixIndex::build(codes.iter().enumerate().map(|(i, p)| (p.as_bytes(), i as u64 * 7 + 3)).collect::<Vec<_>>().into_iter()))
                .collect();
            let refs: Vec<&PrefixIndex> = indexes.iter().collect();
            let merged = MergedIndex::build(&refs);
            for n in &numbers {
                let keys = PrefixKeys::new(n.as_bytes());
                let row = merged.longest_of(&keys);
                for (t, index) in indexes.iter().enumerate() {
                    prop_assert_eq!(row.and_then(|r| r.get(t)), index.longest_of(&keys), "table {} number {}", t, n);
                }
            }
        }

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
