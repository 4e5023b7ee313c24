//! The JWT authenticator against the attacks it must stop, each through the full auth layer
//! in front of a fake upstream that must never see a rejected request.
#![cfg(feature = "jwt")]

mod auth_support;

use std::time::Duration;

use agent_gateway_core::caller::AuthMethod;
use agent_gateway_core::{AgentRequest, DeniedKind};
use agent_gateway_policy::auth::{AuthLayer, JwksSource};
use auth_support::*;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use jsonwebtoken::Algorithm;
use serde_json::{Value, json};

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
    // The issuer is part of who the caller is: not the API key `alice` of tenant `acme`.
    assert_eq!(caller.issuer(), Some(ISS));
    let api_key_alice = agent_gateway_core::Caller::new("alice")
        .with_tenant("acme")
        .with_method(AuthMethod::ApiKey);
    assert_ne!(caller.principal_id(), api_key_alice.principal_id());

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

#[test]
fn unusable_key_sets_are_refused_at_construction() {
    // Symmetric keys are skipped: a public JWKS must never carry an HMAC secret.
    let oct = json!({"keys": [{"kty": "oct", "kid": "h", "k": B64.encode("secret")}]}).to_string();
    assert!(JwksSource::from_json(&oct).is_err());
    assert!(JwksSource::from_json("not json").is_err());
    assert!(JwksSource::url("/relative".parse().expect("uri")).is_err());
}
