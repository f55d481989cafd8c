//! What tough cannot do with a repository that the TUF specification allows: found in the
//! metadata itself, so that a repository tough cannot read is named for what it is (a
//! limitation of tough, and of every client built on it: Bottlerocket's updater, tuftool), not
//! misreported as a bad repository.
//!
//! Each check reads the exact bytes received and decides on typed values: tough's own key id of
//! a key (computed by tough's code), the hash algorithms a file lists, a target's path.

use super::collect::Collected;
use super::strict::metadata::{parse, Targets};
use super::strict::trusted::Trusted;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fmt;

/// One thing tough does otherwise than the specification, met in this repository.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Limitation {
    /// tough recomputes every key id as the SHA-256 of its own canonical form of the key and
    /// refuses metadata whose key ids are anything else; the specification (4.2, "KEYID") lets
    /// a repository compute them another way, and python-tuf does not recompute them.
    KeyIds {
        /// The metadata file that lists the key.
        file: String,
        /// The key id as the repository gives it.
        keyid: String,
        /// tough's key id for the same key (or why tough cannot read the key).
        tough_keyid: String,
    },
    /// tough requires a SHA-256 among the hashes of every target and metadata file it checks;
    /// the specification (4.4, 4.5, "HASHES") allows any algorithm.
    NoSha256 {
        /// The target or metadata file.
        file: String,
        /// The algorithms listed.
        listed: Vec<String>,
    },
    /// With consistent snapshots, tough requests `<sha256>.<dir>/<name>`, the hash in front of
    /// the whole path; the specification (5.7.3) puts it on the file name, `<dir>/<hash>.<name>`,
    /// where repositories publish it.
    TargetPath {
        /// The target.
        target: String,
        /// The file tough requests, below the targets URL.
        tough_file: String,
        /// The file the specification names.
        spec_file: String,
    },
}

impl fmt::Display for Limitation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Limitation::KeyIds {
                file,
                keyid,
                tough_keyid,
            } => write!(
                f,
                "{file} names a key {keyid}, which tough calls {tough_keyid}: tough refuses key ids it does not compute itself (TAP 12 and python-tuf allow them)"
            ),
            Limitation::NoSha256 { file, listed } => write!(
                f,
                "{file} is listed with {} and no sha256, which tough requires (TUF 4.4 and 4.5 allow any algorithm)",
                listed.join(", ")
            ),
            Limitation::TargetPath {
                target,
                tough_file,
                spec_file,
            } => write!(
                f,
                "tough requests the target {target} as {tough_file}, not as {spec_file} where TUF 5.7.3 puts it"
            ),
        }
    }
}

/// Every limitation of tough met in the metadata received, in a stable order. The targets are
/// taken from the strict engine's trusted roles when it accepted (`strict`), so a large targets
/// list is not parsed twice; otherwise from the bytes received.
pub fn limitations(c: &Collected, strict: Option<&Trusted>) -> Vec<Limitation> {
    let mut out = Vec::new();
    let roots = std::iter::once(&c.trusted)
        .chain(&c.rotations)
        .map(|r| (&r.url, &r.bytes));
    for (url, bytes) in roots {
        key_ids(url, bytes, &mut out);
    }
    let consistent = c.final_root().parsed.signed.consistent_snapshot;
    for t in c.timestamp.iter().chain(&c.snapshot) {
        meta_hashes(&t.url, &t.bytes, &mut out);
    }
    let targets = c
        .targets
        .iter()
        .chain(c.delegated.iter().map(|d| &d.metadata));
    for t in targets {
        key_ids(&t.url, &t.bytes, &mut out);
        if strict.is_none() {
            if let Ok(role) = parse(&t.bytes, Targets::parse) {
                for (name, target) in &role.signed.targets {
                    target_checks(name, target, consistent, &mut out);
                }
            }
        }
    }
    for role in strict.iter().flat_map(|t| t.targets.values()) {
        for (name, target) in &role.signed.targets {
            target_checks(name, target, consistent, &mut out);
        }
    }
    out.sort();
    out.dedup();
    out
}

/// The keys a metadata file lists: a root's, or a targets role's for its delegations. Every
/// other member (a targets list of a hundred thousand entries) is skipped, not built.
#[derive(Deserialize)]
struct KeysOf {
    signed: SignedKeys,
}

#[derive(Deserialize)]
struct SignedKeys {
    #[serde(default)]
    keys: Option<Map<String, Value>>,
    #[serde(default)]
    delegations: Option<DelegatedKeys>,
}

#[derive(Deserialize)]
struct DelegatedKeys {
    #[serde(default)]
    keys: Option<Map<String, Value>>,
}

/// Keys whose id tough computes otherwise than the repository gave it.
fn key_ids(file: &str, bytes: &[u8], out: &mut Vec<Limitation>) {
    let Ok(doc) = serde_json::from_slice::<KeysOf>(bytes) else {
        return;
    };
    let listed = doc
        .signed
        .keys
        .into_iter()
        .chain(doc.signed.delegations.and_then(|d| d.keys))
        .flatten();
    for (keyid, key) in listed {
        let tough_keyid = match serde_json::from_value::<tough::schema::key::Key>(key) {
            Ok(k) => match k.key_id() {
                Ok(id) => hex::encode(&id),
                Err(e) => format!("nothing (it cannot compute one: {e})"),
            },
            Err(e) => format!("nothing (it cannot read the key: {e})"),
        };
        if !tough_keyid.eq_ignore_ascii_case(&keyid) {
            out.push(Limitation::KeyIds {
                file: file.to_owned(),
                keyid,
                tough_keyid,
            });
        }
    }
}

/// Metadata files that timestamp or snapshot list with hashes but no SHA-256.
fn meta_hashes(file: &str, bytes: &[u8], out: &mut Vec<Limitation>) {
    let Ok(doc) = serde_json::from_slice::<Value>(bytes) else {
        return;
    };
    let Some(meta) = doc.pointer("/signed/meta").and_then(Value::as_object) else {
        return;
    };
    for (name, entry) in meta {
        let Some(hashes) = entry.get("hashes").and_then(Value::as_object) else {
            continue;
        };
        if !hashes.contains_key("sha256") {
            out.push(Limitation::NoSha256 {
                file: format!("{name} (in {file})"),
                listed: hashes.keys().cloned().collect(),
            });
        }
    }
}

/// A target without SHA-256, or one tough would request at another file than the
/// specification.
fn target_checks(
    name: &str,
    target: &super::strict::metadata::TargetFile,
    consistent: bool,
    out: &mut Vec<Limitation>,
) {
    let hashes: BTreeMap<&str, &str> = target
        .hashes
        .iter()
        .map(|(a, h)| (a.as_str(), h.as_str()))
        .collect();
    let Some(sha256) = hashes.get("sha256") else {
        out.push(Limitation::NoSha256 {
            file: format!("target {name}"),
            listed: hashes.keys().map(|a| (*a).to_owned()).collect(),
        });
        return;
    };
    if consistent {
        let tough_file = format!("{sha256}.{name}");
        let spec_file = target.consistent_path(name);
        if tough_file != spec_file {
            out.push(Limitation::TargetPath {
                target: name.to_owned(),
                tough_file,
                spec_file,
            });
        }
    }
}

/// The finding that names what tough cannot do here: an error where the repository is for
/// tough-based clients (Bottlerocket's layout: hosts run tough), else a warning, the
/// specification's verdict standing.
pub fn finding(found: &[Limitation], for_tough_clients: bool) -> Option<crate::report::Finding> {
    use crate::report::{Code, Finding};
    let first = found.first()?;
    let more = match found.len() {
        1 => String::new(),
        n => format!(" (and {} more such: {})", n - 1, kinds(found)),
    };
    let message = if for_tough_clients {
        format!(
            "{first}{more}; Bottlerocket's updater and tuftool use tough, so hosts cannot update from this repository"
        )
    } else {
        format!(
            "{first}{more}; a tough-based client (Bottlerocket's updater, tuftool) cannot use this repository, while the TUF specification allows it"
        )
    };
    Some(if for_tough_clients {
        Finding::error(Code::ToughIncompatible, message)
    } else {
        Finding::warning(Code::ToughIncompatible, message)
    })
}

fn kinds(found: &[Limitation]) -> String {
    let mut names: Vec<&str> = found
        .iter()
        .map(|l| match l {
            Limitation::KeyIds { .. } => "key ids",
            Limitation::NoSha256 { .. } => "hashes without sha256",
            Limitation::TargetPath { .. } => "target paths",
        })
        .collect();
    names.dedup();
    names.join(", ")
}

/// Whether one of the limitations makes tough refuse the metadata itself (a key id it computes
/// otherwise, a hash list without SHA-256). A target path never does: tough loads no target
/// while it loads the metadata, so it cannot excuse a refusal.
pub fn explains_refusal(found: &[Limitation]) -> bool {
    found
        .iter()
        .any(|l| matches!(l, Limitation::KeyIds { .. } | Limitation::NoSha256 { .. }))
}
