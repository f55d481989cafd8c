//! Rollback and freeze protection against the metadata trusted by the previous run.
//!
//! tough keeps re-serialized metadata in its datastore and accepts a timestamp with the same
//! version and different bytes. tufwatch keeps the exact bytes (see [`crate::source::state`]) and
//! applies the specification's rules itself, plus one stricter rule.

use super::collect::{Collected, Head, Root, Signed, Snapshot, TargetsHead, Timestamp};
use super::signatures::SignedParts;
use crate::error::{Error, Result};
use crate::report::{Code, Finding};
use crate::source::state::SavedState;
use std::collections::BTreeMap;

/// The previous run's trusted metadata, parsed.
#[derive(Debug)]
pub struct Previous {
    anchor_sha512: String,
    root: Signed<Root>,
    root_bytes: Vec<u8>,
    timestamp: Option<(Signed<Timestamp>, Vec<u8>)>,
    snapshot: Option<Signed<Snapshot>>,
    targets: Option<Signed<TargetsHead>>,
    delegated: BTreeMap<String, u64>,
}

fn parse<T: serde::de::DeserializeOwned>(dir: &str, name: &str, bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| Error::DamagedState {
        path: format!("{dir}/{name}"),
        message: format!("cannot be parsed ({e})"),
    })
}

impl Previous {
    /// Parse a saved state; `dir` names it in errors.
    pub fn parse(dir: &str, saved: &SavedState) -> Result<Self> {
        let root_bytes = saved.roles.get("root").cloned().unwrap_or_default();
        let mut delegated = BTreeMap::new();
        for (name, bytes) in &saved.delegated {
            let t: Signed<TargetsHead> = parse(dir, name, bytes)?;
            delegated.insert(name.clone(), t.signed.version.get());
        }
        Ok(Previous {
            anchor_sha512: saved.anchor_sha512.clone(),
            root: parse(dir, "root.json", &root_bytes)?,
            timestamp: match saved.roles.get("timestamp") {
                Some(b) => Some((parse(dir, "timestamp.json", b)?, b.clone())),
                None => None,
            },
            snapshot: match saved.roles.get("snapshot") {
                Some(b) => Some(parse(dir, "snapshot.json", b)?),
                None => None,
            },
            targets: match saved.roles.get("targets") {
                Some(b) => Some(parse(dir, "targets.json", b)?),
                None => None,
            },
            root_bytes,
            delegated,
        })
    }

    /// Whether the saved chain was verified from the trust anchor with this SHA-512.
    pub fn anchored_by(&self, sha512: &str) -> bool {
        self.anchor_sha512 == sha512
    }

    /// The saved root's version.
    pub fn root_version(&self) -> u64 {
        self.root.signed.version.get()
    }

    /// The saved root's exact bytes.
    pub fn root_bytes(&self) -> &[u8] {
        &self.root_bytes
    }

    /// Versions by role, for the report.
    pub fn versions(&self) -> BTreeMap<String, u64> {
        let mut v = BTreeMap::new();
        v.insert("root".to_owned(), self.root.signed.version.get());
        if let Some((t, _)) = &self.timestamp {
            v.insert("timestamp".to_owned(), t.signed.version.get());
        }
        if let Some(s) = &self.snapshot {
            v.insert("snapshot".to_owned(), s.signed.version.get());
        }
        if let Some(t) = &self.targets {
            v.insert("targets".to_owned(), t.signed.version.get());
        }
        for (name, version) in &self.delegated {
            v.insert(name.clone(), *version);
        }
        v
    }
}

fn rollback(role: &str, url: &str, message: String) -> Finding {
    Finding::error(Code::Rollback, message).role(role).url(url)
}

fn role_keys(root: &Root, role: &str) -> Vec<String> {
    let mut ids: Vec<String> = root
        .role(role)
        .map(|r| r.keyids.clone())
        .unwrap_or_default();
    ids.sort();
    ids
}

/// Compare this run's metadata with the previous run's.
pub fn check(prev: &Previous, now: &Collected) -> Vec<Finding> {
    let mut out = Vec::new();
    let root = now.final_root();
    let (old_v, new_v) = (
        prev.root.signed.version.get(),
        root.parsed.signed.version.get(),
    );
    if new_v < old_v {
        out.push(rollback(
            "root",
            &root.url,
            format!("root version {new_v} is older than version {old_v} trusted by the previous run (TUF 5.3.5)"),
        ));
    } else if new_v == old_v && !same_signed(&prev.root_bytes, &root.bytes) {
        out.push(
            Finding::error(
                Code::VersionReused,
                format!("root version {new_v} differs from the root version {old_v} trusted by the previous run: the repository signed two different roots with one version"),
            )
            .role("root")
            .url(&root.url),
        );
    }

    // 5.3.11: after a rotation of the timestamp or snapshot keys, the old timestamp and snapshot
    // are no longer trusted, so they are no reference for rollback (fast-forward attack recovery).
    let rotated = ["timestamp", "snapshot"]
        .into_iter()
        .any(|r| role_keys(&prev.root.signed, r) != role_keys(&root.parsed.signed, r));

    if let (Some((old, old_bytes)), Some(new), false) = (&prev.timestamp, &now.timestamp, rotated) {
        let (o, n) = (old.signed.version.get(), new.parsed.signed.version.get());
        if n < o {
            out.push(rollback("timestamp", &new.url, format!("timestamp version {n} is older than version {o} trusted by the previous run (TUF 5.4.3.1)")));
        } else if n == o && old_bytes.as_slice() != new.bytes.as_ref() {
            out.push(
                Finding::error(
                    Code::VersionReused,
                    format!("timestamp version {n} has different bytes than the timestamp version {o} trusted by the previous run; tough accepts this, tufwatch does not: a repository must not sign two timestamps with one version"),
                )
                .role("timestamp")
                .url(&new.url),
            );
        }
        let snap_version = |t: &Timestamp| t.meta.get("snapshot.json").map(|m| m.version.get());
        if let (Some(o), Some(n)) = (snap_version(&old.signed), snap_version(&new.parsed.signed)) {
            if n < o {
                out.push(rollback("timestamp", &new.url, format!("timestamp names snapshot version {n}, older than version {o} named by the timestamp trusted before (TUF 5.4.3.2)")));
            }
        }
    }

    if let (Some(old), Some(new), false) = (&prev.snapshot, &now.snapshot, rotated) {
        let (o, n) = (old.signed.version.get(), new.parsed.signed.version.get());
        if n < o {
            out.push(rollback("snapshot", &new.url, format!("snapshot version {n} is older than version {o} trusted by the previous run (TUF 5.5.5)")));
        }
        let mut names: Vec<_> = old.signed.meta.keys().collect();
        names.sort();
        for name in names {
            let old_meta = &old.signed.meta[name];
            match new.parsed.signed.meta.get(name) {
                None => out.push(rollback("snapshot", &new.url, format!("snapshot version {n} no longer lists {name}, which snapshot version {o} listed (TUF 5.5.5)"))),
                Some(m) if m.version < old_meta.version => out.push(rollback(
                    "snapshot",
                    &new.url,
                    format!("snapshot version {n} names {name} version {}, older than version {} named before (TUF 5.5.5)", m.version, old_meta.version),
                )),
                Some(_) => {}
            }
        }
    }

    if let (Some(old), Some(new)) = (&prev.targets, &now.targets) {
        check_version(
            &mut out,
            "targets",
            &new.url,
            &old.signed,
            &new.parsed.signed,
        );
    }
    for d in &now.delegated {
        if let Some(o) = prev.delegated.get(&d.name) {
            let n = d.metadata.parsed.signed.version.get();
            if n < *o {
                out.push(rollback(&d.name, &d.metadata.url, format!("delegated role {} version {n} is older than version {o} trusted by the previous run", d.name)));
            }
        }
    }
    out
}

/// Whether two metadata files sign the same content (their signatures may differ: RSA-PSS
/// signatures are randomized, so re-signing the same root gives other bytes).
fn same_signed(a: &[u8], b: &[u8]) -> bool {
    match (SignedParts::parse(a), SignedParts::parse(b)) {
        (Ok(a), Ok(b)) => a.canonical_signed() == b.canonical_signed(),
        _ => a == b,
    }
}

fn check_version<T: Head>(out: &mut Vec<Finding>, role: &str, url: &str, old: &T, new: &T) {
    let (o, n) = (old.version(), new.version());
    if n < o {
        out.push(rollback(
            role,
            url,
            format!("{role} version {n} is older than version {o} trusted by the previous run"),
        ));
    }
}
