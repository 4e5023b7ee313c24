//! The HTTP(S) connector for agents reached over the network (feature `client`).

use agent_gateway_core::BoxError;
use agent_gateway_core::client::http_client;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use tower::ServiceExt;
use tower::util::BoxCloneSyncService;

use super::instance::Connector;

/// A connector over core's hyper-util client (HTTP/1.1 and HTTP/2, rustls). It follows no
/// redirect, so a card or an endpoint cannot send the gateway to another host. A refused
/// connection is recognised as one, so a new message fails over to another instance.
pub fn http_connector() -> Connector {
    let client = http_client::<Full<Bytes>>();
    BoxCloneSyncService::new(
        client
            .map_response(|res| res.map(|b| b.map_err(BoxError::from).boxed_unsync()))
            .map_err(BoxError::from),
    )
}
