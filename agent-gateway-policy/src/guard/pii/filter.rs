//! The stream side: core's [`TextFilter`] over a [`PiiGuard`](super::PiiGuard)'s rules.

use std::fmt;
use std::sync::Arc;

use agent_gateway_core::content::{Blocked, TextFilter};

use super::engine::{Engine, Mode};

/// Redacts (or blocks) a streamed text as it passes, holding back only the tail that could
/// still grow into a match. Made by [`PiiGuard::filter`](super::PiiGuard::filter).
pub struct PiiFilter {
    engine: Arc<Engine>,
    /// The text not yet released, after at most one released character kept as context (a
    /// pattern's word boundary looks at it).
    buf: String,
    /// Where the unreleased text starts in `buf`.
    pos: usize,
    mode: Mode,
    blocked: Option<Blocked>,
}

impl fmt::Debug for PiiFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The held text is what may be a secret: only its length is shown.
        f.debug_struct("PiiFilter")
            .field("held", &self.held())
            .field("blocked", &self.blocked)
            .finish()
    }
}

impl PiiFilter {
    pub(super) fn new(engine: Arc<Engine>) -> Self {
        PiiFilter {
            engine,
            buf: String::new(),
            pos: 0,
            mode: Mode::Scan,
            blocked: None,
        }
    }

    /// How many bytes of the text pushed so far are held back, waiting for the next piece.
    /// Never more than [`PiiGuard::max_hold`](super::PiiGuard::max_hold).
    pub fn held(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn run(&mut self, eof: bool, out: &mut String) -> Result<(), Blocked> {
        if let Some(blocked) = &self.blocked {
            return Err(blocked.clone());
        }
        let result = self.engine.run(
            &self.buf,
            &mut self.pos,
            &mut self.mode,
            eof,
            Some(out),
            &mut |found| tracing::debug!(rule = %found.rule_id, detector = found.detector.label(), "pii found"),
        );
        if let Err(blocked) = &result {
            self.blocked = Some(blocked.clone());
        }
        result
    }
}

impl TextFilter for PiiFilter {
    fn push(&mut self, text: &str, out: &mut String) -> Result<(), Blocked> {
        // Keep one released character before the held text, as context.
        if let Some((last, _)) = self.buf[..self.pos].char_indices().next_back() {
            self.buf.drain(..last);
            self.pos -= last;
        }
        self.buf.push_str(text);
        self.run(false, out)
    }

    fn finish(&mut self, out: &mut String) -> Result<(), Blocked> {
        let result = self.run(true, out);
        self.buf.clear();
        self.pos = 0;
        self.mode = Mode::Scan;
        result
    }
}
