//! Checking a bundle offline: `tufwatch evidence verify`.
//!
//! 1. `SHA256SUMS`: every file listed is there with that SHA-256, and no other file is.
//! 2. For each repository's evidence: the statement is well formed and agrees with the report
//!    and the anchor; its signature, when a public key is given.
//! 3. The metadata verified again from the recorded anchor at the recorded reference time, from
//!    the bundle's own files; the subjects listed by the verified targets metadata.
//! 4. The releases recomputed from the recorded manifest, whose bytes must be the ones the
//!    verified targets metadata lists.
//! 5. For a job: each repository's evidence agrees with `job.json`, and the SSM cross-check
//!    recomputed from the recorded observations and the releases of step 4 is the recorded one.
//! 6. What the auditor demands of the statements, as slsa-verifier's `verify-vsa` does: the
//!    verifier, the resource, and subjects a passed verification names.

use super::{
    dsse, release_images, statement::Statement, statement::VerificationResult, sums, JOB_FILE,
    MANIFEST_FILE, METADATA_DIR, RELEASES_FILE, REPORT_FILE, REPOSITORIES_DIR, ROOT_FILE,
    STATEMENT_FILE,
};
use crate::digest::{sha256_hex, sha512_hex};
use crate::engine::{TargetSelection, Verification, VerifyOptions};
use crate::error::{Error, Result};
use crate::job::{JobReport, RepoResult};
use crate::releases::{manifest, one_per_track, retain_own, tracks, Track};
use crate::report::{
    verdict_of, Code, Finding, Report, Severity, TargetReport, Verdict, REPORT_FORMAT,
};
use crate::source::pins::TrustedRoot;
use crate::source::transport::NetOptions;
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The outcome of checking a bundle.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BundleCheck {
    /// Version of the report format.
    pub report_format: u32,
    /// `tufwatch <version>`.
    pub tool: String,
    /// The bundle's directory.
    pub bundle: String,
    /// How many files `SHA256SUMS` lists.
    pub files: usize,
    /// The bundle's digest: the SHA-256 of its `SHA256SUMS`, which names every other file's.
    pub sha256: Option<String>,
    /// The recorded result (`PASSED`, `FAILED`): of the statement, or of the job.
    pub recorded_result: Option<VerificationResult>,
    /// The recorded reference time.
    pub reference_time: Option<String>,
    /// When the verification ran (the statement's `timeVerified`; a job's start).
    pub time_verified: Option<String>,
    /// The statements' `verifier.id`, each once.
    pub verifier_ids: Vec<String>,
    /// The statements' `resourceUri`, each once.
    pub resource_uris: Vec<String>,
    /// The anchor's SHA-512 (for a job: when every repository has the same anchor).
    pub trusted_root_sha512: Option<String>,
    /// The verdict of verifying the recorded metadata again, offline, at the reference time
    /// (for a job: the worst of its repositories).
    pub reverified: Option<Verdict>,
    /// The key ids of the statements' DSSE signatures, when signed.
    pub signed_by: Vec<String>,
    /// Whether every statement's signature was checked against the public key given.
    pub signature_verified: bool,
    /// For a job: each repository's evidence.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub repositories: Vec<RepoCheck>,
    /// What is wrong with the bundle.
    pub findings: Vec<Finding>,
    /// `pass`: the bundle is intact and its result reproduces; `fail` otherwise.
    pub verdict: Verdict,
}

impl BundleCheck {
    /// The exit code.
    pub fn exit_code(&self) -> i32 {
        crate::report::exit_code_of(self.verdict)
    }
}

/// The check of one repository's evidence.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RepoCheck {
    /// The repository's name in the job.
    pub name: String,
    /// Its directory in the bundle.
    pub dir: String,
    /// The recorded result of its statement.
    pub recorded_result: Option<VerificationResult>,
    /// Its anchor's SHA-512.
    pub trusted_root_sha512: Option<String>,
    /// The verdict of verifying its metadata again.
    pub reverified: Option<Verdict>,
    /// The key ids of its statement's signatures.
    pub signed_by: Vec<String>,
    /// Whether a signature was checked against the public key given.
    pub signature_verified: bool,
}

/// A file of the bundle, when it is a regular file within [`sums::MAX_FILE`] (the sums name
/// what else is there).
fn read_file(path: &Path) -> Option<Vec<u8>> {
    crate::source::read_at_most(path, sums::MAX_FILE).ok()
}

fn finding(code: Code, file: &str, message: impl Into<String>) -> Finding {
    Finding::error(code, format!("{file}: {}", message.into())).target(file)
}

/// What an auditor demands of a bundle, beyond that it is intact and reproduces.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Demands {
    /// The bundle's digest (SHA-256 of `SHA256SUMS`, lower-case hex).
    pub digest: Option<String>,
    /// The anchor's SHA-512 (lower-case hex).
    pub root_sha512: Option<String>,
    /// Every statement signed by this public key (SubjectPublicKeyInfo DER).
    pub public_key: Option<Vec<u8>>,
    /// Each a subject of a statement that passed (of one about a resource demanded, when some
    /// are).
    pub subjects: Vec<SubjectDemand>,
    /// Each the `resourceUri` of a statement.
    pub resource_uris: Vec<String>,
    /// Every statement's `verifier.id`.
    pub verifier_id: Option<String>,
}

/// A subject demanded: a name, and the SHA-256 it must have when one is given
/// (`NAME[@sha256:HEX]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubjectDemand {
    /// The subject's name.
    pub name: String,
    /// Its SHA-256, lower-case hex.
    pub sha256: Option<String>,
}

impl std::str::FromStr for SubjectDemand {
    type Err = crate::error::ValueError;

    /// `NAME`, or `NAME@sha256:HEX` (the last `@sha256:` splits, so a name may hold `@`).
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        let invalid = || crate::error::ValueError {
            value: s.to_owned(),
            expected: "NAME or NAME@sha256:HEX (64 hex digits)",
        };
        let (name, sha256) = match s.rsplit_once("@sha256:") {
            Some((name, hex)) => {
                let hex = hex.to_ascii_lowercase();
                let is_hex = hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit());
                if !is_hex {
                    return Err(invalid());
                }
                (name, Some(hex))
            }
            None => (s, None),
        };
        if name.is_empty() || name.chars().any(char::is_control) {
            return Err(invalid());
        }
        Ok(SubjectDemand {
            name: name.to_owned(),
            sha256,
        })
    }
}

/// Check a bundle offline, and that it is what `demands` says.
pub async fn check(dir: &Path, demands: &Demands) -> Result<BundleCheck> {
    let expected_digest = demands.digest.as_deref();
    let expected_root = demands.root_sha512.as_deref();
    let public_key = demands.public_key.as_deref();
    if !dir.is_dir() {
        return Err(Error::Setting {
            setting: crate::error::Setting::Bundle,
            message: format!("{} is not a directory", dir.display()),
        });
    }
    let mut findings = Vec::new();

    // 1. The sums: every file listed, none altered, none added.
    let Sums { sha256, listed } = check_sums(dir, expected_digest, &mut findings)?;

    let job_path = dir.join(JOB_FILE);
    let mut outcome = if job_path.exists() || listed.contains_key(JOB_FILE) {
        check_job(dir, expected_root, public_key).await
    } else {
        check_single(dir, expected_root, public_key).await
    };
    findings.append(&mut outcome.findings);
    // 6. What the auditor demands of the statements.
    findings.extend(demands_met(demands, &outcome.statements));
    let mut verifier_ids = Vec::new();
    let mut resource_uris = Vec::new();
    for (_, s) in &outcome.statements {
        for (list, value) in [
            (&mut verifier_ids, &s.predicate.verifier.id),
            (&mut resource_uris, &s.predicate.resource_uri),
        ] {
            if !list.contains(value) {
                list.push(value.clone());
            }
        }
    }
    findings.sort_by(|a, b| (a.code, &a.target).cmp(&(b.code, &b.target)));
    findings.dedup();
    Ok(BundleCheck {
        report_format: REPORT_FORMAT,
        tool: format!("tufwatch {}", env!("CARGO_PKG_VERSION")),
        bundle: dir.display().to_string(),
        files: listed.len(),
        sha256,
        recorded_result: outcome.recorded_result,
        reference_time: outcome.reference_time,
        time_verified: outcome.time_verified,
        verifier_ids,
        resource_uris,
        trusted_root_sha512: outcome.trusted_root_sha512,
        reverified: outcome.reverified,
        signed_by: outcome.signed_by,
        signature_verified: outcome.signature_verified,
        repositories: outcome.repositories,
        verdict: verdict_of(&findings),
        findings,
    })
}

/// What step 1 gives the later steps.
struct Sums {
    /// The bundle's digest: SHA256SUMS's own SHA-256, which it cannot list.
    sha256: Option<String>,
    /// What `SHA256SUMS` lists: each file's SHA-256.
    listed: BTreeMap<String, String>,
}

/// Step 1: every file `SHA256SUMS` lists is there with that SHA-256, no other file is, and the
/// bundle's digest is the one demanded.
fn check_sums(
    dir: &Path,
    expected_digest: Option<&str>,
    findings: &mut Vec<Finding>,
) -> Result<Sums> {
    let contents = sums::digests(dir)?;
    for (file, why) in &contents.odd {
        findings.push(finding(Code::EvidenceMalformed, file, why.clone()));
    }
    let mut actual = contents.digests;
    // The bundle's digest: SHA256SUMS's own SHA-256, which it cannot list.
    let sha256 = actual.remove(sums::FILE);
    if let Some(expected) = expected_digest {
        if sha256.as_deref() != Some(expected) {
            findings.push(finding(
                Code::EvidenceAltered,
                sums::FILE,
                format!(
                    "the bundle's digest (the SHA-256 of SHA256SUMS) is {}, not {expected} as demanded",
                    sha256.as_deref().unwrap_or("absent")
                ),
            ));
        }
    }
    let listed = read_sums(dir, findings);
    let (altered, missing, extra) = sums::compare(&listed, &actual);
    for f in altered {
        findings.push(finding(
            Code::EvidenceAltered,
            &f,
            "its SHA-256 is not the one SHA256SUMS lists",
        ));
    }
    for f in missing {
        findings.push(finding(
            Code::EvidenceMissing,
            &f,
            "listed in SHA256SUMS, absent",
        ));
    }
    for f in extra {
        findings.push(finding(Code::EvidenceExtra, &f, "not listed in SHA256SUMS"));
    }
    Ok(Sums { sha256, listed })
}

/// What `SHA256SUMS` lists; nothing, and a finding, when it is missing or not well formed.
fn read_sums(dir: &Path, findings: &mut Vec<Finding>) -> BTreeMap<String, String> {
    match read_file(&dir.join(sums::FILE)).map(|b| String::from_utf8_lossy(&b).into_owned()) {
        None => {
            findings.push(finding(Code::EvidenceMissing, sums::FILE, "missing"));
            BTreeMap::new()
        }
        Some(text) => sums::parse(&text).unwrap_or_else(|e| {
            findings.push(finding(Code::EvidenceMalformed, sums::FILE, e.to_string()));
            BTreeMap::new()
        }),
    }
}

/// Steps 2 to 4 for a bundle of one repository, whose evidence is at the top of the bundle.
async fn check_single(
    dir: &Path,
    expected_root: Option<&str>,
    public_key: Option<&[u8]>,
) -> StepsFound {
    let piece = check_piece(dir, "", expected_root, public_key).await;
    StepsFound {
        recorded_result: piece.summary.recorded_result,
        reference_time: piece.report.as_ref().map(|r| r.reference_time.to_rfc3339()),
        time_verified: piece
            .statement
            .as_ref()
            .map(|s| s.predicate.time_verified.clone()),
        statements: piece
            .statement
            .map(|s| (STATEMENT_FILE.to_owned(), s))
            .into_iter()
            .collect(),
        trusted_root_sha512: piece.summary.trusted_root_sha512.clone(),
        reverified: piece.summary.reverified,
        signed_by: piece.summary.signed_by.clone(),
        signature_verified: piece.summary.signature_verified,
        repositories: Vec::new(),
        findings: piece.findings,
    }
}

/// What steps 2 to 5 found.
#[derive(Default)]
struct StepsFound {
    recorded_result: Option<VerificationResult>,
    reference_time: Option<String>,
    time_verified: Option<String>,
    /// Each statement read, by its name in the bundle.
    statements: Vec<(String, Statement)>,
    trusted_root_sha512: Option<String>,
    reverified: Option<Verdict>,
    signed_by: Vec<String>,
    signature_verified: bool,
    repositories: Vec<RepoCheck>,
    findings: Vec<Finding>,
}

/// The check of one repository's evidence, and what later steps need from it.
struct Piece {
    summary: RepoCheck,
    findings: Vec<Finding>,
    statement: Option<Statement>,
    report: Option<Report>,
    /// `releases.json` as recorded.
    releases: Option<Value>,
    /// The tracks recomputed from the recorded manifest.
    tracks: Option<Vec<Track>>,
}

/// Steps 2 to 4 for the evidence of one repository, at `prefix` (`""`, or
/// `repositories/<dir>/`) of the bundle.
async fn check_piece(
    dir: &Path,
    prefix: &str,
    expected_root: Option<&str>,
    public_key: Option<&[u8]>,
) -> Piece {
    let base = dir.join(prefix);
    let at = Files {
        base: &base,
        prefix,
    };
    let mut findings = Vec::new();
    // 2. The statement, the report and the anchor, each well formed and agreeing.
    let recorded = Recorded::read(&at, &mut findings);
    let root_bytes = at.read(ROOT_FILE);
    let root_sha512 = root_bytes.as_deref().map(sha512_hex);
    if let (Some(s), Some(r)) = (&recorded.statement, &recorded.report) {
        findings.extend(statement_agrees(&at, s, r, &recorded.images));
    }
    if let Some(bytes) = &root_bytes {
        findings.extend(root_agrees(&at, bytes, &recorded, expected_root));
    }
    let signature = signature_of(&at, public_key, &mut findings);

    // 3. The metadata verified again from the recorded anchor at the recorded time, offline.
    let (reverified, recomputed) = check_again(&at, &recorded, root_bytes, &mut findings).await;
    findings.extend(missing_files(
        &at,
        &recorded,
        root_sha512.is_some(),
        &findings,
    ));
    Piece {
        summary: RepoCheck {
            name: String::new(),
            dir: prefix.trim_end_matches('/').to_owned(),
            recorded_result: recorded
                .statement
                .as_ref()
                .map(|s| s.predicate.verification_result),
            trusted_root_sha512: root_sha512,
            reverified,
            signed_by: signature.signed_by,
            signature_verified: signature.verified,
        },
        findings,
        statement: recorded.statement,
        report: recorded.report,
        releases: recorded.releases,
        tracks: recomputed,
    }
}

/// Steps 3 and 4 for one repository's evidence: its metadata verified again, and its releases
/// recomputed. Returns the verdict of verifying again and the recomputed tracks.
async fn check_again(
    at: &Files<'_>,
    recorded: &Recorded,
    root_bytes: Option<Vec<u8>>,
    findings: &mut Vec<Finding>,
) -> (Option<Verdict>, Option<Vec<Track>>) {
    let mut reverified = None;
    let mut recomputed = None;
    if let (Some(r), Some(bytes)) = (&recorded.report, root_bytes) {
        match reverify(at.base, r, bytes).await {
            Ok(fresh) => {
                let statement = recorded.statement.as_ref();
                findings.extend(compare_reverified(at.prefix, r, &fresh, statement));
                // 4. The releases, from the recorded manifest.
                if let Some(repo) = &fresh.listing {
                    let releases = recorded.releases.as_ref();
                    recomputed = check_releases(at.base, at.prefix, r, repo, releases, findings);
                }
                reverified = Some(fresh.report.verdict);
            }
            Err(e) => findings.push(finding(
                Code::EvidenceInconsistent,
                &at.name(METADATA_DIR),
                format!("cannot be verified again: {e}"),
            )),
        }
    }
    (reverified, recomputed)
}

/// The files of one repository's evidence: where they are, and how findings name them.
struct Files<'a> {
    base: &'a Path,
    prefix: &'a str,
}

impl Files<'_> {
    /// A file of the evidence, when it is there and a regular file within the limit.
    fn read(&self, rel: &str) -> Option<Vec<u8>> {
        read_file(&self.base.join(rel))
    }

    /// A file's name in the bundle.
    fn name(&self, rel: &str) -> String {
        format!("{}{rel}", self.prefix)
    }
}

/// What a repository's evidence records, each file read when it is there and well formed.
struct Recorded {
    statement: Option<Statement>,
    report: Option<Report>,
    /// `releases.json` as recorded.
    releases: Option<Value>,
    /// The images `releases.json` lists.
    images: Vec<TargetReport>,
}

impl Recorded {
    /// Read the statement, the report and the releases; a file that is not well formed is a
    /// finding.
    fn read(at: &Files<'_>, findings: &mut Vec<Finding>) -> Self {
        let mut malformed = |file: &str, why: String| {
            findings.push(finding(Code::EvidenceMalformed, &at.name(file), why))
        };
        let statement = at.read(STATEMENT_FILE).and_then(|b| {
            serde_json::from_slice::<Statement>(&b)
                .map_err(|e| e.to_string())
                .and_then(|s| s.check().map(|()| s).map_err(|e| e.to_string()))
                .map_err(|e| malformed(STATEMENT_FILE, e))
                .ok()
        });
        let report = at.read(REPORT_FILE).and_then(|b| {
            serde_json::from_slice::<Report>(&b)
                .map_err(|e| malformed(REPORT_FILE, e.to_string()))
                .ok()
        });
        let releases = at.read(RELEASES_FILE).and_then(|b| {
            serde_json::from_slice::<Value>(&b)
                .map_err(|e| malformed(RELEASES_FILE, e.to_string()))
                .ok()
        });
        let images = match releases.as_ref().map(|v| v.get("images").cloned()) {
            None => Vec::new(),
            Some(images) => {
                serde_json::from_value(images.unwrap_or(Value::Null)).unwrap_or_else(|e| {
                    malformed(RELEASES_FILE, format!("images: {e}"));
                    Vec::new()
                })
            }
        };
        Recorded {
            statement,
            report,
            releases,
            images,
        }
    }
}

/// The statement against the report: its result, resource, time, and every subject a metadata
/// file of the bundle (each digest recomputed) or a target the report verified or an image
/// `releases.json` lists, with these digests.
fn statement_agrees(
    at: &Files<'_>,
    s: &Statement,
    r: &Report,
    images: &[TargetReport],
) -> Vec<Finding> {
    let statement_name = at.name(STATEMENT_FILE);
    let inconsistent = |why: String| finding(Code::EvidenceInconsistent, &statement_name, why);
    let mut found = Vec::new();
    if s.predicate.verification_result != VerificationResult::of(r.verdict) {
        found.push(inconsistent(format!(
            "says {} but the report's verdict is {:?}",
            s.predicate.verification_result, r.verdict
        )));
    }
    // Bundles made before the report recorded a resource URI named the metadata URL.
    let resource = r
        .repository
        .resource_uri
        .as_ref()
        .unwrap_or(&r.repository.metadata_url);
    if &s.predicate.resource_uri != resource {
        found.push(inconsistent(
            "resourceUri is not the repository's, as the report names it".to_owned(),
        ));
    }
    found.extend(times_agree(s, r).map(inconsistent));
    for subject in &s.subject {
        let metadata_file = subject
            .name
            .strip_prefix(METADATA_DIR)
            .is_some_and(|rest| rest.starts_with('/'));
        let matches = if metadata_file {
            // A metadata file of the bundle: every digest recomputed from its bytes.
            at.read(&subject.name).is_some_and(|b| {
                !subject.digest.is_empty()
                    && subject.digest.iter().all(|(alg, hex)| match alg.as_str() {
                        "sha256" => &sha256_hex(&b) == hex,
                        "sha512" => &sha512_hex(&b) == hex,
                        _ => false,
                    })
            })
        } else {
            let same = |t: &TargetReport| t.name == subject.name && t.hashes == subject.digest;
            r.targets.iter().any(|t| t.verified && same(t)) || images.iter().any(same)
        };
        if !matches {
            found.push(inconsistent(format!(
                "subject {:?} is neither a target the report verified nor an image releases.json lists, with these digests",
                subject.name
            )));
        }
    }
    found
}

/// The statement's times against the report's: `timeVerified` is when the verification started
/// and `policy.annotations.referenceTime` the reference time. Bundles made before the statement
/// had annotations held the reference time in `timeVerified`.
fn times_agree(s: &Statement, r: &Report) -> Option<String> {
    let parse = |t: &str| {
        chrono::DateTime::parse_from_rfc3339(t)
            .map(|t| t.with_timezone(&chrono::Utc))
            .ok()
    };
    let time_verified = parse(&s.predicate.time_verified);
    let Some(a) = &s.predicate.policy.annotations else {
        return (time_verified != Some(r.reference_time))
            .then(|| "timeVerified is not the report's reference time".to_owned());
    };
    if parse(&a.reference_time) != Some(r.reference_time) {
        return Some(
            "policy.annotations.referenceTime is not the report's reference time".to_owned(),
        );
    }
    (time_verified != Some(r.started_at))
        .then(|| "timeVerified is not when the report's verification started".to_owned())
}

/// Step 6: the statements against what the auditor demands, as slsa-verifier's `verify-vsa`
/// does (`--verifier-id`, `--resource-uri`, `--subject-digest`): every statement by the verifier
/// demanded; each resource demanded the one of a statement; each subject demanded named, with
/// its SHA-256, by a statement that passed (about a resource demanded, when some are). A
/// statement that could not be read meets no demand.
fn demands_met(demands: &Demands, statements: &[(String, Statement)]) -> Vec<Finding> {
    let mismatch = |file: &str, why: String| finding(Code::EvidenceMismatch, file, why);
    let mut found = Vec::new();
    if let Some(id) = &demands.verifier_id {
        for (file, s) in statements
            .iter()
            .filter(|(_, s)| &s.predicate.verifier.id != id)
        {
            found.push(mismatch(
                file,
                format!(
                    "verifier.id is {:?}, not the {id:?} demanded",
                    s.predicate.verifier.id
                ),
            ));
        }
    }
    let demanded_resource = |s: &Statement| {
        demands.resource_uris.is_empty()
            || demands.resource_uris.contains(&s.predicate.resource_uri)
    };
    let statements_file = || match statements {
        [(file, _)] => file.clone(),
        _ => STATEMENT_FILE.to_owned(),
    };
    for uri in &demands.resource_uris {
        if !statements
            .iter()
            .any(|(_, s)| &s.predicate.resource_uri == uri)
        {
            found.push(mismatch(
                &statements_file(),
                format!("no statement's resourceUri is the {uri:?} demanded"),
            ));
        }
    }
    for d in &demands.subjects {
        let names = |s: &Statement| {
            s.subject.iter().any(|x| {
                x.name == d.name
                    && d.sha256
                        .as_ref()
                        .is_none_or(|h| x.digest.get("sha256") == Some(h))
            })
        };
        let passed = |s: &Statement| s.predicate.verification_result == VerificationResult::Passed;
        if !statements
            .iter()
            .any(|(_, s)| demanded_resource(s) && passed(s) && names(s))
        {
            let shown = match &d.sha256 {
                Some(h) => format!("{}@sha256:{h}", d.name),
                None => d.name.clone(),
            };
            found.push(mismatch(
                &statements_file(),
                format!("no statement that passed (about a resource demanded) names the subject {shown:?}"),
            ));
        }
    }
    found
}

/// The anchor against the statement's policy, the report, and the SHA-512 the auditor demands.
fn root_agrees(
    at: &Files<'_>,
    bytes: &[u8],
    recorded: &Recorded,
    expected_root: Option<&str>,
) -> Vec<Finding> {
    let root_name = at.name(ROOT_FILE);
    let sha = sha512_hex(bytes);
    let mut found = Vec::new();
    if let Some(s) = &recorded.statement {
        let policy = &s.predicate.policy;
        if policy.digest.get("sha512") != Some(&sha)
            || policy.digest.get("sha256") != Some(&sha256_hex(bytes))
        {
            found.push(finding(
                Code::EvidenceInconsistent,
                &root_name,
                "its SHA-512 is not the one the statement's policy names",
            ));
        }
        let names_by_digest = policy.uri.starts_with("ni:");
        if names_by_digest && policy.uri != super::ni_uri(&crate::digest::sha256(bytes)) {
            found.push(finding(
                Code::EvidenceInconsistent,
                &root_name,
                "its SHA-256 is not the one the statement's policy.uri names",
            ));
        }
    }
    if let Some(r) = &recorded.report {
        if r.trusted_root.sha512 != sha {
            found.push(finding(
                Code::EvidenceInconsistent,
                &root_name,
                "its SHA-512 is not the one the report names",
            ));
        }
    }
    if let Some(expected) = expected_root.filter(|e| *e != sha) {
        found.push(finding(
            Code::UntrustedRoot,
            &root_name,
            format!("its SHA-512 is {sha}, not the {expected} demanded"),
        ));
    }
    found
}

/// Who signed a statement, and whether the public key given verified it.
struct StatementSignature {
    signed_by: Vec<String>,
    verified: bool,
}

/// The signature over the statement: its payload is the statement's bytes, and, with a public
/// key, one of its signatures verifies.
fn signature_of(
    at: &Files<'_>,
    public_key: Option<&[u8]>,
    findings: &mut Vec<Finding>,
) -> StatementSignature {
    let mut check = StatementSignature {
        signed_by: Vec::new(),
        verified: false,
    };
    let envelope_name = at.name(dsse::FILE);
    let Some(env) = read_envelope(at, &envelope_name, public_key.is_some(), findings) else {
        return check;
    };
    check.signed_by = env.signatures.iter().map(|s| s.keyid.clone()).collect();
    if env.payload_bytes().ok() != at.read(STATEMENT_FILE) {
        findings.push(finding(
            Code::EvidenceInconsistent,
            &envelope_name,
            "its payload is not statement.json",
        ));
    }
    let Some(key) = public_key else {
        return check;
    };
    match env.verified_by(key) {
        Ok(true) => {
            check.verified = true;
            check.signed_by = vec![sha256_hex(key)];
        }
        Ok(false) => findings.push(finding(
            Code::EvidenceSignature,
            &envelope_name,
            "no signature verifies with the public key given",
        )),
        Err(e) => findings.push(finding(
            Code::EvidenceMalformed,
            &envelope_name,
            e.to_string(),
        )),
    }
    check
}

/// The DSSE envelope over the statement, when it is there and well formed; a finding when it is
/// not well formed, or missing though a public key was given.
fn read_envelope(
    at: &Files<'_>,
    envelope_name: &str,
    key_given: bool,
    findings: &mut Vec<Finding>,
) -> Option<dsse::Envelope> {
    let Some(bytes) = at.read(dsse::FILE) else {
        if key_given {
            findings.push(finding(
                Code::EvidenceSignature,
                envelope_name,
                "missing: the bundle is not signed, and a public key was given",
            ));
        }
        return None;
    };
    match serde_json::from_slice::<dsse::Envelope>(&bytes) {
        Ok(env) => Some(env),
        Err(e) => {
            findings.push(finding(
                Code::EvidenceMalformed,
                envelope_name,
                e.to_string(),
            ));
            None
        }
    }
}

/// The files a repository's evidence must hold and does not, unless a finding names them
/// already; `releases.json` when the bundle holds the manifest.
fn missing_files(
    at: &Files<'_>,
    recorded: &Recorded,
    root_present: bool,
    findings: &[Finding],
) -> Vec<Finding> {
    let mut found = Vec::new();
    for (file, present) in [
        (STATEMENT_FILE, recorded.statement.is_some()),
        (REPORT_FILE, recorded.report.is_some()),
        (ROOT_FILE, root_present),
    ] {
        let file = at.name(file);
        if !present && !findings.iter().any(|f| f.target.as_deref() == Some(&file)) {
            found.push(finding(Code::EvidenceMissing, &file, "missing"));
        }
    }
    if recorded.releases.is_none() && at.read(MANIFEST_FILE).is_some() {
        found.push(finding(
            Code::EvidenceMissing,
            &at.name(RELEASES_FILE),
            "missing, though the bundle holds targets/manifest.json",
        ));
    }
    found
}

/// What the metadata verified again must give: the findings the report records about the roles
/// (not about targets, which the check does not download), the recorded roles, and every target
/// subject listed with its SHA-256.
fn compare_reverified(
    prefix: &str,
    recorded: &Report,
    fresh: &Verification,
    statement: Option<&Statement>,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    findings.extend(findings_differ(prefix, recorded, fresh));
    let roles = |x: &Report| {
        let mut v: Vec<(String, u64, String)> = x
            .roles
            .iter()
            .map(|o| (o.role.clone(), o.version, o.sha256.clone()))
            .collect();
        v.sort();
        v
    };
    if roles(recorded) != roles(&fresh.report) {
        findings.push(finding(
            Code::EvidenceInconsistent,
            &format!("{prefix}{REPORT_FILE}"),
            "its roles (names, versions, bytes) are not those of the metadata",
        ));
    }
    findings.extend(subjects_unlisted(prefix, fresh, statement));
    findings
}

/// The findings about the roles the metadata verified again gives, against those the report
/// records: when they differ, one finding that names each difference.
fn findings_differ(prefix: &str, recorded: &Report, fresh: &Verification) -> Option<Finding> {
    let key = |f: &Finding| (f.code, f.severity, f.role.clone());
    let of = |fs: &[Finding]| {
        let mut v: Vec<(Code, Severity, Option<String>)> =
            fs.iter().filter(|f| f.target.is_none()).map(key).collect();
        v.sort();
        v.dedup();
        v
    };
    let (was, now) = (of(&recorded.findings), of(&fresh.report.findings));
    if was == now {
        return None;
    }
    // Name what differs, with the fresh finding's own words and file, so that the file at
    // fault is named.
    let mut differences: Vec<String> = fresh
        .report
        .findings
        .iter()
        .filter(|f| f.target.is_none() && !was.contains(&key(f)))
        .map(|f| {
            let at = f
                .url
                .as_deref()
                .map(|u| format!(" at {u}"))
                .unwrap_or_default();
            format!("now {}{}: {}", describe(&key(f)), at, f.message)
        })
        .collect();
    differences.extend(
        was.iter()
            .filter(|k| !now.contains(k))
            .map(|k| format!("recorded {}, not found now", describe(k))),
    );
    Some(finding(
        Code::EvidenceInconsistent,
        &format!("{prefix}{METADATA_DIR}"),
        format!(
            "verified again at {}, the metadata gives other findings than the report records: {}",
            recorded.reference_time,
            differences.join("; ")
        ),
    ))
}

/// The statement's target subjects that the verified targets metadata does not list with their
/// SHA-256.
fn subjects_unlisted(
    prefix: &str,
    fresh: &Verification,
    statement: Option<&Statement>,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    if let (Some(repo), Some(s)) = (&fresh.listing, statement) {
        for subject in s
            .subject
            .iter()
            .filter(|x| !x.name.starts_with(METADATA_DIR))
        {
            let listed = crate::engine::targets::listed(repo, &subject.name);
            if listed.is_none_or(|t| t.hashes.get("sha256") != subject.digest.get("sha256")) {
                findings.push(finding(
                    Code::EvidenceInconsistent,
                    &format!("{prefix}{STATEMENT_FILE}"),
                    format!(
                        "subject {:?}: the verified targets metadata does not list it with this sha256",
                        subject.name
                    ),
                ));
            }
        }
    }
    findings
}

/// A finding's kind for a person: `error hash_mismatch [snapshot]`.
fn describe((code, severity, role): &(Code, Severity, Option<String>)) -> String {
    let role = role
        .as_deref()
        .map(|r| format!(" [{r}]"))
        .unwrap_or_default();
    format!("{} {}{role}", severity.as_str(), code.as_str())
}

/// Step 4: the recorded manifest must be the one the verified targets metadata lists, and
/// `releases.json` what it says at the reference time. Returns the recomputed tracks.
fn check_releases(
    base: &Path,
    prefix: &str,
    report: &Report,
    repo: &crate::engine::targets::Listing,
    recorded: Option<&Value>,
    findings: &mut Vec<Finding>,
) -> Option<Vec<Track>> {
    let recorded = recorded?;
    let releases_name = format!("{prefix}{RELEASES_FILE}");
    let manifest_name = format!("{prefix}{MANIFEST_FILE}");
    let (bytes, signed) = signed_manifest(base, &manifest_name, repo, findings)?;
    findings.extend(manifest_read_agrees(
        &releases_name,
        report,
        recorded,
        &signed,
    ));
    let from = match recorded.get("from") {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_str().map(semver::Version::parse) {
            Some(Ok(version)) => Some(version),
            _ => {
                findings.push(finding(
                    Code::EvidenceMalformed,
                    &releases_name,
                    "from: not a version",
                ));
                return None;
            }
        },
    };
    let parsed = match manifest::parse(&bytes) {
        Ok(m) => m,
        Err(e) => {
            findings.push(finding(
                Code::EvidenceInconsistent,
                &manifest_name,
                format!("cannot be read: {e}"),
            ));
            return None;
        }
    };
    let mut tracks = tracks(&parsed, report.reference_time, from.as_ref());
    retain_own(
        &mut tracks,
        report.repository.variant.as_deref(),
        report.repository.arch.as_deref(),
    );
    findings.extend(releases_agree(
        &releases_name,
        report,
        repo,
        recorded,
        &tracks,
    ));
    Some(tracks)
}

/// The recorded manifest's bytes, when they have the length and hashes the verified targets
/// metadata lists, with that listing; otherwise a finding.
fn signed_manifest(
    base: &Path,
    manifest_name: &str,
    repo: &crate::engine::targets::Listing,
    findings: &mut Vec<Finding>,
) -> Option<(Vec<u8>, TargetReport)> {
    let Some(bytes) = read_file(&base.join(MANIFEST_FILE)) else {
        findings.push(finding(
            Code::EvidenceMissing,
            manifest_name,
            "missing, though releases.json records releases",
        ));
        return None;
    };
    let signed = crate::engine::targets::listed(repo, "manifest.json").filter(|t| {
        t.length == bytes.len() as u64
            && !t.hashes.is_empty()
            && t.hashes.iter().all(|(alg, hex)| match alg.as_str() {
                "sha256" => &sha256_hex(&bytes) == hex,
                "sha512" => &sha512_hex(&bytes) == hex,
                _ => true,
            })
    });
    let Some(signed) = signed else {
        findings.push(finding(
            Code::EvidenceInconsistent,
            manifest_name,
            "not the manifest.json the verified targets metadata lists (length, hashes)",
        ));
        return None;
    };
    Some((bytes, signed))
}

/// What `releases.json` says of the manifest it read and of when: the length and hashes the
/// verified targets metadata lists, and the report's reference time.
fn manifest_read_agrees(
    releases_name: &str,
    report: &Report,
    recorded: &Value,
    signed: &TargetReport,
) -> Vec<Finding> {
    let inconsistent = |message: &str| finding(Code::EvidenceInconsistent, releases_name, message);
    let mut found = Vec::new();
    let recorded_manifest = recorded
        .get("manifest")
        .cloned()
        .and_then(|v| serde_json::from_value::<TargetReport>(v).ok());
    if recorded_manifest.is_none_or(|m| m.length != signed.length || m.hashes != signed.hashes) {
        found.push(inconsistent(
            "manifest: not the length and hashes the verified targets metadata lists",
        ));
    }
    let observed = recorded
        .get("observed_at")
        .and_then(Value::as_str)
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&chrono::Utc));
    if observed != Some(report.reference_time) {
        found.push(inconsistent("observed_at: not the report's reference time"));
    }
    found
}

/// The releases recomputed from the manifest against what `releases.json` records: the tracks,
/// and the images of those releases as the verified targets metadata lists them.
fn releases_agree(
    releases_name: &str,
    report: &Report,
    repo: &crate::engine::targets::Listing,
    recorded: &Value,
    tracks: &[Track],
) -> Vec<Finding> {
    let inconsistent =
        |message: String| finding(Code::EvidenceInconsistent, releases_name, message);
    let mut found = Vec::new();
    if serde_json::to_value(tracks).ok().as_ref() != recorded.get("tracks") {
        found.push(inconsistent(format!(
            "tracks: not what the manifest says at {}",
            report.reference_time
        )));
    }
    let images = release_images(repo, tracks);
    if serde_json::to_value(&images).ok().as_ref() != recorded.get("images") {
        found.push(inconsistent(
            "images: not the images of the releases checked as the verified targets metadata lists them"
                .to_owned(),
        ));
    }
    found
}

/// Steps 2 to 5 for a bundle of a job. `job.json` is read into the types that wrote it: a
/// field renamed on one side is a malformed bundle, never a check that silently passes.
async fn check_job(
    dir: &Path,
    expected_root: Option<&str>,
    public_key: Option<&[u8]>,
) -> StepsFound {
    let mut out = StepsFound::default();
    let job: JobReport = match crate::source::read_at_most(&dir.join(JOB_FILE), sums::MAX_FILE)
        .map_err(|e| e.to_string())
        .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))
    {
        Ok(job) => job,
        Err(e) => {
            out.findings
                .push(finding(Code::EvidenceMalformed, JOB_FILE, e));
            return out;
        }
    };
    out.reference_time = Some(job.reference_time.to_rfc3339());
    out.time_verified = Some(job.started_at.to_rfc3339());
    out.recorded_result = Some(VerificationResult::of(job.verdict));
    // The verdict is what its findings give under its fail_on (a trust finding always fails,
    // a waived one never counts).
    let judged = crate::report::verdict_under(job.all_findings().into_iter(), &job.fail_on);
    if judged != job.verdict {
        out.findings.push(finding(
            Code::EvidenceInconsistent,
            JOB_FILE,
            format!(
                "verdict: {:?} is recorded, and its findings under fail_on give {judged:?}",
                job.verdict
            ),
        ));
    }
    let mut named: BTreeSet<String> = BTreeSet::new();
    let mut all_tracks: Vec<Track> = Vec::new();
    let mut anchors: BTreeSet<Option<String>> = BTreeSet::new();
    let mut all_signed = true;
    for (i, entry) in job.repositories.iter().enumerate() {
        let Some(evidence_dir) = own_dir(&mut out, i, entry, &mut named) else {
            continue;
        };
        let piece = check_piece(dir, &format!("{evidence_dir}/"), expected_root, public_key).await;
        out.findings.extend(piece.findings.iter().cloned());
        out.findings
            .extend(entry_agrees(i, entry, evidence_dir, &piece));
        all_tracks.extend(piece.tracks.iter().flatten().cloned());
        anchors.insert(piece.summary.trusted_root_sha512.clone());
        all_signed &= piece.summary.signature_verified;
        out.reverified = match (out.reverified, piece.summary.reverified) {
            (Some(Verdict::Pass) | None, Some(v)) => Some(v),
            (worst, _) => worst,
        };
        for k in &piece.summary.signed_by {
            if !out.signed_by.contains(k) {
                out.signed_by.push(k.clone());
            }
        }
        if let Some(s) = piece.statement {
            out.statements
                .push((format!("{evidence_dir}/{STATEMENT_FILE}"), s));
        }
        out.repositories.push(RepoCheck {
            name: entry.name.clone(),
            ..piece.summary
        });
    }
    out.signature_verified = all_signed && !out.repositories.is_empty() && public_key.is_some();
    if let [Some(one)] = anchors.iter().collect::<Vec<_>>().as_slice() {
        out.trusted_root_sha512 = Some(one.to_owned().clone());
    }
    out.findings.extend(unnamed_evidence(dir, &named));
    out.findings.extend(cross_check_agrees(&job, &all_tracks));
    out
}

/// The directory of a repository's evidence that `job.json` names: a directory of its own under
/// `repositories/`. A repository verified without one is malformed.
fn own_dir<'a>(
    out: &mut StepsFound,
    i: usize,
    entry: &'a RepoResult,
    named: &mut BTreeSet<String>,
) -> Option<&'a str> {
    let malformed = |why: &str| {
        finding(
            Code::EvidenceMalformed,
            JOB_FILE,
            format!("repositories[{i}]: {why}"),
        )
    };
    let Some(evidence_dir) = entry.evidence_dir.as_deref() else {
        if entry.releases.is_some() {
            out.findings
                .push(malformed("verified, but names no evidence_dir"));
        }
        return None;
    };
    let plain = evidence_dir
        .strip_prefix(REPOSITORIES_DIR)
        .and_then(|rest| rest.strip_prefix('/'))
        .is_some_and(super::plain_name);
    if !plain || !named.insert(evidence_dir.to_owned()) {
        out.findings.push(malformed(
            "evidence_dir: not a directory of its own under repositories/",
        ));
        return None;
    }
    Some(evidence_dir)
}

/// What `job.json` says of a repository against what its own evidence gives: its verdict, the
/// reference time, its tracks.
fn entry_agrees(i: usize, entry: &RepoResult, evidence_dir: &str, piece: &Piece) -> Vec<Finding> {
    let name = &entry.name;
    let inconsistent = |what: String| {
        finding(
            Code::EvidenceInconsistent,
            JOB_FILE,
            format!("repositories[{i}] ({name}): {what}"),
        )
    };
    let mut found = Vec::new();
    let recorded = entry.releases.as_ref();
    if let Some(r) = &piece.report {
        if recorded.map(|x| x.verdict) != Some(r.verdict) {
            found.push(inconsistent(format!(
                "its verdict is not the one of {evidence_dir}/{REPORT_FILE}"
            )));
        }
        // Each repository is judged at its own reference time: the job's, with --at; the
        // moment its verification started, without.
        if recorded.map(|x| x.verification.reference_time) != Some(r.reference_time) {
            found.push(inconsistent(format!(
                "the reference time is not the one of {evidence_dir}/{REPORT_FILE}"
            )));
        }
    }
    let piece_tracks = piece
        .releases
        .as_ref()
        .and_then(|x| x.get("tracks"))
        .cloned()
        .unwrap_or(Value::Array(Vec::new()));
    let recorded_tracks = recorded.map(|x| serde_json::to_value(&x.tracks).ok());
    if recorded_tracks.is_some_and(|t| t.as_ref() != Some(&piece_tracks)) {
        found.push(inconsistent(format!(
            "its tracks are not those of {evidence_dir}/{RELEASES_FILE}"
        )));
    }
    found
}

/// A repository's evidence in the bundle that `job.json` does not name.
fn unnamed_evidence(dir: &Path, named: &BTreeSet<String>) -> Vec<Finding> {
    let Ok(list) = std::fs::read_dir(dir.join(REPOSITORIES_DIR)) else {
        return Vec::new();
    };
    list.flatten()
        .map(|e| format!("{REPOSITORIES_DIR}/{}", e.file_name().to_string_lossy()))
        .filter(|d| !named.contains(d))
        .map(|d| {
            finding(
                Code::EvidenceExtra,
                &d,
                "a repository's evidence that job.json does not name",
            )
        })
        .collect()
}

/// 5. The SSM cross-check, recomputed from the recorded observations and the releases.
fn cross_check_agrees(job: &JobReport, all_tracks: &[Track]) -> Option<Finding> {
    let ssm = job.ssm.as_ref().filter(|s| s.cross_checked)?;
    let mut rows =
        crate::ssm::check::cross_check(&one_per_track(all_tracks.iter()), &ssm.observations);
    // A bundle of an earlier tufwatch records no `behind_since`: compare what it records.
    for (row, recorded) in rows.iter_mut().zip(&ssm.cross_check) {
        if recorded.behind_since.is_none() {
            row.behind_since = None;
        }
    }
    (rows != ssm.cross_check).then(|| {
        finding(
            Code::EvidenceInconsistent,
            JOB_FILE,
            "ssm.cross_check: not what the recorded SSM observations and the signed manifests give",
        )
    })
}

/// Verify a repository's evidence again: its anchor, its files, the recorded reference time, no
/// state, no network (the metadata URL is the bundle's own directory).
async fn reverify(base: &Path, recorded: &Report, root: Vec<u8>) -> Result<Verification> {
    let root = TrustedRoot::parse(&base.join(ROOT_FILE).display().to_string(), root)?;
    let metadata = base.join(METADATA_DIR);
    let abs = metadata.canonicalize().map_err(|source| Error::Read {
        what: "evidence metadata",
        path: metadata.clone(),
        source,
    })?;
    let url = url::Url::from_directory_path(&abs).map_err(|()| Error::Invalid {
        what: "evidence bundle",
        path: abs.display().to_string(),
        message: "not a directory path".to_owned(),
    })?;
    let options = VerifyOptions {
        metadata_url: url.clone(),
        targets_url: url,
        variant: recorded.repository.variant.clone(),
        arch: recorded.repository.arch.clone(),
        at: Some(recorded.reference_time),
        expiry_warning: chrono::Duration::try_seconds(recorded.expiry_warning_seconds).ok_or_else(
            || Error::Invalid {
                what: "evidence report",
                path: REPORT_FILE.to_owned(),
                message: "expiry_warning_seconds: out of range".to_owned(),
            },
        )?,
        // The files are the bundle's own, already bounded by it: no limit tighter than the run's.
        limits: tough::Limits {
            max_root_size: 1 << 30,
            max_targets_size: 1 << 30,
            max_timestamp_size: 1 << 30,
            max_snapshot_size: 1 << 30,
            max_root_updates: 1024,
        },
        targets: TargetSelection::None,
        out_dir: None,
        state_root: None,
        net: NetOptions::default(),
        progress: false,
        deadline: std::time::Duration::from_secs(600),
        // The engines the run used: a bundle made with both is checked with both.
        engines: match recorded.decided_by.as_deref() {
            Some("both") => crate::engine::Engines::Both,
            Some("strict") => crate::engine::Engines::Strict,
            _ => crate::engine::Engines::Tough,
        },
    };
    crate::engine::verify(&options, &root).await
}
