//! Audit evidence: a bundle that records what a verification used and found, and the offline
//! check of such a bundle.
//!
//! A bundle is a directory:
//!
//! ```text
//! trusted-root.json   the trust anchor the run started from, its exact bytes
//! metadata/<name>     every metadata file the verification used (and any it rejected), its
//!                     exact bytes, under its repository name (2.root.json, timestamp.json, ...)
//! report.json         the verification report (docs/report.md), with the reference time as its
//!                     start: the bundle holds no wall-clock time but the one the run judged at
//! statement.json      an in-toto Statement v1 with a SLSA VSA v1 predicate (statement.rs)
//! statement.dsse.json with --sign-key: a DSSE envelope of statement.json (dsse.rs)
//! SHA256SUMS          the SHA-256 of every other file
//! ```
//!
//! Checking a bundle needs no network: the sums, the statement against the report and the
//! anchor, then the metadata verified again from the recorded anchor at the recorded reference
//! time, from the bundle's own files.

pub mod dsse;
pub mod statement;
pub mod sums;

use crate::digest::{sha256_hex, sha512_hex};
use crate::engine::{TargetSelection, Verification, VerifyOptions};
use crate::error::{Error, Result};
use crate::report::{
    verdict_of, Code, Finding, Report, Severity, TargetReport, Verdict, REPORT_FORMAT,
};
use crate::source::pins::TrustedRoot;
use crate::source::transport::NetOptions;
use serde::Serialize;
use statement::{ResourceDescriptor, Statement, Subject, Verifier, Vsa};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The anchor's file.
pub const ROOT_FILE: &str = "trusted-root.json";
/// The report's file.
pub const REPORT_FILE: &str = "report.json";
/// The statement's file.
pub const STATEMENT_FILE: &str = "statement.json";
/// The metadata directory.
pub const METADATA_DIR: &str = "metadata";

/// The files of a bundle, path -> bytes, before they are written.
pub type Files = BTreeMap<String, Vec<u8>>;

fn json<T: Serialize>(value: &T) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(value).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

/// A metadata file name as the bundle keeps it: the last segment of its URL, which must be a
/// plain file name.
fn metadata_name(url: &str) -> Option<String> {
    let name = url.rsplit('/').next()?;
    let plain = !name.is_empty()
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'~' | b'%'));
    plain.then(|| name.to_owned())
}

/// The files of the bundle of a verification, and the manifest (or other targets) it checked.
pub fn files(verification: &Verification, root: &TrustedRoot, checked: &[TargetReport]) -> Files {
    let mut files = Files::new();
    files.insert(ROOT_FILE.to_owned(), root.bytes.clone());
    let c = &verification.collected;
    let loaded = c
        .rotations
        .iter()
        .map(|l| (&l.url, &l.bytes))
        .chain(c.timestamp.iter().map(|l| (&l.url, &l.bytes)))
        .chain(c.snapshot.iter().map(|l| (&l.url, &l.bytes)))
        .chain(c.targets.iter().map(|l| (&l.url, &l.bytes)))
        .chain(
            c.delegated
                .iter()
                .map(|d| (&d.metadata.url, &d.metadata.bytes)),
        )
        .chain(c.rejected_root.iter().map(|l| (&l.url, &l.bytes)))
        .chain(c.next_root.iter().map(|l| (&l.url, &l.bytes)));
    for (url, bytes) in loaded {
        if let Some(name) = metadata_name(url) {
            files
                .entry(format!("{METADATA_DIR}/{name}"))
                .or_insert_with(|| bytes.to_vec());
        }
    }
    let mut report = verification.report.clone();
    // No wall-clock time but the reference time: the same verification, the same bytes.
    report.started_at = report.reference_time;
    for t in checked {
        if !report.targets.iter().any(|x| x.name == t.name) {
            report.targets.push(t.clone());
        }
    }
    report.targets.sort_by(|a, b| a.name.cmp(&b.name));
    let statement = statement_of(&report, root, &files);
    files.insert(REPORT_FILE.to_owned(), json(&report));
    files.insert(STATEMENT_FILE.to_owned(), json(&statement));
    files
}

/// The statement of a report: the verified targets as subjects (or, when no target was checked,
/// the metadata files), the anchor as the policy.
pub fn statement_of(report: &Report, root: &TrustedRoot, files: &Files) -> Statement {
    let passed = report.verdict == Verdict::Pass;
    let mut subject: Vec<Subject> = report
        .targets
        .iter()
        .filter(|t| t.verified)
        .map(|t| Subject {
            name: t.name.clone(),
            digest: t.hashes.clone(),
        })
        .collect();
    if subject.is_empty() {
        subject = files
            .iter()
            .filter(|(p, _)| p.starts_with(METADATA_DIR))
            .map(|(p, b)| Subject {
                name: p.clone(),
                digest: BTreeMap::from([
                    ("sha256".to_owned(), sha256_hex(b)),
                    ("sha512".to_owned(), sha512_hex(b)),
                ]),
            })
            .collect();
    }
    subject.sort();
    Statement {
        type_: statement::STATEMENT_TYPE.to_owned(),
        subject,
        predicate_type: statement::VSA_TYPE.to_owned(),
        predicate: Vsa {
            verifier: Verifier {
                id: statement::VERIFIER_ID.to_owned(),
                version: BTreeMap::from([
                    ("tufwatch".to_owned(), env!("CARGO_PKG_VERSION").to_owned()),
                    (
                        "tough".to_owned(),
                        report.engine.trim_start_matches("tough ").to_owned(),
                    ),
                ]),
            },
            time_verified: report
                .reference_time
                .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
            resource_uri: report.repository.metadata_url.clone(),
            policy: ResourceDescriptor {
                uri: root.source.clone(),
                digest: BTreeMap::from([
                    ("sha256".to_owned(), sha256_hex(&root.bytes)),
                    ("sha512".to_owned(), root.sha512.clone()),
                ]),
            },
            verification_result: if passed { "PASSED" } else { "FAILED" }.to_owned(),
            verified_levels: vec![if passed {
                statement::LEVEL_VERIFIED
            } else {
                "FAILED"
            }
            .to_owned()],
            slsa_version: "1.0".to_owned(),
        },
    }
}

/// Write a bundle into `out`, which must not exist or be an empty directory. It is written
/// into a temporary directory beside `out`, then renamed: a bundle is complete or absent.
pub fn write(out: &Path, files: &Files) -> Result<()> {
    let error = |path: &Path, source| Error::Write {
        what: "evidence bundle",
        path: path.to_owned(),
        source,
    };
    if let Ok(mut entries) = std::fs::read_dir(out) {
        if entries.next().is_some() {
            return Err(Error::Argument {
                flag: "--out",
                message: format!(
                    "{} is not empty; a bundle goes into a new or empty directory",
                    out.display()
                ),
            });
        }
    }
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(|e| error(&parent, e))?;
    let tmp = tempfile::Builder::new()
        .prefix(".tufwatch-evidence-")
        .tempdir_in(&parent)
        .map_err(|e| error(&parent, e))?;
    let mut all = files.clone();
    let digests: BTreeMap<String, String> = all
        .iter()
        .map(|(p, b)| (p.clone(), sha256_hex(b)))
        .collect();
    all.insert(sums::FILE.to_owned(), sums::render(&digests).into_bytes());
    for (rel, bytes) in &all {
        let path = tmp.path().join(rel);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| error(dir, e))?;
        }
        std::fs::write(&path, bytes).map_err(|e| error(&path, e))?;
        std::fs::File::open(&path)
            .and_then(|f| f.sync_all())
            .map_err(|e| error(&path, e))?;
    }
    // A bundle is for others to read: the temporary directory's 0700 would stay otherwise.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755))
            .map_err(|e| error(tmp.path(), e))?;
    }
    if out.exists() {
        std::fs::remove_dir(out).map_err(|e| error(out, e))?;
    }
    let kept = tmp.keep();
    std::fs::rename(&kept, out).map_err(|e| {
        let _ = std::fs::remove_dir_all(&kept);
        error(out, e)
    })?;
    Ok(())
}

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
    /// The recorded result (`PASSED`, `FAILED`), when the statement could be read.
    pub recorded_result: Option<String>,
    /// The recorded reference time.
    pub reference_time: Option<String>,
    /// The anchor's SHA-512.
    pub trusted_root_sha512: Option<String>,
    /// The verdict of verifying the recorded metadata again, offline, at the reference time.
    pub reverified: Option<Verdict>,
    /// The key ids of the statement's DSSE signatures, when it is signed.
    pub signed_by: Vec<String>,
    /// Whether a signature was checked against the public key given (`--pubkey`).
    pub signature_verified: bool,
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

fn finding(code: Code, file: &str, message: impl Into<String>) -> Finding {
    Finding::error(code, format!("{file}: {}", message.into())).target(file)
}

/// Check a bundle offline. `expected_root` is an anchor SHA-512 the auditor demands.
pub async fn check(
    dir: &Path,
    expected_root: Option<&str>,
    public_key: Option<&[u8]>,
) -> Result<BundleCheck> {
    if !dir.is_dir() {
        return Err(Error::Argument {
            flag: "DIR",
            message: format!("{} is not a directory", dir.display()),
        });
    }
    let mut findings = Vec::new();
    let read = |rel: &str| std::fs::read(dir.join(rel)).ok();

    // 1. The sums: every file listed, none altered, none added.
    let actual = sums::digests(dir).map_err(|message| Error::Invalid {
        what: "evidence bundle",
        path: dir.display().to_string(),
        message,
    })?;
    let listed = match read(sums::FILE).map(|b| String::from_utf8_lossy(&b).into_owned()) {
        None => {
            findings.push(finding(Code::EvidenceMissing, sums::FILE, "missing"));
            BTreeMap::new()
        }
        Some(text) => sums::parse(&text).unwrap_or_else(|e| {
            findings.push(finding(Code::EvidenceMalformed, sums::FILE, e));
            BTreeMap::new()
        }),
    };
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

    // 2. The statement, the report and the anchor, each well formed and agreeing.
    let statement: Option<Statement> = match read(STATEMENT_FILE) {
        None => None,
        Some(b) => match serde_json::from_slice::<Statement>(&b)
            .map_err(|e| e.to_string())
            .and_then(|s| s.check().map(|()| s))
        {
            Ok(s) => Some(s),
            Err(e) => {
                findings.push(finding(Code::EvidenceMalformed, STATEMENT_FILE, e));
                None
            }
        },
    };
    let report: Option<Report> = match read(REPORT_FILE) {
        None => None,
        Some(b) => match serde_json::from_slice::<Report>(&b) {
            Ok(r) => Some(r),
            Err(e) => {
                findings.push(finding(Code::EvidenceMalformed, REPORT_FILE, e.to_string()));
                None
            }
        },
    };
    let root_bytes = read(ROOT_FILE);
    let root_sha512 = root_bytes.as_deref().map(sha512_hex);
    if let (Some(s), Some(r)) = (&statement, &report) {
        let result = if r.verdict == Verdict::Pass {
            "PASSED"
        } else {
            "FAILED"
        };
        if s.predicate.verification_result != result {
            findings.push(finding(
                Code::EvidenceInconsistent,
                STATEMENT_FILE,
                format!(
                    "says {} but the report's verdict is {:?}",
                    s.predicate.verification_result, r.verdict
                ),
            ));
        }
        if s.predicate.resource_uri != r.repository.metadata_url {
            findings.push(finding(
                Code::EvidenceInconsistent,
                STATEMENT_FILE,
                "resourceUri is not the report's metadata URL",
            ));
        }
        if chrono::DateTime::parse_from_rfc3339(&s.predicate.time_verified)
            .map(|t| t.with_timezone(&chrono::Utc))
            .ok()
            != Some(r.reference_time)
        {
            findings.push(finding(
                Code::EvidenceInconsistent,
                STATEMENT_FILE,
                "timeVerified is not the report's reference time",
            ));
        }
        for subject in &s.subject {
            let metadata_file = subject
                .name
                .strip_prefix(METADATA_DIR)
                .is_some_and(|rest| rest.starts_with('/'));
            let matches = if metadata_file {
                // A metadata file of the bundle: every digest recomputed from its bytes.
                read(&subject.name).is_some_and(|b| {
                    !subject.digest.is_empty()
                        && subject.digest.iter().all(|(alg, hex)| match alg.as_str() {
                            "sha256" => &sha256_hex(&b) == hex,
                            "sha512" => &sha512_hex(&b) == hex,
                            _ => false,
                        })
                })
            } else {
                r.targets
                    .iter()
                    .any(|t| t.name == subject.name && t.verified && t.hashes == subject.digest)
            };
            if !matches {
                findings.push(finding(
                    Code::EvidenceInconsistent,
                    STATEMENT_FILE,
                    format!(
                        "subject {:?} is not a target the report verified with these digests",
                        subject.name
                    ),
                ));
            }
        }
    }
    if let Some(sha) = &root_sha512 {
        if let Some(s) = &statement {
            let sha256 = root_bytes.as_deref().map(sha256_hex);
            if s.predicate.policy.digest.get("sha512") != Some(sha)
                || s.predicate.policy.digest.get("sha256") != sha256.as_ref()
            {
                findings.push(finding(
                    Code::EvidenceInconsistent,
                    ROOT_FILE,
                    "its SHA-512 is not the one the statement's policy names",
                ));
            }
        }
        if let Some(r) = &report {
            if &r.trusted_root.sha512 != sha {
                findings.push(finding(
                    Code::EvidenceInconsistent,
                    ROOT_FILE,
                    "its SHA-512 is not the one the report names",
                ));
            }
        }
        if let Some(expected) = expected_root {
            if expected != sha {
                findings.push(finding(
                    Code::UntrustedRoot,
                    ROOT_FILE,
                    format!("its SHA-512 is {sha}, not the {expected} demanded"),
                ));
            }
        }
    }

    // The signature over the statement: its payload is the statement's bytes, and, with a
    // public key, one of its signatures verifies.
    let mut signed_by = Vec::new();
    let mut signature_verified = false;
    match read(dsse::FILE) {
        Some(b) => match serde_json::from_slice::<dsse::Envelope>(&b) {
            Ok(env) => {
                signed_by = env.signatures.iter().map(|s| s.keyid.clone()).collect();
                if env.payload_bytes().ok() != read(STATEMENT_FILE) {
                    findings.push(finding(
                        Code::EvidenceInconsistent,
                        dsse::FILE,
                        "its payload is not statement.json",
                    ));
                }
                if let Some(key) = public_key {
                    match env.verified_by(key) {
                        Ok(true) => {
                            signature_verified = true;
                            signed_by = vec![sha256_hex(key)];
                        }
                        Ok(false) => findings.push(finding(
                            Code::EvidenceSignature,
                            dsse::FILE,
                            "no signature verifies with the public key given",
                        )),
                        Err(e) => findings.push(finding(Code::EvidenceMalformed, dsse::FILE, e)),
                    }
                }
            }
            Err(e) => findings.push(finding(Code::EvidenceMalformed, dsse::FILE, e.to_string())),
        },
        None => {
            if public_key.is_some() {
                findings.push(finding(
                    Code::EvidenceSignature,
                    dsse::FILE,
                    "missing: the bundle is not signed, and a public key was given",
                ));
            }
        }
    }

    // 3. The metadata verified again from the recorded anchor at the recorded time, offline.
    let mut reverified = None;
    if let (Some(r), Some(bytes)) = (&report, root_bytes) {
        match reverify(dir, r, bytes).await {
            Ok(fresh) => {
                // What the metadata says: findings about roles, not about targets (which the
                // check does not download) - the same at the same reference time.
                let of = |fs: &[Finding]| {
                    let mut v: Vec<(Code, Severity, Option<String>)> = fs
                        .iter()
                        .filter(|f| f.target.is_none())
                        .map(|f| (f.code, f.severity, f.role.clone()))
                        .collect();
                    v.sort();
                    v.dedup();
                    v
                };
                if of(&r.findings) != of(&fresh.report.findings) {
                    findings.push(finding(
                        Code::EvidenceInconsistent,
                        METADATA_DIR,
                        format!(
                            "verified again at {}, the metadata gives other findings than the report records",
                            r.reference_time
                        ),
                    ));
                }
                let roles = |x: &Report| {
                    let mut v: Vec<(String, u64, String)> = x
                        .roles
                        .iter()
                        .map(|o| (o.role.clone(), o.version, o.sha256.clone()))
                        .collect();
                    v.sort();
                    v
                };
                if roles(r) != roles(&fresh.report) {
                    findings.push(finding(
                        Code::EvidenceInconsistent,
                        REPORT_FILE,
                        "its roles (names, versions, bytes) are not those of the metadata",
                    ));
                }
                if let (Some(repo), Some(s)) = (&fresh.repository, &statement) {
                    for subject in s
                        .subject
                        .iter()
                        .filter(|x| !x.name.starts_with(METADATA_DIR))
                    {
                        let signed =
                            tough::TargetName::new(subject.name.clone())
                                .ok()
                                .and_then(|n| {
                                    repo.targets().signed.find_target(&n, false).ok().cloned()
                                });
                        let ok = signed.is_some_and(|t| {
                            Some(&hex::encode(&t.hashes.sha256)) == subject.digest.get("sha256")
                        });
                        if !ok {
                            findings.push(finding(
                                Code::EvidenceInconsistent,
                                STATEMENT_FILE,
                                format!(
                                    "subject {:?}: the verified targets metadata does not list it with this sha256",
                                    subject.name
                                ),
                            ));
                        }
                    }
                }
                reverified = Some(fresh.report.verdict);
            }
            Err(e) => findings.push(finding(
                Code::EvidenceInconsistent,
                METADATA_DIR,
                format!("cannot be verified again: {e}"),
            )),
        }
    }
    for (file, present) in [
        (STATEMENT_FILE, statement.is_some()),
        (REPORT_FILE, report.is_some()),
        (ROOT_FILE, root_sha512.is_some()),
    ] {
        if !present && !findings.iter().any(|f| f.target.as_deref() == Some(file)) {
            findings.push(finding(Code::EvidenceMissing, file, "missing"));
        }
    }
    findings.sort_by(|a, b| (a.code, &a.target).cmp(&(b.code, &b.target)));
    findings.dedup();
    Ok(BundleCheck {
        report_format: REPORT_FORMAT,
        tool: format!("tufwatch {}", env!("CARGO_PKG_VERSION")),
        bundle: dir.display().to_string(),
        files: listed.len(),
        recorded_result: statement
            .as_ref()
            .map(|s| s.predicate.verification_result.clone()),
        reference_time: report.as_ref().map(|r| r.reference_time.to_rfc3339()),
        trusted_root_sha512: root_sha512,
        reverified,
        signed_by,
        signature_verified,
        verdict: verdict_of(&findings),
        findings,
    })
}

/// Verify the bundle's metadata again: its anchor, its files, the recorded reference time, no
/// state, no network (the metadata URL is the bundle's own directory).
async fn reverify(dir: &Path, recorded: &Report, root: Vec<u8>) -> Result<Verification> {
    let root = TrustedRoot::parse(&dir.join(ROOT_FILE).display().to_string(), root)?;
    let metadata = dir.join(METADATA_DIR);
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
    };
    crate::engine::verify(&options, &root).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_names_are_plain() {
        assert_eq!(
            metadata_name("https://x/2020-07-07/v/x86_64/12.snapshot.json").as_deref(),
            Some("12.snapshot.json")
        );
        assert_eq!(
            metadata_name("file:///r/role%2Fa.json").as_deref(),
            Some("role%2Fa.json")
        );
        assert_eq!(metadata_name("https://x/"), None);
        assert_eq!(metadata_name("https://x/.."), None);
    }
}
