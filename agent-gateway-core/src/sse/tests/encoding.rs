//! The encoder writes what it is given, refuses what it cannot write, and round-trips.

use bytes::BytesMut;

use super::*;

/// Events that are easy to encode wrongly.
pub(super) fn tricky_events() -> Vec<Event> {
    vec![
        Event::new(""),
        Event::new("\n"),
        Event::new("a\r\nb\rc\nd"),
        Event::new("\r\n\r\n"),
        Event::new(" leading space")
            .with_event(" spaced name")
            .with_id(" spaced id"),
        Event::new("  two\n   three\n"),
        Event::new("data: not a field\n: not a comment").with_event("a:b"),
        Event::new("nul \0 and \u{FEFF} and \u{1F600}").with_id(""),
        Event::new("x")
            .with_retry(ms(1234))
            .with_id("7")
            .with_event("usage"),
    ]
}

/// What an event decodes back as: its data's line breaks become `\n`.
pub(super) fn normalized(event: &Event) -> Event {
    let data = event.data.replace("\r\n", "\n").replace('\r', "\n");
    Event {
        data,
        ..event.clone()
    }
}

fn encode(event: &Event) -> String {
    String::from_utf8(event.to_bytes().unwrap().to_vec()).unwrap()
}

#[test]
fn writes_every_field() {
    let event = Event::new("a\nb")
        .with_event("usage")
        .with_id("7")
        .with_retry(ms(1500));
    assert_eq!(
        encode(&event),
        "event: usage\nid: 7\nretry: 1500\ndata: a\ndata: b\n\n"
    );
    assert_eq!(encode(&Event::new("x")), "data: x\n\n");
    assert_eq!(encode(&Event::new("x").with_id("")), "id:\ndata: x\n\n");
}

#[test]
fn splits_data_on_every_line_break() {
    assert_eq!(
        encode(&Event::new("a\r\nb\rc\nd\n")),
        "data: a\ndata: b\ndata: c\ndata: d\ndata:\n\n"
    );
    assert_eq!(encode(&Event::new("")), "data:\n\n");
    assert_eq!(encode(&Event::new(" x")), "data:  x\n\n");
}

#[test]
fn retry_is_whole_milliseconds() {
    assert_eq!(
        encode(&Event::new("x").with_retry(Duration::from_micros(2999))),
        "retry: 2\ndata: x\n\n"
    );
    let huge = Event::new("x").with_retry(Duration::MAX);
    assert_eq!(encode(&huge), format!("retry: {}\ndata: x\n\n", u64::MAX));
}

#[test]
fn refuses_names_and_ids_that_break_the_stream() {
    for bad in ["a\nb", "a\rb", "a\r\n", "a\0b"] {
        let mut buf = BytesMut::from(&b"kept"[..]);
        let err = Event::new("x").with_event(bad).encode_into(&mut buf);
        assert_eq!(err, Err(SseError::InvalidEventName), "{bad:?}");
        assert_eq!(&buf[..], b"kept", "nothing written on error");
        assert_eq!(
            Event::new("x").with_id(bad).to_bytes(),
            Err(SseError::InvalidId),
            "{bad:?}"
        );
    }
    // An empty name would decode as no name at all.
    assert_eq!(
        Event::new("x").with_event("").validate(),
        Err(SseError::InvalidEventName)
    );
    assert_eq!(
        Event::new("x\n\r\0").with_event("e").with_id("").validate(),
        Ok(())
    );
}

#[test]
fn encode_into_appends() {
    let mut buf = BytesMut::new();
    Event::new("1").encode_into(&mut buf).unwrap();
    Event::new("2").encode_into(&mut buf).unwrap();
    assert_eq!(&buf[..], b"data: 1\n\ndata: 2\n\n");
}

#[test]
fn comments_prefix_every_line() {
    assert_eq!(&comment("ping")[..], b": ping\n");
    assert_eq!(&comment("")[..], b":\n");
    assert_eq!(&comment("a\r\nb\n")[..], b": a\n: b\n:\n");
    let mut wire = comment("a\nevent: x\ndata: y\n\n").to_vec();
    wire.extend_from_slice(b"data: z\n\n");
    assert_eq!(
        feed_all(&mut Decoder::new(), [&wire[..]]),
        [Event::new("z")]
    );
}

#[test]
fn round_trip() {
    for event in tricky_events() {
        let decoded = decode(&encode(&event));
        assert_eq!(decoded, [normalized(&event)], "{event:?}");
        if !event.data.contains('\r') {
            assert_eq!(decoded, [event]);
        }
    }
}

#[test]
fn event_type_defaults_to_message() {
    assert_eq!(Event::new("x").event_type(), "message");
    assert_eq!(Event::new("x").with_event("usage").event_type(), "usage");
    assert_eq!(Event::default(), Event::new(""));
}
