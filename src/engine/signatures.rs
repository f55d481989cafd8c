//! Which keys signed a metadata file, checked independently of tough.
//!
//! tough says only whether a threshold was met. The report names every signature and what it is
//! worth, so tufwatch verifies each one itself, over the canonical JSON (OLPC canonical form) of
//! the `signed` object exactly as received (TUF 5.3.4, 5.4.2, 5.5.3, 5.6.3: "signed by a threshold
//! of keys"; a key counts once however often it signs).

use super::strict::keys::Key;
use crate::report::{SignatureCheck, SignatureStatus, Signatures};
use std::collections::{BTreeMap, HashSet};

/// Why a metadata file cannot be split into what was signed and its signatures.
#[derive(Debug, thiserror::Error)]
pub enum PartsError {
    /// Not JSON of the shape of TUF metadata.
    #[error("not TUF metadata JSON: {0}")]
    NotJson(serde_json::Error),
    /// No `signed` object.
    #[error("no \"signed\" field")]
    NoSigned,
    /// A `signed` object that has no canonical form (a float, a duplicate key).
    #[error("\"signed\" has no canonical form: {0}")]
    NotCanonical(serde_json::Error),
    /// No `signatures` list.
    #[error("no \"signatures\" list")]
    NoSignatures,
    /// A signature without its key id.
    #[error("signatures[{0}] has no \"keyid\"")]
    NoKeyId(usize),
    /// A signature without its value.
    #[error("signatures[{0}] has no \"sig\"")]
    NoSig(usize),
    /// A signature value that is not hex.
    #[error("signatures[{0}].sig is not hex: {1}")]
    NotHex(usize, hex::FromHexError),
}

/// The canonical bytes of the `signed` object of a metadata file, and its signatures.
pub struct SignedParts {
    canonical: Vec<u8>,
    signatures: Vec<(String, Vec<u8>)>,
}

impl SignedParts {
    /// Split a metadata file into what was signed and the signatures. Errors name the field.
    pub fn parse(bytes: &[u8]) -> Result<Self, PartsError> {
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
        let doc: Envelope<'_> = serde_json::from_slice(bytes).map_err(PartsError::NotJson)?;
        let signed = doc.signed.ok_or(PartsError::NoSigned)?;
        let canonical =
            super::canonical::canonicalize(signed.get()).map_err(PartsError::NotCanonical)?;
        let list = doc.signatures.ok_or(PartsError::NoSignatures)?;
        let mut signatures = Vec::with_capacity(list.len());
        for (i, s) in list.into_iter().enumerate() {
            let keyid = s.keyid.ok_or(PartsError::NoKeyId(i))?;
            let sig = s.sig.ok_or(PartsError::NoSig(i))?;
            let sig = hex::decode(sig).map_err(|e| PartsError::NotHex(i, e))?;
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
    /// Key ids are compared in lower case, as given: a key id is the repository's name for a
    /// key, which the specification does not require a client to recompute (python-tuf does
    /// not; tough does, and refuses a repository whose key ids are another hash).
    pub fn check(
        &self,
        keys: &BTreeMap<String, Key>,
        authorized: &[String],
        threshold: u64,
        keys_from: String,
    ) -> Signatures {
        let authorized: HashSet<&str> = authorized.iter().map(String::as_str).collect();
        let mut seen = HashSet::new();
        let mut valid_keyids = Vec::new();
        let mut checks = Vec::with_capacity(self.signatures.len());
        for (keyid, sig) in &self.signatures {
            let status = if !seen.insert(keyid.clone()) {
                SignatureStatus::Duplicate
            } else if !authorized.contains(keyid.as_str()) {
                if keys.contains_key(keyid) {
                    SignatureStatus::NotAuthorized
                } else {
                    SignatureStatus::UnknownKey
                }
            } else {
                match keys.get(keyid) {
                    None => SignatureStatus::UnknownKey,
                    Some(key) if key.verifies(&self.canonical, sig) => {
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
