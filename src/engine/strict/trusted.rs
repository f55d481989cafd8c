//! The trusted metadata of one update cycle, and the checks each new file must pass before it
//! joins it: the specification's detailed client workflow (1.0.x, section 5), steps 5.3 to 5.6.
//! Each method cites the steps it implements. Nothing here does I/O: the caller fetches and
//! persists; this decides.

use super::keys::Key;
use super::metadata::{
    parse, Envelope, MetaFile, Metadata, ParseError, RoleKeys, RoleType, Root, Snapshot,
    TargetFile, Targets, Timestamp,
};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::fmt;

/// Why a file was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Not metadata of the expected form; the field and why.
    Malformed(super::metadata::ParseError),
    /// Not signed by a threshold of the keys that must sign it.
    Signatures(String),
    /// A version lower than the trusted one, or not the one expected.
    Version(String),
    /// The same version as the trusted timestamp: keep the trusted one (5.4.3.1).
    SameTimestamp,
    /// Expired at the update's start time.
    Expired(String),
    /// Its length or a hash is not the one that the metadata above it lists.
    LengthOrHash(String),
    /// Asked out of order, or about a role nobody delegated.
    Sequence(String),
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Malformed(m) => write!(f, "malformed: {m}"),
            Refusal::Signatures(m) => write!(f, "signatures: {m}"),
            Refusal::Version(m) => write!(f, "version: {m}"),
            Refusal::SameTimestamp => f.write_str("the same timestamp version as the trusted one"),
            Refusal::Expired(m) => write!(f, "expired: {m}"),
            Refusal::LengthOrHash(m) => write!(f, "length or hash: {m}"),
            Refusal::Sequence(m) => f.write_str(m),
        }
    }
}

fn malformed(e: ParseError) -> Refusal {
    Refusal::Malformed(e)
}

/// Whether `env` is signed by at least `role.threshold` distinct keys of `role` (5.3.3, 5.4.2,
/// 5.5.3, 5.6.3). A key counts once, however many key ids name it.
pub fn check_threshold(
    keys: &BTreeMap<String, Key>,
    role: &RoleKeys,
    env: &Envelope,
    what: &str,
) -> Result<(), Refusal> {
    let mut signers: Vec<&[u8]> = Vec::new();
    for keyid in &role.keyids {
        let (Some(key), Some(sig)) = (keys.get(keyid), env.signatures.get(keyid)) else {
            continue;
        };
        if let Ok(public) = &key.public {
            if !signers.contains(&public.as_slice()) && key.verifies(&env.canonical, sig) {
                signers.push(public);
            }
        }
    }
    if (signers.len() as u64) < role.threshold {
        return Err(Refusal::Signatures(format!(
            "{what}: {} valid signature(s) of the {} needed",
            signers.len(),
            role.threshold
        )));
    }
    Ok(())
}

/// The length and every hash of `bytes` against a `meta` entry or a target (5.5.2, 5.6.2,
/// 5.7.3). An algorithm this engine cannot compute fails the check.
pub fn check_length_and_hashes<'a>(
    bytes: &[u8],
    length: Option<u64>,
    hashes: impl IntoIterator<Item = (&'a str, &'a str)>,
    what: &str,
) -> Result<(), Refusal> {
    if let Some(l) = length {
        if bytes.len() as u64 != l {
            return Err(Refusal::LengthOrHash(format!(
                "{what}: {} bytes, {l} expected",
                bytes.len()
            )));
        }
    }
    for (alg, expected) in hashes {
        let actual = match alg {
            "sha224" => aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA224, bytes),
            "sha256" => aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes),
            "sha384" => aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA384, bytes),
            "sha512" => aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA512, bytes),
            _ => {
                return Err(Refusal::LengthOrHash(format!(
                    "{what}: hash algorithm {alg:?} is not supported"
                )))
            }
        };
        if !hex::encode(actual.as_ref()).eq_ignore_ascii_case(expected) {
            return Err(Refusal::LengthOrHash(format!("{what}: {alg} mismatch")));
        }
    }
    Ok(())
}

fn meta_check(bytes: &[u8], meta: &MetaFile, what: &str) -> Result<(), Refusal> {
    let hashes: Vec<(&str, &str)> = meta
        .hashes
        .iter()
        .flatten()
        .map(|(a, h)| (a.as_str(), h.as_str()))
        .collect();
    check_length_and_hashes(bytes, meta.length, hashes, what)
}

/// The trusted metadata of one update cycle.
#[derive(Debug)]
pub struct Trusted {
    /// 5.1: the fixed update start time; every expiry is judged against it.
    pub now: DateTime<Utc>,
    /// The trusted root.
    pub root: Metadata<Root>,
    /// The trusted timestamp, once loaded.
    pub timestamp: Option<Metadata<Timestamp>>,
    /// The trusted snapshot, once loaded.
    pub snapshot: Option<Metadata<Snapshot>>,
    /// Trusted targets roles by name: `targets` and delegated roles.
    pub targets: BTreeMap<String, Metadata<Targets>>,
}

impl Trusted {
    /// 5.2: load the trusted root. It must be signed by a threshold of its own root keys; its
    /// expiry does not matter yet (5.3.10 judges the final root).
    pub fn new(root: &[u8], now: DateTime<Utc>) -> Result<Self, Refusal> {
        let root = parse(root, Root::parse).map_err(malformed)?;
        check_threshold(
            &root.signed.keys,
            root.signed.role(RoleType::Root),
            &root.envelope,
            "root",
        )?;
        Ok(Trusted {
            now,
            root,
            timestamp: None,
            snapshot: None,
            targets: BTreeMap::new(),
        })
    }

    /// 5.3.3 to 5.3.6: a new root, version N+1, signed by a threshold of the trusted root's root
    /// keys and of its own; its expiry does not matter yet (5.3.5).
    pub fn update_root(&mut self, bytes: &[u8]) -> Result<(), Refusal> {
        if self.timestamp.is_some() {
            return Err(Refusal::Sequence(
                "root: cannot be updated after the timestamp".to_owned(),
            ));
        }
        let new = parse(bytes, Root::parse).map_err(malformed)?;
        // 5.3.3: signed by the trusted root's keys, and by the new root's own.
        check_threshold(
            &self.root.signed.keys,
            self.root.signed.role(RoleType::Root),
            &new.envelope,
            "root (by the trusted root's keys)",
        )?;
        check_threshold(
            &new.signed.keys,
            new.signed.role(RoleType::Root),
            &new.envelope,
            "root (by its own keys)",
        )?;
        // 5.3.4: exactly N+1.
        let expected = self.root.signed.common.version + 1;
        if new.signed.common.version != expected {
            return Err(Refusal::Version(format!(
                "root: version {}, expected {expected}",
                new.signed.common.version
            )));
        }
        // 5.3.6: the new root is trusted.
        self.root = new;
        Ok(())
    }

    /// 5.3.10: the final root must not be expired.
    pub fn check_root_final(&self) -> Result<(), Refusal> {
        if self.root.signed.common.expires <= self.now {
            return Err(Refusal::Expired(format!(
                "root version {} expired {}",
                self.root.signed.common.version, self.root.signed.common.expires
            )));
        }
        Ok(())
    }

    /// 5.4.2 to 5.4.4: a new timestamp. A timestamp of a lower version, or naming a lower
    /// snapshot version, is a rollback; the same version as the trusted one is refused with
    /// [`Refusal::SameTimestamp`] and the trusted one kept. A timestamp that passes the
    /// rollback checks becomes trusted even when expired (it then refuses rollbacks below it),
    /// and the expiry is reported.
    pub fn update_timestamp(&mut self, bytes: &[u8]) -> Result<(), Refusal> {
        if self.snapshot.is_some() {
            return Err(Refusal::Sequence(
                "timestamp: cannot be updated after the snapshot".to_owned(),
            ));
        }
        self.check_root_final()?;
        let new = parse(bytes, Timestamp::parse).map_err(malformed)?;
        // 5.4.2: signed by a threshold of the root's timestamp keys.
        check_threshold(
            &self.root.signed.keys,
            self.root.signed.role(RoleType::Timestamp),
            &new.envelope,
            "timestamp",
        )?;
        // 5.4.3: no rollback of the timestamp, nor of the snapshot it names.
        if let Some(old) = &self.timestamp {
            let (ov, nv) = (old.signed.common.version, new.signed.common.version);
            if nv < ov {
                return Err(Refusal::Version(format!(
                    "timestamp: version {nv} is below the trusted {ov}"
                )));
            }
            if nv == ov {
                return Err(Refusal::SameTimestamp);
            }
            let (os, ns) = (old.signed.snapshot.version, new.signed.snapshot.version);
            if ns < os {
                return Err(Refusal::Version(format!(
                    "timestamp: names snapshot version {ns}, below the trusted {os}"
                )));
            }
        }
        self.timestamp = Some(new);
        // 5.4.4: not expired.
        self.check_timestamp_final()
    }

    /// 5.4.4: the trusted timestamp must not be expired.
    pub fn check_timestamp_final(&self) -> Result<(), Refusal> {
        let ts = self
            .timestamp
            .as_ref()
            .ok_or_else(|| Refusal::Sequence("no trusted timestamp".to_owned()))?;
        if ts.signed.common.expires <= self.now {
            return Err(Refusal::Expired(format!(
                "timestamp version {} expired {}",
                ts.signed.common.version, ts.signed.common.expires
            )));
        }
        Ok(())
    }

    /// 5.5.2 to 5.5.6: a new snapshot. `local` is a copy this client stored itself, whose
    /// hashes are not checked against the timestamp (it may be an older snapshot, kept to
    /// refuse rollbacks below it).
    pub fn update_snapshot(&mut self, bytes: &[u8], local: bool) -> Result<(), Refusal> {
        if !self.targets.is_empty() {
            return Err(Refusal::Sequence(
                "snapshot: cannot be updated after targets".to_owned(),
            ));
        }
        self.check_timestamp_final()?;
        let meta = self
            .timestamp
            .as_ref()
            .map(|t| t.signed.snapshot.clone())
            .ok_or_else(|| Refusal::Sequence("snapshot: no trusted timestamp".to_owned()))?;
        // 5.5.2: the length and hashes the timestamp lists.
        if !local {
            meta_check(bytes, &meta, "snapshot")?;
        }
        let new = parse(bytes, Snapshot::parse).map_err(malformed)?;
        // 5.5.3: signed by a threshold of the root's snapshot keys.
        check_threshold(
            &self.root.signed.keys,
            self.root.signed.role(RoleType::Snapshot),
            &new.envelope,
            "snapshot",
        )?;
        // 5.5.5: every targets file the trusted snapshot lists is still listed, at no lower
        // version.
        if let Some(old) = &self.snapshot {
            for (name, m) in &old.signed.meta {
                match new.signed.meta.get(name) {
                    None => {
                        return Err(Refusal::Version(format!(
                            "snapshot: no longer lists {name}"
                        )))
                    }
                    Some(n) if n.version < m.version => {
                        return Err(Refusal::Version(format!(
                            "snapshot: lists {name} at version {}, below the trusted {}",
                            n.version, m.version
                        )))
                    }
                    Some(_) => {}
                }
            }
        }
        self.snapshot = Some(new);
        self.check_snapshot_final()
    }

    /// 5.5.4 and 5.5.6: the trusted snapshot is the version the timestamp names, and not
    /// expired.
    pub fn check_snapshot_final(&self) -> Result<(), Refusal> {
        let (Some(sn), Some(ts)) = (&self.snapshot, &self.timestamp) else {
            return Err(Refusal::Sequence("no trusted snapshot".to_owned()));
        };
        if sn.signed.common.expires <= self.now {
            return Err(Refusal::Expired(format!(
                "snapshot version {} expired {}",
                sn.signed.common.version, sn.signed.common.expires
            )));
        }
        if sn.signed.common.version != ts.signed.snapshot.version {
            return Err(Refusal::Version(format!(
                "snapshot: version {}, the timestamp names {}",
                sn.signed.common.version, ts.signed.snapshot.version
            )));
        }
        Ok(())
    }

    /// The keys and threshold that `delegator` gives `role`: the root's for `targets`, else
    /// the delegating targets role's (explicit or succinct).
    fn delegation(
        &self,
        role: &str,
        delegator: &str,
    ) -> Result<(BTreeMap<String, Key>, RoleKeys), Refusal> {
        if role == "targets" {
            return Ok((
                self.root.signed.keys.clone(),
                self.root.signed.role(RoleType::Targets).clone(),
            ));
        }
        let parent = self.targets.get(delegator).ok_or_else(|| {
            Refusal::Sequence(format!("{role}: its delegator {delegator} is not trusted"))
        })?;
        let d =
            parent.signed.delegations.as_ref().ok_or_else(|| {
                Refusal::Sequence(format!("{role}: {delegator} delegates nothing"))
            })?;
        if let Some(r) = d.roles.iter().find(|r| r.name == role) {
            return Ok((d.keys.clone(), r.keys.clone()));
        }
        if let Some(s) = d.succinct.as_ref().filter(|s| s.is_bin(role)) {
            return Ok((d.keys.clone(), s.keys.clone()));
        }
        Err(Refusal::Sequence(format!(
            "{role}: not delegated by {delegator}"
        )))
    }

    /// A targets role already trusted, reached again through `delegator`: it must be signed by
    /// a threshold of the keys that this delegator gives it too (a role delegated by two
    /// parents with different keys must satisfy the parent the search came through).
    pub fn check_delegated_again(&self, role: &str, delegator: &str) -> Result<(), Refusal> {
        let (keys, role_keys) = self.delegation(role, delegator)?;
        let trusted = self
            .targets
            .get(role)
            .ok_or_else(|| Refusal::Sequence(format!("{role}: not trusted yet")))?;
        check_threshold(&keys, &role_keys, &trusted.envelope, role)
    }

    /// 5.6.2 to 5.6.5 (and the same for a delegated role, with its delegator's keys): the
    /// targets role `role`, at the version, length and hashes the snapshot lists.
    pub fn update_targets(
        &mut self,
        bytes: &[u8],
        role: &str,
        delegator: &str,
    ) -> Result<(), Refusal> {
        self.check_snapshot_final()?;
        let (keys, role_keys) = self.delegation(role, delegator)?;
        let file = format!("{role}.json");
        let meta = self
            .snapshot
            .as_ref()
            .and_then(|s| s.signed.meta.get(&file).cloned())
            .ok_or_else(|| {
                Refusal::Sequence(format!("{role}: the snapshot does not list {file}"))
            })?;
        // 5.6.2: the length and hashes the snapshot lists.
        meta_check(bytes, &meta, role)?;
        let new = parse(bytes, Targets::parse).map_err(malformed)?;
        // 5.6.3: signed by a threshold of its delegator's keys for it.
        check_threshold(&keys, &role_keys, &new.envelope, role)?;
        // 5.6.4: the version the snapshot lists.
        if new.signed.common.version != meta.version {
            return Err(Refusal::Version(format!(
                "{role}: version {}, the snapshot lists {}",
                new.signed.common.version, meta.version
            )));
        }
        // 5.6.5: not expired.
        if new.signed.common.expires <= self.now {
            return Err(Refusal::Expired(format!(
                "{role} version {} expired {}",
                new.signed.common.version, new.signed.common.expires
            )));
        }
        self.targets.insert(role.to_owned(), new);
        Ok(())
    }
}

/// 5.6.7 (5.7.1 in later versions): the search for a target `path` through the delegations, in
/// pre-order depth first from `targets`, visiting each role once and at most `max` roles, and
/// stopping at a terminating role that is trusted for it. The caller loads each role it is given
/// ([`Search::next_role`]) and shows it ([`Search::visit`]): the client loads roles as the search
/// needs them, a verification of the whole repository has them all already.
#[derive(Debug)]
pub struct Search<'p> {
    path: &'p str,
    stack: Vec<(String, String)>,
    visited: Vec<String>,
    max: usize,
}

impl<'p> Search<'p> {
    /// A search for `path` visiting at most `max` roles.
    pub fn new(path: &'p str, max: usize) -> Self {
        Search {
            path,
            stack: vec![("targets".to_owned(), "root".to_owned())],
            visited: Vec::new(),
            max,
        }
    }

    /// The next role to look in, and the role that delegates it (`root` for `targets`).
    pub fn next_role(&mut self) -> Option<(String, String)> {
        while let Some((role, delegator)) = self.stack.pop() {
            if self.visited.len() >= self.max {
                return None;
            }
            if self.visited.contains(&role) {
                continue;
            }
            self.visited.push(role.clone());
            return Some((role, delegator));
        }
        None
    }

    /// Look in the trusted role `role` (`None` when it is not trusted): the target, or else
    /// its delegations trusted for the path join the search.
    pub fn visit<'t>(
        &mut self,
        role: &str,
        targets: Option<&'t Targets>,
    ) -> Option<&'t TargetFile> {
        let targets = targets?;
        if let Some(t) = targets.targets.get(self.path) {
            return Some(t);
        }
        let d = targets.delegations.as_ref()?;
        let mut children: Vec<(String, String)> = Vec::new();
        if let Some(s) = &d.succinct {
            children.push((s.bin_of(self.path), role.to_owned()));
        }
        for child in &d.roles {
            if child.trusted_for(self.path) {
                children.push((child.name.clone(), role.to_owned()));
                if child.terminating {
                    // A terminating role ends the search below it and beside it.
                    self.stack.clear();
                    break;
                }
            }
        }
        // Pre-order: the first child is visited first.
        children.reverse();
        self.stack.extend(children);
        None
    }
}

impl Trusted {
    /// The target `path` as the trusted targets roles list it (see [`Search`]), among the roles
    /// already loaded.
    pub fn find_target(&self, path: &str, max_roles: usize) -> Option<&TargetFile> {
        let mut search = Search::new(path, max_roles);
        while let Some((role, _)) = search.next_role() {
            if let Some(t) = search.visit(&role, self.targets.get(&role).map(|m| &m.signed)) {
                return Some(t);
            }
        }
        None
    }

    /// Every target path some trusted targets role lists, sorted, each once.
    pub fn target_paths(&self) -> Vec<String> {
        let mut all: Vec<String> = self
            .targets
            .values()
            .flat_map(|m| m.signed.targets.keys().cloned())
            .collect();
        all.sort();
        all.dedup();
        all
    }
}
