//! Reading a child's output line by line with a bound on the line length, so that a server
//! printing without newlines cannot make the gateway buffer without limit.

use std::io;

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt};

/// The longest line taken from a child: a bound on what one message may cost.
pub(super) const MAX_LINE: usize = 16 * 1024 * 1024;

/// One line read by [`next_line`].
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Line {
    /// A line, without its newline, in the buffer.
    Whole,
    /// A line longer than the limit: skipped up to its newline.
    TooLong,
    /// The end of the output.
    End,
}

/// Reads the next line into `buf` (cleared first), at most `max` bytes of it.
pub(super) async fn next_line<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    buf: &mut Vec<u8>,
    max: usize,
) -> io::Result<Line> {
    buf.clear();
    let limit = u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1);
    let n = (&mut *reader).take(limit).read_until(b'\n', buf).await?;
    if n == 0 {
        return Ok(Line::End);
    }
    if buf.last() == Some(&b'\n') {
        buf.pop();
        if buf.last() == Some(&b'\r') {
            buf.pop();
        }
        return Ok(Line::Whole);
    }
    if buf.len() <= max {
        // The last line, with no newline after it.
        return Ok(Line::Whole);
    }
    buf.clear();
    loop {
        let available = reader.fill_buf().await?;
        if available.is_empty() {
            return Ok(Line::TooLong);
        }
        if let Some(i) = available.iter().position(|b| *b == b'\n') {
            reader.consume(i + 1);
            return Ok(Line::TooLong);
        }
        let len = available.len();
        reader.consume(len);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn long_lines_are_skipped_and_the_next_one_is_read() {
        let input = b"short\r\n0123456789abcdef\nok\nlast".to_vec();
        let mut reader = tokio::io::BufReader::with_capacity(4, &input[..]);
        let mut buf = Vec::new();
        let mut seen = Vec::new();
        loop {
            match next_line(&mut reader, &mut buf, 8).await.unwrap() {
                Line::End => break,
                Line::TooLong => seen.push("<too long>".to_owned()),
                Line::Whole => seen.push(String::from_utf8(buf.clone()).unwrap()),
            }
        }
        assert_eq!(seen, ["short", "<too long>", "ok", "last"]);
    }
}
