//! The report of a run: plain data that derives `Serialize`.
//!
//! The JSON form of [`Report`] is the `--format json` output and is documented field by field in
//! `docs/report.md`. Presenters (see [`human`]) render the same value; [`Report::exit_code`] is the
//! one function that maps a report to the process exit code.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The version of the report format. Bumped when a field changes meaning or disappears.
pub const REPORT_FORMAT: u32 = 1;

pub use crate::exit::{EXIT_COULD_NOT_RUN, EXIT_FINDINGS, EXIT_OK};

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// What will be a finding once a grace period ends (`ssm_grace`, `nodes_grace`): said,
    /// with the time left; never fails the run.
    Note,
    /// Worth knowing; the verification still passes.
    Warning,
    /// The repository (or the run) fails.
    Error,
}

impl Severity {
    /// `error` or `warning`, as serialized.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Note => "note",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// What part of the job a finding is about, for `[policy] fail_on`: the repository's
/// verification (`trust`: always fails the run, never waived), SSM's cross-check against it
/// (`release`), or the fleet (`fleet`: nodes, AMIs, launch paths).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// What the TUF verification finds: signatures, rollback, expiry, hashes, the trust
    /// anchor, and the evidence of it.
    #[default]
    Trust,
    /// SSM's public parameters against the signed releases.
    Release,
    /// Nodes, AMIs and launch paths against the signed releases.
    Fleet,
}

impl Category {
    /// Every category: what fails the run by default.
    pub const ALL: [Category; 3] = [Category::Trust, Category::Release, Category::Fleet];

    /// The serialized name.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Trust => "trust",
            Category::Release => "release",
            Category::Fleet => "fleet",
        }
    }
}

/// The stable, machine-readable kind of a finding. The serialized names never change meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Code {
    /// Metadata is expired at the reference time (TUF 5.3.10, 5.4.4, 5.5.6, 5.6.5: freeze attack).
    Expired,
    /// Metadata expires within the warning window (a warning).
    ExpiringSoon,
    /// Fewer valid signatures by authorized keys than the role's threshold.
    SignatureThreshold,
    /// One key signed the same metadata more than once; tough refuses such metadata.
    DuplicateSignature,
    /// A version lower than one trusted before (TUF 5.3.5, 5.4.3, 5.5.5, and the saved state).
    Rollback,
    /// The same version as trusted before, with different bytes (tufwatch is stricter than tough).
    VersionReused,
    /// A version other than the one the referring metadata names (TUF 5.5.4, 5.6.4).
    VersionMismatch,
    /// Bytes whose hash is not the one the signed metadata lists.
    HashMismatch,
    /// More bytes than the signed length or the size limit allows (endless data attack).
    LengthExceeded,
    /// Fewer bytes than the signed length.
    LengthMismatch,
    /// A metadata or target file that the repository does not have (HTTP 404, missing file).
    NotFound,
    /// The server could not be reached or did not answer in time (the run is incomplete).
    Unreachable,
    /// Metadata that is not valid JSON or not valid TUF metadata.
    Malformed,
    /// The trusted root does not match its pin, or does not verify itself.
    UntrustedRoot,
    /// A requested target is not listed by the signed targets metadata.
    TargetMissing,
    /// A target name that cannot be written safely under the output directory: it would escape
    /// it, or no file system holds it.
    UnsafeTargetName,
    /// Two targets cannot both be written under `--out`: one's name is a directory of the
    /// other's (`a` and `a/b`); the first in name order is written.
    PathConflict,
    /// A failure tough reports that fits no other code; the message has tough's words.
    Rejected,
    /// A repository could not be verified at all (the run is incomplete).
    NotVerified,
    /// An SSM region could not be read (the run is incomplete).
    SsmUnavailable,
    /// SSM's `latest` names an older signed release than the due one.
    SsmBehind,
    /// SSM's `latest` names a version or build the signed manifest does not contain.
    SsmUnsigned,
    /// SSM has no `latest` for a variant and architecture the signed manifest lists.
    SsmMissing,
    /// Nodes run a release older than the due one, beyond the policy.
    NodesBehind,
    /// Nodes run a version the signed manifest does not contain.
    UnknownVersion,
    /// Instances were launched from an AMI older than the due release, beyond the policy.
    StaleAmi,
    /// An EC2 account or region could not be read: a role that cannot be assumed, calls
    /// refused or out of reach (the run is incomplete).
    Ec2Unavailable,
    /// Instances run an AMI that no longer exists (deregistered): no replacement can launch
    /// from it (a warning).
    AmiMissing,
    /// Instances run an AMI whose deprecation time has passed (a warning).
    AmiDeprecated,
    /// An AMI named like a Bottlerocket release, owned by an account that is not Bottlerocket's
    /// publisher (nor one the job trusts): its name proves nothing.
    AmiForeignOwner,
    /// A launch path (an EC2 launch template's default or latest version) boots a release older
    /// than the due one, beyond the policy: tomorrow's nodes start behind.
    StaleLaunchPath,
    /// An AMI that SSM's `latest` names does not exist, is not public, is not Bottlerocket's
    /// publisher's, or is named for another version than SSM's `image_version`.
    SsmBadImage,
    /// A file of an evidence bundle whose SHA-256 is not the one `SHA256SUMS` lists.
    EvidenceAltered,
    /// A file of an evidence bundle that is missing.
    EvidenceMissing,
    /// A file in an evidence bundle that `SHA256SUMS` does not list.
    EvidenceExtra,
    /// A file of an evidence bundle that cannot be read as what it should be.
    EvidenceMalformed,
    /// Files of an evidence bundle that disagree with each other or with the metadata verified
    /// again.
    EvidenceInconsistent,
    /// The statement's signature is missing or does not verify with the public key given.
    EvidenceSignature,
    /// A bundle that is not about what the auditor demanded (`evidence verify --subject`,
    /// `--resource-uri`, `--verifier-id`): another subject, resource or verifier.
    EvidenceMismatch,
    /// A file came slower than the minimum rate (`--min-rate`): TUF's slow-retrieval attack, or a
    /// network no better than one (the run is incomplete).
    SlowRetrieval,
    /// tough (what Bottlerocket hosts run) and the strict engine (the specification) disagree
    /// about the metadata: one accepts what the other rejects.
    EnginesDisagree,
    /// The evidence bundle a run was asked for (`report --evidence`) was not written (the run
    /// is incomplete).
    EvidenceNotWritten,
    /// The repository uses something the TUF specification allows and tough (so Bottlerocket's
    /// updater and tuftool) cannot do: key ids tough does not compute, hashes without SHA-256,
    /// targets tough requests at another path. An error for Bottlerocket's layout, a warning
    /// for any other repository.
    ToughIncompatible,
    /// A Kubernetes cluster could not be read: its kubeconfig, credentials refused, the API out
    /// of reach or too slow (the run is incomplete); the other clusters are still read.
    KubernetesUnavailable,
    /// Nodes whose update needs a person: the update operator failed on them, left them in one
    /// state longer than the bound, or sees nothing newer than the release they run.
    UpdateStuck,
    /// Nodes behind with nothing to update them: no update operator in their cluster, or no
    /// shadow of theirs (a warning).
    NoUpdater,
    /// Nodes whose release could not be judged: no verified manifest of their variant and
    /// architecture, no version known, an AMI nothing maps to a version (a warning).
    NodesUnchecked,
    /// A waiver past its expiry date: it waives nothing, and is itself an error.
    WaiverExpired,
    /// A waiver that has matched no finding for 30 days: what it waived is gone (a warning).
    WaiverStale,
}

impl Code {
    /// The serialized name, as in the JSON report.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Expired => "expired",
            Code::ExpiringSoon => "expiring_soon",
            Code::SignatureThreshold => "signature_threshold",
            Code::DuplicateSignature => "duplicate_signature",
            Code::Rollback => "rollback",
            Code::VersionReused => "version_reused",
            Code::VersionMismatch => "version_mismatch",
            Code::HashMismatch => "hash_mismatch",
            Code::LengthExceeded => "length_exceeded",
            Code::LengthMismatch => "length_mismatch",
            Code::NotFound => "not_found",
            Code::Unreachable => "unreachable",
            Code::Malformed => "malformed",
            Code::UntrustedRoot => "untrusted_root",
            Code::TargetMissing => "target_missing",
            Code::UnsafeTargetName => "unsafe_target_name",
            Code::PathConflict => "path_conflict",
            Code::Rejected => "rejected",
            Code::NotVerified => "not_verified",
            Code::SsmUnavailable => "ssm_unavailable",
            Code::SsmBehind => "ssm_behind",
            Code::SsmUnsigned => "ssm_unsigned",
            Code::SsmMissing => "ssm_missing",
            Code::NodesBehind => "nodes_behind",
            Code::UnknownVersion => "unknown_version",
            Code::StaleAmi => "stale_ami",
            Code::Ec2Unavailable => "ec2_unavailable",
            Code::AmiMissing => "ami_missing",
            Code::AmiDeprecated => "ami_deprecated",
            Code::AmiForeignOwner => "ami_foreign_owner",
            Code::SsmBadImage => "ssm_bad_image",
            Code::StaleLaunchPath => "stale_launch_path",
            Code::EvidenceAltered => "evidence_altered",
            Code::EvidenceMissing => "evidence_missing",
            Code::EvidenceExtra => "evidence_extra",
            Code::EvidenceMalformed => "evidence_malformed",
            Code::EvidenceInconsistent => "evidence_inconsistent",
            Code::EvidenceSignature => "evidence_signature",
            Code::EvidenceMismatch => "evidence_mismatch",
            Code::EnginesDisagree => "engines_disagree",
            Code::SlowRetrieval => "slow_retrieval",
            Code::EvidenceNotWritten => "evidence_not_written",
            Code::ToughIncompatible => "tough_incompatible",
            Code::KubernetesUnavailable => "kubernetes_unavailable",
            Code::UpdateStuck => "update_stuck",
            Code::NoUpdater => "no_updater",
            Code::NodesUnchecked => "nodes_unchecked",
            Code::WaiverExpired => "waiver_expired",
            Code::WaiverStale => "waiver_stale",
        }
    }

    /// The code a serialized name names.
    pub fn parse(name: &str) -> Option<Code> {
        serde_json::from_value(serde_json::Value::String(name.to_owned())).ok()
    }

    /// What part of the job findings of this kind are about. A waiver's own findings are the
    /// fleet's here; [`Finding::category`] gives them the category of the code they waive.
    pub fn category(self) -> Category {
        use Code::*;
        match self {
            SsmUnavailable | SsmBehind | SsmUnsigned | SsmMissing | SsmBadImage => {
                Category::Release
            }
            NodesBehind
            | UnknownVersion
            | StaleAmi
            | Ec2Unavailable
            | AmiMissing
            | AmiDeprecated
            | AmiForeignOwner
            | StaleLaunchPath
            | KubernetesUnavailable
            | UpdateStuck
            | NoUpdater
            | NodesUnchecked
            | WaiverExpired
            | WaiverStale => Category::Fleet,
            _ => Category::Trust,
        }
    }

    /// Whether a waiver may silence findings of this kind: never the repository's verification
    /// (`trust`), never a part that could not be read (there is no verdict on it to waive), and
    /// never the signs of an attack outside the repository: SSM naming a build the repository
    /// did not sign, an AMI named like Bottlerocket's and owned by someone else.
    pub fn waivable(self) -> bool {
        self.category() != Category::Trust
            && !self.means_incomplete()
            && !matches!(
                self,
                Code::WaiverExpired | Code::WaiverStale | Code::SsmUnsigned | Code::AmiForeignOwner
            )
    }

    /// Whether a finding of this kind means the run could not be completed (exit code 2)
    /// rather than that the repository failed a check (exit code 1).
    pub fn means_incomplete(self) -> bool {
        matches!(
            self,
            Code::Unreachable
                | Code::SsmUnavailable
                | Code::Ec2Unavailable
                | Code::KubernetesUnavailable
                | Code::NotVerified
                | Code::SlowRetrieval
                | Code::EvidenceNotWritten
        )
    }
}

/// One thing a run found: a failed check (error) or something to watch (warning).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable machine-readable kind.
    pub code: Code,
    /// `error` or `warning`.
    pub severity: Severity,
    /// The role concerned (`root`, `timestamp`, `snapshot`, `targets`, or a delegated role's name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// The target concerned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// The URL (or file) concerned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// What happened, for a person.
    pub message: String,
    /// What part of the job it is about (`[policy] fail_on`).
    #[serde(default)]
    pub category: Category,
    /// What it is about, by the names a waiver matches (boxed: most findings name nothing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Box<Subject>>,
    /// The waiver that waives it, when one does: it is shown and does not fail the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waived: Option<Box<Waived>>,
}

/// What a finding is about, by the names a waiver matches (each when it applies).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Subject {
    /// The Bottlerocket variant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// The architecture, as TUF names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arch: Option<String>,
    /// The AWS region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The AWS account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// The Kubernetes cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    /// The node (instance id for EC2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// The AMI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ami: Option<String>,
}

impl Subject {
    /// Whether it names nothing.
    pub fn is_empty(&self) -> bool {
        *self == Subject::default()
    }

    /// A variant and architecture.
    pub fn track(variant: Option<&str>, arch: Option<&str>) -> Self {
        Subject {
            variant: variant.map(str::to_owned),
            arch: arch.map(str::to_owned),
            ..Subject::default()
        }
    }
}

/// The waiver that waives a finding, as the finding carries it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Waived {
    /// The waiver, by what it matches (`nodes_behind cluster=batch-*`).
    pub waiver: String,
    /// Why the finding is accepted.
    pub reason: String,
    /// Who answers for it.
    pub owner: String,
    /// The day it stops waiving (from 00:00 UTC).
    pub expires: chrono::NaiveDate,
}

impl Finding {
    /// An error finding.
    pub fn error(code: Code, message: impl Into<String>) -> Self {
        Finding {
            code,
            severity: Severity::Error,
            role: None,
            target: None,
            url: None,
            message: message.into(),
            category: code.category(),
            subject: None,
            waived: None,
        }
    }

    /// A note: what becomes a finding of `code` once a grace period ends.
    pub fn note(code: Code, message: impl Into<String>) -> Self {
        Finding {
            severity: Severity::Note,
            ..Finding::error(code, message)
        }
    }

    /// The same finding, about `subject`.
    #[must_use]
    pub fn about(mut self, subject: Subject) -> Self {
        self.subject = (!subject.is_empty()).then(|| Box::new(subject));
        self
    }

    /// What it is about (nothing named, when nothing is).
    pub fn subject(&self) -> &Subject {
        static NOTHING: Subject = Subject {
            variant: None,
            arch: None,
            region: None,
            account: None,
            cluster: None,
            node: None,
            ami: None,
        };
        self.subject.as_deref().unwrap_or(&NOTHING)
    }

    /// The same finding, waived by `waived` (or not, when `None`).
    #[must_use]
    pub fn waived(mut self, waived: Option<Waived>) -> Self {
        self.waived = waived.map(Box::new);
        self
    }

    /// The same finding, in another category (a waiver's findings take the category of the
    /// code they waive).
    #[must_use]
    pub fn category(mut self, category: Category) -> Self {
        self.category = category;
        self
    }

    /// Whether it counts toward the verdict: an error, not waived (a mark on a finding no
    /// waiver may waive, as a report read back could carry, counts for nothing).
    pub fn counts(&self) -> bool {
        self.severity == Severity::Error && (self.waived.is_none() || !self.code.waivable())
    }

    /// Whether it fails the run when the categories in `fail_on` do: it counts, the run could
    /// read what it is about, and it is the verification's or of a category in `fail_on`.
    pub fn fails_under(&self, fail_on: &[Category]) -> bool {
        self.counts()
            && !self.code.means_incomplete()
            && (self.is_trust() || fail_on.contains(&self.category))
    }

    /// Whether it is an error that `fail_on` leaves out: shown, and not failing the run.
    pub fn outside(&self, fail_on: &[Category]) -> bool {
        self.counts() && !self.code.means_incomplete() && !self.fails_under(fail_on)
    }

    /// Whether it is about the repository's verification: by its category, or by its code
    /// whatever its category says.
    pub fn is_trust(&self) -> bool {
        self.category == Category::Trust || self.code.category() == Category::Trust
    }

    /// A warning finding.
    pub fn warning(code: Code, message: impl Into<String>) -> Self {
        Finding {
            severity: Severity::Warning,
            ..Finding::error(code, message)
        }
    }

    /// The same finding, about `role`.
    #[must_use]
    pub fn role(mut self, role: impl Into<String>) -> Self {
        self.role = Some(role.into());
        self
    }

    /// The same finding, about `target`.
    #[must_use]
    pub fn target(mut self, target: impl Into<String>) -> Self {
        self.target = Some(target.into());
        self
    }

    /// The same finding, about `url`.
    #[must_use]
    pub fn url(mut self, url: impl Into<String>) -> Self {
        self.url = Some(url.into());
        self
    }
}

/// The overall outcome of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Every check passed (there may be warnings).
    Pass,
    /// At least one check failed.
    Fail,
    /// The run could not complete (for example, the server was unreachable).
    Incomplete,
}

/// The status of one signature on a metadata file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignatureStatus {
    /// Valid, by a key the role authorizes: it counts toward the threshold.
    Valid,
    /// By an authorized key, but the signature does not verify.
    Invalid,
    /// By a key the trusted metadata does not list at all.
    UnknownKey,
    /// By a listed key that this role does not authorize.
    NotAuthorized,
    /// A second signature by a key that already signed: never counted twice.
    Duplicate,
}

/// One signature on a metadata file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignatureCheck {
    /// Key id (hex), as written in the signature.
    pub keyid: String,
    /// What tufwatch found of it.
    pub status: SignatureStatus,
}

/// The signatures of a role against the keys and threshold that authorize it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signatures {
    /// Which metadata's keys were used: `root vN` or the delegating role.
    pub keys_from: String,
    /// How many valid signatures by distinct authorized keys are required.
    pub threshold: u64,
    /// How many keys the role authorizes.
    pub authorized_keys: usize,
    /// Distinct authorized keys with a valid signature.
    pub valid_keyids: Vec<String>,
    /// Every signature present, in file order.
    pub signatures: Vec<SignatureCheck>,
    /// Why the signatures could not be checked at all (the file has no canonical form: a float,
    /// a key that appears twice, broken JSON), if so.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unreadable: Option<String>,
}

impl Signatures {
    /// Whether the threshold is met (never for a role with no threshold or no keys).
    pub fn threshold_met(&self) -> bool {
        self.threshold > 0
            && self.authorized_keys > 0
            && self.valid_keyids.len() as u64 >= self.threshold
    }
}

/// The outcome for one role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoleVerdict {
    /// Verified.
    Ok,
    /// Verified, with a warning (for example, it expires soon).
    Warning,
    /// Failed a check.
    Fail,
}

/// One verified (or rejected) role.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoleReport {
    /// `root`, `timestamp`, `snapshot`, `targets`, or a delegated role's name.
    pub role: String,
    /// The role that delegates to this one, for delegated roles.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delegated_by: Option<String>,
    /// The metadata version.
    pub version: u64,
    /// When it expires.
    pub expires: DateTime<Utc>,
    /// Seconds from the reference time to expiry (negative: already expired).
    pub expires_in_seconds: i64,
    /// Where its bytes came from.
    pub url: String,
    /// Length in bytes of the file received.
    pub length: u64,
    /// SHA-256 of the bytes received (hex).
    pub sha256: String,
    /// Signatures against the threshold.
    pub signatures: Signatures,
    /// For a root reached by rotation: its signatures against the previous root's root keys
    /// (TUF 5.3.4 requires both thresholds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rotation_signatures: Option<Signatures>,
    /// The outcome for this role.
    pub verdict: RoleVerdict,
}

/// What one TUF engine concluded about the repository's metadata (`verify --engine both`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineOutcome {
    /// `tough 0.24` (tough, with tufwatch's own checks), or `strict`.
    pub engine: String,
    /// Its verdict.
    pub verdict: EngineVerdict,
    /// Why it rejected the metadata, or could not finish.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// An engine's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EngineVerdict {
    /// It accepts the metadata.
    Accepted,
    /// It rejects the metadata.
    Rejected,
    /// The network or a deadline stopped it: no verdict.
    Unfinished,
}

/// A target that was downloaded and checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetReport {
    /// The target's name in the signed metadata.
    pub name: String,
    /// The signed length.
    pub length: u64,
    /// The signed hashes (algorithm -> hex); every listed one was checked.
    pub hashes: BTreeMap<String, String>,
    /// Whether the bytes matched the signed length and every hash.
    pub verified: bool,
    /// Where the verified file was written, with `--out`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub written_to: Option<String>,
}

/// Where the trust anchor came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustedRootReport {
    /// The file or URL the root was read from.
    pub source: String,
    /// SHA-512 of its bytes (hex).
    pub sha512: String,
    /// Its version.
    pub version: u64,
    /// How it was pinned: the pin (name and date) it matched, `--root-sha512`, or `none`.
    pub pinned_by: String,
}

/// What the saved state (rollback protection between runs) contributed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateReport {
    /// The state directory of this repository; absent with `--no-state`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dir: Option<String>,
    /// Versions trusted by the previous run (role -> version), if there was one.
    pub previous: BTreeMap<String, u64>,
    /// Whether this run saved its metadata as the new trusted state (only a run judged at the
    /// present time whose metadata all verified does).
    pub updated: bool,
    /// The root version saved by a previous run that this run started from, when it is newer
    /// than the trust anchor (TUF 5.2: start from the latest trusted root).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_from_root: Option<u64>,
}

/// The repository a run looked at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepositoryReport {
    /// Base URL of the metadata.
    pub metadata_url: String,
    /// Base URL of the targets.
    pub targets_url: String,
    /// Bottlerocket variant, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// Bottlerocket architecture, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arch: Option<String>,
    /// In evidence: the URI its statement names the repository by (`resourceUri`), the same on
    /// any machine, where `metadata_url` is where this machine read it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_uri: Option<String>,
}

/// The report of `tufwatch verify`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Version of this report format.
    pub report_format: u32,
    /// `tufwatch <version>`.
    pub tool: String,
    /// The TUF client that decided (`tough <version>`).
    pub engine: String,
    /// When the run started (wall clock).
    pub started_at: DateTime<Utc>,
    /// The moment expiry was judged at: the start, or `--at`.
    pub reference_time: DateTime<Utc>,
    /// The warning window, in seconds.
    pub expiry_warning_seconds: i64,
    /// The repository.
    pub repository: RepositoryReport,
    /// The trust anchor.
    pub trusted_root: TrustedRootReport,
    /// Root versions walked, from the trusted root to the final one.
    pub root_chain: Vec<u64>,
    /// Every role, in the order of the TUF client workflow.
    pub roles: Vec<RoleReport>,
    /// Which engines decided (`--engine`): `both` or `strict`; absent for tough alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
    /// Each engine's verdict, when the strict engine ran (`--engine both` or `strict`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub engines: Vec<EngineOutcome>,
    /// Targets downloaded and checked.
    pub targets: Vec<TargetReport>,
    /// Rollback protection between runs.
    pub state: StateReport,
    /// Everything found, errors first.
    pub findings: Vec<Finding>,
    /// The overall outcome.
    pub verdict: Verdict,
}

impl Report {
    /// Derive the verdict from the findings and sort them, errors first.
    pub fn finish(&mut self) {
        self.findings.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then_with(|| (a.code, &a.role, &a.target).cmp(&(b.code, &b.role, &b.target)))
        });
        self.verdict = verdict_of(&self.findings);
    }

    /// The process exit code for this report: 0 pass, 1 findings, 2 could not run.
    pub fn exit_code(&self) -> i32 {
        exit_code_of(self.verdict)
    }
}

/// The verdict that a list of findings leads to.
///
/// A definite failure outranks an incomplete run: a server that serves expired metadata cannot
/// turn the verdict into "could not run" by also failing one request.
pub fn verdict_of(findings: &[Finding]) -> Verdict {
    verdict_under(findings.iter(), &Category::ALL)
}

/// The verdict that findings lead to when only the categories in `fail_on` fail the run
/// (`[policy] fail_on`). A `trust` error fails it whatever the policy; a part that could not be
/// read leaves the run incomplete whatever the policy; a waived finding counts for nothing.
pub fn verdict_under<'a>(
    findings: impl Iterator<Item = &'a Finding>,
    fail_on: &[Category],
) -> Verdict {
    let mut incomplete = false;
    for f in findings {
        if f.fails_under(fail_on) {
            return Verdict::Fail;
        }
        incomplete |= f.counts() && f.code.means_incomplete();
    }
    if incomplete {
        Verdict::Incomplete
    } else {
        Verdict::Pass
    }
}

/// The exit code of a verdict.
pub fn exit_code_of(verdict: Verdict) -> i32 {
    match verdict {
        Verdict::Pass => EXIT_OK,
        Verdict::Fail => EXIT_FINDINGS,
        Verdict::Incomplete => EXIT_COULD_NOT_RUN,
    }
}

/// What `--format json` prints when tufwatch cannot make a report at all (a bad argument, an
/// unreadable root, a root that matches no pin): still one JSON document per run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorReport {
    /// Version of the report format.
    pub report_format: u32,
    /// `tufwatch <version>`.
    pub tool: String,
    /// `fail` (the trusted root matches no pin) or `incomplete` (could not run).
    pub verdict: Verdict,
    /// `untrusted_root` or `could_not_run`.
    pub error: String,
    /// What went wrong, naming the flag, file or URL.
    pub message: String,
}

impl ErrorReport {
    /// The document for an error that stopped the run.
    pub fn of(e: &crate::error::Error) -> Self {
        let untrusted = e.is_untrusted_root();
        ErrorReport {
            report_format: REPORT_FORMAT,
            tool: format!("tufwatch {}", env!("CARGO_PKG_VERSION")),
            verdict: if untrusted {
                Verdict::Fail
            } else {
                Verdict::Incomplete
            },
            error: if untrusted {
                "untrusted_root"
            } else {
                "could_not_run"
            }
            .to_owned(),
            message: e.to_string(),
        }
    }
}

/// A VSA's `verificationResult`: what a bundle records of its verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum VerificationResult {
    /// Every check passed.
    Passed,
    /// A check failed (or the verification could not finish).
    Failed,
}

impl VerificationResult {
    /// The result a verdict records: only a pass passed.
    pub fn of(verdict: Verdict) -> Self {
        if verdict == Verdict::Pass {
            VerificationResult::Passed
        } else {
            VerificationResult::Failed
        }
    }

    /// `PASSED` or `FAILED`.
    pub fn as_str(self) -> &'static str {
        match self {
            VerificationResult::Passed => "PASSED",
            VerificationResult::Failed => "FAILED",
        }
    }
}

impl std::fmt::Display for VerificationResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
