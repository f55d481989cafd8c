//! Verification of a TUF repository with tough, checked further by tufwatch where tough is
//! weaker than the specification.
//!
//! The order follows the TUF client workflow (specification 1.0.x, section 5):
//! 5.1 fix the reference time; 5.2 load the trusted root; 5.3 walk root rotations; 5.4 timestamp;
//! 5.5 snapshot; 5.6 targets and delegations; 5.7 targets themselves. tough performs 5.2-5.6 with
//! its expiry enforcement off; tufwatch then judges expiry at the reference time, names every
//! signature, compares with the saved state, and downloads targets.

pub mod canonical;
pub mod collect;
pub mod expiry;
pub mod findings;
pub mod rollback;
pub mod signatures;
pub mod targets;

use crate::error::Result;
use crate::report::{
    Code, Finding, Report, RepositoryReport, RoleReport, RoleVerdict, Signatures, StateReport,
    TrustedRootReport, Verdict,
};
use crate::source::pins::TrustedRoot;
use crate::source::state::{SavedState, StateStore};
use crate::source::transport::{Fetcher, NetOptions, Outcome};
use chrono::{DateTime, Duration, Utc};
use collect::{Collected, Loaded};
use signatures::SignedParts;
use std::path::PathBuf;
use tough::schema::{RoleType, Root, Signed};
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
}

/// The outcome of a verification: the report, and what later stages read.
pub struct Verification {
    /// The report.
    pub report: Report,
    /// The loaded repository, when tough accepted it (to read targets such as `manifest.json`).
    pub repository: Option<tough::Repository>,
    /// Every metadata file received, with its exact bytes.
    pub collected: Collected,
}

/// Verify a repository from a trusted root.
pub async fn verify(opts: &VerifyOptions, trusted: &TrustedRoot) -> Result<Verification> {
    // 5.1: the fixed update start time. Expiry is judged at `--at` when given.
    let started_at = Utc::now();
    let at = opts.at.unwrap_or(started_at);

    let store = opts
        .state_root
        .as_ref()
        .map(|r| StateStore::for_repository(r, &opts.metadata_url));
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

    let fetcher = Fetcher::new(opts.net.clone())?.recording_below(&opts.metadata_url);
    // 5.2-5.6, by tough, with expiry left to tufwatch (tough knows only the system clock).
    let loaded = RepositoryLoader::new(
        &trusted.bytes,
        opts.metadata_url.clone(),
        opts.targets_url.clone(),
    )
    .transport(fetcher.clone())
    .limits(opts.limits)
    .expiration_enforcement(ExpirationEnforcement::Unsafe)
    .load()
    .await;

    let trusted_parsed: Signed<Root> =
        serde_json::from_slice(&trusted.bytes).map_err(|e| crate::error::Error::Invalid {
            what: "trusted root",
            path: trusted.source.clone(),
            message: e.to_string(),
        })?;
    let trusted_loaded = Loaded {
        url: trusted.source.clone(),
        bytes: bytes::Bytes::from(trusted.bytes.clone()),
        parsed: trusted_parsed,
    };
    let collected = collect::collect(trusted_loaded, &fetcher.recording(), &opts.metadata_url);

    let mut findings = Vec::new();
    let (repository, failed_role) = match loaded {
        Ok(repo) => (Some(repo), None),
        Err(e) => {
            let f = findings::from_tough(&e);
            let role = f.role.clone();
            findings.push(f);
            (None, role)
        }
    };

    let mut roles = role_reports(&collected, at);
    for r in &mut roles {
        let url = r.url.clone();
        let (verdict, finding) = expiry::judge(&r.role, r.expires, at, opts.expiry_warning, &url);
        r.verdict = verdict;
        findings.extend(finding);
        if let Some((code, why)) = signature_problem(r) {
            r.verdict = RoleVerdict::Fail;
            if repository.is_some() {
                findings.push(
                    Finding::error(code, format!("tough accepted {} but {why}", r.role))
                        .role(&r.role)
                        .url(&url),
                );
            }
        }
        if failed_role.as_deref() == Some(r.role.as_str()) {
            r.verdict = RoleVerdict::Fail;
        }
    }

    // Stricter than tough: tough ends the root walk on any error fetching N+1.root.json, so a
    // server that fails (rather than answering "not found") could hide a newer root.
    if let Some((url, Outcome::Failed(why))) = &collected.next_root_probe {
        findings.push(
            Finding::error(
                Code::Unreachable,
                format!("could not learn whether a newer root exists: {why}"),
            )
            .role("root")
            .url(url.as_str()),
        );
    }

    if let Some(prev) = &previous {
        findings.extend(rollback::check(prev, &collected));
    }

    let mut target_reports = Vec::new();
    if let Some(repo) = &repository {
        if crate::report::verdict_of(&findings) == Verdict::Pass {
            let (t, f) =
                targets::fetch_targets(repo, &opts.targets, opts.out_dir.as_deref(), opts.progress)
                    .await?;
            target_reports = t;
            findings.extend(f);
        }
    }

    let final_root = collected.final_root();
    let mut report = Report {
        report_format: crate::report::REPORT_FORMAT,
        tool: format!("tufwatch {}", env!("CARGO_PKG_VERSION")),
        engine: format!("tough {TOUGH_VERSION}"),
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
        root_chain: (trusted.version..=final_root.parsed.signed.version.get()).collect(),
        roles,
        targets: target_reports,
        state: StateReport {
            dir: store.as_ref().map(|s| s.dir().display().to_string()),
            previous: previous.as_ref().map(|p| p.versions()).unwrap_or_default(),
            updated: false,
        },
        findings,
        verdict: Verdict::Pass,
    };
    report.finish();

    if let (Some(store), Some(_), Verdict::Pass) = (&store, &repository, report.verdict) {
        store.save(&saved_state(&collected), &opts.metadata_url)?;
        report.state.updated = true;
    }

    Ok(Verification {
        report,
        repository,
        collected,
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

fn saved_state(c: &Collected) -> SavedState {
    let mut s = SavedState::default();
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

fn signatures_of(bytes: &[u8], keys_from: String, root: &Root, role: RoleType) -> Signatures {
    let (keyids, threshold) = root
        .roles
        .get(&role)
        .map(|r| (r.keyids.clone(), r.threshold.get()))
        .unwrap_or_default();
    check_parts(bytes, &root.keys, &keyids, threshold, keys_from)
}

fn check_parts(
    bytes: &[u8],
    keys: &std::collections::HashMap<
        tough::schema::decoded::Decoded<tough::schema::decoded::Hex>,
        tough::schema::key::Key,
    >,
    keyids: &[tough::schema::decoded::Decoded<tough::schema::decoded::Hex>],
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
    let root = c.final_root();
    let rs = &root.parsed.signed;
    let v = rs.version.get();
    let mut out = Vec::new();
    let mut root_report = role_report(
        "root",
        root,
        signatures_of(
            &root.bytes,
            format!("root v{v} (itself)"),
            rs,
            RoleType::Root,
        ),
        at,
    );
    // 5.3.4: a new root must also be signed by a threshold of the previous root's root keys.
    if !c.rotations.is_empty() {
        let prev = if c.rotations.len() >= 2 {
            &c.rotations[c.rotations.len() - 2]
        } else {
            &c.trusted
        };
        let ps = &prev.parsed.signed;
        root_report.rotation_signatures = Some(signatures_of(
            &root.bytes,
            format!("root v{}", ps.version.get()),
            ps,
            RoleType::Root,
        ));
    }
    out.push(root_report);
    let keys_from = format!("root v{v}");
    if let Some(t) = &c.timestamp {
        out.push(role_report(
            "timestamp",
            t,
            signatures_of(&t.bytes, keys_from.clone(), rs, RoleType::Timestamp),
            at,
        ));
    }
    if let Some(t) = &c.snapshot {
        out.push(role_report(
            "snapshot",
            t,
            signatures_of(&t.bytes, keys_from.clone(), rs, RoleType::Snapshot),
            at,
        ));
    }
    if let Some(t) = &c.targets {
        out.push(role_report(
            "targets",
            t,
            signatures_of(&t.bytes, keys_from.clone(), rs, RoleType::Targets),
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
