//! What the commands that write evidence bundles share (`evidence create`, `report --evidence`):
//! the signing key, signing a statement, writing a job's bundle, and taking a bundle back when
//! its run could not finish.

use super::output;
use crate::error::{Error, Result};
use crate::evidence;
use crate::report::Verdict;
use std::path::Path;

pub(super) fn result_of(verdict: Verdict) -> &'static str {
    if verdict == Verdict::Pass {
        "PASSED"
    } else {
        "FAILED"
    }
}

/// Sign the statement of a repository's evidence, when a key was given: the envelope joins the
/// files.
pub(super) fn sign(
    files: &mut evidence::Files,
    key: Option<&evidence::dsse::SigningKey>,
    key_path: Option<&std::path::Path>,
) -> Result<()> {
    let (Some(key), Some(statement)) = (key, files.get(evidence::STATEMENT_FILE)) else {
        return Ok(());
    };
    let envelope = key.envelope(statement).map_err(|message| Error::Invalid {
        what: "signing key",
        path: key_path
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
        message,
    })?;
    files.insert(evidence::dsse::FILE.to_owned(), evidence::json(&envelope));
    Ok(())
}

pub(super) fn read_pem(path: &std::path::Path, what: &'static str) -> Result<String> {
    let bytes = crate::source::read_limited(path, 64 << 10, what)?;
    String::from_utf8(crate::source::without_bom(&bytes).to_vec()).map_err(|_| Error::Invalid {
        what,
        path: path.display().to_string(),
        message: "not PEM text".to_owned(),
    })
}

/// Read the signing key given with `--sign-key`, if any.
pub(super) fn signing_key(path: Option<&Path>) -> Result<Option<evidence::dsse::SigningKey>> {
    let Some(path) = path else {
        return Ok(None);
    };
    evidence::dsse::SigningKey::from_pem(&read_pem(path, "signing key")?)
        .map(Some)
        .map_err(|message| Error::Invalid {
            what: "signing key",
            path: path.display().to_string(),
            message,
        })
}

/// Remove the bundle just written in `dir` (new or empty before the run) when the run then
/// could not finish (its report or summary could not be written): a run that could not run
/// leaves no evidence. Gives back the error that stopped it.
pub(super) fn withdraw(dir: &Path, stopped: Error) -> Error {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => output::note(format_args!(
            "tufwatch: removed the bundle {}: the run could not finish",
            dir.display()
        )),
        Err(e) => output::note(format_args!(
            "tufwatch: the bundle {} could not be removed ({e}): the run could not finish, so do not use it",
            dir.display()
        )),
    }
    stopped
}

/// Write the evidence bundle of a finished job (which kept its repositories' evidence, see
/// `JobSpec::evidence`) into `out`. Each repository's evidence goes under `repositories/`, and
/// the report records where; `job.json` is the report with no wall-clock time but the reference
/// time (but for SSM read live: the moment of that observation is part of what was observed).
pub(super) fn write_job_bundle(
    report: &mut crate::job::JobReport,
    out: &Path,
    key: Option<&evidence::dsse::SigningKey>,
    key_path: Option<&Path>,
) -> Result<evidence::BundleRecord> {
    let mut files = evidence::Files::new();
    let mut taken = std::collections::BTreeSet::new();
    let mut repositories = Vec::new();
    let mut anchors = std::collections::BTreeSet::new();
    let mut signed = false;
    for r in &mut report.repositories {
        let Some(mut piece) = r.evidence.take() else {
            continue;
        };
        let dir = evidence::repository_dir(&r.name, &taken);
        taken.insert(dir.clone());
        sign(&mut piece, key, key_path)?;
        signed |= piece.contains_key(evidence::dsse::FILE);
        if let Some(root) = piece.get(evidence::ROOT_FILE) {
            anchors.insert(crate::digest::sha512_hex(root));
        }
        repositories.push(evidence::BundleRepo {
            name: r.name.clone(),
            dir: dir.clone(),
            result: result_of(r.verdict()).to_owned(),
            statement_sha256: piece
                .get(evidence::STATEMENT_FILE)
                .map(|b| crate::digest::sha256_hex(b))
                .unwrap_or_default(),
        });
        for (path, bytes) in piece {
            files.insert(format!("{dir}/{path}"), bytes);
        }
        r.evidence_dir = Some(dir);
    }
    let mut recorded = report.clone();
    recorded.evidence_bundle = None;
    recorded.started_at = recorded.reference_time;
    recorded.finished_at = recorded.reference_time;
    for r in &mut recorded.repositories {
        if let Some(releases) = &mut r.releases {
            releases.verification.started_at = releases.verification.reference_time;
        }
    }
    if let Some(ssm) = &mut recorded.ssm {
        if ssm.observations.source == "file" {
            ssm.observations.observed_at = recorded.reference_time;
        }
    }
    files.insert(evidence::JOB_FILE.to_owned(), evidence::json(&recorded));
    let sha256 = evidence::write(out, &files, crate::settings::Setting::BundleDir)?;
    Ok(evidence::BundleRecord {
        dir: evidence::absolute(out).display().to_string(),
        sha256: Some(sha256),
        files: files.len(),
        result: result_of(report.verdict).to_owned(),
        trusted_root_sha512: if anchors.len() == 1 {
            anchors.pop_first()
        } else {
            None
        },
        signed,
        repositories,
        error: None,
    })
}
