//! Public keys and signatures (specification 4.2, 4.3): `ed25519` (public key: 64 hex digits of
//! the raw key), `ecdsa` / `ecdsa-sha2-nistp256` (PEM SubjectPublicKeyInfo; the signature is
//! DER, in hex) and `rsa` with `rsassa-pss-sha256` (PEM SubjectPublicKeyInfo; PSS with SHA-256
//! and MGF1-SHA-256, salt as long as the digest or as long as possible). Crypto is aws-lc-rs's.

use crate::error::FieldError;
use aws_lc_rs::signature::{
    self, RsaParameters, RsaPssSaltLength, UnparsedPublicKey, VerificationAlgorithm,
};
use serde_json::{Map, Value};

const RSA_PSS_MAX_SALT: RsaParameters =
    signature::RSA_PSS_2048_8192_SHA256.with_pss_salt_length(RsaPssSaltLength::Max);

/// A public key of a role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    /// `keytype`.
    pub keytype: String,
    /// `scheme`.
    pub scheme: String,
    /// The key's bytes as the verifier takes them, or why it cannot be used.
    pub public: Result<Vec<u8>, Unusable>,
}

/// Why a key cannot verify anything.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unusable {
    /// An ed25519 key that is not hex.
    #[error("not hex: {0}")]
    NotHex(String),
    /// An ed25519 key of another length.
    #[error("an ed25519 key has 32 bytes")]
    Ed25519Length,
    /// A PEM key that does not read.
    #[error(transparent)]
    Pem(#[from] crate::pem::PemError),
    /// A type or scheme this engine does not know.
    #[error("unsupported key type {keytype:?} with scheme {scheme:?}")]
    Unsupported {
        /// `keytype`.
        keytype: String,
        /// `scheme`.
        scheme: String,
    },
}

impl Key {
    /// Read a key object; a key of a type or scheme this engine does not know is kept but can
    /// verify nothing. Errors name the field of a key that is not a key object at all.
    pub fn parse(obj: &Map<String, Value>, at: &str) -> Result<Self, FieldError> {
        let text = |name: &str| -> Result<String, FieldError> {
            obj.get(name)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| FieldError::new(format!("{at}{name}"), "missing, or not a string"))
        };
        let keytype = text("keytype")?;
        let scheme = text("scheme")?;
        let keyval = obj
            .get("keyval")
            .and_then(Value::as_object)
            .ok_or_else(|| FieldError::new(format!("{at}keyval"), "missing, or not an object"))?;
        let public = keyval
            .get("public")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                FieldError::new(format!("{at}keyval.public"), "missing, or not a string")
            })?;
        let public = match (keytype.as_str(), scheme.as_str()) {
            ("ed25519", "ed25519") => hex::decode(public)
                .map_err(|e| Unusable::NotHex(e.to_string()))
                .and_then(|b| {
                    if b.len() == 32 {
                        Ok(b)
                    } else {
                        Err(Unusable::Ed25519Length)
                    }
                }),
            ("ecdsa" | "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp256")
            | ("rsa", "rsassa-pss-sha256") => {
                crate::pem::public_key(public).map_err(Unusable::from)
            }
            _ => Err(Unusable::Unsupported {
                keytype: keytype.clone(),
                scheme: scheme.clone(),
            }),
        };
        Ok(Key {
            keytype,
            scheme,
            public,
        })
    }

    /// Whether `sig` is this key's signature over `message`.
    pub fn verifies(&self, message: &[u8], sig: &[u8]) -> bool {
        let Ok(public) = &self.public else {
            return false;
        };
        let check = |alg: &'static dyn VerificationAlgorithm| {
            UnparsedPublicKey::new(alg, public)
                .verify(message, sig)
                .is_ok()
        };
        match self.scheme.as_str() {
            "ed25519" => check(&signature::ED25519),
            "ecdsa-sha2-nistp256" => check(&signature::ECDSA_P256_SHA256_ASN1),
            "rsassa-pss-sha256" => {
                check(&signature::RSA_PSS_2048_8192_SHA256) || check(&RSA_PSS_MAX_SALT)
            }
            _ => false,
        }
    }
}
