//! Audit evidence: a bundle that records what a verification used and found, and the offline
//! check of such a bundle.
//!
//! The evidence of one repository is a directory:
//!
//! ```text
//! trusted-root.json     the trust anchor the run started from, its exact bytes
//! metadata/<name>       every metadata file the verification used (and any it rejected), its
//!                       exact bytes, under its repository name (2.root.json, timestamp.json, ...)
//! report.json           the verification report (docs/report.md), with the reference time as its
//!                       start: the bundle holds no wall-clock time but the one the run judged at
//! targets/manifest.json the signed manifest's exact bytes, when the run read it
//! releases.json         what the manifest said at the reference time: the tracks (newest, due,
//!                       rolling out, waves) and the images of the releases checked
//! statement.json        an in-toto Statement v1 with a SLSA VSA v1 predicate (statement.rs)
//! statement.dsse.json   with --sign-key: a DSSE envelope of statement.json (dsse.rs)
//! ```
//!
//! A bundle of one repository is that directory plus `SHA256SUMS` (the SHA-256 of every other
//! file). A bundle of a job (`evidence create --config`) holds one such directory per repository
//! under `repositories/`, the job's report as `job.json` (releases, SSM observations with when
//! they were observed, the cross-check, the fleet), and one `SHA256SUMS` over everything.
//!
//! Checking a bundle needs no network (check.rs): the sums, the statement against the report and
//! the anchor, the metadata verified again from the recorded anchor at the recorded reference
//! time from the bundle's own files, the releases recomputed from the recorded manifest, and for a
//! job the SSM cross-check recomputed from the recorded observations.

pub mod check;
pub mod dsse;
pub mod job;
pub mod statement;
pub mod sums;

pub use check::{check, BundleCheck};
pub use job::write_job_bundle;

use crate::digest::{sha256_hex, sha512_hex};
use crate::engine::Verification;
use crate::error::Setting;
use crate::error::{Error, Result};
use crate::releases::{ManifestRead, Track};
use crate::report::{Report, TargetReport, Verdict};
use crate::settings::StatementNames;
use crate::source::pins::TrustedRoot;
use base64::Engine;
use chrono::{DateTime, Utc};
use serde::Serialize;
pub use statement::VerificationResult;
use statement::{Policy, PolicyAnnotations, Statement, Subject, Verifier, Vsa};
use std::collections::BTreeMap;
use std::path::Path;

/// The anchor's file.
pub const ROOT_FILE: &str = "trusted-root.json";
/// The report's file.
pub const REPORT_FILE: &str = "report.json";
/// The statement's file.
pub const STATEMENT_FILE: &str = "statement.json";
/// The metadata directory.
pub const METADATA_DIR: &str = "metadata";
/// The signed manifest's bytes.
pub const MANIFEST_FILE: &str = "targets/manifest.json";
/// What the manifest said.
pub const RELEASES_FILE: &str = "releases.json";
/// The job's report, in a bundle of a job.
pub const JOB_FILE: &str = "job.json";
/// The directory of the repositories' evidence, in a bundle of a job.
pub const REPOSITORIES_DIR: &str = "repositories";

/// The files of a bundle, path -> bytes, before they are written.
pub type Files = BTreeMap<String, Vec<u8>>;

/// Pretty JSON with a final newline, as every JSON file of a bundle is written.
pub fn json<T: Serialize>(value: &T) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(value).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

/// `releases.json`: what the signed manifest said, and when.
#[derive(Debug, Serialize)]
pub struct ReleasesRecord<'a> {
    /// When the releases were observed: the manifest was read in the run and judged (which
    /// release is due, how far each wave has come) at the reference time.
    pub observed_at: DateTime<Utc>,
    /// Migrations were listed from this version.
    pub from: Option<String>,
    /// The manifest target as checked (length, hashes).
    pub manifest: &'a TargetReport,
    /// The tracks of the repository.
    pub tracks: &'a [Track],
    /// The images of the releases checked (newest, due, rolling out), as the verified targets
    /// metadata lists them: the subjects a host would install.
    pub images: Vec<TargetReport>,
}

/// The images of the releases checked of `tracks`, as the verified targets metadata of `repo`
/// lists them, by name. An image the metadata does not list is left out.
pub fn release_images(
    repo: &crate::engine::targets::Listing,
    tracks: &[Track],
) -> Vec<TargetReport> {
    let mut images: BTreeMap<&str, TargetReport> = BTreeMap::new();
    for name in tracks.iter().flat_map(Track::checked_images) {
        if !images.contains_key(name) {
            if let Some(t) = crate::engine::targets::listed(repo, name) {
                images.insert(name, t);
            }
        }
    }
    images.into_values().collect()
}

/// Whether `name` is a plain file name: not empty, not `.` or `..`, only letters, digits and
/// `._-~%`.
pub fn plain_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'~' | b'%'))
}

/// A metadata file name as the bundle keeps it: the last segment of its URL, which must be a
/// plain file name.
fn metadata_name(url: &str) -> Option<String> {
    let name = url.rsplit('/').next()?;
    plain_name(name).then(|| name.to_owned())
}

/// The directory of a repository's evidence in a bundle of a job: its name made plain (`/` and
/// other characters become `_`), and unique among `taken`.
pub fn repository_dir(name: &str, taken: &std::collections::BTreeSet<String>) -> String {
    let plain: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let plain = if plain_name(&plain) {
        plain
    } else {
        "repository".to_owned()
    };
    let mut candidate = format!("{REPOSITORIES_DIR}/{plain}");
    let mut n = 2;
    while taken.contains(&candidate) {
        candidate = format!("{REPOSITORIES_DIR}/{plain}-{n}");
        n += 1;
    }
    candidate
}

/// The evidence files of one repository of a job: its verification and what its signed
/// manifest gave (what `JobSettings::evidence` keeps).
pub fn repository_files(
    verification: &Verification,
    root: &TrustedRoot,
    manifest: &ManifestRead,
    names: &StatementNames,
) -> Files {
    files_and_report(verification, root, Some(manifest), names).0
}

/// The evidence files of one repository, with the report they record: its verdict is the
/// bundle's (the verification and the signed manifest together). The report keeps where this
/// machine read the repository; the statement names it by `names.resource_uri`.
pub fn files_and_report(
    verification: &Verification,
    root: &TrustedRoot,
    manifest: Option<&ManifestRead>,
    names: &StatementNames,
) -> (Files, Report) {
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
    report.repository.resource_uri = Some(names.resource_uri.clone());
    if let Some(t) = manifest.and_then(|m| m.manifest.as_ref()) {
        if !report.targets.iter().any(|x| x.name == t.name) {
            report.targets.push(t.clone());
        }
    }
    report.targets.sort_by(|a, b| a.name.cmp(&b.name));
    let mut images = Vec::new();
    if let Some(m) = manifest {
        // What went wrong with the manifest is a finding of this repository's evidence.
        report.findings.extend(m.findings.iter().cloned());
        report.finish();
        if let (Some(bytes), Some(target)) = (&m.bytes, &m.manifest) {
            files.insert(MANIFEST_FILE.to_owned(), bytes.clone());
            if let Some(repo) = &verification.listing {
                images = release_images(repo, &m.tracks);
            }
            let record = ReleasesRecord {
                observed_at: report.reference_time,
                from: m.from.as_ref().map(ToString::to_string),
                manifest: target,
                tracks: &m.tracks,
                images: images.clone(),
            };
            files.insert(RELEASES_FILE.to_owned(), json(&record));
        }
    }
    let statement = statement_of(&report, root, &files, &images, names);
    files.insert(REPORT_FILE.to_owned(), json(&report));
    files.insert(STATEMENT_FILE.to_owned(), json(&statement));
    (files, report)
}

/// The statement of a report: the verified targets and the images of the releases checked as
/// subjects (or, when there are none, the metadata files), the anchor as the policy, the time of
/// the verification and the names the operator gave the verifier and the repository.
pub fn statement_of(
    report: &Report,
    root: &TrustedRoot,
    files: &Files,
    images: &[TargetReport],
    names: &StatementNames,
) -> Statement {
    let passed = report.verdict == Verdict::Pass;
    let mut subject: Vec<Subject> = report
        .targets
        .iter()
        .filter(|t| t.verified)
        .chain(images)
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
    subject.dedup();
    Statement {
        type_: statement::STATEMENT_TYPE.to_owned(),
        subject,
        predicate_type: statement::VSA_TYPE.to_owned(),
        predicate: Vsa {
            verifier: Verifier {
                id: names.verifier_id.clone(),
                version: BTreeMap::from([
                    ("tufwatch".to_owned(), env!("CARGO_PKG_VERSION").to_owned()),
                    (
                        "tough".to_owned(),
                        report.engine.trim_start_matches("tough ").to_owned(),
                    ),
                ]),
            },
            time_verified: rfc3339(report.started_at),
            resource_uri: names.resource_uri.clone(),
            policy: policy_of(root, report.reference_time),
            verification_result: if passed {
                VerificationResult::Passed
            } else {
                VerificationResult::Failed
            },
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

/// An RFC 3339 time as statements write it: UTC, `Z`, fractions only when there are some.
fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

/// The VSA's policy: the anchor, by the URI of where it is pinned and by digest, applied at the
/// reference time.
fn policy_of(root: &TrustedRoot, reference_time: DateTime<Utc>) -> Policy {
    let sha256 = crate::digest::sha256(&root.bytes);
    Policy {
        uri: anchor_uri(root, &sha256),
        digest: BTreeMap::from([
            ("sha256".to_owned(), hex::encode(sha256)),
            ("sha512".to_owned(), root.sha512.clone()),
        ]),
        annotations: Some(PolicyAnnotations {
            reference_time: rfc3339(reference_time),
            tuf_root_version: root.version,
            pinned_by: root.pinned_by.clone(),
        }),
    }
}

/// A URI that names the anchor on any machine: the URL Bottlerocket publishes its root at, for
/// a root one of its pins documents; the https URL it was read from; else its digest, as a
/// Named Information URI (RFC 6920, section 3: `ni:///sha-256;` and the digest in base64url
/// without padding).
pub fn anchor_uri(root: &TrustedRoot, sha256: &[u8]) -> String {
    let pins = crate::source::pins::PinSet::bottlerocket();
    if pins.find(&root.sha512).is_some() {
        return pins.url.clone();
    }
    if root.source.starts_with("https://") && crate::source::location::is_uri(&root.source) {
        return root.source.clone();
    }
    ni_uri(sha256)
}

/// The Named Information URI (RFC 6920) of a SHA-256: `ni:///sha-256;` and the digest in
/// base64url without padding.
pub fn ni_uri(sha256: &[u8]) -> String {
    format!(
        "ni:///sha-256;{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha256)
    )
}

/// Sign the statement of a repository's evidence, when a signer was given: the envelope joins
/// the files. A signature that cannot be made (KMS out of reach, say) stops the run: a bundle
/// asked to be signed is never written unsigned.
pub async fn sign(files: &mut Files, signer: Option<&dsse::Signer>) -> Result<()> {
    let (Some(signer), Some(statement)) = (signer, files.get(STATEMENT_FILE)) else {
        return Ok(());
    };
    let envelope = signer
        .envelope(statement)
        .await
        .map_err(|e| Error::Sign(e.to_string()))?;
    files.insert(dsse::FILE.to_owned(), json(&envelope));
    Ok(())
}

/// Write a bundle into `out`, which must not exist or be an empty directory. It is written
/// into a temporary directory beside `out`, then renamed: a bundle is complete or absent.
///
/// The result is the bundle's digest: the SHA-256 of its `SHA256SUMS`, which names the SHA-256
/// of every other file, so that one value pins the whole bundle.
pub fn write(out: &Path, files: &Files, setting: Setting) -> Result<String> {
    let error = |path: &Path, source| Error::Write {
        what: "evidence bundle",
        path: path.to_owned(),
        source,
    };
    check_out(out, setting)?;
    let parent = crate::atomic::parent(out);
    std::fs::create_dir_all(&parent).map_err(|e| error(&parent, e))?;
    crate::atomic::sweep(&parent);
    let tmp = tempfile::Builder::new()
        .prefix(&crate::atomic::prefix("evidence"))
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
    Ok(sha256_hex(&all[sums::FILE]))
}

/// Refuse, before anything is verified or written, a bundle directory that could not take the
/// bundle (`setting` says which one it is): one that is neither new nor empty, a symbolic
/// link, a name with control characters (which would forge lines where a report quotes it), or
/// one whose parent directory cannot take the temporary directory the bundle is written into.
pub fn check_out(out: &Path, setting: Setting) -> Result<()> {
    let refuse = |why: &str| {
        Err(Error::Setting {
            setting,
            message: format!("{}: {why}", out.display()),
        })
    };
    if out.to_string_lossy().chars().any(char::is_control) {
        return Err(Error::Setting {
            setting,
            message: format!(
                "{:?}: a name with control characters; give a plain directory name",
                out.to_string_lossy()
            ),
        });
    }
    if out.file_name().is_none() {
        return refuse("not a directory name a bundle can be renamed to; name a new directory");
    }
    if let Ok(meta) = std::fs::symlink_metadata(out) {
        if meta.file_type().is_symlink() {
            return refuse("a symbolic link; a bundle goes into a new or empty directory");
        }
        if !meta.is_dir() {
            return refuse(&format!(
                "{}; a bundle goes into a new or empty directory",
                crate::atomic::kind_of(&meta.file_type())
            ));
        }
    }
    if let Ok(mut entries) = std::fs::read_dir(out) {
        if entries.next().is_some() {
            return refuse("not empty; a bundle goes into a new or empty directory");
        }
    }
    // The nearest directory that exists above it must take a temporary directory: the bundle
    // is written into one there, then renamed (what write() will create is created then).
    let mut above = crate::atomic::parent(out);
    while !above.exists() {
        match above.parent() {
            Some(p) if !p.as_os_str().is_empty() => above = p.to_owned(),
            _ => {
                above = std::path::PathBuf::from(".");
                break;
            }
        }
    }
    if let Err(e) = tempfile::Builder::new()
        .prefix(&crate::atomic::prefix("probe"))
        .tempdir_in(&above)
    {
        return refuse(&format!(
            "cannot write beside it, in {}: {e}",
            above.display()
        ));
    }
    Ok(())
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
