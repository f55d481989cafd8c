//! Download targets and check them (TUF 5.7.3: "download the target ... up to the number of
//! bytes specified in the targets metadata, and verify that its hashes match").
//!
//! The URL is the specification's (5.7.3): `<dir>/<hash>.<name>` below the targets URL with
//! consistent snapshots, `<name>` without, never outside it. (tough, so a Bottlerocket host,
//! puts the hash in front of the whole path; `engine::compat` says so where it matters.) tufwatch fetches it
//! through its own transport and checks it in one pass, more strictly than tough: the exact signed
//! length (tough checks a maximum) and every listed hash of the SHA-2 family (tough checks the
//! SHA-256). Targets are fetched a few at a time, so downloading and hashing use every core. With
//! an output directory, a target is written to a temporary file beside its destination and renamed
//! into place only after every check passed: never a partially verified file, never outside the
//! directory.

use super::strict::trusted::Trusted;
use crate::digest::MultiHasher;
use crate::error::{Error, Result};
use crate::report::{Code, Finding, TargetReport};
use crate::source::transport::Fetcher;
use futures::{StreamExt, TryStreamExt};
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};
use tough::schema::Target;
use tough::{Repository, TargetName, Transport};
use url::Url;

/// Where a verified repository's targets are fetched from: the transport the metadata came
/// through and the targets URL, as tough holds it.
#[derive(Clone, Debug)]
pub struct TargetSource {
    fetcher: Fetcher,
    base: Url,
    read: ReadOnce,
}

/// Targets read into memory and checked ([`read_verified`]), each once for a whole run however
/// many repositories list it: by URL, length and hashes, so only a target that is the same
/// file under the same signed length and hashes is shared (with consistent snapshots its
/// name holds its hash: Bottlerocket's variants share one targets URL).
#[derive(Clone, Debug, Default)]
pub struct ReadOnce(Arc<Mutex<HashMap<String, Arc<tokio::sync::OnceCell<ReadResult>>>>>);

type ReadResult = std::result::Result<(Vec<u8>, TargetReport), Finding>;

/// Why a target's file has no URL below the targets URL.
#[derive(Debug, thiserror::Error)]
pub enum TargetUrlError {
    /// The name does not join to a URL.
    #[error("{file:?} below {base}: not a URL: {why}")]
    NotUrl {
        /// The target's file name.
        file: String,
        /// The targets URL.
        base: Url,
        /// Why.
        why: url::ParseError,
    },
    /// The URL would leave the targets URL (`../`, an absolute URL): refused, as tough does.
    #[error("target file {file:?} escapes the targets URL {base}")]
    Escapes {
        /// The target's file name.
        file: String,
        /// The targets URL.
        base: Url,
    },
}

impl TargetSource {
    /// Targets below `targets_url` (a final `/` is added, as tough does), through `fetcher`,
    /// sharing what is read into memory through `read`.
    pub fn new(fetcher: Fetcher, targets_url: &Url, read: ReadOnce) -> Self {
        let mut base = targets_url.clone();
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        TargetSource {
            fetcher,
            base,
            read,
        }
    }

    /// The URL of the file `file` below the targets URL; one outside it is refused, as tough
    /// does.
    fn url(&self, file: &str) -> std::result::Result<Url, TargetUrlError> {
        let url = self.base.join(file).map_err(|e| TargetUrlError::NotUrl {
            file: file.to_owned(),
            base: self.base.clone(),
            why: e,
        })?;
        if !url.as_str().starts_with(self.base.as_str()) {
            return Err(TargetUrlError::Escapes {
                file: file.to_owned(),
                base: self.base.clone(),
            });
        }
        Ok(url)
    }
}

/// The targets a verified repository lists, as the engine that decided verified them: where
/// each is found (the search through delegations, 5.6.7) and what it must be.
pub enum Listing {
    /// tough's repository, what a Bottlerocket host reads (`--engine tough` and `both`).
    Tough(Box<Repository>),
    /// The strict engine's trusted targets roles (`--engine strict`).
    Strict(Box<Trusted>),
}

/// A target as its targets role lists it.
#[derive(Debug, Clone)]
pub struct Listed {
    /// Its signed length.
    pub length: u64,
    /// Algorithm -> lower-case hex digest, as signed.
    pub hashes: BTreeMap<String, String>,
    /// Its file below the targets URL (5.7.3).
    file: String,
}

impl Listing {
    /// Every target some verified role lists, sorted.
    pub fn names(&self) -> Vec<String> {
        match self {
            Listing::Tough(repo) => {
                let mut names: Vec<String> = repo
                    .targets()
                    .signed
                    .targets_iter()
                    .map(|(n, _)| n.raw().to_owned())
                    .collect();
                names.sort();
                names.dedup();
                names
            }
            Listing::Strict(t) => t.target_paths(),
        }
    }

    /// The target `name` as the role trusted for it lists it, found the way the deciding engine
    /// finds it; `None` when no trusted role lists it.
    pub fn find(&self, name: &str) -> Option<Listed> {
        match self {
            // tough's own search (what a host downloads by), and the specification's file
            // name: with consistent snapshots, `<dir>/<sha256>.<name>` (5.7.3). tough itself
            // asks for `<sha256>.<dir>/<name>`; engine::compat names that as a limitation.
            Listing::Tough(repo) => {
                let tn = TargetName::new(name).ok()?;
                let target = repo.targets().signed.find_target(&tn, false).ok()?;
                let resolved = tn.resolved();
                let file = if repo.root().signed.consistent_snapshot {
                    let sha256 = hex::encode(&target.hashes.sha256);
                    match resolved.rsplit_once('/') {
                        Some((dir, file)) => format!("{dir}/{sha256}.{file}"),
                        None => format!("{sha256}.{resolved}"),
                    }
                } else {
                    resolved.to_owned()
                };
                Some(Listed {
                    length: target.length,
                    hashes: signed_hashes(target),
                    file,
                })
            }
            // The specification's search, and its file name: `dir/<hash>.<name>`.
            Listing::Strict(t) => {
                let target = t.find_target(name, super::strict::verify::MAX_ROLES)?;
                let file = if t.root.signed.consistent_snapshot {
                    target.consistent_path(name)
                } else {
                    name.to_owned()
                };
                Some(Listed {
                    length: target.length,
                    hashes: target.hashes.iter().cloned().collect(),
                    file,
                })
            }
        }
    }
}

/// How many targets are fetched at once: one per core, and at least 4, since a download also
/// waits on the network.
fn parallel() -> usize {
    std::thread::available_parallelism()
        .map_or(4, |n| n.get())
        .clamp(4, 16)
}

/// Which targets to download.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum TargetSelection {
    /// None: metadata only.
    #[default]
    None,
    /// These names.
    Named(Vec<String>),
    /// Every target the metadata lists.
    All,
}

/// Why a target name cannot be written below an output directory, if it cannot.
pub fn unsafe_name(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        return Some("it is empty");
    }
    if name.contains('\0') {
        return Some("it contains a NUL byte");
    }
    if name.contains('\\') {
        return Some("it contains a backslash");
    }
    if name.starts_with('/') {
        return Some("it is an absolute path");
    }
    for part in name.split('/') {
        match part {
            "" => return Some("it has an empty path component"),
            "." | ".." => return Some("it has a '.' or '..' path component"),
            _ => {}
        }
    }
    let p = Path::new(name);
    if p.components().any(|c| !matches!(c, Component::Normal(_))) {
        return Some("it is not a plain relative path");
    }
    None
}

/// The longest file name (one part of a path) file systems hold.
const NAME_MAX: usize = 255;

/// Download, check and (with `out`) write each selected target, a few at a time; the reports
/// come in name order.
pub async fn fetch_targets(
    listing: &Listing,
    source: &TargetSource,
    selection: &TargetSelection,
    out: Option<&Path>,
    progress: bool,
    deadline: tokio::time::Instant,
) -> Result<(Vec<TargetReport>, Vec<Finding>)> {
    let mut names: Vec<String> = match selection {
        TargetSelection::None => return Ok((Vec::new(), Vec::new())),
        TargetSelection::All => listing.names(),
        TargetSelection::Named(n) => n.clone(),
    };
    names.sort();
    names.dedup();
    let out = match out {
        Some(dir) => Some(prepare_out(dir)?),
        None => None,
    };
    // The directories these targets would need that do not exist yet: those left empty by
    // targets that failed are removed at the end.
    let missing_dirs = out
        .as_deref()
        .map(|out| missing_dirs(out, &names))
        .unwrap_or_default();
    if let Some(out) = &out {
        sweep_partials(out, &names);
    }
    let batch = Batch {
        listing,
        source,
        out: out.as_deref(),
        progress,
        deadline,
        wanted: names.iter().cloned().collect(),
        bars: indicatif::MultiProgress::new(),
    };
    // The first fault of this machine stops the others at once (their partial files go with
    // them): the run stops anyway.
    let results: Result<Vec<(Option<TargetReport>, Option<Finding>)>> =
        futures::stream::iter(names.into_iter().map(|name| batch.fetch(name)))
            .buffered(parallel())
            .try_collect()
            .await;
    for dir in missing_dirs.iter().rev() {
        let _ = std::fs::remove_dir(dir); // only if empty
    }
    let (reports, findings): (Vec<_>, Vec<_>) = results?.into_iter().unzip();
    Ok((
        reports.into_iter().flatten().collect(),
        findings.into_iter().flatten().collect(),
    ))
}

/// Remove what a killed run left half-written where these targets go (see `atomic::sweep`),
/// in directories that are really below `out`.
fn sweep_partials(out: &Path, names: &[String]) {
    let dirs: std::collections::BTreeSet<PathBuf> = names
        .iter()
        .filter(|n| unsafe_name(n).is_none())
        .filter_map(|n| safe_parent(out, n, false).ok())
        .collect();
    for dir in dirs {
        crate::atomic::sweep(&dir);
    }
}

/// What every target of one [`fetch_targets`] is fetched with.
struct Batch<'a> {
    listing: &'a Listing,
    source: &'a TargetSource,
    /// The output directory, made and canonical.
    out: Option<&'a Path>,
    progress: bool,
    deadline: tokio::time::Instant,
    /// Every target name selected.
    wanted: std::collections::HashSet<String>,
    bars: indicatif::MultiProgress,
}

impl Batch<'_> {
    /// Check, download and (with `out`) write the target `name`: its report when it was
    /// downloaded, and the finding against it, if any.
    async fn fetch(&self, name: String) -> Result<(Option<TargetReport>, Option<Finding>)> {
        if let Some(f) = self.refusal(&name) {
            return Ok((None, Some(f)));
        }
        // The entry the deciding engine downloads by: the search through delegations (5.7).
        let Some(target) = self.listing.find(&name) else {
            let f = Finding::error(
                Code::TargetMissing,
                format!("target {name:?} is not listed by the signed targets metadata"),
            )
            .target(&name);
            return Ok((None, Some(f)));
        };
        let bar = progress_bar(self.progress, &name, target.length).map(|b| self.bars.add(b));
        let fetch = fetch_one(self.source, &name, &target, self.out, bar, false);
        match tokio::time::timeout_at(self.deadline, fetch).await {
            Ok(result) => result.map(|(report, finding, _)| (Some(report), finding)),
            Err(_elapsed) => {
                let f = Finding::error(
                    Code::Unreachable,
                    format!("target {name:?} did not finish downloading within the deadline (--deadline)"),
                )
                .target(&name);
                Ok((None, Some(f)))
            }
        }
    }

    /// Why the target `name` is refused before it is even looked up, if it is: it could not be
    /// written below `out`, or could escape it.
    fn refusal(&self, name: &str) -> Option<Finding> {
        if let Some(file) = self.out.and_then(|_| self.file_in_the_way(name)) {
            let f = Finding::error(
                Code::PathConflict,
                format!("cannot write target {name:?}: {file:?} is another target's file, not a directory"),
            )
            .target(name);
            return Some(f);
        }
        // A name no file system holds is the repository's (a host could not keep that
        // target either), not a fault of this machine.
        if self.out.is_some() && name.split('/').any(|part| part.len() > NAME_MAX) {
            let f = Finding::error(
                Code::UnsafeTargetName,
                format!("cannot write target {name:?} under --out: a part of its name is longer than the {NAME_MAX} bytes a file name may have"),
            )
            .target(name);
            return Some(f);
        }
        if let Some(why) = unsafe_name(name) {
            let f = Finding::error(
                Code::UnsafeTargetName,
                format!("refusing target {name:?}: {why}, so it could escape the output directory"),
            )
            .target(name);
            return Some(f);
        }
        None
    }

    /// The selected target whose file would be a directory of `name`, if one is.
    fn file_in_the_way(&self, name: &str) -> Option<String> {
        // A name that is also a directory of another (`a` and `a/b`) cannot be both; the first
        // in name order is written, as if one at a time, whatever order the downloads finish in.
        let mut prefix = name;
        while let Some((parent, _)) = prefix.rsplit_once('/') {
            if self.wanted.contains(parent) {
                return Some(parent.to_owned());
            }
            prefix = parent;
        }
        None
    }
}

/// The directories below `out` that the targets `names` go into and that do not exist, in an
/// order where a directory comes before those inside it.
fn missing_dirs(out: &Path, names: &[String]) -> Vec<PathBuf> {
    let mut dirs = std::collections::BTreeSet::new();
    for name in names.iter().filter(|n| unsafe_name(n).is_none()) {
        let mut dir = out.to_owned();
        for part in Path::new(name)
            .parent()
            .into_iter()
            .flat_map(Path::components)
        {
            dir.push(part);
            match std::fs::symlink_metadata(&dir) {
                Ok(m) if m.is_dir() => {}
                // Nothing is written past a file or a link (see `safe_parent`).
                Ok(_) => break,
                Err(_) => {
                    dirs.insert(dir.clone());
                }
            }
        }
    }
    // A BTreeSet of paths orders a directory before what is inside it.
    dirs.into_iter().collect()
}

/// Download one target into memory and return its bytes only once tough and tufwatch have checked
/// its length and every hash (TUF 5.7.3); a target signed as longer than `max` is refused.
pub async fn read_verified(
    listing: &Listing,
    source: &TargetSource,
    name: &str,
    max: u64,
) -> std::result::Result<(Vec<u8>, TargetReport), Finding> {
    let target = listing.find(name).ok_or_else(|| {
        Finding::error(
            Code::TargetMissing,
            format!("target {name:?} is not listed by the signed targets metadata"),
        )
        .target(name)
    })?;
    if target.length > max {
        return Err(Finding::error(
            Code::LengthExceeded,
            format!("target {name:?} is signed as {} bytes, more than the {max} tufwatch reads into memory", target.length),
        )
        .target(name));
    }
    let Ok(url) = source.url(&target.file) else {
        return read_once(source, name, &target).await;
    };
    // The same file, signed the same way, is the same check: once per run.
    let key = format!("{url} {} {:?}", target.length, target.hashes);
    let cell = source
        .read
        .0
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .entry(key)
        .or_default()
        .clone();
    let (bytes, mut report) = cell
        .get_or_init(|| read_once(source, name, &target))
        .await
        .clone()
        .map_err(|mut f| {
            f.target = Some(name.to_owned());
            f
        })?;
    report.name = name.to_owned();
    Ok((bytes, report))
}

/// Download one listed target into memory and check it.
async fn read_once(source: &TargetSource, name: &str, target: &Listed) -> ReadResult {
    let (report, finding, bytes) = fetch_one(source, name, target, None, None, true)
        .await
        .map_err(|e| Finding::error(Code::Rejected, e.to_string()).target(name))?;
    match finding {
        Some(f) => Err(f),
        None => Ok((bytes, report)),
    }
}

fn prepare_out(dir: &Path) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).map_err(|source| Error::Write {
        what: "output directory",
        path: dir.to_owned(),
        source,
    })?;
    dir.canonicalize().map_err(|source| Error::Write {
        what: "output directory",
        path: dir.to_owned(),
        source,
    })
}

/// A target as the verified targets metadata lists it (length and hashes), without downloading
/// it: `verified` is false. `None` when it is not listed.
pub fn listed(listing: &Listing, name: &str) -> Option<TargetReport> {
    let target = listing.find(name)?;
    Some(TargetReport {
        name: name.to_owned(),
        length: target.length,
        hashes: target.hashes,
        verified: false,
        written_to: None,
    })
}

fn signed_hashes(target: &Target) -> BTreeMap<String, String> {
    let mut hashes = BTreeMap::new();
    hashes.insert("sha256".to_owned(), hex::encode(&target.hashes.sha256));
    for (alg, value) in &target.hashes._extra {
        if let Some(v) = value.as_str() {
            hashes.insert(alg.clone(), v.to_ascii_lowercase());
        }
    }
    hashes
}

/// What the worker that checks and writes a target's bytes gives back.
type Checked = Result<(MultiHasher, Option<Sink>, Vec<u8>)>;

/// Download one target and check it; with `out`, write it there once checked; with
/// `keep_bytes`, return its bytes too. The download runs on the async runtime; hashing and
/// writing run on a blocking thread of their own, fed through a short queue, so that several
/// targets are hashed on several cores and memory stays flat whatever their size.
#[allow(clippy::too_many_arguments)]
async fn fetch_one(
    source: &TargetSource,
    name: &str,
    target: &Listed,
    out: Option<&Path>,
    bar: Option<indicatif::ProgressBar>,
    keep_bytes: bool,
) -> Result<(TargetReport, Option<Finding>, Vec<u8>)> {
    let mut report = TargetReport {
        name: name.to_owned(),
        length: target.length,
        hashes: target.hashes.clone(),
        verified: false,
        written_to: None,
    };
    let url = match source.url(&target.file) {
        Ok(u) => u,
        Err(why) => {
            let f = Finding::error(Code::UnsafeTargetName, why.to_string()).target(name);
            return Ok((report, Some(f), Vec::new()));
        }
    };
    // Where the file goes: below `out`, checked again after the directories exist, since a
    // symbolic link inside `out` could point elsewhere.
    let sink = out.map(|dir| Sink::create(dir, name)).transpose()?;
    let mut stream = match source.fetcher.fetch(url.clone()).await {
        Ok(s) => s,
        Err(e) => return Ok((report, Some(transport_failed(&url, name, &e)), Vec::new())),
    };
    let hasher = match hasher_for(name, target) {
        Ok(h) => h,
        Err(f) => return Ok((report, Some(f), Vec::new())),
    };
    let (queue, chunks) = tokio::sync::mpsc::channel::<bytes::Bytes>(16);
    // The worker is never sent more than the signed length: `feed` stops first.
    let worker = spawn_worker(chunks, hasher, sink, bar, keep_bytes);
    let failed = feed(&mut stream, queue, &url, name, target.length).await;
    let checked = worker.await.unwrap_or_else(|e| Err(stopped(e, name)));
    // The repository's fault first: a write that failed because the download stopped early
    // says nothing more.
    if failed.is_some() {
        return Ok((report, failed, Vec::new()));
    }
    let (hasher, sink, kept) = checked?;
    if let Some(f) = mismatch(name, target, hasher) {
        return Ok((report, Some(f), Vec::new()));
    }
    report.verified = true;
    if let Some(s) = sink {
        let path = commit_off_runtime(s, name).await?;
        report.written_to = Some(path.display().to_string());
    }
    Ok((report, None, kept))
}

/// A hasher for the target `name`, or the finding that it lists no hash tufwatch can check.
fn hasher_for(name: &str, target: &Listed) -> std::result::Result<MultiHasher, Finding> {
    // Every listed hash tufwatch knows, in one pass. Names outside the SHA-2 family are not
    // checked; the SHA-256, which tough's schema requires of every target, always is.
    let (hasher, unknown) = MultiHasher::new(target.hashes.keys().map(String::as_str));
    if hasher.is_empty() {
        // Only the strict engine lists such a target (tough requires a SHA-256): nothing here
        // could tell its bytes from any others.
        let why = format!(
            "target {name:?} lists no hash tufwatch can check (only {})",
            unknown.join(", ")
        );
        return Err(Finding::error(Code::Rejected, why).target(name));
    }
    Ok(hasher)
}

/// Rename the checked file of target `name` into place, on a blocking thread.
async fn commit_off_runtime(sink: Sink, name: &str) -> Result<PathBuf> {
    // Syncing to disk is blocking work too.
    tokio::task::spawn_blocking(move || sink.commit())
        .await
        .unwrap_or_else(|e| Err(stopped(e, name)))
}

/// The finding against target `name` for a transport error while fetching it from `url`.
fn transport_failed(url: &Url, name: &str, e: &tough::TransportError) -> Finding {
    let mut f = super::findings::from_transport(url, e);
    f.target = Some(name.to_owned());
    f
}

/// Hash, keep (with `keep_bytes`) and write each chunk that arrives on `chunks`, on a blocking
/// thread of its own, until the queue closes.
fn spawn_worker(
    mut chunks: tokio::sync::mpsc::Receiver<bytes::Bytes>,
    mut hasher: MultiHasher,
    mut sink: Option<Sink>,
    bar: Option<indicatif::ProgressBar>,
    keep_bytes: bool,
) -> tokio::task::JoinHandle<Checked> {
    tokio::task::spawn_blocking(move || -> Checked {
        let mut kept = Vec::new();
        while let Some(chunk) = chunks.blocking_recv() {
            hasher.update(&chunk);
            if keep_bytes {
                kept.extend_from_slice(&chunk);
            }
            if let Some(s) = sink.as_mut() {
                s.write(&chunk)?;
            }
            if let Some(b) = &bar {
                b.set_position(hasher.length());
            }
        }
        if let Some(b) = bar {
            b.finish_and_clear();
        }
        Ok((hasher, sink, kept))
    })
}

/// Pass the body of target `name` on to the worker through `queue`, never more than its signed
/// `length`: the repository's fault that stopped it early, if any.
async fn feed(
    stream: &mut tough::TransportStream,
    queue: tokio::sync::mpsc::Sender<bytes::Bytes>,
    url: &Url,
    name: &str,
    length: u64,
) -> Option<Finding> {
    let mut received = 0u64;
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(c) => {
                // Endless data stops here, without waiting for the worker to notice.
                received += c.len() as u64;
                if received > length {
                    let why = format!(
                        "target {name:?} sent more than its signed length of {length} bytes"
                    );
                    return Some(Finding::error(Code::LengthExceeded, why).target(name));
                }
                if queue.send(c).await.is_err() {
                    break; // the worker stopped: its reason follows
                }
            }
            Err(e) => return Some(transport_failed(url, name, &e)),
        }
    }
    None
}

/// The finding when the bytes received are not the signed length, or one of their hashes is not
/// the signed one (5.7.3).
fn mismatch(name: &str, target: &Listed, hasher: MultiHasher) -> Option<Finding> {
    let (digests, length) = hasher.finish();
    if length != target.length {
        let why = format!(
            "target {name:?} has {length} bytes, but its signed length is {}",
            target.length
        );
        return Some(Finding::error(Code::LengthMismatch, why).target(name));
    }
    for (alg, actual) in &digests {
        let expected = &target.hashes[alg];
        if actual != expected {
            let why =
                format!("target {name:?} has {alg} {actual}, but the signed {alg} is {expected}");
            return Some(Finding::error(Code::HashMismatch, why).target(name));
        }
    }
    None
}

fn progress_bar(enabled: bool, name: &str, length: u64) -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    if !enabled || !std::io::stderr().is_terminal() || length < 8 * 1024 * 1024 {
        return None;
    }
    let bar = indicatif::ProgressBar::new(length);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{msg} {bar:30} {bytes}/{total_bytes} {bytes_per_sec} {eta}",
    ) {
        bar.set_style(style);
    }
    bar.set_message(name.to_owned());
    Some(bar)
}

/// A temporary file beside the destination, renamed into place by [`Sink::commit`] and removed
/// if dropped before. Its errors are faults of the local machine (a full disk, a permission, a
/// symbolic link in the way), never findings against the repository.
struct Sink {
    tmp: tempfile::NamedTempFile,
    dest: PathBuf,
    out: PathBuf,
    name: String,
}

/// The error of a blocking task that did not finish: a panic goes on as one; a task cancelled
/// (the runtime shutting down) is the run stopping.
fn stopped(e: tokio::task::JoinError, name: &str) -> Error {
    if e.is_panic() {
        std::panic::resume_unwind(e.into_panic());
    }
    write_error(
        Path::new(name),
        std::io::Error::other("the run stopped while writing it"),
    )
}

/// A local write error about `path`.
fn write_error(path: &Path, source: std::io::Error) -> Error {
    Error::Write {
        what: "target",
        path: path.to_owned(),
        source,
    }
}

/// The directory of `name` below `out`, each part checked to be a real directory and not a
/// symbolic link (and made, with `create`, when missing).
fn safe_parent(out: &Path, name: &str, create: bool) -> Result<PathBuf> {
    let mut dir = out.to_owned();
    let Some(parent) = Path::new(name).parent() else {
        return Ok(dir);
    };
    for part in parent.components() {
        dir.push(part);
        match std::fs::symlink_metadata(&dir) {
            Ok(m) if m.is_dir() => {}
            Ok(m) => {
                let why = format!(
                    "{} is in the way of target {name:?}: a directory is needed there",
                    crate::atomic::kind_of(&m.file_type())
                );
                return Err(write_error(&dir, std::io::Error::other(why)));
            }
            Err(e) if create && e.kind() == std::io::ErrorKind::NotFound => {
                match std::fs::create_dir(&dir) {
                    Ok(()) => {}
                    // Another target being written made it meanwhile: fine if a directory.
                    Err(e)
                        if e.kind() == std::io::ErrorKind::AlreadyExists
                            && std::fs::symlink_metadata(&dir).is_ok_and(|m| m.is_dir()) => {}
                    Err(e) => return Err(write_error(&dir, e)),
                }
            }
            Err(e) => return Err(write_error(&dir, e)),
        }
    }
    Ok(dir)
}

impl Sink {
    /// The directories below `out` are made one at a time, refusing any part that is a symbolic
    /// link or not a directory, so nothing is created or written outside `out`; what is at the
    /// destination must be a regular file or nothing.
    fn create(out: &Path, name: &str) -> Result<Self> {
        let dir = safe_parent(out, name, true)?;
        let dest = out.join(name);
        crate::atomic::replaceable(&dest).map_err(|e| write_error(&dest, e))?;
        let prefix = crate::atomic::prefix("partial");
        let mut b = tempfile::Builder::new();
        b.prefix(&prefix);
        // Readable by all, as `cp` or `curl -o` would leave it (the umask still applies), not a
        // temporary file's 0600.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            b.permissions(std::fs::Permissions::from_mode(0o644));
        }
        let tmp = b.tempfile_in(&dir).map_err(|e| write_error(&dir, e))?;
        Ok(Sink {
            tmp,
            dest,
            out: out.to_owned(),
            name: name.to_owned(),
        })
    }

    fn write(&mut self, chunk: &[u8]) -> Result<()> {
        self.tmp
            .write_all(chunk)
            .map_err(|e| write_error(self.tmp.path(), e))
    }

    fn commit(self) -> Result<PathBuf> {
        self.tmp
            .as_file()
            .sync_all()
            .map_err(|e| write_error(self.tmp.path(), e))?;
        // Again right before the rename: no part may have become a symbolic link meanwhile, nor
        // the destination anything but a regular file.
        safe_parent(&self.out, &self.name, false)?;
        let dest = self.dest;
        crate::atomic::replaceable(&dest).map_err(|e| write_error(&dest, e))?;
        self.tmp
            .persist(&dest)
            .map_err(|e| write_error(&dest, e.error))?;
        Ok(dest)
    }
}

#[cfg(test)]
mod tests {
    use super::unsafe_name;

    #[test]
    fn traversal_is_refused() {
        for bad in [
            "../x",
            "/abs",
            "a/../../b",
            "a//b",
            "./a",
            "a/.",
            "",
            "a\\b",
            "a\0b",
        ] {
            assert!(unsafe_name(bad).is_some(), "{bad:?}");
        }
        for good in [
            "manifest.json",
            "a/b.img",
            "bottlerocket-aws-k8s-1.31-x86_64-1.26.1-abc-root.ext4.lz4",
            "..x",
            "x..",
        ] {
            assert_eq!(unsafe_name(good), None, "{good:?}");
        }
    }
}
