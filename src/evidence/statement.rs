//! The in-toto Statement (v1) of a bundle, whose predicate is a SLSA Verification Summary
//! Attestation (v1).
//!
//! Each field below cites the section of the specification that defines it: the in-toto
//! attestation framework (`spec/v1/statement.md`, `spec/v1/resource_descriptor.md`) and SLSA
//! v1.0's "Verification Summary Attestation" (`spec/v1.0/verification_summary.md`, section
//! "Schema" and its "Fields"). Where tufwatch chooses a value the specification leaves to the
//! producer, the field's documentation says what it is and why.
//!
//! Every map is a `BTreeMap` and every list is in a fixed order, so the same verification at the
//! same moment gives the same bytes.

use crate::error::FieldError;
pub use crate::report::VerificationResult;
use crate::source::location::is_uri;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `_type` of an in-toto Statement v1.
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
/// `predicateType` of a SLSA VSA v1.
pub const VSA_TYPE: &str = "https://slsa.dev/verification_summary/v1";
/// The default `verifier.id`: tufwatch's TUF verification, run by whoever runs it. A consumer
/// that accepts (signer, verifier) pairs wants the operator's own (`--verifier-id`, `[evidence]
/// verifier_id`), which names their trust base: their machine, their key, their anchor.
pub const DEFAULT_VERIFIER_ID: &str = "urn:tufwatch:tuf-verifier";
/// The level tufwatch claims for a repository it verified: a custom value (not `SLSA_...`), as
/// the VSA allows; it speaks of TUF metadata, not of SLSA build provenance.
pub const LEVEL_VERIFIED: &str = "TUF_METADATA_VERIFIED";

/// An in-toto Statement v1 (in-toto `statement.md`, "Fields").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Statement {
    /// `_type`: "Identifier for the schema of the Statement. Always
    /// `https://in-toto.io/Statement/v1`".
    #[serde(rename = "_type")]
    pub type_: String,
    /// `subject`: "Set of software artifacts that the attestation applies to", each a resource
    /// descriptor with a `digest` (`statement.md`: "Each ResourceDescriptor MUST set `digest`";
    /// `name` is how a consumer matches it). Here the targets tufwatch checked, by their name in
    /// the repository and the digests the verified targets metadata signs.
    pub subject: Vec<Subject>,
    /// `predicateType`: "URI identifying the type of the Predicate", here
    /// `https://slsa.dev/verification_summary/v1`.
    #[serde(rename = "predicateType")]
    pub predicate_type: String,
    /// `predicate`: the verification summary.
    pub predicate: Vsa,
}

/// A subject: a target, by name and digest (in-toto `resource_descriptor.md`: `name`, `digest`,
/// a map of algorithm to lower-case hex).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Subject {
    /// `name`: the target's name in the repository (`manifest.json`, a release image).
    pub name: String,
    /// `digest`: algorithm -> lower-case hex.
    pub digest: BTreeMap<String, String>,
}

/// A SLSA Verification Summary Attestation v1 (SLSA v1.0 `verification_summary.md`, "Fields").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Vsa {
    /// `verifier`: "Identity of the verifier, as a tuple of (`id`, `version`)".
    pub verifier: Verifier,
    /// `timeVerified`: "Timestamp indicating what time the verification occurred": the wall
    /// clock when this run verified, never the reference time an audit of the past judges at
    /// (that is `policy.annotations.referenceTime`).
    #[serde(rename = "timeVerified")]
    pub time_verified: String,
    /// `resourceUri` (REQUIRED): "URI that identifies the resource associated with the artifact
    /// being verified". Here the repository, by a URL that names it on any machine: its public
    /// metadata URL, or the one the operator declares for a local copy; never this machine's
    /// path (`report.json` keeps that, as `repository.metadata_url`).
    #[serde(rename = "resourceUri")]
    pub resource_uri: String,
    /// `policy` (REQUIRED): "Describes the policy that the subject was verified against. The
    /// entry MUST contain a `uri` identifying which policy was applied. The entry SHOULD contain
    /// a `digest` to indicate the exact version of that policy." The policy is TUF's client
    /// workflow from a trust anchor: the anchor, by where it is pinned and by digest.
    pub policy: Policy,
    /// `verificationResult` (REQUIRED): "Either `PASSED` or `FAILED`".
    #[serde(rename = "verificationResult")]
    pub verification_result: VerificationResult,
    /// `verifiedLevels` (REQUIRED): "Indicates the highest level of each track verified". A
    /// custom value (not `SLSA_...`, which the specification reserves) when passed: the VSA
    /// allows "other values ... for other types of verification"; `FAILED` when failed.
    #[serde(rename = "verifiedLevels")]
    pub verified_levels: Vec<String>,
    /// `slsaVersion`: "The version of the SLSA specification that was used": `1.0`.
    #[serde(rename = "slsaVersion")]
    pub slsa_version: String,
}

/// The verifier (VSA "verifier").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Verifier {
    /// `verifier.id` (REQUIRED): "URI indicating the verifier's identity"; the specification's
    /// model ("verifier.id ... MUST be ... the trust base", "Consumers ... accept ... specific
    /// (signer, verifier) pairs") is why it is the operator's to set: [`DEFAULT_VERIFIER_ID`]
    /// otherwise.
    pub id: String,
    /// `verifier.version`: "Map of software components ... to their version": tufwatch and
    /// tough.
    pub version: BTreeMap<String, String>,
}

/// The policy: the trust anchor, as an in-toto resource descriptor (`resource_descriptor.md`:
/// `uri`, `digest`, `annotations`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// `uri`: where the anchor is pinned, the same on any machine: the URL a pin set documents
    /// it for (Bottlerocket's `https://cache.bottlerocket.aws/root.json`), the https URL it was
    /// read from, or else its digest as a Named Information URI (RFC 6920, `ni:///sha-256;...`).
    pub uri: String,
    /// `digest`: the anchor's exact bytes, algorithm -> lower-case hex (SHA-256 and SHA-512).
    pub digest: BTreeMap<String, String>,
    /// `annotations`: "additional information ... useful to the consumer when evaluating the
    /// attestation against a policy". Absent from bundles made before tufwatch recorded them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<PolicyAnnotations>,
}

/// What the policy was applied with, beyond the anchor's bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyAnnotations {
    /// The reference time the metadata's expiry was judged at (RFC 3339): the moment of the
    /// run, or the past moment an audit asked for (`--at`). What `evidence verify` and
    /// python-tuf verify the recorded metadata again at.
    #[serde(rename = "referenceTime")]
    pub reference_time: String,
    /// The anchor's root version.
    #[serde(rename = "tufRootVersion")]
    pub tuf_root_version: u64,
    /// How the anchor was pinned: the pin it matched, a SHA-512 the user gave, or none.
    #[serde(rename = "pinnedBy")]
    pub pinned_by: String,
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
        if !is_uri(&p.verifier.id) {
            return Err(FieldError::new("predicate.verifier.id", "not a URI"));
        }
        rfc3339("predicate.timeVerified", &p.time_verified)?;
        if !is_uri(&p.resource_uri) {
            return Err(FieldError::new("predicate.resourceUri", "not a URI"));
        }
        if !is_uri(&p.policy.uri)
            || p.policy.digest.is_empty()
            || !p.policy.digest.values().all(|v| hex(v))
        {
            return Err(FieldError::new(
                "predicate.policy",
                "needs a uri and a digest",
            ));
        }
        if let Some(a) = &p.policy.annotations {
            rfc3339(
                "predicate.policy.annotations.referenceTime",
                &a.reference_time,
            )?;
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

fn rfc3339(field: &str, value: &str) -> Result<(), FieldError> {
    chrono::DateTime::parse_from_rfc3339(value)
        .map(|_| ())
        .map_err(|_| FieldError::new(field, format!("{value:?} is not an RFC 3339 time")))
}
