//! Keys, tokens and a one-call harness shared by the JWT integration tests.
#![allow(dead_code, unreachable_pub)]

use std::convert::Infallible;
use std::sync::OnceLock;
use std::time::{Duration, UNIX_EPOCH};

use agent_gateway_core::testkit::FakeUpstream;
use agent_gateway_core::{Action, BoxError, Call, Denied, DeniedKind, ManualClock};
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

pub const NOW: u64 = 1_700_000_000;
pub const ISS: &str = "https://issuer.example";
pub const AUD: &str = "https://mcp.example.com/mcp";
pub const LEEWAY: u64 = 30;

pub struct Keys {
    pub rsa: EncodingKey,
    pub rsa_public_pem_spki: String,
    pub rsa_public_pem_pkcs1: String,
    pub rsa_public_der_pkcs1: Vec<u8>,
    pub rsa_jwk: Value,
    pub ec: EncodingKey,
    pub ec_jwk: Value,
    pub attacker_ec: EncodingKey,
    pub attacker_ec_jwk: Value,
}

pub fn ec_key() -> (EncodingKey, Value) {
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
pub fn keys() -> &'static Keys {
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

pub fn with(jwk: &Value, extra: Value) -> Value {
    let mut jwk = jwk.clone();
    for (k, v) in extra.as_object().expect("object") {
        jwk[k] = v.clone();
    }
    jwk
}

/// rsa-1: RSA, no `alg`; rsa-pinned: the same RSA key pinned to PS256; ec-1: P-256 pinned to
/// ES256.
pub fn jwks(extra_kids: &[&str]) -> String {
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

pub fn claims() -> Value {
    json!({
        "iss": ISS, "aud": AUD, "sub": "alice",
        "iat": NOW, "nbf": NOW - 10, "exp": NOW + 300,
        "tenant": "acme", "roles": ["admin"], "scope": "tools:call tools:list", "scp": ["models:call"],
    })
}

pub fn claims_with(changes: Value) -> Value {
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
pub fn sign_raw(header: Value, claims: &Value, key: &EncodingKey, alg: Algorithm) -> String {
    let message = format!(
        "{}.{}",
        B64.encode(header.to_string()),
        B64.encode(claims.to_string())
    );
    let signature = jsonwebtoken::crypto::sign(message.as_bytes(), key, alg).expect("sign");
    format!("{message}.{signature}")
}

pub fn rs(alg: Algorithm, kid: &str, claims: &Value) -> String {
    sign_raw(
        json!({"alg": format!("{alg:?}"), "typ": "JWT", "kid": kid}),
        claims,
        &keys().rsa,
        alg,
    )
}

pub fn es256(kid: &str, claims: &Value) -> String {
    sign_raw(
        json!({"alg": "ES256", "kid": kid}),
        claims,
        &keys().ec,
        Algorithm::ES256,
    )
}

pub fn hs256_with_secret(secret: &[u8]) -> String {
    let key = EncodingKey::from_secret(secret);
    sign_raw(
        json!({"alg": "HS256", "kid": "rsa-1"}),
        &claims(),
        &key,
        Algorithm::HS256,
    )
}

pub fn clock() -> ManualClock {
    ManualClock::starting_at(UNIX_EPOCH + Duration::from_secs(NOW))
}

pub fn jwt(source: JwksSource, clock: &ManualClock) -> Jwt {
    Jwt::new(source, ISS, AUD)
        .with_algorithms([
            SigningAlgorithm::Rs256,
            SigningAlgorithm::Ps256,
            SigningAlgorithm::Es256,
        ])
        .with_leeway(Duration::from_secs(LEEWAY))
        .with_clock(clock.shared())
}

pub fn static_jwt(clock: &ManualClock) -> Jwt {
    jwt(JwksSource::from_json(&jwks(&[])).expect("jwks"), clock)
}

pub fn bearer(token: &str) -> Call {
    let mut headers = HeaderMap::new();
    headers.insert(
        "authorization",
        HeaderValue::from_str(&format!("Bearer {token}")).expect("header value"),
    );
    Call::new(Action::ToolCall, json!({})).with_headers(headers)
}

/// One call through the layer; answers what the upstream saw and how often it was called.
pub async fn run(layer: &AuthLayer<Jwt>, token: &str) -> (Result<Call, BoxError>, usize) {
    let upstream = FakeUpstream::new(|call: Call| Ok::<_, Infallible>(call));
    let stack = ServiceBuilder::new()
        .layer(layer.clone())
        .service(upstream.clone());
    let result = stack.oneshot(bearer(token)).await;
    (result, upstream.calls())
}

pub async fn accepted(layer: &AuthLayer<Jwt>, token: &str) -> Call {
    let (result, calls) = run(layer, token).await;
    let seen = result.unwrap_or_else(|e| panic!("token should be accepted, got {e}"));
    assert_eq!(calls, 1);
    seen
}

pub async fn rejected_as(layer: &AuthLayer<Jwt>, token: &str) -> DeniedKind {
    rejected(layer, "token", token).await
}

/// Asserts `token` (described by `what`) is denied without reaching the upstream.
pub async fn rejected(layer: &AuthLayer<Jwt>, what: &str, token: &str) -> DeniedKind {
    let (result, calls) = run(layer, token).await;
    let Err(err) = result else {
        panic!("{what} should be rejected");
    };
    assert_eq!(calls, 0, "{what}: the upstream must not be called");
    let denied = Denied::find(err.as_ref()).unwrap_or_else(|| panic!("{what}: no Denied in {err}"));
    denied.kind().clone()
}
