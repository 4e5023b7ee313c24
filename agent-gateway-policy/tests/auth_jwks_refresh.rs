//! The JWKS cache of the JWT authenticator against a real HTTP endpoint on 127.0.0.1: load on
//! first use, a rate-limited refresh on unknown key ids, TTL expiry, and an endpoint that is down.
#![cfg(feature = "jwt")]

mod auth_support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use agent_gateway_core::DeniedKind;
use agent_gateway_policy::auth::{AuthLayer, JwksSource};
use auth_support::*;
use jsonwebtoken::Algorithm;
use serde_json::json;

/// A JWKS endpoint on 127.0.0.1 that records every path requested. `None` answers 500.
struct JwksServer {
    url: String,
    body: Arc<Mutex<Option<String>>>,
    paths: Arc<Mutex<Vec<String>>>,
}

impl JwksServer {
    async fn start(body: Option<String>) -> JwksServer {
        let body = Arc::new(Mutex::new(body));
        let paths = Arc::new(Mutex::new(Vec::new()));
        let (b, p) = (body.clone(), paths.clone());
        let app = axum::Router::new().fallback(move |uri: http::Uri| {
            p.lock().expect("lock").push(uri.path().to_owned());
            let body = b.lock().expect("lock").clone();
            async move {
                match body {
                    Some(body) => (http::StatusCode::OK, body),
                    None => (http::StatusCode::INTERNAL_SERVER_ERROR, String::new()),
                }
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}/jwks.json", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        JwksServer { url, body, paths }
    }

    fn fetches(&self) -> usize {
        self.paths.lock().expect("lock").len()
    }

    fn serve(&self, body: Option<String>) {
        *self.body.lock().expect("lock") = body;
    }
}

#[tokio::test]
async fn unknown_kid_refreshes_once_per_interval() {
    let server = JwksServer::start(Some(jwks(&[]))).await;
    let clock = clock();
    let source = JwksSource::url(server.url.parse().expect("url")).expect("source");
    let jwt = jwt(source, &clock)
        .with_refresh_interval(Duration::from_secs(30))
        .with_cache_ttl(Duration::from_secs(600));
    let layer = AuthLayer::new(jwt);
    let valid = rs(Algorithm::RS256, "rsa-1", &claims());

    accepted(&layer, &valid).await;
    assert_eq!(server.fetches(), 1, "loaded on first use");
    accepted(&layer, &valid).await;
    assert_eq!(server.fetches(), 1, "then cached");

    // Unknown key ids, right after a fetch: rejected without fetching again.
    let unknown = rs(Algorithm::RS256, "rotated-1", &claims());
    assert_eq!(
        rejected_as(&layer, &unknown).await,
        DeniedKind::Unauthenticated
    );
    assert_eq!(server.fetches(), 1);

    // Past the interval, an unknown kid triggers exactly one refresh...
    clock.advance(Duration::from_secs(31));
    let traversal = rs(Algorithm::RS256, "../../etc/passwd", &claims());
    assert_eq!(
        rejected_as(&layer, &traversal).await,
        DeniedKind::Unauthenticated
    );
    assert_eq!(server.fetches(), 2);
    // ...and a second unknown kid within the interval none.
    let url_kid = rs(Algorithm::RS256, "http://evil.example/x", &claims());
    assert_eq!(
        rejected_as(&layer, &url_kid).await,
        DeniedKind::Unauthenticated
    );
    assert_eq!(server.fetches(), 2);

    // A key rotated in at the issuer is found by the next allowed refresh.
    server.serve(Some(jwks(&["rotated-1"])));
    clock.advance(Duration::from_secs(31));
    let rotated = rs(Algorithm::RS256, "rotated-1", &claims());
    accepted(&layer, &rotated).await;
    assert_eq!(server.fetches(), 3);
    accepted(&layer, &rotated).await;
    assert_eq!(server.fetches(), 3);

    // Past the TTL the set is fetched again; if the endpoint is down, the old keys still work.
    server.serve(None);
    clock.advance(Duration::from_secs(601));
    let long_lived = rs(
        Algorithm::RS256,
        "rsa-1",
        &claims_with(json!({"exp": NOW + 86_400})),
    );
    accepted(&layer, &long_lived).await;
    assert_eq!(server.fetches(), 4);

    // Key ids never became paths or URLs: only the configured URL was ever requested.
    let paths = server.paths.lock().expect("lock").clone();
    assert!(paths.iter().all(|p| p == "/jwks.json"), "{paths:?}");
}

#[tokio::test]
async fn jwks_down_at_first_use_fails_closed_as_unavailable() {
    let server = JwksServer::start(None).await;
    let clock = clock();
    let source = JwksSource::url(server.url.parse().expect("url")).expect("source");
    let layer = AuthLayer::new(jwt(source, &clock));
    let valid = rs(Algorithm::RS256, "rsa-1", &claims());
    assert_eq!(rejected_as(&layer, &valid).await, DeniedKind::Unavailable);
    assert_eq!(server.fetches(), 1);
    // Failed fetches are rate limited too.
    assert_eq!(rejected_as(&layer, &valid).await, DeniedKind::Unavailable);
    assert_eq!(server.fetches(), 1);
    // Once the endpoint recovers and the interval has passed, tokens verify.
    server.serve(Some(jwks(&[])));
    clock.advance(Duration::from_secs(31));
    accepted(&layer, &valid).await;
    assert_eq!(server.fetches(), 2);
}

#[tokio::test]
async fn jwks_from_a_file() {
    let path = std::env::temp_dir().join(format!("agent-gateway-jwks-{}.json", std::process::id()));
    std::fs::write(&path, jwks(&[])).expect("write jwks");
    let clock = clock();
    let layer = AuthLayer::new(jwt(JwksSource::file(&path), &clock));
    accepted(&layer, &es256("ec-1", &claims())).await;
    let unknown = rs(Algorithm::RS256, "../../etc/passwd", &claims());
    assert_eq!(
        rejected_as(&layer, &unknown).await,
        DeniedKind::Unauthenticated
    );
    std::fs::remove_file(&path).expect("remove jwks");
}
