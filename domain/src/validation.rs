//! Field-level validation errors, shared by forms (browser) and server functions.
//!
//! A form shows each [`FieldError`] under the field it names; a server function returns
//! the whole [`FieldErrors`] list as its `Validation` error so nothing is half-saved.

use serde::{Deserialize, Serialize};

/// One problem with one input field.
///
/// `field` is the form field's name exactly as the form submits it (e.g. `"email"`);
/// `message` is a sentence for a person: what is wrong and what to do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// Every problem found in one submitted form, in field order. Empty means valid.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldErrors(pub Vec<FieldError>);

impl FieldErrors {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a problem with `field`.
    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError {
            field: field.into(),
            message: message.into(),
        });
    }

    /// The first message recorded for `field`, if any.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.as_str())
    }

    /// True when no problem was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(value)` when no problem was recorded, else `Err(self)`.
    pub fn into_result<T>(self, value: T) -> Result<T, Self> {
        if self.is_empty() {
            Ok(value)
        } else {
            Err(self)
        }
    }
}

impl std::fmt::Display for FieldErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{}: {}", e.field, e.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for FieldErrors {}

/// A closed set of choices stored and submitted as snake_case text (a "string enum"):
/// carrier types, billing modes, transports and so on.
///
/// Every type made by the crate's `string_enum!` macro implements it, so a form can
/// render any of them as a select list generically: one `<option value=as_str>` per
/// entry of [`StringEnum::ALL`], showing [`StringEnum::label`].
pub trait StringEnum: Copy + Eq + 'static {
    /// Every choice, in the order a select list shows them.
    const ALL: &'static [Self];
    /// The stored and submitted spelling (snake_case ASCII), e.g. `"semi_monthly"`.
    fn as_str(self) -> &'static str;
    /// Text for people, e.g. `"Semi-monthly"`.
    fn label(self) -> &'static str;
    /// The choice whose [`StringEnum::as_str`] equals `text`, trimmed and ignoring ASCII
    /// case; `None` otherwise.
    fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        Self::ALL
            .iter()
            .copied()
            .find(|c| c.as_str().eq_ignore_ascii_case(text))
    }
}

/// Declares a [`StringEnum`]: a fieldless enum deriving `Clone, Copy, Debug, PartialEq,
/// Eq, Hash, Serialize, Deserialize` (serde `rename_all = "snake_case"`, which must equal
/// the stored spelling; the module tests check it), with inherent `ALL: [Self; N]`,
/// `as_str`, `label`, `parse` and a `Display` that prints `as_str`.
///
/// ```ignore
/// string_enum! {
///     /// Docs.
///     pub enum BillingMode {
///         /// Variant docs.
///         Prepaid = ("prepaid", "Prepaid"),
///         Postpaid = ("postpaid", "Postpaid"),
///     }
/// }
/// ```
macro_rules! string_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $(
                $(#[$vmeta:meta])*
                $variant:ident = ($value:literal, $label:literal)
            ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(
            Clone, Copy, Debug, PartialEq, Eq, Hash, ::serde::Serialize, ::serde::Deserialize,
        )]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every choice, in the order a select list shows them.
            pub const ALL: [Self; [$(stringify!($variant)),+].len()] = [$(Self::$variant),+];

            #[doc = concat!(
                "The stored and submitted spelling: ",
                $("`", $value, "` ",)+
                "(in [`", stringify!($name), "::ALL`] order)."
            )]
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $value,)+
                }
            }

            #[doc = concat!(
                "Text for people: ",
                $("\"", $label, "\" ",)+
                "(in [`", stringify!($name), "::ALL`] order)."
            )]
            pub fn label(self) -> &'static str {
                match self {
                    $(Self::$variant => $label,)+
                }
            }

            /// The choice whose [`as_str`](Self::as_str) equals `text`, trimmed and
            /// ignoring ASCII case; `None` for anything else.
            pub fn parse(text: &str) -> Option<Self> {
                <Self as $crate::validation::StringEnum>::parse(text)
            }
        }

        impl $crate::validation::StringEnum for $name {
            const ALL: &'static [Self] = &$name::ALL;
            fn as_str(self) -> &'static str {
                $name::as_str(self)
            }
            fn label(self) -> &'static str {
                $name::label(self)
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use string_enum;

// ---------------------------------------------------------------------------------------
// Field helpers shared by the form validators. Each returns the value or the sentence to
// show under the field; `take` records the sentence and hands back an `Option`.
// ---------------------------------------------------------------------------------------

/// Records `result`'s error under `field` and returns its value, if any.
pub(crate) fn take<T>(
    errors: &mut FieldErrors,
    field: &str,
    result: Result<T, String>,
) -> Option<T> {
    match result {
        Ok(value) => Some(value),
        Err(message) => {
            errors.add(field, message);
            None
        }
    }
}

/// `what` with its first letter upper-cased ("the carrier's name" -> "The carrier's name").
fn capitalised(what: &str) -> String {
    let mut chars = what.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// `text` trimmed; required, at most `max_chars` characters (not bytes). `what` names the
/// field for the messages: "Enter {what}." / "{What} has at most N characters; shorten it."
pub(crate) fn required_text(text: &str, max_chars: usize, what: &str) -> Result<String, String> {
    match optional_text(text, max_chars, what)? {
        Some(value) => Ok(value),
        None => Err(format!("Enter {what}.")),
    }
}

/// Like [`required_text`] but empty (after trimming) is `None`.
pub(crate) fn optional_text(
    text: &str,
    max_chars: usize,
    what: &str,
) -> Result<Option<String>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let chars = text.chars().count();
    if chars > max_chars {
        return Err(format!(
            "{} has at most {max_chars} characters (this has {chars}); shorten it.",
            capitalised(what)
        ));
    }
    Ok(Some(text.to_owned()))
}

/// A choice from a select list. Empty or unknown text (a stale or tampered form) gets a
/// message listing the labels.
pub(crate) fn choice<T: StringEnum>(text: &str) -> Result<T, String> {
    T::parse(text).ok_or_else(|| {
        let labels: Vec<&str> = T::ALL.iter().map(|c| c.label()).collect();
        let list = match labels.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
            _ => labels.concat(),
        };
        if text.trim().is_empty() {
            format!("Choose one from the list: {list}.")
        } else {
            format!(
                "“{}” is not one of the choices. Choose {list}.",
                text.trim()
            )
        }
    })
}

/// A whole number from `min` to `max` inclusive, typed as plain digits (trimmed).
/// `what` completes "Enter {what} as a whole number from MIN to MAX."
pub(crate) fn whole_number(text: &str, min: u64, max: u64, what: &str) -> Result<u64, String> {
    let text = text.trim();
    let message = || format!("Enter {what} as a whole number from {min} to {max}.");
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(message());
    }
    match text.parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(message()),
    }
}

/// Like [`whole_number`] but empty (after trimming) is `None`; `empty_means` (e.g.
/// "leave it empty for 5060") is added to the message so the person knows the option.
pub(crate) fn optional_whole_number(
    text: &str,
    min: u64,
    max: u64,
    what: &str,
    empty_means: &str,
) -> Result<Option<u64>, String> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    whole_number(text, min, max, what)
        .map(Some)
        .map_err(|m| format!("{}, or {empty_means}.", m.trim_end_matches('.')))
}

/// The id of a row chosen from a select list: empty is `None`, else a positive integer.
pub(crate) fn optional_id(text: &str) -> Result<Option<i64>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    match text.parse::<i64>() {
        Ok(id) if id > 0 && text.bytes().all(|b| b.is_ascii_digit()) => Ok(Some(id)),
        _ => Err("Choose one from the list.".into()),
    }
}

/// An optional e-mail address, normalised by [`crate::EmailAddress::parse`].
pub(crate) fn optional_email(text: &str) -> Result<Option<String>, String> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    crate::EmailAddress::parse(text).map(|e| Some(e.as_str().to_owned()))
}

/// The text form of an optional value: `None` is empty.
pub(crate) fn text_of<T: ToString>(value: Option<T>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

/// The `regex` crate's reason for rejecting a pattern, on one line (its `Display` spans
/// several lines with a caret under the problem).
pub(crate) fn regex_reason(error: &regex::Error) -> String {
    match error {
        regex::Error::Syntax(text) => text
            .lines()
            .rev()
            .find_map(|l| l.trim().strip_prefix("error:"))
            .map(|r| r.trim().to_owned())
            .unwrap_or_else(|| text.split_whitespace().collect::<Vec<_>>().join(" ")),
        regex::Error::CompiledTooBig(_) => "the pattern is too big".into(),
        other => other
            .to_string()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" "),
    }
}

/// Test support: checks a [`StringEnum`]'s contract (round trip, case-insensitive parse,
/// serde spelling equals `as_str`, unique non-empty labels).
#[cfg(test)]
pub(crate) fn assert_string_enum<T>()
where
    T: StringEnum + std::fmt::Debug + serde::de::DeserializeOwned + std::fmt::Display,
{
    use serde::de::IntoDeserializer;
    let mut labels = std::collections::HashSet::new();
    for &choice in T::ALL {
        let text = choice.as_str();
        assert_eq!(T::parse(text), Some(choice));
        assert_eq!(
            T::parse(&format!("  {}  ", text.to_uppercase())),
            Some(choice)
        );
        assert_eq!(choice.to_string(), text);
        let de: Result<T, serde::de::value::Error> = T::deserialize(text.into_deserializer());
        assert_eq!(
            de.ok(),
            Some(choice),
            "serde spelling of {choice:?} is not {text}"
        );
        assert!(!choice.label().is_empty());
        assert!(
            labels.insert(choice.label()),
            "duplicate label {}",
            choice.label()
        );
    }
    assert_eq!(T::parse("no such choice"), None);
    assert_eq!(T::parse(""), None);
}

#[cfg(test)]
mod tests {
    use super::*;

    string_enum! {
        /// A test enum.
        pub enum Fruit {
            Apple = ("apple", "Apple"),
            /// A multi-word variant.
            BloodOrange = ("blood_orange", "Blood orange"),
            Kiwi = ("kiwi", "Kiwi"),
        }
    }

    #[test]
    fn string_enums_round_trip_and_explain_bad_choices() {
        assert_string_enum::<Fruit>();
        assert_eq!(Fruit::ALL.len(), 3);
        assert_eq!(Fruit::parse(" Blood_Orange "), Some(Fruit::BloodOrange));
        assert_eq!(choice::<Fruit>("kiwi"), Ok(Fruit::Kiwi));
        assert_eq!(
            choice::<Fruit>("pear"),
            Err("“pear” is not one of the choices. Choose Apple, Blood orange or Kiwi.".into())
        );
        assert_eq!(
            choice::<Fruit>(" "),
            Err("Choose one from the list: Apple, Blood orange or Kiwi.".into())
        );
    }

    #[test]
    fn field_helpers_trim_bound_and_explain() {
        assert_eq!(required_text("  ACME ", 5, "the name"), Ok("ACME".into()));
        assert_eq!(
            required_text("  ", 5, "the name"),
            Err("Enter the name.".into())
        );
        assert_eq!(
            required_text("ééééééé", 6, "the name"),
            Err("The name has at most 6 characters (this has 7); shorten it.".into())
        );
        assert_eq!(optional_text(" ", 5, "the note"), Ok(None));
        assert_eq!(whole_number(" 42 ", 0, 120, "the days"), Ok(42));
        for bad in ["", "-1", "+5", "121", "4.5", "99999999999999999999999"] {
            assert_eq!(
                whole_number(bad, 0, 120, "the days"),
                Err("Enter the days as a whole number from 0 to 120.".into()),
                "{bad:?}"
            );
        }
        assert_eq!(
            optional_whole_number("0", 1, 65535, "the port", "leave it empty for 5060"),
            Err(
                "Enter the port as a whole number from 1 to 65535, or leave it empty for 5060."
                    .into()
            )
        );
        assert_eq!(optional_whole_number(" ", 1, 9, "x", "y"), Ok(None));
        assert_eq!(optional_id(""), Ok(None));
        assert_eq!(optional_id(" 7 "), Ok(Some(7)));
        for bad in ["0", "-3", "x", "+4", "1.0"] {
            assert_eq!(
                optional_id(bad),
                Err("Choose one from the list.".into()),
                "{bad:?}"
            );
        }
        assert_eq!(optional_email(" "), Ok(None));
        assert_eq!(
            optional_email("A@B.example"),
            Ok(Some("a@b.example".into()))
        );
        let bad_pattern = String::from("^(+"); // built at run time: clippy checks literals
        let reason = regex_reason(&regex::Regex::new(&bad_pattern).unwrap_err());
        assert_eq!(reason, "repetition operator missing expression");
    }

    #[test]
    fn collects_and_reports_each_field() {
        let mut errors = FieldErrors::new();
        assert!(errors.clone().into_result(()).is_ok());
        errors.add("email", "Enter an e-mail address.");
        errors.add("password", "Enter a password.");
        assert_eq!(errors.get("email"), Some("Enter an e-mail address."));
        assert_eq!(errors.get("name"), None);
        assert_eq!(
            errors.to_string(),
            "email: Enter an e-mail address.; password: Enter a password."
        );
        assert!(errors.into_result(()).is_err());
    }
}
