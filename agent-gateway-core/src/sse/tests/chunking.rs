//! However a stream is cut into chunks, it decodes to the same events.

use super::*;

/// Every rule that spans bytes: a BOM, CRLF, lone CR and LF, comments, multi-line data,
/// ids, retry and multi-byte characters. It ends inside an event.
const STREAM: &str = concat!(
    "\u{FEFF}: hello\r\n",
    "retry: 2500\r\n",
    "event: greeting\r\n",
    "id: 1\r\n",
    "data: h\u{e9}llo \u{1F600}\r\n",
    "data:  two spaces\r\n",
    "\r\n",
    ": keep-alive\n",
    "data: second\rdata\r\r",
    "id: 2\nevent: usage\ndata: {\"tokens\":\"\u{20AC}\"}\n\n",
    "id: 3\n\n",
    "data: tail\r\n\r\n",
    "data: never dispatched",
);

fn expected() -> Vec<Event> {
    vec![
        Event::new("h\u{e9}llo \u{1F600}\n two spaces")
            .with_event("greeting")
            .with_id("1")
            .with_retry(ms(2500)),
        Event::new("second\n"),
        Event::new("{\"tokens\":\"\u{20AC}\"}")
            .with_event("usage")
            .with_id("2"),
        Event::new("tail"),
    ]
}

/// Decodes the stream cut at `cuts` (ascending) and checks everything the decoder reports.
fn check(cuts: &[usize]) {
    let bytes = STREAM.as_bytes();
    let mut chunks = Vec::new();
    let mut start = 0;
    for &cut in cuts.iter().chain([&bytes.len()]) {
        chunks.push(&bytes[start..cut]);
        start = cut;
    }
    let mut decoder = Decoder::new();
    let events = feed_all(&mut decoder, chunks);
    assert_eq!(events, expected(), "cut at {cuts:?}");
    assert_eq!(decoder.last_event_id(), Some("3"), "cut at {cuts:?}");
    assert_eq!(decoder.retry(), Some(ms(2500)), "cut at {cuts:?}");
    assert!(
        decoder.finish(),
        "cut at {cuts:?}: the stream ends inside an event"
    );
}

#[test]
fn whole_stream() {
    check(&[]);
}

#[test]
fn every_split_point() {
    for cut in 0..=STREAM.len() {
        check(&[cut]);
    }
}

#[test]
fn every_pair_of_split_points() {
    for first in 0..=STREAM.len() {
        for second in first..=STREAM.len() {
            check(&[first, second]);
        }
    }
}

#[test]
fn byte_at_a_time() {
    let cuts: Vec<usize> = (1..STREAM.len()).collect();
    check(&cuts);
}

#[test]
fn cr_at_chunk_end_then_lf_is_one_line_break() {
    // Read as two breaks, the LF would end the event early: "a" and "b" instead of "a\nb".
    let mut decoder = Decoder::new();
    let events = feed_all(&mut decoder, [&b"data: a\r"[..], b"\ndata: b\n\n"]);
    assert_eq!(events, [Event::new("a\nb")]);

    // An empty chunk in between changes nothing.
    let mut decoder = Decoder::new();
    let events = feed_all(&mut decoder, [&b"data: a\r"[..], b"", b"\ndata: b\n\n"]);
    assert_eq!(events, [Event::new("a\nb")]);

    // A lone CR at the end of a chunk is still a line break.
    let mut decoder = Decoder::new();
    let events = feed_all(&mut decoder, [&b"data: a\r"[..], b"data: b\r", b"\r"]);
    assert_eq!(events, [Event::new("a\nb")]);
}

#[test]
fn round_trip_through_every_split_point() {
    let events = encoding::tricky_events();
    let mut wire = Vec::new();
    for event in &events {
        wire.extend_from_slice(&event.to_bytes().unwrap());
    }
    let normalized: Vec<Event> = events.iter().map(encoding::normalized).collect();
    for cut in 0..=wire.len() {
        let mut decoder = Decoder::new();
        let decoded = feed_all(&mut decoder, [&wire[..cut], &wire[cut..]]);
        assert_eq!(decoded, normalized, "cut at {cut}");
        assert!(!decoder.finish());
    }
}
