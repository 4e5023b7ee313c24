//! The typed errors of the upstream plumbing, and [`find`] to recognise them in a [`BoxError`].
//!
//! Every service here returns [`BoxError`], so a leaf error may arrive wrapped by whatever sits
//! in between; [`find`] walks the `source()` chain to reach it. A protocol front does this once,
//! at its edge, to choose a wire error.
//!
//! ```
//! use agent_gateway_core::upstream::error::{NoHealthyInstance, UnknownUpstream, find};
//! use agent_gateway_core::upstream::registry::{InstanceId, Registry, UpstreamName};
//! use tower::{ServiceExt, service_fn};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), agent_gateway_core::BoxError> {
//! let registry = Registry::builder()
//!     .instance(UpstreamName::new("echo")?, InstanceId::new("a")?, service_fn(|s: String| async move {
//!         if s.is_empty() { Err("empty") } else { Ok(s) }
//!     }))
//!     .build()?;
//! let echo = registry.balanced("echo")?;
//!
//! // Allowed: the call reaches the instance.
//! assert_eq!(echo.clone().oneshot("hi".to_owned()).await?, "hi");
//! // Failed: the upstream's own error comes back boxed, and is none of ours.
//! let err = echo.oneshot(String::new()).await.unwrap_err();
//! assert_eq!(err.to_string(), "empty");
//! assert!(find::<NoHealthyInstance>(&*err).is_none());
//! // Denied: there is no such upstream.
//! let err = registry.balanced("nope").unwrap_err();
//! assert_eq!(err.name(), "nope");
//! # Ok(())
//! # }
//! ```

use std::error::Error;
use std::time::Duration;

pub use super::breaker::CircuitOpen;
pub use super::name::InvalidName;
use super::name::{InstanceId, UpstreamName};
#[cfg(doc)]
use crate::BoxError;

/// Finds the first error of type `E` in `error` or its chain of `source()`s: core's
/// [`cause_ref`](crate::error::cause_ref), under the name this module has always used.
pub use crate::error::cause_ref as find;

/// Whether `error` is one of the plumbing's own refusals, which are decided locally and so
/// come back the same if tried again at once: [`NoHealthyInstance`], [`CircuitOpen`],
/// [`UnknownUpstream`], [`UnknownInstance`].
pub fn is_refusal(error: &(dyn Error + 'static)) -> bool {
    find::<NoHealthyInstance>(error).is_some()
        || find::<CircuitOpen>(error).is_some()
        || find::<UnknownUpstream>(error).is_some()
        || find::<UnknownInstance>(error).is_some()
}

/// Every instance of the upstream has an open circuit breaker: the call was rejected without
/// reaching any of them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no healthy instance of upstream {upstream}")]
pub struct NoHealthyInstance {
    upstream: UpstreamName,
    retry_after: Option<Duration>,
}

impl NoHealthyInstance {
    pub(crate) fn new(upstream: UpstreamName, retry_after: Option<Duration>) -> Self {
        NoHealthyInstance {
            upstream,
            retry_after,
        }
    }

    /// The upstream.
    pub fn upstream(&self) -> &UpstreamName {
        &self.upstream
    }

    /// How long until the first breaker admits a probe, when that is known.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }
}

/// No upstream has this name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown upstream {name:?}")]
pub struct UnknownUpstream {
    name: String,
}

impl UnknownUpstream {
    pub(crate) fn new(name: &str) -> Self {
        UnknownUpstream {
            name: name.to_owned(),
        }
    }

    /// The name that was looked up.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// The upstream has no instance with this id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("upstream {upstream} has no instance {instance:?}")]
pub struct UnknownInstance {
    upstream: UpstreamName,
    instance: String,
}

impl UnknownInstance {
    pub(crate) fn new(upstream: &UpstreamName, instance: &str) -> Self {
        UnknownInstance {
            upstream: upstream.clone(),
            instance: instance.to_owned(),
        }
    }

    /// The upstream.
    pub fn upstream(&self) -> &UpstreamName {
        &self.upstream
    }

    /// The id that was looked up.
    pub fn instance(&self) -> &str {
        &self.instance
    }
}

/// Why a [`Registry`](super::registry::Registry) could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The same instance id was given twice for one upstream.
    #[error("upstream {upstream} has instance {instance} twice")]
    DuplicateInstance {
        /// The upstream.
        upstream: UpstreamName,
        /// The repeated id.
        instance: InstanceId,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::BoxError;

    #[derive(Debug, thiserror::Error)]
    #[error("wrapped")]
    struct Wrapper(#[source] BoxError);

    #[test]
    fn find_walks_the_source_chain() {
        let leaf = UnknownUpstream::new("x");
        let err: BoxError = Box::new(Wrapper(Box::new(leaf.clone())));
        assert_eq!(find::<UnknownUpstream>(&*err), Some(&leaf));
        assert!(find::<NoHealthyInstance>(&*err).is_none());
        assert!(is_refusal(&*err));
        let other: BoxError = "boom".into();
        assert!(!is_refusal(&*other));
    }
}
