//! Property test of the stdio line reader: whatever a child prints, however the pipe cuts it
//! and whatever the buffer size, the lines read are those of a plain model, none longer than
//! the limit.

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};

use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence};
use tokio::io::{AsyncRead, BufReader, ReadBuf};

use super::lines::{Line, next_line};

/// A pipe that hands out the output in the given pieces.
struct Pipe(VecDeque<Vec<u8>>);

impl AsyncRead for Pipe {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if let Some(mut piece) = self.0.pop_front() {
            let n = piece.len().min(buf.remaining());
            buf.put_slice(&piece[..n]);
            if n < piece.len() {
                self.0.push_front(piece.split_off(n));
            }
        }
        Poll::Ready(Ok(()))
    }
}

/// What the reader must give: each line (its newline and one CR before it removed) if it fits
/// in `max` bytes counting that CR, else a skip.
fn model(output: &[u8], max: usize) -> Vec<Option<Vec<u8>>> {
    let mut lines = Vec::new();
    let mut rest = output;
    while !rest.is_empty() {
        let (line, terminated) = match rest.iter().position(|&b| b == b'\n') {
            Some(i) => (&rest[..i], true),
            None => (rest, false),
        };
        rest = &rest[(line.len() + usize::from(terminated)).min(rest.len())..];
        if line.len() > max {
            lines.push(None);
        } else if terminated && line.last() == Some(&b'\r') {
            lines.push(Some(line[..line.len() - 1].to_vec()));
        } else {
            lines.push(Some(line.to_vec()));
        }
    }
    lines
}

fn output() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just(b"\n".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b"\r".to_vec()),
        Just(br#"{"jsonrpc":"2.0"}"#.to_vec()),
        prop::collection::vec(any::<u8>(), 0..24),
    ];
    prop::collection::vec(piece, 0..16).prop_map(|p| p.concat())
}

proptest! {
    #![proptest_config(Config {
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "proptest-regressions/fuzz_stdio_lines.txt",
        ))),
        ..Config::default()
    })]

    #[test]
    fn fuzz_stdio_lines_match_the_model(
        output in output(),
        cuts in prop::collection::vec(1usize..32, 0..16),
        capacity in 1usize..32,
        max in 0usize..48,
    ) {
        let mut pieces = VecDeque::new();
        let mut rest = &output[..];
        for cut in cuts {
            let (head, tail) = rest.split_at(cut.min(rest.len()));
            pieces.push_back(head.to_vec());
            rest = tail;
        }
        pieces.push_back(rest.to_vec());
        let rt = tokio::runtime::Builder::new_current_thread().build().expect("a runtime");
        let read = rt.block_on(async {
            let mut reader = BufReader::with_capacity(capacity, Pipe(pieces));
            let mut buf = Vec::new();
            let mut lines = Vec::new();
            loop {
                let line = next_line(&mut reader, &mut buf, max).await.expect("a pipe never fails");
                assert!(buf.len() <= max, "kept {} bytes for a limit of {max}", buf.len());
                match line {
                    Line::End => break,
                    Line::TooLong => lines.push(None),
                    Line::Whole => lines.push(Some(buf.clone())),
                }
            }
            lines
        });
        prop_assert_eq!(read, model(&output, max));
    }
}
