use jsonwebtoken::Algorithm;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk};

/// A JWS algorithm the [`Jwt`](super::Jwt) authenticator may accept.
///
/// Only asymmetric algorithms exist here. A JWKS is public, so an HMAC key in it would let
/// anyone mint tokens, and accepting `HS256` at all is what the "sign with the public key as
/// the HMAC secret" confusion attack needs. `none` is not an algorithm either.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SigningAlgorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    Rs256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    Rs384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    Rs512,
    /// RSASSA-PSS with SHA-256.
    Ps256,
    /// RSASSA-PSS with SHA-384.
    Ps384,
    /// RSASSA-PSS with SHA-512.
    Ps512,
    /// ECDSA on P-256 with SHA-256.
    Es256,
    /// ECDSA on P-384 with SHA-384.
    Es384,
    /// EdDSA on Ed25519.
    EdDsa,
}

/// The kind of public key an algorithm verifies with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum KeyKind {
    Rsa,
    P256,
    P384,
    Ed25519,
}

impl SigningAlgorithm {
    /// Every algorithm.
    pub const ALL: [SigningAlgorithm; 9] = [
        SigningAlgorithm::Rs256,
        SigningAlgorithm::Rs384,
        SigningAlgorithm::Rs512,
        SigningAlgorithm::Ps256,
        SigningAlgorithm::Ps384,
        SigningAlgorithm::Ps512,
        SigningAlgorithm::Es256,
        SigningAlgorithm::Es384,
        SigningAlgorithm::EdDsa,
    ];

    /// The JOSE name, as in a token's `alg` header.
    pub const fn as_str(self) -> &'static str {
        match self {
            SigningAlgorithm::Rs256 => "RS256",
            SigningAlgorithm::Rs384 => "RS384",
            SigningAlgorithm::Rs512 => "RS512",
            SigningAlgorithm::Ps256 => "PS256",
            SigningAlgorithm::Ps384 => "PS384",
            SigningAlgorithm::Ps512 => "PS512",
            SigningAlgorithm::Es256 => "ES256",
            SigningAlgorithm::Es384 => "ES384",
            SigningAlgorithm::EdDsa => "EdDSA",
        }
    }

    /// The algorithm of a token header, unless it is symmetric.
    pub(super) fn from_header(alg: Algorithm) -> Option<Self> {
        SigningAlgorithm::ALL
            .into_iter()
            .find(|a| a.to_jsonwebtoken() == alg)
    }

    pub(super) fn to_jsonwebtoken(self) -> Algorithm {
        match self {
            SigningAlgorithm::Rs256 => Algorithm::RS256,
            SigningAlgorithm::Rs384 => Algorithm::RS384,
            SigningAlgorithm::Rs512 => Algorithm::RS512,
            SigningAlgorithm::Ps256 => Algorithm::PS256,
            SigningAlgorithm::Ps384 => Algorithm::PS384,
            SigningAlgorithm::Ps512 => Algorithm::PS512,
            SigningAlgorithm::Es256 => Algorithm::ES256,
            SigningAlgorithm::Es384 => Algorithm::ES384,
            SigningAlgorithm::EdDsa => Algorithm::EdDSA,
        }
    }

    pub(super) fn key_kind(self) -> KeyKind {
        match self {
            SigningAlgorithm::Rs256
            | SigningAlgorithm::Rs384
            | SigningAlgorithm::Rs512
            | SigningAlgorithm::Ps256
            | SigningAlgorithm::Ps384
            | SigningAlgorithm::Ps512 => KeyKind::Rsa,
            SigningAlgorithm::Es256 => KeyKind::P256,
            SigningAlgorithm::Es384 => KeyKind::P384,
            SigningAlgorithm::EdDsa => KeyKind::Ed25519,
        }
    }
}

impl KeyKind {
    /// The kind of a JWK, or `None` for keys never used to verify tokens (symmetric keys,
    /// unsupported curves or key types).
    pub(super) fn of(jwk: &Jwk) -> Option<KeyKind> {
        match &jwk.algorithm {
            AlgorithmParameters::RSA(_) => Some(KeyKind::Rsa),
            AlgorithmParameters::EllipticCurve(ec) => match ec.curve {
                EllipticCurve::P256 => Some(KeyKind::P256),
                EllipticCurve::P384 => Some(KeyKind::P384),
                _ => None,
            },
            AlgorithmParameters::OctetKeyPair(okp) => {
                (okp.curve == EllipticCurve::Ed25519).then_some(KeyKind::Ed25519)
            }
            _ => None,
        }
    }
}

/// What a JWK's `alg` member allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Pinned {
    /// No `alg`: any algorithm of the key's kind.
    Any,
    /// Exactly this algorithm.
    Only(SigningAlgorithm),
    /// An algorithm that cannot verify our tokens (symmetric, encryption, unknown).
    Unusable,
}

impl Pinned {
    pub(super) fn of(jwk: &Jwk) -> Pinned {
        let Some(alg) = jwk.common.key_algorithm else {
            return Pinned::Any;
        };
        Algorithm::try_from(alg)
            .ok()
            .and_then(SigningAlgorithm::from_header)
            .map_or(Pinned::Unusable, Pinned::Only)
    }
}
