//! Which keys signed a metadata file, checked independently of tough.
//!
//! tough says only whether a threshold was met. The report names every signature and what it is
//! worth, so tufwatch verifies each one itself, over the canonical JSON (OLPC canonical form) of
//! the `signed` object exactly as received (TUF 5.3.4, 5.4.2, 5.5.3, 5.6.3: "signed by a threshold
//! of keys"; a key counts once however often it signs).

use crate::report::{SignatureCheck, SignatureStatus, Signatures};
use aws_lc_rs::signature::{self, UnparsedPublicKey, VerificationAlgorithm};
use std::collections::{HashMap, HashSet};
use tough::schema::decoded::{Decoded, Hex};
use tough::schema::key::Key;

/// The canonical bytes of the `signed` object of a metadata file, and its signatures.
pub struct SignedParts {
    canonical: Vec<u8>,
    signatures: Vec<(String, Vec<u8>)>,
}

impl SignedParts {
    /// Split a metadata file into what was signed and the signatures. Errors name the field.
    pub fn parse(bytes: &[u8]) -> Result<Self, String> {
        #[derive(serde::Deserialize)]
        struct Envelope<'a> {
            #[serde(borrow)]
            signed: Option<&'a serde_json::value::RawValue>,
            signatures: Option<Vec<RawSignature>>,
        }
        #[derive(serde::Deserialize)]
        struct RawSignature {
            keyid: Option<String>,
            sig: Option<String>,
        }
        let doc: Envelope<'_> =
            serde_json::from_slice(bytes).map_err(|e| format!("not TUF metadata JSON: {e}"))?;
        let signed = doc.signed.ok_or("no \"signed\" field")?;
        let canonical = super::canonical::canonicalize(signed.get())
            .map_err(|e| format!("\"signed\" has no canonical form: {e}"))?;
        let list = doc.signatures.ok_or("no \"signatures\" list")?;
        let mut signatures = Vec::with_capacity(list.len());
        for (i, s) in list.into_iter().enumerate() {
            let keyid = s
                .keyid
                .ok_or_else(|| format!("signatures[{i}] has no \"keyid\""))?;
            let sig = s
                .sig
                .ok_or_else(|| format!("signatures[{i}] has no \"sig\""))?;
            let sig =
                hex::decode(sig).map_err(|e| format!("signatures[{i}].sig is not hex: {e}"))?;
            signatures.push((keyid.to_ascii_lowercase(), sig));
        }
        Ok(SignedParts {
            canonical,
            signatures,
        })
    }

    /// The canonical form of the `signed` object: what the signatures cover.
    pub fn canonical_signed(&self) -> &[u8] {
        &self.canonical
    }

    /// Check every signature against the keys that authorize the role.
    pub fn check(
        &self,
        keys: &HashMap<Decoded<Hex>, Key>,
        authorized: &[Decoded<Hex>],
        threshold: u64,
        keys_from: String,
    ) -> Signatures {
        let keys: HashMap<String, &Key> = keys.iter().map(|(id, k)| (hex::encode(id), k)).collect();
        let authorized: HashSet<String> = authorized.iter().map(hex::encode).collect();
        let mut seen = HashSet::new();
        let mut valid_keyids = Vec::new();
        let mut checks = Vec::with_capacity(self.signatures.len());
        for (keyid, sig) in &self.signatures {
            let status = if !seen.insert(keyid.clone()) {
                SignatureStatus::Duplicate
            } else if !authorized.contains(keyid) {
                if keys.contains_key(keyid) {
                    SignatureStatus::NotAuthorized
                } else {
                    SignatureStatus::UnknownKey
                }
            } else {
                match keys.get(keyid) {
                    None => SignatureStatus::UnknownKey,
                    Some(key) if verify(key, &self.canonical, sig) => {
                        valid_keyids.push(keyid.clone());
                        SignatureStatus::Valid
                    }
                    Some(_) => SignatureStatus::Invalid,
                }
            };
            checks.push(SignatureCheck {
                keyid: keyid.clone(),
                status,
            });
        }
        Signatures {
            keys_from,
            threshold,
            authorized_keys: authorized.len(),
            valid_keyids,
            signatures: checks,
            unreadable: None,
        }
    }
}

/// Verify one signature with the key's scheme: rsassa-pss-sha256, ed25519 or ecdsa-sha2-nistp256.
pub fn verify(key: &Key, message: &[u8], sig: &[u8]) -> bool {
    let (alg, public): (&'static dyn VerificationAlgorithm, &[u8]) = match key {
        Key::Rsa { keyval, .. } => (&signature::RSA_PSS_2048_8192_SHA256, &keyval.public),
        Key::Ed25519 { keyval, .. } => (&signature::ED25519, &keyval.public),
        Key::Ecdsa { keyval, .. } | Key::EcdsaOld { keyval, .. } => {
            (&signature::ECDSA_P256_SHA256_ASN1, &keyval.public)
        }
    };
    UnparsedPublicKey::new(alg, public)
        .verify(message, sig)
        .is_ok()
}
