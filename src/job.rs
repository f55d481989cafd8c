//! The whole job in one pass: verify repositories and read their signed manifests, read SSM,
//! judge the fleet, cross-check, and make one report. `ssm`, `nodes` and `report` are this job
//! with parts left out.
//!
//! Order: inventories are read first (the caller does), then SSM (EC2 instances need the AMI ->
//! version map), then the repositories of every variant and architecture in play, concurrently
//! with a bound, then the judgements, which are plain functions of those values.

use crate::engine::{targets::read_verified, Verification, VerifyOptions};
use crate::error::Result;
use crate::fleet::inventory::{Evidence, Format as InventoryFormat, Node};
use crate::fleet::{Fleet, Policy};
use crate::releases::{
    manifest, one_per_track, retain_own, tracks, ManifestRead, ReleasesReport, Track,
};
use crate::report::{verdict_of, Code, Finding, Report, Verdict, REPORT_FORMAT};
use crate::source::bottlerocket::Arch;
use crate::source::pins::TrustedRoot;
use crate::ssm::check::{cross_check, CrossCheck};
use crate::ssm::live::LiveOptions;
use crate::ssm::{Observations, Query};
use chrono::{DateTime, Utc};
use futures::stream::{self, StreamExt, TryStreamExt};
use semver::Version;
use serde::Serialize;
use std::collections::BTreeSet;
use std::path::PathBuf;

/// Largest manifest.json read (Bottlerocket's are a few hundred KiB).
pub const MAX_MANIFEST: u64 = 16 << 20;

/// Read the signed manifest of a verified repository and list its releases at the verification's
/// reference time. The manifest is read only when the verification passed, and only after tough
/// checked its length and hashes.
pub async fn read_manifest(verification: &Verification, from: Option<&Version>) -> ManifestRead {
    let at = verification.report.reference_time;
    let mut read = ManifestRead {
        from: from.cloned(),
        ..ManifestRead::default()
    };
    if let (Some(repo), Verdict::Pass) = (&verification.listing, verification.report.verdict) {
        let read_in_time = tokio::time::timeout_at(
            verification.deadline,
            read_verified(
                repo,
                &verification.targets_from,
                "manifest.json",
                MAX_MANIFEST,
            ),
        );
        let past_deadline = || {
            Err(Finding::error(
                Code::Unreachable,
                "manifest.json did not finish downloading within the run's deadline (--deadline)",
            )
            .target("manifest.json"))
        };
        match read_in_time.await.unwrap_or_else(|_| past_deadline()) {
            Ok((bytes, checked)) => {
                read.manifest = Some(checked);
                match manifest::parse(&bytes) {
                    Ok(m) => read.tracks = tracks(&m, at, from),
                    Err(e) => read.findings.push(
                        Finding::error(Code::Malformed, format!("manifest.json: {e}"))
                            .target("manifest.json"),
                    ),
                }
                read.bytes = Some(bytes);
            }
            Err(f) => read.findings.push(f),
        }
    }
    read
}

/// The releases report of a verification and what its manifest gave.
pub fn releases_report(verification: Report, read: ManifestRead) -> ReleasesReport {
    let all: Vec<Finding> = verification
        .findings
        .iter()
        .chain(&read.findings)
        .cloned()
        .collect();
    ReleasesReport {
        report_format: REPORT_FORMAT,
        verdict: verdict_of(&all),
        verification,
        manifest: read.manifest,
        tracks: read.tracks,
        findings: read.findings,
    }
}

/// Read the signed manifest of a verified repository and list its releases.
pub async fn releases_of(verification: Verification, from: Option<&Version>) -> ReleasesReport {
    let read = read_manifest(&verification, from).await;
    releases_report(verification.report, read)
}

/// Makes the repository of a Bottlerocket variant and architecture.
pub type RepoMaker = Box<dyn Fn(&str, Arch) -> Result<RepoSpec> + Send + Sync>;

/// One repository to verify.
#[derive(Clone)]
pub struct RepoSpec {
    /// How the report names it: `aws-k8s-1.31/x86_64`, or the name the config gives.
    pub name: String,
    /// Where it is and how to verify it.
    pub options: VerifyOptions,
    /// Its trust anchor.
    pub root: TrustedRoot,
}

/// Where SSM values come from.
#[derive(Debug, Clone)]
pub enum SsmSource {
    /// The AWS API (or the endpoint named).
    Live(LiveOptions),
    /// Files in the format of `aws ssm get-parameters-by-path` output.
    Files(Vec<PathBuf>),
}

/// The SSM part of a job.
#[derive(Debug, Clone)]
pub struct SsmSpec {
    /// Where from.
    pub source: SsmSource,
    /// Regions; for a live source, empty means the AWS configuration's default region.
    pub regions: Vec<String>,
    /// Variants to read; empty means those of the repositories (live) or every one (files).
    pub variants: Vec<String>,
    /// Architectures; empty means both.
    pub archs: Vec<Arch>,
    /// Cross-check against the signed manifests.
    pub cross_check: bool,
}

/// An inventory, already read.
#[derive(Debug, Clone)]
pub struct Inventory {
    /// Its file name (or `-`).
    pub name: String,
    /// Its format.
    pub format: InventoryFormat,
    /// Its nodes.
    pub nodes: Vec<Node>,
}

/// A job.
pub struct JobSpec {
    /// Repositories to verify, as given.
    pub repos: Vec<RepoSpec>,
    /// Makes the repository of a Bottlerocket variant and architecture that the inventories or
    /// SSM bring into play, when it is not among `repos`.
    pub derive_repo: Option<RepoMaker>,
    /// SSM, when asked.
    pub ssm: Option<SsmSpec>,
    /// Inventories.
    pub inventories: Vec<Inventory>,
    /// When being behind is a finding.
    pub policy: Policy,
    /// Migrations from this version, when asked.
    pub from: Option<Version>,
    /// The reference time (`--at`), when not now.
    pub at: Option<DateTime<Utc>>,
    /// How many repositories are verified at once.
    pub concurrency: usize,
    /// Keep each repository's evidence files (`evidence create --config`).
    pub evidence: bool,
}

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

/// Run a job.
pub async fn run(spec: JobSpec) -> Result<JobReport> {
    let started_at = Utc::now();
    let at = spec.at.unwrap_or(started_at);
    let mut findings = Vec::new();

    // SSM first: EC2 instances need the AMI -> version map to know their variants.
    let ssm = match &spec.ssm {
        Some(s) => Some(read_ssm(s, &spec, started_at).await?),
        None => None,
    };
    if let Some(o) = &ssm {
        findings.extend(o.findings());
    }

    // The repositories: those given, and those the fleet and SSM bring into play.
    let mut repos = spec.repos.clone();
    if let Some(derive) = &spec.derive_repo {
        let mut wanted: BTreeSet<(String, Arch)> = BTreeSet::new();
        for inv in &spec.inventories {
            for n in &inv.nodes {
                if let (Some(v), Some(a)) = (&n.variant, n.arch.as_deref()) {
                    if let Ok(a) = Arch::parse(a) {
                        wanted.insert((v.clone(), a));
                    }
                }
                if let (Evidence::LaunchAmi, Some(o), Some(r), Some(ami)) =
                    (n.evidence, &ssm, &n.region, &n.image_id)
                {
                    if let Some(image) = o.image(r, ami) {
                        if let Ok(a) = Arch::parse(&image.arch) {
                            wanted.insert((image.variant.clone(), a));
                        }
                    }
                }
            }
        }
        if let (Some(s), Some(o)) = (&spec.ssm, &ssm) {
            if s.cross_check && s.variants.is_empty() {
                // Every variant and architecture the SSM files hold.
                for l in &o.latest {
                    if let Ok(a) = Arch::parse(&l.arch) {
                        wanted.insert((l.variant.clone(), a));
                    }
                }
            }
        }
        if let Some(s) = &spec.ssm {
            if s.cross_check {
                for v in &s.variants {
                    for a in if s.archs.is_empty() {
                        vec![Arch::X86_64, Arch::Aarch64]
                    } else {
                        s.archs.clone()
                    } {
                        wanted.insert((v.clone(), a));
                    }
                }
            }
        }
        // A name that is not a Bottlerocket variant (an odd CSV line, a custom osImage) makes
        // no repository: its nodes are judged unchecked, and the run goes on.
        wanted.retain(|(v, _)| crate::source::bottlerocket::check_variant(v).is_ok());
        for (variant, arch) in wanted {
            let covered = repos.iter().any(|r| {
                r.options.variant.as_deref() == Some(variant.as_str())
                    && r.options.arch.as_deref() == Some(arch.as_str())
            });
            if !covered {
                repos.push(derive(&variant, arch)?);
            }
        }
    }

    // Evidence starts from the anchor and walks every root, so that the bundle holds the whole
    // chain: no saved state is read or written.
    if spec.evidence {
        for r in &mut repos {
            r.options.state_root = None;
        }
    }
    let from = spec.from.as_ref();
    let evidence = spec.evidence;
    // One HTTP client and one read of each shared target for every repository of the job.
    let net = repos
        .first()
        .map(|r| r.options.net.clone())
        .unwrap_or_default();
    let shared = &crate::engine::Shared::new(net)?;
    // The first fault of this machine stops the other verifications at once: the run stops.
    let mut repositories: Vec<(usize, RepoResult)> = stream::iter(repos.into_iter().enumerate())
        .map(|(i, r)| async move {
            let result = match crate::engine::verify_shared(&r.options, &r.root, shared).await {
                Ok(v) => {
                    let mut read = read_manifest(&v, from).await;
                    // A Bottlerocket repository speaks for its own variant and architecture.
                    retain_own(
                        &mut read.tracks,
                        r.options.variant.as_deref(),
                        r.options.arch.as_deref(),
                    );
                    let evidence =
                        evidence.then(|| crate::evidence::files(&v, &r.root, &[], Some(&read)));
                    RepoResult {
                        name: r.name,
                        releases: Some(releases_report(v.report, read)),
                        error: None,
                        evidence_dir: None,
                        evidence,
                    }
                }
                // This machine failed the run (a full disk, an unwritable directory): no
                // repository's verdict can stand on it.
                Err(e) if e.is_local_fault() => return Err(e),
                Err(e) => RepoResult {
                    name: r.name,
                    releases: None,
                    error: Some(e.to_string()),
                    evidence_dir: None,
                    evidence: None,
                },
            };
            Ok((i, result))
        })
        .buffer_unordered(spec.concurrency.max(1))
        .try_collect()
        .await?;
    repositories.sort_by_key(|(i, _)| *i);
    let repositories: Vec<RepoResult> = repositories.into_iter().map(|(_, r)| r).collect();
    for r in &repositories {
        if let Some(e) = &r.error {
            findings.push(Finding::error(
                Code::NotVerified,
                format!("{}: could not verify: {e}", r.name),
            ));
        }
    }
    let all_tracks = one_per_track(
        repositories
            .iter()
            .filter_map(|r| r.releases.as_ref())
            .flat_map(|r| r.tracks.iter()),
    );

    let cross_checked = spec.ssm.as_ref().is_some_and(|s| s.cross_check);
    let ssm_report = ssm.map(|observations| {
        let rows = if cross_checked {
            cross_check(&all_tracks, &observations)
        } else {
            Vec::new()
        };
        findings.extend(crate::ssm::check::findings(&rows));
        SsmReport {
            observations,
            cross_checked,
            cross_check: rows,
        }
    });

    let fleet = (!spec.inventories.is_empty()).then(|| {
        let inventories: Vec<(String, Vec<Node>)> = spec
            .inventories
            .iter()
            .map(|i| (i.name.clone(), i.nodes.clone()))
            .collect();
        crate::fleet::judge(
            &inventories,
            &all_tracks,
            ssm_report.as_ref().map(|s| &s.observations),
            at,
            &spec.policy,
        )
    });
    if let Some(f) = &fleet {
        findings.extend(f.findings());
    }
    findings.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.code.cmp(&b.code)));

    let mut report = JobReport {
        report_format: REPORT_FORMAT,
        tool: format!("tufwatch {}", env!("CARGO_PKG_VERSION")),
        started_at,
        finished_at: Utc::now(),
        reference_time: at,
        repositories,
        ssm: ssm_report,
        inventories: spec
            .inventories
            .iter()
            .map(|i| InventoryReport {
                name: i.name.clone(),
                format: i.format,
                nodes: i.nodes.len(),
            })
            .collect(),
        fleet,
        findings,
        verdict: Verdict::Pass,
        evidence_bundle: None,
    };
    report.judge();
    Ok(report)
}

async fn read_ssm(s: &SsmSpec, spec: &JobSpec, now: DateTime<Utc>) -> Result<Observations> {
    let ec2_regions: Vec<String> = spec
        .inventories
        .iter()
        .flat_map(|i| i.nodes.iter())
        .filter(|n| n.evidence == Evidence::LaunchAmi)
        .filter_map(|n| n.region.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut variants = s.variants.clone();
    if variants.is_empty() {
        variants = spec
            .repos
            .iter()
            .filter_map(|r| r.options.variant.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        // Variants the inventories name directly are worth reading too.
        for inv in &spec.inventories {
            for n in &inv.nodes {
                if let Some(v) = &n.variant {
                    if !variants.contains(v) {
                        variants.push(v.clone());
                    }
                }
            }
        }
        variants.sort();
    }
    match &s.source {
        SsmSource::Files(paths) => {
            let default_region = match s.regions.as_slice() {
                [one] => Some(one.as_str()),
                _ => None,
            };
            let mut params = Vec::new();
            for p in paths {
                params.extend(crate::ssm::file::read(p, default_region)?);
            }
            let mut regions: Vec<String> = s.regions.clone();
            if regions.is_empty() {
                regions = params
                    .iter()
                    .map(|p| p.region.clone())
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect();
            }
            let query = Query {
                regions: regions.clone(),
                variants: s.variants.clone(),
                archs: s.archs.clone(),
                image_regions: ec2_regions,
            };
            let mut read: Vec<&String> = regions.iter().collect();
            for r in &query.image_regions {
                if !read.contains(&r) {
                    read.push(r);
                }
            }
            let results = read
                .into_iter()
                .map(|r| crate::ssm::RegionResult {
                    region: r.clone(),
                    calls: crate::ssm::Calls::default(),
                    error: (!params.iter().any(|p| &p.region == r))
                        .then(|| "the SSM files hold no parameter of this region".to_owned()),
                })
                .collect();
            Ok(Observations::from_parameters(
                "file",
                paths.iter().map(|p| p.display().to_string()).collect(),
                now,
                &query,
                results,
                &params,
            ))
        }
        SsmSource::Live(options) => {
            let config = crate::ssm::live::load_config(options).await;
            let mut regions = s.regions.clone();
            // `latest` is read in the regions named, else in the configuration's default region;
            // a job that only maps EC2 launch AMIs needs no default region.
            let latest_needed = s.cross_check || ec2_regions.is_empty();
            if regions.is_empty() && latest_needed {
                match config.region() {
                    Some(r) => regions.push(r.to_string()),
                    None => {
                        return Err(crate::error::Error::Argument {
                            flag: "--region",
                            message: "no region: give --region, or set one in the AWS configuration (AWS_REGION, a profile's region)".to_owned(),
                        })
                    }
                }
            }
            if variants.is_empty() {
                return Err(crate::error::Error::Argument {
                    flag: "--variant",
                    message: "name the variants to read from SSM with --variant".to_owned(),
                });
            }
            let query = Query {
                regions,
                variants,
                archs: s.archs.clone(),
                image_regions: ec2_regions,
            };
            let (results, params) = crate::ssm::live::observe(&config, options, &query).await;
            let from = vec![options
                .endpoint_url
                .clone()
                .or_else(|| std::env::var("AWS_ENDPOINT_URL_SSM").ok())
                .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok())
                .unwrap_or_else(|| "AWS".to_owned())];
            Ok(Observations::from_parameters(
                "live", from, now, &query, results, &params,
            ))
        }
    }
}
