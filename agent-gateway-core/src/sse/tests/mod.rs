use std::time::Duration;

use super::*;

mod chunking;
mod decoding;
mod encoding;

/// Feeds `chunks` in order to a fresh decoder, without finishing the stream.
fn feed_all<'a>(decoder: &mut Decoder, chunks: impl IntoIterator<Item = &'a [u8]>) -> Vec<Event> {
    let mut events = Vec::new();
    for chunk in chunks {
        decoder.feed(chunk, &mut events).unwrap();
    }
    events
}

/// Decodes a whole stream in one chunk.
fn decode(stream: &str) -> Vec<Event> {
    feed_all(&mut Decoder::new(), [stream.as_bytes()])
}

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}
