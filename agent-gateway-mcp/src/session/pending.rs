//! Server→client requests waiting for the client's answer: the gateway's id for each, the
//! session it was sent on, and where the answer goes.
//!
//! Ids are random (128 bits), so they are unique toward every client and cannot be guessed;
//! an answer counts only when it comes on the session the request was sent on. The table is
//! bounded; a request that finds it full is answered with an error at once.

use std::collections::HashMap;
use std::sync::Mutex;

use agent_gateway_core::jsonrpc::ErrorObject;
use ring::rand::{SecureRandom, SystemRandom};

use crate::notify::{ClientAnswer, Reply};

/// The most server→client requests waiting at once, across all clients.
pub(crate) const MAX_PENDING: usize = 4096;

struct Entry {
    session: String,
    reply: Reply,
}

/// The server→client requests waiting for their client's answer.
pub(crate) struct PendingRequests {
    map: Mutex<HashMap<String, Entry>>,
    rng: SystemRandom,
}

impl Default for PendingRequests {
    fn default() -> Self {
        PendingRequests {
            map: Mutex::default(),
            rng: SystemRandom::new(),
        }
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
    /// Registers a request sent on `session`; its id, or `None` (and the asker told) when
    /// the table is full.
    pub(crate) fn register(&self, session: &str, reply: Reply) -> Option<String> {
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
        if map.len() >= MAX_PENDING {
            drop(map);
            reply.send(Err(full()));
            return None;
        }
        let session = session.to_owned();
        map.insert(id.clone(), Entry { session, reply });
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

    #[tokio::test]
    async fn answers_reach_only_the_session_that_was_asked() {
        let pending = PendingRequests::default();
        let (ask, r) = reply().await;
        let id = pending.register("s1", r).unwrap();
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
        let one = pending.register("s", r1).unwrap();
        let two = pending.register("s", r2).unwrap();
        assert_ne!(one, two);
        pending.forget(&one);
        assert!(!pending.answer("s", &one, Ok(Map::new())));
        assert!(pending.answer("s", &two, Ok(Map::new())));
    }
}
