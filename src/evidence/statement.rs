//! The in-toto Statement (v1) of a bundle, whose predicate is a SLSA Verification Summary
//! Attestation (v1).
//!
//! Field requirements, from the specifications (in-toto attestation framework, `spec/v1/
//! statement.md`; SLSA v1.0, "Verification Summary Attestation"):
//! - Statement: `_type` = `https://in-toto.io/Statement/v1`; `subject` a non-empty list of
//!   resource descriptors, each with a `name` and a `digest` (algorithm -> lower-case hex);
//!   `predicateType` a URI; `predicate` an object.
//! - VSA v1 (`predicateType` = `https://slsa.dev/verification_summary/v1`): `verifier.id`
//!   (required, URI), `verifier.version` (map); `timeVerified` (RFC 3339); `resourceUri`
//!   (required); `policy` (required, a resource descriptor: here the trusted root, by digest);
//!   `verificationResult` (required, `PASSED` or `FAILED`); `verifiedLevels` (required: custom
//!   values may not start with `SLSA_`; `FAILED` when the verification failed); `slsaVersion`.
//!
//! Every map is a `BTreeMap` and every list is in a fixed order, so the same verification gives
//! the same bytes.

use crate::error::FieldError;
pub use crate::report::VerificationResult;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `_type` of an in-toto Statement v1.
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
/// `predicateType` of a SLSA VSA v1.
pub const VSA_TYPE: &str = "https://slsa.dev/verification_summary/v1";
/// `verifier.id`: tufwatch's TUF verification.
pub const VERIFIER_ID: &str = "urn:tufwatch:tuf-verifier";
/// The level tufwatch claims for a repository it verified: a custom value (not `SLSA_...`), as
/// the VSA allows; it speaks of TUF metadata, not of SLSA build provenance.
pub const LEVEL_VERIFIED: &str = "TUF_METADATA_VERIFIED";

/// An in-toto Statement v1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Statement {
    /// `https://in-toto.io/Statement/v1`.
    #[serde(rename = "_type")]
    pub type_: String,
    /// The artifacts the statement is about.
    pub subject: Vec<Subject>,
    /// `https://slsa.dev/verification_summary/v1`.
    #[serde(rename = "predicateType")]
    pub predicate_type: String,
    /// The verification summary.
    pub predicate: Vsa,
}

/// A subject: a target, by name and digest.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Subject {
    /// The target's name in the repository.
    pub name: String,
    /// Algorithm -> lower-case hex.
    pub digest: BTreeMap<String, String>,
}

/// A SLSA Verification Summary Attestation v1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Vsa {
    /// Who verified.
    pub verifier: Verifier,
    /// The moment the verification judged expiry at (the reference time).
    #[serde(rename = "timeVerified")]
    pub time_verified: String,
    /// The repository's metadata URL.
    #[serde(rename = "resourceUri")]
    pub resource_uri: String,
    /// The trust anchor, by digest.
    pub policy: ResourceDescriptor,
    /// `PASSED` or `FAILED`.
    #[serde(rename = "verificationResult")]
    pub verification_result: VerificationResult,
    /// `TUF_METADATA_VERIFIED`, or `FAILED`.
    #[serde(rename = "verifiedLevels")]
    pub verified_levels: Vec<String>,
    /// `1.0`.
    #[serde(rename = "slsaVersion")]
    pub slsa_version: String,
}

/// The verifier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Verifier {
    /// [`VERIFIER_ID`].
    pub id: String,
    /// Component -> version: tufwatch and tough.
    pub version: BTreeMap<String, String>,
}

/// A resource by URI and digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceDescriptor {
    /// Where it came from.
    pub uri: String,
    /// Algorithm -> lower-case hex.
    pub digest: BTreeMap<String, String>,
}

impl Statement {
    /// Check the field requirements of in-toto Statement v1 and SLSA VSA v1 (see the module's
    /// documentation); the error names the field.
    pub fn check(&self) -> Result<(), FieldError> {
        let hex =
            |s: &str| !s.is_empty() && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if self.type_ != STATEMENT_TYPE {
            return Err(FieldError::new(
                "_type",
                format!("{:?}, expected {STATEMENT_TYPE}", self.type_),
            ));
        }
        if self.subject.is_empty() {
            return Err(FieldError::new(
                "subject",
                "empty; a statement is about at least one artifact",
            ));
        }
        for (i, s) in self.subject.iter().enumerate() {
            if s.name.is_empty() {
                return Err(FieldError::new(format!("subject[{i}].name"), "empty"));
            }
            if s.digest.is_empty() || !s.digest.values().all(|v| hex(v)) {
                return Err(FieldError::new(
                    format!("subject[{i}].digest"),
                    "needs algorithm -> lower-case hex",
                ));
            }
        }
        if self.predicate_type != VSA_TYPE {
            return Err(FieldError::new(
                "predicateType",
                format!("{:?}, expected {VSA_TYPE}", self.predicate_type),
            ));
        }
        let p = &self.predicate;
        if p.verifier.id.is_empty() || !p.verifier.id.contains(':') {
            return Err(FieldError::new("predicate.verifier.id", "not a URI"));
        }
        if chrono::DateTime::parse_from_rfc3339(&p.time_verified).is_err() {
            return Err(FieldError::new(
                "predicate.timeVerified",
                format!("{:?} is not an RFC 3339 time", p.time_verified),
            ));
        }
        if p.resource_uri.is_empty() {
            return Err(FieldError::new("predicate.resourceUri", "empty"));
        }
        if p.policy.uri.is_empty()
            || p.policy.digest.is_empty()
            || !p.policy.digest.values().all(|v| hex(v))
        {
            return Err(FieldError::new(
                "predicate.policy",
                "needs a uri and a digest",
            ));
        }
        if p.verified_levels.is_empty() {
            return Err(FieldError::new("predicate.verifiedLevels", "empty"));
        }
        if p.verification_result == VerificationResult::Failed && p.verified_levels != ["FAILED"] {
            return Err(FieldError::new(
                "predicate.verifiedLevels",
                "a failed verification has [\"FAILED\"]",
            ));
        }
        Ok(())
    }
}
