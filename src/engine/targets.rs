//! Download targets through tough and check them (TUF 5.7.3: "download the target ... up to the
//! number of bytes specified in the targets metadata, and verify that its hashes match").
//!
//! tough checks only the SHA-256 and a maximum length. tufwatch also checks every other listed
//! hash it knows (SHA-512) and that the length is exactly the signed one. With an output
//! directory, a target is written to a temporary file beside its destination and renamed into
//! place only after every check passed: never a partially verified file, never outside the
//! directory.

use crate::digest::MultiHasher;
use crate::error::{Error, Result};
use crate::report::{Code, Finding, TargetReport};
use futures::StreamExt;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Component, Path, PathBuf};
use tough::schema::Target;
use tough::{Repository, TargetName};

/// Which targets to download.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum TargetSelection {
    /// None: metadata only.
    #[default]
    None,
    /// These names.
    Named(Vec<String>),
    /// Every target the metadata lists.
    All,
}

/// Why a target name cannot be written below an output directory, if it cannot.
pub fn unsafe_name(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        return Some("it is empty");
    }
    if name.contains('\0') {
        return Some("it contains a NUL byte");
    }
    if name.contains('\\') {
        return Some("it contains a backslash");
    }
    if name.starts_with('/') {
        return Some("it is an absolute path");
    }
    for part in name.split('/') {
        match part {
            "" => return Some("it has an empty path component"),
            "." | ".." => return Some("it has a '.' or '..' path component"),
            _ => {}
        }
    }
    let p = Path::new(name);
    if p.components().any(|c| !matches!(c, Component::Normal(_))) {
        return Some("it is not a plain relative path");
    }
    None
}

/// Download, check and (with `out`) write each selected target.
pub async fn fetch_targets(
    repo: &Repository,
    selection: &TargetSelection,
    out: Option<&Path>,
    progress: bool,
    deadline: tokio::time::Instant,
) -> Result<(Vec<TargetReport>, Vec<Finding>)> {
    let top = &repo.targets().signed;
    let mut names: Vec<String> = match selection {
        TargetSelection::None => return Ok((Vec::new(), Vec::new())),
        TargetSelection::All => top
            .targets_iter()
            .map(|(n, _)| n.raw().to_owned())
            .collect(),
        TargetSelection::Named(n) => n.clone(),
    };
    names.sort();
    names.dedup();
    let out = match out {
        Some(dir) => Some(prepare_out(dir)?),
        None => None,
    };
    if let Some(out) = &out {
        // What a killed run left half-written where these targets go (see `atomic::sweep`),
        // in directories that are really below `out`.
        let dirs: std::collections::BTreeSet<PathBuf> = names
            .iter()
            .filter(|n| unsafe_name(n).is_none())
            .filter_map(|n| safe_parent(out, n, false).ok())
            .collect();
        for dir in dirs {
            crate::atomic::sweep(&dir);
        }
    }
    let mut reports = Vec::new();
    let mut findings = Vec::new();
    for name in names {
        if let Some(why) = unsafe_name(&name) {
            findings.push(
                Finding::error(
                    Code::UnsafeTargetName,
                    format!(
                        "refusing target {name:?}: {why}, so it could escape the output directory"
                    ),
                )
                .target(&name),
            );
            continue;
        }
        // The entry tough itself downloads by: the search through delegations (5.7).
        let entry = TargetName::new(name.as_str())
            .ok()
            .and_then(|tn| top.find_target(&tn, false).ok().map(|t| (tn, t)));
        let Some((target_name, target)) = entry else {
            findings.push(
                Finding::error(
                    Code::TargetMissing,
                    format!("target {name:?} is not listed by the signed targets metadata"),
                )
                .target(&name),
            );
            continue;
        };
        let fetch = fetch_one(
            repo,
            &name,
            &target_name,
            target,
            out.as_deref(),
            progress,
            None,
        );
        match tokio::time::timeout_at(deadline, fetch).await {
            Ok(result) => {
                let (report, finding) = result?;
                reports.push(report);
                findings.extend(finding);
            }
            Err(_elapsed) => {
                findings.push(
                    Finding::error(
                        Code::Unreachable,
                        format!("target {name:?} did not finish downloading within the deadline (--deadline); the targets after it were not checked"),
                    )
                    .target(&name),
                );
                break;
            }
        }
    }
    Ok((reports, findings))
}

/// Download one target into memory and return its bytes only once tough and tufwatch have checked
/// its length and every hash (TUF 5.7.3); a target signed as longer than `max` is refused.
pub async fn read_verified(
    repo: &Repository,
    name: &str,
    max: u64,
) -> std::result::Result<(Vec<u8>, TargetReport), Finding> {
    let missing = || {
        Finding::error(
            Code::TargetMissing,
            format!("target {name:?} is not listed by the signed targets metadata"),
        )
        .target(name)
    };
    let target_name = TargetName::new(name).map_err(|_| missing())?;
    let target = repo
        .targets()
        .signed
        .find_target(&target_name, false)
        .map_err(|_| missing())?;
    if target.length > max {
        return Err(Finding::error(
            Code::LengthExceeded,
            format!("target {name:?} is signed as {} bytes, more than the {max} tufwatch reads into memory", target.length),
        )
        .target(name));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(target.length).unwrap_or(0));
    let (report, finding) = fetch_one(
        repo,
        name,
        &target_name,
        target,
        None,
        false,
        Some(&mut bytes),
    )
    .await
    .map_err(|e| Finding::error(Code::Rejected, e.to_string()).target(name))?;
    match finding {
        Some(f) => Err(f),
        None => Ok((bytes, report)),
    }
}

fn prepare_out(dir: &Path) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).map_err(|source| Error::Write {
        what: "output directory",
        path: dir.to_owned(),
        source,
    })?;
    dir.canonicalize().map_err(|source| Error::Write {
        what: "output directory",
        path: dir.to_owned(),
        source,
    })
}

/// A target as the verified targets metadata lists it (length and hashes), without downloading
/// it: `verified` is false. `None` when it is not listed.
pub fn listed(repo: &Repository, name: &str) -> Option<TargetReport> {
    let target_name = TargetName::new(name).ok()?;
    let target = repo
        .targets()
        .signed
        .find_target(&target_name, false)
        .ok()?;
    Some(TargetReport {
        name: name.to_owned(),
        length: target.length,
        hashes: signed_hashes(target),
        verified: false,
        written_to: None,
    })
}

fn signed_hashes(target: &Target) -> BTreeMap<String, String> {
    let mut hashes = BTreeMap::new();
    hashes.insert("sha256".to_owned(), hex::encode(&target.hashes.sha256));
    for (alg, value) in &target.hashes._extra {
        if let Some(v) = value.as_str() {
            hashes.insert(alg.clone(), v.to_ascii_lowercase());
        }
    }
    hashes
}

async fn fetch_one(
    repo: &Repository,
    name: &str,
    target_name: &TargetName,
    target: &Target,
    out: Option<&Path>,
    progress: bool,
    mut memory: Option<&mut Vec<u8>>,
) -> Result<(TargetReport, Option<Finding>)> {
    let hashes = signed_hashes(target);
    let mut report = TargetReport {
        name: name.to_owned(),
        length: target.length,
        hashes: hashes.clone(),
        verified: false,
        written_to: None,
    };
    let fail = |code: Code, message: String| Some(Finding::error(code, message).target(name));

    // Where the file goes: below `out`, checked again after the directories exist, since a
    // symbolic link inside `out` could point elsewhere.
    let mut sink = match out.map(|dir| Sink::create(dir, name)).transpose() {
        Ok(s) => s,
        Err(why) => return Ok((report, fail(Code::WriteFailed, why))),
    };

    let stream = match repo.read_target(target_name).await {
        Ok(Some(s)) => s,
        Ok(None) => {
            return Ok((
                report,
                fail(
                    Code::TargetMissing,
                    format!("target {name:?} is not listed"),
                ),
            ))
        }
        Err(e) => {
            let mut f = super::findings::from_tough(&e);
            f.target = Some(name.to_owned());
            return Ok((report, Some(f)));
        }
    };
    let bar = progress_bar(progress, name, target.length);
    let mut hasher = MultiHasher::default();
    let mut stream = Box::pin(stream);
    while let Some(chunk) = stream.next().await {
        let chunk = match chunk {
            Ok(c) => c,
            Err(e) => {
                let mut f = super::findings::from_tough(&e);
                f.target = Some(name.to_owned());
                return Ok((report, Some(f)));
            }
        };
        hasher.update(&chunk);
        if hasher.length() > target.length {
            return Ok((
                report,
                fail(
                    Code::LengthExceeded,
                    format!(
                        "target {name:?} sent more than its signed length of {} bytes",
                        target.length
                    ),
                ),
            ));
        }
        if let Some(m) = memory.as_deref_mut() {
            m.extend_from_slice(&chunk);
        }
        if let Some(s) = sink.as_mut() {
            if let Err(why) = s.write(&chunk) {
                return Ok((report, fail(Code::WriteFailed, why)));
            }
        }
        if let Some(b) = &bar {
            b.set_position(hasher.length());
        }
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let (sha256, sha512, length) = hasher.finish();
    if length != target.length {
        return Ok((
            report,
            fail(
                Code::LengthMismatch,
                format!(
                    "target {name:?} has {length} bytes, but its signed length is {}",
                    target.length
                ),
            ),
        ));
    }
    for (alg, expected) in &hashes {
        let actual = match alg.as_str() {
            "sha256" => &sha256,
            "sha512" => &sha512,
            _ => continue,
        };
        if actual != expected {
            return Ok((
                report,
                fail(
                    Code::HashMismatch,
                    format!(
                        "target {name:?} has {alg} {actual}, but the signed {alg} is {expected}"
                    ),
                ),
            ));
        }
    }
    report.verified = true;
    if let Some(s) = sink {
        match s.commit() {
            Ok(path) => report.written_to = Some(path.display().to_string()),
            Err(why) => return Ok((report, fail(Code::WriteFailed, why))),
        }
    }
    Ok((report, None))
}

fn progress_bar(enabled: bool, name: &str, length: u64) -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    if !enabled || !std::io::stderr().is_terminal() || length < 8 * 1024 * 1024 {
        return None;
    }
    let bar = indicatif::ProgressBar::new(length);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{msg} {bar:30} {bytes}/{total_bytes} {bytes_per_sec} {eta}",
    ) {
        bar.set_style(style);
    }
    bar.set_message(name.to_owned());
    Some(bar)
}

/// A temporary file beside the destination, renamed into place by [`Sink::commit`] and removed
/// if dropped before.
struct Sink {
    tmp: tempfile::NamedTempFile,
    dest: PathBuf,
    out: PathBuf,
    name: String,
}

/// The directory of `name` below `out`, each part checked to be a real directory and not a
/// symbolic link (and made, with `create`, when missing).
fn safe_parent(out: &Path, name: &str, create: bool) -> Result<PathBuf, String> {
    let mut dir = out.to_owned();
    let Some(parent) = Path::new(name).parent() else {
        return Ok(dir);
    };
    for part in parent.components() {
        dir.push(part);
        match std::fs::symlink_metadata(&dir) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                return Err(format!(
                "cannot write target {name:?}: {} is a file or a symbolic link, not a directory",
                dir.display()
            ))
            }
            Err(e) if create && e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir(&dir).map_err(|e| {
                    format!(
                        "cannot write target {name:?}: cannot create {}: {e}",
                        dir.display()
                    )
                })?;
            }
            Err(e) => {
                return Err(format!(
                    "cannot write target {name:?}: {}: {e}",
                    dir.display()
                ))
            }
        }
    }
    Ok(dir)
}

impl Sink {
    /// The directories below `out` are made one at a time, refusing any part that is a symbolic
    /// link or not a directory, so nothing is created or written outside `out`. Errors are
    /// messages for a finding: one target's trouble does not stop the others.
    fn create(out: &Path, name: &str) -> Result<Self, String> {
        let dir = safe_parent(out, name, true)?;
        let tmp = tempfile::Builder::new()
            .prefix(&crate::atomic::prefix("partial"))
            .tempfile_in(&dir)
            .map_err(|e| format!("cannot write target {name:?} in {}: {e}", dir.display()))?;
        Ok(Sink {
            tmp,
            dest: out.join(name),
            out: out.to_owned(),
            name: name.to_owned(),
        })
    }

    fn write(&mut self, chunk: &[u8]) -> Result<(), String> {
        self.tmp
            .write_all(chunk)
            .map_err(|e| format!("cannot write {}: {e}", self.tmp.path().display()))
    }

    fn commit(self) -> Result<PathBuf, String> {
        self.tmp
            .as_file()
            .sync_all()
            .map_err(|e| format!("cannot write {}: {e}", self.tmp.path().display()))?;
        // Again right before the rename: no part may have become a symbolic link meanwhile.
        safe_parent(&self.out, &self.name, false)?;
        let dest = self.dest;
        self.tmp.persist(&dest).map_err(|e| {
            format!(
                "cannot put the verified target at {}: {}",
                dest.display(),
                e.error
            )
        })?;
        Ok(dest)
    }
}

#[cfg(test)]
mod tests {
    use super::unsafe_name;

    #[test]
    fn traversal_is_refused() {
        for bad in [
            "../x",
            "/abs",
            "a/../../b",
            "a//b",
            "./a",
            "a/.",
            "",
            "a\\b",
            "a\0b",
        ] {
            assert!(unsafe_name(bad).is_some(), "{bad:?}");
        }
        for good in [
            "manifest.json",
            "a/b.img",
            "bottlerocket-aws-k8s-1.31-x86_64-1.26.1-abc-root.ext4.lz4",
            "..x",
            "x..",
        ] {
            assert_eq!(unsafe_name(good), None, "{good:?}");
        }
    }
}
