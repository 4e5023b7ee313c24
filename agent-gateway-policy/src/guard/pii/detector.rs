//! The built-in detectors: what each matches, the tail of a text that could still start a
//! match, and the checksum a candidate must pass.

use std::net::Ipv6Addr;
use std::str::FromStr;

/// A kind of personal data or secret the PII guard recognises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Detector {
    /// An e-mail address.
    Email,
    /// A phone number: international (`+` and 7 to 15 digits) or North American
    /// (`(555) 123-4567`, `555-123-4567`).
    Phone,
    /// A payment card number: 13 to 19 digits, optionally grouped, passing the Luhn check.
    PaymentCard,
    /// An IBAN passing the ISO 13616 mod-97 check.
    Iban,
    /// A US social security number (`123-45-6789`, excluding the ranges never issued).
    UsSsn,
    /// An IPv4 address.
    Ipv4,
    /// An IPv6 address.
    Ipv6,
    /// An OpenAI API key (`sk-…`, `sk-proj-…`).
    OpenAiKey,
    /// An Anthropic API key (`sk-ant-…`).
    AnthropicKey,
    /// An AWS access key id (`AKIA…`, `ASIA…`).
    AwsAccessKey,
    /// A GitHub token (`ghp_…`, `gho_…`, `ghu_…`, `ghs_…`, `ghr_…`, `github_pat_…`).
    GitHubToken,
    /// A Slack token (`xoxb-…`, `xoxp-…`, …).
    SlackToken,
    /// A JSON Web Token (`eyJ….eyJ….…`).
    Jwt,
    /// A bearer credential as written in a header (`Bearer …`).
    BearerToken,
    /// A PEM private-key block, from its `BEGIN` line to its `END` line.
    PrivateKey,
}

/// How a match ends once its head is found.
#[derive(Debug, Clone, Copy)]
pub(super) enum Rest {
    /// The head is the whole match.
    None,
    /// The match goes on over every following character of this class (an open-ended token).
    Run(fn(char) -> bool),
    /// The match goes on up to and including the first match of this pattern (a PEM block's
    /// `END` line); the pattern's own length is bounded.
    Until(&'static str),
}

/// How a detector is compiled.
#[derive(Debug, Clone, Copy)]
pub(super) struct Spec {
    /// The head of a match: a bounded pattern (its maximum length is what a stream holds back).
    pub(super) head: &'static str,
    /// Anchored at the end of the text: the shortest suffix that could still grow into a head,
    /// over-approximated. Only this suffix is held back while a stream waits for more text.
    pub(super) tail: &'static str,
    /// What follows the head.
    pub(super) rest: Rest,
    /// The check a head must pass to count (a checksum), `None` when the shape is enough.
    pub(super) check: Option<fn(&str) -> bool>,
}

fn token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

fn jwt_char(c: char) -> bool {
    token_char(c) || c == '.'
}

fn bearer_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~' | '+' | '/' | '=')
}

impl Detector {
    /// Every detector, in the order a tie between two matches at the same place is broken
    /// (the more specific first).
    pub const ALL: [Detector; 15] = [
        Detector::PrivateKey,
        Detector::AnthropicKey,
        Detector::OpenAiKey,
        Detector::AwsAccessKey,
        Detector::GitHubToken,
        Detector::SlackToken,
        Detector::Jwt,
        Detector::BearerToken,
        Detector::Email,
        Detector::PaymentCard,
        Detector::Iban,
        Detector::UsSsn,
        Detector::Phone,
        Detector::Ipv6,
        Detector::Ipv4,
    ];

    /// The label in the redaction marker: `[REDACTED:{label}]`.
    pub fn label(self) -> &'static str {
        match self {
            Detector::Email => "email",
            Detector::Phone => "phone",
            Detector::PaymentCard => "payment_card",
            Detector::Iban => "iban",
            Detector::UsSsn => "us_ssn",
            Detector::Ipv4 => "ipv4",
            Detector::Ipv6 => "ipv6",
            Detector::OpenAiKey => "openai_key",
            Detector::AnthropicKey => "anthropic_key",
            Detector::AwsAccessKey => "aws_access_key",
            Detector::GitHubToken => "github_token",
            Detector::SlackToken => "slack_token",
            Detector::Jwt => "jwt",
            Detector::BearerToken => "bearer_token",
            Detector::PrivateKey => "private_key",
        }
    }

    /// The detector whose [`label`](Self::label) is `label`.
    pub fn from_label(label: &str) -> Option<Detector> {
        Detector::ALL.into_iter().find(|d| d.label() == label)
    }

    pub(super) fn spec(self) -> Spec {
        match self {
            Detector::Email => plain(
                r"\b[A-Za-z0-9._%+-]{1,64}@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.){1,4}[A-Za-z]{2,24}\b",
                r"[A-Za-z0-9._%+-]{1,64}(?:@[A-Za-z0-9.-]{0,280})?$",
                None,
            ),
            Detector::Phone => plain(
                r"(?:\+[1-9][0-9]{0,2}[ .-]?(?:\([0-9]{1,4}\)[ .-]?)?[0-9]{1,4}(?:[ .-]?[0-9]{2,4}){2,4}\b|\(?\b[0-9]{3}\)?[ .-][0-9]{3}[ .-][0-9]{4}\b)",
                r"[+(0-9][0-9() .-]{0,40}$",
                Some(phone_digits),
            ),
            Detector::PaymentCard => plain(
                r"\b(?:[0-9][ -]?){12,18}[0-9]\b",
                r"[0-9][0-9 -]{0,40}$",
                Some(card),
            ),
            Detector::Iban => plain(
                r"\b[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]){11,30}\b",
                r"[A-Z][A-Z0-9 ]{0,70}$",
                Some(iban),
            ),
            Detector::UsSsn => plain(
                r"\b[0-9]{3}-[0-9]{2}-[0-9]{4}\b",
                r"[0-9][0-9-]{0,11}$",
                Some(ssn),
            ),
            Detector::Ipv4 => plain(IPV4, r"[0-9][0-9.]{0,15}$", None),
            Detector::Ipv6 => plain(
                r"(?:[0-9A-Fa-f]{1,4}|:)(?::[0-9A-Fa-f]{0,4}){2,7}\b",
                r"[0-9A-Fa-f:]{1,40}$",
                Some(ipv6),
            ),
            Detector::OpenAiKey => token(
                r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20}",
                r"s(?:k(?:-[A-Za-z0-9_-]{0,30})?)?$",
                token_char,
            ),
            Detector::AnthropicKey => token(
                r"\bsk-ant-[A-Za-z0-9_-]{20}",
                r"s(?:k(?:-[A-Za-z0-9_-]{0,30})?)?$",
                token_char,
            ),
            Detector::AwsAccessKey => {
                plain(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b", r"A[A-Z0-9]{0,20}$", None)
            }
            Detector::GitHubToken => token(
                r"\b(?:gh[pousr]_[A-Za-z0-9]{30}|github_pat_[A-Za-z0-9_]{30})",
                r"g[A-Za-z0-9_]{0,45}$",
                token_char,
            ),
            Detector::SlackToken => token(
                r"\bxox[abposr]-[A-Za-z0-9-]{10}",
                r"x[A-Za-z0-9-]{0,15}$",
                token_char,
            ),
            Detector::Jwt => token(
                r"\beyJ[A-Za-z0-9_-]{8,300}\.eyJ[A-Za-z0-9_-]{8}",
                r"e(?:y(?:J[A-Za-z0-9_-]{0,300}(?:\.(?:e(?:y(?:J[A-Za-z0-9_-]{0,8})?)?)?)?)?)?$",
                jwt_char,
            ),
            Detector::BearerToken => token(
                r"\b[Bb]earer[ \t]{1,8}[A-Za-z0-9._~+/=-]{16}",
                r"[Bb][A-Za-z]{0,5}(?:[ \t]{1,8}[A-Za-z0-9._~+/=-]{0,16})?$",
                bearer_char,
            ),
            Detector::PrivateKey => Spec {
                head: r"-----BEGIN (?:[A-Z0-9]{1,12} ){0,3}PRIVATE KEY-----",
                tail: r"-[A-Z0-9 -]{0,70}$",
                rest: Rest::Until(r"-----END (?:[A-Z0-9]{1,12} ){0,3}PRIVATE KEY-----"),
                check: None,
            },
        }
    }
}

const IPV4: &str = concat!(
    r"\b(?:(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\.){3}",
    r"(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\b"
);

fn plain(head: &'static str, tail: &'static str, check: Option<fn(&str) -> bool>) -> Spec {
    Spec {
        head,
        tail,
        rest: Rest::None,
        check,
    }
}

fn token(head: &'static str, tail: &'static str, run: fn(char) -> bool) -> Spec {
    Spec {
        head,
        tail,
        rest: Rest::Run(run),
        check: None,
    }
}

/// The digits of `text`, as numbers.
fn digits(text: &str) -> impl Iterator<Item = u32> + '_ {
    text.chars().filter_map(|c| c.to_digit(10))
}

/// A payment card number: a length its network issues for its leading digits (so that a run of
/// digits inside an account number is not taken for a card by chance) and the Luhn check.
pub(super) fn card(text: &str) -> bool {
    let digits: Vec<u32> = digits(text).collect();
    let len = digits.len();
    let issued = match digits.as_slice() {
        [4, ..] => matches!(len, 13 | 16 | 19),
        [3, 4 | 7, ..] => len == 15,
        [3, ..] | [5, 0 | 6..=9, ..] | [6, ..] => (14..=19).contains(&len),
        [2 | 5, ..] => len == 16,
        _ => false,
    };
    issued && luhn(text)
}

/// The Luhn check of a payment card number.
pub(super) fn luhn(text: &str) -> bool {
    let digits: Vec<u32> = digits(text).collect();
    if !(13..=19).contains(&digits.len()) {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| match (i % 2, d * 2) {
            (0, _) => d,
            (_, dd) if dd > 9 => dd - 9,
            (_, dd) => dd,
        })
        .sum();
    sum.is_multiple_of(10)
}

/// The ISO 13616 check: the country code and check digits moved to the end, letters as
/// 10..=35, the whole number mod 97 is 1.
pub(super) fn iban(text: &str) -> bool {
    let compact: Vec<char> = text.chars().filter(|c| *c != ' ').collect();
    if !(15..=34).contains(&compact.len()) {
        return false;
    }
    let (head, body) = compact.split_at(4);
    let mut rem = 0u32;
    for c in body.iter().chain(head) {
        let Some(v) = c.to_digit(36) else {
            return false;
        };
        rem = if v >= 10 {
            (rem * 100 + v) % 97
        } else {
            (rem * 10 + v) % 97
        };
    }
    rem == 1
}

/// A US SSN outside the ranges never issued (area 000, 666, 900-999; group 00; serial 0000).
pub(super) fn ssn(text: &str) -> bool {
    let mut parts = text.split('-');
    let (Some(area), Some(group), Some(serial)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    area != "000" && area != "666" && !area.starts_with('9') && group != "00" && serial != "0000"
}

/// A phone number has 7 to 15 digits (E.164 allows at most 15).
pub(super) fn phone_digits(text: &str) -> bool {
    (7..=15).contains(&digits(text).count())
}

/// A candidate is an IPv6 address when it has the shape of one (a `::`, or eight groups) and
/// the standard library parses it; times such as `12:30:45` fail both.
pub(super) fn ipv6(text: &str) -> bool {
    (text.contains("::") || text.matches(':').count() == 7) && Ipv6Addr::from_str(text).is_ok()
}
