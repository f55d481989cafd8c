//! One verification, as named stages in the order of the TUF client workflow (specification
//! 1.0.x, section 5): hold the saved state, choose the root to start from (5.2), run the
//! engines (5.3-5.6), re-read what they fetched, decide from their outcomes, judge each role
//! (expiry, signatures), check against the saved state, fetch targets (5.7), compare the
//! engines, assemble the report and save the state.

use super::collect::{self, Collected, Loaded, Root, Signed};
use super::strict::verify::StrictRun;
use super::{compat, expiry, findings, rollback, strict, targets};
use super::{
    count_delegated, hold, last_fetched, role_reports, saved_state, signature_problem, store_dir,
    Engines, Shared, Verification, VerifyOptions, TOUGH_VERSION,
};
use crate::error::{Error, Result};
use crate::report::{
    Code, EngineOutcome, EngineVerdict, Finding, Report, RepositoryReport, RoleReport, RoleVerdict,
    Severity, StateReport, TrustedRootReport, Verdict,
};
use crate::source::pins::TrustedRoot;
use crate::source::state::{StateLock, StateStore};
use crate::source::transport::{Fetcher, Outcome};
use chrono::{DateTime, Duration, Utc};
use tough::schema::RoleType;
use tough::{ExpirationEnforcement, RepositoryLoader};

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
    // The whole run has a deadline, so a server that answers a byte at a time (or a run that
    // holds the state) cannot hold a nightly job forever.
    let deadline = tokio::time::Instant::now() + opts.deadline;
    let held = hold_state(opts, deadline).await?;
    let start = start_root(trusted, &held);
    let fetcher = shared
        .fetcher
        .clone()
        .recording_below(&opts.metadata_url, opts.limits);
    let runs = run_engines(opts, &start.bytes, at, &fetcher, deadline).await?;
    let mut collected = reread(&start, &fetcher, opts)?;
    let mut findings = Vec::new();
    let decision = decide(opts, runs, &mut collected, &mut findings);
    let roles = judge_roles(opts, &collected, &decision, &fetcher, at, &mut findings);
    findings.extend(next_root_findings(&collected));
    // Findings against the saved state: tough's side alone has them (the strict engine keeps
    // no state), so they do not count when the engines are compared.
    let state_findings = match &held.previous {
        Some(prev) => rollback::check(prev, &collected),
        None => Vec::new(),
    };
    findings.extend(state_findings.iter().cloned());
    let targets_from =
        targets::TargetSource::new(fetcher.clone(), &opts.targets_url, shared.read.clone());
    let target_reports = match &decision.listing {
        Some(listing) if crate::report::verdict_of(&findings) == Verdict::Pass => {
            let (reports, found) = targets::fetch_targets(
                listing,
                &targets_from,
                &opts.targets,
                opts.out_dir.as_deref(),
                opts.progress,
                deadline,
            )
            .await?;
            findings.extend(found);
            reports
        }
        _ => Vec::new(),
    };
    let engines = compare_engines(opts, &decision, &state_findings, &mut findings);
    let parts = Parts {
        started_at,
        at,
        trusted,
        held: &held,
        start: &start,
        collected: &collected,
        decision: &decision,
        roles,
        engines,
        targets: target_reports,
        findings,
    };
    let mut report = assemble(opts, parts);
    save_state(opts, &held, &decision, &collected, trusted, &mut report)?;
    drop(held);
    Ok(Verification {
        report,
        listing: decision.listing,
        collected,
        targets_from,
        deadline,
    })
}

/// The saved state of the repository, held for the run: its store, the lock, and what a
/// previous run saved.
struct Held {
    store: Option<StateStore>,
    /// Held until the run ends: one run at a time per repository state.
    _lock: Option<StateLock>,
    previous: Option<rollback::Previous>,
}

/// Hold the repository's saved state (a second run waits, up to the deadline) and read it.
async fn hold_state(opts: &VerifyOptions, deadline: tokio::time::Instant) -> Result<Held> {
    let store = opts
        .state_root
        .as_ref()
        .map(|r| StateStore::for_repository(r, &opts.metadata_url));
    let Some(s) = &store else {
        return Ok(Held {
            store,
            _lock: None,
            previous: None,
        });
    };
    let lock = hold(s, opts.at.is_none(), deadline).await?;
    let previous = match s.load()? {
        Some(saved) => Some(rollback::Previous::parse(
            &s.dir().display().to_string(),
            &saved,
        )?),
        None => None,
    };
    Ok(Held {
        store,
        _lock: Some(lock),
        previous,
    })
}

/// The root the engines start from.
struct Start {
    bytes: Vec<u8>,
    /// Where it came from, for the report.
    source: String,
    /// Its version, when it is a newer root a previous run saved.
    from_state: Option<u64>,
}

/// 5.2: start from the latest trusted root: the anchor, or the newer root a previous run
/// verified from this same anchor (a fork of the chain after it cannot then pass). A state
/// made from another anchor does not replace the anchor: re-anchoring after a compromise
/// works, and an unpinned root cannot slip in through the state.
fn start_root(trusted: &TrustedRoot, held: &Held) -> Start {
    match &held.previous {
        Some(p) if p.root_version() > trusted.version && p.anchored_by(&trusted.sha512) => Start {
            bytes: p.root_bytes().to_vec(),
            source: format!(
                "root v{} saved in {}",
                p.root_version(),
                store_dir(&held.store)
            ),
            from_state: Some(p.root_version()),
        },
        _ => Start {
            bytes: trusted.bytes.clone(),
            source: trusted.source.clone(),
            from_state: None,
        },
    }
}

/// What tough's run gave: nothing when it did not run, past the deadline, or its load.
type ToughRun = Option<std::result::Result<ToughLoad, tokio::time::error::Elapsed>>;
type ToughLoad = std::result::Result<tough::Repository, tough::error::Error>;

/// What the engines gave.
struct Runs {
    tough: ToughRun,
    strict: Option<StrictRun>,
}

/// 5.3-5.6, by tough, with expiry left to tufwatch (tough knows only the system clock), and
/// the strict engine from the same trusted root at the same time, each on a core of its own.
/// The fetcher downloads each metadata file once for both: they judge the same bytes. A fault
/// of this machine in tough's datastore is no verdict on the repository: it stops the run.
async fn run_engines(
    opts: &VerifyOptions,
    start: &[u8],
    at: DateTime<Utc>,
    fetcher: &Fetcher,
    deadline: tokio::time::Instant,
) -> Result<Runs> {
    // tough keeps copies of the metadata in a datastore of its own: a directory of this run,
    // made here so that a machine that cannot take it stops the run (exit 2) before anything
    // is judged, and removed when the run ends, is cancelled or is stopped by a signal.
    let datastore = match opts.engines {
        Engines::Strict => None,
        Engines::Tough | Engines::Both => Some(super::datastore(opts.state_root.as_deref())?),
    };
    let tough = run_tough(opts, start, fetcher, datastore.as_ref(), deadline);
    let strict = run_strict(opts, start, at, fetcher, deadline);
    let (tough, strict) = tokio::join!(tough, strict);
    fetcher.stop_recording();
    drop(datastore); // tough reads nothing more from it (expiry is not tough's to enforce)
    let tough = match tough {
        Some(Ok(Err(e))) => match findings::origin(e) {
            findings::Origin::Local(fault) => return Err(fault),
            findings::Origin::Repository(e) => Some(Ok(Err(e))),
        },
        other => other,
    };
    Ok(Runs { tough, strict })
}

/// tough's load of the repository, on a task of its own, within the deadline.
async fn run_tough(
    opts: &VerifyOptions,
    start: &[u8],
    fetcher: &Fetcher,
    datastore: Option<&tempfile::TempDir>,
    deadline: tokio::time::Instant,
) -> ToughRun {
    let datastore = datastore?.path().to_owned();
    let (root, fetcher, limits) = (start.to_vec(), fetcher.clone(), opts.limits);
    let (metadata_url, targets_url) = (opts.metadata_url.clone(), opts.targets_url.clone());
    let task = tokio::spawn(async move {
        RepositoryLoader::new(&root, metadata_url, targets_url)
            .transport(fetcher)
            .datastore(datastore)
            .limits(limits)
            .expiration_enforcement(ExpirationEnforcement::Unsafe)
            .load()
            .await
    });
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
}

/// The strict engine's run, within the deadline.
async fn run_strict(
    opts: &VerifyOptions,
    start: &[u8],
    at: DateTime<Utc>,
    fetcher: &Fetcher,
    deadline: tokio::time::Instant,
) -> Option<StrictRun> {
    if opts.engines == Engines::Tough {
        return None;
    }
    let run = strict::verify::verify(
        start,
        opts.metadata_url.clone(),
        at,
        &opts.limits,
        opts.net.clone(),
        fetcher.clone(),
    );
    Some(match tokio::time::timeout_at(deadline, run).await {
        Ok(run) => run,
        Err(_elapsed) => StrictRun {
            outcome: EngineOutcome {
                engine: strict::verify::NAME.to_owned(),
                verdict: EngineVerdict::Unfinished,
                reason: Some("past the run's deadline".to_owned()),
            },
            error: None,
            trusted: None,
        },
    })
}

/// Every file the engines fetched, read again by tufwatch from the bytes received, from the
/// start root on.
fn reread(start: &Start, fetcher: &Fetcher, opts: &VerifyOptions) -> Result<Collected> {
    let parsed: Signed<Root> =
        serde_json::from_slice(&start.bytes).map_err(|e| Error::Invalid {
            what: "trusted root",
            path: start.source.clone(),
            message: e.to_string(),
        })?;
    let start = Loaded {
        url: start.source.clone(),
        bytes: bytes::Bytes::from(start.bytes.clone()),
        parsed,
    };
    Ok(collect::collect(
        start,
        &fetcher.recording(),
        &opts.metadata_url,
    ))
}

/// What the engines decided, and why they refused.
struct Decision {
    /// The targets as the deciding engine lists them, when it accepted the metadata.
    listing: Option<targets::Listing>,
    /// The role an engine refused.
    failed_role: Option<String>,
    /// The strict engine's outcome, when it ran.
    strict: Option<EngineOutcome>,
    /// Why the strict engine alone refused, unless the checks of each role say it already.
    strict_rejection: Option<Finding>,
    /// Why tough refused, when one of its limitations explains it and the strict engine
    /// decides.
    tough_refused: Option<String>,
    /// What tough cannot do with this repository that the specification allows.
    tough_limits: Vec<compat::Limitation>,
}

/// Decide from the engines' outcomes which one's listing stands, and record why they refused.
fn decide(
    opts: &VerifyOptions,
    runs: Runs,
    collected: &mut Collected,
    findings: &mut Vec<Finding>,
) -> Decision {
    let (strict, strict_trusted) = match runs.strict {
        Some(run) => (Some(run.outcome), Some((run.error, run.trusted))),
        None => (None, None),
    };
    let tough_limits = match opts.engines {
        Engines::Strict => Vec::new(),
        Engines::Tough | Engines::Both => compat::limitations(
            collected,
            strict_trusted.as_ref().and_then(|(_, t)| t.as_ref()),
        ),
    };
    let mut decision = Decision {
        listing: None,
        failed_role: None,
        strict,
        strict_rejection: None,
        tough_refused: None,
        tough_limits,
    };
    match (runs.tough, strict_trusted) {
        // The strict engine alone decides.
        (None, Some((_, Some(t)))) => strict_listing(&mut decision, t, collected, findings),
        (None, Some((error, None))) => {
            let f = match &error {
                Some(e) => strict::verify::finding(e, &opts.metadata_url),
                None => past_deadline(opts, "verifying the repository's metadata"),
            };
            decision.failed_role = f.role.clone();
            decision.strict_rejection = Some(f);
        }
        (None, None) => {}
        (Some(Err(_elapsed)), _) => {
            findings.push(past_deadline(opts, "loading the repository's metadata"));
        }
        (Some(Ok(Ok(repo))), _) => {
            let delegated = count_delegated(&repo.targets().signed);
            findings.extend(unread(
                collected,
                repo.root().signed.version.get(),
                delegated,
            ));
            decision.listing = Some(targets::Listing::Tough(Box::new(repo)));
        }
        // tough cannot read the repository, for a reason the specification allows, and the
        // strict engine accepted it: the specification's verdict stands (python-tuf, the
        // reference client, reads such repositories), and the limitation is a finding.
        (Some(Ok(Err(e))), Some((_, Some(t))))
            if compat::explains_refusal(&decision.tough_limits) =>
        {
            decision.tough_refused = Some(findings::from_tough(&e).message);
            strict_listing(&mut decision, t, collected, findings);
        }
        (Some(Ok(Err(e))), _) => {
            let f = tough_refusal(&e, collected);
            decision.failed_role = f.role.clone();
            findings.push(f);
        }
    }
    decision
}

/// The strict engine's listing stands.
fn strict_listing(
    decision: &mut Decision,
    trusted: strict::trusted::Trusted,
    collected: &Collected,
    findings: &mut Vec<Finding>,
) {
    let delegated = trusted.targets.len().saturating_sub(1);
    findings.extend(unread(
        collected,
        trusted.root.signed.common.version,
        delegated,
    ));
    decision.listing = Some(targets::Listing::Strict(Box::new(trusted)));
}

/// The finding of tough's refusal; a root it refused is shown as rejected, never trusted.
fn tough_refusal(e: &tough::error::Error, collected: &mut Collected) -> Finding {
    if matches!(
        e,
        tough::error::Error::VerifyMetadata {
            role: RoleType::Root,
            ..
        }
    ) {
        // tough refused the newest root it fetched: it is no part of the chain. (A file that
        // also claims a wrong version never joined the walk; then it is that one.)
        collected.rejected_root = match collected.next_root.take() {
            Some(next) => Some(next),
            None => collected.rotations.pop(),
        };
    }
    let mut f = findings::from_tough(e);
    if matches!(
        e,
        tough::error::Error::VerifyTrustedMetadata { .. }
            | tough::error::Error::ParseTrustedMetadata { .. }
    ) {
        f.url = Some(collected.trusted.url.clone());
    }
    f
}

/// Fail closed: every role the deciding engine verified must have been re-read by tufwatch,
/// or its expiry and signatures would go unchecked.
fn unread(collected: &Collected, root_version: u64, delegated: usize) -> Option<Finding> {
    let same_root = collected.final_root().parsed.signed.version.get() == root_version;
    let all_read = same_root
        && collected.timestamp.is_some()
        && collected.snapshot.is_some()
        && collected.targets.is_some()
        && collected.delegated.len() == delegated;
    (!all_read).then(|| {
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
}

/// The finding of a stage that did not finish within the deadline.
fn past_deadline(opts: &VerifyOptions, what: &str) -> Finding {
    Finding::error(
        Code::Unreachable,
        format!(
            "{what} did not finish within the run's deadline of {}",
            expiry::human_duration(Duration::from_std(opts.deadline).unwrap_or(Duration::MAX))
        ),
    )
}

/// Each role's report: expiry judged at the reference time (5.3.10, 5.4.4, 5.5.6, 5.6.5), and
/// the signatures tufwatch counted itself; the role an engine refused fails.
fn judge_roles(
    opts: &VerifyOptions,
    collected: &Collected,
    decision: &Decision,
    fetcher: &Fetcher,
    at: DateTime<Utc>,
    findings: &mut Vec<Finding>,
) -> Vec<RoleReport> {
    let mut roles = role_reports(collected, at);
    name_refused_role(findings, &roles, fetcher);
    let failed_role = findings
        .first()
        .and_then(|f| f.role.clone())
        .or_else(|| decision.failed_role.clone());
    // Where hosts run tough (Bottlerocket's layout), what tough cannot do is an error.
    findings.extend(compat::finding(
        &decision.tough_limits,
        opts.variant.is_some(),
    ));
    for r in &mut roles {
        let url = r.url.clone();
        let (verdict, finding) = expiry::judge(&r.role, r.expires, at, opts.expiry_warning, &url);
        r.verdict = verdict;
        findings.extend(finding);
        if let Some((code, why)) = signature_problem(r) {
            r.verdict = RoleVerdict::Fail;
            let engine = match &decision.listing {
                Some(targets::Listing::Strict(_)) => Some("the strict engine"),
                Some(targets::Listing::Tough(_)) => Some("tough"),
                None => None,
            };
            if let Some(engine) = engine {
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
    if let Some(f) = &decision.strict_rejection {
        let said = findings
            .iter()
            .any(|g| g.severity == Severity::Error && g.code == f.code && g.role == f.role);
        if !said {
            findings.push(f.clone());
        }
    }
    roles
}

/// tough names every targets-like role `targets`: when the top-level targets role checks out,
/// a delegated role whose signatures fail is the one tough refused. tough names the role but
/// not the file: name the one fetched last for the role.
fn name_refused_role(findings: &mut [Finding], roles: &[RoleReport], fetcher: &Fetcher) {
    let Some(f) = findings.first_mut() else {
        return;
    };
    let top_ok = roles
        .iter()
        .any(|r| r.role == "targets" && r.delegated_by.is_none() && signature_problem(r).is_none());
    if f.role.as_deref() == Some("targets") && f.url.is_none() && top_ok {
        if let Some(d) = roles
            .iter()
            .find(|r| r.delegated_by.is_some() && signature_problem(r).is_some())
        {
            f.role = Some(d.role.clone());
        }
    }
    if let (None, Some(role)) = (&f.url, &f.role) {
        f.url = last_fetched(&fetcher.recording(), role);
    }
}

/// Stricter than tough: tough ends the root walk on any error fetching N+1.root.json, so a
/// server that fails (rather than answering "not found") could hide a newer root.
fn next_root_findings(collected: &Collected) -> Option<Finding> {
    let (url, probe) = collected.next_root_probe.as_ref()?;
    let (code, why) = match probe {
        Outcome::Failed(why) => (Code::Unreachable, why),
        Outcome::TooLong(why) => (Code::LengthExceeded, why),
        Outcome::Bytes(_) | Outcome::NotFound => return None,
    };
    Some(
        Finding::error(
            code,
            format!("could not learn whether a newer root exists: {why}"),
        )
        .role("root")
        .url(url.as_str()),
    )
}

/// The strict engine's verdict beside tough's: a disagreement marks metadata that Bottlerocket
/// hosts would accept but the specification forbids, or the reverse.
fn compare_engines(
    opts: &VerifyOptions,
    decision: &Decision,
    state_findings: &[Finding],
    findings: &mut Vec<Finding>,
) -> Vec<EngineOutcome> {
    let strict = match (&decision.strict, opts.engines) {
        (Some(strict), Engines::Strict) => return vec![strict.clone()],
        (Some(strict), Engines::Both) => strict.clone(),
        _ => return Vec::new(),
    };
    let tough = tough_outcome(decision, state_findings, findings);
    let decided = |o: &EngineOutcome| o.verdict != EngineVerdict::Unfinished;
    // A limitation of tough explains a disagreement: the tough_incompatible finding names it.
    let explained = decision.tough_refused.is_some();
    if decided(&tough) && decided(&strict) && tough.verdict != strict.verdict && !explained {
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
    vec![tough, strict]
}

/// tough's verdict on the metadata: the errors about it but those of tough's limitations and
/// of the saved state (which the strict engine does not keep).
fn tough_outcome(
    decision: &Decision,
    state_findings: &[Finding],
    findings: &[Finding],
) -> EngineOutcome {
    let metadata_errors: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.severity == Severity::Error && f.target.is_none())
        .filter(|f| f.code != Code::ToughIncompatible)
        .filter(|f| !state_findings.contains(f))
        .collect();
    let verdict = if decision.tough_refused.is_some() {
        EngineVerdict::Rejected
    } else if metadata_errors.iter().any(|f| f.code.means_incomplete()) {
        EngineVerdict::Unfinished
    } else if decision.listing.is_some() && metadata_errors.is_empty() {
        EngineVerdict::Accepted
    } else {
        EngineVerdict::Rejected
    };
    EngineOutcome {
        engine: format!("tough {TOUGH_VERSION}"),
        verdict,
        reason: decision
            .tough_refused
            .clone()
            .or_else(|| metadata_errors.first().map(|f| f.message.clone())),
    }
}

/// What the report of a verification is made of.
struct Parts<'a> {
    started_at: DateTime<Utc>,
    at: DateTime<Utc>,
    trusted: &'a TrustedRoot,
    held: &'a Held,
    start: &'a Start,
    collected: &'a Collected,
    decision: &'a Decision,
    roles: Vec<RoleReport>,
    engines: Vec<EngineOutcome>,
    targets: Vec<crate::report::TargetReport>,
    findings: Vec<Finding>,
}

/// The report of a verification, its verdict judged from its findings.
fn assemble(opts: &VerifyOptions, p: Parts<'_>) -> Report {
    let mut report = Report {
        report_format: crate::report::REPORT_FORMAT,
        tool: format!("tufwatch {}", env!("CARGO_PKG_VERSION")),
        engine: match opts.engines {
            Engines::Strict => strict::verify::NAME.to_owned(),
            Engines::Tough | Engines::Both => format!("tough {TOUGH_VERSION}"),
        },
        started_at: p.started_at,
        reference_time: p.at,
        expiry_warning_seconds: opts.expiry_warning.num_seconds(),
        repository: RepositoryReport {
            metadata_url: opts.metadata_url.to_string(),
            targets_url: opts.targets_url.to_string(),
            variant: opts.variant.clone(),
            arch: opts.arch.clone(),
            resource_uri: None,
        },
        trusted_root: TrustedRootReport {
            source: p.trusted.source.clone(),
            sha512: p.trusted.sha512.clone(),
            version: p.trusted.version,
            pinned_by: p.trusted.pinned_by.clone(),
        },
        root_chain: std::iter::once(&p.collected.trusted)
            .chain(&p.collected.rotations)
            .map(|r| r.parsed.signed.version.get())
            .collect(),
        roles: p.roles,
        decided_by: match opts.engines {
            Engines::Tough => None,
            Engines::Both if p.decision.tough_refused.is_some() => Some("strict".to_owned()),
            Engines::Both => Some("both".to_owned()),
            Engines::Strict => Some("strict".to_owned()),
        },
        engines: p.engines,
        targets: p.targets,
        state: StateReport {
            dir: p.held.store.as_ref().map(|s| s.dir().display().to_string()),
            previous: p
                .held
                .previous
                .as_ref()
                .map(|prev| prev.versions())
                .unwrap_or_default(),
            updated: false,
            started_from_root: p.start.from_state,
        },
        findings: p.findings,
        verdict: Verdict::Pass,
    };
    report.finish();
    report
}

/// Persist (5.3.7, 5.4.5, 5.5.7, 5.6.6) what verified: only metadata judged at the present
/// time (an audit with `--at` changes nothing) and only when no metadata check failed (a
/// target that fails does not make verified metadata untrusted).
fn save_state(
    opts: &VerifyOptions,
    held: &Held,
    decision: &Decision,
    collected: &Collected,
    trusted: &TrustedRoot,
    report: &mut Report,
) -> Result<()> {
    let metadata_ok = !report
        .findings
        .iter()
        .any(|f| f.severity == Severity::Error && f.target.is_none());
    if let (Some(store), Some(_), None, true) =
        (&held.store, &decision.listing, opts.at, metadata_ok)
    {
        store.save(&saved_state(collected, &trusted.sha512), &opts.metadata_url)?;
        report.state.updated = true;
    }
    Ok(())
}
