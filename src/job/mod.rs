//! The whole job in one pass: verify repositories and read their signed manifests, read SSM,
//! judge the fleet, cross-check, and make one report. `ssm`, `nodes` and `report` are this job
//! with parts left out.
//!
//! Order: inventories are read first (the caller does), then SSM (EC2 instances need the AMI ->
//! version map), then the repositories of every variant and architecture in play, concurrently
//! with a bound, then the judgements, which are plain functions of those values.

pub mod changes;
mod ec2;
pub mod history;
mod kube;
mod model;
mod plan;
mod ssm;

pub use model::{BundleRecord, BundleRepo, InventoryReport, JobReport, RepoResult, SsmReport};
pub use plan::{
    both_when_empty, bottlerocket_repos, kms_options, plan, public_url, Ec2Spec, JobSpec,
    KubernetesSpec, LoadedInventory, RepoMaker, RepoSpec, SsmSource, SsmSpec,
};

use crate::engine::{targets::read_verified, Verification};
use crate::error::Result;
use crate::fleet::inventory::{Evidence, Node};
use crate::fleet::Fleet;
use crate::releases::{
    manifest, one_per_track, retain_own, tracks, ManifestRead, ReleasesReport, Track,
};
use crate::report::{verdict_of, Code, Finding, Report, Verdict, REPORT_FORMAT};
use crate::source::bottlerocket::Arch;
use crate::ssm::check::cross_check;
use crate::ssm::Observations;
use chrono::{DateTime, Utc};
use futures::stream::{self, StreamExt, TryStreamExt};
use semver::Version;
use std::collections::BTreeSet;

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
                "manifest.json did not finish downloading within the run's deadline",
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

/// Run a job, stage by stage: read SSM, verify the repositories in play, cross-check SSM against
/// their signed manifests, judge the fleet, and make one report of it all.
pub async fn run(mut spec: JobSpec) -> Result<JobReport> {
    let started_at = Utc::now();
    let at = spec.at.unwrap_or(started_at);
    let mut findings = Vec::new();

    // EC2 first: its instances are inventories, whose variants SSM reads.
    let mut ec2 = read_ec2(&mut spec, at).await?;
    // Kubernetes too: its nodes are inventories, its node classes launch paths.
    let kube = read_kubernetes(&mut spec).await;
    if let Some(k) = &kube {
        findings.extend(k.report.findings());
    }

    // Then SSM: EC2 instances whose AMIs EC2 could not describe need its AMI -> version map.
    let ssm = read_ssm(&spec, started_at).await?;
    if let Some(o) = &ssm {
        findings.extend(o.findings());
    }
    if let (Some(e), Some(o), Some(s)) = (&spec.ec2, &mut ec2, &ssm) {
        findings.extend(ec2::check_ssm_images(e, o, s).await);
    }
    // After SSM's AMIs were described: a region that could not describe them is said too.
    if let Some(o) = &ec2 {
        findings.extend(o.report.findings());
    }

    // The repositories: those given, and those the fleet, its launch paths and SSM bring into
    // play.
    let mut launched = match (&spec.ec2, &ec2) {
        (Some(e), Some(o)) => ec2::launch_paths_in_play(e, o, ssm.as_ref(), at),
        _ => Vec::new(),
    };
    if let Some(k) = &kube {
        launched.extend(crate::fleet::karpenter::pinned_tracks(&k.node_classes));
    }
    let repos = repos_to_verify(&spec, ssm.as_ref(), &launched)?;
    let repositories = verify_all(repos, &spec).await?;
    findings.extend(not_verified(&repositories));
    let all_tracks = tracks_of(&repositories);

    let ssm_report = ssm.map(|observations| cross_check_ssm(&spec, &all_tracks, observations));
    if let Some(s) = &ssm_report {
        let grace = spec.nightly.ssm_grace.to_std();
        findings.extend(crate::ssm::check::findings(&s.cross_check, at, grace));
    }
    let mut fleet = judge_fleet(&spec, &all_tracks, ssm_report.as_ref(), at);
    if let Some(f) = &mut fleet {
        let paths = LaunchPathsRead {
            ec2: spec.ec2.as_ref().zip(ec2.as_ref()),
            node_classes: kube
                .as_ref()
                .map(|k| &k.node_classes[..])
                .unwrap_or_default(),
        };
        let ssm = ssm_report.as_ref().map(|s| &s.observations);
        f.launch_paths = paths.judge(ssm, &all_tracks, at, &spec.policy);
    }
    let waivers = &spec.nightly.waivers;
    if let Some(f) = &fleet {
        let by_waivers = |code, subject: &crate::report::Subject| waivers.waive(code, subject, at);
        let waive: crate::fleet::Waive = (!waivers.is_empty()).then_some(&by_waivers);
        findings.extend(f.findings(waive));
    }
    waivers.apply(&mut findings, at);
    findings.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.code.cmp(&b.code)));

    let mut report = assemble(
        &spec,
        started_at,
        at,
        repositories,
        ssm_report,
        fleet,
        findings,
    );
    report.ec2 = ec2.map(|o| o.report);
    report.kubernetes = kube.map(|k| k.report);
    Ok(report)
}

/// The launch paths read: EC2's (with the images it described), and Karpenter's node classes.
struct LaunchPathsRead<'a> {
    ec2: Option<(&'a Ec2Spec, &'a crate::aws::ec2::Ec2Observations)>,
    node_classes: &'a [crate::fleet::karpenter::NodeClassFacts],
}

impl LaunchPathsRead<'_> {
    /// Every launch path judged against the tracks, stale ones first.
    fn judge(
        &self,
        ssm: Option<&Observations>,
        tracks: &[Track],
        at: DateTime<Utc>,
        policy: &crate::fleet::BehindLimits,
    ) -> Vec<crate::fleet::launch::LaunchPathView> {
        let no_images = crate::fleet::ami::Images::default();
        let (images, trust) = match self.ec2 {
            Some((e, o)) => (&o.images, ec2::trust(e, at)),
            None => (
                &no_images,
                crate::fleet::ami::ImageTrust {
                    owners: Vec::new(),
                    at,
                },
            ),
        };
        let judging = crate::fleet::launch::LaunchJudging {
            images,
            trust: &trust,
            ssm,
            tracks,
            at,
            policy,
        };
        let mut views = match self.ec2 {
            Some((_, o)) => judging.all(&o.launch_paths),
            None => Vec::new(),
        };
        views.extend(judging.node_classes(self.node_classes));
        views.sort_by(|a, b| b.stale.cmp(&a.stale).then(a.name.cmp(&b.name)));
        views
    }
}

/// Read the Kubernetes clusters, when the job names any; their nodes join the inventories.
async fn read_kubernetes(spec: &mut JobSpec) -> Option<kube::KubeObservations> {
    let k = spec.kubernetes.as_ref()?;
    let mut observed = kube::read_kubernetes(k).await;
    spec.inventories.append(&mut observed.inventories);
    Some(observed)
}

/// Read EC2 live, when the job asks for it; its instances join the inventories.
async fn read_ec2(
    spec: &mut JobSpec,
    at: DateTime<Utc>,
) -> Result<Option<crate::aws::ec2::Ec2Observations>> {
    let Some(e) = spec.ec2.clone() else {
        return Ok(None);
    };
    let observed = ec2::read_ec2(&e, spec).await?;
    spec.inventories
        .extend(ec2::inventories(&observed, &ec2::trust(&e, at)));
    Ok(Some(observed))
}

/// Read SSM, when the job asks for it.
async fn read_ssm(spec: &JobSpec, started_at: DateTime<Utc>) -> Result<Option<Observations>> {
    Ok(match &spec.ssm {
        Some(s) if s.optional && !ssm::needed(s, spec) => None,
        Some(s) => Some(ssm::read_ssm(s, spec, started_at).await?),
        None => None,
    })
}

/// The repositories to verify: those given, and those the fleet and SSM bring into play.
fn repos_to_verify(
    spec: &JobSpec,
    ssm: Option<&Observations>,
    launched: &[(String, Arch)],
) -> Result<Vec<RepoSpec>> {
    let mut repos = spec.repos.clone();
    if let Some(derive) = &spec.derive_repo {
        let mut wanted = in_play(spec, ssm);
        wanted.extend(launched.iter().cloned());
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
    if spec.evidence.is_some() {
        for r in &mut repos {
            r.options.state_root = None;
        }
    }
    Ok(repos)
}

/// One finding per repository that could not be verified at all, in the order verified.
fn not_verified(repositories: &[RepoResult]) -> Vec<Finding> {
    repositories
        .iter()
        .filter_map(|r| {
            r.error.as_ref().map(|e| {
                Finding::error(
                    Code::NotVerified,
                    format!("{}: could not verify: {e}", r.name),
                )
            })
        })
        .collect()
}

/// One track per variant and architecture, from the releases of the repositories verified.
fn tracks_of(repositories: &[RepoResult]) -> Vec<Track> {
    one_per_track(
        repositories
            .iter()
            .filter_map(|r| r.releases.as_ref())
            .flat_map(|r| r.tracks.iter()),
    )
}

/// SSM's part of the report: what it said, cross-checked against the tracks when asked.
fn cross_check_ssm(spec: &JobSpec, tracks: &[Track], observations: Observations) -> SsmReport {
    let cross_checked = spec.ssm.as_ref().is_some_and(|s| s.cross_check);
    let rows = if cross_checked {
        cross_check(tracks, &observations)
    } else {
        Vec::new()
    };
    SsmReport {
        observations,
        cross_checked,
        cross_check: rows,
    }
}

/// Judge the fleet, when the job has inventories: every node against the tracks, at `at`.
fn judge_fleet(
    spec: &JobSpec,
    tracks: &[Track],
    ssm: Option<&SsmReport>,
    at: DateTime<Utc>,
) -> Option<Fleet> {
    (!spec.inventories.is_empty()).then(|| {
        let inventories: Vec<(String, Vec<Node>)> = spec
            .inventories
            .iter()
            .map(|i| (i.name.clone(), i.nodes.clone()))
            .collect();
        crate::fleet::judge(
            &inventories,
            tracks,
            ssm.map(|s| &s.observations),
            at,
            &spec.policy,
        )
    })
}

/// The job's report from its parts, finished now, with its verdict.
fn assemble(
    spec: &JobSpec,
    started_at: DateTime<Utc>,
    at: DateTime<Utc>,
    repositories: Vec<RepoResult>,
    ssm: Option<SsmReport>,
    fleet: Option<Fleet>,
    findings: Vec<Finding>,
) -> JobReport {
    let mut report = JobReport {
        report_format: REPORT_FORMAT,
        tool: format!("tufwatch {}", env!("CARGO_PKG_VERSION")),
        started_at,
        finished_at: Utc::now(),
        reference_time: at,
        repositories,
        ssm,
        ec2: None,
        kubernetes: None,
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
        fail_on: spec.nightly.fail_on.clone(),
        waivers: Vec::new(),
        changes: None,
    };
    report.waivers = spec.nightly.waivers.uses(&report.all_findings(), at);
    report
        .findings
        .extend(report.waivers.iter().filter_map(|w| w.finding()));
    report.judge();
    report
}

/// The Bottlerocket variants and architectures the job brings into play: those its inventories'
/// nodes run (or the AMIs EC2 instances were launched from, by SSM's map), and those SSM is
/// cross-checked for. A name that is not a Bottlerocket variant (an odd CSV line, a custom
/// osImage) makes no repository: its nodes are judged unchecked, and the run goes on.
fn in_play(spec: &JobSpec, ssm: Option<&Observations>) -> BTreeSet<(String, Arch)> {
    let mut wanted: BTreeSet<(String, Arch)> = BTreeSet::new();
    let mut want = |variant: &str, arch: &str| {
        if let Ok(a) = Arch::parse(arch) {
            wanted.insert((variant.to_owned(), a));
        }
    };
    for n in spec.inventories.iter().flat_map(|i| &i.nodes) {
        if let (Some(v), Some(a)) = (&n.variant, n.arch.as_deref()) {
            want(v, a);
        }
        if let (Evidence::LaunchAmi, Some(o), Some(r), Some(ami)) =
            (n.evidence, ssm, &n.region, &n.image_id)
        {
            if let Some(image) = o.image(r, ami) {
                want(&image.variant, &image.arch);
            }
        }
    }
    if let (Some(s), Some(o)) = (spec.ssm.as_ref().filter(|s| s.cross_check), ssm) {
        if s.variants.is_empty() {
            // Every variant and architecture the SSM files hold.
            for l in &o.latest {
                want(&l.variant, &l.arch);
            }
        }
        for v in &s.variants {
            for a in both_when_empty(s.archs.clone()) {
                want(v, a.as_str());
            }
        }
    }
    wanted.retain(|(v, _)| crate::source::bottlerocket::check_variant(v).is_ok());
    wanted
}

/// Verify every repository, a few at a time over one HTTP client and one read of each shared
/// target, each with the releases its signed manifest gives, in the order given. The first
/// fault of this machine stops the other verifications at once: the run stops.
async fn verify_all(repos: Vec<RepoSpec>, spec: &JobSpec) -> Result<Vec<RepoResult>> {
    let net = repos
        .first()
        .map(|r| r.options.net.clone())
        .unwrap_or_default();
    let shared = &crate::engine::Shared::new(net)?;
    let mut verified: Vec<(usize, RepoResult)> = stream::iter(repos.into_iter().enumerate())
        .map(|(i, r)| async move { Ok((i, verify_one(r, spec, shared).await?)) })
        .buffer_unordered(spec.concurrency.max(1))
        .try_collect()
        .await?;
    verified.sort_by_key(|(i, _)| *i);
    Ok(verified.into_iter().map(|(_, r)| r).collect())
}

/// The signed manifest, when the repository lists one: the releases it records, of the
/// repository's own variant and architecture.
pub async fn own_releases(
    verification: &crate::engine::Verification,
    options: &crate::engine::VerifyOptions,
) -> Option<crate::releases::ManifestRead> {
    let listed = verification
        .listing
        .as_ref()
        .is_some_and(|l| l.find("manifest.json").is_some());
    if !listed {
        return None;
    }
    let mut read = read_manifest(verification, None).await;
    crate::releases::retain_own(
        &mut read.tracks,
        options.variant.as_deref(),
        options.arch.as_deref(),
    );
    Some(read)
}

/// One repository's verification and releases (and its evidence, when the job keeps it). A
/// repository that cannot be verified at all is a result; a fault of this machine (a full
/// disk, an unwritable directory) is the run's error: no repository's verdict can stand on it.
async fn verify_one(
    r: RepoSpec,
    spec: &JobSpec,
    shared: &crate::engine::Shared,
) -> Result<RepoResult> {
    let v = match crate::engine::verify_shared(&r.options, &r.root, shared).await {
        Ok(v) => v,
        Err(e) if e.is_local_fault() => return Err(e),
        Err(e) => {
            return Ok(RepoResult {
                name: r.name,
                releases: None,
                error: Some(e.to_string()),
                evidence_dir: None,
                evidence: None,
            })
        }
    };
    let mut read = read_manifest(&v, spec.from.as_ref()).await;
    // A Bottlerocket repository speaks for its own variant and architecture.
    retain_own(
        &mut read.tracks,
        r.options.variant.as_deref(),
        r.options.arch.as_deref(),
    );
    let evidence = spec.evidence.as_ref().map(|e| {
        let names = crate::settings::StatementNames {
            verifier_id: e.verifier_id.clone(),
            // The plan refuses a job that keeps evidence of a repository with none.
            resource_uri: r
                .resource_uri
                .clone()
                .unwrap_or_else(|| r.options.metadata_url.to_string()),
        };
        (e.keep)(&v, &r.root, &read, &names)
    });
    Ok(RepoResult {
        name: r.name,
        releases: Some(releases_report(v.report, read)),
        error: None,
        evidence_dir: None,
        evidence,
    })
}
