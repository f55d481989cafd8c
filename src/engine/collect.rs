//! The metadata of one run, rebuilt from the exact bytes the recorder kept, in the order of the
//! TUF client workflow (5.3 root, 5.4 timestamp, 5.5 snapshot, 5.6 targets, then delegations in
//! pre-order). The same walk serves a run that tough accepted and one it rejected: a rejected run
//! stops where the bytes stop.

use super::strict::keys::Key;
use crate::source::transport::Recording;
use bytes::Bytes;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashSet};
use std::num::NonZeroU64;
use url::Url;

/// Most root rotations walked in one run (tough's default `max_root_updates`).
pub const MAX_ROOT_ROTATIONS: usize = 1024;

/// Most delegated roles walked (a bound against delegation cycles and floods).
pub const MAX_DELEGATED_ROLES: usize = 4096;

// What tufwatch reads of each role to report on it: the version, the expiry, and who may sign
// what. These are not what decides trust (each engine parses the files its own way and decides),
// so they read leniently, and need nothing of tough's schema: a repository tough cannot parse
// (key ids other than tough's SHA-256 of the key, say) is still reported on when the strict
// engine decides.

/// The `signed` object of a metadata file, as far as the report reads it.
#[derive(Debug, Clone, Deserialize)]
pub struct Signed<T> {
    /// The role.
    pub signed: T,
}

/// The key ids and threshold of a role.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct RoleKeys {
    /// Authorized key ids, in lower case.
    #[serde(deserialize_with = "lower_case_ids")]
    pub keyids: Vec<String>,
    /// How many must sign.
    pub threshold: NonZeroU64,
}

/// `root.json`.
#[derive(Debug, Clone, Deserialize)]
pub struct Root {
    /// Version.
    pub version: NonZeroU64,
    /// Expiry.
    pub expires: jiff::Timestamp,
    /// Whether files are versioned.
    #[serde(default)]
    pub consistent_snapshot: bool,
    /// Key id (lower case) -> key.
    #[serde(deserialize_with = "keys")]
    pub keys: BTreeMap<String, Key>,
    /// Role name -> its keys and threshold.
    pub roles: BTreeMap<String, RoleKeys>,
}

impl Root {
    /// The keys and threshold of a top-level role (none when the root does not name it).
    pub fn role(&self, role: &str) -> Option<&RoleKeys> {
        self.roles.get(role)
    }
}

/// A `meta` entry: the version of a metadata file.
#[derive(Debug, Clone, Deserialize)]
pub struct MetaVersion {
    /// Its version.
    pub version: NonZeroU64,
}

/// `timestamp.json` and `snapshot.json`.
#[derive(Debug, Clone, Deserialize)]
pub struct Versions {
    /// Version.
    pub version: NonZeroU64,
    /// Expiry.
    pub expires: jiff::Timestamp,
    /// File name -> its version.
    pub meta: BTreeMap<String, MetaVersion>,
}

/// The timestamp role.
pub type Timestamp = Versions;
/// The snapshot role.
pub type Snapshot = Versions;

/// A delegated role as its delegator names it.
#[derive(Debug, Clone, Deserialize)]
pub struct DelegatedRole {
    /// Its name.
    pub name: String,
    /// Its keys and threshold.
    #[serde(flatten)]
    pub keys: RoleKeys,
}

/// `delegations` of a targets role.
#[derive(Debug, Clone, Deserialize)]
pub struct Delegations {
    /// Key id (lower case) -> key.
    #[serde(deserialize_with = "keys")]
    pub keys: BTreeMap<String, Key>,
    /// The delegated roles, in order (none with succinct hash bins).
    #[serde(default)]
    pub roles: Vec<DelegatedRole>,
}

/// What verification reads of a targets role: not its (possibly huge) list of targets, which
/// the engines parse and keep already.
#[derive(Debug, Clone, Deserialize)]
pub struct TargetsHead {
    /// Version.
    pub version: NonZeroU64,
    /// Expiry.
    pub expires: jiff::Timestamp,
    /// Delegations, if any.
    #[serde(default)]
    pub delegations: Option<Delegations>,
}

fn lower_case_ids<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(Vec::<String>::deserialize(d)?
        .into_iter()
        .map(|id| id.to_ascii_lowercase())
        .collect())
}

fn keys<'de, D: serde::Deserializer<'de>>(d: D) -> Result<BTreeMap<String, Key>, D::Error> {
    let raw = BTreeMap::<String, Map<String, Value>>::deserialize(d)?;
    raw.into_iter()
        .map(|(id, k)| {
            let key = Key::parse(&k, &format!("keys.{id}.")).map_err(serde::de::Error::custom)?;
            Ok((id.to_ascii_lowercase(), key))
        })
        .collect()
}

/// The version and expiry every role has.
pub trait Head {
    /// Version.
    fn version(&self) -> u64;
    /// Expiry.
    fn expires(&self) -> jiff::Timestamp;
}

macro_rules! head {
    ($($t:ty),*) => {$(
        impl Head for $t {
            fn version(&self) -> u64 {
                self.version.get()
            }
            fn expires(&self) -> jiff::Timestamp {
                self.expires
            }
        }
    )*};
}
head!(Root, Versions, TargetsHead);

/// One metadata file: where it came from, its exact bytes, and its parsed form.
#[derive(Debug, Clone)]
pub struct Loaded<T> {
    /// Its URL (or file).
    pub url: String,
    /// The exact bytes received.
    pub bytes: Bytes,
    /// Parsed.
    pub parsed: Signed<T>,
}

/// A delegated targets role and the keys that authorize it.
#[derive(Debug, Clone)]
pub struct LoadedDelegated {
    /// Role name.
    pub name: String,
    /// The delegating role.
    pub parent: String,
    /// The delegating role's keys for its delegations.
    pub keys: BTreeMap<String, Key>,
    /// The key ids the delegation authorizes.
    pub keyids: Vec<String>,
    /// The threshold.
    pub threshold: u64,
    /// The metadata.
    pub metadata: Loaded<TargetsHead>,
}

/// Everything received, as far as it goes.
#[derive(Debug, Clone)]
pub struct Collected {
    /// The trusted root (the run's anchor).
    pub trusted: Loaded<Root>,
    /// Each newer root of the rotation, in order (5.3.3).
    pub rotations: Vec<Loaded<Root>>,
    /// A root that tough refused as the next one (bad signatures): shown in the report, never
    /// trusted.
    pub rejected_root: Option<Loaded<Root>>,
    /// `N+1.root.json` after the last root when it parsed but claims another version: the file
    /// tough refused, if it refused one there.
    pub next_root: Option<Loaded<Root>>,
    /// `N+1.root.json` after the last root: whether the server said it does not exist, or failed.
    pub next_root_probe: Option<(Url, crate::source::transport::Outcome)>,
    /// Timestamp (5.4).
    pub timestamp: Option<Loaded<Timestamp>>,
    /// Snapshot (5.5).
    pub snapshot: Option<Loaded<Snapshot>>,
    /// Top-level targets (5.6).
    pub targets: Option<Loaded<TargetsHead>>,
    /// Delegated targets roles in pre-order (5.6.7).
    pub delegated: Vec<LoadedDelegated>,
}

impl Collected {
    /// The newest root of the chain.
    pub fn final_root(&self) -> &Loaded<Root> {
        self.rotations.last().unwrap_or(&self.trusted)
    }
}

/// tough's file name for a delegated role: every byte but `[A-Za-z0-9_.~-]` percent-encoded.
pub fn role_file_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn load<T: serde::de::DeserializeOwned>(rec: &Recording, url: &Url) -> Option<Loaded<T>> {
    let bytes = rec.bytes(url)?.clone();
    let parsed = serde_json::from_slice(&bytes).ok()?;
    Some(Loaded {
        url: url.to_string(),
        bytes,
        parsed,
    })
}

/// Rebuild the run's metadata from the recording.
pub fn collect(trusted: Loaded<Root>, rec: &Recording, metadata_url: &Url) -> Collected {
    let join = |path: &str| metadata_url.join(path).ok();
    let mut rotations: Vec<Loaded<Root>> = Vec::new();
    let mut next_root_probe = None;
    let mut next_root = None;
    let mut version = trusted.parsed.signed.version.get();
    // 5.3.3: N+1.root.json, one version at a time; 5.3.5: a file that is not version N+1 ends
    // the walk (tough refuses it too). At most MAX_ROOT_ROTATIONS, as tough's max_root_updates.
    loop {
        if rotations.len() >= MAX_ROOT_ROTATIONS || version == u64::MAX {
            break;
        }
        let Some(url) = join(&format!("{}.root.json", version + 1)) else {
            break;
        };
        match load::<Root>(rec, &url) {
            Some(root) if root.parsed.signed.version.get() == version + 1 => {
                version += 1;
                rotations.push(root);
            }
            Some(other) => {
                next_root = Some(other);
                break;
            }
            None => {
                next_root_probe = rec.get(&url).cloned().map(|o| (url, o));
                break;
            }
        }
    }
    let mut c = Collected {
        trusted,
        rotations,
        rejected_root: None,
        next_root,
        next_root_probe,
        timestamp: None,
        snapshot: None,
        targets: None,
        delegated: Vec::new(),
    };
    let consistent = c.final_root().parsed.signed.consistent_snapshot;
    let versioned = |version: u64, name: &str| {
        if consistent {
            join(&format!("{version}.{name}"))
        } else {
            join(name)
        }
    };
    // 5.4: timestamp.json, never versioned.
    c.timestamp = join("timestamp.json").and_then(|u| load(rec, &u));
    // 5.5: the snapshot version the timestamp names.
    c.snapshot = c
        .timestamp
        .as_ref()
        .and_then(|t| t.parsed.signed.meta.get("snapshot.json"))
        .and_then(|m| versioned(m.version.get(), "snapshot.json"))
        .and_then(|u| load(rec, &u));
    let Some(snapshot) = &c.snapshot else {
        return c;
    };
    // 5.6: the targets version the snapshot names.
    c.targets = snapshot
        .parsed
        .signed
        .meta
        .get("targets.json")
        .and_then(|m| versioned(m.version.get(), "targets.json"))
        .and_then(|u| load(rec, &u));
    // 5.6.7: delegations, pre-order depth-first.
    let mut delegated = Vec::new();
    if let Some(targets) = &c.targets {
        let mut seen = HashSet::new();
        walk(
            "targets",
            &targets.parsed.signed,
            &snapshot.parsed.signed,
            &versioned,
            rec,
            &mut seen,
            &mut delegated,
        );
    }
    c.delegated = delegated;
    c
}

fn walk(
    parent: &str,
    targets: &TargetsHead,
    snapshot: &Snapshot,
    versioned: &dyn Fn(u64, &str) -> Option<Url>,
    rec: &Recording,
    seen: &mut HashSet<String>,
    out: &mut Vec<LoadedDelegated>,
) {
    let Some(delegations) = &targets.delegations else {
        return;
    };
    for role in &delegations.roles {
        if out.len() >= MAX_DELEGATED_ROLES || !seen.insert(role.name.clone()) {
            continue;
        }
        let Some(meta) = snapshot.meta.get(&format!("{}.json", role.name)) else {
            continue;
        };
        let file = format!("{}.json", role_file_name(&role.name));
        let Some(metadata) =
            versioned(meta.version.get(), &file).and_then(|u| load::<TargetsHead>(rec, &u))
        else {
            continue;
        };
        let child = metadata.parsed.signed.clone();
        out.push(LoadedDelegated {
            name: role.name.clone(),
            parent: parent.to_owned(),
            keys: delegations.keys.clone(),
            keyids: role.keys.keyids.clone(),
            threshold: role.keys.threshold.get(),
            metadata,
        });
        walk(&role.name, &child, snapshot, versioned, rec, seen, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_file_names_match_tough() {
        assert_eq!(role_file_name("a/b"), "a%2Fb");
        assert_eq!(role_file_name("../x"), "..%2Fx");
        assert_eq!(role_file_name("role-1_x.y~"), "role-1_x.y~");
    }
}
