//! Carriers: the companies we buy minutes from (suppliers) and sell minutes to
//! (customers), with their contacts, accounting terms and credit alerts.
//!
//! Each form comes in two shapes: the raw `…Form` exactly as typed (every text field a
//! `String`, every checkbox a `bool`; field names are the form's field names), and the
//! validated, normalised value its `validate_…` function returns. Validators collect
//! every problem into [`FieldErrors`] rather than stopping at the first, and
//! `From<&Value> for Form` turns a saved value back into its form for editing.

use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::money::{format_micros, parse_micros, Currency, MoneyError};
use crate::validation::{
    choice, optional_email, optional_id, optional_text, optional_whole_number, required_text,
    string_enum, take, text_of, whole_number, FieldErrors,
};
use crate::EmailAddress;

string_enum! {
    /// What a carrier is to us: who we sell to, buy from, or both.
    pub enum CarrierType {
        /// We sell it termination (it sends us calls).
        Customer = ("customer", "Customer"),
        /// We buy termination from it (we send it calls).
        Supplier = ("supplier", "Supplier"),
        /// Both at once (a bilateral partner).
        Both = ("both", "Both"),
    }
}

impl CarrierType {
    /// True for `Customer` and `Both`: the carrier may have customer service enabled.
    pub fn is_customer(self) -> bool {
        matches!(self, CarrierType::Customer | CarrierType::Both)
    }

    /// True for `Supplier` and `Both`: the carrier may have supplier service enabled.
    pub fn is_supplier(self) -> bool {
        matches!(self, CarrierType::Supplier | CarrierType::Both)
    }
}

string_enum! {
    /// Whether a carrier (or interconnect) may carry traffic.
    pub enum CarrierStatus {
        Active = ("active", "Active"),
        /// Kept for history and reports; carries no traffic.
        Inactive = ("inactive", "Inactive"),
    }
}

string_enum! {
    /// What a carrier contact is for: who gets invoices, rate notices, fault tickets.
    pub enum ContactRole {
        Billing = ("billing", "Billing"),
        Technical = ("technical", "Technical"),
        /// Receives rate-deck notifications.
        Rates = ("rates", "Rates"),
        /// Network operations centre: faults and outages, around the clock.
        Noc = ("noc", "NOC"),
        Sales = ("sales", "Sales"),
    }
}

string_enum! {
    /// How a carrier pays: before (prepaid balance) or after (invoiced) the traffic.
    pub enum BillingMode {
        Prepaid = ("prepaid", "Prepaid"),
        Postpaid = ("postpaid", "Postpaid"),
    }
}

string_enum! {
    /// How often a postpaid carrier is invoiced.
    pub enum BillingCycle {
        Weekly = ("weekly", "Weekly"),
        /// Twice a month: the 1st–15th and the 16th–end.
        SemiMonthly = ("semi_monthly", "Semi-monthly"),
        Monthly = ("monthly", "Monthly"),
    }
}

impl BillingCycle {
    /// The cycle's nominal length in days, as carriers write it in a billing term:
    /// weekly 7, semi-monthly 15, monthly 30 (see [`Accounting::billing_term`]).
    pub fn nominal_days(self) -> u16 {
        match self {
            BillingCycle::Weekly => 7,
            BillingCycle::SemiMonthly => 15,
            BillingCycle::Monthly => 30,
        }
    }
}

/// Longest carrier, contact or interconnect name, in characters.
pub const MAX_NAME_CHARS: usize = 200;
/// Longest account code, in characters.
pub const MAX_ACCOUNT_CODE_CHARS: usize = 64;

/// Checks and normalises an account code: trimmed, upper-cased (ASCII), 1–64 characters
/// from `A–Z`, `0–9`, `_` and `-` (so it is safe in file names, CDR exports and
/// invoice numbers). The error is a sentence for the `account_code` field.
pub fn validate_account_code(text: &str) -> Result<String, String> {
    let code = text.trim().to_ascii_uppercase();
    if code.is_empty() {
        return Err("Enter an account code, e.g. ACME_UK.".into());
    }
    let bad: String = code
        .chars()
        .filter(|c| !(c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_' || *c == '-'))
        .collect();
    if !bad.is_empty() {
        let mut shown: Vec<char> = bad.chars().collect();
        shown.dedup();
        let shown: String = shown.into_iter().collect();
        return Err(format!(
            "An account code uses only letters A–Z, digits 0–9, _ and -; remove “{shown}”."
        ));
    }
    let chars = code.chars().count();
    if chars > MAX_ACCOUNT_CODE_CHARS {
        return Err(format!(
            "An account code has at most {MAX_ACCOUNT_CODE_CHARS} characters (this has {chars}); shorten it."
        ));
    }
    Ok(code)
}

/// An ISO 4217 code, upper-cased, via [`Currency::parse`]. Error for the `currency` field.
fn validate_currency(text: &str) -> Result<String, String> {
    if text.trim().is_empty() {
        return Err("Choose a currency, e.g. USD.".into());
    }
    Currency::parse(text)
        .map(|c| c.as_str().to_owned())
        .map_err(|_| {
            format!(
                "“{}” is not a currency code; use the 3-letter ISO 4217 code, e.g. USD or EUR.",
                text.trim()
            )
        })
}

/// Money as form text: `format_micros(v, 6)` without trailing zeros or a bare point
/// (`1_500_000` -> `"1.5"`, `0` -> `"0"`, `-25_000_000` -> `"-25"`).
fn micros_text(micros: i64) -> String {
    let text = format_micros(micros, 6);
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// A money amount typed into `what` (e.g. "the credit limit"). Errors are sentences.
pub(crate) fn money(text: &str, what: &str) -> Result<i64, String> {
    parse_micros(text).map_err(|e| match e {
        MoneyError::NotANumber(_) => {
            format!("Enter {what} as a number, e.g. 500 or 1250.50 (no currency sign or thousands separators).")
        }
        MoneyError::TooPrecise(_) => {
            format!("Enter {what} with at most 6 decimal places.")
        }
        MoneyError::TooLarge(_) => format!("That is too large for {what}."),
    })
}

// ---------------------------------------------------------------------------------------
// New carrier
// ---------------------------------------------------------------------------------------

/// The "New carrier" form, raw as typed. Fields: `name`, `account_code`, `carrier_type`
/// (a [`CarrierType::as_str`]), `currency` (ISO 4217).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewCarrierForm {
    pub name: String,
    pub account_code: String,
    pub carrier_type: String,
    pub currency: String,
}

/// A valid new carrier: `name` trimmed (1–200 characters), `account_code` per
/// [`validate_account_code`], `currency` an upper-case ISO 4217 code.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewCarrier {
    pub name: String,
    pub account_code: String,
    pub carrier_type: CarrierType,
    pub currency: String,
}

/// Validates the "New carrier" form, reporting every bad field by its form name.
pub fn validate_new_carrier(form: &NewCarrierForm) -> Result<NewCarrier, FieldErrors> {
    let mut errors = FieldErrors::new();
    let name = take(
        &mut errors,
        "name",
        required_text(&form.name, MAX_NAME_CHARS, "the carrier's name"),
    );
    let account_code = take(
        &mut errors,
        "account_code",
        validate_account_code(&form.account_code),
    );
    let carrier_type = take(&mut errors, "carrier_type", choice(&form.carrier_type));
    let currency = take(&mut errors, "currency", validate_currency(&form.currency));
    match (name, account_code, carrier_type, currency) {
        (Some(name), Some(account_code), Some(carrier_type), Some(currency)) => Ok(NewCarrier {
            name,
            account_code,
            carrier_type,
            currency,
        }),
        _ => Err(errors),
    }
}

impl From<&NewCarrier> for NewCarrierForm {
    fn from(v: &NewCarrier) -> Self {
        NewCarrierForm {
            name: v.name.clone(),
            account_code: v.account_code.clone(),
            carrier_type: v.carrier_type.as_str().into(),
            currency: v.currency.clone(),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Carrier details
// ---------------------------------------------------------------------------------------

/// Longest website address, in characters.
pub const MAX_WEBSITE_CHARS: usize = 255;
/// Longest postal address, in characters.
pub const MAX_ADDRESS_CHARS: usize = 1000;

/// The Carrier Details tab, raw as typed. `default_codecs` holds one codec name per
/// chosen entry; `category_id`/`group_id` are select values (empty = none).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CarrierDetailsForm {
    pub name: String,
    pub account_code: String,
    pub carrier_type: String,
    pub status: String,
    pub website: String,
    pub address: String,
    pub currency: String,
    pub timezone: String,
    pub customer_enabled: bool,
    pub supplier_enabled: bool,
    pub default_codecs: Vec<String>,
    pub noc_email: String,
    pub category_id: String,
    pub group_id: String,
    /// Traffic limits over all of the carrier's ingress interconnects; empty = 0.
    pub max_cps: String,
    pub max_channels: String,
}

/// Valid carrier details.
///
/// - `name` 1–200 characters; `account_code` per [`validate_account_code`];
/// - `website`: `http://` or `https://` then a host, at most 255 characters; scheme and
///   host lower-cased, the rest as typed;
/// - `address`: at most 1000 characters, line breaks kept;
/// - `currency`: upper-case ISO 4217; `timezone`: an IANA zone name as
///   [`chrono_tz::Tz::name`] spells it (e.g. `Europe/London`, `UTC`);
/// - `customer_enabled` only for customer/both carriers, `supplier_enabled` only for
///   supplier/both;
/// - `default_codecs`: trimmed names, none blank, no duplicates (ignoring case); whether
///   each is in the codec catalogue is the caller's check (it needs the database);
/// - `noc_email`: normalised by [`EmailAddress::parse`];
/// - `category_id`, `group_id`: positive ids, or `None`;
/// - `max_cps` (0–10 000) and `max_channels` (0–100 000): new calls per second and
///   concurrent calls over all of the carrier's ingress interconnects together, 0 = no
///   limit (the same bounds as an interconnect's own, checked by routing step 6).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CarrierDetails {
    pub name: String,
    pub account_code: String,
    pub carrier_type: CarrierType,
    pub status: CarrierStatus,
    pub website: Option<String>,
    pub address: Option<String>,
    pub currency: String,
    pub timezone: String,
    pub customer_enabled: bool,
    pub supplier_enabled: bool,
    pub default_codecs: Vec<String>,
    pub noc_email: Option<String>,
    pub category_id: Option<i64>,
    pub group_id: Option<i64>,
    pub max_cps: u32,
    pub max_channels: u32,
}

/// Every IANA time zone name [`validate_carrier_details`] accepts, in the tz database's
/// order (from `chrono_tz::TZ_VARIANTS`), for a select list.
pub fn timezones() -> impl Iterator<Item = &'static str> {
    chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name())
}

/// A time zone name accepted by [`chrono_tz::Tz`] (exact spelling, after trimming).
fn validate_timezone(text: &str) -> Result<String, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("Choose a time zone, e.g. Europe/London or UTC.".into());
    }
    chrono_tz::Tz::from_str(text)
        .map(|tz| tz.name().to_owned())
        .map_err(|_| {
            format!("“{text}” is not a time zone name; choose one from the list, e.g. Europe/London or UTC.")
        })
}

/// A website: `http://` or `https://`, then a host (letters, digits, `-`, `.`, or an
/// IPv6 literal in brackets), an optional `:port`, then anything without spaces.
fn validate_website(text: &str) -> Result<Option<String>, String> {
    let Some(text) = optional_text(text, MAX_WEBSITE_CHARS, "a website address")? else {
        return Ok(None);
    };
    let example =
        "Enter the full web address, starting with https://, e.g. https://carrier.example.";
    let lower = text.to_ascii_lowercase();
    let scheme = if lower.starts_with("https://") {
        "https://"
    } else if lower.starts_with("http://") {
        "http://"
    } else {
        return Err(example.into());
    };
    if text.chars().any(char::is_whitespace) {
        return Err("A web address has no spaces.".into());
    }
    let rest = &text[scheme.len()..];
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let host = if let Some(v6) = authority.strip_prefix('[') {
        match v6.split_once(']') {
            Some((ip, port)) if ip.parse::<std::net::Ipv6Addr>().is_ok() => {
                (port.is_empty() || valid_port_suffix(port)).then_some(authority)
            }
            _ => None,
        }
    } else {
        let (host, port) = match authority.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        };
        let host_ok = !host.is_empty()
            && host.split('.').all(|label| {
                !label.is_empty()
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            });
        let port_ok = port.is_none_or(|p| valid_port_suffix(&format!(":{p}")));
        (host_ok && port_ok).then_some(authority)
    };
    match host {
        Some(authority) => Ok(Some(format!(
            "{scheme}{}{tail}",
            authority.to_ascii_lowercase()
        ))),
        None => Err(example.into()),
    }
}

/// `":8080"`-style suffix with a port 1–65535.
fn valid_port_suffix(text: &str) -> bool {
    text.strip_prefix(':')
        .and_then(|p| p.parse::<u16>().ok())
        .is_some_and(|p| p > 0)
}

/// Codec names: trimmed, none blank, no duplicates ignoring case. One message per problem.
fn validate_codec_names(names: &[String]) -> Result<Vec<String>, Vec<String>> {
    let mut out: Vec<String> = Vec::with_capacity(names.len());
    let mut problems = Vec::new();
    for name in names {
        let name = name.trim();
        if name.is_empty() {
            problems.push("A codec name is blank; remove the empty entry.".to_owned());
        } else if out.iter().any(|c| c.eq_ignore_ascii_case(name)) {
            problems.push(format!("{name} is listed twice; keep one."));
        } else {
            out.push(name.to_owned());
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

/// Validates the Carrier Details tab, reporting every bad field by its form name
/// (rules on [`CarrierDetails`]).
pub fn validate_carrier_details(form: &CarrierDetailsForm) -> Result<CarrierDetails, FieldErrors> {
    let mut errors = FieldErrors::new();
    let name = take(
        &mut errors,
        "name",
        required_text(&form.name, MAX_NAME_CHARS, "the carrier's name"),
    );
    let account_code = take(
        &mut errors,
        "account_code",
        validate_account_code(&form.account_code),
    );
    let carrier_type: Option<CarrierType> =
        take(&mut errors, "carrier_type", choice(&form.carrier_type));
    let status = take(&mut errors, "status", choice(&form.status));
    let website = take(&mut errors, "website", validate_website(&form.website));
    let address = take(
        &mut errors,
        "address",
        optional_text(&form.address, MAX_ADDRESS_CHARS, "the address"),
    );
    let currency = take(&mut errors, "currency", validate_currency(&form.currency));
    let timezone = take(&mut errors, "timezone", validate_timezone(&form.timezone));
    if let Some(kind) = carrier_type {
        if form.customer_enabled && !kind.is_customer() {
            errors.add(
                "customer_enabled",
                "Only a customer carrier can have customer service enabled; change the type to Customer or Both, or untick this.",
            );
        }
        if form.supplier_enabled && !kind.is_supplier() {
            errors.add(
                "supplier_enabled",
                "Only a supplier carrier can have supplier service enabled; change the type to Supplier or Both, or untick this.",
            );
        }
    }
    let default_codecs = match validate_codec_names(&form.default_codecs) {
        Ok(codecs) => Some(codecs),
        Err(problems) => {
            for p in problems {
                errors.add("default_codecs", p);
            }
            None
        }
    };
    let noc_email = take(&mut errors, "noc_email", optional_email(&form.noc_email));
    let category_id = take(&mut errors, "category_id", optional_id(&form.category_id));
    let group_id = take(&mut errors, "group_id", optional_id(&form.group_id));
    let max_cps = take(
        &mut errors,
        "max_cps",
        crate::interconnect::cps_limit(&form.max_cps),
    );
    let max_channels = take(
        &mut errors,
        "max_channels",
        crate::interconnect::channel_limit(&form.max_channels),
    );
    match (
        name,
        account_code,
        carrier_type,
        status,
        website,
        address,
        currency,
        timezone,
        default_codecs,
        noc_email,
        category_id,
        group_id,
        max_cps,
        max_channels,
    ) {
        (
            Some(name),
            Some(account_code),
            Some(carrier_type),
            Some(status),
            Some(website),
            Some(address),
            Some(currency),
            Some(timezone),
            Some(default_codecs),
            Some(noc_email),
            Some(category_id),
            Some(group_id),
            Some(max_cps),
            Some(max_channels),
        ) if errors.is_empty() => Ok(CarrierDetails {
            name,
            account_code,
            carrier_type,
            status,
            website,
            address,
            currency,
            timezone,
            customer_enabled: form.customer_enabled,
            supplier_enabled: form.supplier_enabled,
            default_codecs,
            noc_email,
            category_id,
            group_id,
            max_cps,
            max_channels,
        }),
        _ => Err(errors),
    }
}

impl From<&CarrierDetails> for CarrierDetailsForm {
    fn from(v: &CarrierDetails) -> Self {
        CarrierDetailsForm {
            name: v.name.clone(),
            account_code: v.account_code.clone(),
            carrier_type: v.carrier_type.as_str().into(),
            status: v.status.as_str().into(),
            website: v.website.clone().unwrap_or_default(),
            address: v.address.clone().unwrap_or_default(),
            currency: v.currency.clone(),
            timezone: v.timezone.clone(),
            customer_enabled: v.customer_enabled,
            supplier_enabled: v.supplier_enabled,
            default_codecs: v.default_codecs.clone(),
            noc_email: v.noc_email.clone().unwrap_or_default(),
            category_id: text_of(v.category_id),
            group_id: text_of(v.group_id),
            max_cps: v.max_cps.to_string(),
            max_channels: v.max_channels.to_string(),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Contacts
// ---------------------------------------------------------------------------------------

/// Fewest digits in a phone number.
pub const MIN_PHONE_DIGITS: usize = 6;
/// Most digits in a phone number (ITU-T E.164 §6: at most 15 digits).
pub const MAX_PHONE_DIGITS: usize = 15;

/// A carrier contact form, raw as typed. `role` is a [`ContactRole::as_str`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactForm {
    pub role: String,
    pub name: String,
    pub email: String,
    pub phone: String,
}

/// A valid contact: `name` 1–200 characters; at least one of `email` (normalised by
/// [`EmailAddress::parse`]) and `phone` (see [`validate_phone`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub role: ContactRole,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
}

/// Checks a phone number and returns it trimmed but otherwise as typed: an optional
/// leading `+`, then digits with spaces, `-`, `(` and `)` allowed between them, 6–15
/// digits in all (ITU-T E.164 caps an international number at 15 digits). The error is a
/// sentence for the `phone` field.
pub fn validate_phone(text: &str) -> Result<String, String> {
    let phone = text.trim();
    let body = phone.strip_prefix('+').unwrap_or(phone);
    let shape_ok = body
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '(' | ')'));
    let digits = body.chars().filter(char::is_ascii_digit).count();
    if !shape_ok || !(MIN_PHONE_DIGITS..=MAX_PHONE_DIGITS).contains(&digits) {
        return Err(format!(
            "A phone number has {MIN_PHONE_DIGITS} to {MAX_PHONE_DIGITS} digits (ITU-T E.164), optionally starting with +; spaces, dashes and brackets are allowed, e.g. +44 20 7946 0000."
        ));
    }
    Ok(phone.to_owned())
}

/// Validates a contact form, reporting every bad field by its form name.
pub fn validate_contact(form: &ContactForm) -> Result<Contact, FieldErrors> {
    let mut errors = FieldErrors::new();
    let role = take(&mut errors, "role", choice(&form.role));
    let name = take(
        &mut errors,
        "name",
        required_text(&form.name, MAX_NAME_CHARS, "the contact's name"),
    );
    let email = take(&mut errors, "email", optional_email(&form.email));
    let phone = if form.phone.trim().is_empty() {
        Some(None)
    } else {
        take(&mut errors, "phone", validate_phone(&form.phone).map(Some))
    };
    if email == Some(None) && phone == Some(None) {
        errors.add(
            "email",
            "Enter an e-mail address or a phone number, so we can reach this contact.",
        );
    }
    match (role, name, email, phone) {
        (Some(role), Some(name), Some(email), Some(phone)) if errors.is_empty() => Ok(Contact {
            role,
            name,
            email,
            phone,
        }),
        _ => Err(errors),
    }
}

impl From<&Contact> for ContactForm {
    fn from(v: &Contact) -> Self {
        ContactForm {
            role: v.role.as_str().into(),
            name: v.name.clone(),
            email: v.email.clone().unwrap_or_default(),
            phone: v.phone.clone().unwrap_or_default(),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Accounting
// ---------------------------------------------------------------------------------------

/// Longest payment term, in days.
pub const MAX_PAYMENT_TERMS_DAYS: u16 = 120;
/// Longest tax id, in characters.
pub const MAX_TAX_ID_CHARS: usize = 64;

/// The Accounting Details tab, raw as typed. `credit_limit` is a decimal amount in the
/// carrier's currency (e.g. `"5000"`, `"1250.50"`); empty means 0.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountingForm {
    pub billing_mode: String,
    pub credit_limit: String,
    pub billing_cycle: String,
    pub payment_terms_days: String,
    pub invoice_email: String,
    pub tax_id: String,
}

/// Valid accounting terms.
///
/// - `credit_limit_micros`: micro-units of the carrier's currency (see [`crate::money`]),
///   at least 0 (empty input is 0: no credit); how far a balance may go below zero;
/// - `payment_terms_days`: 0–120 days after the invoice date;
/// - `invoice_email`: normalised by [`EmailAddress::parse`]; `tax_id` at most 64 characters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Accounting {
    pub billing_mode: BillingMode,
    pub credit_limit_micros: i64,
    pub billing_cycle: BillingCycle,
    pub payment_terms_days: u16,
    pub invoice_email: Option<String>,
    pub tax_id: Option<String>,
}

impl Accounting {
    /// The billing term as carriers write it: `"<cycle> <cycle days>/<payment days>"`,
    /// e.g. `"weekly 7/3"` (invoiced weekly, due 3 days later), `"semi-monthly 15/5"`,
    /// `"monthly 30/30"`. Cycle days are nominal ([`BillingCycle::nominal_days`]).
    pub fn billing_term(&self) -> String {
        let cycle = match self.billing_cycle {
            BillingCycle::Weekly => "weekly",
            BillingCycle::SemiMonthly => "semi-monthly",
            BillingCycle::Monthly => "monthly",
        };
        format!(
            "{cycle} {}/{}",
            self.billing_cycle.nominal_days(),
            self.payment_terms_days
        )
    }
}

/// Validates the Accounting Details tab, reporting every bad field by its form name.
pub fn validate_accounting(form: &AccountingForm) -> Result<Accounting, FieldErrors> {
    let mut errors = FieldErrors::new();
    let billing_mode = take(&mut errors, "billing_mode", choice(&form.billing_mode));
    let credit_limit = if form.credit_limit.trim().is_empty() {
        Ok(0)
    } else {
        money(&form.credit_limit, "the credit limit").and_then(|v| {
            if v < 0 {
                Err("A credit limit cannot be negative; enter 0 for no credit.".into())
            } else {
                Ok(v)
            }
        })
    };
    let credit_limit_micros = take(&mut errors, "credit_limit", credit_limit);
    let billing_cycle = take(&mut errors, "billing_cycle", choice(&form.billing_cycle));
    let payment_terms_days = take(
        &mut errors,
        "payment_terms_days",
        whole_number(
            &form.payment_terms_days,
            0,
            u64::from(MAX_PAYMENT_TERMS_DAYS),
            "the payment terms in days",
        ),
    );
    let invoice_email = take(
        &mut errors,
        "invoice_email",
        optional_email(&form.invoice_email),
    );
    let tax_id = take(
        &mut errors,
        "tax_id",
        optional_text(&form.tax_id, MAX_TAX_ID_CHARS, "a tax id"),
    );
    match (
        billing_mode,
        credit_limit_micros,
        billing_cycle,
        payment_terms_days,
        invoice_email,
        tax_id,
    ) {
        (
            Some(billing_mode),
            Some(credit_limit_micros),
            Some(billing_cycle),
            Some(days),
            Some(invoice_email),
            Some(tax_id),
        ) => Ok(Accounting {
            billing_mode,
            credit_limit_micros,
            billing_cycle,
            payment_terms_days: days as u16,
            invoice_email,
            tax_id,
        }),
        _ => Err(errors),
    }
}

impl From<&Accounting> for AccountingForm {
    /// `credit_limit` is printed without trailing zeros (`1_250_500_000` -> `"1250.5"`).
    fn from(v: &Accounting) -> Self {
        AccountingForm {
            billing_mode: v.billing_mode.as_str().into(),
            credit_limit: micros_text(v.credit_limit_micros),
            billing_cycle: v.billing_cycle.as_str().into(),
            payment_terms_days: v.payment_terms_days.to_string(),
            invoice_email: v.invoice_email.clone().unwrap_or_default(),
            tax_id: v.tax_id.clone().unwrap_or_default(),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Credit alerts
// ---------------------------------------------------------------------------------------

/// Longest gap between repeated alerts, in hours (one week).
pub const MAX_REPEAT_HOURS: u32 = 168;

/// Reads a list of e-mail addresses separated by commas, semicolons, spaces or line
/// breaks (as people paste them). Each is normalised by [`EmailAddress::parse`];
/// duplicates are dropped, first occurrence kept; an empty list is `Ok(vec![])` (callers
/// that need one say so). The error names every address that is not one.
pub fn parse_recipients(text: &str) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    let mut bad: Vec<&str> = Vec::new();
    for item in text
        .split(|c: char| c == ',' || c == ';' || c.is_whitespace())
        .filter(|s| !s.is_empty())
    {
        match EmailAddress::parse(item) {
            Ok(email) => {
                if !out.iter().any(|e| e == email.as_str()) {
                    out.push(email.as_str().to_owned());
                }
            }
            Err(_) => bad.push(item),
        }
    }
    match bad.as_slice() {
        [] => Ok(out),
        [one] => Err(format!(
            "“{one}” is not an e-mail address. Separate addresses with commas, e.g. noc@carrier.example, billing@carrier.example."
        )),
        many => Err(format!(
            "These are not e-mail addresses: {}. Separate addresses with commas, e.g. noc@carrier.example, billing@carrier.example.",
            many.iter()
                .map(|b| format!("“{b}”"))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// A credit alert form, raw as typed. `threshold` is a decimal amount in the carrier's
/// currency; `recipients` e-mail addresses separated by commas, semicolons or lines.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreditAlertForm {
    pub threshold: String,
    pub recipients: String,
    pub repeat_every_hours: String,
    pub enabled: bool,
}

/// A valid credit alert: e-mail `recipients` when the balance falls below
/// `threshold_micros`.
///
/// - `threshold_micros`: micro-units of the carrier's currency; may be negative, as a
///   postpaid balance goes below zero down to its credit limit;
/// - `recipients`: at least one, normalised, no duplicates (see [`parse_recipients`]);
/// - `repeat_every_hours`: 1–168 hours between repeats while the balance stays below;
///   `None` alerts once until the balance recovers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreditAlert {
    pub threshold_micros: i64,
    pub recipients: Vec<String>,
    pub repeat_every_hours: Option<u32>,
    pub enabled: bool,
}

/// Validates a credit alert form, reporting every bad field by its form name.
pub fn validate_credit_alert(form: &CreditAlertForm) -> Result<CreditAlert, FieldErrors> {
    let mut errors = FieldErrors::new();
    let threshold = if form.threshold.trim().is_empty() {
        Err(
            "Enter the balance that triggers the alert, e.g. 100 (or -50 for a postpaid carrier)."
                .into(),
        )
    } else {
        money(&form.threshold, "the threshold")
    };
    let threshold_micros = take(&mut errors, "threshold", threshold);
    let recipients = parse_recipients(&form.recipients).and_then(|list| {
        if list.is_empty() {
            Err("Enter at least one e-mail address to alert.".into())
        } else {
            Ok(list)
        }
    });
    let recipients = take(&mut errors, "recipients", recipients);
    let repeat = take(
        &mut errors,
        "repeat_every_hours",
        optional_whole_number(
            &form.repeat_every_hours,
            1,
            u64::from(MAX_REPEAT_HOURS),
            "the hours between repeats",
            "leave it empty to alert once until the balance recovers",
        ),
    );
    match (threshold_micros, recipients, repeat) {
        (Some(threshold_micros), Some(recipients), Some(repeat)) => Ok(CreditAlert {
            threshold_micros,
            recipients,
            repeat_every_hours: repeat.map(|h| h as u32),
            enabled: form.enabled,
        }),
        _ => Err(errors),
    }
}

impl From<&CreditAlert> for CreditAlertForm {
    /// `threshold` without trailing zeros; `recipients` joined with `", "`.
    fn from(v: &CreditAlert) -> Self {
        CreditAlertForm {
            threshold: micros_text(v.threshold_micros),
            recipients: v.recipients.join(", "),
            repeat_every_hours: text_of(v.repeat_every_hours),
            enabled: v.enabled,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validation::assert_string_enum;
    use proptest::prelude::*;

    #[test]
    fn enums_keep_their_stored_spelling() {
        assert_string_enum::<CarrierType>();
        assert_string_enum::<CarrierStatus>();
        assert_string_enum::<ContactRole>();
        assert_string_enum::<BillingMode>();
        assert_string_enum::<BillingCycle>();
        assert_eq!(BillingCycle::SemiMonthly.as_str(), "semi_monthly");
        assert_eq!(BillingCycle::SemiMonthly.label(), "Semi-monthly");
        assert_eq!(ContactRole::Noc.label(), "NOC");
        assert_eq!(CarrierType::parse(" BOTH "), Some(CarrierType::Both));
    }

    fn new_carrier() -> NewCarrierForm {
        NewCarrierForm {
            name: "  Acme Telecom ".into(),
            account_code: " acme_uk-01 ".into(),
            carrier_type: "customer".into(),
            currency: "gbp".into(),
        }
    }

    #[test]
    fn a_new_carrier_is_trimmed_and_upper_cased() {
        let v = validate_new_carrier(&new_carrier()).unwrap();
        assert_eq!(v.name, "Acme Telecom");
        assert_eq!(v.account_code, "ACME_UK-01");
        assert_eq!(v.carrier_type, CarrierType::Customer);
        assert_eq!(v.currency, "GBP");
        assert_eq!(validate_new_carrier(&NewCarrierForm::from(&v)), Ok(v));
    }

    #[test]
    fn a_new_carrier_reports_every_bad_field() {
        let e = validate_new_carrier(&NewCarrierForm {
            name: " ".into(),
            account_code: "acme uk!".into(),
            carrier_type: "reseller".into(),
            currency: "pounds".into(),
        })
        .unwrap_err();
        assert_eq!(e.get("name"), Some("Enter the carrier's name."));
        assert_eq!(
            e.get("account_code"),
            Some("An account code uses only letters A–Z, digits 0–9, _ and -; remove “ !”.")
        );
        assert!(e
            .get("carrier_type")
            .unwrap()
            .contains("Choose Customer, Supplier or Both."));
        assert!(e
            .get("currency")
            .unwrap()
            .contains("“pounds” is not a currency code"));
        assert_eq!(e.0.len(), 4);

        assert!(validate_account_code("")
            .unwrap_err()
            .contains("Enter an account code"));
        assert!(validate_account_code(&"A".repeat(65))
            .unwrap_err()
            .contains("at most 64 characters (this has 65)"));
        assert_eq!(validate_account_code(&"a".repeat(64)), Ok("A".repeat(64)));
        let long_name = NewCarrierForm {
            name: "x".repeat(201),
            ..new_carrier()
        };
        assert!(validate_new_carrier(&long_name)
            .unwrap_err()
            .get("name")
            .unwrap()
            .contains("at most 200 characters"));
    }

    fn details() -> CarrierDetailsForm {
        CarrierDetailsForm {
            name: "Acme".into(),
            account_code: "acme".into(),
            carrier_type: "both".into(),
            status: "active".into(),
            website: " HTTPS://WWW.Acme.Example/About?x=Y ".into(),
            address: " 1 Acme Way\nLondon ".into(),
            currency: "usd".into(),
            timezone: " Europe/London ".into(),
            customer_enabled: true,
            supplier_enabled: true,
            default_codecs: vec![" PCMA ".into(), "G729".into()],
            noc_email: " NOC@Acme.Example ".into(),
            category_id: " 3 ".into(),
            group_id: "".into(),
            max_cps: " 20 ".into(),
            max_channels: "".into(),
        }
    }

    #[test]
    fn carrier_details_are_normalised() {
        let v = validate_carrier_details(&details()).unwrap();
        assert_eq!(
            v.website.as_deref(),
            Some("https://www.acme.example/About?x=Y")
        );
        assert_eq!(v.address.as_deref(), Some("1 Acme Way\nLondon"));
        assert_eq!(v.timezone, "Europe/London");
        assert_eq!(v.default_codecs, vec!["PCMA", "G729"]);
        assert_eq!(v.noc_email.as_deref(), Some("noc@acme.example"));
        assert_eq!(v.category_id, Some(3));
        assert_eq!(v.group_id, None);
        assert_eq!((v.max_cps, v.max_channels), (20, 0), "empty = no limit");
        assert_eq!(
            validate_carrier_details(&CarrierDetailsForm::from(&v)),
            Ok(v)
        );

        let blank = CarrierDetailsForm {
            website: " ".into(),
            address: "".into(),
            noc_email: "".into(),
            timezone: "UTC".into(),
            default_codecs: vec![],
            ..details()
        };
        let v = validate_carrier_details(&blank).unwrap();
        assert_eq!((v.website, v.address, v.noc_email), (None, None, None));
        assert_eq!(v.timezone, "UTC");
    }

    #[test]
    fn carrier_details_explain_each_problem() {
        let e = validate_carrier_details(&CarrierDetailsForm {
            carrier_type: "supplier".into(),
            status: "".into(),
            website: "www.acme.example".into(),
            address: "x".repeat(1001),
            timezone: "London".into(),
            default_codecs: vec!["PCMA".into(), " ".into(), "pcma".into()],
            noc_email: "noc at acme".into(),
            category_id: "0".into(),
            group_id: "abc".into(),
            max_cps: "10001".into(),
            max_channels: "-1".into(),
            ..details()
        })
        .unwrap_err();
        assert!(e
            .get("max_cps")
            .is_some_and(|m| m.contains("calls per second")));
        assert!(e
            .get("max_channels")
            .is_some_and(|m| m.contains("concurrent channels")));
        assert!(e
            .get("customer_enabled")
            .unwrap()
            .starts_with("Only a customer carrier"));
        assert_eq!(e.get("supplier_enabled"), None);
        assert!(e
            .get("status")
            .unwrap()
            .starts_with("Choose one from the list"));
        assert!(e.get("website").unwrap().contains("starting with https://"));
        assert!(e
            .get("address")
            .unwrap()
            .contains("at most 1000 characters"));
        assert!(e
            .get("timezone")
            .unwrap()
            .contains("“London” is not a time zone name"));
        let codec_errors: Vec<&str> =
            e.0.iter()
                .filter(|x| x.field == "default_codecs")
                .map(|x| x.message.as_str())
                .collect();
        assert_eq!(
            codec_errors,
            vec![
                "A codec name is blank; remove the empty entry.",
                "pcma is listed twice; keep one."
            ]
        );
        assert!(e.get("noc_email").is_some());
        assert_eq!(e.get("category_id"), Some("Choose one from the list."));
        assert_eq!(e.get("group_id"), Some("Choose one from the list."));

        let customer_only = CarrierDetailsForm {
            carrier_type: "customer".into(),
            ..details()
        };
        let e = validate_carrier_details(&customer_only).unwrap_err();
        assert!(e
            .get("supplier_enabled")
            .unwrap()
            .starts_with("Only a supplier carrier"));
        assert_eq!(e.0.len(), 1);
    }

    #[test]
    fn websites_need_a_scheme_and_a_host() {
        for ok in [
            "http://acme.example",
            "https://acme.example:8443/xy",
            "https://[2001:db8::1]/",
            "https://192.0.2.1",
        ] {
            assert!(validate_website(ok).is_ok(), "{ok}");
        }
        for bad in [
            "ftp://acme.example",
            "https://",
            "https:///path",
            "https://acme..example",
            "https://-acme.example",
            "https://acme.example:0",
            "https://acme.example:99999",
            "https://acme example",
            "https://[nope]/",
        ] {
            assert!(validate_website(bad).is_err(), "{bad}");
        }
        let long = format!("https://{}.example", "a".repeat(250));
        assert!(validate_website(&long).unwrap_err().contains("at most 255"));
    }

    #[test]
    fn time_zones_come_from_the_tz_database() {
        let zones: Vec<&str> = timezones().collect();
        assert!(zones.len() > 400);
        assert!(zones.contains(&"Europe/London") && zones.contains(&"UTC"));
        for zone in zones {
            assert_eq!(validate_timezone(zone).as_deref(), Ok(zone));
        }
        assert!(validate_timezone("")
            .unwrap_err()
            .starts_with("Choose a time zone"));
    }

    #[test]
    fn a_contact_needs_a_way_to_reach_them() {
        let form = ContactForm {
            role: "noc".into(),
            name: " Jo ".into(),
            email: "".into(),
            phone: " +44 (20) 7946-0000 ".into(),
        };
        let v = validate_contact(&form).unwrap();
        assert_eq!(v.phone.as_deref(), Some("+44 (20) 7946-0000"));
        assert_eq!(v.email, None);
        assert_eq!(v.name, "Jo");
        assert_eq!(validate_contact(&ContactForm::from(&v)), Ok(v));

        let e = validate_contact(&ContactForm {
            phone: "".into(),
            ..form.clone()
        })
        .unwrap_err();
        assert_eq!(
            e.get("email"),
            Some("Enter an e-mail address or a phone number, so we can reach this contact.")
        );

        let e = validate_contact(&ContactForm {
            role: "boss".into(),
            name: "".into(),
            email: "jo@".into(),
            phone: "+44 20 ext 5".into(),
        })
        .unwrap_err();
        assert!(e.get("role").is_some());
        assert!(e.get("name").is_some());
        assert!(e.get("email").unwrap().contains("name@example.com"));
        assert!(e.get("phone").unwrap().contains("6 to 15 digits"));
        // Only the bad e-mail is reported on "email", not also "enter one of them".
        assert_eq!(e.0.iter().filter(|x| x.field == "email").count(), 1);
    }

    #[test]
    fn phone_numbers_have_6_to_15_digits() {
        assert!(validate_phone("123456").is_ok());
        assert!(validate_phone("+123456789012345").is_ok());
        assert!(validate_phone("12345").is_err());
        assert!(validate_phone("+1234567890123456").is_err(), "16 digits");
        assert!(validate_phone("++44123456").is_err());
        assert!(validate_phone("44+123456").is_err());
    }

    fn accounting() -> AccountingForm {
        AccountingForm {
            billing_mode: "postpaid".into(),
            credit_limit: " 1250.50 ".into(),
            billing_cycle: "weekly".into(),
            payment_terms_days: "3".into(),
            invoice_email: "Billing@Acme.Example".into(),
            tax_id: " GB123456789 ".into(),
        }
    }

    #[test]
    fn accounting_terms_read_like_a_contract() {
        let v = validate_accounting(&accounting()).unwrap();
        assert_eq!(v.credit_limit_micros, 1_250_500_000);
        assert_eq!(v.billing_term(), "weekly 7/3");
        assert_eq!(v.invoice_email.as_deref(), Some("billing@acme.example"));
        assert_eq!(v.tax_id.as_deref(), Some("GB123456789"));
        let form = AccountingForm::from(&v);
        assert_eq!(form.credit_limit, "1250.5");
        assert_eq!(validate_accounting(&form), Ok(v.clone()));

        let semi = Accounting {
            billing_cycle: BillingCycle::SemiMonthly,
            payment_terms_days: 5,
            ..v.clone()
        };
        assert_eq!(semi.billing_term(), "semi-monthly 15/5");
        let monthly = Accounting {
            billing_cycle: BillingCycle::Monthly,
            payment_terms_days: 30,
            ..v
        };
        assert_eq!(monthly.billing_term(), "monthly 30/30");

        let no_credit = validate_accounting(&AccountingForm {
            credit_limit: "".into(),
            ..accounting()
        })
        .unwrap();
        assert_eq!(no_credit.credit_limit_micros, 0);
        assert_eq!(AccountingForm::from(&no_credit).credit_limit, "0");
    }

    #[test]
    fn accounting_rejects_negative_credit_and_long_terms() {
        let e = validate_accounting(&AccountingForm {
            credit_limit: "-100".into(),
            payment_terms_days: "121".into(),
            billing_cycle: "daily".into(),
            tax_id: "X".repeat(65),
            ..accounting()
        })
        .unwrap_err();
        assert_eq!(
            e.get("credit_limit"),
            Some("A credit limit cannot be negative; enter 0 for no credit.")
        );
        assert_eq!(
            e.get("payment_terms_days"),
            Some("Enter the payment terms in days as a whole number from 0 to 120.")
        );
        assert!(e
            .get("billing_cycle")
            .unwrap()
            .contains("Weekly, Semi-monthly or Monthly"));
        assert!(e.get("tax_id").unwrap().contains("at most 64"));
        for (text, expected) in [
            ("1,000", "as a number"),
            ("$5", "as a number"),
            ("0.0000001", "at most 6 decimal places"),
            ("99999999999999", "too large"),
        ] {
            let e = validate_accounting(&AccountingForm {
                credit_limit: text.into(),
                ..accounting()
            })
            .unwrap_err();
            assert!(e.get("credit_limit").unwrap().contains(expected), "{text}");
        }
    }

    #[test]
    fn recipients_are_split_normalised_and_deduplicated() {
        assert_eq!(
            parse_recipients(" NOC@a.example, noc@a.example;\nbilling@a.example  ops@a.example,"),
            Ok(vec![
                "noc@a.example".to_owned(),
                "billing@a.example".to_owned(),
                "ops@a.example".to_owned()
            ])
        );
        assert_eq!(parse_recipients(" ,; \n"), Ok(vec![]));
        let e = parse_recipients("noc@a.example, bob").unwrap_err();
        assert!(e.starts_with("“bob” is not an e-mail address."), "{e}");
        let e = parse_recipients("bob; alice@").unwrap_err();
        assert!(
            e.starts_with("These are not e-mail addresses: “bob”, “alice@”."),
            "{e}"
        );
    }

    #[test]
    fn credit_alerts_allow_negative_thresholds() {
        let form = CreditAlertForm {
            threshold: "-50".into(),
            recipients: "noc@a.example".into(),
            repeat_every_hours: "".into(),
            enabled: true,
        };
        let v = validate_credit_alert(&form).unwrap();
        assert_eq!(v.threshold_micros, -50_000_000);
        assert_eq!(v.repeat_every_hours, None);
        assert_eq!(CreditAlertForm::from(&v), form);

        let e = validate_credit_alert(&CreditAlertForm {
            threshold: "".into(),
            recipients: "".into(),
            repeat_every_hours: "169".into(),
            enabled: false,
        })
        .unwrap_err();
        assert!(e.get("threshold").unwrap().starts_with("Enter the balance"));
        assert_eq!(
            e.get("recipients"),
            Some("Enter at least one e-mail address to alert.")
        );
        assert_eq!(
            e.get("repeat_every_hours"),
            Some("Enter the hours between repeats as a whole number from 1 to 168, or leave it empty to alert once until the balance recovers.")
        );
    }

    proptest! {
        #[test]
        fn money_round_trips_through_the_form(micros in -10_i64.pow(15)..10_i64.pow(15)) {
            let alert = CreditAlert {
                threshold_micros: micros,
                recipients: vec!["noc@a.example".into()],
                repeat_every_hours: Some(24),
                enabled: true,
            };
            prop_assert_eq!(validate_credit_alert(&CreditAlertForm::from(&alert)), Ok(alert));
        }

        #[test]
        fn valid_account_codes_are_idempotent(code in "[A-Za-z0-9_-]{1,64}") {
            let once = validate_account_code(&code).unwrap();
            prop_assert_eq!(validate_account_code(&once), Ok(once.clone()));
            prop_assert_eq!(once, code.to_ascii_uppercase());
        }
    }
}
