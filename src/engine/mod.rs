//! Verification of a TUF repository with tough, checked further by tufwatch where tough is
//! weaker than the specification.
//!
//! The order follows the TUF client workflow (specification 1.0.x, section 5):
//! 5.1 fix the reference time; 5.2 load the trusted root; 5.3 walk root rotations; 5.4 timestamp;
//! 5.5 snapshot; 5.6 targets and delegations; 5.7 targets themselves. tough performs 5.2-5.6 with
//! its expiry enforcement off, and the strict engine (`strict`) performs them by the
//! specification, at the same time on the same bytes (`--engine both`), or either alone; tufwatch
//! then judges expiry at the reference time, names every signature, compares with the saved
//! state, and downloads targets as the deciding engine lists them ([`targets::Listing`]).

pub mod anchor;
pub mod canonical;
pub mod collect;
pub mod compat;
pub mod expiry;
pub mod findings;
pub mod rollback;
pub mod signatures;
pub mod strict;
pub mod targets;

use crate::error::Result;
use crate::report::{
    Code, EngineOutcome, EngineVerdict, Finding, Report, RepositoryReport, RoleReport, RoleVerdict,
    Severity, Signatures, StateReport, TrustedRootReport, Verdict,
};
use crate::source::pins::TrustedRoot;
use crate::source::state::{SavedState, StateStore};
use crate::source::transport::{Fetcher, NetOptions, Outcome};
use chrono::{DateTime, Duration, Utc};
use collect::{Collected, Loaded, Root, Signed};
use signatures::SignedParts;
use std::path::PathBuf;
use tough::schema::RoleType;
use tough::{ExpirationEnforcement, Limits, RepositoryLoader};
use url::Url;

pub use targets::TargetSelection;

/// The tough version tufwatch is built with (kept in step with Cargo.toml by a test).
pub const TOUGH_VERSION: &str = "0.24";

/// Everything `verify` needs, resolved and checked before any I/O.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// Base URL of the metadata.
    pub metadata_url: Url,
    /// Base URL of the targets.
    pub targets_url: Url,
    /// Bottlerocket variant, for the report.
    pub variant: Option<String>,
    /// Bottlerocket architecture, for the report.
    pub arch: Option<String>,
    /// Judge expiry at this time instead of now (`--at`).
    pub at: Option<DateTime<Utc>>,
    /// Warn about roles that expire within this window.
    pub expiry_warning: Duration,
    /// Size limits for metadata.
    pub limits: Limits,
    /// Targets to download and check.
    pub targets: TargetSelection,
    /// Where verified targets are written; `None` checks and discards them.
    pub out_dir: Option<PathBuf>,
    /// Parent directory of the saved states; `None` for `--no-state`.
    pub state_root: Option<PathBuf>,
    /// Network settings.
    pub net: NetOptions,
    /// Show progress bars (on a terminal only).
    pub progress: bool,
    /// The longest the whole verification may take.
    pub deadline: std::time::Duration,
    /// Which engines must accept the metadata.
    pub engines: Engines,
}

/// Which TUF engines verify (`--engine`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Engines {
    /// tough, as Bottlerocket hosts run it, with tufwatch's own checks.
    Tough,
    /// tough, then the strict engine on the same bytes; both must accept, and a disagreement
    /// is a finding.
    #[default]
    Both,
    /// The strict engine alone (the specification's client workflow); tough does not run.
    /// tufwatch's own checks (signatures by key, expiry, the saved state) still apply.
    Strict,
}

/// The outcome of a verification: the report, and what later stages read.
pub struct Verification {
    /// The report.
    pub report: Report,
    /// The targets of the verified repository, as the deciding engine lists them, when it
    /// accepted the metadata (to read targets such as `manifest.json`).
    pub listing: Option<targets::Listing>,
    /// Every metadata file received, with its exact bytes.
    pub collected: Collected,
    /// Where its targets are fetched from, through the transport the metadata came through.
    pub targets_from: targets::TargetSource,
    /// The end of the run's time (`--deadline` from its start): targets read later (the
    /// manifest) are read within it too.
    pub deadline: tokio::time::Instant,
}

/// What the verifications of one run share (`report` verifies every repository of a job): one
/// HTTP client, so connections to a host serve one repository after another, and the targets
/// read into memory, each fetched and checked once however many repositories list it.
#[derive(Clone, Debug)]
pub struct Shared {
    fetcher: Fetcher,
    read: targets::ReadOnce,
}

impl Shared {
    /// For verifications with these network settings.
    pub fn new(net: NetOptions) -> Result<Self> {
        Ok(Shared {
            fetcher: Fetcher::new(net)?,
            read: targets::ReadOnce::default(),
        })
    }
}

/// A new directory for tough's datastore: in the state directory when there is one and it takes
/// it (an audit with `--at` may have only read access there), else in the temporary directory;
/// what runs killed there before left (`.tufwatch-<pid>-datastore-*` of processes that are gone)
/// is swept first. When neither takes it, the error names the temporary directory.
fn datastore(state_root: Option<&std::path::Path>) -> Result<tempfile::TempDir> {
    let in_dir = |base: &std::path::Path, make: bool| {
        let error = |source| crate::error::Error::Write {
            what: "tough's datastore in",
            path: base.to_owned(),
            source,
        };
        if make {
            std::fs::create_dir_all(base).map_err(error)?;
        }
        crate::atomic::sweep(base);
        tempfile::Builder::new()
            .prefix(&crate::atomic::prefix("datastore"))
            .tempdir_in(base)
            .map_err(error)
    };
    match state_root.map(|root| in_dir(root, true)) {
        Some(Ok(dir)) => Ok(dir),
        _ => in_dir(&std::env::temp_dir(), false),
    }
}

/// Verify a repository from a trusted root.
pub async fn verify(opts: &VerifyOptions, trusted: &TrustedRoot) -> Result<Verification> {
    verify_shared(opts, trusted, &Shared::new(opts.net.clone())?).await
}

/// Verify a repository from a trusted root, with what the other verifications of the run share
/// (its network settings are those of `shared`).
pub async fn verify_shared(
    opts: &VerifyOptions,
    trusted: &TrustedRoot,
    shared: &Shared,
) -> Result<Verification> {
    // 5.1: the fixed update start time. Expiry is judged at `--at` when given.
    let started_at = Utc::now();
    let at = opts.at.unwrap_or(started_at);

    let store = opts
        .state_root
        .as_ref()
        .map(|r| StateStore::for_repository(r, &opts.metadata_url));
    // The whole run has a deadline, so a server that answers a byte at a time (or a run that
    // holds the state) cannot hold a nightly job forever.
    let deadline = tokio::time::Instant::now() + opts.deadline;

    // One run at a time per repository state: a second one waits, up to the deadline.
    let lock = match &store {
        Some(s) => Some(hold(s, opts.at.is_none(), deadline).await?),
        None => None,
    };
    let previous = match &store {
        Some(s) => match s.load()? {
            Some(saved) => Some(rollback::Previous::parse(
                &s.dir().display().to_string(),
                &saved,
            )?),
            None => None,
        },
        None => None,
    };

    // 5.2: start from the latest trusted root: the anchor, or the newer root a previous run
    // verified from this same anchor (a fork of the chain after it cannot then pass). A state
    // made from another anchor does not replace the anchor: re-anchoring after a compromise
    // works, and an unpinned root cannot slip in through the state.
    let (start_bytes, start_source, started_from_root) = match &previous {
        Some(p) if p.root_version() > trusted.version && p.anchored_by(&trusted.sha512) => (
            p.root_bytes().to_vec(),
            format!("root v{} saved in {}", p.root_version(), store_dir(&store)),
            Some(p.root_version()),
        ),
        _ => (trusted.bytes.clone(), trusted.source.clone(), None),
    };

    let fetcher = shared
        .fetcher
        .clone()
        .recording_below(&opts.metadata_url, opts.limits);
    let past_deadline = |what: &str| {
        Finding::error(
            Code::Unreachable,
            format!(
                "{what} did not finish within the deadline of {} (--deadline)",
                expiry::human_duration(Duration::from_std(opts.deadline).unwrap_or(Duration::MAX))
            ),
        )
    };
    // 5.3-5.6, by tough, with expiry left to tufwatch (tough knows only the system clock), and
    // the strict engine from the same trusted root at the same time, each on a core of its
    // own. The fetcher downloads each metadata file once for both: they judge the same bytes.
    // tough keeps copies of the metadata in a datastore of its own: a directory of this run,
    // made here so that a machine that cannot take it stops the run (exit 2) before anything is
    // judged, and removed when the run ends, is cancelled or is stopped by a signal.
    let datastore = match opts.engines {
        Engines::Strict => None,
        Engines::Tough | Engines::Both => Some(datastore(opts.state_root.as_deref())?),
    };
    let tough_task = datastore.as_ref().map(|datastore| {
        let (root, fetcher, limits) = (start_bytes.clone(), fetcher.clone(), opts.limits);
        let (metadata_url, targets_url) = (opts.metadata_url.clone(), opts.targets_url.clone());
        let datastore = datastore.path().to_owned();
        tokio::spawn(async move {
            RepositoryLoader::new(&root, metadata_url, targets_url)
                .transport(fetcher)
                .datastore(datastore)
                .limits(limits)
                .expiration_enforcement(ExpirationEnforcement::Unsafe)
                .load()
                .await
        })
    });
    let tough_run = async {
        let task = tough_task?;
        let abort = task.abort_handle();
        Some(match tokio::time::timeout_at(deadline, task).await {
            Ok(Ok(loaded)) => Ok(loaded),
            Ok(Err(e)) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            // Cancelled: only the runtime shutting down does that, and it drops this run too.
            Ok(Err(_cancelled)) => std::future::pending().await,
            Err(elapsed) => {
                abort.abort();
                Err(elapsed)
            }
        })
    };
    let strict_run = async {
        if opts.engines == Engines::Tough {
            return None;
        }
        let run = strict::verify::verify(
            &start_bytes,
            opts.metadata_url.clone(),
            at,
            &opts.limits,
            opts.net.clone(),
            fetcher.clone(),
        );
        Some(match tokio::time::timeout_at(deadline, run).await {
            Ok(run) => run,
            Err(_elapsed) => strict::verify::StrictRun {
                outcome: EngineOutcome {
                    engine: strict::verify::NAME.to_owned(),
                    verdict: EngineVerdict::Unfinished,
                    reason: Some("past the deadline (--deadline)".to_owned()),
                },
                error: None,
                trusted: None,
            },
        })
    };
    let (loaded, strict) = tokio::join!(tough_run, strict_run);
    fetcher.stop_recording();
    drop(datastore); // tough reads nothing more from it (expiry is not tough's to enforce)
                     // A fault of this machine in tough's datastore is no verdict on the repository.
    let loaded = match loaded {
        Some(Ok(Err(e))) => match findings::origin(e) {
            findings::Origin::Local(fault) => return Err(fault),
            findings::Origin::Repository(e) => Some(Ok(Err(e))),
        },
        other => other,
    };

    let start_parsed: Signed<Root> =
        serde_json::from_slice(&start_bytes).map_err(|e| crate::error::Error::Invalid {
            what: "trusted root",
            path: start_source.clone(),
            message: e.to_string(),
        })?;
    let start = Loaded {
        url: start_source,
        bytes: bytes::Bytes::from(start_bytes.clone()),
        parsed: start_parsed,
    };
    let recording = fetcher.recording().clone();
    let mut collected = collect::collect(start, &recording, &opts.metadata_url);

    let mut findings = Vec::new();
    // Fail closed: every role the deciding engine verified must have been re-read by tufwatch,
    // or its expiry and signatures would go unchecked.
    let unread = |root_version: u64, delegated: usize| -> Option<Finding> {
        let same_root = collected.final_root().parsed.signed.version.get() == root_version;
        (!same_root
            || collected.timestamp.is_none()
            || collected.snapshot.is_none()
            || collected.targets.is_none()
            || collected.delegated.len() != delegated)
            .then(|| {
                Finding::error(
                    Code::Rejected,
                    format!(
                        "tufwatch could not re-read the metadata the engine verified ({} of {} delegated roles, targets {}): refusing to judge it unchecked",
                        collected.delegated.len(),
                        delegated,
                        if collected.targets.is_some() { "read" } else { "missing" }
                    ),
                )
            })
    };
    let (strict, strict_trusted) = match strict {
        Some(run) => (Some(run.outcome), Some((run.error, run.trusted))),
        None => (None, None),
    };
    // Why the strict engine alone refused, unless the checks of each role below say it already.
    let mut strict_rejection = None;
    // What tough cannot do with this repository that the specification allows (when tough runs).
    let tough_limits = match opts.engines {
        Engines::Strict => Vec::new(),
        Engines::Tough | Engines::Both => compat::limitations(
            &collected,
            strict_trusted.as_ref().and_then(|(_, t)| t.as_ref()),
        ),
    };
    // Why tough refused, when one of its limitations explains it and the strict engine decides.
    let mut tough_refused = None;
    let (listing, failed_role) = match (loaded, strict_trusted) {
        // The strict engine alone decides.
        (None, Some((error, trusted))) => match (trusted, &strict) {
            (Some(t), _) => {
                let delegated = t.targets.len().saturating_sub(1);
                findings.extend(unread(t.root.signed.common.version, delegated));
                (Some(targets::Listing::Strict(Box::new(t))), None)
            }
            (None, _) => {
                let f = match &error {
                    Some(e) => strict::verify::finding(e, &opts.metadata_url),
                    None => past_deadline("verifying the repository's metadata"),
                };
                let role = f.role.clone();
                strict_rejection = Some(f);
                (None, role)
            }
        },
        (None, None) => (None, None),
        (Some(Err(_elapsed)), _) => {
            findings.push(past_deadline("loading the repository's metadata"));
            (None, None)
        }
        (Some(Ok(Ok(repo))), _) => {
            findings.extend(unread(
                repo.root().signed.version.get(),
                count_delegated(&repo.targets().signed),
            ));
            (Some(targets::Listing::Tough(Box::new(repo))), None)
        }
        // tough cannot read the repository, for a reason the specification allows, and the
        // strict engine accepted it: the specification's verdict stands (python-tuf, the
        // reference client, reads such repositories), and the limitation is a finding below.
        (Some(Ok(Err(e))), Some((_, Some(t)))) if compat::explains_refusal(&tough_limits) => {
            tough_refused = Some(findings::from_tough(&e).message);
            let delegated = t.targets.len().saturating_sub(1);
            findings.extend(unread(t.root.signed.common.version, delegated));
            (Some(targets::Listing::Strict(Box::new(t))), None)
        }
        (Some(Ok(Err(e))), _) => {
            if matches!(
                &e,
                tough::error::Error::VerifyMetadata {
                    role: RoleType::Root,
                    ..
                }
            ) {
                // tough refused the newest root it fetched: it is no part of the chain. (A file
                // that also claims a wrong version never joined the walk; then it is that one.)
                collected.rejected_root = match collected.next_root.take() {
                    Some(next) => Some(next),
                    None => collected.rotations.pop(),
                };
            }
            let mut f = findings::from_tough(&e);
            if matches!(
                &e,
                tough::error::Error::VerifyTrustedMetadata { .. }
                    | tough::error::Error::ParseTrustedMetadata { .. }
            ) {
                f.url = Some(collected.trusted.url.clone());
            }
            let role = f.role.clone();
            findings.push(f);
            (None, role)
        }
    };

    let mut roles = role_reports(&collected, at);
    // tough names every targets-like role `targets`; when the top-level targets role checks out,
    // a delegated role whose signatures fail is the one tough refused.
    if let Some(f) = findings.first_mut() {
        let top_ok = roles.iter().any(|r| {
            r.role == "targets" && r.delegated_by.is_none() && signature_problem(r).is_none()
        });
        if f.role.as_deref() == Some("targets") && f.url.is_none() && top_ok {
            if let Some(d) = roles
                .iter()
                .find(|r| r.delegated_by.is_some() && signature_problem(r).is_some())
            {
                f.role = Some(d.role.clone());
            }
        }
        // tough names the role but not the file: name the one fetched last for the role.
        if let (None, Some(role)) = (&f.url, &f.role) {
            f.url = last_fetched(&fetcher.recording(), role);
        }
    }
    let failed_role = findings
        .first()
        .and_then(|f| f.role.clone())
        .or(failed_role);
    // Where hosts run tough (Bottlerocket's layout), what tough cannot do is an error.
    findings.extend(compat::finding(&tough_limits, opts.variant.is_some()));
    for r in &mut roles {
        let url = r.url.clone();
        let (verdict, finding) = expiry::judge(&r.role, r.expires, at, opts.expiry_warning, &url);
        r.verdict = verdict;
        findings.extend(finding);
        if let Some((code, why)) = signature_problem(r) {
            r.verdict = RoleVerdict::Fail;
            if listing.is_some() {
                let engine = match &listing {
                    Some(targets::Listing::Strict(_)) => "the strict engine",
                    _ => "tough",
                };
                findings.push(
                    Finding::error(code, format!("{engine} accepted {} but {why}", r.role))
                        .role(&r.role)
                        .url(&url),
                );
            }
        }
        if failed_role.as_deref() == Some(r.role.as_str()) {
            r.verdict = RoleVerdict::Fail;
        }
    }
    if let Some(f) = strict_rejection {
        let said = findings
            .iter()
            .any(|g| g.severity == Severity::Error && g.code == f.code && g.role == f.role);
        if !said {
            findings.push(f);
        }
    }

    // Stricter than tough: tough ends the root walk on any error fetching N+1.root.json, so a
    // server that fails (rather than answering "not found") could hide a newer root.
    if let Some((url, failed)) = &collected.next_root_probe {
        let failure = match failed {
            Outcome::Failed(why) => Some((Code::Unreachable, why)),
            Outcome::TooLong(why) => Some((Code::LengthExceeded, why)),
            Outcome::Bytes(_) | Outcome::NotFound => None,
        };
        if let Some((code, why)) = failure {
            findings.push(
                Finding::error(
                    code,
                    format!("could not learn whether a newer root exists: {why}"),
                )
                .role("root")
                .url(url.as_str()),
            );
        }
    }

    // Findings against the saved state: tough's side alone has them (the strict engine keeps
    // no state), so they do not count when the engines are compared.
    let mut state_findings = Vec::new();
    if let Some(prev) = &previous {
        state_findings = rollback::check(prev, &collected);
        findings.extend(state_findings.iter().cloned());
    }

    let targets_from =
        targets::TargetSource::new(fetcher.clone(), &opts.targets_url, shared.read.clone());
    let mut target_reports = Vec::new();
    if let Some(listing) = &listing {
        if crate::report::verdict_of(&findings) == Verdict::Pass {
            let (t, f) = targets::fetch_targets(
                listing,
                &targets_from,
                &opts.targets,
                opts.out_dir.as_deref(),
                opts.progress,
                deadline,
            )
            .await?;
            target_reports = t;
            findings.extend(f);
        }
    }

    // The strict engine's verdict beside tough's: a disagreement marks metadata that Bottlerocket
    // hosts would accept but the specification forbids, or the reverse.
    let mut engines = Vec::new();
    match (strict, opts.engines) {
        (Some(strict), Engines::Strict) => engines = vec![strict],
        (Some(strict), Engines::Both) => {
            let metadata_errors: Vec<&Finding> = findings
                .iter()
                .filter(|f| f.severity == Severity::Error && f.target.is_none())
                .filter(|f| f.code != Code::ToughIncompatible)
                .filter(|f| !state_findings.contains(f))
                .collect();
            let tough = EngineOutcome {
                engine: format!("tough {TOUGH_VERSION}"),
                verdict: if tough_refused.is_some() {
                    EngineVerdict::Rejected
                } else if metadata_errors.iter().any(|f| f.code.means_incomplete()) {
                    EngineVerdict::Unfinished
                } else if listing.is_some() && metadata_errors.is_empty() {
                    EngineVerdict::Accepted
                } else {
                    EngineVerdict::Rejected
                },
                reason: tough_refused
                    .clone()
                    .or_else(|| metadata_errors.first().map(|f| f.message.clone())),
            };
            let decided = |o: &EngineOutcome| o.verdict != EngineVerdict::Unfinished;
            // A limitation of tough explains a disagreement: the tough_incompatible finding
            // names it.
            let explained = tough_refused.is_some();
            if decided(&tough) && decided(&strict) && tough.verdict != strict.verdict && !explained
            {
                let message = if tough.verdict == EngineVerdict::Accepted {
                    format!(
                        "tough (what Bottlerocket hosts run) accepts the metadata, but the strict engine (the TUF specification) rejects it: {}",
                        strict.reason.as_deref().unwrap_or("no reason given")
                    )
                } else {
                    format!(
                        "the strict engine (the TUF specification) accepts the metadata, but tough (what Bottlerocket hosts run) rejects it: {}",
                        tough.reason.as_deref().unwrap_or("no reason given")
                    )
                };
                findings.push(Finding::error(Code::EnginesDisagree, message));
            }
            engines = vec![tough, strict];
        }
        _ => {}
    }

    let mut report = Report {
        report_format: crate::report::REPORT_FORMAT,
        tool: format!("tufwatch {}", env!("CARGO_PKG_VERSION")),
        engine: match opts.engines {
            Engines::Strict => strict::verify::NAME.to_owned(),
            Engines::Tough | Engines::Both => format!("tough {TOUGH_VERSION}"),
        },
        started_at,
        reference_time: at,
        expiry_warning_seconds: opts.expiry_warning.num_seconds(),
        repository: RepositoryReport {
            metadata_url: opts.metadata_url.to_string(),
            targets_url: opts.targets_url.to_string(),
            variant: opts.variant.clone(),
            arch: opts.arch.clone(),
        },
        trusted_root: TrustedRootReport {
            source: trusted.source.clone(),
            sha512: trusted.sha512.clone(),
            version: trusted.version,
            pinned_by: trusted.pinned_by.clone(),
        },
        root_chain: std::iter::once(&collected.trusted)
            .chain(&collected.rotations)
            .map(|r| r.parsed.signed.version.get())
            .collect(),
        roles,
        decided_by: match opts.engines {
            Engines::Tough => None,
            Engines::Both if tough_refused.is_some() => Some("strict".to_owned()),
            Engines::Both => Some("both".to_owned()),
            Engines::Strict => Some("strict".to_owned()),
        },
        engines,
        targets: target_reports,
        state: StateReport {
            dir: store.as_ref().map(|s| s.dir().display().to_string()),
            previous: previous.as_ref().map(|p| p.versions()).unwrap_or_default(),
            updated: false,
            started_from_root,
        },
        findings,
        verdict: Verdict::Pass,
    };
    report.finish();

    // Persist (5.3.7, 5.4.5, 5.5.7, 5.6.6) what verified: only metadata judged at the present
    // time (an audit with --at changes nothing) and only when no metadata check failed (a
    // target that fails does not make verified metadata untrusted).
    let metadata_ok = !report
        .findings
        .iter()
        .any(|f| f.severity == Severity::Error && f.target.is_none());
    if let (Some(store), Some(_), None, true) = (&store, &listing, opts.at, metadata_ok) {
        store.save(
            &saved_state(&collected, &trusted.sha512),
            &opts.metadata_url,
        )?;
        report.state.updated = true;
    }
    drop(lock);

    Ok(Verification {
        report,
        listing,
        collected,
        targets_from,
        deadline,
    })
}

/// What is wrong with a role's signatures as tufwatch checked them, if anything.
fn signature_problem(r: &RoleReport) -> Option<(Code, String)> {
    if let Some(why) = &r.signatures.unreadable {
        return Some((
            Code::Malformed,
            format!("tufwatch cannot check its signatures: {why}"),
        ));
    }
    std::iter::once(&r.signatures)
        .chain(r.rotation_signatures.as_ref())
        .find(|s| !s.threshold_met())
        .map(|s| {
            (
                Code::SignatureThreshold,
                format!(
                    "tufwatch counts {} valid signatures by the keys of {} over the bytes received, below the threshold of {}",
                    s.valid_keyids.len(),
                    s.keys_from,
                    s.threshold
                ),
            )
        })
}

/// The URL of the metadata file fetched last for `role` (`timestamp.json`, `N.<role>.json`).
fn last_fetched(rec: &crate::source::transport::Recording, role: &str) -> Option<String> {
    rec.urls()
        .filter(|u| {
            url::Url::parse(u)
                .ok()
                .and_then(|u| crate::source::state::role_of_url(&u))
                .is_some_and(|r| r == role)
        })
        .last()
        .map(str::to_owned)
}

/// Hold the state (see [`StateStore::try_lock`]), waiting for another run up to the deadline.
async fn hold(
    store: &StateStore,
    exclusive: bool,
    deadline: tokio::time::Instant,
) -> Result<crate::source::state::StateLock> {
    let mut told = false;
    loop {
        if let Some(lock) = store.try_lock(exclusive)? {
            return Ok(lock);
        }
        if !told {
            tracing::warn!(
                "another run holds the state {}; waiting for it to finish",
                store.dir().display()
            );
            told = true;
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(crate::error::Error::Invalid {
                what: "state",
                path: store.dir().display().to_string(),
                message: "another tufwatch run held it until the deadline (--deadline); nothing was verified".to_owned(),
            });
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

fn store_dir(store: &Option<StateStore>) -> String {
    store
        .as_ref()
        .map(|s| s.dir().display().to_string())
        .unwrap_or_default()
}

/// Delegated roles tough loaded, at every level.
fn count_delegated(t: &tough::schema::Targets) -> usize {
    t.delegations.as_ref().map_or(0, |d| {
        d.roles
            .iter()
            .filter_map(|r| r.targets.as_ref())
            .map(|t| 1 + count_delegated(&t.signed))
            .sum()
    })
}

fn saved_state(c: &Collected, anchor_sha512: &str) -> SavedState {
    let mut s = SavedState {
        anchor_sha512: anchor_sha512.to_owned(),
        ..SavedState::default()
    };
    s.roles
        .insert("root".to_owned(), c.final_root().bytes.to_vec());
    if let Some(t) = &c.timestamp {
        s.roles.insert("timestamp".to_owned(), t.bytes.to_vec());
    }
    if let Some(t) = &c.snapshot {
        s.roles.insert("snapshot".to_owned(), t.bytes.to_vec());
    }
    if let Some(t) = &c.targets {
        s.roles.insert("targets".to_owned(), t.bytes.to_vec());
    }
    for d in &c.delegated {
        s.delegated
            .insert(d.name.clone(), d.metadata.bytes.to_vec());
    }
    s
}

fn signatures_of(bytes: &[u8], keys_from: String, root: &Root, role: &str) -> Signatures {
    let (keyids, threshold) = root
        .role(role)
        .map(|r| (r.keyids.clone(), r.threshold.get()))
        .unwrap_or_default();
    check_parts(bytes, &root.keys, &keyids, threshold, keys_from)
}

fn check_parts(
    bytes: &[u8],
    keys: &std::collections::BTreeMap<String, strict::keys::Key>,
    keyids: &[String],
    threshold: u64,
    keys_from: String,
) -> Signatures {
    match SignedParts::parse(bytes) {
        Ok(parts) => parts.check(keys, keyids, threshold, keys_from),
        Err(e) => Signatures {
            keys_from,
            threshold,
            authorized_keys: keyids.len(),
            valid_keyids: Vec::new(),
            signatures: Vec::new(),
            unreadable: Some(e),
        },
    }
}

fn role_report<T: collect::Head>(
    role: &str,
    loaded: &Loaded<T>,
    signatures: Signatures,
    at: DateTime<Utc>,
) -> RoleReport {
    let expires = expiry::from_jiff(loaded.parsed.signed.expires());
    let version = loaded.parsed.signed.version();
    RoleReport {
        role: role.to_owned(),
        delegated_by: None,
        version,
        expires,
        expires_in_seconds: (expires - at).num_seconds(),
        url: loaded.url.clone(),
        length: loaded.bytes.len() as u64,
        sha256: crate::digest::sha256_hex(&loaded.bytes),
        signatures,
        rotation_signatures: None,
        verdict: RoleVerdict::Ok,
    }
}

/// One report per role received, in workflow order.
fn role_reports(c: &Collected, at: DateTime<Utc>) -> Vec<RoleReport> {
    // The root shown is the newest one fetched: the final root, or the one tough refused.
    let (root, prev) = match &c.rejected_root {
        Some(rejected) => (rejected, Some(c.final_root())),
        None => {
            let n = c.rotations.len();
            let prev = match n {
                0 => None,
                1 => Some(&c.trusted),
                _ => Some(&c.rotations[n - 2]),
            };
            (c.final_root(), prev)
        }
    };
    let rs = &root.parsed.signed;
    let v = rs.version.get();
    let mut out = Vec::new();
    let mut root_report = role_report(
        "root",
        root,
        signatures_of(&root.bytes, format!("root v{v} (itself)"), rs, "root"),
        at,
    );
    // 5.3.4: a new root must also be signed by a threshold of the previous root's root keys.
    if let Some(prev) = prev {
        let ps = &prev.parsed.signed;
        root_report.rotation_signatures = Some(signatures_of(
            &root.bytes,
            format!("root v{}", ps.version.get()),
            ps,
            "root",
        ));
    }
    out.push(root_report);
    let keys_from = format!("root v{v}");
    if let Some(t) = &c.timestamp {
        out.push(role_report(
            "timestamp",
            t,
            signatures_of(&t.bytes, keys_from.clone(), rs, "timestamp"),
            at,
        ));
    }
    if let Some(t) = &c.snapshot {
        out.push(role_report(
            "snapshot",
            t,
            signatures_of(&t.bytes, keys_from.clone(), rs, "snapshot"),
            at,
        ));
    }
    if let Some(t) = &c.targets {
        out.push(role_report(
            "targets",
            t,
            signatures_of(&t.bytes, keys_from.clone(), rs, "targets"),
            at,
        ));
    }
    for d in &c.delegated {
        let sigs = check_parts(
            &d.metadata.bytes,
            &d.keys,
            &d.keyids,
            d.threshold,
            d.parent.clone(),
        );
        let mut r = role_report(&d.name, &d.metadata, sigs, at);
        r.delegated_by = Some(d.parent.clone());
        out.push(r);
    }
    out
}
