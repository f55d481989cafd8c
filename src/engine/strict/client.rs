//! A TUF client on the strict engine: the update cycle of the specification (5.1 to 5.7) with
//! its I/O. Trusted metadata is kept in a directory under plain names (`root.json`,
//! `timestamp.json`, `snapshot.json`, `targets.json`, `<role, percent-encoded>.json`) with
//! exactly the bytes received, each written through a temporary file renamed into place.

use super::metadata::TargetFile;
use super::trusted::{check_length_and_hashes, Refusal, Search, Trusted};
use crate::source::transport::{Fetcher, NetOptions};
use chrono::{DateTime, Utc};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use std::fmt;
use std::path::{Path, PathBuf};
use tough::TransportErrorKind;
use url::Url;

/// How much is fetched at most, and how far the client goes.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest root file.
    pub max_root_size: u64,
    /// Largest timestamp file.
    pub max_timestamp_size: u64,
    /// Largest snapshot file when the timestamp does not give its length.
    pub max_snapshot_size: u64,
    /// Largest targets file when the snapshot does not give its length.
    pub max_targets_size: u64,
    /// Most root versions walked in one update (5.3: a bound on rotations).
    pub max_root_rotations: u64,
    /// Most targets roles visited in one search for a target (5.6.7: a bound on delegations).
    pub max_delegations: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_root_size: 512_000,
            max_timestamp_size: 16_384,
            max_snapshot_size: 2_000_000,
            max_targets_size: 5_000_000,
            max_root_rotations: 32,
            max_delegations: 32,
        }
    }
}

/// Why an update or a download failed.
#[derive(Debug)]
pub enum ClientError {
    /// A metadata file or target was refused; which and why.
    Refused(String, Refusal),
    /// The server says it does not exist (at this URL).
    NotFound(String),
    /// It could not be fetched.
    Fetch(String, String),
    /// The local directories.
    Io(PathBuf, std::io::Error),
    /// The target is not listed by any role trusted for it.
    NoTarget(String),
    /// A bad argument.
    Argument(String),
    /// A target path whose URL would leave the target base URL (`../`, an absolute path).
    OutsideBase(String, Url),
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Refused(what, why) => write!(f, "{what}: refused: {why}"),
            ClientError::NotFound(url) => write!(f, "{url}: not found"),
            ClientError::Fetch(url, why) => write!(f, "{url}: {why}"),
            ClientError::Io(path, e) => write!(f, "{}: {e}", path.display()),
            ClientError::NoTarget(name) => {
                write!(f, "{name}: not listed by any role trusted for it")
            }
            ClientError::Argument(m) => f.write_str(m),
            ClientError::OutsideBase(name, url) => write!(
                f,
                "{name}: refused: its URL {url} is outside the target base URL, so it was not requested"
            ),
        }
    }
}

impl std::error::Error for ClientError {}

/// Characters Python's `urllib.parse.quote(s, safe="")` leaves alone: letters, digits, `_.-~`.
const QUOTE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'_')
    .remove(b'.')
    .remove(b'-')
    .remove(b'~');

/// A role name or target path as one file name: every other character percent-encoded.
pub fn quote(name: &str) -> String {
    utf8_percent_encode(name, QUOTE).to_string()
}

/// The client.
pub struct Client {
    /// Where trusted metadata is kept; `None` keeps nothing (a verification from the anchor).
    metadata_dir: Option<PathBuf>,
    metadata_url: Url,
    fetcher: Fetcher,
    limits: Limits,
    trusted: Trusted,
    /// Answers already received in this run, by URL, served before the network.
    shared: Option<Fetcher>,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ClientError + '_ {
    move |e| ClientError::Io(path.to_owned(), e)
}

/// A URL below `base` (which gets a final `/` if it lacks one).
fn join(base: &Url, rel: &str) -> Result<Url, ClientError> {
    let mut base = base.clone();
    if !base.path().ends_with('/') {
        let p = format!("{}/", base.path());
        base.set_path(&p);
    }
    base.join(rel)
        .map_err(|e| ClientError::Argument(format!("{base}{rel}: not a URL: {e}")))
}

/// Write `bytes` to `dir/name` through a temporary file in `dir`, synced and renamed: the file
/// is the old one or the new one, never a mix.
pub fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), ClientError> {
    let path = dir.join(name);
    crate::atomic::write(&path, bytes, None).map_err(io(&path))
}

/// `init`: make `metadata_dir` trust `root` (its exact bytes as `root.json`), without any
/// request. The root must be a root signed by its own keys.
pub fn init(metadata_dir: &Path, root: &[u8]) -> Result<(), ClientError> {
    Trusted::new(root, Utc::now()).map_err(|r| ClientError::Refused("root".to_owned(), r))?;
    std::fs::create_dir_all(metadata_dir).map_err(io(metadata_dir))?;
    write_atomic(metadata_dir, "root.json", root)
}

impl Client {
    /// A client of the repository at `metadata_url` whose trusted metadata is in
    /// `metadata_dir` (made by [`init`]); `now` is the update's start time (5.1).
    pub fn new(
        metadata_dir: &Path,
        metadata_url: Url,
        limits: Limits,
        now: DateTime<Utc>,
    ) -> Result<Self, ClientError> {
        // 5.2: the trusted root, from the directory.
        let path = metadata_dir.join("root.json");
        let root = crate::source::read_at_most(&path, limits.max_root_size).map_err(io(&path))?;
        let mut client = Self::in_memory(&root, metadata_url, limits, NetOptions::default(), now)
            .map_err(|e| match e {
            ClientError::Refused(_, r) => ClientError::Refused(path.display().to_string(), r),
            e => e,
        })?;
        client.metadata_dir = Some(metadata_dir.to_owned());
        Ok(client)
    }

    /// A client that starts from `root` and keeps nothing: each update walks from the anchor.
    /// One try per request (no retries), so requests come in the specification's order.
    pub fn in_memory(
        root: &[u8],
        metadata_url: Url,
        limits: Limits,
        net: NetOptions,
        now: DateTime<Utc>,
    ) -> Result<Self, ClientError> {
        let trusted =
            Trusted::new(root, now).map_err(|r| ClientError::Refused("root".to_owned(), r))?;
        let fetcher = Fetcher::new(NetOptions { tries: 1, ..net })
            .map_err(|e| ClientError::Argument(e.to_string()))?;
        Ok(Client {
            metadata_dir: None,
            metadata_url,
            fetcher,
            limits,
            trusted,
            shared: None,
        })
    }

    /// The same client, fetching through `shared`, a fetcher that downloads each metadata file
    /// once for the run (see [`Fetcher::recording_below`]): another engine running at the same
    /// time is served the same bytes (or the same "not found"), with one request per file.
    #[must_use]
    pub fn sharing(mut self, shared: Fetcher) -> Self {
        self.shared = Some(shared);
        self
    }

    /// What the client trusts now.
    pub fn trusted(&self) -> &Trusted {
        &self.trusted
    }

    /// The trusted metadata, once the update is over.
    pub fn into_trusted(self) -> Trusted {
        self.trusted
    }

    /// Fetch a file of at most `max` bytes; `None` when the server says there is none.
    async fn fetch(&self, url: &Url, max: u64) -> Result<Option<Vec<u8>>, ClientError> {
        if let Some(shared) = &self.shared {
            return match shared.fetch_recorded(url).await {
                Ok(Some(b)) if b.len() as u64 <= max => Ok(Some(b.to_vec())),
                Ok(Some(b)) => Err(ClientError::Fetch(
                    url.to_string(),
                    format!("{} bytes, more than the {max} allowed", b.len()),
                )),
                Ok(None) => Ok(None),
                Err(e) => Err(ClientError::Fetch(
                    url.to_string(),
                    crate::source::transport::describe_transport(&e),
                )),
            };
        }
        match self.fetcher.fetch_all(url, max).await {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == TransportErrorKind::FileNotFound => Ok(None),
            Err(e) => Err(ClientError::Fetch(
                url.to_string(),
                crate::source::transport::describe_transport(&e),
            )),
        }
    }

    async fn fetch_metadata(&self, name: &str, max: u64) -> Result<Vec<u8>, ClientError> {
        let url = join(&self.metadata_url, name)?;
        self.fetch(&url, max)
            .await?
            .ok_or_else(|| ClientError::NotFound(url.to_string()))
    }

    fn local(&self, name: &str) -> Option<Vec<u8>> {
        let largest = self.limits.max_targets_size.max(self.limits.max_root_size);
        crate::source::read_at_most(&self.metadata_dir.as_ref()?.join(name), largest).ok()
    }

    fn persist(&self, name: &str, bytes: &[u8]) -> Result<(), ClientError> {
        match &self.metadata_dir {
            Some(dir) => write_atomic(dir, name, bytes),
            None => Ok(()),
        }
    }

    /// Load every delegated role reachable from `targets`, depth first in delegation order, each
    /// once, at most `max_delegations` (succinct bins: those the snapshot lists). For a
    /// verification of the whole repository rather than a search for one target.
    pub async fn load_all_delegations(&mut self) -> Result<(), ClientError> {
        let mut stack: Vec<(String, String)> = Vec::new();
        let mut visited: Vec<String> = vec!["targets".to_owned()];
        let children = |t: &Trusted, role: &str| -> Vec<(String, String)> {
            let Some(d) = t
                .targets
                .get(role)
                .and_then(|m| m.signed.delegations.as_ref())
            else {
                return Vec::new();
            };
            let mut v: Vec<(String, String)> = d
                .roles
                .iter()
                .map(|r| (r.name.clone(), role.to_owned()))
                .collect();
            if let (Some(s), Some(sn)) = (&d.succinct, &t.snapshot) {
                for name in sn.signed.meta.keys() {
                    if let Some(bin) = name.strip_suffix(".json").filter(|b| s.is_bin(b)) {
                        v.push((bin.to_owned(), role.to_owned()));
                    }
                }
            }
            v.reverse();
            v
        };
        stack.extend(children(&self.trusted, "targets"));
        while let Some((role, delegator)) = stack.pop() {
            if visited.contains(&role) {
                continue;
            }
            if visited.len() > self.limits.max_delegations {
                return Err(ClientError::Argument(format!(
                    "more than {} delegated roles",
                    self.limits.max_delegations
                )));
            }
            self.load_targets(&role, &delegator).await?;
            visited.push(role.clone());
            stack.extend(children(&self.trusted, &role));
        }
        Ok(())
    }

    /// The update cycle, 5.3 to 5.6: root, timestamp, snapshot, top-level targets.
    pub async fn refresh(&mut self) -> Result<(), ClientError> {
        self.update_root().await?;
        self.update_timestamp().await?;
        self.update_snapshot().await?;
        self.load_targets("targets", "root").await?;
        Ok(())
    }

    /// 5.3: walk the root versions N+1, N+2, ... until the repository has no next one, each
    /// persisted as `root.json` once trusted; then 5.3.10, the final root must not be expired.
    async fn update_root(&mut self) -> Result<(), ClientError> {
        let first = self.trusted.root.signed.common.version;
        for n in first + 1..=first + self.limits.max_root_rotations {
            let name = format!("{n}.root.json");
            let url = join(&self.metadata_url, &name)?;
            // 5.3.2: no next version ends the walk.
            let Some(bytes) = self.fetch(&url, self.limits.max_root_size).await? else {
                break;
            };
            self.trusted
                .update_root(&bytes)
                .map_err(|r| ClientError::Refused(name.clone(), r))?;
            // 5.3.7: persist the new trusted root.
            self.persist("root.json", &bytes)?;
        }
        self.trusted
            .check_root_final()
            .map_err(|r| ClientError::Refused("root.json".to_owned(), r))
        // 5.3.11: when the timestamp or snapshot keys rotated, the stored timestamp and
        // snapshot no longer verify with the new root's keys: loading them below fails, so they
        // neither hold back nor count, and the new files replace them.
    }

    /// 5.4: the timestamp. The stored one is loaded first, for the rollback checks; a new one
    /// of the same version is dropped and the stored one kept (5.4.3.1).
    async fn update_timestamp(&mut self) -> Result<(), ClientError> {
        if let Some(local) = self.local("timestamp.json") {
            let _ = self.trusted.update_timestamp(&local);
        }
        let bytes = self
            .fetch_metadata("timestamp.json", self.limits.max_timestamp_size)
            .await?;
        match self.trusted.update_timestamp(&bytes) {
            Ok(()) => self.persist("timestamp.json", &bytes),
            Err(Refusal::SameTimestamp) => self
                .trusted
                .check_timestamp_final()
                .map_err(|r| ClientError::Refused("timestamp.json".to_owned(), r)),
            Err(r) => Err(ClientError::Refused("timestamp.json".to_owned(), r)),
        }
    }

    /// 5.5: the snapshot the timestamp names; the stored one serves when it is that one.
    async fn update_snapshot(&mut self) -> Result<(), ClientError> {
        if let Some(local) = self.local("snapshot.json") {
            if self.trusted.update_snapshot(&local, true).is_ok() {
                return Ok(());
            }
        }
        let meta = self
            .trusted
            .timestamp
            .as_ref()
            .map(|t| t.signed.snapshot.clone())
            .ok_or_else(|| ClientError::Argument("no trusted timestamp".to_owned()))?;
        let name = if self.trusted.root.signed.consistent_snapshot {
            format!("{}.snapshot.json", meta.version)
        } else {
            "snapshot.json".to_owned()
        };
        let max = meta.length.unwrap_or(self.limits.max_snapshot_size);
        let bytes = self.fetch_metadata(&name, max).await?;
        self.trusted
            .update_snapshot(&bytes, false)
            .map_err(|r| ClientError::Refused(name, r))?;
        self.persist("snapshot.json", &bytes)
    }

    /// 5.6: the targets role `role` delegated by `delegator` (`root` for `targets`): the stored
    /// copy when it is the one the snapshot lists, else fetched and persisted.
    async fn load_targets(&mut self, role: &str, delegator: &str) -> Result<(), ClientError> {
        if self.trusted.targets.contains_key(role) {
            return self
                .trusted
                .check_delegated_again(role, delegator)
                .map_err(|r| ClientError::Refused(format!("{}.json", quote(role)), r));
        }
        let file = format!("{}.json", quote(role));
        if let Some(local) = self.local(&file) {
            if self.trusted.update_targets(&local, role, delegator).is_ok() {
                return Ok(());
            }
        }
        let meta = self
            .trusted
            .snapshot
            .as_ref()
            .and_then(|s| s.signed.meta.get(&format!("{role}.json")).cloned())
            .ok_or_else(|| {
                ClientError::Refused(
                    file.clone(),
                    Refusal::Sequence(format!("the snapshot does not list {role}.json")),
                )
            })?;
        let name = if self.trusted.root.signed.consistent_snapshot {
            format!("{}.{}", meta.version, file)
        } else {
            file.clone()
        };
        let max = meta.length.unwrap_or(self.limits.max_targets_size);
        let bytes = self.fetch_metadata(&name, max).await?;
        self.trusted
            .update_targets(&bytes, role, delegator)
            .map_err(|r| ClientError::Refused(name, r))?;
        self.persist(&file, &bytes)
    }

    /// 5.6.7 (5.7.1 in later versions): find the target `path`, searching the delegations in
    /// pre-order depth first from `targets`, visiting each role once and at most
    /// `max_delegations` roles, and stopping at a terminating role that is trusted for it.
    pub async fn find_target(&mut self, path: &str) -> Result<TargetFile, ClientError> {
        let mut search = Search::new(path, self.limits.max_delegations);
        while let Some((role, delegator)) = search.next_role() {
            self.load_targets(&role, &delegator).await?;
            let trusted = self.trusted.targets.get(&role).map(|m| &m.signed);
            if let Some(t) = search.visit(&role, trusted) {
                return Ok(t.clone());
            }
        }
        Err(ClientError::NoTarget(path.to_owned()))
    }

    /// 5.7: download the target `path` into `target_dir` (as its percent-encoded name) unless
    /// a file with its length and hashes is already there; with consistent snapshots, from
    /// `dir/<hash>.<name>`. The file is written only once its length and every hash match.
    pub async fn download(
        &mut self,
        path: &str,
        target_dir: &Path,
        target_base_url: &Url,
    ) -> Result<PathBuf, ClientError> {
        let target = self.find_target(path).await?;
        let local = target_dir.join(quote(path));
        let hashes = || target.hashes.iter().map(|(a, h)| (a.as_str(), h.as_str()));
        if let Ok(bytes) = crate::source::read_at_most(&local, target.length) {
            if check_length_and_hashes(&bytes, Some(target.length), hashes(), path).is_ok() {
                return Ok(local);
            }
        }
        let remote = if self.trusted.root.signed.consistent_snapshot {
            target.consistent_path(path)
        } else {
            path.to_owned()
        };
        let url = join(target_base_url, &remote)?;
        // A target path is a path below the base (4.5 "TARGETPATH"): `../x`, `/x` or
        // `//host/x` would make this client request a file the repository's targets are not.
        if !url
            .as_str()
            .starts_with(join(target_base_url, "")?.as_str())
        {
            return Err(ClientError::OutsideBase(path.to_owned(), url));
        }
        let bytes = self
            .fetch(&url, target.length)
            .await?
            .ok_or_else(|| ClientError::NotFound(url.to_string()))?;
        check_length_and_hashes(&bytes, Some(target.length), hashes(), path)
            .map_err(|r| ClientError::Refused(path.to_owned(), r))?;
        std::fs::create_dir_all(target_dir).map_err(io(target_dir))?;
        write_atomic(target_dir, &quote(path), &bytes)?;
        Ok(local)
    }
}

/// Every root of the chain that starts at `anchor` in the repository at `metadata_url`: the
/// anchor, then each `N+1.root.json` the repository serves, each trusted only once signed by a
/// threshold of the previous root's root keys and of its own, with version exactly N+1 (TUF
/// 5.3.3 to 5.3.6), until the repository has none (5.3.2; 403 and 404 both mean none, as
/// python-tuf reads them). Expiry is not judged: the chain says which roots are genuine, not
/// whether the newest is still valid (5.3.10 belongs to an update).
pub async fn root_chain(
    anchor: &[u8],
    metadata_url: &Url,
    fetcher: &Fetcher,
    max_root_size: u64,
    max_rotations: u64,
) -> Result<Vec<Vec<u8>>, ClientError> {
    let mut trusted = Trusted::new(anchor, Utc::now())
        .map_err(|r| ClientError::Refused("anchor".to_owned(), r))?;
    let mut chain = vec![anchor.to_vec()];
    let first = trusted.root.signed.common.version;
    for n in first.saturating_add(1)..=first.saturating_add(max_rotations) {
        let name = format!("{n}.root.json");
        let url = join(metadata_url, &name)?;
        let bytes = match fetcher.fetch_all(&url, max_root_size).await {
            Ok(b) => b,
            Err(e) if e.kind() == TransportErrorKind::FileNotFound => break,
            Err(e) => {
                return Err(ClientError::Fetch(
                    url.to_string(),
                    crate::source::transport::describe_transport(&e),
                ))
            }
        };
        trusted
            .update_root(&bytes)
            .map_err(|r| ClientError::Refused(url.to_string(), r))?;
        chain.push(bytes);
    }
    Ok(chain)
}
