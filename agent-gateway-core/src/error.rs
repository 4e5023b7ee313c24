//! Finding a typed error in a chain of `source()`s, wherever a layer wrapped it.
//!
//! Every service in the gateway returns a boxed error, so a leaf error (a [`Denied`], an
//! upstream refusal, a protocol error) may arrive wrapped by whatever sits in between. A
//! protocol front walks the chain once, at its edge, with [`cause_ref`], to choose its wire
//! answer. The model is linkerd's `cause_ref`.
//!
//! ```
//! use agent_gateway_core::error::cause_ref;
//! use agent_gateway_core::{BoxError, Denied};
//! use tower::{ServiceBuilder, ServiceExt, service_fn};
//!
//! #[derive(Debug, thiserror::Error)]
//! #[error("the layer failed")]
//! struct Wrapped(#[source] Denied);
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let svc = ServiceBuilder::new().service_fn(|allow: bool| async move {
//!     if allow { Ok("ok") } else { Err(BoxError::from(Box::new(Wrapped(Denied::forbidden("no"))))) }
//! });
//! // Allowed: nothing to find.
//! assert_eq!(svc.clone().oneshot(true).await.unwrap(), "ok");
//! // Denied: the denial is found under the wrapper.
//! let err = svc.oneshot(false).await.unwrap_err();
//! assert_eq!(cause_ref::<Denied>(&*err).map(Denied::message), Some("no"));
//! assert!(cause_ref::<std::io::Error>(&*err).is_none());
//! # }
//! ```
//!
//! [`Denied`]: crate::Denied

use std::error::Error;

/// The first error of type `E` in `error` or its chain of `source()`s, if any.
pub fn cause_ref<'a, E: Error + 'static>(error: &'a (dyn Error + 'static)) -> Option<&'a E> {
    let mut next = Some(error);
    while let Some(error) = next {
        if let Some(found) = error.downcast_ref::<E>() {
            return Some(found);
        }
        next = error.source();
    }
    None
}

/// Whether `error` or any of its `source()`s matches `pred`.
///
/// For a family of leaf errors that one type cannot name, such as an I/O error of a given
/// kind.
pub fn any_cause(
    error: &(dyn Error + 'static),
    mut pred: impl FnMut(&(dyn Error + 'static)) -> bool,
) -> bool {
    let mut next = Some(error);
    while let Some(error) = next {
        if pred(error) {
            return true;
        }
        next = error.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::BoxError;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn walks_to_the_leaf_and_stops_at_the_first_match() {
        let err: BoxError = Box::new(Outer(std::io::Error::other("leaf")));
        assert_eq!(
            cause_ref::<std::io::Error>(&*err).map(ToString::to_string),
            Some("leaf".to_owned())
        );
        assert!(cause_ref::<Outer>(&*err).is_some());
        assert!(any_cause(&*err, |e| e.to_string() == "leaf"));
        assert!(!any_cause(&*err, |e| e.to_string() == "none"));
    }
}
