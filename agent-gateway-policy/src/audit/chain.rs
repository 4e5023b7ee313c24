//! The hash chain: how a record is sealed into a line, and how a line is checked.
//!
//! A record is serialized as compact JSON with its fields in a fixed order and without its
//! `hash`; that byte string is the record's canonical encoding. Its SHA-256 is appended as the
//! last field, `"hash":"<64 hex>"`, and the line ends with `\n`. Each record carries the
//! previous record's hash in `prev` and its position in `seq`, so changing, removing, adding or
//! moving any record breaks the chain at that record.
//!
//! ```
//! use agent_gateway_policy::audit::AuditRecord;
//! use agent_gateway_policy::audit::chain::{ChainHead, GENESIS, seal, unseal};
//!
//! let mut head = ChainHead::start();
//! let line = seal(AuditRecord::default(), &mut head);
//! assert_eq!(head.next_seq, 1);
//! let record = unseal(&line[..line.len() - 1]).unwrap();
//! assert_eq!((record.seq, record.prev.as_str()), (0, GENESIS));
//! // One byte changed: the hash no longer matches.
//! let forged = String::from_utf8(line).unwrap().replace("\"seq\":0", "\"seq\":7");
//! assert!(unseal(forged.trim_end().as_bytes()).is_err());
//! ```

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::record::{AuditRecord, hex};

/// The `prev` of the first record: 64 zeros.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Where a chain continues: the next sequence number and the last record's hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainHead {
    /// The sequence number the next record gets (the number of records so far).
    pub next_seq: u64,
    /// The hash of the last record, or [`GENESIS`].
    pub hash: String,
}

impl ChainHead {
    /// An empty chain.
    pub fn start() -> Self {
        ChainHead {
            next_seq: 0,
            hash: GENESIS.to_owned(),
        }
    }

    /// The head after `record`.
    pub fn after(record: &AuditRecord) -> Option<Self> {
        Some(ChainHead {
            next_seq: record.seq.checked_add(1)?,
            hash: record.hash.clone()?,
        })
    }
}

impl fmt::Display for ChainHead {
    /// `<next_seq>:<hash>`, what `gateway audit verify --head` takes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.next_seq, self.hash)
    }
}

impl std::str::FromStr for ChainHead {
    type Err = BadLine;

    fn from_str(s: &str) -> Result<Self, BadLine> {
        let (seq, hash) = s.split_once(':').ok_or(BadLine::Malformed)?;
        let next_seq = seq.parse().map_err(|_| BadLine::Malformed)?;
        if !is_hash(hash) {
            return Err(BadLine::Malformed);
        }
        Ok(ChainHead {
            next_seq,
            hash: hash.to_owned(),
        })
    }
}

/// Why a line is not a sealed record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BadLine {
    /// It is not a record: not JSON, or without a well-formed `hash` as its last field.
    #[error("not a sealed record")]
    Malformed,
    /// Its hash does not match its content: the record was modified.
    #[error("hash mismatch: the record was modified")]
    Modified,
}

const HASH_PREFIX: &[u8] = b",\"hash\":\"";
/// `,"hash":"` + 64 hex + `"}`.
const HASH_SUFFIX_LEN: usize = HASH_PREFIX.len() + 64 + 2;

/// Seals `record` as the next record after `head`: sets its `seq`, `prev` and `hash`,
/// advances `head`, and appends its line (with its `\n`) to `out`.
pub fn seal_into(record: &mut AuditRecord, head: &mut ChainHead, out: &mut Vec<u8>) {
    record.seq = head.next_seq;
    record.prev = std::mem::take(&mut head.hash);
    record.hash = None;
    let start = out.len();
    // A record of strings, numbers and JSON values always serializes.
    let _ = serde_json::to_writer(&mut *out, &*record);
    let hash = hex(&Sha256::digest(&out[start..]));
    out.pop(); // the closing brace
    out.extend_from_slice(HASH_PREFIX);
    out.extend_from_slice(hash.as_bytes());
    out.extend_from_slice(b"\"}\n");
    head.next_seq += 1;
    head.hash.clone_from(&hash);
    record.hash = Some(hash);
}

/// Seals `record` after `head` and returns its line; see [`seal_into`].
pub fn seal(mut record: AuditRecord, head: &mut ChainHead) -> Vec<u8> {
    let mut line = Vec::new();
    seal_into(&mut record, head, &mut line);
    line
}

/// Checks that `line` (without its `\n`) is a sealed record whose hash matches its content,
/// and returns it. The chain (`seq`, `prev`) is checked by the caller.
pub fn unseal(line: &[u8]) -> Result<AuditRecord, BadLine> {
    let record: AuditRecord = serde_json::from_slice(line).map_err(|_| BadLine::Malformed)?;
    let Some(hash) = record.hash.as_deref().filter(|h| is_hash(h)) else {
        return Err(BadLine::Malformed);
    };
    let body_len = line
        .len()
        .checked_sub(HASH_SUFFIX_LEN)
        .ok_or(BadLine::Malformed)?;
    let suffix = &line[body_len..];
    if !suffix.starts_with(HASH_PREFIX)
        || &suffix[HASH_PREFIX.len()..HASH_PREFIX.len() + 64] != hash.as_bytes()
    {
        return Err(BadLine::Malformed);
    }
    let mut hasher = Sha256::new();
    hasher.update(&line[..body_len]);
    hasher.update(b"}");
    if hex(&hasher.finalize()) != hash {
        return Err(BadLine::Modified);
    }
    Ok(record)
}

fn is_hash(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}
