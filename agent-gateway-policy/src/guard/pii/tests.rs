#![allow(clippy::unwrap_used, reason = "tests")]

use agent_gateway_core::content::TextFilter;

use super::*;

fn guard() -> PiiGuard {
    PiiGuard::default()
}

const PEM: &str = "-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu\nKUpRKfFLfRYC9AIKjbJTWit+CqvjWYzvQwECAwEAAQ==\n-----END RSA PRIVATE KEY-----";

#[test]
fn each_detector_redacts_its_shape() {
    let cases = [
        ("ann.lee+x@mail.example.co.uk", "email"),
        ("+44 20 7946 0958", "phone"),
        ("(555) 123-4567", "phone"),
        ("4111 1111 1111 1111", "payment_card"),
        ("5500-0000-0000-0004", "payment_card"),
        ("378282246310005", "payment_card"),
        ("DE89 3704 0044 0532 0130 00", "iban"),
        ("GB82WEST12345698765432", "iban"),
        ("123-45-6789", "us_ssn"),
        ("192.168.10.254", "ipv4"),
        ("2001:db8::8a2e:370:7334", "ipv6"),
        ("fe80::1", "ipv6"),
        ("sk-proj-abcdefghijklmnopqrstuvwxyz012345", "openai_key"),
        (
            "sk-ant-api03-abcdefghijklmnopqrstuvwxyz_01234",
            "anthropic_key",
        ),
        ("AKIAIOSFODNN7EXAMPLE", "aws_access_key"),
        ("ghp_abcdefghijklmnopqrstuvwxyz0123456789", "github_token"),
        (
            "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz",
            "github_token",
        ),
        ("xoxb-1234567890-abcdefghij", "slack_token"),
        (
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
            "jwt",
        ),
        ("Bearer abcdefghijklmnop.qrstuvwx-yz", "bearer_token"),
        (PEM, "private_key"),
    ];
    let guard = guard();
    for (secret, label) in cases {
        let text = format!("before {secret} after");
        let redacted = guard.redact(&text).unwrap();
        assert_eq!(
            redacted,
            format!("before [REDACTED:{label}] after"),
            "{secret}"
        );
        let found = guard.scan(&text);
        assert_eq!(found.len(), 1, "{secret}: {found:?}");
        assert_eq!(found[0].rule_id, format!("pii.{label}"));
        assert_eq!(Detector::from_label(label), Some(found[0].detector));
    }
}

#[test]
fn cards_failing_luhn_and_ibans_failing_the_checksum_pass() {
    let guard = guard();
    for text in [
        "card 4111 1111 1111 1112 ok",
        "card 5500-0000-0000-0005 ok",
        "card 378282246310006 ok",
        "iban DE89 3704 0044 0532 0130 01 ok",
        "iban GB82WEST12345698765433 ok",
        "iban DE88 3704 0044 0532 0130 00 ok",
    ] {
        assert_eq!(guard.redact(text).unwrap(), text);
        assert!(guard.scan(text).is_empty(), "{text}");
    }
    // The same numbers with the right check digit are redacted.
    assert_eq!(
        guard.redact("card 4111 1111 1111 1111 ok").unwrap(),
        "card [REDACTED:payment_card] ok"
    );
    assert!(super::detector::luhn("4012888888881881"));
    assert!(!super::detector::luhn("4012888888881882"));
    assert!(super::detector::iban("NL91ABNA0417164300"));
    assert!(!super::detector::iban("NL91ABNA0417164301"));
}

#[test]
fn near_misses_are_not_redacted() {
    let guard = guard();
    for text in [
        "meet at 12:30:45 tomorrow",
        "the ratio is 3.14159 and 2.71828",
        "ssn 000-12-3456 is never issued, nor 666-12-3456",
        "version 1.2.3 of sk-short",
        "an @ sign alone, and user@localhost",
        "999.1.1.1 is no address",
    ] {
        assert_eq!(guard.redact(text).unwrap(), text, "{text}");
    }
    assert!(matches!(guard.redact("plain"), Ok(Cow::Borrowed(_))));
}

#[test]
fn block_and_detect_rules() {
    let guard = PiiGuard::new([
        PiiRule::new("keys", Detector::AwsAccessKey, PiiAction::Block),
        PiiRule::new("mails", Detector::Email, PiiAction::Detect),
    ]);
    let text = "mail ann@example.com";
    assert_eq!(guard.redact(text).unwrap(), text);
    assert_eq!(guard.scan(text)[0].range, 5..20);
    assert_eq!(
        guard
            .redact("id AKIAIOSFODNN7EXAMPLE")
            .unwrap_err()
            .rule_id(),
        "keys"
    );
    // On a stream the block ends the text, and the filter stays blocked.
    let mut filter = guard.filter();
    let mut out = String::new();
    filter.push("safe text, id AKIAIOSF", &mut out).unwrap();
    let err = filter.push("ODNN7EXAMPLE and more", &mut out).unwrap_err();
    assert_eq!(err.rule_id(), "keys");
    assert!(!out.contains("AKIA"), "{out}");
    assert!(filter.push("x", &mut out).is_err());
    assert!(filter.finish(&mut out).is_err());
}

/// The text every split test streams: one of each kind, separated by prose.
pub(crate) const MIXED: &str = "Hi, I am ann.lee@example.com, call +1 415 555 0132 or (555) 123-4567. \
Card 4111-1111-1111-1111 (not 4111-1111-1111-1112), IBAN DE89 3704 0044 0532 0130 00. \
SSN 123-45-6789 from 10.0.0.1 / fe80::1. Key sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123 \
and AKIAIOSFODNN7EXAMPLE, token Bearer abcdefghijklmnopqrstuvwxyz. Done.";

fn stream(guard: &PiiGuard, pieces: &[&str]) -> String {
    let mut filter = guard.filter();
    let mut out = String::new();
    for piece in pieces {
        filter.push(piece, &mut out).unwrap();
        assert!(filter.held() <= guard.max_hold());
    }
    filter.finish(&mut out).unwrap();
    assert_eq!(filter.held(), 0);
    out
}

#[test]
fn every_split_point_gives_the_whole_text_redaction() {
    let guard = guard();
    for text in [MIXED, &format!("key: {PEM} end")[..]] {
        let whole = guard.redact(text).unwrap().into_owned();
        assert!(!whole.contains("4111-1111-1111-1111"), "{whole}");
        for i in (0..=text.len()).filter(|i| text.is_char_boundary(*i)) {
            assert_eq!(
                stream(&guard, &[&text[..i], &text[i..]]),
                whole,
                "split at {i}"
            );
        }
        // And one byte at a time.
        let bytes: Vec<&str> = (0..text.len()).map(|i| &text[i..i + 1]).collect();
        assert_eq!(stream(&guard, &bytes), whole);
    }
    assert_eq!(
        guard.redact(MIXED).unwrap(),
        "Hi, I am [REDACTED:email], call [REDACTED:phone] or [REDACTED:phone]. \
Card [REDACTED:payment_card] (not 4111-1111-1111-1112), IBAN [REDACTED:iban]. \
SSN [REDACTED:us_ssn] from [REDACTED:ipv4] / [REDACTED:ipv6]. Key [REDACTED:anthropic_key] \
and [REDACTED:aws_access_key], token [REDACTED:bearer_token] Done."
    );
    // (A token's characters include `.`, so the full stop goes with it: better one dot lost
    // than a token's last segment leaked.)
}

#[test]
fn many_pieces_at_scattered_points_give_the_whole_text_redaction() {
    let guard = guard();
    let whole = guard.redact(MIXED).unwrap().into_owned();
    // A small linear congruential generator: scattered cut points, the same on every run.
    let mut seed: u64 = 0x5eed;
    let mut next = |below: usize| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) as usize % below
    };
    for _ in 0..200 {
        let mut cuts: Vec<usize> = (0..next(12) + 2).map(|_| next(MIXED.len() + 1)).collect();
        cuts.extend([0, MIXED.len()]);
        cuts.sort_unstable();
        let pieces: Vec<&str> = cuts.windows(2).map(|w| &MIXED[w[0]..w[1]]).collect();
        assert_eq!(stream(&guard, &pieces), whole, "cuts {cuts:?}");
    }
}

#[test]
fn a_stream_holds_back_only_a_tail_that_could_grow_into_a_match() {
    let guard = guard();
    let mut filter = guard.filter();
    let mut out = String::new();
    // Prose: only the last word waits (it could be the start of an address).
    filter.push("the weather is fine today", &mut out).unwrap();
    assert_eq!(out, "the weather is fine ");
    assert_eq!(filter.held(), "today".len());
    filter.push(". Then", &mut out).unwrap();
    assert_eq!(out, "the weather is fine today. ");
    // A run of digits waits while it could still be a card; then it is released whole.
    filter.push(" 4111 1111", &mut out).unwrap();
    assert!(out.ends_with("today. Then "), "{out}");
    assert_eq!(filter.held(), "4111 1111".len());
    filter.push(" is a code, ok", &mut out).unwrap();
    assert!(out.ends_with("4111 1111 is a code, "), "{out}");
    // A secret that never ends is swallowed as it comes, nothing held.
    filter
        .push(" sk-abcdefghijklmnopqrstuvwxyz", &mut out)
        .unwrap();
    let before = out.len();
    // Held while it could still be an address's local part (up to 64 characters)...
    filter
        .push("0123456789abcdef0123456789abcdef0123456789", &mut out)
        .unwrap();
    assert_eq!(filter.held(), 0);
    let redacted = out.len();
    assert_eq!(&out[before..], "[REDACTED:openai_key]");
    // ...then the rest of the token is dropped as it comes.
    filter.push("0123456789abcdef", &mut out).unwrap();
    assert_eq!(filter.held(), 0);
    assert_eq!(out.len(), redacted);
    filter.finish(&mut out).unwrap();
    assert!(out.ends_with("ok [REDACTED:openai_key]"), "{out}");
    // The bound itself: the longest tail window, far below a kilobyte.
    assert!(guard.max_hold() < 400, "{}", guard.max_hold());
}

#[test]
fn an_unterminated_key_block_stays_redacted() {
    let guard = guard();
    let text = "-----BEGIN PRIVATE KEY-----\nMIIBOgIBAAJBAKj34GkxFhD90vcN\nLYLInFEX6Ppy";
    assert_eq!(guard.redact(text).unwrap(), "[REDACTED:private_key]");
    let out = stream(&guard, &[&text[..40], &text[40..]]);
    assert_eq!(out, "[REDACTED:private_key]");
}

#[test]
fn debug_shows_no_held_text() {
    let mut filter = guard().filter();
    let mut out = String::new();
    filter.push("mail ann@exam", &mut out).unwrap();
    let debug = format!("{filter:?}");
    assert!(!debug.contains("ann"), "{debug}");
    assert!(debug.contains("held"));
}

#[test]
fn names_as_a_config_spells_them() {
    assert_eq!(PiiAction::from_name("block"), Some(PiiAction::Block));
    assert_eq!(PiiAction::from_name("mask"), None);
    for d in Detector::ALL {
        assert_eq!(Detector::from_label(d.label()), Some(d));
    }
    assert_eq!(Detector::from_label("passport"), None);
    assert_eq!(PiiRule::defaults().len(), Detector::ALL.len());
}
