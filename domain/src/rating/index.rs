//! Longest-prefix match over dial codes, built for memory-level parallelism.
//!
//! A dial code of `k` digits is stored in one open-addressing hash table under the key
//! `(digits as an integer, k)`. To look a number up, the keys of its prefixes of every
//! length that occurs in the deck are computed first; their probes do not depend on one
//! another, so the CPU overlaps their cache misses instead of walking a chain of them (a
//! digit trie pays one dependent miss per digit). Dial codes have at most 15 digits (ITU-T
//! E.164 §6), so a key fits in a `u64`. Immutable once built; share it behind an `Arc`.

/// Longest dial code, in digits (ITU-T E.164: numbers have at most 15 digits).
pub const MAX_DEPTH: usize = 15;

#[derive(Clone, Copy)]
#[repr(C)]
struct Slot {
    /// `digits << 4 | length`; 0 = empty (a code has at least one digit).
    key: u64,
    value: u64,
}

const EMPTY: Slot = Slot { key: 0, value: 0 };

/// Maps digit-string prefixes (1–15 digits) to `u64` values (a slot is 16 bytes either way); answers "every prefix of this
/// number that has a value".
#[derive(Clone)]
pub struct PrefixIndex {
    slots: Vec<Slot>,
    shift: u32,
    /// Bit `k` set: some code has `k` digits.
    lengths: u16,
    len: usize,
}

#[inline]
fn key(digits: u64, length: usize) -> u64 {
    (digits << 4) | length as u64
}

impl PrefixIndex {
    #[inline]
    fn home(&self, key: u64) -> usize {
        // Fibonacci hashing (Knuth, TAOCP vol. 3 §6.4).
        (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> self.shift) as usize
    }

    /// Builds the index from `(code, value)` pairs; a repeated code keeps its last value.
    /// Codes are 1–15 ASCII digits: callers validate them first (this panics otherwise).
    pub fn build<'a>(codes: impl ExactSizeIterator<Item = (&'a [u8], u64)>) -> PrefixIndex {
        // Load factor ≤ 0.5: most probes end at the first slot.
        let capacity = (codes.len().max(8) * 2).next_power_of_two();
        let mut index = PrefixIndex {
            slots: vec![EMPTY; capacity],
            shift: 64 - capacity.trailing_zeros(),
            lengths: 0,
            len: 0,
        };
        let mask = capacity - 1;
        for (code, value) in codes {
            assert!(!code.is_empty() && code.len() <= MAX_DEPTH, "code length");
            assert!(code.iter().all(u8::is_ascii_digit), "code digits");
            let digits = code.iter().fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
            let k = key(digits, code.len());
            let mut i = index.home(k);
            loop {
                let slot = &mut index.slots[i];
                if slot.key == 0 {
                    *slot = Slot { key: k, value };
                    index.len += 1;
                    break;
                }
                if slot.key == k {
                    slot.value = value;
                    break;
                }
                i = (i + 1) & mask;
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

    /// Writes into `out` the `(prefix length, value)` of every prefix of `number` that is a
    /// code, shortest first, and returns how many. Reads at most 15 digits and stops at the
    /// first non-digit.
    #[inline]
    pub fn matches(&self, number: &[u8], out: &mut [(u8, u64); MAX_DEPTH]) -> usize {
        let mut keys = [0u64; MAX_DEPTH + 1];
        let mut homes = [0usize; MAX_DEPTH + 1];
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
            homes[depth] = self.home(keys[depth]);
        }
        // Pass 1: load every home slot, no branch between the loads, so the misses overlap.
        let mut first = [EMPTY; MAX_DEPTH + 1];
        for k in 1..=depth {
            first[k] = self.slots[homes[k]];
        }
        // Pass 2: compare; follow the probe sequence only on a collision (rare at load ≤ ½).
        let mask = self.slots.len() - 1;
        let mut found = 0;
        for k in 1..=depth {
            if self.lengths & (1 << k) == 0 {
                continue;
            }
            let mut slot = first[k];
            let mut i = homes[k];
            while slot.key != keys[k] && slot.key != 0 {
                i = (i + 1) & mask;
                slot = self.slots[i];
            }
            if slot.key == keys[k] {
                out[found] = (k as u8, slot.value);
                found += 1;
            }
        }
        found
    }

    /// The value of the longest prefix of `number` that is a code, with its length.
    #[inline]
    pub fn longest(&self, number: &[u8]) -> Option<(u8, u64)> {
        let mut out = [(0u8, 0u64); MAX_DEPTH];
        let n = self.matches(number, &mut out);
        (n > 0).then(|| out[n - 1])
    }

    /// Bytes of memory the index holds.
    pub fn heap_bytes(&self) -> usize {
        self.slots.capacity() * std::mem::size_of::<Slot>()
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
