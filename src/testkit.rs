//! Build and sign TUF repositories: the demo fixtures (`cargo run --example make-fixtures`), the
//! integration tests and the benchmarks use it. Verification never does.
//!
//! Metadata is built as JSON values so that tests can alter anything before signing (or after),
//! then signed over its canonical JSON form, as the TUF specification says.

pub mod kube_api;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair, RsaKeyPair, RSA_PSS_SHA256};
use base64::Engine;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// An error while building a repository (fixtures and tests only).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BuildError(pub String);

type Result<T> = std::result::Result<T, BuildError>;

fn err(what: impl std::fmt::Display) -> BuildError {
    BuildError(what.to_string())
}

/// A private key that can sign TUF metadata.
pub struct SigningKey {
    inner: Inner,
    pkcs8: Vec<u8>,
    public: Value,
    keyid: String,
}

enum Inner {
    Rsa(RsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("keyid", &self.keyid)
            .finish()
    }
}

fn pem(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

fn unpem(text: &str) -> Result<Vec<u8>> {
    let body: String = text
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect::<Vec<_>>()
        .concat();
    base64::engine::general_purpose::STANDARD
        .decode(body.trim())
        .map_err(|e| err(format!("bad PEM: {e}")))
}

/// The canonical JSON form (OLPC) of a value, as tough computes it: what TUF signatures cover.
/// (Signing uses tough's own formatter so that what is signed here is what tough accepts, even
/// where tufwatch is stricter.)
pub fn canonical(v: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    let mut ser =
        serde_json::Serializer::with_formatter(&mut out, olpc_cjson::CanonicalFormatter::new());
    // A `Value` built here holds no float, so it always has a canonical form.
    let _ = serde::Serialize::serialize(v, &mut ser);
    out
}

impl SigningKey {
    /// A new RSA-3072 key (rsassa-pss-sha256), as Bottlerocket uses.
    pub fn generate_rsa3072() -> Result<Self> {
        let kp = RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa3072).map_err(err)?;
        let der = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&kp).map_err(err)?;
        Self::from_pkcs8(der.as_ref())
    }

    /// A new ed25519 key (fast: for tests).
    pub fn generate_ed25519() -> Result<Self> {
        let doc = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).map_err(err)?;
        Self::from_pkcs8(doc.as_ref())
    }

    /// A key from PKCS#8 DER (RSA or ed25519).
    pub fn from_pkcs8(der: &[u8]) -> Result<Self> {
        let (inner, public) = if let Ok(kp) = RsaKeyPair::from_pkcs8(der) {
            let spki = AsDer::<aws_lc_rs::encoding::PublicKeyX509Der>::as_der(kp.public_key())
                .map_err(err)?;
            let public = json!({
                "keytype": "rsa",
                "keyval": {"public": pem("PUBLIC KEY", spki.as_ref())},
                "scheme": "rsassa-pss-sha256",
            });
            (Inner::Rsa(kp), public)
        } else {
            let kp = Ed25519KeyPair::from_pkcs8(der)
                .or_else(|_| Ed25519KeyPair::from_pkcs8_maybe_unchecked(der))
                .map_err(|e| err(format!("not an RSA or ed25519 PKCS#8 key: {e}")))?;
            let public = json!({
                "keytype": "ed25519",
                "keyval": {"public": hex::encode(kp.public_key().as_ref())},
                "scheme": "ed25519",
            });
            (Inner::Ed25519(kp), public)
        };
        let keyid = crate::digest::sha256_hex(&canonical(&public));
        Ok(SigningKey {
            inner,
            pkcs8: der.to_vec(),
            public,
            keyid,
        })
    }

    /// A key from a PKCS#8 PEM file's text.
    pub fn from_pem(text: &str) -> Result<Self> {
        Self::from_pkcs8(&unpem(text)?)
    }

    /// The private key as PKCS#8 PEM.
    pub fn to_pem(&self) -> String {
        pem("PRIVATE KEY", &self.pkcs8)
    }

    /// The same key again.
    pub fn try_clone(&self) -> Result<Self> {
        Self::from_pkcs8(&self.pkcs8)
    }

    /// The TUF key id: SHA-256 of the canonical JSON of the public key object.
    pub fn keyid(&self) -> &str {
        &self.keyid
    }

    /// The public key object of root.json's `keys`.
    pub fn public(&self) -> &Value {
        &self.public
    }

    /// Sign bytes.
    pub fn sign(&self, msg: &[u8]) -> Result<Vec<u8>> {
        match &self.inner {
            Inner::Rsa(kp) => {
                let mut sig = vec![0; kp.public_modulus_len()];
                kp.sign(&RSA_PSS_SHA256, &SystemRandom::new(), msg, &mut sig)
                    .map_err(err)?;
                Ok(sig)
            }
            Inner::Ed25519(kp) => Ok(kp.sign(msg).as_ref().to_vec()),
        }
    }
}

/// `{"signed": signed, "signatures": [...]}` signed by each of `keys`, in order.
pub fn sign_metadata(signed: &Value, keys: &[&SigningKey]) -> Result<Value> {
    let msg = canonical(signed);
    let mut signatures = Vec::new();
    for k in keys {
        signatures.push(json!({"keyid": k.keyid(), "sig": hex::encode(k.sign(&msg)?)}));
    }
    Ok(json!({"signed": signed, "signatures": signatures}))
}

/// Pretty JSON bytes of a metadata document.
pub fn to_bytes(doc: &Value) -> Vec<u8> {
    let mut v = serde_json::to_vec_pretty(doc).unwrap_or_default();
    v.push(b'\n');
    v
}

/// A time as TUF writes it: RFC 3339, whole seconds, `Z`.
pub fn tuf_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The keys and threshold of one role.
#[derive(Debug)]
pub struct RoleKeys {
    /// Keys authorized for the role.
    pub keys: Vec<SigningKey>,
    /// How many must sign.
    pub threshold: u64,
}

/// A file the repository serves as a target.
#[derive(Debug, Clone)]
pub struct TargetFile {
    /// Its bytes.
    pub bytes: Vec<u8>,
    /// `custom` metadata, if any.
    pub custom: Option<Value>,
}

/// A delegated targets role (one level below `targets`).
#[derive(Debug)]
pub struct Delegation {
    /// Role name.
    pub name: String,
    /// Its keys and threshold.
    pub keys: RoleKeys,
    /// Target path patterns it is trusted for.
    pub paths: Vec<String>,
    /// Whether the search stops here.
    pub terminating: bool,
    /// Its version.
    pub version: u64,
    /// Its expiry.
    pub expires: DateTime<Utc>,
    /// Its targets.
    pub targets: BTreeMap<String, TargetFile>,
}

/// A whole repository, Bottlerocket-shaped by default (consistent snapshots, versioned files).
#[derive(Debug)]
pub struct Repo {
    /// The current root's root keys and threshold.
    pub root_keys: RoleKeys,
    /// Timestamp keys.
    pub timestamp_keys: RoleKeys,
    /// Snapshot keys.
    pub snapshot_keys: RoleKeys,
    /// Targets keys.
    pub targets_keys: RoleKeys,
    /// Current root version.
    pub root_version: u64,
    /// Timestamp version.
    pub timestamp_version: u64,
    /// Snapshot version.
    pub snapshot_version: u64,
    /// Targets version.
    pub targets_version: u64,
    /// Root expiry.
    pub root_expires: DateTime<Utc>,
    /// Timestamp expiry.
    pub timestamp_expires: DateTime<Utc>,
    /// Snapshot expiry.
    pub snapshot_expires: DateTime<Utc>,
    /// Targets expiry.
    pub targets_expires: DateTime<Utc>,
    /// Whether files are versioned (`N.snapshot.json`, `<sha256>.<name>`).
    pub consistent_snapshot: bool,
    /// Targets of the top-level targets role.
    pub targets: BTreeMap<String, TargetFile>,
    /// Delegated roles.
    pub delegations: Vec<Delegation>,
    /// Whether targets list a sha512 besides the sha256.
    pub sha512: bool,
}

impl Repo {
    /// A repository with these keys (threshold 1 each, root as given), expiring as Bottlerocket's
    /// do relative to `now`: root a year, timestamp a week, snapshot and targets two weeks.
    pub fn new(
        root: RoleKeys,
        timestamp: SigningKey,
        snapshot: SigningKey,
        targets: SigningKey,
        now: DateTime<Utc>,
    ) -> Self {
        Repo {
            root_keys: root,
            timestamp_keys: RoleKeys {
                keys: vec![timestamp],
                threshold: 1,
            },
            snapshot_keys: RoleKeys {
                keys: vec![snapshot],
                threshold: 1,
            },
            targets_keys: RoleKeys {
                keys: vec![targets],
                threshold: 1,
            },
            root_version: 1,
            timestamp_version: 1,
            snapshot_version: 1,
            targets_version: 1,
            root_expires: now + Duration::days(365),
            timestamp_expires: now + Duration::days(7),
            snapshot_expires: now + Duration::days(14),
            targets_expires: now + Duration::days(14),
            consistent_snapshot: true,
            targets: BTreeMap::new(),
            delegations: Vec::new(),
            sha512: true,
        }
    }

    /// Add (or replace) a target.
    pub fn add_target(&mut self, name: &str, bytes: Vec<u8>) {
        self.targets.insert(
            name.to_owned(),
            TargetFile {
                bytes,
                custom: None,
            },
        );
    }

    fn role_entry(keys: &RoleKeys) -> Value {
        json!({
            "keyids": keys.keys.iter().map(|k| k.keyid().to_owned()).collect::<Vec<_>>(),
            "threshold": keys.threshold,
        })
    }

    /// The `signed` part of root.json for the current keys and version.
    pub fn root_signed(&self) -> Value {
        let mut keys = Map::new();
        for set in [
            &self.root_keys,
            &self.timestamp_keys,
            &self.snapshot_keys,
            &self.targets_keys,
        ] {
            for k in &set.keys {
                keys.insert(k.keyid().to_owned(), k.public().clone());
            }
        }
        json!({
            "_type": "root",
            "spec_version": "1.0.0",
            "consistent_snapshot": self.consistent_snapshot,
            "version": self.root_version,
            "expires": tuf_time(self.root_expires),
            "keys": keys,
            "roles": {
                "root": Self::role_entry(&self.root_keys),
                "timestamp": Self::role_entry(&self.timestamp_keys),
                "snapshot": Self::role_entry(&self.snapshot_keys),
                "targets": Self::role_entry(&self.targets_keys),
            }
        })
    }

    /// root.json signed by the current root keys (a threshold's worth, in order).
    pub fn root_doc(&self) -> Result<Value> {
        let signers: Vec<&SigningKey> = self
            .root_keys
            .keys
            .iter()
            .take(self.root_keys.threshold as usize)
            .collect();
        sign_metadata(&self.root_signed(), &signers)
    }

    fn target_entries(&self, targets: &BTreeMap<String, TargetFile>) -> Value {
        let mut map = Map::new();
        for (name, t) in targets {
            let mut hashes = Map::new();
            hashes.insert("sha256".into(), json!(crate::digest::sha256_hex(&t.bytes)));
            if self.sha512 {
                hashes.insert("sha512".into(), json!(crate::digest::sha512_hex(&t.bytes)));
            }
            let mut entry = json!({"length": t.bytes.len(), "hashes": hashes});
            if let Some(c) = &t.custom {
                entry["custom"] = c.clone();
            }
            map.insert(name.clone(), entry);
        }
        Value::Object(map)
    }

    /// The `signed` part of targets.json.
    pub fn targets_signed(&self) -> Value {
        let mut v = json!({
            "_type": "targets",
            "spec_version": "1.0.0",
            "version": self.targets_version,
            "expires": tuf_time(self.targets_expires),
            "targets": self.target_entries(&self.targets),
        });
        if !self.delegations.is_empty() {
            let mut keys = Map::new();
            let mut roles = Vec::new();
            for d in &self.delegations {
                for k in &d.keys.keys {
                    keys.insert(k.keyid().to_owned(), k.public().clone());
                }
                roles.push(json!({
                    "name": d.name,
                    "keyids": d.keys.keys.iter().map(|k| k.keyid().to_owned()).collect::<Vec<_>>(),
                    "threshold": d.keys.threshold,
                    "paths": d.paths,
                    "terminating": d.terminating,
                }));
            }
            v["delegations"] = json!({"keys": keys, "roles": roles});
        }
        v
    }

    /// The `signed` part of a delegated role.
    pub fn delegated_signed(&self, d: &Delegation) -> Value {
        json!({
            "_type": "targets",
            "spec_version": "1.0.0",
            "version": d.version,
            "expires": tuf_time(d.expires),
            "targets": self.target_entries(&d.targets),
        })
    }

    fn meta_entry(bytes: &[u8], version: u64) -> Value {
        json!({
            "version": version,
            "length": bytes.len(),
            "hashes": {"sha256": crate::digest::sha256_hex(bytes)},
        })
    }

    fn sign_role(&self, signed: &Value, keys: &RoleKeys) -> Result<Vec<u8>> {
        let signers: Vec<&SigningKey> = keys.keys.iter().take(keys.threshold as usize).collect();
        Ok(to_bytes(&sign_metadata(signed, &signers)?))
    }

    /// File name of a versioned metadata file.
    pub fn versioned(&self, version: u64, name: &str) -> String {
        if self.consistent_snapshot {
            format!("{version}.{name}")
        } else {
            name.to_owned()
        }
    }

    /// Sign everything and return `(file name, bytes)` for the metadata directory, root excluded
    /// (see [`Repo::root_doc`]): delegated roles, targets, snapshot, timestamp.
    pub fn sign_top(&self) -> Result<Vec<(String, Vec<u8>)>> {
        self.sign_top_with(|_, _| {})
    }

    /// As [`Repo::sign_top`], with `edit(role, signed)` called on each role's `signed` object
    /// before it is signed (a delegated role by its name): to publish what the model cannot say.
    pub fn sign_top_with(&self, edit: impl Fn(&str, &mut Value)) -> Result<Vec<(String, Vec<u8>)>> {
        let mut files = Vec::new();
        let mut snapshot_meta = Map::new();
        for d in &self.delegations {
            let mut signed = self.delegated_signed(d);
            edit(&d.name, &mut signed);
            let bytes = self.sign_role(&signed, &d.keys)?;
            let file = format!("{}.json", crate::engine::collect::role_file_name(&d.name));
            snapshot_meta.insert(
                format!("{}.json", d.name),
                Self::meta_entry(&bytes, d.version),
            );
            files.push((self.versioned(d.version, &file), bytes));
        }
        let mut targets_signed = self.targets_signed();
        edit("targets", &mut targets_signed);
        let targets = self.sign_role(&targets_signed, &self.targets_keys)?;
        snapshot_meta.insert(
            "targets.json".into(),
            Self::meta_entry(&targets, self.targets_version),
        );
        files.push((
            self.versioned(self.targets_version, "targets.json"),
            targets,
        ));
        let mut snapshot_signed = json!({
            "_type": "snapshot",
            "spec_version": "1.0.0",
            "version": self.snapshot_version,
            "expires": tuf_time(self.snapshot_expires),
            "meta": snapshot_meta,
        });
        edit("snapshot", &mut snapshot_signed);
        let snapshot = self.sign_role(&snapshot_signed, &self.snapshot_keys)?;
        let mut timestamp_signed = json!({
            "_type": "timestamp",
            "spec_version": "1.0.0",
            "version": self.timestamp_version,
            "expires": tuf_time(self.timestamp_expires),
            "meta": {"snapshot.json": Self::meta_entry(&snapshot, self.snapshot_version)},
        });
        files.push((
            self.versioned(self.snapshot_version, "snapshot.json"),
            snapshot,
        ));
        edit("timestamp", &mut timestamp_signed);
        let timestamp = self.sign_role(&timestamp_signed, &self.timestamp_keys)?;
        files.push(("timestamp.json".into(), timestamp));
        Ok(files)
    }

    /// Write the repository below `dir`: `metadata/` (with `N.root.json` for the current root
    /// and `root.json`) and `targets/`. Returns the path of the current root file.
    pub fn write(&self, dir: &Path) -> Result<PathBuf> {
        let meta = dir.join("metadata");
        let tdir = dir.join("targets");
        for d in [&meta, &tdir] {
            std::fs::create_dir_all(d).map_err(err)?;
        }
        let root = to_bytes(&self.root_doc()?);
        let root_path = meta.join(format!("{}.root.json", self.root_version));
        std::fs::write(&root_path, &root).map_err(err)?;
        for (name, bytes) in self.sign_top()? {
            std::fs::write(meta.join(name), bytes).map_err(err)?;
        }
        self.write_targets(&tdir)?;
        Ok(root_path)
    }

    /// Write the target files into `tdir` (as `<dir>/<sha256>.<name>` with consistent snapshots).
    pub fn write_targets(&self, tdir: &Path) -> Result<()> {
        let all = self
            .targets
            .iter()
            .chain(self.delegations.iter().flat_map(|d| d.targets.iter()));
        for (name, t) in all {
            let file = if self.consistent_snapshot {
                // TUF 5.7.3: the hash goes on the file name, `dir/<hash>.<name>`.
                let hash = crate::digest::sha256_hex(&t.bytes);
                match name.rsplit_once('/') {
                    Some((dir, file)) => format!("{dir}/{hash}.{file}"),
                    None => format!("{hash}.{name}"),
                }
            } else {
                name.clone()
            };
            let path = tdir.join(file);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(err)?;
            }
            std::fs::write(path, &t.bytes).map_err(err)?;
        }
        Ok(())
    }
}
