//! Server→client requests waiting for the client's answer: the gateway's id for each, the
//! session it was sent on, and where the answer goes.
//!
//! Ids are random (128 bits), so they are unique toward every client and cannot be guessed;
//! an answer counts only when it comes on the session the request was sent on. The table is
//! bounded per owner ([`MAX_PENDING_PER_OWNER`]) and in all ([`MAX_PENDING`]); a request that
//! finds either full is answered with an error at once, so one caller's unanswered requests
//! never stop another's.

use std::collections::HashMap;
use std::sync::Mutex;

use agent_gateway_core::jsonrpc::ErrorObject;
use ring::rand::{SecureRandom, SystemRandom};

use super::share::OwnerKey;
use crate::notify::{ClientAnswer, Reply};

/// The most server→client requests waiting at once, across all clients.
pub(crate) const MAX_PENDING: usize = 4096;
/// The most server→client requests waiting for one owner's clients: a sixteenth of
/// [`MAX_PENDING`], far more than a client answers at once.
pub(crate) const MAX_PENDING_PER_OWNER: usize = 256;

struct Entry {
    session: String,
    owner: OwnerKey,
    reply: Reply,
}

/// The server→client requests waiting for their client's answer.
pub(crate) struct PendingRequests {
    map: Mutex<HashMap<String, Entry>>,
    rng: SystemRandom,
    max: usize,
    per_owner: usize,
}

impl Default for PendingRequests {
    fn default() -> Self {
        PendingRequests::new(MAX_PENDING, MAX_PENDING_PER_OWNER)
    }
}

impl std::fmt::Debug for PendingRequests {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let waiting = self.map.lock().map_or(0, |m| m.len());
        f.debug_struct("PendingRequests")
            .field("waiting", &waiting)
            .finish()
    }
}

impl PendingRequests {
    /// A table of `max` waiting requests, `per_owner` of them for one owner.
    pub(crate) fn new(max: usize, per_owner: usize) -> Self {
        PendingRequests {
            map: Mutex::default(),
            rng: SystemRandom::new(),
            max,
            per_owner,
        }
    }

    /// How many requests wait now.
    pub(crate) fn len(&self) -> usize {
        self.map.lock().map_or(0, |m| m.len())
    }

    /// Registers a request sent on `session` of `owner`; its id, or `None` (and the asker
    /// told) when the owner's share or the table is full.
    pub(crate) fn register(&self, session: &str, owner: OwnerKey, reply: Reply) -> Option<String> {
        let mut bytes = [0u8; 16];
        let full = || {
            ErrorObject::new(
                ErrorObject::INTERNAL_ERROR,
                "too many requests wait for clients",
            )
        };
        if self.rng.fill(&mut bytes).is_err() {
            reply.send(Err(ErrorObject::internal_error()));
            return None;
        }
        let id: String = std::iter::once("agw-".to_owned())
            .chain(bytes.iter().map(|b| format!("{b:02x}")))
            .collect();
        let Ok(mut map) = self.map.lock() else {
            reply.send(Err(ErrorObject::internal_error()));
            return None;
        };
        map.retain(|_, e| !e.reply.is_closed());
        let held = map.values().filter(|e| e.owner == owner).count();
        if held >= self.per_owner {
            drop(map);
            reply.send(Err(ErrorObject::new(
                ErrorObject::INTERNAL_ERROR,
                "too many requests wait for this caller's clients",
            )));
            return None;
        }
        if map.len() >= self.max {
            drop(map);
            reply.send(Err(full()));
            return None;
        }
        let session = session.to_owned();
        map.insert(
            id.clone(),
            Entry {
                session,
                owner,
                reply,
            },
        );
        Some(id)
    }

    /// Routes the client's answer for `id`, sent on `session`. False when no request of
    /// that session waits under that id (unknown, finished, or another session's).
    pub(crate) fn answer(&self, session: &str, id: &str, answer: ClientAnswer) -> bool {
        let Ok(mut map) = self.map.lock() else {
            return false;
        };
        if map.get(id).is_none_or(|e| e.session != session) {
            return false;
        }
        match map.remove(id) {
            Some(e) => {
                drop(map);
                e.reply.send(answer);
                true
            }
            None => false,
        }
    }

    /// Forgets `id` (its stream ended).
    pub(crate) fn forget(&self, id: &str) {
        if let Ok(mut map) = self.map.lock() {
            map.remove(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::{Notifier, Outgoing};
    use serde_json::{Map, json};

    async fn reply() -> (tokio::task::JoinHandle<ClientAnswer>, Reply) {
        let (notifier, mut rx) = Notifier::channel(None);
        let notifier = notifier.with_requests();
        let ask = tokio::spawn(async move { notifier.request("ping", Map::new()).await });
        let Some(Outgoing::Request(req)) = rx.recv().await else {
            panic!("a request")
        };
        let (_, _, reply) = req.into_parts();
        (ask, reply)
    }

    const A: OwnerKey = [1; 16];
    const B: OwnerKey = [2; 16];

    #[tokio::test]
    async fn an_owner_over_its_share_is_refused_while_another_is_still_asked() {
        let pending = PendingRequests::new(5, 3);
        let mut asks = Vec::new();
        for _ in 0..3 {
            let (ask, r) = reply().await;
            pending.register("a", A, r).unwrap();
            asks.push(ask);
        }
        let (refused, r) = reply().await;
        assert!(pending.register("a", A, r).is_none());
        let err = refused.await.unwrap().unwrap_err();
        assert!(err.message.contains("this caller"), "{err:?}");
        // Bob's clients are still asked, up to the table's bound.
        for _ in 0..2 {
            let (ask, r) = reply().await;
            pending.register("b", B, r).unwrap();
            asks.push(ask);
        }
        let (refused, r) = reply().await;
        assert!(pending.register("b", B, r).is_none());
        assert!(refused.await.unwrap().is_err());
        assert_eq!(pending.len(), 5, "the table stays at its bound");
    }

    #[tokio::test]
    async fn answers_reach_only_the_session_that_was_asked() {
        let pending = PendingRequests::default();
        let (ask, r) = reply().await;
        let id = pending.register("s1", A, r).unwrap();
        assert!(id.starts_with("agw-") && id.len() == 36);
        // Another session cannot answer it, and an unknown id goes nowhere.
        assert!(!pending.answer("s2", &id, Ok(Map::new())));
        assert!(!pending.answer("s1", "agw-unknown", Ok(Map::new())));
        let ok = json!({"ok": true}).as_object().cloned().unwrap();
        assert!(pending.answer("s1", &id, Ok(ok.clone())));
        assert_eq!(ask.await.unwrap().unwrap(), ok);
        // Answered once: a second answer is refused.
        assert!(!pending.answer("s1", &id, Ok(Map::new())));
    }

    #[tokio::test]
    async fn ids_are_unique_and_forgotten_ids_refuse_answers() {
        let pending = PendingRequests::default();
        let (_a, r1) = reply().await;
        let (_b, r2) = reply().await;
        let one = pending.register("s", A, r1).unwrap();
        let two = pending.register("s", A, r2).unwrap();
        assert_ne!(one, two);
        pending.forget(&one);
        assert!(!pending.answer("s", &one, Ok(Map::new())));
        assert!(pending.answer("s", &two, Ok(Map::new())));
    }
}
