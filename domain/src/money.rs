//! Exact money: amounts are `i64` micro-units (1 = 10⁻⁶ of the currency unit), never
//! floating point (DESIGN.md, "Money"). Decimal text is parsed and printed exactly.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Micro-units per currency unit.
pub const MICROS_PER_UNIT: i64 = 1_000_000;

/// Why a decimal amount could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("`{0}` is not a decimal number")]
    NotANumber(String),
    #[error("`{0}` has more than 6 decimal places (the smallest unit is 0.000001)")]
    TooPrecise(String),
    #[error("`{0}` is too large")]
    TooLarge(String),
}

/// Parses decimal text (`"0.0123"`, `"-1.5"`, `"12"`, `"1e-3"` is refused) into micro-units,
/// exactly. At most 6 decimals; trailing zeros beyond 6 decimals are accepted.
pub fn parse_micros(text: &str) -> Result<i64, MoneyError> {
    let t = text.trim();
    let (negative, digits) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let (whole, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let valid = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && frac.is_empty()) || !valid(whole) || !valid(frac) {
        return Err(MoneyError::NotANumber(text.to_owned()));
    }
    let frac_trimmed = frac.trim_end_matches('0');
    if frac_trimmed.len() > 6 {
        return Err(MoneyError::TooPrecise(text.to_owned()));
    }
    let too_large = || MoneyError::TooLarge(text.to_owned());
    let whole: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| too_large())?
    };
    let mut frac_micros: i64 = 0;
    for (i, b) in frac_trimmed.bytes().enumerate() {
        frac_micros += i64::from(b - b'0') * 10_i64.pow(5 - i as u32);
    }
    let value = whole
        .checked_mul(MICROS_PER_UNIT)
        .and_then(|w| w.checked_add(frac_micros))
        .ok_or_else(too_large)?;
    Ok(if negative { -value } else { value })
}

/// Prints micro-units with exactly `decimals` places (0–6), truncating nothing: pass 6
/// for rates, the currency's minor digits (e.g. 2) only for amounts already rounded to it.
pub fn format_micros(micros: i64, decimals: u8) -> String {
    let decimals = decimals.min(6) as u32;
    let sign = if micros < 0 { "-" } else { "" };
    let abs = micros.unsigned_abs();
    let whole = abs / MICROS_PER_UNIT as u64;
    let frac = abs % MICROS_PER_UNIT as u64;
    if decimals == 0 {
        return format!("{sign}{whole}");
    }
    let frac = frac / 10_u64.pow(6 - decimals);
    format!("{sign}{whole}.{frac:0width$}", width = decimals as usize)
}

/// A decimal amount without trailing zeros beyond 4 places (`0.1237`, `0.0100`).
pub fn rate_text(micros: i64) -> String {
    RateText(micros).to_string()
}

/// [`rate_text`] as a `Display` value, for messages built without a `String` per amount.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateText(pub i64);

impl fmt::Display for RateText {
    /// Writes the digits into a stack buffer and hands the formatter one `&str`: the
    /// routing decision writes three of these per supplier it refuses, and `write!` with
    /// a zero-padded width cost about as much as the rest of a refusal's reason.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Sign, up to 13 whole digits (i64::MAX / 10^6), the point, up to 6 places.
        let mut text = [0u8; 24];
        let abs = self.0.unsigned_abs();
        let (mut whole, mut frac, mut places) = (
            abs / MICROS_PER_UNIT as u64,
            abs % MICROS_PER_UNIT as u64,
            6,
        );
        while places > 4 && frac % 10 == 0 {
            frac /= 10;
            places -= 1;
        }
        let mut at = text.len();
        for _ in 0..places {
            at -= 1;
            text[at] = b'0' + (frac % 10) as u8;
            frac /= 10;
        }
        at -= 1;
        text[at] = b'.';
        loop {
            at -= 1;
            text[at] = b'0' + (whole % 10) as u8;
            whole /= 10;
            if whole == 0 {
                break;
            }
        }
        if self.0 < 0 {
            at -= 1;
            text[at] = b'-';
        }
        f.write_str(std::str::from_utf8(&text[at..]).expect("ASCII digits"))
    }
}

/// An ISO 4217 alphabetic currency code (`USD`, `EUR`), three upper-case ASCII letters.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Currency([u8; 3]);

impl Currency {
    /// Parses three letters, upper-casing them. The error names the rule.
    pub fn parse(text: &str) -> Result<Currency, String> {
        let t = text.trim().to_ascii_uppercase();
        match t.as_bytes() {
            [a, b, c] if t.bytes().all(|x| x.is_ascii_uppercase()) => Ok(Currency([*a, *b, *c])),
            _ => Err(format!("`{text}` is not a 3-letter ISO 4217 currency code")),
        }
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("ASCII")
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_parse_exactly() {
        assert_eq!(parse_micros("0.022585"), Ok(22_585));
        assert_eq!(parse_micros("1"), Ok(1_000_000));
        assert_eq!(parse_micros(".5"), Ok(500_000));
        assert_eq!(parse_micros("-0.000001"), Ok(-1));
        assert_eq!(parse_micros("0.12345600"), Ok(123_456));
        assert!(matches!(
            parse_micros("0.0000001"),
            Err(MoneyError::TooPrecise(_))
        ));
        assert!(matches!(
            parse_micros("1e-3"),
            Err(MoneyError::NotANumber(_))
        ));
        assert!(matches!(parse_micros(""), Err(MoneyError::NotANumber(_))));
        assert!(matches!(
            parse_micros("99999999999999"),
            Err(MoneyError::TooLarge(_))
        ));
        assert_eq!(format_micros(22_585, 6), "0.022585");
        assert_eq!(format_micros(-1_500_000, 2), "-1.50");
        assert_eq!(format_micros(7, 0), "0");
        assert_eq!(Currency::parse("usd").unwrap().as_str(), "USD");
        assert!(Currency::parse("US").is_err());
    }

    #[test]
    fn rates_print_with_four_to_six_places() {
        for (micros, text) in [
            (123_700, "0.1237"),
            (10_000, "0.0100"),
            (22_585, "0.022585"),
            (22_580, "0.02258"),
            (0, "0.0000"),
            (-1_500_000, "-1.5000"),
            (12_000_001, "12.000001"),
            (-500, "-0.0005"),
            (-1, "-0.000001"),
            (i64::MAX, "9223372036854.775807"),
            (i64::MIN, "-9223372036854.775808"),
        ] {
            assert_eq!(rate_text(micros), text);
        }
    }

    proptest::proptest! {
        /// The text reads back as the same amount, and has 4 to 6 places with no
        /// trailing zero past the fourth.
        #[test]
        fn rate_text_reads_back_exactly(micros in -10_000_000_000_000i64..10_000_000_000_000) {
            let text = rate_text(micros);
            proptest::prop_assert_eq!(parse_micros(&text), Ok(micros), "{}", text);
            let places = text.len() - text.find('.').unwrap() - 1;
            proptest::prop_assert!((4..=6).contains(&places), "{}", text);
            proptest::prop_assert!(places == 4 || !text.ends_with('0'), "{}", text);
        }
    }
}
