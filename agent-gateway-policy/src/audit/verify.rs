//! [`verify`]: walks a store's chain and reports the first bad record.

use std::fmt;
use std::path::{Path, PathBuf};

use super::chain::{BadLine, ChainHead, unseal};
use super::file::{Torn, files};

/// An intact chain.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Verified {
    /// How many records it holds.
    pub records: u64,
    /// Where it ends: compare it with a head kept elsewhere, or keep it for the next check.
    pub head: ChainHead,
    /// A torn last line (a crash mid-write), not counted: the chain is intact up to it.
    pub torn: Option<Torn>,
}

/// A chain broken at a record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("record {seq} ({}:{line}): {reason}", file.display())]
#[non_exhaustive]
pub struct Broken {
    /// The sequence number where the chain breaks: the record expected at that place.
    pub seq: u64,
    /// The file holding the bad line (the last one, for a short chain).
    pub file: PathBuf,
    /// Its line number, from 1.
    pub line: u64,
    /// What is wrong.
    pub reason: Reason,
}

/// Why a chain is broken.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reason {
    /// The record's hash does not match its content: it was modified.
    Modified,
    /// A complete line that is not a sealed record.
    Malformed,
    /// A later record stands where this one should: records were deleted or moved.
    Missing {
        /// The sequence number found instead.
        found: u64,
    },
    /// An earlier or repeated sequence number: a record was inserted, duplicated or moved.
    OutOfPlace {
        /// The sequence number found.
        found: u64,
    },
    /// The record's `prev` is not its predecessor's hash: a record before it was replaced, or
    /// it was inserted.
    ChainBroken,
    /// The chain ends before the head kept elsewhere: records were cut off at the end.
    Truncated {
        /// The records the head says there are.
        expected: u64,
    },
    /// The chain reaches the kept head's length with another hash: it was rewritten.
    HeadMismatch,
    /// A file could not be read.
    Unreadable(std::io::ErrorKind),
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Modified => f.write_str("modified (hash mismatch)"),
            Reason::Malformed => f.write_str("not a sealed record"),
            Reason::Missing { found } => {
                write!(
                    f,
                    "missing (found record {found}): records deleted or moved"
                )
            }
            Reason::OutOfPlace { found } => {
                write!(
                    f,
                    "found record {found} out of place: inserted, duplicated or moved"
                )
            }
            Reason::ChainBroken => f.write_str("prev does not match the previous record's hash"),
            Reason::Truncated { expected } => {
                write!(
                    f,
                    "missing: the log ends before the kept head ({expected} records)"
                )
            }
            Reason::HeadMismatch => f.write_str("hash differs from the kept head: rewritten"),
            Reason::Unreadable(kind) => write!(f, "unreadable ({kind})"),
        }
    }
}

/// Verifies the store at `path` (a [`JsonlSink`](super::JsonlSink) directory, or one segment
/// file holding a chain from its start), and, when given, that it reaches `head` with the same
/// hash. See [what it detects](super#the-chain-and-what-verification-detects).
pub fn verify(path: &Path, head: Option<&ChainHead>) -> Result<Verified, Broken> {
    let files = files(path).map_err(|e| Broken {
        seq: 0,
        file: path.to_owned(),
        line: 0,
        reason: Reason::Unreadable(e.kind()),
    })?;
    let mut walk = Walk::default();
    let mut torn = None;
    let mut last_file = path.to_owned();
    let mut last_line = 0;
    for (i, file) in files.iter().enumerate() {
        let broken = |line: u64, seq: u64, reason| Broken {
            seq,
            file: file.clone(),
            line,
            reason,
        };
        let data = std::fs::read(file)
            .map_err(|e| broken(0, walk.chain.next_seq, Reason::Unreadable(e.kind())))?;
        let mut lines: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();
        // After the last `\n` comes an empty piece, or, in the last file, a torn line.
        let tail = lines.pop().unwrap_or_default();
        if !tail.is_empty() {
            if i + 1 == files.len() {
                torn = Some(Torn {
                    path: file.clone(),
                    offset: (data.len() - tail.len()) as u64,
                    bytes: tail.len() as u64,
                });
            } else {
                lines.push(tail);
            }
        }
        for (n, line) in lines.iter().enumerate() {
            let n = n as u64 + 1;
            walk.step(line)
                .map_err(|(seq, reason)| broken(n, seq, reason))?;
            last_line = n;
        }
        last_file.clone_from(file);
    }
    let chain = walk.finish(head).map_err(|(seq, reason)| Broken {
        seq,
        file: last_file.clone(),
        line: last_line,
        reason,
    })?;
    Ok(Verified {
        records: chain.next_seq,
        head: chain,
        torn,
    })
}

/// The chain walked one line at a time: what [`verify`] and the SQLite sink's verification
/// share.
#[derive(Debug)]
pub(super) struct Walk {
    pub(super) chain: ChainHead,
}

impl Default for Walk {
    fn default() -> Self {
        Walk {
            chain: ChainHead::start(),
        }
    }
}

impl Walk {
    /// Checks the next line (without its `\n`); on failure, the expected sequence number and
    /// why.
    pub(super) fn step(&mut self, line: &[u8]) -> Result<(), (u64, Reason)> {
        let expected = self.chain.next_seq;
        let record = unseal(line).map_err(|bad| {
            let reason = match bad {
                BadLine::Modified => Reason::Modified,
                _ => Reason::Malformed,
            };
            (expected, reason)
        })?;
        if record.seq > expected {
            return Err((expected, Reason::Missing { found: record.seq }));
        }
        if record.seq < expected {
            return Err((expected, Reason::OutOfPlace { found: record.seq }));
        }
        if record.prev != self.chain.hash {
            return Err((expected, Reason::ChainBroken));
        }
        self.chain = ChainHead::after(&record).ok_or((expected, Reason::Malformed))?;
        Ok(())
    }

    /// The chain's head, checked against a head kept elsewhere if given.
    pub(super) fn finish(self, head: Option<&ChainHead>) -> Result<ChainHead, (u64, Reason)> {
        let chain = self.chain;
        if let Some(kept) = head {
            if chain.next_seq < kept.next_seq {
                let expected = kept.next_seq;
                return Err((chain.next_seq, Reason::Truncated { expected }));
            }
            if chain.next_seq == kept.next_seq && chain.hash != kept.hash {
                return Err((kept.next_seq.saturating_sub(1), Reason::HeadMismatch));
            }
        }
        Ok(chain)
    }
}
