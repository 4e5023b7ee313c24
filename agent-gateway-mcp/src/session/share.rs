//! Who an entry of a session table counts against, so that every table gives each caller a
//! share and one caller filling its share leaves room for the others.
//!
//! A table entry belongs to a legacy session, and a session to its owner. The key is a 16-byte
//! digest, so that a table holds no caller's strings.

use ring::digest::{SHA256, digest};

use super::SessionState;

/// The key a table counts an entry under: a digest naming its owner.
pub(crate) type OwnerKey = [u8; 16];

/// The owner of `session` (whose sealed state is `state`), as the tables count it.
///
/// The sealed state names its owner (`Caller::owner_digest()`): every session of one caller
/// shares one share. A session opened without a caller (no auth in the stack) counts as its
/// own owner, so the global bound still holds.
pub(crate) fn session_owner(state: &SessionState, session: &str) -> OwnerKey {
    state.owner().unwrap_or_else(|| key_of(session.as_bytes()))
}

/// A 16-byte digest of `bytes`.
pub(crate) fn key_of(bytes: &[u8]) -> OwnerKey {
    let d = digest(&SHA256, bytes);
    let mut key = [0u8; 16];
    key.copy_from_slice(&d.as_ref()[..16]);
    key
}
