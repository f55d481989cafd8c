//! DSSE (Dead Simple Signing Envelope, v1) over the statement: `statement.dsse.json` holds the
//! statement's exact bytes as its payload and a signature over the pre-authentication encoding
//! `PAE = "DSSEv1" SP len(type) SP type SP len(body) SP body`, made by an Ed25519 or ECDSA P-256
//! (SHA-256) key in PEM (PKCS#8 `PRIVATE KEY`, or SEC1 `EC PRIVATE KEY`), or by an AWS KMS key
//! (ECDSA P-256 with SHA-256, or RSASSA-PSS with SHA-256). The public key is X.509
//! SubjectPublicKeyInfo (a PEM `PUBLIC KEY`, or the DER KMS's `GetPublicKey` gives); the key id
//! is the SHA-256 of its DER.

use crate::aws::kms::{KmsError, KmsKey};
use aws_lc_rs::encoding::{AsDer, PublicKeyX509Der};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    self, EcdsaKeyPair, Ed25519KeyPair, KeyPair, UnparsedPublicKey, ECDSA_P256_SHA256_ASN1,
    ECDSA_P256_SHA256_ASN1_SIGNING, RSA_PSS_2048_8192_SHA256,
};
use base64::Engine;
use serde::{Deserialize, Serialize};

/// The envelope's file.
pub const FILE: &str = "statement.dsse.json";
/// The payload type of an in-toto statement.
pub const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

/// A DSSE envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Envelope {
    /// Base64 of the payload.
    pub payload: String,
    /// [`PAYLOAD_TYPE`].
    #[serde(rename = "payloadType")]
    pub payload_type: String,
    /// The signatures.
    pub signatures: Vec<Signature>,
}

/// One signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Signature {
    /// SHA-256 (hex) of the signer's public key (SubjectPublicKeyInfo DER).
    pub keyid: String,
    /// Base64 of the signature.
    pub sig: String,
}

/// The pre-authentication encoding DSSE signs.
pub fn pae(payload_type: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {} {} ",
        payload_type.len(),
        payload_type,
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

/// Why a signing key cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// Not the PEM of a private key.
    #[error(transparent)]
    Pem(#[from] crate::pem::PemError),
    /// An `EC PRIVATE KEY` that is not P-256.
    #[error("not an ECDSA P-256 key: {0}")]
    NotP256(String),
    /// A private key of another kind.
    #[error("neither an Ed25519 nor an ECDSA P-256 key")]
    Unsupported,
    /// The signature could not be made.
    #[error("ECDSA signing failed")]
    Signing,
}

/// Why an envelope cannot be checked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    /// Not a DSSE envelope of an in-toto statement.
    #[error("payloadType: {0:?}, expected {PAYLOAD_TYPE}")]
    PayloadType(String),
    /// The payload's base64 does not decode.
    #[error("payload: bad base64: {0}")]
    Payload(String),
}

/// Why a statement could not be signed.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    /// The key of a file.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// The KMS key.
    #[error(transparent)]
    Kms(#[from] KmsError),
}

/// Who signs statements: a private key read from a file, or a key that stays in AWS KMS.
pub enum Signer {
    /// A key read from PEM.
    Key(SigningKey),
    /// A KMS key.
    Kms(KmsKey),
}

impl Signer {
    /// The public key's SubjectPublicKeyInfo DER.
    pub fn public_der(&self) -> Vec<u8> {
        match self {
            Signer::Key(k) => k.public_der(),
            Signer::Kms(k) => k.public_der().to_vec(),
        }
    }

    /// Sign a payload into an envelope; the key id is the SHA-256 (hex) of the public key's DER.
    pub async fn envelope(&self, payload: &[u8]) -> Result<Envelope, SignError> {
        let sig = match self {
            Signer::Key(k) => k.sign(&pae(PAYLOAD_TYPE, payload))?,
            Signer::Kms(k) => k.sign(&pae(PAYLOAD_TYPE, payload)).await?,
        };
        Ok(Envelope::of(
            payload,
            crate::digest::sha256_hex(&self.public_der()),
            &sig,
        ))
    }
}

/// A signing key read from PEM.
pub enum SigningKey {
    /// Ed25519.
    Ed25519(Ed25519KeyPair),
    /// ECDSA P-256 with SHA-256.
    P256(EcdsaKeyPair),
}

impl SigningKey {
    /// Read a PEM private key: Ed25519 or ECDSA P-256, PKCS#8 or SEC1.
    pub fn from_pem(text: &str) -> Result<Self, KeyError> {
        let (label, der) = crate::pem::body(text, &["PRIVATE KEY", "EC PRIVATE KEY"])?;
        if label == "EC PRIVATE KEY" {
            return EcdsaKeyPair::from_private_key_der(&ECDSA_P256_SHA256_ASN1_SIGNING, &der)
                .map(SigningKey::P256)
                .map_err(|e| KeyError::NotP256(e.to_string()));
        }
        if let Ok(k) = Ed25519KeyPair::from_pkcs8_maybe_unchecked(&der) {
            return Ok(SigningKey::Ed25519(k));
        }
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &der)
            .map(SigningKey::P256)
            .map_err(|_| KeyError::Unsupported)
    }

    /// The public key's SubjectPublicKeyInfo DER.
    pub fn public_der(&self) -> Vec<u8> {
        let der: Result<PublicKeyX509Der, _> = match self {
            SigningKey::Ed25519(k) => k.public_key().as_der(),
            SigningKey::P256(k) => k.public_key().as_der(),
        };
        der.map(|d| d.as_ref().to_vec()).unwrap_or_default()
    }

    /// The key id: SHA-256 (hex) of the public key's DER.
    pub fn keyid(&self) -> String {
        crate::digest::sha256_hex(&self.public_der())
    }

    /// Sign a message.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        Ok(match self {
            SigningKey::Ed25519(k) => k.sign(message).as_ref().to_vec(),
            SigningKey::P256(k) => k
                .sign(&SystemRandom::new(), message)
                .map_err(|_| KeyError::Signing)?
                .as_ref()
                .to_vec(),
        })
    }

    /// Sign a payload into an envelope.
    pub fn envelope(&self, payload: &[u8]) -> Result<Envelope, KeyError> {
        let sig = self.sign(&pae(PAYLOAD_TYPE, payload))?;
        Ok(Envelope::of(payload, self.keyid(), &sig))
    }
}

impl Envelope {
    /// The envelope of a payload with one signature.
    fn of(payload: &[u8], keyid: String, sig: &[u8]) -> Self {
        let b64 = base64::engine::general_purpose::STANDARD;
        Envelope {
            payload: b64.encode(payload),
            payload_type: PAYLOAD_TYPE.to_owned(),
            signatures: vec![Signature {
                keyid,
                sig: b64.encode(sig),
            }],
        }
    }

    /// The payload's bytes.
    pub fn payload_bytes(&self) -> Result<Vec<u8>, EnvelopeError> {
        base64::engine::general_purpose::STANDARD
            .decode(&self.payload)
            .map_err(|e| EnvelopeError::Payload(e.to_string()))
    }

    /// Whether a signature of the envelope verifies with this public key (SPKI DER): Ed25519,
    /// ECDSA P-256 with SHA-256, or RSASSA-PSS with SHA-256 (what KMS signs with).
    pub fn verified_by(&self, public_der: &[u8]) -> Result<bool, EnvelopeError> {
        if self.payload_type != PAYLOAD_TYPE {
            return Err(EnvelopeError::PayloadType(self.payload_type.clone()));
        }
        let message = pae(&self.payload_type, &self.payload_bytes()?);
        let b64 = base64::engine::general_purpose::STANDARD;
        Ok(self.signatures.iter().any(|s| {
            let Ok(sig) = b64.decode(&s.sig) else {
                return false;
            };
            UnparsedPublicKey::new(&signature::ED25519, public_der)
                .verify(&message, &sig)
                .is_ok()
                || UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, public_der)
                    .verify(&message, &sig)
                    .is_ok()
                || UnparsedPublicKey::new(&RSA_PSS_2048_8192_SHA256, public_der)
                    .verify(&message, &sig)
                    .is_ok()
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pae_is_as_the_dsse_protocol_says() {
        // The example of the DSSE protocol document.
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec()
        );
    }

    #[test]
    fn ed25519_and_p256_sign_and_verify() {
        let rng = SystemRandom::new();
        let ed = Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
        let ec = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
        for der in [ed.as_ref().to_vec(), ec.as_ref().to_vec()] {
            let b64 = base64::engine::general_purpose::STANDARD.encode(&der);
            let pem = format!("-----BEGIN PRIVATE KEY-----\n{b64}\n-----END PRIVATE KEY-----\n");
            let key = SigningKey::from_pem(&pem).unwrap();
            let env = key.envelope(b"{\"a\":1}").unwrap();
            let public =
                crate::pem::public_key(&crate::pem::public_key_pem(&key.public_der())).unwrap();
            assert!(env.verified_by(&public).unwrap());
            let mut forged = env.clone();
            forged.payload = base64::engine::general_purpose::STANDARD.encode(b"{\"a\":2}");
            assert!(!forged.verified_by(&public).unwrap());
        }
        assert!(SigningKey::from_pem(
            "-----BEGIN PUBLIC KEY-----\nAA==\n-----END PUBLIC KEY-----\n"
        )
        .is_err());
    }
}
