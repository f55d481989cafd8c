//! TUF metadata as the specification defines it (section 4), parsed strictly: every required
//! field present with its type, versions above zero, `expires` in the exact form
//! `YYYY-MM-DDTHH:MM:SSZ`, a `spec_version` of major version 1. Unknown fields are allowed (the
//! specification lets metadata carry them) and are covered by the signatures, which are checked
//! over the canonical JSON of `signed` exactly as received.

use super::keys::Key;
use crate::engine::canonical::canonicalize;
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fmt;

/// The major version of the specification this engine implements.
pub const SPEC_MAJOR: &str = "1";

/// The four top-level roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RoleType {
    /// `root`.
    Root,
    /// `timestamp`.
    Timestamp,
    /// `snapshot`.
    Snapshot,
    /// `targets`, top-level or delegated.
    Targets,
}

impl RoleType {
    /// The `_type` value.
    pub fn as_str(self) -> &'static str {
        match self {
            RoleType::Root => "root",
            RoleType::Timestamp => "timestamp",
            RoleType::Snapshot => "snapshot",
            RoleType::Targets => "targets",
        }
    }
}

/// A metadata file: what was signed, in canonical form, and its signatures (4.2).
#[derive(Debug, Clone)]
pub struct Envelope {
    /// The canonical JSON of `signed`: the bytes the signatures cover.
    pub canonical: Vec<u8>,
    /// `keyid` -> signature bytes. A key id that signs twice makes the file invalid.
    pub signatures: BTreeMap<String, Vec<u8>>,
    /// The `signed` object, but for a `targets` member.
    pub signed: Map<String, Value>,
    /// The `targets` member of `signed`, as received: a targets role's list can hold a hundred
    /// thousand entries, which [`Targets::parse`] reads in one pass into their final form
    /// rather than through a JSON tree. [`parse`] drops it once the role is read.
    pub targets: Option<Box<RawValue>>,
}

/// What every role has (4.2): `_type`, `spec_version`, `version`, `expires`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Common {
    /// `version`, at least 1.
    pub version: u64,
    /// `expires`.
    pub expires: DateTime<Utc>,
}

/// The keys and threshold of a role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleKeys {
    /// Key ids, each once.
    pub keyids: Vec<String>,
    /// How many distinct keys must sign, at least 1.
    pub threshold: u64,
}

/// `root.json` (4.3).
#[derive(Debug, Clone)]
pub struct Root {
    /// Version and expiry.
    pub common: Common,
    /// `consistent_snapshot`.
    pub consistent_snapshot: bool,
    /// Key id -> key. A key of a type or scheme this engine does not know is kept, unusable.
    pub keys: BTreeMap<String, Key>,
    /// The four top-level roles.
    pub roles: BTreeMap<String, RoleKeys>,
}

/// A `meta` entry of timestamp or snapshot (4.4, 4.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetaFile {
    /// The version of the metadata file.
    pub version: u64,
    /// Its length, when given.
    pub length: Option<u64>,
    /// Its hashes, when given: algorithm -> lower-case hex.
    pub hashes: Option<BTreeMap<String, String>>,
}

/// `timestamp.json` (4.6).
#[derive(Debug, Clone)]
pub struct Timestamp {
    /// Version and expiry.
    pub common: Common,
    /// `meta["snapshot.json"]`.
    pub snapshot: MetaFile,
}

/// `snapshot.json` (4.4).
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Version and expiry.
    pub common: Common,
    /// `targets.json` and every delegated role's file -> its version (and length, hashes).
    pub meta: BTreeMap<String, MetaFile>,
}

/// A target (4.5): its length and hashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetFile {
    /// Length in bytes.
    pub length: u64,
    /// Algorithm -> lower-case hex, in the order the metadata lists them.
    pub hashes: Vec<(String, String)>,
}

impl TargetFile {
    /// Where the target `path` is with consistent snapshots (5.7.3): `dir/<hash>.<name>`, with
    /// the first hash the metadata lists, as python-tuf does.
    pub fn consistent_path(&self, path: &str) -> String {
        let (dir, name) = match path.rsplit_once('/') {
            Some((d, n)) => (format!("{d}/"), n),
            None => (String::new(), path),
        };
        let first = self.hashes.first().map(|(_, h)| h.as_str()).unwrap_or("");
        format!("{dir}{first}.{name}")
    }
}

/// How a delegated role's paths are given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Paths {
    /// `paths`: shell-style patterns.
    Patterns(Vec<String>),
    /// `path_hash_prefixes`: prefixes of the SHA-256 (hex) of the target path.
    HashPrefixes(Vec<String>),
}

/// A delegated role (4.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DelegatedRole {
    /// Its name.
    pub name: String,
    /// Its keys and threshold.
    pub keys: RoleKeys,
    /// Whether the search stops here when it matches.
    pub terminating: bool,
    /// The targets it is trusted for.
    pub paths: Paths,
}

/// Succinct hash delegations (TAP 15): `2^bit_length` bins named `<prefix>-<hex>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuccinctRoles {
    /// Their shared keys and threshold.
    pub keys: RoleKeys,
    /// How many leading bits of the target path's SHA-256 pick the bin.
    pub bit_length: u32,
    /// The bins' name prefix.
    pub name_prefix: String,
}

/// `delegations` of a targets role.
#[derive(Debug, Clone)]
pub struct Delegations {
    /// Key id -> key.
    pub keys: BTreeMap<String, Key>,
    /// The delegated roles, in order.
    pub roles: Vec<DelegatedRole>,
    /// Or succinct hash bins.
    pub succinct: Option<SuccinctRoles>,
}

/// A targets role (4.5), top-level or delegated.
#[derive(Debug, Clone)]
pub struct Targets {
    /// Version and expiry.
    pub common: Common,
    /// Target path -> its length and hashes.
    pub targets: BTreeMap<String, TargetFile>,
    /// Its delegations, when any.
    pub delegations: Option<Delegations>,
}

/// A parse error: the field and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(String);

impl From<String> for ParseError {
    fn from(why: String) -> Self {
        ParseError(why)
    }
}

impl From<&str> for ParseError {
    fn from(why: &str) -> Self {
        ParseError(why.to_owned())
    }
}

impl From<crate::error::FieldError> for ParseError {
    fn from(e: crate::error::FieldError) -> Self {
        ParseError(e.to_string())
    }
}

fn field<'a>(obj: &'a Map<String, Value>, name: &str, at: &str) -> Result<&'a Value, ParseError> {
    obj.get(name)
        .ok_or_else(|| ParseError::from(format!("{at}{name}: missing")))
}

fn object<'a>(
    obj: &'a Map<String, Value>,
    name: &str,
    at: &str,
) -> Result<&'a Map<String, Value>, ParseError> {
    field(obj, name, at)?
        .as_object()
        .ok_or_else(|| ParseError::from(format!("{at}{name}: not an object")))
}

fn string<'a>(obj: &'a Map<String, Value>, name: &str, at: &str) -> Result<&'a str, ParseError> {
    field(obj, name, at)?
        .as_str()
        .ok_or_else(|| ParseError::from(format!("{at}{name}: not a string")))
}

fn uint(obj: &Map<String, Value>, name: &str, at: &str) -> Result<u64, ParseError> {
    field(obj, name, at)?
        .as_u64()
        .ok_or_else(|| ParseError::from(format!("{at}{name}: not a non-negative integer")))
}

fn boolean(obj: &Map<String, Value>, name: &str, at: &str) -> Result<bool, ParseError> {
    field(obj, name, at)?
        .as_bool()
        .ok_or_else(|| ParseError::from(format!("{at}{name}: not a boolean")))
}

fn hex_lower(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit())
}

impl Envelope {
    /// Split a metadata file into `signed` (kept, and in canonical form) and its signatures.
    pub fn parse(bytes: &[u8]) -> Result<Self, ParseError> {
        #[derive(serde::Deserialize)]
        struct Raw<'a> {
            #[serde(borrow)]
            signed: &'a serde_json::value::RawValue,
            signatures: Vec<Map<String, Value>>,
        }
        let raw: Raw<'_> =
            serde_json::from_slice(bytes).map_err(|e| format!("not TUF metadata: {e}"))?;
        let canonical = canonicalize(raw.signed.get())
            .map_err(|e| format!("signed: no canonical form: {e}"))?;
        // The members of `signed`, each parsed on its own; the canonical form above already
        // refused a key given twice.
        let members: Vec<(String, &RawValue)> =
            serde_json::from_str::<Members<'_>>(raw.signed.get())
                .map_err(|e| format!("signed: not an object: {e}"))?
                .0;
        let mut signed = Map::new();
        let mut targets = None;
        for (name, value) in members {
            if name == "targets" {
                targets = Some(value.to_owned());
            } else {
                let value =
                    serde_json::from_str(value.get()).map_err(|e| format!("signed.{name}: {e}"))?;
                signed.insert(name, value);
            }
        }
        let mut signatures = BTreeMap::new();
        for (i, s) in raw.signatures.iter().enumerate() {
            let at = format!("signatures[{i}].");
            let keyid = string(s, "keyid", &at)?;
            // A signature that is not even hex verifies nothing, like a wrong one: it does not
            // count, and the file may still meet its threshold with others.
            let sig = hex::decode(string(s, "sig", &at)?).unwrap_or_default();
            // A key id that signs twice: the file is invalid, as python-tuf rules (a threshold
            // must never count one key twice).
            if signatures.insert(keyid.to_owned(), sig).is_some() {
                return Err(format!("signatures: key id {keyid} signs more than once").into());
            }
        }
        Ok(Envelope {
            canonical,
            signatures,
            signed,
            targets,
        })
    }

    /// `_type`, `spec_version`, `version` and `expires`, checked against the expected type.
    pub fn common(&self, expected: RoleType) -> Result<Common, ParseError> {
        let s = &self.signed;
        let t = string(s, "_type", "")?;
        if t != expected.as_str() {
            return Err(format!("_type: {t:?}, expected {:?}", expected.as_str()).into());
        }
        let spec = string(s, "spec_version", "")?;
        let parts: Vec<&str> = spec.split('.').collect();
        if !(2..=3).contains(&parts.len())
            || parts.iter().any(|p| p.parse::<u64>().is_err())
            || parts[0] != SPEC_MAJOR
        {
            return Err(format!(
                "spec_version: {spec:?} is not a version 1.x of the specification"
            )
            .into());
        }
        let version = uint(s, "version", "")?;
        if version == 0 {
            return Err("version: must be at least 1".into());
        }
        let expires = string(s, "expires", "")?;
        let expires = NaiveDateTime::parse_from_str(expires, "%Y-%m-%dT%H:%M:%SZ")
            .map_err(|_| format!("expires: {expires:?} is not YYYY-MM-DDTHH:MM:SSZ"))?
            .and_utc();
        Ok(Common { version, expires })
    }
}

fn keys_of(obj: &Map<String, Value>, at: &str) -> Result<BTreeMap<String, Key>, ParseError> {
    let mut keys = BTreeMap::new();
    for (id, k) in obj {
        let k = k
            .as_object()
            .ok_or_else(|| ParseError::from(format!("{at}{id}: not an object")))?;
        keys.insert(id.clone(), Key::parse(k, &format!("{at}{id}."))?);
    }
    Ok(keys)
}

fn role_keys(obj: &Map<String, Value>, at: &str) -> Result<RoleKeys, ParseError> {
    let list = field(obj, "keyids", at)?
        .as_array()
        .ok_or_else(|| ParseError::from(format!("{at}keyids: not a list")))?;
    let mut keyids: Vec<String> = Vec::with_capacity(list.len());
    for v in list {
        let id = v
            .as_str()
            .ok_or_else(|| ParseError::from(format!("{at}keyids: not a list of strings")))?;
        if keyids.iter().any(|k| k == id) {
            return Err(format!("{at}keyids: {id} is listed twice").into());
        }
        keyids.push(id.to_owned());
    }
    let threshold = uint(obj, "threshold", at)?;
    if threshold == 0 {
        return Err(format!("{at}threshold: must be at least 1").into());
    }
    Ok(RoleKeys { keyids, threshold })
}

fn hashes_of(obj: &Map<String, Value>, at: &str) -> Result<Vec<(String, String)>, ParseError> {
    let mut out = Vec::with_capacity(obj.len());
    for (alg, v) in obj {
        let hex = v
            .as_str()
            .filter(|h| hex_lower(h))
            .ok_or_else(|| ParseError::from(format!("{at}{alg}: not a hex digest")))?;
        out.push((alg.clone(), hex.to_ascii_lowercase()));
    }
    if out.is_empty() {
        return Err(format!("{at}: no hash").into());
    }
    Ok(out)
}

fn meta_file(obj: &Map<String, Value>, at: &str) -> Result<MetaFile, ParseError> {
    let version = uint(obj, "version", at)?;
    if version == 0 {
        return Err(format!("{at}version: must be at least 1").into());
    }
    let length =
        match obj.get("length") {
            None => None,
            Some(v) => Some(v.as_u64().ok_or_else(|| {
                ParseError::from(format!("{at}length: not a non-negative integer"))
            })?),
        };
    let hashes = match obj.get("hashes") {
        None => None,
        Some(v) => {
            let h = v
                .as_object()
                .ok_or_else(|| ParseError::from(format!("{at}hashes: not an object")))?;
            Some(hashes_of(h, &format!("{at}hashes."))?.into_iter().collect())
        }
    };
    Ok(MetaFile {
        version,
        length,
        hashes,
    })
}

impl Root {
    /// Parse `root.json`'s `signed` (4.3).
    pub fn parse(env: &Envelope) -> Result<Self, ParseError> {
        let common = env.common(RoleType::Root)?;
        let s = &env.signed;
        let consistent_snapshot = boolean(s, "consistent_snapshot", "")?;
        let keys = keys_of(object(s, "keys", "")?, "keys.")?;
        let mut roles = BTreeMap::new();
        for (name, r) in object(s, "roles", "")? {
            let r = r
                .as_object()
                .ok_or_else(|| ParseError::from(format!("roles.{name}: not an object")))?;
            roles.insert(name.clone(), role_keys(r, &format!("roles.{name}."))?);
        }
        for needed in ["root", "timestamp", "snapshot", "targets"] {
            if !roles.contains_key(needed) {
                return Err(format!("roles.{needed}: missing").into());
            }
        }
        Ok(Root {
            common,
            consistent_snapshot,
            keys,
            roles,
        })
    }

    /// The keys and threshold of a top-level role.
    pub fn role(&self, role: RoleType) -> &RoleKeys {
        // `parse` made sure all four are there.
        &self.roles[role.as_str()]
    }
}

impl Timestamp {
    /// Parse `timestamp.json`'s `signed` (4.6).
    pub fn parse(env: &Envelope) -> Result<Self, ParseError> {
        let common = env.common(RoleType::Timestamp)?;
        let meta = object(&env.signed, "meta", "")?;
        let snap = meta
            .get("snapshot.json")
            .and_then(Value::as_object)
            .ok_or("meta.snapshot.json: missing, or not an object")?;
        Ok(Timestamp {
            common,
            snapshot: meta_file(snap, "meta.snapshot.json.")?,
        })
    }
}

impl Snapshot {
    /// Parse `snapshot.json`'s `signed` (4.4).
    pub fn parse(env: &Envelope) -> Result<Self, ParseError> {
        let common = env.common(RoleType::Snapshot)?;
        let mut meta = BTreeMap::new();
        for (name, m) in object(&env.signed, "meta", "")? {
            let m = m
                .as_object()
                .ok_or_else(|| ParseError::from(format!("meta.{name}: not an object")))?;
            meta.insert(name.clone(), meta_file(m, &format!("meta.{name}."))?);
        }
        Ok(Snapshot { common, meta })
    }
}

impl Targets {
    /// Parse a targets role's `signed` (4.5).
    pub fn parse(env: &Envelope) -> Result<Self, ParseError> {
        let common = env.common(RoleType::Targets)?;
        let s = &env.signed;
        let raw = env.targets.as_ref().ok_or("targets: missing")?;
        let targets = serde_json::from_str::<TargetList>(raw.get())
            .map_err(|e| e.to_string())?
            .0;
        let delegations = match s.get("delegations") {
            None => None,
            Some(d) => Some(Delegations::parse(
                d.as_object().ok_or("delegations: not an object")?,
            )?),
        };
        Ok(Targets {
            common,
            targets,
            delegations,
        })
    }
}

impl Delegations {
    fn parse(d: &Map<String, Value>) -> Result<Self, ParseError> {
        let keys = keys_of(object(d, "keys", "delegations.")?, "delegations.keys.")?;
        let mut roles: Vec<DelegatedRole> = Vec::new();
        let succinct = match (d.get("roles"), d.get("succinct_roles")) {
            (Some(_), Some(_)) => {
                return Err("delegations: roles and succinct_roles cannot both be given".into())
            }
            (None, None) => {
                return Err("delegations: needs roles or succinct_roles".into());
            }
            (Some(list), None) => {
                let list = list.as_array().ok_or("delegations.roles: not a list")?;
                for (i, r) in list.iter().enumerate() {
                    let at = format!("delegations.roles[{i}].");
                    let r = r.as_object().ok_or_else(|| {
                        ParseError::from(format!("delegations.roles[{i}]: not an object"))
                    })?;
                    let name = string(r, "name", &at)?.to_owned();
                    if ["root", "timestamp", "snapshot", "targets"].contains(&name.as_str()) {
                        return Err(format!("{at}name: {name:?} is a top-level role").into());
                    }
                    if roles.iter().any(|o| o.name == name) {
                        return Err(format!("{at}name: {name:?} is delegated twice").into());
                    }
                    let keys = role_keys(r, &at)?;
                    let terminating = boolean(r, "terminating", &at)?;
                    let strings = |v: &Value, what: &str| -> Result<Vec<String>, ParseError> {
                        v.as_array()
                            .and_then(|a| {
                                a.iter()
                                    .map(|x| x.as_str().map(str::to_owned))
                                    .collect::<Option<Vec<_>>>()
                            })
                            .ok_or_else(|| {
                                ParseError::from(format!("{at}{what}: not a list of strings"))
                            })
                    };
                    let paths = match (r.get("paths"), r.get("path_hash_prefixes")) {
                        (Some(_), Some(_)) => {
                            return Err(format!(
                                "{at}: paths and path_hash_prefixes cannot both be given"
                            )
                            .into())
                        }
                        (Some(p), None) => Paths::Patterns(strings(p, "paths")?),
                        (None, Some(p)) => Paths::HashPrefixes(strings(p, "path_hash_prefixes")?),
                        (None, None) => {
                            return Err(format!("{at}: needs paths or path_hash_prefixes").into())
                        }
                    };
                    roles.push(DelegatedRole {
                        name,
                        keys,
                        terminating,
                        paths,
                    });
                }
                None
            }
            (None, Some(s)) => {
                let at = "delegations.succinct_roles.";
                let s = s
                    .as_object()
                    .ok_or("delegations.succinct_roles: not an object")?;
                let keys = role_keys(s, at)?;
                let bit_length = uint(s, "bit_length", at)?;
                if !(1..=32).contains(&bit_length) {
                    return Err(format!("{at}bit_length: must be 1 to 32").into());
                }
                Some(SuccinctRoles {
                    keys,
                    bit_length: bit_length as u32,
                    name_prefix: string(s, "name_prefix", at)?.to_owned(),
                })
            }
        };
        Ok(Delegations {
            keys,
            roles,
            succinct,
        })
    }
}

impl SuccinctRoles {
    /// The bin a target path falls in (TAP 15): the first `bit_length` bits of its SHA-256.
    pub fn bin_of(&self, path: &str) -> String {
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, path.as_bytes());
        let d = digest.as_ref();
        let first = u32::from_be_bytes([d[0], d[1], d[2], d[3]]);
        let bin = u64::from(first) >> (32 - self.bit_length);
        let width = (self.bit_length as usize).div_ceil(4);
        format!("{}-{bin:0width$x}", self.name_prefix)
    }

    /// Whether `name` is one of the bins.
    pub fn is_bin(&self, name: &str) -> bool {
        let Some(suffix) = name
            .strip_prefix(&self.name_prefix)
            .and_then(|r| r.strip_prefix('-'))
        else {
            return false;
        };
        let width = (self.bit_length as usize).div_ceil(4);
        suffix.len() == width
            && u64::from_str_radix(suffix, 16).is_ok_and(|n| n < (1u64 << self.bit_length))
    }
}

impl DelegatedRole {
    /// Whether the role is trusted for `path` (4.5: `paths` patterns, or prefixes of the
    /// path's SHA-256).
    pub fn trusted_for(&self, path: &str) -> bool {
        match &self.paths {
            Paths::Patterns(patterns) => patterns.iter().any(|p| pattern_matches(p, path)),
            Paths::HashPrefixes(prefixes) => {
                let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, path.as_bytes());
                let hex = hex::encode(digest.as_ref());
                prefixes.iter().any(|p| hex.starts_with(p.as_str()))
            }
        }
    }
}

/// A delegation's path pattern (4.5): shell-style, where `*` matches any run of characters
/// except `/`, `?` one character except `/`, `[...]` a set; the pattern and the path must have
/// as many `/`-separated parts.
pub fn pattern_matches(pattern: &str, path: &str) -> bool {
    let p: Vec<&str> = pattern.split('/').collect();
    let t: Vec<&str> = path.split('/').collect();
    p.len() == t.len()
        && p.iter()
            .zip(&t)
            .all(|(p, t)| glob(p.as_bytes(), t.as_bytes()))
}

/// fnmatch of one path part.
fn glob(p: &[u8], t: &[u8]) -> bool {
    match p.first() {
        None => t.is_empty(),
        Some(b'*') => (0..=t.len()).any(|i| glob(&p[1..], &t[i..])),
        Some(b'?') => !t.is_empty() && glob(&p[1..], &t[1..]),
        Some(b'[') => {
            let Some(close) = p.iter().skip(2).position(|&c| c == b']').map(|i| i + 2) else {
                return !t.is_empty() && t[0] == b'[' && glob(&p[1..], &t[1..]);
            };
            let Some(&c) = t.first() else {
                return false;
            };
            let mut set = &p[1..close];
            let negate = matches!(set.first(), Some(b'!'));
            if negate {
                set = &set[1..];
            }
            let mut hit = false;
            let mut i = 0;
            while i < set.len() {
                if i + 2 < set.len() && set[i + 1] == b'-' {
                    hit |= set[i] <= c && c <= set[i + 2];
                    i += 3;
                } else {
                    hit |= set[i] == c;
                    i += 1;
                }
            }
            hit != negate && glob(&p[close + 1..], &t[1..])
        }
        Some(&c) => t.first() == Some(&c) && glob(&p[1..], &t[1..]),
    }
}

/// The members of an object, in order, each as received.
struct Members<'a>(Vec<(String, &'a RawValue)>);

impl<'de: 'a, 'a> serde::Deserialize<'de> for Members<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Members<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some(name) = map.next_key::<String>()? {
                    out.push((name, map.next_value::<&'de RawValue>()?));
                }
                Ok(Members(out))
            }
        }
        d.deserialize_map(V)
    }
}

/// A targets role's `targets` (4.5), read in one pass: path -> length and hashes, each error
/// naming the target (`targets.<path>.length: ...`).
struct TargetList(BTreeMap<String, TargetFile>);

impl<'de> serde::Deserialize<'de> for TargetList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = TargetList;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("targets: an object of target paths")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = BTreeMap::new();
                while let Some(path) = map.next_key::<String>()? {
                    let at = |e: String| de::Error::custom(format!("targets.{path}{e}"));
                    let t: RawTarget = map.next_value().map_err(|e| at(format!(": {e}")))?;
                    let mut hashes = Vec::with_capacity(t.hashes.0.len());
                    for (alg, hex) in t.hashes.0 {
                        if !hex_lower(&hex) {
                            return Err(at(format!(".hashes.{alg}: not a hex digest")));
                        }
                        hashes.push((alg, hex.to_ascii_lowercase()));
                    }
                    if hashes.is_empty() {
                        return Err(at(".hashes: no hash".to_owned()));
                    }
                    let file = TargetFile {
                        length: t.length,
                        hashes,
                    };
                    if out.insert(path.clone(), file).is_some() {
                        return Err(at(": listed twice".to_owned()));
                    }
                }
                Ok(TargetList(out))
            }
        }
        d.deserialize_map(V)
    }
}

/// One entry of `targets` as received; other members are allowed (4.5) and covered by the
/// signatures.
#[derive(serde::Deserialize)]
struct RawTarget {
    length: u64,
    hashes: Hashes,
    #[serde(default, deserialize_with = "object_only")]
    #[allow(dead_code)]
    custom: (),
}

/// A `hashes` object, its members in order.
struct Hashes(Vec<(String, String)>);

impl<'de> serde::Deserialize<'de> for Hashes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Hashes;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of hex digests")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::with_capacity(2);
                while let Some((alg, hex)) = map.next_entry::<String, String>()? {
                    out.push((alg, hex));
                }
                Ok(Hashes(out))
            }
        }
        d.deserialize_map(V)
    }
}

/// `custom`, when given, must be an object (4.5); what it holds is the repository's.
fn object_only<'de, D: Deserializer<'de>>(d: D) -> Result<(), D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = ();
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            while map
                .next_entry::<de::IgnoredAny, de::IgnoredAny>()?
                .is_some()
            {}
            Ok(())
        }
    }
    d.deserialize_map(V)
}

/// A metadata file parsed: its envelope and its role.
#[derive(Debug, Clone)]
pub struct Metadata<T> {
    /// The signatures and what they cover.
    pub envelope: Envelope,
    /// The role.
    pub signed: T,
}

/// Parse a metadata file of a role.
pub fn parse<T>(
    bytes: &[u8],
    role: fn(&Envelope) -> Result<T, ParseError>,
) -> Result<Metadata<T>, ParseError> {
    let mut envelope = Envelope::parse(bytes)?;
    let signed = role(&envelope)?;
    envelope.targets = None;
    Ok(Metadata { envelope, signed })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_within_path_parts() {
        assert!(pattern_matches("targets/*.tgz", "targets/a.tgz"));
        assert!(!pattern_matches("targets/*.tgz", "targets/sub/a.tgz"));
        assert!(pattern_matches("*", "a"));
        assert!(!pattern_matches("*", "a/b"));
        assert!(pattern_matches("a/?", "a/b"));
        assert!(pattern_matches("file[0-9].txt", "file3.txt"));
        assert!(!pattern_matches("file[!0-9].txt", "file3.txt"));
        assert!(pattern_matches("*/*", "a/b"));
    }

    #[test]
    fn succinct_bins() {
        let s = SuccinctRoles {
            keys: RoleKeys {
                keyids: vec![],
                threshold: 1,
            },
            bit_length: 8,
            name_prefix: "bin".to_owned(),
        };
        let bin = s.bin_of("a.txt");
        assert!(s.is_bin(&bin), "{bin}");
        assert_eq!(bin.len(), "bin-".len() + 2);
        assert!(!s.is_bin("bin-100"));
    }
}
