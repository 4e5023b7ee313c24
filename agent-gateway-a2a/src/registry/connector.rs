//! The HTTP(S) connector for agents reached over the network (feature `client`).

use agent_gateway_core::client::http_client;
use bytes::Bytes;
use http_body_util::Full;

use super::instance::{Connector, connector};

/// A connector over core's hyper-util client (HTTP/1.1 and HTTP/2, rustls). It follows no
/// redirect, so a card or an endpoint cannot send the gateway to another host. A refused
/// connection is recognised as one, so a new message fails over to another instance.
pub fn http_connector() -> Connector {
    connector(http_client::<Full<Bytes>>())
}
