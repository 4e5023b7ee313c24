use std::convert::Infallible;
use std::sync::Arc;

use agent_gateway_core::caller::AuthMethod;
use agent_gateway_core::testkit::FakeUpstream;
use agent_gateway_core::{Action, AgentRequest, BoxError, Call, Caller, DeniedKind, Secret};
use async_trait::async_trait;
use http::{HeaderMap, HeaderName, HeaderValue};
use serde_json::json;
use tower::{ServiceBuilder, ServiceExt};

use super::*;

const ALICE_KEY: &str = "sk-alice-5f1c0d9a7e3b4c2a";

fn keys() -> ApiKeys {
    ApiKeys::new().with_key(
        Secret::new(ALICE_KEY.to_owned()),
        Principal::new("alice")
            .with_tenant("acme")
            .with_team("billing")
            .with_role("admin")
            .with_scope("tools:call")
            .with_allowed_models(["gpt-fast"])
            .with_allowed_tools(["fs.read", "fs.list"])
            .with_allowed_agents(Vec::<String>::new()),
    )
}

fn call(headers: &[(&str, &str)]) -> Call {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        map.append(
            HeaderName::from_bytes(name.as_bytes()).expect("header name"),
            HeaderValue::from_str(value).expect("header value"),
        );
    }
    Call::new(Action::ToolCall, json!({})).with_headers(map)
}

/// Runs one call through `layer` in front of a fake upstream that echoes the call it got.
async fn run<A: Authenticator + ?Sized>(
    layer: AuthLayer<A>,
    call: Call,
) -> (Result<Call, BoxError>, usize) {
    let upstream = FakeUpstream::new(|call: Call| Ok::<_, Infallible>(call));
    let stack = ServiceBuilder::new().layer(layer).service(upstream.clone());
    let result = stack.oneshot(call).await;
    (result, upstream.calls())
}

fn denial(result: Result<Call, BoxError>) -> (DeniedKind, String) {
    let err = result.expect_err("the call should be denied");
    let denied = Denied::find(err.as_ref()).expect("a Denied in the error");
    (denied.kind().clone(), denied.message().to_owned())
}

async fn assert_denied<A: Authenticator + ?Sized>(layer: AuthLayer<A>, call: Call, message: &str) {
    let (result, calls) = run(layer, call).await;
    assert_eq!(
        denial(result),
        (DeniedKind::Unauthenticated, message.to_owned())
    );
    assert_eq!(calls, 0, "the inner service must not run on a denial");
}

#[tokio::test]
async fn api_key_in_x_api_key_maps_metadata_and_is_stripped() {
    let req = call(&[("x-api-key", ALICE_KEY), ("x-request-id", "r-1")]);
    let (result, calls) = run(AuthLayer::new(keys()), req).await;
    let seen = result.expect("admitted");
    assert_eq!(calls, 1);
    let caller = seen.caller().expect("caller set");
    assert_eq!(caller.subject(), "alice");
    assert_eq!(caller.method(), AuthMethod::ApiKey);
    assert_eq!(caller.tenant(), Some("acme"));
    assert_eq!(caller.team(), Some("billing"));
    assert_eq!(caller.roles(), ["admin"]);
    assert_eq!(caller.scopes(), ["tools:call"]);
    assert_eq!(caller.claims()[CLAIM_ALLOWED_MODELS], json!(["gpt-fast"]));
    assert_eq!(
        caller.claims()[CLAIM_ALLOWED_TOOLS],
        json!(["fs.read", "fs.list"])
    );
    assert_eq!(caller.claims()[CLAIM_ALLOWED_AGENTS], json!([]));
    assert!(seen.headers().get("x-api-key").is_none());
    assert_eq!(
        seen.headers()["x-request-id"],
        "r-1",
        "other headers pass through"
    );
}

#[tokio::test]
async fn api_key_as_bearer_is_accepted_and_stripped() {
    let bearer = format!("Bearer {ALICE_KEY}");
    let (result, _) = run(AuthLayer::new(keys()), call(&[("authorization", &bearer)])).await;
    let seen = result.expect("admitted");
    assert_eq!(seen.caller().map(Caller::subject), Some("alice"));
    assert!(seen.headers().get("authorization").is_none());
    // The scheme is case-insensitive.
    let bearer = format!("bearer {ALICE_KEY}");
    let (result, _) = run(AuthLayer::new(keys()), call(&[("authorization", &bearer)])).await;
    assert_eq!(
        result.expect("admitted").caller().map(Caller::subject),
        Some("alice")
    );
}

#[tokio::test]
async fn key_given_by_hash_is_accepted() {
    let hash = KeyHash::from_hex(&KeyHash::of(ALICE_KEY).to_hex()).expect("hex");
    let keys = ApiKeys::new().with_key_hash(hash, Principal::new("alice"));
    let (result, _) = run(AuthLayer::new(keys), call(&[("x-api-key", ALICE_KEY)])).await;
    assert_eq!(
        result.expect("admitted").caller().map(Caller::subject),
        Some("alice")
    );
    assert!(KeyHash::from_hex("abc").is_err());
    assert!(KeyHash::from_hex(&"g".repeat(64)).is_err());
}

#[tokio::test]
async fn bad_api_keys_are_rejected_without_calling_upstream() {
    let longer = format!("{ALICE_KEY}0");
    let bad = [
        call(&[("x-api-key", "sk-alice-5f1c0d9a7e3b4c2b")]), // one byte off
        call(&[("x-api-key", &ALICE_KEY[..ALICE_KEY.len() - 1])]), // shorter
        call(&[("x-api-key", &longer)]),                     // longer
        call(&[("x-api-key", "")]),                          // empty
        call(&[("authorization", "Bearer ")]),               // empty bearer
        call(&[("authorization", "Bearer sk-mallory")]),
        call(&[("authorization", "Basic YWxpY2U6cHc=")]), // a credential of another scheme
        call(&[("x-api-key", ALICE_KEY), ("x-api-key", "sk-other")]), // two answers
        // x-api-key takes precedence, so a valid bearer does not rescue a bad x-api-key.
        call(&[
            ("x-api-key", "sk-mallory"),
            ("authorization", &format!("Bearer {ALICE_KEY}")),
        ]),
    ];
    for req in bad {
        assert_denied(AuthLayer::new(keys()), req, "invalid credential").await;
    }
}

#[tokio::test]
async fn required_mode_refuses_requests_without_credentials() {
    assert_denied(AuthLayer::new(keys()), call(&[]), "missing credential").await;
}

#[tokio::test]
async fn optional_mode_admits_anonymous_but_never_a_bad_credential() {
    let layer = AuthLayer::new(keys()).with_mode(AuthMode::Optional);
    let (result, calls) = run(layer.clone(), call(&[])).await;
    let seen = result.expect("admitted");
    assert_eq!(calls, 1);
    assert!(seen.caller().expect("caller set").is_anonymous());

    assert_denied(
        layer.clone(),
        call(&[("x-api-key", "sk-revoked")]),
        "invalid credential",
    )
    .await;
    let (result, _) = run(layer, call(&[("x-api-key", ALICE_KEY)])).await;
    assert_eq!(
        result.expect("admitted").caller().map(Caller::subject),
        Some("alice")
    );
}

#[tokio::test]
async fn configured_headers_are_read_and_stripped() {
    let keys = keys().with_header(HeaderName::from_static("x-goog-api-key"));
    let layer = AuthLayer::new(keys).with_stripped_header(HeaderName::from_static("cookie"));
    // The same key in `Authorization` is one credential (a different one is refused, see
    // `two_different_credentials_are_refused_and_the_same_one_twice_passes`).
    let bearer = format!("Bearer {ALICE_KEY}");
    let req = call(&[
        ("x-goog-api-key", ALICE_KEY),
        ("authorization", &bearer),
        ("cookie", "session=s3cret"),
    ]);
    let (result, _) = run(layer.clone(), req).await;
    let seen = result.expect("admitted");
    assert_eq!(seen.caller().map(Caller::subject), Some("alice"));
    for name in ["x-goog-api-key", "authorization", "cookie"] {
        assert!(
            seen.headers().get(name).is_none(),
            "{name} must be stripped"
        );
    }
    let two = call(&[
        ("x-goog-api-key", ALICE_KEY),
        ("authorization", "Bearer something-for-someone-else"),
    ]);
    assert_denied(layer, two, "invalid credential").await;
}

#[tokio::test]
async fn mtls_peer_is_mapped() {
    let peer = PeerIdentity::new("CN=billing,O=acme").with_san("spiffe://acme/billing");
    let mut req = call(&[]);
    req.extensions_mut().insert(peer.clone());
    let (result, _) = run(AuthLayer::new(Mtls::new()), req).await;
    let seen = result.expect("admitted");
    let caller = seen.caller().expect("caller set");
    assert_eq!(caller.subject(), "spiffe://acme/billing");
    assert_eq!(caller.method(), AuthMethod::Mtls);
    assert_eq!(caller.claims()[CLAIM_PEER_SUBJECT], "CN=billing,O=acme");
    assert_eq!(
        caller.claims()[CLAIM_PEER_SANS],
        json!(["spiffe://acme/billing"])
    );

    // A listed peer becomes its principal.
    let mtls = Mtls::new().with_peer(
        "spiffe://acme/billing",
        Principal::new("billing-svc").with_role("svc"),
    );
    let mut req = call(&[]);
    req.extensions_mut().insert(peer);
    let (result, _) = run(AuthLayer::new(mtls), req).await;
    let seen = result.expect("admitted");
    let caller = seen.caller().expect("caller set");
    assert_eq!(
        (caller.subject(), caller.roles()),
        ("billing-svc", &["svc".to_owned()][..])
    );
    assert_eq!(caller.method(), AuthMethod::Mtls);

    // An unlisted peer is refused when only known peers may enter.
    let mut req = call(&[]);
    req.extensions_mut()
        .insert(PeerIdentity::new("CN=intruder"));
    assert_denied(
        AuthLayer::new(Mtls::new().known_peers_only()),
        req,
        "invalid credential",
    )
    .await;
    // No peer at all is no credential.
    assert_denied(AuthLayer::new(Mtls::new()), call(&[]), "missing credential").await;
}

/// An authenticator with a fixed answer, to test chains.
#[derive(Debug)]
struct Fixed(Result<Option<&'static str>, AuthErrorKind>);

#[async_trait]
impl Authenticator for Fixed {
    async fn authenticate(&self, _: Credentials<'_>) -> Result<Option<Caller>, AuthError> {
        match self.0 {
            Ok(subject) => Ok(subject.map(Caller::new)),
            Err(AuthErrorKind::Unavailable) => Err(AuthError::unavailable("down")),
            Err(_) => Err(AuthError::invalid("bad")),
        }
    }
}

#[tokio::test]
async fn chains_take_the_first_caller_and_otherwise_the_worst_error() {
    use AuthErrorKind::{InvalidCredential as Bad, Unavailable as Down};
    let subject = |r: Result<Call, BoxError>| {
        r.ok()
            .and_then(|c| c.caller().map(|c| c.subject().to_owned()))
    };

    // An error does not stop the chain: the same bearer token may suit a later authenticator.
    let (r, _) = run(
        AuthLayer::new((Fixed(Err(Bad)), Fixed(Ok(Some("b"))))),
        call(&[]),
    )
    .await;
    assert_eq!(subject(r).as_deref(), Some("b"));
    let (r, _) = run(
        AuthLayer::new((Fixed(Ok(None)), Fixed(Ok(Some("b"))), Fixed(Ok(Some("c"))))),
        call(&[]),
    )
    .await;
    assert_eq!(subject(r).as_deref(), Some("b"));

    // No caller: any error beats "no credential", even in optional mode.
    let layer = AuthLayer::new((Fixed(Ok(None)), Fixed(Err(Bad)))).with_mode(AuthMode::Optional);
    assert_denied(layer, call(&[]), "invalid credential").await;
    // "Could not check" beats "did not verify", in either order.
    let boxed: Vec<Box<dyn Authenticator>> =
        vec![Box::new(Fixed(Err(Down))), Box::new(Fixed(Err(Bad)))];
    let (r, calls) = run(AuthLayer::new(boxed), call(&[])).await;
    assert_eq!(denial(r).0, DeniedKind::Unavailable);
    assert_eq!(calls, 0);
    let (r, _) = run(
        AuthLayer::new(vec![Fixed(Err(Bad)), Fixed(Err(Down))]),
        call(&[]),
    )
    .await;
    assert_eq!(denial(r).0, DeniedKind::Unavailable);

    // A shared `dyn` authenticator works too, and `()` accepts nobody.
    let shared: Arc<dyn Authenticator> = Arc::new(keys());
    let (r, _) = run(
        AuthLayer::from_arc(shared),
        call(&[("x-api-key", ALICE_KEY)]),
    )
    .await;
    assert_eq!(subject(r).as_deref(), Some("alice"));
    assert_denied(AuthLayer::new(()), call(&[]), "missing credential").await;
}

#[test]
fn debug_output_never_shows_keys() {
    let layer = AuthLayer::new(keys());
    let printed = format!(
        "{layer:?} {:?} {:?}",
        KeyHash::of(ALICE_KEY),
        Secret::new(ALICE_KEY)
    );
    assert!(!printed.contains(ALICE_KEY), "{printed}");
    assert!(
        !printed.contains(&KeyHash::of(ALICE_KEY).to_hex()),
        "{printed}"
    );
    assert!(printed.contains("keys: 1"), "{printed}");
}

#[test]
fn auth_errors_show_clients_nothing_specific() {
    let err = AuthError::invalid("wrong audience");
    assert_eq!(err.to_string(), "invalid credential");
    assert_eq!(err.reason(), "wrong audience");
    let denied: Denied = AuthError::unavailable("JWKS fetch failed").into();
    assert_eq!(
        (denied.kind(), denied.message()),
        (&DeniedKind::Unavailable, "authentication unavailable")
    );
}

#[tokio::test]
async fn metadata_service_answers_only_get_and_head_at_its_path() {
    let metadata =
        ProtectedResourceMetadata::new("https://mcp.example.com", "https://auth.example.com")
            .expect("valid urls")
            .with_scope("tools:call")
            .with_resource_name("Tools");
    assert_eq!(
        metadata.well_known_path(),
        "/.well-known/oauth-protected-resource"
    );
    assert_eq!(
        metadata.metadata_url(),
        "https://mcp.example.com/.well-known/oauth-protected-resource"
    );
    let json: serde_json::Value = serde_json::from_str(&metadata.to_json()).expect("json");
    assert_eq!(
        json,
        json!({
            "resource": "https://mcp.example.com",
            "authorization_servers": ["https://auth.example.com"],
            "scopes_supported": ["tools:call"],
            "bearer_methods_supported": ["header"],
            "resource_name": "Tools",
        })
    );
    let service = metadata.into_service();
    let send = |method: http::Method| {
        let req = http::Request::builder()
            .method(method)
            .uri("/.well-known/oauth-protected-resource")
            .body(())
            .expect("request");
        service.clone().oneshot(req)
    };
    let head = send(http::Method::HEAD).await.expect("infallible");
    assert_eq!(
        (head.status(), head.body().as_str()),
        (http::StatusCode::OK, "")
    );
    let post = send(http::Method::POST).await.expect("infallible");
    assert_eq!(post.status(), http::StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(post.headers()["allow"], "GET, HEAD");
}

#[test]
fn challenges_cannot_be_used_to_inject_parameters() {
    let challenge = BearerChallenge::new("https://x/.well-known/oauth-protected-resource")
        .invalid_token()
        .with_scope("a\" evil=\"1\r\nx");
    assert_eq!(
        challenge.to_header_value(),
        r#"Bearer error="invalid_token", scope="a\" evil=\"1x", resource_metadata="https://x/.well-known/oauth-protected-resource""#
    );
    assert!(ProtectedResourceMetadata::new("https://x/mcp#frag", "https://as").is_err());
    assert!(ProtectedResourceMetadata::new("/relative", "https://as").is_err());
}

#[tokio::test]
async fn two_different_credentials_are_refused_and_the_same_one_twice_passes() {
    const BOB_KEY: &str = "sk-bob-0a1b2c3d4e5f6a7b";
    let both =
        || AuthLayer::new(keys().with_key(Secret::new(BOB_KEY.to_owned()), Principal::new("bob")));
    // Two valid keys of two callers: neither wins silently.
    let bearer = format!("Bearer {BOB_KEY}");
    for headers in [
        vec![("x-api-key", ALICE_KEY), ("authorization", bearer.as_str())],
        vec![("authorization", bearer.as_str()), ("x-api-key", ALICE_KEY)],
        vec![
            ("x-api-key", ALICE_KEY),
            ("authorization", "Bearer garbage"),
        ],
    ] {
        assert_denied(both(), call(&headers), "invalid credential").await;
    }
    // One key sent in both headers is one credential.
    let alice_bearer = format!("Bearer {ALICE_KEY}");
    let (result, calls) = run(
        both(),
        call(&[("x-api-key", ALICE_KEY), ("authorization", &alice_bearer)]),
    )
    .await;
    assert_eq!(
        result.expect("admitted").caller().map(Caller::subject),
        Some("alice")
    );
    assert_eq!(calls, 1);
}
