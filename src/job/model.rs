//! The typed model of a job's report: what every presenter renders and what an evidence
//! bundle's `job.json` holds.

use crate::fleet::inventory::Format as InventoryFormat;
use crate::fleet::Fleet;
use crate::releases::{ReleasesReport, Track};
use crate::report::{verdict_of, Finding, Verdict, REPORT_FORMAT};
use crate::ssm::check::CrossCheck;
use crate::ssm::Observations;
use chrono::{DateTime, Utc};
use serde::Serialize;

/// One repository's outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
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
    pub evidence: Option<crate::evidence::Files>,
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
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SsmReport {
    /// What SSM said.
    pub observations: Observations,
    /// Whether SSM was cross-checked against the signed manifests.
    pub cross_checked: bool,
    /// The cross-check, worst first; empty when not asked.
    pub cross_check: Vec<CrossCheck>,
}

/// An inventory, as the report lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InventoryReport {
    /// Its file name.
    pub name: String,
    /// Its format.
    pub format: InventoryFormat,
    /// How many nodes it lists.
    pub nodes: usize,
}

/// The report of a job (`ssm`, `nodes`, `report`).
#[derive(Debug, Clone, PartialEq, Serialize)]
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
    pub evidence_bundle: Option<crate::evidence::BundleRecord>,
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
            inventories: Vec::new(),
            fleet: None,
            findings: Vec::new(),
            evidence_bundle: None,
        }
    }

    /// The exit code: 0 pass, 1 findings, 2 could not run.
    pub fn exit_code(&self) -> i32 {
        crate::report::exit_code_of(self.verdict)
    }

    /// Set the verdict from every finding (of the repositories and of the job).
    pub fn judge(&mut self) {
        let all: Vec<Finding> = self.all_findings().into_iter().cloned().collect();
        self.verdict = verdict_of(&all);
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
