//! The JWT authenticator against the attacks it must stop, each through the full auth layer
//! in front of a fake upstream that must never see a rejected request.
#![cfg(feature = "jwt")]

use std::convert::Infallible;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, UNIX_EPOCH};

use agent_gateway_core::caller::AuthMethod;
use agent_gateway_core::testkit::FakeUpstream;
use agent_gateway_core::{Action, AgentRequest, BoxError, Call, Denied, DeniedKind, ManualClock};
use agent_gateway_policy::auth::{AuthLayer, JwksSource, Jwt, SigningAlgorithm};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use http::{HeaderMap, HeaderValue};
use jsonwebtoken::{Algorithm, EncodingKey};
use p256::elliptic_curve::sec1::ToEncodedPoint;
use p256::pkcs8::{EncodePrivateKey, LineEnding};
use rsa::pkcs1::{EncodeRsaPrivateKey, EncodeRsaPublicKey};
use rsa::pkcs8::EncodePublicKey;
use rsa::traits::PublicKeyParts;
use serde_json::{Value, json};
use tower::{ServiceBuilder, ServiceExt};

const NOW: u64 = 1_700_000_000;
const ISS: &str = "https://issuer.example";
const AUD: &str = "https://mcp.example.com/mcp";
const LEEWAY: u64 = 30;

struct Keys {
    rsa: EncodingKey,
    rsa_public_pem_spki: String,
    rsa_public_pem_pkcs1: String,
    rsa_public_der_pkcs1: Vec<u8>,
    rsa_jwk: Value,
    ec: EncodingKey,
    ec_jwk: Value,
    attacker_ec: EncodingKey,
    attacker_ec_jwk: Value,
}

fn ec_key() -> (EncodingKey, Value) {
    let secret = p256::SecretKey::random(&mut rsa::rand_core::OsRng);
    let pem = secret.to_pkcs8_pem(LineEnding::LF).expect("pkcs8 pem");
    let point = secret.public_key().to_encoded_point(false);
    let jwk = json!({
        "kty": "EC", "crv": "P-256",
        "x": B64.encode(point.x().expect("x")), "y": B64.encode(point.y().expect("y")),
    });
    (
        EncodingKey::from_ec_pem(pem.as_bytes()).expect("ec key"),
        jwk,
    )
}

/// Keys are generated once per test binary: RSA key generation is the slow part.
fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let rsa = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).expect("rsa keygen");
        let public = rsa.to_public_key();
        let (ec, ec_jwk) = ec_key();
        let (attacker_ec, attacker_ec_jwk) = ec_key();
        Keys {
            rsa: EncodingKey::from_rsa_pem(
                rsa.to_pkcs1_pem(LineEnding::LF).expect("pem").as_bytes(),
            )
            .expect("rsa key"),
            rsa_public_pem_spki: public.to_public_key_pem(LineEnding::LF).expect("spki pem"),
            rsa_public_pem_pkcs1: public.to_pkcs1_pem(LineEnding::LF).expect("pkcs1 pem"),
            rsa_public_der_pkcs1: public.to_pkcs1_der().expect("der").as_bytes().to_vec(),
            rsa_jwk: json!({
                "kty": "RSA",
                "n": B64.encode(public.n().to_bytes_be()),
                "e": B64.encode(public.e().to_bytes_be()),
            }),
            ec,
            ec_jwk,
            attacker_ec,
            attacker_ec_jwk,
        }
    })
}

fn with(jwk: &Value, extra: Value) -> Value {
    let mut jwk = jwk.clone();
    for (k, v) in extra.as_object().expect("object") {
        jwk[k] = v.clone();
    }
    jwk
}

/// rsa-1: RSA, no `alg`; rsa-pinned: the same RSA key pinned to PS256; ec-1: P-256 pinned to
/// ES256.
fn jwks(extra_kids: &[&str]) -> String {
    let k = keys();
    let mut set = vec![
        with(&k.rsa_jwk, json!({"kid": "rsa-1", "use": "sig"})),
        with(&k.rsa_jwk, json!({"kid": "rsa-pinned", "alg": "PS256"})),
        with(&k.ec_jwk, json!({"kid": "ec-1", "alg": "ES256"})),
    ];
    for kid in extra_kids {
        set.push(with(&k.rsa_jwk, json!({"kid": kid})));
    }
    json!({ "keys": set }).to_string()
}

fn claims() -> Value {
    json!({
        "iss": ISS, "aud": AUD, "sub": "alice",
        "iat": NOW, "nbf": NOW - 10, "exp": NOW + 300,
        "tenant": "acme", "roles": ["admin"], "scope": "tools:call tools:list", "scp": ["models:call"],
    })
}

fn claims_with(changes: Value) -> Value {
    let mut claims = claims();
    for (k, v) in changes.as_object().expect("object") {
        match v {
            Value::Null => claims.as_object_mut().expect("object").remove(k),
            v => claims
                .as_object_mut()
                .expect("object")
                .insert(k.clone(), v.clone()),
        };
    }
    claims
}

/// Signs any header and claims, so tests can build tokens no well-behaved library would.
fn sign_raw(header: Value, claims: &Value, key: &EncodingKey, alg: Algorithm) -> String {
    let message = format!(
        "{}.{}",
        B64.encode(header.to_string()),
        B64.encode(claims.to_string())
    );
    let signature = jsonwebtoken::crypto::sign(message.as_bytes(), key, alg).expect("sign");
    format!("{message}.{signature}")
}

fn rs(alg: Algorithm, kid: &str, claims: &Value) -> String {
    sign_raw(
        json!({"alg": format!("{alg:?}"), "typ": "JWT", "kid": kid}),
        claims,
        &keys().rsa,
        alg,
    )
}

fn es256(kid: &str, claims: &Value) -> String {
    sign_raw(
        json!({"alg": "ES256", "kid": kid}),
        claims,
        &keys().ec,
        Algorithm::ES256,
    )
}

fn hs256_with_secret(secret: &[u8]) -> String {
    let key = EncodingKey::from_secret(secret);
    sign_raw(
        json!({"alg": "HS256", "kid": "rsa-1"}),
        &claims(),
        &key,
        Algorithm::HS256,
    )
}

fn clock() -> ManualClock {
    ManualClock::starting_at(UNIX_EPOCH + Duration::from_secs(NOW))
}

fn jwt(source: JwksSource, clock: &ManualClock) -> Jwt {
    Jwt::new(source, ISS, AUD)
        .with_algorithms([
            SigningAlgorithm::Rs256,
            SigningAlgorithm::Ps256,
            SigningAlgorithm::Es256,
        ])
        .with_leeway(Duration::from_secs(LEEWAY))
        .with_clock(clock.shared())
}

fn static_jwt(clock: &ManualClock) -> Jwt {
    jwt(JwksSource::from_json(&jwks(&[])).expect("jwks"), clock)
}

fn bearer(token: &str) -> Call {
    let mut headers = HeaderMap::new();
    headers.insert(
        "authorization",
        HeaderValue::from_str(&format!("Bearer {token}")).expect("header value"),
    );
    Call::new(Action::ToolCall, json!({})).with_headers(headers)
}

/// One call through the layer; answers what the upstream saw and how often it was called.
async fn run(layer: &AuthLayer<Jwt>, token: &str) -> (Result<Call, BoxError>, usize) {
    let upstream = FakeUpstream::new(|call: Call| Ok::<_, Infallible>(call));
    let stack = ServiceBuilder::new()
        .layer(layer.clone())
        .service(upstream.clone());
    let result = stack.oneshot(bearer(token)).await;
    (result, upstream.calls())
}

async fn accepted(layer: &AuthLayer<Jwt>, token: &str) -> Call {
    let (result, calls) = run(layer, token).await;
    let seen = result.unwrap_or_else(|e| panic!("token should be accepted, got {e}"));
    assert_eq!(calls, 1);
    seen
}

async fn rejected_as(layer: &AuthLayer<Jwt>, token: &str) -> DeniedKind {
    rejected(layer, "token", token).await
}

/// Asserts `token` (described by `what`) is denied without reaching the upstream.
async fn rejected(layer: &AuthLayer<Jwt>, what: &str, token: &str) -> DeniedKind {
    let (result, calls) = run(layer, token).await;
    let Err(err) = result else {
        panic!("{what} should be rejected");
    };
    assert_eq!(calls, 0, "{what}: the upstream must not be called");
    let denied = Denied::find(err.as_ref()).unwrap_or_else(|| panic!("{what}: no Denied in {err}"));
    denied.kind().clone()
}

#[tokio::test]
async fn valid_rsa_and_ec_tokens_are_accepted_and_mapped() {
    let clock = clock();
    let layer = AuthLayer::new(static_jwt(&clock));
    let seen = accepted(&layer, &rs(Algorithm::RS256, "rsa-1", &claims())).await;
    assert!(
        seen.headers().get("authorization").is_none(),
        "the token is stripped"
    );
    let caller = seen.caller().expect("caller");
    assert_eq!(caller.subject(), "alice");
    assert_eq!(caller.method(), AuthMethod::Jwt);
    assert_eq!(caller.tenant(), Some("acme"));
    assert_eq!(caller.roles(), ["admin"]);
    assert_eq!(caller.scopes(), ["tools:call", "tools:list", "models:call"]);
    assert_eq!(caller.claims()["iss"], ISS);
    assert_eq!(caller.claims()["exp"], NOW + 300);

    let seen = accepted(&layer, &es256("ec-1", &claims())).await;
    assert_eq!(seen.caller().map(|c| c.subject()), Some("alice"));
    // PS256 on the key pinned to it; and a token without kid when exactly one key fits.
    accepted(&layer, &rs(Algorithm::PS256, "rsa-pinned", &claims())).await;
    let no_kid = sign_raw(
        json!({"alg": "ES256"}),
        &claims(),
        &keys().ec,
        Algorithm::ES256,
    );
    accepted(&layer, &no_kid).await;
    // An audience array naming us among others is fine.
    let multi = claims_with(json!({"aud": ["https://other.example", AUD]}));
    accepted(&layer, &rs(Algorithm::RS256, "rsa-1", &multi)).await;
}

#[tokio::test]
async fn attacks_are_rejected_as_unauthenticated() {
    let k = keys();
    let clock = clock();
    let layer = AuthLayer::new(static_jwt(&clock));
    let valid = rs(Algorithm::RS256, "rsa-1", &claims());
    let mut parts = valid.split('.');
    let (header, _, signature) = (
        parts.next().expect("h"),
        parts.next(),
        parts.next().expect("s"),
    );
    let forged_payload = B64.encode(claims_with(json!({"sub": "admin"})).to_string());
    let payload = B64.encode(claims().to_string());
    let none = |alg: &str| {
        format!(
            "{}.{payload}.",
            B64.encode(json!({"alg": alg, "kid": "rsa-1"}).to_string())
        )
    };

    let table: Vec<(&str, String)> = vec![
        ("alg none", none("none")),
        ("alg None", none("None")),
        (
            "alg none with the valid signature",
            format!(
                "{}.{payload}.{signature}",
                B64.encode(r#"{"alg":"none","kid":"rsa-1"}"#)
            ),
        ),
        (
            "HS256 keyed with the RSA public key, SPKI PEM",
            hs256_with_secret(k.rsa_public_pem_spki.as_bytes()),
        ),
        (
            "HS256 keyed with the RSA public key, PKCS#1 PEM",
            hs256_with_secret(k.rsa_public_pem_pkcs1.as_bytes()),
        ),
        (
            "HS256 keyed with the RSA public key, PKCS#1 DER",
            hs256_with_secret(&k.rsa_public_der_pkcs1),
        ),
        (
            "kid path injection",
            rs(Algorithm::RS256, "../../etc/passwd", &claims()),
        ),
        (
            "kid URL injection",
            rs(Algorithm::RS256, "http://evil.example/jwks.json", &claims()),
        ),
        ("unknown kid", rs(Algorithm::RS256, "rsa-9", &claims())),
        (
            "expired",
            rs(
                Algorithm::RS256,
                "rsa-1",
                &claims_with(json!({"exp": NOW - 3600})),
            ),
        ),
        (
            "not yet valid",
            rs(
                Algorithm::RS256,
                "rsa-1",
                &claims_with(json!({"nbf": NOW + 3600})),
            ),
        ),
        (
            "no exp",
            rs(
                Algorithm::RS256,
                "rsa-1",
                &claims_with(json!({"exp": null})),
            ),
        ),
        (
            "exp not a number",
            rs(
                Algorithm::RS256,
                "rsa-1",
                &claims_with(json!({"exp": "never"})),
            ),
        ),
        (
            "wrong audience",
            rs(
                Algorithm::RS256,
                "rsa-1",
                &claims_with(json!({"aud": "https://other.example"})),
            ),
        ),
        (
            "no audience",
            rs(
                Algorithm::RS256,
                "rsa-1",
                &claims_with(json!({"aud": null})),
            ),
        ),
        (
            "wrong issuer",
            rs(
                Algorithm::RS256,
                "rsa-1",
                &claims_with(json!({"iss": "https://evil.example"})),
            ),
        ),
        (
            "no issuer",
            rs(
                Algorithm::RS256,
                "rsa-1",
                &claims_with(json!({"iss": null})),
            ),
        ),
        (
            "no subject",
            rs(
                Algorithm::RS256,
                "rsa-1",
                &claims_with(json!({"sub": null})),
            ),
        ),
        (
            "tampered payload",
            format!("{header}.{forged_payload}.{signature}"),
        ),
        ("signature stripped", format!("{header}.{payload}.")),
        (
            "algorithm not in allow-list (RS384)",
            rs(Algorithm::RS384, "rsa-1", &claims()),
        ),
        (
            "alg differs from the JWK's alg (RS256 on a PS256 key)",
            rs(Algorithm::RS256, "rsa-pinned", &claims()),
        ),
        ("EC token naming an RSA key", es256("rsa-1", &claims())),
        (
            "RSA token naming an EC key",
            rs(Algorithm::RS256, "ec-1", &claims()),
        ),
        (
            "embedded jwk of the attacker",
            sign_raw(
                json!({"alg": "ES256", "kid": "ec-1", "jwk": k.attacker_ec_jwk}),
                &claims(),
                &k.attacker_ec,
                Algorithm::ES256,
            ),
        ),
        (
            "jku pointing at the attacker",
            sign_raw(
                json!({"alg": "ES256", "kid": "ec-1", "jku": "http://evil.example/jwks"}),
                &claims(),
                &k.attacker_ec,
                Algorithm::ES256,
            ),
        ),
        (
            "critical extension",
            sign_raw(
                json!({"alg": "RS256", "kid": "rsa-1", "crit": ["exp"], "exp": 1}),
                &claims(),
                &k.rsa,
                Algorithm::RS256,
            ),
        ),
        ("not a JWT", "not-a-jwt".to_owned()),
        ("four segments", format!("{valid}.x")),
        (
            "oversized",
            format!("{header}.{}.{signature}", "A".repeat(20_000)),
        ),
    ];
    for (name, token) in &table {
        let kind = rejected(&layer, name, token).await;
        assert_eq!(kind, DeniedKind::Unauthenticated, "{name}");
    }
}

#[tokio::test]
async fn leeway_is_respected_at_the_boundary() {
    let clock = clock();
    let layer = AuthLayer::new(static_jwt(&clock));
    let token = |changes: Value| rs(Algorithm::RS256, "rsa-1", &claims_with(changes));
    // Valid while now < exp + leeway.
    accepted(&layer, &token(json!({"exp": NOW - LEEWAY + 1}))).await;
    assert_eq!(
        rejected_as(&layer, &token(json!({"exp": NOW - LEEWAY}))).await,
        DeniedKind::Unauthenticated
    );
    // Valid from nbf - leeway on.
    accepted(&layer, &token(json!({"nbf": NOW + LEEWAY}))).await;
    assert_eq!(
        rejected_as(&layer, &token(json!({"nbf": NOW + LEEWAY + 1}))).await,
        DeniedKind::Unauthenticated
    );

    // The injected clock drives expiry: the same token dies when time moves past it.
    let short = token(json!({"exp": NOW + 10}));
    accepted(&layer, &short).await;
    clock.advance(Duration::from_secs(10 + LEEWAY - 1));
    accepted(&layer, &short).await;
    clock.advance(Duration::from_secs(1));
    assert_eq!(
        rejected_as(&layer, &short).await,
        DeniedKind::Unauthenticated
    );
}

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
    rejected_as(&layer, &rs(Algorithm::RS256, "rotated-1", &claims())).await;
    assert_eq!(server.fetches(), 1);

    // Past the interval, an unknown kid triggers exactly one refresh...
    clock.advance(Duration::from_secs(31));
    rejected_as(&layer, &rs(Algorithm::RS256, "../../etc/passwd", &claims())).await;
    assert_eq!(server.fetches(), 2);
    // ...and a second unknown kid within the interval none.
    rejected_as(
        &layer,
        &rs(Algorithm::RS256, "http://evil.example/x", &claims()),
    )
    .await;
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
    rejected_as(&layer, &rs(Algorithm::RS256, "../../etc/passwd", &claims())).await;
    std::fs::remove_file(&path).expect("remove jwks");
}

#[test]
fn unusable_key_sets_are_refused_at_construction() {
    // Symmetric keys are skipped: a public JWKS must never carry an HMAC secret.
    let oct = json!({"keys": [{"kty": "oct", "kid": "h", "k": B64.encode("secret")}]}).to_string();
    assert!(JwksSource::from_json(&oct).is_err());
    assert!(JwksSource::from_json("not json").is_err());
    assert!(JwksSource::url("/relative".parse().expect("uri")).is_err());
}
