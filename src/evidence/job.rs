//! A job's evidence bundle: each repository's evidence (kept by the run, see
//! `JobSettings::evidence`) under `repositories/`, and `job.json`, the job's report as it was
//! judged.

use crate::error::{Result, Setting};
use crate::evidence;
use crate::job::{BundleRecord, BundleRepo, JobReport};
use crate::report::{Code, Finding, Verdict, VerificationResult};
use std::path::Path;

/// Sign and write a finished job's evidence bundle into `out` and record it in the report. A run
/// that could not finish proves nothing: no bundle, and the record says why. A bundle that
/// cannot be signed (KMS out of reach) or written for a reason of its own (a directory that is
/// not empty, say) is a finding of the report, whose verdict counts it; the records of the
/// repositories' evidence are cleared. A fault of this machine while writing it (a full disk, a
/// permission) is the error: no report.
pub async fn bundle_job(
    report: &mut JobReport,
    out: &Path,
    signer: Option<&evidence::dsse::Signer>,
) -> Result<()> {
    let record = if report.verdict == Verdict::Incomplete {
        BundleRecord::not_written(
            out,
            "the run could not finish, and so proves nothing".to_owned(),
        )
    } else {
        let written = match sign_repositories(report, signer).await {
            Ok(()) => write_job_bundle(report, out),
            Err(e) => Err(e),
        };
        match written {
            Ok(record) => record,
            Err(e) if e.is_local_fault() => return Err(e),
            Err(e) => {
                for r in &mut report.repositories {
                    r.evidence_dir = None;
                }
                BundleRecord::not_written(out, e.to_string())
            }
        }
    };
    if let Some(error) = &record.error {
        report.findings.push(
            Finding::error(
                Code::EvidenceNotWritten,
                format!("no evidence bundle written in {}: {error}", record.dir),
            )
            .target(record.dir.clone()),
        );
        report.judge();
    }
    report.evidence_bundle = Some(record);
    Ok(())
}

/// Sign each repository's statement the job kept, when a signer was given.
pub async fn sign_repositories(
    report: &mut JobReport,
    signer: Option<&evidence::dsse::Signer>,
) -> Result<()> {
    for r in &mut report.repositories {
        if let Some(piece) = &mut r.evidence {
            evidence::sign(piece, signer).await?;
        }
    }
    Ok(())
}

/// Write the evidence bundle of a finished job (which kept its repositories' evidence, see
/// `JobSpec::evidence`, each statement signed already when asked) into `out`. Each repository's
/// evidence goes under `repositories/`, and the report records where; `job.json` is the report
/// as judged, without what is of this machine's past runs (the changes since the last run).
pub fn write_job_bundle(report: &mut JobReport, out: &Path) -> Result<BundleRecord> {
    let mut files = evidence::Files::new();
    let mut taken = std::collections::BTreeSet::new();
    let mut repositories = Vec::new();
    let mut anchors = std::collections::BTreeSet::new();
    let mut signed = false;
    for r in &mut report.repositories {
        let Some(piece) = r.evidence.take() else {
            continue;
        };
        let dir = evidence::repository_dir(&r.name, &taken);
        taken.insert(dir.clone());
        signed |= piece.contains_key(evidence::dsse::FILE);
        if let Some(root) = piece.get(evidence::ROOT_FILE) {
            anchors.insert(crate::digest::sha512_hex(root));
        }
        repositories.push(BundleRepo {
            name: r.name.clone(),
            dir: dir.clone(),
            result: VerificationResult::of(r.verdict()),
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
    // The job's history is of this machine and its past runs, not of what was verified.
    recorded.changes = None;
    for w in &mut recorded.waivers {
        w.last_matched = None;
    }
    if let Some(ssm) = &mut recorded.ssm {
        if ssm.observations.source == "file" {
            ssm.observations.observed_at = recorded.reference_time;
        }
    }
    files.insert(evidence::JOB_FILE.to_owned(), evidence::json(&recorded));
    let sha256 = evidence::write(out, &files, Setting::BundleDir)?;
    Ok(BundleRecord {
        dir: crate::source::absolute(out).display().to_string(),
        sha256: Some(sha256),
        files: files.len(),
        result: Some(VerificationResult::of(report.verdict)),
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
