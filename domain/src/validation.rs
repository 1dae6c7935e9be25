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

#[cfg(test)]
mod tests {
    use super::*;

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
