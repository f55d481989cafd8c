//! The trusted metadata kept between runs, for rollback and freeze protection (TUF 5.2: "load
//! the trusted metadata"; 5.3.7, 5.4.5, 5.5.7, 5.6.6: "persist").
//!
//! One directory per repository, keyed by the SHA-256 of its metadata URL. Each saved state is a
//! complete generation directory (`gen-<n>/`) of the exact bytes received; the file `CURRENT`
//! names the one in force and is replaced atomically (write, fsync, rename), so a crash leaves
//! either the old state or the new one, never a mix or a truncated file.

use crate::digest::sha256_hex;
use crate::error::{Error, Result};
use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use url::Url;

/// The file that names the generation in force.
const CURRENT: &str = "CURRENT";
/// Where delegated roles live inside a generation.
const DELEGATED: &str = "delegated";

/// The saved metadata of one repository.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SavedState {
    /// SHA-512 of the trust anchor the saved chain was verified from.
    pub anchor_sha512: String,
    /// Top-level roles by name (`root`, `timestamp`, `snapshot`, `targets`): exact bytes.
    pub roles: BTreeMap<String, Vec<u8>>,
    /// Delegated roles by role name: exact bytes.
    pub delegated: BTreeMap<String, Vec<u8>>,
}

/// An exclusive hold on one repository's state, released when dropped.
#[derive(Debug)]
pub struct StateLock {
    _file: Option<fs::File>,
}

/// The state directory of one repository.
#[derive(Debug, Clone)]
pub struct StateStore {
    dir: PathBuf,
}

/// The default parent of all state directories: `$XDG_STATE_HOME/tufwatch/state`, or
/// `$HOME/.local/state/tufwatch/state`. Not the cache directory: the state is what protects
/// against rollback between runs, and cache cleaners delete caches.
pub fn default_state_root() -> Option<PathBuf> {
    super::user_dir("XDG_STATE_HOME", ".local/state", "state")
}

/// Where tufwatch kept its state before: `$XDG_CACHE_HOME/tufwatch/state`.
fn legacy_state_root() -> Option<PathBuf> {
    super::user_dir("XDG_CACHE_HOME", ".cache", "state")
}

/// Move the state kept under the cache directory by earlier versions to `root` (the default
/// state root), once: only when `root` does not exist yet. Returns where it came from when it
/// moved. A rename across file systems falls back to a copy, then the old tree is removed.
pub fn migrate_legacy_state(root: &Path) -> Result<Option<PathBuf>> {
    let Some(old) = legacy_state_root() else {
        return Ok(None);
    };
    if old == root || root.symlink_metadata().is_ok() || !old.is_dir() {
        return Ok(None);
    }
    let w = write_error;
    if let Some(parent) = root.parent() {
        fs::create_dir_all(parent).map_err(w(parent))?;
    }
    if fs::rename(&old, root).is_err() {
        // Another file system: copy into a staging directory beside `root`, then rename.
        let parent = root.parent().unwrap_or(Path::new("."));
        let staging = tempfile::Builder::new()
            .prefix(".state-move-")
            .tempdir_in(parent)
            .map_err(w(parent))?;
        copy_tree(&old, staging.path())?;
        fs::rename(staging.keep(), root).map_err(w(root))?;
        fs::remove_dir_all(&old).map_err(w(&old))?;
    }
    Ok(Some(old))
}

/// Copy the regular files and directories below `from` into `to` (which exists); anything else
/// (a symbolic link) is not state and is left behind.
fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    let read_error = |path: &Path| {
        let path = path.to_owned();
        move |source| Error::Read {
            what: "state",
            path,
            source,
        }
    };
    for entry in fs::read_dir(from).map_err(read_error(from))? {
        let entry = entry.map_err(read_error(from))?;
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type().map_err(read_error(&src))?;
        if kind.is_dir() {
            fs::create_dir(&dst).map_err(write_error(&dst))?;
            copy_tree(&src, &dst)?;
        } else if kind.is_file() {
            fs::copy(&src, &dst).map_err(write_error(&dst))?;
        }
    }
    Ok(())
}

/// The error of writing the state at `path`.
fn write_error(path: &Path) -> impl FnOnce(std::io::Error) -> Error {
    let path = path.to_owned();
    move |source| Error::Write {
        what: "state",
        path,
        source,
    }
}

impl StateStore {
    /// The state directory for the repository whose metadata is at `metadata_url`.
    pub fn for_repository(state_root: &Path, metadata_url: &Url) -> Self {
        StateStore {
            dir: state_root.join(&sha256_hex(metadata_url.as_str().as_bytes())[..32]),
        }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Try to hold the state of this repository for the whole run: exclusively for a run that
    /// may write it, shared for one that only reads it (an audit with `--at`, which then needs
    /// no write access). `None`: another run holds it. The hold goes with the returned value,
    /// and with the process if it dies.
    pub fn try_lock(&self, exclusive: bool) -> Result<Option<StateLock>> {
        let path = self.dir.join("LOCK");
        let w = |source| Error::Write {
            what: "state lock",
            path: path.clone(),
            source,
        };
        // Opening a FIFO would wait for a writer, past any deadline.
        if let Ok(m) = fs::symlink_metadata(&path) {
            if !m.is_file() {
                let what = crate::atomic::kind_of(&m.file_type());
                return Err(w(std::io::Error::other(format!(
                    "{what}, not the regular file a lock is"
                ))));
            }
        }
        let file = if exclusive {
            fs::create_dir_all(&self.dir).map_err(w)?;
            fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&path)
                .map_err(w)?
        } else {
            match fs::File::open(&path) {
                Ok(f) => f,
                // No state written yet: nothing to read, nothing to hold.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Ok(Some(StateLock { _file: None }))
                }
                Err(e) => return Err(w(e)),
            }
        };
        let attempt = if exclusive {
            file.try_lock()
        } else {
            file.try_lock_shared()
        };
        match attempt {
            Ok(()) => Ok(Some(StateLock { _file: Some(file) })),
            Err(fs::TryLockError::WouldBlock) => Ok(None),
            Err(fs::TryLockError::Error(e)) => Err(w(e)),
        }
    }

    /// The saved state, if a previous run saved one.
    pub fn load(&self) -> Result<Option<SavedState>> {
        let current = self.dir.join(CURRENT);
        let name = match read_text(&current) {
            Ok(s) => s.trim().to_owned(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(Error::Read {
                    what: "state",
                    path: current,
                    source,
                })
            }
        };
        if !is_generation_name(&name) {
            return Err(corrupt(&current, "does not name a generation directory"));
        }
        let gen = self.dir.join(&name);
        let mut state = SavedState::default();
        let anchor = gen.join("anchor.sha512");
        state.anchor_sha512 = match read_text(&anchor) {
            Ok(s) => s.trim().to_owned(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(source) => {
                return Err(Error::Read {
                    what: "state",
                    path: anchor,
                    source,
                })
            }
        };
        for role in ["root", "timestamp", "snapshot", "targets"] {
            let path = gen.join(format!("{role}.json"));
            match crate::source::read_at_most(&path, MAX_STATE_FILE) {
                Ok(bytes) => {
                    state.roles.insert(role.to_owned(), bytes);
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => {
                    return Err(Error::Read {
                        what: "state",
                        path,
                        source,
                    })
                }
            }
        }
        let delegated = gen.join(DELEGATED);
        if delegated.is_dir() {
            let entries = fs::read_dir(&delegated).map_err(|source| Error::Read {
                what: "state",
                path: delegated.clone(),
                source,
            })?;
            for entry in entries {
                let entry = entry.map_err(|source| Error::Read {
                    what: "state",
                    path: delegated.clone(),
                    source,
                })?;
                let file = entry.file_name().to_string_lossy().into_owned();
                let Some(encoded) = file.strip_suffix(".json") else {
                    continue;
                };
                let role = match encoded.strip_prefix(LONG_NAME) {
                    Some(_) => {
                        let path = delegated.join(format!("{encoded}.role"));
                        let name = crate::source::read_limited(&path, MAX_STATE_FILE, "state")?;
                        String::from_utf8(name)
                            .ok()
                            .filter(|name| delegated_stem(name) == encoded)
                            .ok_or_else(|| corrupt(&path, "is not the name of its role file"))?
                    }
                    None => decode_name(encoded)
                        .ok_or_else(|| corrupt(&entry.path(), "is not a role file name"))?,
                };
                let bytes = crate::source::read_at_most(&entry.path(), MAX_STATE_FILE).map_err(
                    |source| Error::Read {
                        what: "state",
                        path: entry.path(),
                        source,
                    },
                )?;
                state.delegated.insert(role, bytes);
            }
        }
        if !state.roles.contains_key("root") {
            return Err(corrupt(&gen, "has no root.json"));
        }
        Ok(Some(state))
    }

    /// Save `state` as the new trusted state: a new generation, then `CURRENT` switched to it
    /// atomically, then older generations removed.
    pub fn save(&self, state: &SavedState, metadata_url: &Url) -> Result<()> {
        let w = write_error;
        fs::create_dir_all(&self.dir).map_err(w(&self.dir))?;
        let next = self.next_generation()?;
        let staging = tempfile::Builder::new()
            .prefix(".staging-")
            .tempdir_in(&self.dir)
            .map_err(w(&self.dir))?;
        write_synced(
            &staging.path().join("source.txt"),
            metadata_url.as_str().as_bytes(),
        )?;
        write_synced(
            &staging.path().join("anchor.sha512"),
            format!("{}\n", state.anchor_sha512).as_bytes(),
        )?;
        for (role, bytes) in &state.roles {
            write_synced(&staging.path().join(format!("{role}.json")), bytes)?;
        }
        if !state.delegated.is_empty() {
            let d = staging.path().join(DELEGATED);
            fs::create_dir(&d).map_err(w(&d))?;
            for (role, bytes) in &state.delegated {
                let stem = delegated_stem(role);
                if stem.starts_with(LONG_NAME) {
                    write_synced(&d.join(format!("{stem}.role")), role.as_bytes())?;
                }
                write_synced(&d.join(format!("{stem}.json")), bytes)?;
            }
            sync_dir(&d)?;
        }
        sync_dir(staging.path())?;
        let gen_dir = self.dir.join(&next);
        let staged = staging.keep();
        fs::rename(&staged, &gen_dir).map_err(w(&gen_dir))?;
        sync_dir(&self.dir)?;
        // The switch: a new CURRENT replaces the old one in one rename.
        let mut tmp = tempfile::Builder::new()
            .prefix(".current-")
            .tempfile_in(&self.dir)
            .map_err(w(&self.dir))?;
        tmp.write_all(format!("{next}\n").as_bytes())
            .and_then(|()| tmp.as_file().sync_all())
            .map_err(w(tmp.path()))?;
        let current = self.dir.join(CURRENT);
        tmp.persist(&current).map_err(|e| Error::Write {
            what: "state",
            path: current.clone(),
            source: e.error,
        })?;
        sync_dir(&self.dir)?;
        self.remove_old_generations(&next);
        Ok(())
    }

    fn next_generation(&self) -> Result<String> {
        let mut highest = 0u64;
        let entries = fs::read_dir(&self.dir).map_err(|source| Error::Read {
            what: "state",
            path: self.dir.clone(),
            source,
        })?;
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(n) = name
                .strip_prefix("gen-")
                .and_then(|n| n.parse::<u64>().ok())
            {
                highest = highest.max(n);
            }
        }
        Ok(format!("gen-{:08}", highest + 1))
    }

    /// Best effort: a leftover generation or staging directory wastes space but harms nothing.
    fn remove_old_generations(&self, keep: &str) {
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            // The state is held (see `try_lock`): what another run left half-written is no one's.
            if name.starts_with(".current-") {
                let _ = fs::remove_file(entry.path());
            } else if (is_generation_name(&name) && name != keep) || name.starts_with(".staging-") {
                let _ = fs::remove_dir_all(entry.path());
            }
        }
    }
}

fn is_generation_name(name: &str) -> bool {
    name.strip_prefix("gen-")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

fn corrupt(path: &Path, message: &str) -> Error {
    Error::DamagedState {
        path: path.display().to_string(),
        message: message.to_owned(),
    }
}

/// Write a file and flush it to disk.
pub fn write_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut f = fs::File::create(path).map_err(|source| Error::Write {
        what: "state",
        path: path.to_owned(),
        source,
    })?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .map_err(|source| Error::Write {
            what: "state",
            path: path.to_owned(),
            source,
        })
}

/// Flush a directory's entries to disk.
fn sync_dir(path: &Path) -> Result<()> {
    crate::atomic::sync_dir(path).map_err(|source| Error::Write {
        what: "state",
        path: path.to_owned(),
        source,
    })
}

/// Largest file of a state read back (a role's metadata; tough's limits are far lower).
const MAX_STATE_FILE: u64 = 256 << 20;

/// A small text file of a state (`CURRENT`, `anchor.sha512`), read up to 4 KiB.
fn read_text(path: &Path) -> std::io::Result<String> {
    String::from_utf8(crate::source::read_at_most(path, 4096)?)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

/// The start of a delegated role's file name when its encoded name would be too long for a
/// file system (255 bytes): `~` and the SHA-256 of the name, which is kept beside it in
/// `<stem>.role` (`~` is never part of an encoded name: it is encoded as `%7E`).
const LONG_NAME: &str = "~";

/// The file name, without `.json`, a delegated role's metadata is kept under in a state.
fn delegated_stem(role: &str) -> String {
    let encoded = encode_name(role);
    if encoded.len() <= 200 {
        encoded
    } else {
        format!("{LONG_NAME}{}", crate::digest::sha256_hex(role.as_bytes()))
    }
}

/// A role name as a file name: every byte but `[A-Za-z0-9_.-]` as `%XX` (so `..` and `/` cannot
/// escape the directory).
pub fn encode_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || (b == b'.' && !out.is_empty()) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Which role a metadata URL holds, from its file name (`3.root.json`, `timestamp.json`, ...).
pub fn role_of_url(url: &url::Url) -> Option<String> {
    let file = url.path_segments()?.next_back()?;
    let stem = file.strip_suffix(".json")?;
    let name = match stem.split_once('.') {
        Some((v, rest)) if v.bytes().all(|b| b.is_ascii_digit()) => rest,
        _ => stem,
    };
    Some(decode_name(name).unwrap_or_else(|| name.to_owned()))
}

/// The inverse of [`encode_name`] (and of tough's file name encoding): `None` if malformed.
pub fn decode_name(encoded: &str) -> Option<String> {
    let mut bytes = Vec::with_capacity(encoded.len());
    let mut it = encoded.bytes();
    while let Some(b) = it.next() {
        if b == b'%' {
            let hi = (it.next()? as char).to_digit(16)?;
            let lo = (it.next()? as char).to_digit(16)?;
            bytes.push((hi * 16 + lo) as u8);
        } else {
            bytes.push(b);
        }
    }
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_stay_inside() {
        for name in ["targets", "a/b", "../x", ".hidden", "ünï", "%41"] {
            let e = encode_name(name);
            assert!(!e.contains('/') && !e.starts_with('.'), "{e}");
            assert_eq!(decode_name(&e).as_deref(), Some(name));
        }
    }

    #[test]
    fn save_then_load_then_replace() {
        let root = tempfile::tempdir().unwrap();
        let url = Url::parse("https://example.com/repo/").unwrap();
        let store = StateStore::for_repository(root.path(), &url);
        assert_eq!(store.load().unwrap(), None);
        let mut s = SavedState {
            anchor_sha512: "ab".repeat(64),
            ..SavedState::default()
        };
        s.roles.insert("root".into(), b"r1".to_vec());
        s.roles.insert("timestamp".into(), b"t1".to_vec());
        s.delegated.insert("../evil".into(), b"d1".to_vec());
        store.save(&s, &url).unwrap();
        assert_eq!(store.load().unwrap().as_ref(), Some(&s));
        s.roles.insert("timestamp".into(), b"t2".to_vec());
        s.delegated.clear();
        store.save(&s, &url).unwrap();
        assert_eq!(store.load().unwrap().as_ref(), Some(&s));
        let gens: Vec<_> = fs::read_dir(store.dir())
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("gen-"))
            .collect();
        assert_eq!(gens.len(), 1, "old generations are removed");
    }

    #[test]
    fn a_damaged_current_is_reported() {
        let root = tempfile::tempdir().unwrap();
        let url = Url::parse("https://example.com/").unwrap();
        let store = StateStore::for_repository(root.path(), &url);
        fs::create_dir_all(store.dir()).unwrap();
        fs::write(store.dir().join(CURRENT), "../../etc").unwrap();
        let e = store.load().unwrap_err().to_string();
        assert!(
            e.contains("CURRENT") && e.contains("without saved state"),
            "{e}"
        );
    }

    #[test]
    fn roles_from_urls() {
        let r = |s: &str| role_of_url(&url::Url::parse(s).unwrap());
        assert_eq!(r("https://x/m/3.root.json").as_deref(), Some("root"));
        assert_eq!(
            r("https://x/m/timestamp.json").as_deref(),
            Some("timestamp")
        );
        assert_eq!(
            r("https://x/m/12.snapshot.json").as_deref(),
            Some("snapshot")
        );
        assert_eq!(r("https://x/m/4.a%2Fb.json").as_deref(), Some("a/b"));
        assert_eq!(r("https://x/t/abc.img"), None);
    }
}
