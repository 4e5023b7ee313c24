//! [`SpanCapture`]: a `tracing` layer that keeps every span's fields, for tests that check what
//! a layer recorded.
//!
//! ```
//! use agent_gateway_core::testkit::SpanCapture;
//!
//! let capture = SpanCapture::default();
//! let _guard = capture.install();
//! let span = tracing::info_span!("call", tool = "echo", tokens = tracing::field::Empty);
//! span.record("tokens", 7);
//! assert_eq!(capture.open_count(), 1);
//! drop(span);
//! let closed = capture.closed();
//! assert_eq!(closed[0]["tool"], "echo");
//! assert_eq!(closed[0]["tokens"], "7");
//! assert_eq!(capture.open_count(), 0);
//! ```

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::Registry;

/// A span's fields by name, each value as its `Debug` text (strings as they are).
pub type SpanFields = HashMap<String, String>;

/// Records every span's fields as they are set, and the spans that have closed, in the order
/// they closed; see the [module docs](self).
#[derive(Clone, Default)]
pub struct SpanCapture {
    open: Arc<Mutex<HashMap<u64, SpanFields>>>,
    closed: Arc<Mutex<Vec<SpanFields>>>,
}

impl SpanCapture {
    /// Makes a subscriber with only this layer the current thread's default, until the guard
    /// drops.
    pub fn install(&self) -> tracing::subscriber::DefaultGuard {
        tracing::subscriber::set_default(Registry::default().with(self.clone()))
    }

    /// The closed spans' fields, in the order they closed.
    pub fn closed(&self) -> Vec<SpanFields> {
        self.closed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The closed spans that have the field `name`, in the order they closed.
    pub fn closed_with(&self, name: &str) -> Vec<SpanFields> {
        let mut closed = self.closed();
        closed.retain(|fields| fields.contains_key(name));
        closed
    }

    /// How many spans are still open.
    pub fn open_count(&self) -> usize {
        self.open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

impl fmt::Debug for SpanCapture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpanCapture")
            .field("open", &self.open_count())
            .finish_non_exhaustive()
    }
}

struct Visitor<'a>(&'a mut SpanFields);

impl Visit for Visitor<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for SpanCapture {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, _: Context<'_, S>) {
        let mut fields = SpanFields::new();
        attrs.record(&mut Visitor(&mut fields));
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        open.insert(id.into_u64(), fields);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, _: Context<'_, S>) {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(fields) = open.get_mut(&id.into_u64()) {
            values.record(&mut Visitor(fields));
        }
    }

    fn on_close(&self, id: Id, _: Context<'_, S>) {
        let fields = self
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&id.into_u64());
        if let Some(fields) = fields {
            let mut closed = self.closed.lock().unwrap_or_else(PoisonError::into_inner);
            closed.push(fields);
        }
    }
}
