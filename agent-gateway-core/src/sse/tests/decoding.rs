//! One test per rule of the WHATWG event stream interpretation, and the size limit.

use super::*;

#[test]
fn line_breaks_crlf_cr_and_lf() {
    for stream in [
        "data: a\r\n\r\n",
        "data: a\n\n",
        "data: a\r\r",
        "data: a\r\n\r",
    ] {
        assert_eq!(decode(stream), [Event::new("a")], "{stream:?}");
    }
    assert_eq!(
        decode("data: a\r\ndata: b\rdata: c\n\r\n"),
        [Event::new("a\nb\nc")]
    );
    // "\n\r" is two line breaks, not one.
    assert_eq!(
        decode("data: a\n\rdata: b\n\n"),
        [Event::new("a"), Event::new("b")]
    );
}

#[test]
fn byte_order_mark_only_at_the_start() {
    assert_eq!(decode("\u{FEFF}data: a\n\n"), [Event::new("a")]);
    // A second BOM is content: the first field is named "\u{FEFF}data" and ignored.
    assert_eq!(
        decode("\u{FEFF}\u{FEFF}data: a\n\ndata: b\n\n"),
        [Event::new("b")]
    );
    // Not at the start of the stream: part of the field name again.
    assert_eq!(decode("data: a\n\n\u{FEFF}data: b\n\n"), [Event::new("a")]);
    // Part of a BOM is not a BOM: the bytes decode to U+FFFD, naming an unknown field.
    let events = feed_all(
        &mut Decoder::new(),
        [&b"\xEF\xBB"[..], b"data: a\n\ndata: b\n\n"],
    );
    assert_eq!(events, [Event::new("b")]);
    let events = feed_all(&mut Decoder::new(), [&b"\xEF"[..], b"\n", b"data: b\n\n"]);
    assert_eq!(events, [Event::new("b")]);
}

#[test]
fn utf8_is_decoded_per_complete_line_lossily() {
    let bytes = "data: \u{1F600}\u{e9}\n\n".as_bytes();
    let chunks: Vec<&[u8]> = bytes.chunks(1).collect();
    assert_eq!(
        feed_all(&mut Decoder::new(), chunks),
        [Event::new("\u{1F600}\u{e9}")]
    );
    // Invalid bytes, and a character cut short by the line break, become U+FFFD.
    let events = feed_all(
        &mut Decoder::new(),
        [&b"data: a\xFFb\xF0\x9F\ndata: c\n\n"[..]],
    );
    assert_eq!(events, [Event::new("a\u{FFFD}b\u{FFFD}\nc")]);
}

#[test]
fn comments_are_ignored() {
    assert_eq!(decode(":c1\ndata: x\n: c2\n\n"), [Event::new("x")]);
    assert_eq!(decode(": only a comment\n\n:\n\n"), []);
    let mut decoder = Decoder::new();
    feed_all(&mut decoder, [&b": keep-alive\n"[..]]);
    assert!(!decoder.finish(), "a comment is not an unfinished event");
}

#[test]
fn field_without_colon_has_an_empty_value() {
    assert_eq!(decode("data\n\n"), [Event::new("")]);
    assert_eq!(decode("data\ndata\n\n"), [Event::new("\n")]);
    assert_eq!(decode("event: x\nevent\ndata: a\n\n"), [Event::new("a")]);
    assert_eq!(decode("id\ndata: a\n\n"), [Event::new("a").with_id("")]);
}

#[test]
fn exactly_one_leading_space_is_removed() {
    assert_eq!(decode("data:x\n\n"), [Event::new("x")]);
    assert_eq!(decode("data: x \n\n"), [Event::new("x ")]);
    assert_eq!(decode("data:  x\n\n"), [Event::new(" x")]);
    assert_eq!(decode("data:\tx\n\n"), [Event::new("\tx")]);
    assert_eq!(decode("data: a: b\n\n"), [Event::new("a: b")]);
    assert_eq!(
        decode("event:  sp\ndata\n\n"),
        [Event::new("").with_event(" sp")]
    );
}

#[test]
fn data_lines_are_joined_with_lf() {
    assert_eq!(
        decode("data: a\ndata: b\ndata:\n\n"),
        [Event::new("a\nb\n")]
    );
    assert_eq!(decode("data:\ndata: a\n\n"), [Event::new("\na")]);
}

#[test]
fn empty_data_dispatches_an_event_with_empty_data() {
    assert_eq!(decode("data:\n\n"), [Event::new("")]);
    assert_eq!(decode("data: \n\n"), [Event::new("")]);
}

#[test]
fn event_type_is_set_per_event() {
    let events = decode("event: add\ndata: 1\n\ndata: 2\n\nevent:\ndata: 3\n\n");
    assert_eq!(
        events,
        [
            Event::new("1").with_event("add"),
            Event::new("2"),
            Event::new("3")
        ]
    );
    assert_eq!(events[0].event_type(), "add");
    assert_eq!(events[1].event_type(), "message");
    // Field names are case-sensitive; unknown fields are ignored.
    assert_eq!(decode("Data: x\nEVENT: y\nfoo: bar\n\n"), []);
    assert_eq!(decode("foo: bar\ndata: x\n\n"), [Event::new("x")]);
}

#[test]
fn block_without_data_dispatches_nothing_but_sets_id_and_retry() {
    let mut decoder = Decoder::new();
    let events = feed_all(
        &mut decoder,
        [&b"event: e\nid: 7\nretry: 10\n\ndata: x\n\n"[..]],
    );
    // The event type was reset by the blank line; the id and retry belong to the first block.
    assert_eq!(events, [Event::new("x")]);
    assert_eq!(decoder.last_event_id(), Some("7"));
    assert_eq!(decoder.retry(), Some(ms(10)));
}

#[test]
fn id_is_committed_at_the_blank_line_and_persists() {
    let mut decoder = Decoder::new();
    let mut events = feed_all(&mut decoder, [&b"id: 1\ndata: a\n\ndata: b\n\nid: 2\n"[..]]);
    assert_eq!(events, [Event::new("a").with_id("1"), Event::new("b")]);
    assert_eq!(
        decoder.last_event_id(),
        Some("1"),
        "id 2 has no blank line yet"
    );
    decoder.feed(b"\n", &mut events).unwrap();
    assert_eq!(decoder.last_event_id(), Some("2"));
    // The last id in a block wins; an empty id clears the last event id.
    let events = feed_all(&mut decoder, [&b"id: 3\nid: 4\ndata: c\n\nid\n\n"[..]]);
    assert_eq!(events, [Event::new("c").with_id("4")]);
    assert_eq!(decoder.last_event_id(), None);
}

#[test]
fn id_with_nul_is_ignored() {
    let mut decoder = Decoder::new();
    let events = feed_all(&mut decoder, [&b"id: 1\n\nid: a\0b\ndata: x\n\n"[..]]);
    assert_eq!(events, [Event::new("x")]);
    assert_eq!(decoder.last_event_id(), Some("1"));
    // An earlier valid id in the same block stands.
    let events = feed_all(&mut decoder, [&b"id: 2\nid: \0\ndata: y\n\n"[..]]);
    assert_eq!(events, [Event::new("y").with_id("2")]);
}

#[test]
fn retry_only_if_all_ascii_digits() {
    let mut decoder = Decoder::new();
    let mut events = feed_all(&mut decoder, [&b"retry: 1500\n"[..]]);
    assert_eq!(
        decoder.retry(),
        Some(ms(1500)),
        "applied at once, not at the blank line"
    );
    decoder.feed(b"\n", &mut events).unwrap();
    for bad in ["15x", "-1", "1.5", "+3", " 15", "", "\u{661}"] {
        decoder
            .feed(format!("retry: {bad}\ndata: x\n\n").as_bytes(), &mut events)
            .unwrap();
        assert_eq!(decoder.retry(), Some(ms(1500)), "{bad:?}");
    }
    assert!(events.iter().all(|e| e.retry.is_none()));
    assert_eq!(
        decode("retry:0042\ndata: x\n\n"),
        [Event::new("x").with_retry(ms(42))]
    );
    // A number too big for u64 milliseconds saturates.
    assert_eq!(
        decode("retry: 99999999999999999999999\ndata\n\n")[0].retry,
        Some(ms(u64::MAX))
    );
}

#[test]
fn finish_discards_the_unfinished_event_and_resets_the_stream() {
    let mut decoder = Decoder::new();
    let events = feed_all(&mut decoder, [&b"id: 1\ndata: a\n\nid: 2\ndata: b"[..]]);
    assert_eq!(events, [Event::new("a").with_id("1")]);
    assert!(decoder.finish());
    assert_eq!(decoder.last_event_id(), Some("1"));

    for tail in ["data: b\n", "data: b\r", "id: 2\n", "data: b", "\u{FEFF}x"] {
        let mut decoder = Decoder::new();
        assert_eq!(feed_all(&mut decoder, [tail.as_bytes()]), [], "{tail:?}");
        assert!(decoder.finish(), "{tail:?}");
    }
    let mut decoder = Decoder::new();
    feed_all(&mut decoder, [&b"\xEF\xBB"[..]]);
    assert!(decoder.finish(), "part of a BOM is an unfinished line");
    feed_all(&mut decoder, [&b"\xEF\xBB\xBF"[..]]);
    assert!(!decoder.finish(), "a whole BOM is no event");

    // The next stream starts afresh, BOM included; the last id and retry carry over.
    let mut decoder = Decoder::new();
    feed_all(&mut decoder, [&b"retry: 5\nid: 9\n\ndata: lost"[..]]);
    assert!(decoder.finish());
    let events = feed_all(&mut decoder, [&b"\xEF\xBB\xBFdata: new\n\n"[..]]);
    assert_eq!(events, [Event::new("new")]);
    assert_eq!(decoder.last_event_id(), Some("9"));
    assert_eq!(decoder.retry(), Some(ms(5)));
    assert!(!decoder.finish());
}

#[test]
fn size_limit_on_lines() {
    let mut decoder = Decoder::new().with_max_event_size(8);
    assert_eq!(
        feed_all(&mut decoder, [&b"data:123\n\n"[..]]),
        [Event::new("123")]
    );
    let mut events = Vec::new();
    let err = decoder.feed(b"data:1234\n", &mut events).unwrap_err();
    assert_eq!(err, SseError::TooLarge { limit: 8 });

    // The same line cut into bytes fails too, and as soon as it is too long: before its end.
    let mut decoder = Decoder::new().with_max_event_size(8);
    let results: Vec<_> = b"data:1234"
        .iter()
        .map(|b| decoder.feed(&[*b], &mut events))
        .collect();
    assert!(results[..8].iter().all(Result::is_ok));
    assert_eq!(results[8], Err(SseError::TooLarge { limit: 8 }));
    assert_eq!(events, []);
}

#[test]
fn size_limit_on_event_data() {
    let mut decoder = Decoder::new().with_max_event_size(9);
    let events = feed_all(&mut decoder, [&b"data:1234\ndata:1234\n\n"[..]]);
    assert_eq!(events, [Event::new("1234\n1234")], "exactly at the limit");
    let mut events = Vec::new();
    let err = decoder.feed(b"data:1234\ndata:1234\ndata:1\n\n", &mut events);
    assert_eq!(err, Err(SseError::TooLarge { limit: 9 }));
    assert_eq!(events, []);
}

#[test]
fn failure_is_permanent_and_keeps_earlier_events() {
    let mut decoder = Decoder::new().with_max_event_size(8);
    let mut events = Vec::new();
    let err = decoder.feed(b"data:a\n\ndata:123456789\n\ndata:b\n\n", &mut events);
    assert_eq!(err, Err(SseError::TooLarge { limit: 8 }));
    assert_eq!(events, [Event::new("a")]);
    assert_eq!(decoder.feed(b"data:c\n\n", &mut events), err);
    assert!(!decoder.finish());
    assert_eq!(decoder.feed(b"data:c\n\n", &mut events), err);
    assert_eq!(events, [Event::new("a")]);
}

#[test]
fn comments_come_back_in_order_when_asked_for_however_the_stream_is_cut() {
    let wire = "data: a\n\n: ping\n:\n:  two spaces\r\ndata: b\n: inside\ndata: c\n\n";
    let expected = [
        Decoded::Event(Event::new("a")),
        Decoded::Comment("ping".into()),
        Decoded::Comment(String::new()),
        Decoded::Comment(" two spaces".into()),
        Decoded::Comment("inside".into()),
        Decoded::Event(Event::new("b\nc")),
    ];
    for i in 0..=wire.len() {
        let mut decoder = Decoder::new();
        let mut out = Vec::new();
        decoder
            .feed_with_comments(&wire.as_bytes()[..i], &mut out)
            .unwrap();
        decoder
            .feed_with_comments(&wire.as_bytes()[i..], &mut out)
            .unwrap();
        assert_eq!(out, expected, "split at {i}");
        assert!(!decoder.finish());
    }
    // `feed` still drops them.
    assert_eq!(decode(wire), [Event::new("a"), Event::new("b\nc")]);
}
