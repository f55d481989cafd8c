//! The typed model of a job's report: what every presenter renders and what an evidence
//! bundle's `job.json` holds.

use crate::fleet::inventory::InventoryFormat;
use crate::fleet::Fleet;
use crate::releases::{ReleasesReport, Track};
use crate::report::{verdict_under, Category, Finding, Verdict, VerificationResult, REPORT_FORMAT};
use crate::ssm::check::CrossCheck;
use crate::ssm::Observations;
use crate::waiver::WaiverUse;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// One repository's outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RepoResult {
    /// Its name.
    pub name: String,
    /// The verification and the releases, when it could be verified at all.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub releases: Option<ReleasesReport>,
    /// Why it could not be verified at all.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Where its evidence is, in an evidence bundle of the job.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence_dir: Option<String>,
    /// Its evidence files (`JobSpec::evidence`), before they are written.
    #[serde(skip)]
    pub evidence: Option<std::collections::BTreeMap<String, Vec<u8>>>,
}

impl RepoResult {
    /// Its verdict.
    pub fn verdict(&self) -> Verdict {
        self.releases
            .as_ref()
            .map_or(Verdict::Incomplete, |r| r.verdict)
    }
}

/// The SSM part of the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SsmReport {
    /// What SSM said.
    pub observations: Observations,
    /// Whether SSM was cross-checked against the signed manifests.
    pub cross_checked: bool,
    /// The cross-check, worst first; empty when not asked.
    pub cross_check: Vec<CrossCheck>,
}

/// An inventory, as the report lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InventoryReport {
    /// Its file name.
    pub name: String,
    /// Its format.
    pub format: InventoryFormat,
    /// How many nodes it lists.
    pub nodes: usize,
}

/// The report of a job (`ssm`, `nodes`, `report`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobReport {
    /// Version of the report format.
    pub report_format: u32,
    /// `tufwatch <version>`.
    pub tool: String,
    /// When the job started.
    pub started_at: DateTime<Utc>,
    /// When it finished.
    pub finished_at: DateTime<Utc>,
    /// The moment releases were judged due and roles expired at.
    pub reference_time: DateTime<Utc>,
    /// Every repository verified.
    pub repositories: Vec<RepoResult>,
    /// SSM, when read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ssm: Option<SsmReport>,
    /// EC2 read live: the accounts and regions, and the calls made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ec2: Option<crate::aws::ec2::Ec2Report>,
    /// Kubernetes read live: each cluster, and what could be read of it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes: Option<crate::cluster::KubernetesReport>,
    /// The inventories read.
    pub inventories: Vec<InventoryReport>,
    /// The fleet, when inventories were given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fleet: Option<Fleet>,
    /// The findings of the job as a whole (SSM, fleet); each repository has its own.
    pub findings: Vec<Finding>,
    /// The overall outcome: of every repository and the job's findings.
    pub verdict: Verdict,
    /// The evidence bundle the run wrote (`report --evidence`), with its digest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence_bundle: Option<BundleRecord>,
    /// The categories whose findings fail the run (`[policy] fail_on`); a `trust` finding
    /// always does.
    #[serde(default = "all_categories")]
    pub fail_on: Vec<Category>,
    /// The job's waivers: what each waived, and whether it is in force.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub waivers: Vec<WaiverUse>,
    /// What changed since the last run the job kept (the nightly job with a state directory).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changes: Option<super::changes::Changes>,
}

fn all_categories() -> Vec<Category> {
    Category::ALL.to_vec()
}

impl JobReport {
    /// The report of one repository's releases (`tufwatch releases`) as a job of that one
    /// repository, named after its variant and architecture or its metadata URL: no SSM, no
    /// fleet.
    pub fn of_releases(releases: ReleasesReport) -> JobReport {
        let v = &releases.verification;
        let name = match (&v.repository.variant, &v.repository.arch) {
            (Some(variant), Some(arch)) => format!("{variant}/{arch}"),
            _ => v.repository.metadata_url.clone(),
        };
        JobReport {
            report_format: REPORT_FORMAT,
            tool: v.tool.clone(),
            started_at: v.started_at,
            finished_at: Utc::now(),
            reference_time: v.reference_time,
            verdict: releases.verdict,
            repositories: vec![RepoResult {
                name,
                releases: Some(releases),
                error: None,
                evidence_dir: None,
                evidence: None,
            }],
            ssm: None,
            ec2: None,
            kubernetes: None,
            inventories: Vec::new(),
            fleet: None,
            findings: Vec::new(),
            evidence_bundle: None,
            fail_on: all_categories(),
            waivers: Vec::new(),
            changes: None,
        }
    }

    /// The exit code: 0 pass, 1 findings, 2 could not run.
    pub fn exit_code(&self) -> i32 {
        crate::report::exit_code_of(self.verdict)
    }

    /// Set the verdict from every finding (of the repositories and of the job), under the
    /// job's `fail_on`.
    pub fn judge(&mut self) {
        self.verdict = verdict_under(self.all_findings().into_iter(), &self.fail_on);
    }

    /// Every track of every repository.
    pub fn tracks(&self) -> impl Iterator<Item = &Track> {
        self.repositories
            .iter()
            .filter_map(|r| r.releases.as_ref())
            .flat_map(|r| r.tracks.iter())
    }

    /// Every finding: of the repositories (verification and manifest) and of the job.
    pub fn all_findings(&self) -> Vec<&Finding> {
        let mut all: Vec<&Finding> = Vec::new();
        for r in &self.repositories {
            if let Some(rel) = &r.releases {
                all.extend(rel.verification.findings.iter());
                all.extend(rel.findings.iter());
            }
        }
        all.extend(self.findings.iter());
        all
    }
}

/// An evidence bundle a run wrote (or was asked to write), as the run's report names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleRecord {
    /// Its directory, as given.
    pub dir: String,
    /// The bundle's digest: the SHA-256 of its `SHA256SUMS`; `None` when no bundle was written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// How many files `SHA256SUMS` lists.
    pub files: usize,
    /// The result it records; `none` when no bundle was written.
    #[serde(
        serialize_with = "result_or_none",
        deserialize_with = "result_or_none_back"
    )]
    pub result: Option<VerificationResult>,
    /// The SHA-512 of the trust anchor, when every repository has the same one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trusted_root_sha512: Option<String>,
    /// Whether the statements are signed (DSSE).
    pub signed: bool,
    /// Each repository's evidence in it.
    pub repositories: Vec<BundleRepo>,
    /// Why no bundle was written, when none was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A bundle's result as its record writes it: `none` when no bundle was written.
fn result_or_none<S: serde::Serializer>(
    result: &Option<VerificationResult>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(result.map_or("none", VerificationResult::as_str))
}

/// One repository's evidence in a bundle of a job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleRepo {
    /// The repository's name in the job.
    pub name: String,
    /// Its directory in the bundle.
    pub dir: String,
    /// The result it records.
    pub result: VerificationResult,
    /// The SHA-256 of its `statement.json`.
    pub statement_sha256: String,
}

impl BundleRecord {
    /// The record of a bundle asked for in `dir` and not written, and why.
    pub fn not_written(dir: &Path, error: String) -> BundleRecord {
        BundleRecord {
            dir: crate::source::absolute(dir).display().to_string(),
            sha256: None,
            files: 0,
            result: None,
            trusted_root_sha512: None,
            signed: false,
            repositories: Vec::new(),
            error: Some(error),
        }
    }

    /// Whether the bundle records a verification that passed.
    pub fn passed(&self) -> bool {
        self.result == Some(VerificationResult::Passed)
    }

    /// The result it records, as its record writes it: `PASSED`, `FAILED`, or `none` when no
    /// bundle was written.
    pub fn result_str(&self) -> &'static str {
        self.result.map_or("none", VerificationResult::as_str)
    }
}

/// A bundle's result as its record reads it back.
fn result_or_none_back<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<VerificationResult>, D::Error> {
    match String::deserialize(d)?.as_str() {
        "none" => Ok(None),
        "PASSED" => Ok(Some(VerificationResult::Passed)),
        "FAILED" => Ok(Some(VerificationResult::Failed)),
        other => Err(serde::de::Error::custom(format!(
            "{other:?} is not PASSED, FAILED or none"
        ))),
    }
}
