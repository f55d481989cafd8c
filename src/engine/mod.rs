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
mod run;
pub mod signatures;
pub mod strict;
pub mod targets;

use crate::error::Result;
use crate::report::{Code, Report, RoleReport, RoleVerdict, Signatures};
use crate::source::state::{SavedState, StateStore};
use crate::source::transport::{Fetcher, NetOptions};
use chrono::{DateTime, Duration, Utc};
use collect::{Collected, Loaded, Root};
use signatures::SignedParts;
use std::path::PathBuf;
use tough::Limits;
use url::Url;

pub use run::{verify, verify_shared};
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
                message:
                    "another tufwatch run held it until the run's deadline; nothing was verified"
                        .to_owned(),
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
            unreadable: Some(e.to_string()),
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
