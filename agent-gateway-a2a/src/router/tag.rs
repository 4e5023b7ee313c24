//! Tags the errors an agent caused as the upstream's
//! ([`UpstreamError`]), so the audit record tells them from the gateway's own: the JSON-RPC
//! error (and HTTP status) the agent answered, its silence, or no answer at all, and which agent
//! and instance it was. The client sees the same [`A2aError`] as before.

use agent_gateway_core::BoxError;
use agent_gateway_core::response::{Failure, ServedBy, UpstreamCode, UpstreamError};
use http::StatusCode;

use crate::error::A2aError;

/// `error`, tagged when an agent caused it: an error object it sent or an unreadable answer
/// (with the HTTP `status` it came with), no answer in time, or no instance reached. Any other
/// error (a refusal the gateway decided) is returned untagged.
pub(super) fn agent_error(
    error: A2aError,
    status: Option<StatusCode>,
    served: ServedBy,
) -> BoxError {
    let (failure, code) = match &error {
        A2aError::Upstream(e) => {
            let code = UpstreamCode::jsonrpc(e.code);
            (
                Failure::Upstream,
                Some(status.map_or(code, |s| code.with_http(s))),
            )
        }
        A2aError::InvalidAgentResponse => (
            Failure::Upstream,
            status.filter(|s| !s.is_success()).map(UpstreamCode::http),
        ),
        A2aError::Timeout => (Failure::Timeout, None),
        A2aError::Unavailable => (Failure::Unavailable, None),
        _ => return Box::new(error),
    };
    let tagged = UpstreamError::new(failure, error).with_served_by(served);
    Box::new(match code {
        Some(code) => tagged.with_code(code),
        None => tagged,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use agent_gateway_core::jsonrpc::ErrorObject;

    #[test]
    fn only_what_the_agent_caused_is_tagged() {
        let served = || ServedBy::new("echo").with_instance("a");
        let answered = A2aError::Upstream(ErrorObject::new(-32001, "no such task"));
        let err = agent_error(answered, Some(StatusCode::NOT_FOUND), served());
        let tag = UpstreamError::find(&*err).unwrap();
        let code = tag.code().unwrap();
        assert_eq!(
            (code.jsonrpc_code(), code.http_status()),
            (Some(-32001), Some(404))
        );
        assert_eq!(tag.served_by().and_then(ServedBy::instance), Some("a"));
        assert_eq!(
            crate::router::find_a2a_error(&*err).map(A2aError::code),
            Some(-32001)
        );

        let err = agent_error(A2aError::Timeout, None, served());
        assert_eq!(
            UpstreamError::find(&*err).map(UpstreamError::failure),
            Some(Failure::Timeout)
        );
        let err = agent_error(A2aError::TaskNotFound, None, served());
        assert!(
            UpstreamError::find(&*err).is_none(),
            "the gateway's own refusal"
        );
    }
}
