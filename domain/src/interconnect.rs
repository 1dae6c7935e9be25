//! Interconnects: the SIP trunks a carrier sends us calls on (ingress, customer side) or
//! we send it calls on (egress, supplier side), and the rules each applies to calls:
//! addresses, codecs, number validation, number translation, media, signalling and
//! quality monitoring.
//!
//! As in [`crate::carrier`], each form has a raw `…Form` (text as typed, field names are
//! the form's) and a validated value from its `validate_…` function, which collects
//! every problem; `From<&Value> for Form` shows a saved value back in its form.
//!
//! [`CompiledNumberRules`] and [`Translator`] are what the call path runs: regexes are
//! compiled once, and applying them allocates little.

use std::borrow::Cow;
use std::fmt;
use std::net::{IpAddr, Ipv6Addr};

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::carrier::{parse_recipients, CarrierStatus, MAX_NAME_CHARS};
use crate::validation::{
    choice, optional_id, optional_whole_number, regex_reason, required_text, string_enum, take,
    text_of, whole_number, FieldErrors,
};

string_enum! {
    /// Which way calls flow on an interconnect.
    pub enum Direction {
        /// A customer sends us calls; its addresses say who may send them.
        Ingress = ("ingress", "Ingress (customer)"),
        /// We send a supplier calls; its addresses say where to send them.
        Egress = ("egress", "Egress (supplier)"),
    }
}

string_enum! {
    /// SIP transport protocol (RFC 3261 §18; TLS per RFC 5630).
    pub enum Transport {
        Udp = ("udp", "UDP"),
        Tcp = ("tcp", "TCP"),
        Tls = ("tls", "TLS"),
    }
}

string_enum! {
    /// How the media (RTP) of a call is handled.
    pub enum MediaMode {
        /// Media flows through our media servers (needed for transcoding and recording).
        Relay = ("relay", "RTP relay"),
        /// Media flows through our SBC's RTP proxy, untouched.
        Proxy = ("proxy", "RTP proxy"),
        /// Media flows between the carriers directly; we carry signalling only.
        Direct = ("direct", "Direct (no media anchoring)"),
    }
}

string_enum! {
    /// How DTMF digits are carried.
    pub enum DtmfMode {
        /// Telephone-event RTP payload (RFC 2833, obsoleted by RFC 4733).
        Rfc2833 = ("rfc2833", "RFC 2833 / 4733"),
        /// As tones in the audio.
        Inband = ("inband", "In-band"),
        /// SIP INFO requests (RFC 6086).
        SipInfo = ("sip_info", "SIP INFO"),
    }
}

string_enum! {
    /// What to do with the P-Asserted-Identity header (RFC 3325).
    pub enum PaiMode {
        Pass = ("pass", "Pass through"),
        Strip = ("strip", "Strip"),
        /// Set P-Asserted-Identity from the A-number.
        FromCli = ("from_cli", "Set from the A-number"),
    }
}

string_enum! {
    /// What to do with the Privacy header (RFC 3323).
    pub enum PrivacyMode {
        Pass = ("pass", "Pass through"),
        /// Honour `Privacy: id`: withhold the caller's identity from the far end.
        Honour = ("honour", "Honour Privacy: id"),
        Strip = ("strip", "Strip"),
    }
}

string_enum! {
    /// Which number of a call a translation rule changes.
    pub enum NumberTarget {
        A = ("a", "A-number (caller)"),
        B = ("b", "B-number (called)"),
    }
}

string_enum! {
    /// The kind of a translation rule (the tag of [`TranslationAction`]).
    pub enum TranslationKind {
        Strip = ("strip", "Strip digits"),
        Prepend = ("prepend", "Prepend digits"),
        Replace = ("replace", "Regex replace"),
    }
}

/// Longest user-written regex (CLI format, translation pattern), in characters.
pub const MAX_PATTERN_CHARS: usize = 256;

/// Compiles a user-written regex; the error is a one-line sentence for the form.
fn user_regex(pattern: &str, what: &str) -> Result<Regex, String> {
    if pattern.chars().count() > MAX_PATTERN_CHARS {
        return Err(format!(
            "{what} has at most {MAX_PATTERN_CHARS} characters; shorten it."
        ));
    }
    Regex::new(pattern).map_err(|e| {
        format!(
            "{what} is not a valid regular expression: {}.",
            regex_reason(&e)
        )
    })
}

// ---------------------------------------------------------------------------------------
// Interconnect
// ---------------------------------------------------------------------------------------

/// Longest tech prefix, in characters.
pub const MAX_TECH_PREFIX_CHARS: usize = 16;

/// The interconnect's main form, raw as typed. `pop_id`/`channel_plan_id` are select
/// values (empty = none).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InterconnectForm {
    pub name: String,
    pub direction: String,
    pub status: String,
    pub tech_prefix: String,
    pub pop_id: String,
    pub channel_plan_id: String,
}

/// A valid interconnect: `name` 1–200 characters; `tech_prefix` (the digits a customer
/// puts before the B-number to pick this trunk or its routing plan) 1–16 of `0–9`, `#`,
/// `*`, or `None`; `pop_id`, `channel_plan_id` positive ids or `None`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interconnect {
    pub name: String,
    pub direction: Direction,
    pub status: CarrierStatus,
    pub tech_prefix: Option<String>,
    pub pop_id: Option<i64>,
    pub channel_plan_id: Option<i64>,
}

fn validate_tech_prefix(text: &str) -> Result<Option<String>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    if text.chars().count() > MAX_TECH_PREFIX_CHARS
        || !text
            .chars()
            .all(|c| c.is_ascii_digit() || c == '#' || c == '*')
    {
        return Err(format!(
            "A tech prefix is up to {MAX_TECH_PREFIX_CHARS} digits, # and *, e.g. 0101#; leave it empty for none."
        ));
    }
    Ok(Some(text.to_owned()))
}

/// Validates the interconnect's main form, reporting every bad field by its form name.
pub fn validate_interconnect(form: &InterconnectForm) -> Result<Interconnect, FieldErrors> {
    let mut errors = FieldErrors::new();
    let name = take(
        &mut errors,
        "name",
        required_text(&form.name, MAX_NAME_CHARS, "the interconnect's name"),
    );
    let direction = take(&mut errors, "direction", choice(&form.direction));
    let status = take(&mut errors, "status", choice(&form.status));
    let tech_prefix = take(
        &mut errors,
        "tech_prefix",
        validate_tech_prefix(&form.tech_prefix),
    );
    let pop_id = take(&mut errors, "pop_id", optional_id(&form.pop_id));
    let channel_plan_id = take(
        &mut errors,
        "channel_plan_id",
        optional_id(&form.channel_plan_id),
    );
    match (
        name,
        direction,
        status,
        tech_prefix,
        pop_id,
        channel_plan_id,
    ) {
        (
            Some(name),
            Some(direction),
            Some(status),
            Some(tech_prefix),
            Some(pop_id),
            Some(channel_plan_id),
        ) => Ok(Interconnect {
            name,
            direction,
            status,
            tech_prefix,
            pop_id,
            channel_plan_id,
        }),
        _ => Err(errors),
    }
}

impl From<&Interconnect> for InterconnectForm {
    fn from(v: &Interconnect) -> Self {
        InterconnectForm {
            name: v.name.clone(),
            direction: v.direction.as_str().into(),
            status: v.status.as_str().into(),
            tech_prefix: v.tech_prefix.clone().unwrap_or_default(),
            pop_id: text_of(v.pop_id),
            channel_plan_id: text_of(v.channel_plan_id),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Addresses
// ---------------------------------------------------------------------------------------

/// One interconnect address: a single IP, a network, or a host name.
///
/// Invariants (kept by [`AddressSpec::parse`] and by deserialisation, which parses the
/// text form): a `Cidr` has no host bits set and a prefix shorter than the address
/// (`/32` and `/128` are an `Ip`); a `Host` is lower-case RFC 1123 (letters, digits and
/// hyphens in dot-separated labels of 1–63 characters, at most 253 in all, not all
/// digits in the last label).
///
/// Serialised (serde, `Display`) as its canonical text: `192.0.2.10`, `192.0.2.0/24`,
/// `2001:db8::/32` (RFC 5952 IPv6 form), `sip.carrier.example`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum AddressSpec {
    Ip(IpAddr),
    Cidr { network: IpAddr, prefix_len: u8 },
    Host(String),
}

/// Bits in an address of this family: 32 or 128.
fn family_bits(ip: IpAddr) -> u8 {
    if ip.is_ipv4() {
        32
    } else {
        128
    }
}

/// `ip` with all but the first `len` bits cleared (`len` at most the family's bits).
fn network_of(ip: IpAddr, len: u8) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
            IpAddr::V4((u32::from(v4) & mask).into())
        }
        IpAddr::V6(v6) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
            IpAddr::V6((u128::from(v6) & mask).into())
        }
    }
}

/// RFC 1123 §2.1 host name (one trailing dot allowed), last label not all digits.
fn is_host_name(text: &str) -> bool {
    let text = text.strip_suffix('.').unwrap_or(text);
    let labels_ok = !text.is_empty()
        && text.len() <= 253
        && text.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    let last_all_digits = text
        .rsplit('.')
        .next()
        .is_some_and(|l| l.bytes().all(|b| b.is_ascii_digit()));
    labels_ok && !last_all_digits
}

impl AddressSpec {
    /// Parses an IP address (`192.0.2.10`, `2001:db8::1`, `[2001:db8::1]`), a network in
    /// CIDR notation (`192.0.2.0/24`), or a host name (`sip.carrier.example`), trimmed.
    ///
    /// A network's host bits must be zero: `192.0.2.5/24` is refused with a message
    /// showing `192.0.2.0/24`. `/32` (IPv4) and `/128` (IPv6) give an `Ip`. Host names
    /// are lower-cased and lose a trailing dot. The error is a sentence for the form.
    pub fn parse(text: &str) -> Result<AddressSpec, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err(
                "Enter an IP address, a network such as 192.0.2.0/24, or a host name.".into(),
            );
        }
        if let Some((ip_text, len_text)) = text.split_once('/') {
            let ip: IpAddr = ip_text.trim().parse().map_err(|_| {
                format!(
                    "“{}” before the / is not an IP address; write a network like 192.0.2.0/24.",
                    ip_text.trim()
                )
            })?;
            let bits = family_bits(ip);
            let len = len_text
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|l| *l <= bits && len_text.trim().bytes().all(|b| b.is_ascii_digit()))
                .ok_or_else(|| {
                    format!("The prefix length after the / is a whole number from 0 to {bits}.")
                })?;
            let network = network_of(ip, len);
            if network != ip {
                return Err(format!(
                    "{ip}/{len} has host bits set: the network is {network}/{len}. Enter that, or the single address {ip} without /{len}."
                ));
            }
            return Ok(if len == bits {
                AddressSpec::Ip(ip)
            } else {
                AddressSpec::Cidr {
                    network,
                    prefix_len: len,
                }
            });
        }
        if let Ok(ip) = text.parse::<IpAddr>() {
            return Ok(AddressSpec::Ip(ip));
        }
        if let Some(ip) = text
            .strip_prefix('[')
            .and_then(|t| t.strip_suffix(']'))
            .and_then(|t| t.parse::<Ipv6Addr>().ok())
        {
            return Ok(AddressSpec::Ip(IpAddr::V6(ip)));
        }
        if is_host_name(text) {
            let host = text.strip_suffix('.').unwrap_or(text);
            return Ok(AddressSpec::Host(host.to_ascii_lowercase()));
        }
        if text.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
            return Err(format!(
                "“{text}” is not a valid IP address: an IPv4 address is four numbers from 0 to 255, e.g. 192.0.2.10."
            ));
        }
        Err(format!(
            "“{text}” is not an IP address, a network or a host name. A host name is letters, digits and hyphens separated by dots, e.g. sip.carrier.example."
        ))
    }

    /// True for a host name (resolved by DNS at call time).
    pub fn is_host(&self) -> bool {
        matches!(self, AddressSpec::Host(_))
    }

    /// The network this spec covers: `(address, prefix length)`; `None` for a host.
    fn network(&self) -> Option<(IpAddr, u8)> {
        match self {
            AddressSpec::Ip(ip) => Some((*ip, family_bits(*ip))),
            AddressSpec::Cidr {
                network,
                prefix_len,
            } => Some((*network, *prefix_len)),
            AddressSpec::Host(_) => None,
        }
    }

    /// True when some address is covered by both: an IP or network contains the other,
    /// or they intersect (for prefixes, one always contains the other). IPv4 never
    /// overlaps IPv6 (an IPv4-mapped IPv6 address is treated as IPv6). A host overlaps
    /// only the same host name, ignoring case (names are not resolved). Symmetric.
    ///
    /// Used to refuse two carriers' ingress addresses that overlap: a call from an
    /// address in both could not be attributed to one customer.
    pub fn overlaps(&self, other: &AddressSpec) -> bool {
        if let (AddressSpec::Host(a), AddressSpec::Host(b)) = (self, other) {
            return a.eq_ignore_ascii_case(b);
        }
        match (self.network(), other.network()) {
            (Some((a, a_len)), Some((b, b_len))) if a.is_ipv4() == b.is_ipv4() => {
                let len = a_len.min(b_len);
                network_of(a, len) == network_of(b, len)
            }
            _ => false,
        }
    }

    /// The first and last address covered, as 128-bit numbers with IPv4 mapped into
    /// IPv6 (`::ffff:a.b.c.d`, RFC 4291 §2.5.5.2), so ranges of both families sort and
    /// compare in one column; `None` for a host. `192.0.2.0/24` gives
    /// `(0xffff_c000_0200, 0xffff_c000_02ff)`.
    pub fn ip_range(&self) -> Option<(u128, u128)> {
        let (network, len) = self.network()?;
        Some(match network {
            IpAddr::V4(v4) => {
                let first = u32::from(v4);
                let host = u32::MAX.checked_shr(u32::from(len)).unwrap_or(0);
                let mapped = |x: u32| (0xffff_u128 << 32) | u128::from(x);
                (mapped(first), mapped(first | host))
            }
            IpAddr::V6(v6) => {
                let first = u128::from(v6);
                let host = u128::MAX.checked_shr(u32::from(len)).unwrap_or(0);
                (first, first | host)
            }
        })
    }
}

impl fmt::Display for AddressSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AddressSpec::Ip(ip) => write!(f, "{ip}"),
            AddressSpec::Cidr {
                network,
                prefix_len,
            } => write!(f, "{network}/{prefix_len}"),
            AddressSpec::Host(host) => f.write_str(host),
        }
    }
}

impl std::str::FromStr for AddressSpec {
    type Err = String;
    /// Same as [`AddressSpec::parse`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AddressSpec::parse(s)
    }
}

impl Serialize for AddressSpec {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for AddressSpec {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        AddressSpec::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// The default SIP port (RFC 3261 §19.1.2).
pub const DEFAULT_SIP_PORT: u16 = 5060;

/// An interconnect address form, raw as typed. `port` empty means 5060.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressForm {
    pub address: String,
    pub port: String,
    pub transport: String,
}

/// A valid interconnect address. For ingress `spec` is an IP or network (who may send
/// us calls); for egress an IP or host name (where we send calls). `port` 1–65535.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    pub spec: AddressSpec,
    pub port: u16,
    pub transport: Transport,
}

fn sip_port(text: &str) -> Result<u16, String> {
    optional_whole_number(
        text,
        1,
        u64::from(u16::MAX),
        "the SIP port",
        "leave it empty for 5060",
    )
    .map(|p| p.map_or(DEFAULT_SIP_PORT, |p| p as u16))
}

/// The shortest ingress network prefix accepted: /16 for IPv4, /32 for IPv6 (an IPv6
/// site allocation, RFC 6177). Anything wider would accept calls from whole providers.
pub fn min_ingress_prefix(network: &std::net::IpAddr) -> u8 {
    if network.is_ipv4() {
        16
    } else {
        32
    }
}

/// Validates an address of an interconnect with this `direction`, reporting every bad
/// field (`address`, `port`, `transport`).
///
/// Ingress accepts an IP or a network only: calls are accepted by source address, which
/// a host name cannot be matched against reliably; a network no wider than
/// [`min_ingress_prefix`] (so `0.0.0.0/0` is refused). Egress accepts an IP or a host name,
/// not a network: calls go to one destination.
pub fn validate_address(form: &AddressForm, direction: Direction) -> Result<Address, FieldErrors> {
    let mut errors = FieldErrors::new();
    let spec = if form.address.trim().is_empty() {
        Err(match direction {
            Direction::Ingress => "Enter the IP address or network that may send us calls, e.g. 192.0.2.10 or 192.0.2.0/24.",
            Direction::Egress => "Enter the IP address or host name to send calls to, e.g. 192.0.2.10 or sip.carrier.example.",
        }
        .to_owned())
    } else {
        AddressSpec::parse(&form.address).and_then(|spec| match (direction, &spec) {
            (Direction::Ingress, AddressSpec::Host(_)) => Err(
                "Who may send us calls must be an IP address or a network (CIDR) such as 192.0.2.0/24, not a host name."
                    .to_owned(),
            ),
            (Direction::Ingress, AddressSpec::Cidr { network, prefix_len })
                if *prefix_len < min_ingress_prefix(network) =>
            {
                Err(format!(
                    "/{prefix_len} would let a large part of the internet send calls as this carrier (toll fraud). Use a network of /{} or smaller.",
                    min_ingress_prefix(network)
                ))
            }
            (Direction::Egress, AddressSpec::Cidr { .. }) => Err(
                "Where we send calls must be one IP address or a host name, not a network."
                    .to_owned(),
            ),
            _ => Ok(spec),
        })
    };
    let spec = take(&mut errors, "address", spec);
    let port = take(&mut errors, "port", sip_port(&form.port));
    let transport = take(&mut errors, "transport", choice(&form.transport));
    match (spec, port, transport) {
        (Some(spec), Some(port), Some(transport)) => Ok(Address {
            spec,
            port,
            transport,
        }),
        _ => Err(errors),
    }
}

impl From<&Address> for AddressForm {
    /// `address` in canonical form; `port` always written out (e.g. `"5060"`).
    fn from(v: &Address) -> Self {
        AddressForm {
            address: v.spec.to_string(),
            port: v.port.to_string(),
            transport: v.transport.as_str().into(),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Codecs
// ---------------------------------------------------------------------------------------

/// One codec offered on an interconnect, in preference order. `relay_only`: offer it
/// only when media is relayed through our media servers ([`MediaMode::Relay`]), e.g. a
/// codec we transcode to but the far end does not pass through.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CodecChoice {
    pub codec: String,
    pub relay_only: bool,
}

/// Validates an interconnect's codec list against the codec `catalogue` (the names the
/// platform supports, e.g. `["PCMA", "PCMU", "G729"]`). Names are trimmed and matched
/// ignoring case, then spelt as in the catalogue; blank, unknown and duplicate entries
/// are each reported on field `codecs`, naming the codec. Order is kept (it is the
/// preference order). An empty list is valid: the caller decides what it means (e.g.
/// the carrier's default codecs).
pub fn validate_codecs<S: AsRef<str>>(
    list: &[CodecChoice],
    catalogue: &[S],
) -> Result<Vec<CodecChoice>, FieldErrors> {
    let mut errors = FieldErrors::new();
    let mut out: Vec<CodecChoice> = Vec::with_capacity(list.len());
    for choice in list {
        let name = choice.codec.trim();
        if name.is_empty() {
            errors.add("codecs", "A codec is blank; choose one or remove the row.");
            continue;
        }
        let Some(known) = catalogue
            .iter()
            .map(AsRef::as_ref)
            .find(|c| c.eq_ignore_ascii_case(name))
        else {
            errors.add(
                "codecs",
                format!("{name} is not a codec this platform supports; choose one from the list."),
            );
            continue;
        };
        if out.iter().any(|c| c.codec == known) {
            errors.add("codecs", format!("{known} is listed twice; keep one."));
            continue;
        }
        out.push(CodecChoice {
            codec: known.to_owned(),
            relay_only: choice.relay_only,
        });
    }
    errors.into_result(out)
}

// ---------------------------------------------------------------------------------------
// Number validation
// ---------------------------------------------------------------------------------------

/// Most digits in an international number, country code included (ITU-T E.164 §6).
pub const MAX_E164_DIGITS: u8 = 15;

/// The number validation form, raw as typed.
///
/// - `length_rules`: one rule per line, `<country code> <min>-<max>` or
///   `<country code> <digits>`, e.g. `44 12-13` and `1 11`; lengths count all digits of
///   the B-number including the country code;
/// - `allowed_prefixes`, `blocked_prefixes`: B-number prefixes separated by commas,
///   semicolons, spaces or lines (a leading `+` is dropped);
/// - `cli_format`: a regex the A-number must match (empty = any).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NumberRulesForm {
    pub length_rules: String,
    pub allowed_prefixes: String,
    pub blocked_prefixes: String,
    pub cli_required: bool,
    pub cli_format: String,
    pub reject_anonymous: bool,
}

/// B-numbers starting with `country_code` have `min`–`max` digits in all (country code
/// included, at most 15 per ITU-T E.164).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LengthRule {
    pub country_code: String,
    pub min: u8,
    pub max: u8,
}

/// Valid number validation rules for an interconnect (stored as JSON; missing fields
/// read as their defaults, and the default accepts every call).
///
/// - `length_rules`: country codes of 1–3 digits, each at most once;
/// - `allowed_prefixes`: when not empty, a B-number must start with one of them;
/// - `blocked_prefixes`: a B-number starting with one is rejected (checked first, so a
///   blocked `4470` inside an allowed `44` works); no prefix is in both lists;
/// - `cli_required`: a call must present an A-number;
/// - `cli_format`: an unanchored regex (write `^…$` to match the whole number) the
///   A-number must match; it compiles;
/// - `reject_anonymous`: reject calls without a presentable A-number.
///
/// Prefixes are 1–15 digits, without duplicates, in the order typed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct NumberRules {
    pub length_rules: Vec<LengthRule>,
    pub allowed_prefixes: Vec<String>,
    pub blocked_prefixes: Vec<String>,
    pub cli_required: bool,
    pub cli_format: Option<String>,
    pub reject_anonymous: bool,
}

/// Why [`NumberRules::check`] refused a call. The message is for logs and CDRs.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NumberRejection {
    #[error("anonymous calls are not accepted")]
    AnonymousRejected,
    #[error("a caller id (A-number) is required")]
    CliRequired,
    #[error("the caller id does not match the required format")]
    CliFormat,
    #[error("the called number starts with blocked prefix {0}")]
    BlockedPrefix(String),
    #[error("the called number does not start with an allowed prefix")]
    NotAllowedPrefix,
    #[error("a number with country code {country_code} has {min} to {max} digits, this has {len}")]
    Length {
        country_code: String,
        len: usize,
        min: u8,
        max: u8,
    },
}

/// One line of `length_rules` (trimmed, not blank); the error has no "Line N:" prefix.
fn parse_length_rule(line: &str) -> Result<LengthRule, String> {
    let shape = "write a country code, a space, then the number of digits or a range, e.g. 44 12-13 or 1 11";
    let mut parts = line.split_whitespace();
    let (Some(cc), Some(range), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(shape.into());
    };
    let cc = cc.strip_prefix('+').unwrap_or(cc);
    if cc.is_empty() || cc.len() > 3 || !cc.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "“{cc}” is not a country code: a country code is 1 to 3 digits (ITU-T E.164), e.g. 44"
        ));
    }
    let range = range.replace(['–', '—'], "-");
    let (min, max) = range.split_once('-').unwrap_or((&range, &range));
    let digits = |t: &str| {
        t.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| t.parse::<u8>().ok())
            .flatten()
            .filter(|n| (1..=MAX_E164_DIGITS).contains(n))
    };
    let (Some(min), Some(max)) = (digits(min), digits(max)) else {
        return Err(format!(
            "a length is a whole number from 1 to {MAX_E164_DIGITS} (ITU-T E.164 allows at most 15 digits, country code included); {shape}"
        ));
    };
    if min > max {
        return Err(format!(
            "the shortest length ({min}) is more than the longest ({max}); write it as {max}-{min}"
        ));
    }
    if usize::from(min) <= cc.len() {
        return Err(format!(
            "a number is longer than its country code {cc}; the length counts the country code too, e.g. {cc} {}",
            (cc.len() + 8).min(15)
        ));
    }
    Ok(LengthRule {
        country_code: cc.to_owned(),
        min,
        max,
    })
}

/// Prefixes separated by commas, semicolons, spaces or lines; a leading `+` dropped;
/// 1–15 digits each; duplicates dropped. The error names every bad entry.
fn parse_prefixes(text: &str) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    let mut bad: Vec<&str> = Vec::new();
    for item in text
        .split(|c: char| c == ',' || c == ';' || c.is_whitespace())
        .filter(|s| !s.is_empty())
    {
        let digits = item.strip_prefix('+').unwrap_or(item);
        if digits.is_empty()
            || digits.len() > usize::from(MAX_E164_DIGITS)
            || !digits.bytes().all(|b| b.is_ascii_digit())
        {
            bad.push(item);
        } else if !out.iter().any(|p| p == digits) {
            out.push(digits.to_owned());
        }
    }
    if bad.is_empty() {
        return Ok(out);
    }
    let list = bad
        .iter()
        .map(|b| format!("“{b}”"))
        .collect::<Vec<_>>()
        .join(", ");
    Err(format!(
        "{list} {}: a prefix is 1 to 15 digits, e.g. 4420. Separate prefixes with commas.",
        if bad.len() == 1 {
            "is not a prefix"
        } else {
            "are not prefixes"
        }
    ))
}

/// Validates the number validation form, reporting every bad field by its form name;
/// each bad `length_rules` line is its own error, starting "Line N: ".
pub fn validate_number_rules(form: &NumberRulesForm) -> Result<NumberRules, FieldErrors> {
    let mut errors = FieldErrors::new();
    let mut length_rules: Vec<LengthRule> = Vec::new();
    let mut lines_ok = true;
    let mut first_line: Vec<(String, usize)> = Vec::new();
    for (index, line) in form.length_rules.lines().enumerate() {
        let number = index + 1;
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        match parse_length_rule(line) {
            Ok(rule) => {
                if let Some((_, earlier)) =
                    first_line.iter().find(|(cc, _)| *cc == rule.country_code)
                {
                    lines_ok = false;
                    errors.add(
                        "length_rules",
                        format!(
                            "Line {number}: country code {} already has a rule on line {earlier}; keep one.",
                            rule.country_code
                        ),
                    );
                } else {
                    first_line.push((rule.country_code.clone(), number));
                    length_rules.push(rule);
                }
            }
            Err(message) => {
                lines_ok = false;
                errors.add("length_rules", format!("Line {number}: {message}."));
            }
        }
    }
    let allowed = take(
        &mut errors,
        "allowed_prefixes",
        parse_prefixes(&form.allowed_prefixes),
    );
    let blocked = take(
        &mut errors,
        "blocked_prefixes",
        parse_prefixes(&form.blocked_prefixes),
    );
    if let (Some(allowed), Some(blocked)) = (&allowed, &blocked) {
        let both: Vec<&str> = blocked
            .iter()
            .filter(|p| allowed.contains(p))
            .map(String::as_str)
            .collect();
        if !both.is_empty() {
            errors.add(
                "blocked_prefixes",
                format!(
                    "{} {} both allowed and blocked; remove {} from one list.",
                    both.join(", "),
                    if both.len() == 1 { "is" } else { "are" },
                    if both.len() == 1 { "it" } else { "them" }
                ),
            );
        }
    }
    let cli_format = match form.cli_format.trim() {
        "" => Some(None),
        pattern => take(
            &mut errors,
            "cli_format",
            user_regex(pattern, "The CLI format").map(|_| Some(pattern.to_owned())),
        ),
    };
    match (allowed, blocked, cli_format) {
        (Some(allowed_prefixes), Some(blocked_prefixes), Some(cli_format))
            if lines_ok && errors.is_empty() =>
        {
            Ok(NumberRules {
                length_rules,
                allowed_prefixes,
                blocked_prefixes,
                cli_required: form.cli_required,
                cli_format,
                reject_anonymous: form.reject_anonymous,
            })
        }
        _ => Err(errors),
    }
}

impl From<&NumberRules> for NumberRulesForm {
    /// One length rule per line (`44 12-13`, or `1 11` when min = max); prefixes joined
    /// with `", "`.
    fn from(v: &NumberRules) -> Self {
        NumberRulesForm {
            length_rules: v
                .length_rules
                .iter()
                .map(|r| {
                    if r.min == r.max {
                        format!("{} {}", r.country_code, r.min)
                    } else {
                        format!("{} {}-{}", r.country_code, r.min, r.max)
                    }
                })
                .collect::<Vec<_>>()
                .join("\n"),
            allowed_prefixes: v.allowed_prefixes.join(", "),
            blocked_prefixes: v.blocked_prefixes.join(", "),
            cli_required: v.cli_required,
            cli_format: v.cli_format.clone().unwrap_or_default(),
            reject_anonymous: v.reject_anonymous,
        }
    }
}

/// [`NumberRules`] with the CLI format regex compiled, ready for the call path.
#[derive(Clone, Debug)]
pub struct CompiledNumberRules {
    rules: NumberRules,
    cli_format: Option<Regex>,
}

impl NumberRules {
    /// Compiles the CLI format once, for [`CompiledNumberRules::check`].
    ///
    /// Errors: the `cli_format` regex does not compile (cannot happen for rules from
    /// [`validate_number_rules`]).
    pub fn compile(&self) -> Result<CompiledNumberRules, regex::Error> {
        let cli_format = self.cli_format.as_deref().map(Regex::new).transpose()?;
        Ok(CompiledNumberRules {
            rules: self.clone(),
            cli_format,
        })
    }

    /// Same as [`CompiledNumberRules::check`], but compiles the CLI format on every call:
    /// for one-off checks (e.g. a "test this number" button), not the call path. A CLI
    /// format that does not compile fails closed: any presented A-number is `CliFormat`.
    pub fn check(&self, a_number: Option<&str>, b_number: &str) -> Result<(), NumberRejection> {
        match self.cli_format.as_deref().map(Regex::new).transpose() {
            Ok(regex) => check_numbers(
                self,
                |a| regex.as_ref().is_none_or(|r| r.is_match(a)),
                a_number,
                b_number,
            ),
            Err(_) => check_numbers(self, |_| false, a_number, b_number),
        }
    }
}

impl CompiledNumberRules {
    /// Checks one call's numbers, in this order:
    ///
    /// 1. the A-number: anonymous (`None`, blank, or `anonymous` in any case) is
    ///    `AnonymousRejected` if `reject_anonymous`, else `CliRequired` if
    ///    `cli_required`, else accepted; a presented A-number must match `cli_format`
    ///    (`CliFormat`);
    /// 2. the B-number (a leading `+` ignored): the longest matching blocked prefix
    ///    gives `BlockedPrefix`; with allowed prefixes, none matching is
    ///    `NotAllowedPrefix`; the length rule with the longest matching country code
    ///    must hold (`Length`, counting all digits); no matching rule means no check.
    pub fn check(&self, a_number: Option<&str>, b_number: &str) -> Result<(), NumberRejection> {
        check_numbers(
            &self.rules,
            |a| self.cli_format.as_ref().is_none_or(|r| r.is_match(a)),
            a_number,
            b_number,
        )
    }

    /// The rules these were compiled from.
    pub fn rules(&self) -> &NumberRules {
        &self.rules
    }
}

fn check_numbers(
    rules: &NumberRules,
    cli_matches: impl Fn(&str) -> bool,
    a_number: Option<&str>,
    b_number: &str,
) -> Result<(), NumberRejection> {
    let a = a_number.map(str::trim).unwrap_or("");
    if a.is_empty() || a.eq_ignore_ascii_case("anonymous") {
        if rules.reject_anonymous {
            return Err(NumberRejection::AnonymousRejected);
        }
        if rules.cli_required {
            return Err(NumberRejection::CliRequired);
        }
    } else if !cli_matches(a) {
        return Err(NumberRejection::CliFormat);
    }
    let b = b_number.trim();
    let b = b.strip_prefix('+').unwrap_or(b);
    if let Some(blocked) = rules
        .blocked_prefixes
        .iter()
        .filter(|p| b.starts_with(p.as_str()))
        .max_by_key(|p| p.len())
    {
        return Err(NumberRejection::BlockedPrefix(blocked.clone()));
    }
    if !rules.allowed_prefixes.is_empty()
        && !rules
            .allowed_prefixes
            .iter()
            .any(|p| b.starts_with(p.as_str()))
    {
        return Err(NumberRejection::NotAllowedPrefix);
    }
    if let Some(rule) = rules
        .length_rules
        .iter()
        .filter(|r| b.starts_with(r.country_code.as_str()))
        .max_by_key(|r| r.country_code.len())
    {
        let len = b.chars().count();
        if len < usize::from(rule.min) || len > usize::from(rule.max) {
            return Err(NumberRejection::Length {
                country_code: rule.country_code.clone(),
                len,
                min: rule.min,
                max: rule.max,
            });
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Number translation
// ---------------------------------------------------------------------------------------

/// Most digits a Strip rule removes.
pub const MAX_STRIP_DIGITS: u8 = 15;
/// Longest text a Prepend rule adds, in characters.
pub const MAX_PREPEND_CHARS: usize = 16;
/// Longest replacement of a Replace rule, in characters.
pub const MAX_REPLACEMENT_CHARS: usize = 64;

/// A translation rule form, raw as typed. Only the fields of the chosen `kind` are
/// read: `digits` (strip), `value` (prepend), `pattern` and `replacement` (replace).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TranslationRuleForm {
    pub target: String,
    pub kind: String,
    pub digits: String,
    pub value: String,
    pub pattern: String,
    pub replacement: String,
}

/// What a translation rule does to its number. Serialised with the
/// [`TranslationKind::as_str`] tag: `{"strip":2}`, `{"prepend":"44"}`,
/// `{"replace":{"pattern":"^00","replacement":""}}`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TranslationAction {
    /// Remove the first 1–15 characters (all of them if the number is shorter).
    Strip(u8),
    /// Put 1–16 characters in front: digits, `#`, `*`, optionally starting with `+`.
    Prepend(String),
    /// Replace the first match of `pattern` (an unanchored regex) with `replacement`,
    /// where `$1`, `${1}`, `$name` insert groups and `$$` is a dollar sign (the `regex`
    /// crate's `Regex::replace`).
    Replace {
        pattern: String,
        replacement: String,
    },
}

impl TranslationAction {
    /// The rule in words for lists and logs: `"strip 2 digits"`, `"strip 1 digit"`,
    /// `"prepend 44"`, `"replace ^00 with 44"`, `"replace ^00 with nothing"`.
    pub fn describe(&self) -> String {
        match self {
            TranslationAction::Strip(1) => "strip 1 digit".into(),
            TranslationAction::Strip(n) => format!("strip {n} digits"),
            TranslationAction::Prepend(value) => format!("prepend {value}"),
            TranslationAction::Replace {
                pattern,
                replacement,
            } if replacement.is_empty() => format!("replace {pattern} with nothing"),
            TranslationAction::Replace {
                pattern,
                replacement,
            } => format!("replace {pattern} with {replacement}"),
        }
    }

    /// The kind of this action.
    pub fn kind(&self) -> TranslationKind {
        match self {
            TranslationAction::Strip(_) => TranslationKind::Strip,
            TranslationAction::Prepend(_) => TranslationKind::Prepend,
            TranslationAction::Replace { .. } => TranslationKind::Replace,
        }
    }
}

/// A valid translation rule: change the `target` number by `action`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TranslationRule {
    pub target: NumberTarget,
    pub action: TranslationAction,
}

fn validate_prepend(text: &str) -> Result<String, String> {
    let value = text.trim();
    let body = value.strip_prefix('+').unwrap_or(value);
    if value.is_empty()
        || value.chars().count() > MAX_PREPEND_CHARS
        || !body
            .chars()
            .all(|c| c.is_ascii_digit() || c == '#' || c == '*')
    {
        return Err(format!(
            "Enter what to put in front: up to {MAX_PREPEND_CHARS} digits, # and *, optionally starting with +, e.g. 44."
        ));
    }
    Ok(value.to_owned())
}

/// Checks that every group a replacement refers to (`$1`, `${1}`, `$name`, `${name}`;
/// `$$` is a literal `$`) exists in `regex`, using the `regex` crate's reading of
/// references: `$144` is group 144, not group 1 then `44`.
fn check_replacement_groups(regex: &Regex, replacement: &str) -> Result<(), String> {
    let bytes = replacement.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'$' {
            i += 1;
            continue;
        }
        i += 1;
        if bytes.get(i) == Some(&b'$') {
            i += 1;
            continue;
        }
        let (name, written, next) = if bytes.get(i) == Some(&b'{') {
            match replacement[i + 1..].find('}') {
                Some(close) => {
                    let end = i + 1 + close;
                    (&replacement[i + 1..end], &replacement[i - 1..=end], end + 1)
                }
                None => continue,
            }
        } else {
            let len = bytes[i..]
                .iter()
                .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
                .count();
            (
                &replacement[i..i + len],
                &replacement[i - 1..i + len],
                i + len,
            )
        };
        i = next;
        if name.is_empty() {
            continue;
        }
        let groups = regex.captures_len() - 1;
        if let Ok(index) = name.parse::<usize>() {
            if index > groups {
                let hint = match name.as_bytes() {
                    [first, rest @ ..]
                        if !written.contains('{')
                            && !rest.is_empty()
                            && usize::from(first - b'0') <= groups =>
                    {
                        format!(
                            " To put digits after group {}, write ${{{}}}{}.",
                            first - b'0',
                            first - b'0',
                            &name[1..]
                        )
                    }
                    _ => String::new(),
                };
                return Err(format!(
                    "{written} refers to group {index}, but the pattern has {groups} group{}.{hint}",
                    if groups == 1 { "" } else { "s" }
                ));
            }
        } else if !regex.capture_names().flatten().any(|n| n == name) {
            return Err(format!(
                "{written} refers to a group named {name}, which the pattern does not have. Write $$ for a dollar sign."
            ));
        }
    }
    Ok(())
}

/// Validates a translation rule form, reporting every bad field by its form name
/// (`target`, `kind`, then `digits`, `value` or `pattern`/`replacement` for the kind).
pub fn validate_translation_rule(
    form: &TranslationRuleForm,
) -> Result<TranslationRule, FieldErrors> {
    let mut errors = FieldErrors::new();
    let target = take(&mut errors, "target", choice(&form.target));
    let kind = take(&mut errors, "kind", choice(&form.kind));
    let action = match kind {
        None => None,
        Some(TranslationKind::Strip) => take(
            &mut errors,
            "digits",
            whole_number(
                &form.digits,
                1,
                u64::from(MAX_STRIP_DIGITS),
                "how many digits to strip",
            )
            .map(|n| TranslationAction::Strip(n as u8)),
        ),
        Some(TranslationKind::Prepend) => take(
            &mut errors,
            "value",
            validate_prepend(&form.value).map(TranslationAction::Prepend),
        ),
        Some(TranslationKind::Replace) => {
            let pattern = form.pattern.trim();
            let regex = if pattern.is_empty() {
                Err("Enter the pattern to find, e.g. ^00 for a leading 00.".to_owned())
            } else {
                user_regex(pattern, "The pattern")
            };
            let regex = take(&mut errors, "pattern", regex);
            let replacement = form.replacement.trim();
            let replacement = if replacement.chars().count() > MAX_REPLACEMENT_CHARS {
                Err(format!(
                    "The replacement has at most {MAX_REPLACEMENT_CHARS} characters; shorten it."
                ))
            } else {
                match &regex {
                    Some(regex) => check_replacement_groups(regex, replacement),
                    None => Ok(()),
                }
                .map(|()| replacement.to_owned())
            };
            let replacement = take(&mut errors, "replacement", replacement);
            match (regex, replacement) {
                (Some(_), Some(replacement)) => Some(TranslationAction::Replace {
                    pattern: pattern.to_owned(),
                    replacement,
                }),
                _ => None,
            }
        }
    };
    match (target, action) {
        (Some(target), Some(action)) => Ok(TranslationRule { target, action }),
        _ => Err(errors),
    }
}

impl From<&TranslationRule> for TranslationRuleForm {
    /// Fills `target`, `kind` and the kind's own fields; the others are empty.
    fn from(v: &TranslationRule) -> Self {
        let mut form = TranslationRuleForm {
            target: v.target.as_str().into(),
            kind: v.action.kind().as_str().into(),
            ..Default::default()
        };
        match &v.action {
            TranslationAction::Strip(n) => form.digits = n.to_string(),
            TranslationAction::Prepend(value) => form.value = value.clone(),
            TranslationAction::Replace {
                pattern,
                replacement,
            } => {
                form.pattern = pattern.clone();
                form.replacement = replacement.clone();
            }
        }
        form
    }
}

/// One rule's change to one number, as [`Translator::apply`] reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TranslationStep {
    /// Position of the rule in the list given to [`Translator::new`] (from 0).
    pub rule_index: usize,
    pub target: NumberTarget,
    pub before: String,
    pub after: String,
}

/// Both numbers after translation, and the steps that changed them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Translation {
    pub a: String,
    pub b: String,
    /// Only rules that changed a number, in the order they ran.
    pub steps: Vec<TranslationStep>,
}

#[derive(Clone, Debug)]
enum CompiledAction {
    Strip(usize),
    Prepend(String),
    Replace(Regex, String),
}

/// An interconnect's translation rules, compiled once, for the call path.
#[derive(Clone, Debug)]
pub struct Translator {
    rules: Vec<(NumberTarget, CompiledAction)>,
}

impl Translator {
    /// Compiles `rules` (regexes once).
    ///
    /// Errors: a Replace pattern does not compile (cannot happen for rules from
    /// [`validate_translation_rule`]).
    pub fn new(rules: &[TranslationRule]) -> Result<Translator, regex::Error> {
        let rules = rules
            .iter()
            .map(|rule| {
                let action = match &rule.action {
                    TranslationAction::Strip(n) => CompiledAction::Strip(usize::from(*n)),
                    TranslationAction::Prepend(value) => CompiledAction::Prepend(value.clone()),
                    TranslationAction::Replace {
                        pattern,
                        replacement,
                    } => CompiledAction::Replace(Regex::new(pattern)?, replacement.clone()),
                };
                Ok((rule.target, action))
            })
            .collect::<Result<_, regex::Error>>()?;
        Ok(Translator { rules })
    }

    /// Applies every rule in order to the A-number `a` and B-number `b` and says which
    /// rules changed what. Strip removes the first N characters (all if shorter);
    /// Prepend puts its text in front; Replace replaces the first match.
    ///
    /// Allocates the two result numbers, and two strings per step that changed a number;
    /// a rule that changes nothing costs no allocation.
    pub fn apply(&self, a: &str, b: &str) -> Translation {
        let mut a = a.to_owned();
        let mut b = b.to_owned();
        let mut steps = Vec::new();
        self.run(&mut a, &mut b, Some(&mut steps));
        Translation { a, b, steps }
    }

    /// True when there is no rule (numbers pass unchanged).
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// [`Translator::apply`] without the steps, changing the numbers where they are:
    /// allocates only when a Replace matches or a Prepend outgrows the string.
    pub fn apply_in_place(&self, a: &mut String, b: &mut String) {
        self.run(a, b, None);
    }

    fn run(&self, a: &mut String, b: &mut String, mut steps: Option<&mut Vec<TranslationStep>>) {
        for (rule_index, (target, action)) in self.rules.iter().enumerate() {
            let number: &mut String = match target {
                NumberTarget::A => a,
                NumberTarget::B => b,
            };
            let record = steps.is_some();
            let before = match action {
                CompiledAction::Strip(n) => {
                    let cut = number
                        .char_indices()
                        .nth(*n)
                        .map_or(number.len(), |(i, _)| i);
                    if cut == 0 {
                        continue;
                    }
                    let before = record.then(|| number.clone());
                    number.replace_range(..cut, "");
                    before
                }
                CompiledAction::Prepend(text) => {
                    if text.is_empty() {
                        continue;
                    }
                    let before = record.then(|| number.clone());
                    number.insert_str(0, text);
                    before
                }
                CompiledAction::Replace(regex, replacement) => {
                    let replaced = match regex.replace(number.as_str(), replacement.as_str()) {
                        Cow::Owned(replaced) if replaced != *number => replaced,
                        _ => continue,
                    };
                    Some(std::mem::replace(number, replaced))
                }
            };
            if let (Some(steps), Some(before)) = (steps.as_deref_mut(), before) {
                steps.push(TranslationStep {
                    rule_index,
                    target: *target,
                    before,
                    after: number.clone(),
                });
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Media
// ---------------------------------------------------------------------------------------

/// Default longest call, in seconds (2 hours).
pub const DEFAULT_MAX_CALL_SECS: u32 = 7200;
/// Largest allowed longest call, in seconds (24 hours).
pub const MAX_CALL_SECS: u32 = 86_400;

/// The media form, raw as typed. `max_call_duration_secs` empty means 7200.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaForm {
    pub media_mode: String,
    pub dtmf_mode: String,
    pub transcoding_allowed: bool,
    pub max_call_duration_secs: String,
}

/// Valid media settings: `max_call_duration_secs` 1–86400 seconds, after which a call is
/// released (a guard against hung calls billed for hours).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Media {
    pub media_mode: MediaMode,
    pub dtmf_mode: DtmfMode,
    pub transcoding_allowed: bool,
    pub max_call_duration_secs: u32,
}

/// Validates the media form, reporting every bad field by its form name.
pub fn validate_media(form: &MediaForm) -> Result<Media, FieldErrors> {
    let mut errors = FieldErrors::new();
    let media_mode = take(&mut errors, "media_mode", choice(&form.media_mode));
    let dtmf_mode = take(&mut errors, "dtmf_mode", choice(&form.dtmf_mode));
    let max = take(
        &mut errors,
        "max_call_duration_secs",
        optional_whole_number(
            &form.max_call_duration_secs,
            1,
            u64::from(MAX_CALL_SECS),
            "the longest call in seconds",
            "leave it empty for 7200 (2 hours)",
        )
        .map(|s| s.map_or(DEFAULT_MAX_CALL_SECS, |s| s as u32)),
    );
    match (media_mode, dtmf_mode, max) {
        (Some(media_mode), Some(dtmf_mode), Some(max_call_duration_secs)) => Ok(Media {
            media_mode,
            dtmf_mode,
            transcoding_allowed: form.transcoding_allowed,
            max_call_duration_secs,
        }),
        _ => Err(errors),
    }
}

impl From<&Media> for MediaForm {
    fn from(v: &Media) -> Self {
        MediaForm {
            media_mode: v.media_mode.as_str().into(),
            dtmf_mode: v.dtmf_mode.as_str().into(),
            transcoding_allowed: v.transcoding_allowed,
            max_call_duration_secs: v.max_call_duration_secs.to_string(),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Signalling
// ---------------------------------------------------------------------------------------

/// Highest calls-per-second limit.
pub const MAX_CPS: u32 = 10_000;
/// Highest concurrent-channel limit.
pub const MAX_CHANNELS: u32 = 100_000;
/// Smallest session interval, in seconds (RFC 4028 §4: Min-SE is at least 90).
pub const MIN_SESSION_EXPIRES_SECS: u32 = 90;
/// Largest session interval we accept, in seconds (24 hours).
pub const MAX_SESSION_EXPIRES_SECS: u32 = 86_400;
/// Default session interval, in seconds (RFC 4028 §4 recommends 1800).
pub const DEFAULT_SESSION_EXPIRES_SECS: u32 = 1800;

/// The signalling form, raw as typed. `max_cps`/`max_channels` empty or 0 mean
/// unlimited; `session_expires_secs` empty means 1800; `sip_port` empty means 5060.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignallingForm {
    pub max_cps: String,
    pub max_channels: String,
    pub session_timers: bool,
    pub session_expires_secs: String,
    pub pai_mode: String,
    pub privacy_mode: String,
    pub sip_port: String,
    pub sip_transport: String,
}

/// Valid signalling settings.
///
/// - `max_cps`: new calls per second, 0 = unlimited, at most 10000;
/// - `max_channels`: concurrent calls, 0 = unlimited, at most 100000;
/// - `session_expires_secs`: the RFC 4028 session interval, 90–86400 seconds; validated
///   even when `session_timers` is off, so turning them on later needs no other edit;
/// - `sip_port`: 1–65535.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signalling {
    pub max_cps: u32,
    pub max_channels: u32,
    pub session_timers: bool,
    pub session_expires_secs: u32,
    pub pai_mode: PaiMode,
    pub privacy_mode: PrivacyMode,
    pub sip_port: u16,
    pub sip_transport: Transport,
}

/// A calls-per-second limit as typed: a whole number 0–[`MAX_CPS`], empty = 0 (no
/// limit). Shared by an interconnect's Signalling tab and a carrier's traffic limits.
pub(crate) fn cps_limit(text: &str) -> Result<u32, String> {
    optional_whole_number(
        text,
        0,
        u64::from(MAX_CPS),
        "the calls per second",
        "0 or empty for no limit",
    )
    .map(|n| n.unwrap_or(0) as u32)
}

/// A concurrent-calls limit as typed: a whole number 0–[`MAX_CHANNELS`], empty = 0 (no
/// limit).
pub(crate) fn channel_limit(text: &str) -> Result<u32, String> {
    optional_whole_number(
        text,
        0,
        u64::from(MAX_CHANNELS),
        "the concurrent channels",
        "0 or empty for no limit",
    )
    .map(|n| n.unwrap_or(0) as u32)
}

/// Validates the signalling form, reporting every bad field by its form name.
pub fn validate_signalling(form: &SignallingForm) -> Result<Signalling, FieldErrors> {
    let mut errors = FieldErrors::new();
    let max_cps = take(&mut errors, "max_cps", cps_limit(&form.max_cps));
    let max_channels = take(
        &mut errors,
        "max_channels",
        channel_limit(&form.max_channels),
    );
    let session_expires_secs = take(
        &mut errors,
        "session_expires_secs",
        optional_whole_number(
            &form.session_expires_secs,
            u64::from(MIN_SESSION_EXPIRES_SECS),
            u64::from(MAX_SESSION_EXPIRES_SECS),
            "the session interval in seconds (RFC 4028: at least 90)",
            "leave it empty for 1800",
        )
        .map(|n| n.map_or(DEFAULT_SESSION_EXPIRES_SECS, |n| n as u32)),
    );
    let pai_mode = take(&mut errors, "pai_mode", choice(&form.pai_mode));
    let privacy_mode = take(&mut errors, "privacy_mode", choice(&form.privacy_mode));
    let sip_port = take(&mut errors, "sip_port", sip_port(&form.sip_port));
    let sip_transport = take(&mut errors, "sip_transport", choice(&form.sip_transport));
    match (
        max_cps,
        max_channels,
        session_expires_secs,
        pai_mode,
        privacy_mode,
        sip_port,
        sip_transport,
    ) {
        (
            Some(max_cps),
            Some(max_channels),
            Some(session_expires_secs),
            Some(pai_mode),
            Some(privacy_mode),
            Some(sip_port),
            Some(sip_transport),
        ) => Ok(Signalling {
            max_cps,
            max_channels,
            session_timers: form.session_timers,
            session_expires_secs,
            pai_mode,
            privacy_mode,
            sip_port,
            sip_transport,
        }),
        _ => Err(errors),
    }
}

impl From<&Signalling> for SignallingForm {
    /// Every number written out (`"0"` for unlimited).
    fn from(v: &Signalling) -> Self {
        SignallingForm {
            max_cps: v.max_cps.to_string(),
            max_channels: v.max_channels.to_string(),
            session_timers: v.session_timers,
            session_expires_secs: v.session_expires_secs.to_string(),
            pai_mode: v.pai_mode.as_str().into(),
            privacy_mode: v.privacy_mode.as_str().into(),
            sip_port: v.sip_port.to_string(),
            sip_transport: v.sip_transport.as_str().into(),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Monitoring
// ---------------------------------------------------------------------------------------

/// Highest ACD threshold, in seconds (24 hours).
pub const MAX_ACD_SECONDS: u32 = 86_400;
/// Highest PDD threshold, in milliseconds (60 s; an unanswered INVITE times out after
/// 32 s, RFC 3261 §17.1.1.2 Timer B).
pub const MAX_PDD_MS: u32 = 60_000;

/// The monitoring form, raw as typed; an empty threshold is not monitored.
/// `alert_recipients` as for credit alerts ([`parse_recipients`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonitoringForm {
    pub asr_min_percent: String,
    pub acd_min_seconds: String,
    pub pdd_max_ms: String,
    pub alert_recipients: String,
}

/// Valid quality monitoring: alert `alert_recipients` when the answer-seizure ratio
/// falls below `asr_min_percent` (0–100), the average call duration below
/// `acd_min_seconds` (1–86400), or the post-dial delay rises above `pdd_max_ms`
/// (1–60000). `None` is not monitored; with any threshold set there is at least one
/// recipient.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Monitoring {
    pub asr_min_percent: Option<u8>,
    pub acd_min_seconds: Option<u32>,
    pub pdd_max_ms: Option<u32>,
    pub alert_recipients: Vec<String>,
}

/// Validates the monitoring form, reporting every bad field by its form name.
pub fn validate_monitoring(form: &MonitoringForm) -> Result<Monitoring, FieldErrors> {
    let mut errors = FieldErrors::new();
    let not_monitored = "leave it empty not to monitor it";
    let asr = take(
        &mut errors,
        "asr_min_percent",
        optional_whole_number(
            &form.asr_min_percent,
            0,
            100,
            "the lowest ASR in percent",
            not_monitored,
        )
        .map(|n| n.map(|n| n as u8)),
    );
    let acd = take(
        &mut errors,
        "acd_min_seconds",
        optional_whole_number(
            &form.acd_min_seconds,
            1,
            u64::from(MAX_ACD_SECONDS),
            "the lowest ACD in seconds",
            not_monitored,
        )
        .map(|n| n.map(|n| n as u32)),
    );
    let pdd = take(
        &mut errors,
        "pdd_max_ms",
        optional_whole_number(
            &form.pdd_max_ms,
            1,
            u64::from(MAX_PDD_MS),
            "the highest PDD in milliseconds",
            not_monitored,
        )
        .map(|n| n.map(|n| n as u32)),
    );
    let recipients = take(
        &mut errors,
        "alert_recipients",
        parse_recipients(&form.alert_recipients),
    );
    let any_threshold = [
        &form.asr_min_percent,
        &form.acd_min_seconds,
        &form.pdd_max_ms,
    ]
    .iter()
    .any(|t| !t.trim().is_empty());
    if any_threshold && recipients.as_ref().is_some_and(Vec::is_empty) {
        errors.add(
            "alert_recipients",
            "Enter at least one e-mail address to alert, or clear the thresholds.",
        );
    }
    match (asr, acd, pdd, recipients) {
        (
            Some(asr_min_percent),
            Some(acd_min_seconds),
            Some(pdd_max_ms),
            Some(alert_recipients),
        ) if errors.is_empty() => Ok(Monitoring {
            asr_min_percent,
            acd_min_seconds,
            pdd_max_ms,
            alert_recipients,
        }),
        _ => Err(errors),
    }
}

impl From<&Monitoring> for MonitoringForm {
    /// Unmonitored thresholds are empty; recipients joined with `", "`.
    fn from(v: &Monitoring) -> Self {
        MonitoringForm {
            asr_min_percent: text_of(v.asr_min_percent),
            acd_min_seconds: text_of(v.acd_min_seconds),
            pdd_max_ms: text_of(v.pdd_max_ms),
            alert_recipients: v.alert_recipients.join(", "),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validation::assert_string_enum;
    use proptest::prelude::*;
    use std::net::Ipv4Addr;

    fn spec(text: &str) -> AddressSpec {
        AddressSpec::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn enums_keep_their_stored_spelling() {
        assert_string_enum::<Direction>();
        assert_string_enum::<Transport>();
        assert_string_enum::<MediaMode>();
        assert_string_enum::<DtmfMode>();
        assert_string_enum::<PaiMode>();
        assert_string_enum::<PrivacyMode>();
        assert_string_enum::<NumberTarget>();
        assert_string_enum::<TranslationKind>();
        assert_eq!(DtmfMode::Rfc2833.as_str(), "rfc2833");
        assert_eq!(DtmfMode::SipInfo.as_str(), "sip_info");
        assert_eq!(PaiMode::FromCli.as_str(), "from_cli");
        assert_eq!(Direction::Ingress.label(), "Ingress (customer)");
    }

    #[test]
    fn an_interconnect_reports_every_bad_field() {
        let form = InterconnectForm {
            name: " London A ".into(),
            direction: "ingress".into(),
            status: "active".into(),
            tech_prefix: " 0101# ".into(),
            pop_id: "2".into(),
            channel_plan_id: "".into(),
        };
        let v = validate_interconnect(&form).unwrap();
        assert_eq!(v.name, "London A");
        assert_eq!(v.tech_prefix.as_deref(), Some("0101#"));
        assert_eq!((v.pop_id, v.channel_plan_id), (Some(2), None));
        assert_eq!(validate_interconnect(&InterconnectForm::from(&v)), Ok(v));

        let e = validate_interconnect(&InterconnectForm {
            name: "".into(),
            direction: "sideways".into(),
            status: "".into(),
            tech_prefix: "12a".into(),
            pop_id: "-1".into(),
            channel_plan_id: "x".into(),
        })
        .unwrap_err();
        assert_eq!(e.get("name"), Some("Enter the interconnect's name."));
        assert_eq!(
            e.get("direction"),
            Some("“sideways” is not one of the choices. Choose Ingress (customer) or Egress (supplier).")
        );
        assert!(e.get("status").is_some());
        assert!(e
            .get("tech_prefix")
            .unwrap()
            .starts_with("A tech prefix is up to 16 digits"));
        assert_eq!(e.get("pop_id"), Some("Choose one from the list."));
        assert_eq!(e.get("channel_plan_id"), Some("Choose one from the list."));
        assert!(validate_tech_prefix(&"1".repeat(17)).is_err());
    }

    #[test]
    fn addresses_are_parsed_to_canonical_form() {
        assert_eq!(spec(" 192.0.2.10 ").to_string(), "192.0.2.10");
        assert_eq!(spec("192.0.2.10/32"), spec("192.0.2.10"));
        assert_eq!(spec("2001:DB8:0:0::1/128").to_string(), "2001:db8::1");
        assert_eq!(spec("[2001:db8::1]").to_string(), "2001:db8::1");
        assert_eq!(spec("10.0.0.0/8").to_string(), "10.0.0.0/8");
        assert_eq!(spec("2001:0db8::/32").to_string(), "2001:db8::/32");
        assert_eq!(spec("0.0.0.0/0").to_string(), "0.0.0.0/0");
        assert_eq!(
            spec("SIP.Carrier.Example.").to_string(),
            "sip.carrier.example"
        );
        assert!(spec("sip.carrier.example").is_host());
        assert!(!spec("10.0.0.0/8").is_host());
        assert_eq!(
            AddressSpec::parse("192.0.2.5/24"),
            Err("192.0.2.5/24 has host bits set: the network is 192.0.2.0/24. Enter that, or the single address 192.0.2.5 without /24.".into())
        );
        assert!(AddressSpec::parse("192.0.2.0/33")
            .unwrap_err()
            .contains("from 0 to 32"));
        assert!(AddressSpec::parse("2001:db8::/129")
            .unwrap_err()
            .contains("from 0 to 128"));
        assert!(AddressSpec::parse("300.1.2.3/8")
            .unwrap_err()
            .contains("“300.1.2.3” before the / is not an IP address"));
        assert!(AddressSpec::parse("10.0.0.256")
            .unwrap_err()
            .contains("is not a valid IP address"));
        for bad in [
            "",
            "-sip.example",
            "sip_udp.example",
            "a..b",
            "sip example",
            "x/8",
            "10.0.0.0/+8",
        ] {
            assert!(AddressSpec::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert!(AddressSpec::parse(&format!("{}.example", "a".repeat(64))).is_err());
        assert!(AddressSpec::parse(&format!("{}.example", "a".repeat(63))).is_ok());
    }

    #[test]
    fn overlapping_addresses_are_detected() {
        assert!(spec("10.0.0.0/8").overlaps(&spec("10.1.2.3")));
        assert!(spec("10.1.2.3").overlaps(&spec("10.0.0.0/8")));
        assert!(spec("10.0.0.0/8").overlaps(&spec("10.20.0.0/16")));
        assert!(!spec("10.0.0.0/24").overlaps(&spec("10.0.1.0/24")));
        assert!(!spec("10.0.0.1").overlaps(&spec("10.0.0.2")));
        assert!(spec("0.0.0.0/0").overlaps(&spec("192.0.2.1")));
        assert!(
            !spec("0.0.0.0/0").overlaps(&spec("::/0")),
            "v4 never overlaps v6"
        );
        assert!(!spec("::ffff:10.0.0.1").overlaps(&spec("10.0.0.1")));
        assert!(spec("2001:db8::/32").overlaps(&spec("2001:db8:1::1")));
        assert!(spec("sip.a.example").overlaps(&spec("SIP.A.example")));
        assert!(!spec("sip.a.example").overlaps(&spec("sip.b.example")));
        assert!(!spec("sip.a.example").overlaps(&spec("0.0.0.0/0")));
    }

    #[test]
    fn address_ranges_map_ipv4_into_ipv6() {
        assert_eq!(
            spec("192.0.2.0/24").ip_range(),
            Some((0xffff_c000_0200, 0xffff_c000_02ff))
        );
        assert_eq!(
            spec("192.0.2.7").ip_range(),
            Some((0xffff_c000_0207, 0xffff_c000_0207))
        );
        assert_eq!(spec("::/0").ip_range(), Some((0, u128::MAX)));
        assert_eq!(spec("sip.a.example").ip_range(), None);
    }

    #[test]
    fn address_specs_serialise_as_their_text() {
        use serde::de::IntoDeserializer;
        let de = |text: &str| -> Result<AddressSpec, serde::de::value::Error> {
            AddressSpec::deserialize(text.into_deserializer())
        };
        assert_eq!(de("10.0.0.0/8"), Ok(spec("10.0.0.0/8")));
        assert!(
            de("10.0.0.1/8").is_err(),
            "host bits are refused on load too"
        );
    }

    #[test]
    fn ingress_takes_networks_and_egress_takes_hosts() {
        let form = |address: &str, port: &str| AddressForm {
            address: address.into(),
            port: port.into(),
            transport: "udp".into(),
        };
        let v = validate_address(&form("10.0.0.0/24", ""), Direction::Ingress).unwrap();
        assert_eq!(v.port, 5060);
        assert_eq!(
            validate_address(&AddressForm::from(&v), Direction::Ingress),
            Ok(v)
        );
        let e = validate_address(&form("sip.a.example", "0"), Direction::Ingress).unwrap_err();
        assert_eq!(
            e.get("address"),
            Some("Who may send us calls must be an IP address or a network (CIDR) such as 192.0.2.0/24, not a host name.")
        );
        assert_eq!(
            e.get("port"),
            Some(
                "Enter the SIP port as a whole number from 1 to 65535, or leave it empty for 5060."
            )
        );
        let v = validate_address(&form("SIP.a.example", "5080"), Direction::Egress).unwrap();
        assert_eq!(v.spec, AddressSpec::Host("sip.a.example".into()));
        assert_eq!(v.port, 5080);
        let e = validate_address(&form("10.0.0.0/24", "65536"), Direction::Egress).unwrap_err();
        assert!(e.get("address").unwrap().contains("not a network"));
        assert!(e.get("port").is_some());
        let e = validate_address(
            &AddressForm {
                transport: "sctp".into(),
                ..form("", "")
            },
            Direction::Egress,
        )
        .unwrap_err();
        assert!(e
            .get("address")
            .unwrap()
            .starts_with("Enter the IP address or host name"));
        assert!(e.get("transport").unwrap().contains("UDP, TCP or TLS"));
    }

    #[test]
    fn codecs_are_checked_against_the_catalogue() {
        let catalogue = ["PCMA", "PCMU", "G729", "opus"];
        let pick = |codec: &str| CodecChoice {
            codec: codec.into(),
            relay_only: codec.starts_with('o'),
        };
        let v = validate_codecs(&[pick(" pcma "), pick("OPUS")], &catalogue).unwrap();
        assert_eq!(
            v,
            vec![
                CodecChoice {
                    codec: "PCMA".into(),
                    relay_only: false
                },
                CodecChoice {
                    codec: "opus".into(),
                    relay_only: false
                },
            ]
        );
        let catalogue_owned: Vec<String> = catalogue.iter().map(|s| s.to_string()).collect();
        assert!(validate_codecs(&[pick("g729")], &catalogue_owned).is_ok());
        assert_eq!(validate_codecs::<&str>(&[], &catalogue), Ok(vec![]));
        let e = validate_codecs(
            &[pick("PCMA"), pick("AMR"), pick(""), pick("pcma")],
            &catalogue,
        )
        .unwrap_err();
        let messages: Vec<&str> = e.0.iter().map(|x| x.message.as_str()).collect();
        assert!(e.0.iter().all(|x| x.field == "codecs"));
        assert_eq!(
            messages,
            vec![
                "AMR is not a codec this platform supports; choose one from the list.",
                "A codec is blank; choose one or remove the row.",
                "PCMA is listed twice; keep one.",
            ]
        );
    }

    fn rules_form() -> NumberRulesForm {
        NumberRulesForm {
            length_rules: "44 12-13\n\n1 11\n447 12".into(),
            allowed_prefixes: "+44, 1\n33".into(),
            blocked_prefixes: "4470; 449".into(),
            cli_required: false,
            cli_format: r"^\+?\d{6,15}$".into(),
            reject_anonymous: false,
        }
    }

    #[test]
    fn number_rules_are_parsed_and_round_trip() {
        let v = validate_number_rules(&rules_form()).unwrap();
        assert_eq!(
            v.length_rules,
            vec![
                LengthRule {
                    country_code: "44".into(),
                    min: 12,
                    max: 13
                },
                LengthRule {
                    country_code: "1".into(),
                    min: 11,
                    max: 11
                },
                LengthRule {
                    country_code: "447".into(),
                    min: 12,
                    max: 12
                },
            ]
        );
        assert_eq!(v.allowed_prefixes, vec!["44", "1", "33"]);
        assert_eq!(v.blocked_prefixes, vec!["4470", "449"]);
        let form = NumberRulesForm::from(&v);
        assert_eq!(form.length_rules, "44 12-13\n1 11\n447 12");
        assert_eq!(validate_number_rules(&form), Ok(v));
        assert_eq!(
            validate_number_rules(&NumberRulesForm::default()),
            Ok(NumberRules::default())
        );
    }

    #[test]
    fn number_rule_errors_name_the_line() {
        let e = validate_number_rules(&NumberRulesForm {
            length_rules: "44 12-13\n4444 10\n1 16\n33 9-8\n44 11\n7\n1 1".into(),
            allowed_prefixes: "44, 4a, +".into(),
            blocked_prefixes: "".into(),
            cli_format: "^(+".into(),
            ..Default::default()
        })
        .unwrap_err();
        let lines: Vec<&str> =
            e.0.iter()
                .filter(|x| x.field == "length_rules")
                .map(|x| x.message.as_str())
                .collect();
        assert_eq!(lines.len(), 6, "{lines:#?}");
        assert!(lines[0].starts_with("Line 2: “4444” is not a country code"));
        assert!(lines[1].starts_with("Line 3: a length is a whole number from 1 to 15"));
        assert!(
            lines[2].starts_with("Line 4: the shortest length (9) is more than the longest (8)")
        );
        assert_eq!(
            lines[3],
            "Line 5: country code 44 already has a rule on line 1; keep one."
        );
        assert!(lines[4].starts_with("Line 6: write a country code, a space"));
        assert!(lines[5].starts_with("Line 7: a number is longer than its country code 1"));
        assert_eq!(
            e.get("allowed_prefixes"),
            Some("“4a”, “+” are not prefixes: a prefix is 1 to 15 digits, e.g. 4420. Separate prefixes with commas.")
        );
        let cli = e.get("cli_format").unwrap();
        assert!(
            cli.starts_with("The CLI format is not a valid regular expression: "),
            "{cli}"
        );
        assert!(!cli.contains('\n'), "{cli}");

        let e = validate_number_rules(&NumberRulesForm {
            allowed_prefixes: "44 33".into(),
            blocked_prefixes: "+44".into(),
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(
            e.get("blocked_prefixes"),
            Some("44 is both allowed and blocked; remove it from one list.")
        );
    }

    #[test]
    fn number_rules_check_calls() {
        let rules = validate_number_rules(&rules_form()).unwrap();
        let compiled = rules.compile().unwrap();
        let cli = Some("+442079460000");
        assert_eq!(compiled.check(cli, "442079460000"), Ok(()));
        assert_eq!(compiled.check(cli, "+4420794600001"), Ok(()), "13 digits");
        assert_eq!(
            compiled.check(cli, "447012345678"),
            Err(NumberRejection::BlockedPrefix("4470".into()))
        );
        assert_eq!(
            compiled.check(cli, "3312345678"),
            Ok(()),
            "no length rule for 33"
        );
        assert_eq!(
            compiled.check(cli, "4912345678"),
            Err(NumberRejection::NotAllowedPrefix)
        );
        // 447 (12 digits) is more specific than 44 (12-13 digits).
        assert_eq!(
            compiled.check(cli, "4475000000001"),
            Err(NumberRejection::Length {
                country_code: "447".into(),
                len: 13,
                min: 12,
                max: 12
            })
        );
        assert_eq!(
            compiled.check(cli, "44207946000"),
            Err(NumberRejection::Length {
                country_code: "44".into(),
                len: 11,
                min: 12,
                max: 13
            })
        );
        assert_eq!(
            compiled.check(Some("12ab"), "442079460000"),
            Err(NumberRejection::CliFormat)
        );
        assert_eq!(
            compiled.check(None, "442079460000"),
            Ok(()),
            "anonymous allowed"
        );

        let strict = NumberRules {
            reject_anonymous: true,
            ..rules.clone()
        };
        for anonymous in [None, Some(""), Some("  "), Some("Anonymous")] {
            assert_eq!(
                strict.check(anonymous, "442079460000"),
                Err(NumberRejection::AnonymousRejected)
            );
        }
        let cli_required = NumberRules {
            cli_required: true,
            ..rules.clone()
        };
        assert_eq!(
            cli_required.check(None, "442079460000"),
            Err(NumberRejection::CliRequired)
        );
        assert_eq!(
            NumberRejection::Length {
                country_code: "44".into(),
                len: 11,
                min: 12,
                max: 13
            }
            .to_string(),
            "a number with country code 44 has 12 to 13 digits, this has 11"
        );

        let broken = NumberRules {
            cli_format: Some("(".into()),
            ..NumberRules::default()
        };
        assert!(broken.compile().is_err());
        assert_eq!(
            broken.check(Some("4420"), "1"),
            Err(NumberRejection::CliFormat),
            "fails closed"
        );
    }

    fn rule(target: NumberTarget, action: TranslationAction) -> TranslationRule {
        TranslationRule { target, action }
    }

    #[test]
    fn translation_rules_apply_in_order_with_steps() {
        let rules = [
            rule(NumberTarget::B, TranslationAction::Strip(2)),
            rule(NumberTarget::B, TranslationAction::Prepend("44".into())),
            rule(
                NumberTarget::A,
                TranslationAction::Replace {
                    pattern: "^0(\\d+)$".into(),
                    replacement: "44$1".into(),
                },
            ),
            rule(
                NumberTarget::A,
                TranslationAction::Replace {
                    pattern: "^999".into(),
                    replacement: "".into(),
                },
            ),
        ];
        let translator = Translator::new(&rules).unwrap();
        let t = translator.apply("02079460000", "0020712345");
        assert_eq!(t.b, "4420712345");
        assert_eq!(t.a, "442079460000");
        assert_eq!(
            t.steps,
            vec![
                TranslationStep {
                    rule_index: 0,
                    target: NumberTarget::B,
                    before: "0020712345".into(),
                    after: "20712345".into()
                },
                TranslationStep {
                    rule_index: 1,
                    target: NumberTarget::B,
                    before: "20712345".into(),
                    after: "4420712345".into()
                },
                TranslationStep {
                    rule_index: 2,
                    target: NumberTarget::A,
                    before: "02079460000".into(),
                    after: "442079460000".into()
                },
            ],
            "rule 3 did not match, so it is not a step"
        );
        let (mut a, mut b) = ("02079460000".to_owned(), "0020712345".to_owned());
        translator.apply_in_place(&mut a, &mut b);
        assert_eq!((a, b), (t.a, t.b));

        let short = Translator::new(&[rule(NumberTarget::B, TranslationAction::Strip(5))]).unwrap();
        assert_eq!(short.apply("", "123").b, "");
        assert_eq!(short.apply("", "").steps, vec![]);
        let first_match_only = Translator::new(&[rule(
            NumberTarget::B,
            TranslationAction::Replace {
                pattern: "0".into(),
                replacement: "".into(),
            },
        )])
        .unwrap();
        assert_eq!(first_match_only.apply("", "00100").b, "0100");
    }

    #[test]
    fn translation_rules_describe_themselves() {
        assert_eq!(TranslationAction::Strip(2).describe(), "strip 2 digits");
        assert_eq!(TranslationAction::Strip(1).describe(), "strip 1 digit");
        assert_eq!(
            TranslationAction::Prepend("44".into()).describe(),
            "prepend 44"
        );
        assert_eq!(
            TranslationAction::Replace {
                pattern: "^00".into(),
                replacement: "".into()
            }
            .describe(),
            "replace ^00 with nothing"
        );
        assert_eq!(
            TranslationAction::Replace {
                pattern: "^0(.*)".into(),
                replacement: "44$1".into()
            }
            .describe(),
            "replace ^0(.*) with 44$1"
        );
    }

    #[test]
    fn translation_forms_are_validated_by_kind() {
        let form = |kind: &str| TranslationRuleForm {
            target: "b".into(),
            kind: kind.into(),
            digits: " 2 ".into(),
            value: " +44 ".into(),
            pattern: " ^00(\\d+) ".into(),
            replacement: "${1}".into(),
        };
        for (kind, action) in [
            ("strip", TranslationAction::Strip(2)),
            ("prepend", TranslationAction::Prepend("+44".into())),
            (
                "replace",
                TranslationAction::Replace {
                    pattern: "^00(\\d+)".into(),
                    replacement: "${1}".into(),
                },
            ),
        ] {
            let v = validate_translation_rule(&form(kind)).unwrap();
            assert_eq!(v, rule(NumberTarget::B, action));
            assert_eq!(
                validate_translation_rule(&TranslationRuleForm::from(&v)),
                Ok(v)
            );
        }

        let bad = TranslationRuleForm {
            target: "c".into(),
            digits: "16".into(),
            value: "4+4".into(),
            pattern: "(".into(),
            ..form("strip")
        };
        let e = validate_translation_rule(&bad).unwrap_err();
        assert!(e
            .get("target")
            .unwrap()
            .contains("A-number (caller) or B-number (called)"));
        assert_eq!(
            e.get("digits"),
            Some("Enter how many digits to strip as a whole number from 1 to 15.")
        );
        assert_eq!(
            e.get("value"),
            None,
            "only the chosen kind's fields are read"
        );
        let e = validate_translation_rule(&TranslationRuleForm {
            kind: "prepend".into(),
            ..bad.clone()
        })
        .unwrap_err();
        assert!(e
            .get("value")
            .unwrap()
            .starts_with("Enter what to put in front"));
        let e = validate_translation_rule(&TranslationRuleForm {
            kind: "replace".into(),
            ..bad.clone()
        })
        .unwrap_err();
        let pattern = e.get("pattern").unwrap();
        assert!(
            pattern.starts_with("The pattern is not a valid regular expression: "),
            "{pattern}"
        );
        let e = validate_translation_rule(&TranslationRuleForm {
            kind: "".into(),
            ..bad
        })
        .unwrap_err();
        assert!(e
            .get("kind")
            .unwrap()
            .starts_with("Choose one from the list"));
    }

    #[test]
    fn replacements_must_refer_to_existing_groups() {
        let form = |pattern: &str, replacement: &str| TranslationRuleForm {
            target: "b".into(),
            kind: "replace".into(),
            pattern: pattern.into(),
            replacement: replacement.into(),
            ..Default::default()
        };
        let err = |p: &str, r: &str| {
            validate_translation_rule(&form(p, r))
                .unwrap_err()
                .get("replacement")
                .map(str::to_owned)
        };
        assert_eq!(
            err("^0(\\d+)", "$144").as_deref(),
            Some("$144 refers to group 144, but the pattern has 1 group. To put digits after group 1, write ${1}44.")
        );
        assert_eq!(
            err("^0(\\d+)", "$2").as_deref(),
            Some("$2 refers to group 2, but the pattern has 1 group.")
        );
        assert!(err("^0(\\d+)", "$cc").unwrap().contains("a group named cc"));
        for ok in ["${1}44", "$1", "$$5", "44$0", "$", "(?P<n>x)"] {
            assert!(
                validate_translation_rule(&form("^0(\\d+)", ok)).is_ok(),
                "{ok}"
            );
        }
        assert!(validate_translation_rule(&form("^0(?P<n>\\d+)", "44$n")).is_ok());
        let t =
            Translator::new(&[validate_translation_rule(&form("^0(\\d+)", "44${1}9")).unwrap()])
                .unwrap();
        assert_eq!(t.apply("", "0207").b, "442079");
    }

    #[test]
    fn media_and_signalling_have_defaults() {
        let media = validate_media(&MediaForm {
            media_mode: "relay".into(),
            dtmf_mode: "rfc2833".into(),
            transcoding_allowed: true,
            max_call_duration_secs: "".into(),
        })
        .unwrap();
        assert_eq!(media.max_call_duration_secs, 7200);
        assert_eq!(validate_media(&MediaForm::from(&media)), Ok(media));
        let e = validate_media(&MediaForm {
            max_call_duration_secs: "86401".into(),
            ..Default::default()
        })
        .unwrap_err();
        assert!(e.get("media_mode").is_some() && e.get("dtmf_mode").is_some());
        assert_eq!(
            e.get("max_call_duration_secs"),
            Some("Enter the longest call in seconds as a whole number from 1 to 86400, or leave it empty for 7200 (2 hours).")
        );

        let form = SignallingForm {
            max_cps: "".into(),
            max_channels: " 300 ".into(),
            session_timers: false,
            session_expires_secs: "".into(),
            pai_mode: "from_cli".into(),
            privacy_mode: "honour".into(),
            sip_port: "".into(),
            sip_transport: "tls".into(),
        };
        let s = validate_signalling(&form).unwrap();
        assert_eq!(
            (
                s.max_cps,
                s.max_channels,
                s.session_expires_secs,
                s.sip_port
            ),
            (0, 300, 1800, 5060)
        );
        assert_eq!(validate_signalling(&SignallingForm::from(&s)), Ok(s));
        let e = validate_signalling(&SignallingForm {
            max_cps: "10001".into(),
            max_channels: "-1".into(),
            session_expires_secs: "89".into(),
            sip_port: "70000".into(),
            ..form
        })
        .unwrap_err();
        assert_eq!(
            e.get("max_cps"),
            Some("Enter the calls per second as a whole number from 0 to 10000, or 0 or empty for no limit.")
        );
        assert!(e.get("max_channels").unwrap().contains("from 0 to 100000"));
        assert_eq!(
            e.get("session_expires_secs"),
            Some("Enter the session interval in seconds (RFC 4028: at least 90) as a whole number from 90 to 86400, or leave it empty for 1800.")
        );
        assert!(e.get("sip_port").unwrap().contains("from 1 to 65535"));
    }

    #[test]
    fn monitoring_needs_recipients_for_thresholds() {
        let none = validate_monitoring(&MonitoringForm::default()).unwrap();
        assert_eq!(none, Monitoring::default());
        let form = MonitoringForm {
            asr_min_percent: "35".into(),
            acd_min_seconds: "".into(),
            pdd_max_ms: "4000".into(),
            alert_recipients: "NOC@a.example; noc@a.example".into(),
        };
        let v = validate_monitoring(&form).unwrap();
        assert_eq!(v.asr_min_percent, Some(35));
        assert_eq!(v.acd_min_seconds, None);
        assert_eq!(v.alert_recipients, vec!["noc@a.example"]);
        assert_eq!(validate_monitoring(&MonitoringForm::from(&v)), Ok(v));
        let e = validate_monitoring(&MonitoringForm {
            asr_min_percent: "101".into(),
            alert_recipients: "".into(),
            ..form.clone()
        })
        .unwrap_err();
        assert_eq!(
            e.get("asr_min_percent"),
            Some("Enter the lowest ASR in percent as a whole number from 0 to 100, or leave it empty not to monitor it.")
        );
        assert_eq!(
            e.get("alert_recipients"),
            Some("Enter at least one e-mail address to alert, or clear the thresholds.")
        );
        let e = validate_monitoring(&MonitoringForm {
            alert_recipients: "noc".into(),
            ..form
        })
        .unwrap_err();
        assert!(e
            .get("alert_recipients")
            .unwrap()
            .starts_with("“noc” is not an e-mail address."));
    }

    fn any_v4_spec() -> impl Strategy<Value = AddressSpec> {
        (any::<u32>(), 0_u8..=32).prop_map(|(bits, len)| {
            let ip = IpAddr::V4(Ipv4Addr::from(bits));
            if len == 32 {
                AddressSpec::Ip(ip)
            } else {
                AddressSpec::Cidr {
                    network: network_of(ip, len),
                    prefix_len: len,
                }
            }
        })
    }

    fn any_v6_spec() -> impl Strategy<Value = AddressSpec> {
        (any::<u128>(), 0_u8..=128).prop_map(|(bits, len)| {
            let ip = IpAddr::V6(Ipv6Addr::from(bits));
            if len == 128 {
                AddressSpec::Ip(ip)
            } else {
                AddressSpec::Cidr {
                    network: network_of(ip, len),
                    prefix_len: len,
                }
            }
        })
    }

    proptest! {
        #[test]
        fn displayed_addresses_parse_back(x in prop_oneof![any_v4_spec(), any_v6_spec()]) {
            prop_assert_eq!(AddressSpec::parse(&x.to_string()), Ok(x));
        }

        #[test]
        fn overlaps_is_symmetric_and_matches_the_ranges(
            x in any_v4_spec(),
            y in any_v4_spec(),
            z in any_v6_spec(),
        ) {
            prop_assert_eq!(x.overlaps(&y), y.overlaps(&x));
            let (xs, xe) = x.ip_range().unwrap();
            let (ys, ye) = y.ip_range().unwrap();
            prop_assert_eq!(x.overlaps(&y), xs <= ye && ys <= xe);
            prop_assert!(x.overlaps(&x));
            prop_assert!(!x.overlaps(&z) && !z.overlaps(&x));
        }

        #[test]
        fn strip_then_prepend_swaps_a_prefix(n in 0_u8..=15, number in "[0-9]{0,20}", prefix in "[0-9]{1,16}") {
            let rules = [
                TranslationRule { target: NumberTarget::B, action: TranslationAction::Strip(n.max(1)) },
                TranslationRule { target: NumberTarget::B, action: TranslationAction::Prepend(prefix.clone()) },
            ];
            let t = Translator::new(&rules).unwrap().apply("1", &number);
            let kept = number.get(usize::from(n.max(1))..).unwrap_or("");
            prop_assert_eq!(t.b, format!("{prefix}{kept}"));
            prop_assert_eq!(t.a, "1");
        }
    }

    #[test]
    fn ingress_networks_wider_than_a_slash_16_are_refused() {
        let form = |a: &str| AddressForm {
            address: a.into(),
            port: String::new(),
            transport: "udp".into(),
        };
        let errors = validate_address(&form("0.0.0.0/0"), Direction::Ingress).unwrap_err();
        assert!(errors.get("address").unwrap().contains("toll fraud"));
        assert!(validate_address(&form("10.0.0.0/15"), Direction::Ingress).is_err());
        assert!(validate_address(&form("10.0.0.0/16"), Direction::Ingress).is_ok());
        assert!(validate_address(&form("2001:db8::/31"), Direction::Ingress).is_err());
        assert!(validate_address(&form("2001:db8::/48"), Direction::Ingress).is_ok());
    }
}
