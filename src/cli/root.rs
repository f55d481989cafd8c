//! `tufwatch root`: trust anchors.

use super::output;
use crate::engine::strict::client::{root_chain, ClientError};
use crate::engine::strict::trusted::Trusted;
use crate::error::{Error, Result};
use crate::report::EXIT_OK;
use crate::settings::{defaults, Duration, Setting};
use crate::source::bottlerocket::{self, Arch, DEFAULT_REPO_BASE};
use crate::source::location::parse_location;
use crate::source::pins::{parse_sha512_arg, PinSet, TrustedRoot};
use crate::source::transport::{describe_transport, Fetcher, NetOptions};
use clap::{Args, Subcommand};
use std::path::{Path, PathBuf};
use url::Url;

/// Largest root file `root fetch` accepts.
const MAX_ROOT: u64 = 1 << 20;

/// Most root rotations walked from the embedded anchor (Bottlerocket re-signs once a year).
const MAX_ROTATIONS: u64 = 1024;

/// The repository whose root chain `root fetch` walks by default: every variant's repository
/// serves the same roots.
const CHAIN_VARIANT: &str = "aws-k8s-1.31";

/// `tufwatch root ...`
#[derive(Debug, Subcommand)]
pub enum RootCommand {
    /// Download Bottlerocket's published root and keep it if it is genuine.
    ///
    /// Without --url, the root comes from the pin set's official URL
    /// (https://cache.bottlerocket.aws/root.json, which always serves the newest root). It is
    /// kept when its sha512 matches a value Bottlerocket documented (pinned in
    /// trusted-roots/bottlerocket.toml), or when it is byte for byte a root of the chain walked
    /// from the root embedded in tufwatch through the --variant/--arch repository (each
    /// rotation signed by the old root's keys and the new one's); the output says which. With
    /// --sha512, only those values are accepted. Verifying needs none of this: `verify
    /// --variant` starts from the embedded root. Nothing is written when the root is refused.
    /// Exit 0 kept, 1 refused, 2 could not run.
    Fetch(Box<FetchArgs>),
    /// List the embedded trust anchor and the documented values tufwatch was built with.
    Pins,
}

/// Arguments of `root fetch`.
#[derive(Debug, Args)]
pub struct FetchArgs {
    /// Which pin set: bottlerocket.
    #[arg(default_value = "bottlerocket")]
    pub name: String,

    /// Download from this URL instead of the pin set's (a mirror, a file:// URL).
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,

    /// Accept only a root with this SHA-512 (repeatable) instead of the pins and the chain.
    #[arg(long, value_name = "HEX")]
    pub sha512: Vec<String>,

    /// Write the root here [default: <roots-dir>/<name>.root.json].
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,

    /// Directory of kept roots [default: $XDG_DATA_HOME/tufwatch/trusted-roots].
    #[arg(long, value_name = "DIR")]
    pub roots_dir: Option<PathBuf>,

    /// Walk the chain from this root instead of the one embedded in tufwatch (for a repository
    /// in Bottlerocket's layout signed by your own keys).
    #[arg(long, value_name = "FILE")]
    pub root: Option<PathBuf>,

    /// The variant whose repository the root chain is walked in, when no pin matches.
    #[arg(long, default_value = CHAIN_VARIANT)]
    pub variant: String,

    /// Its architecture.
    #[arg(long, default_value = "x86_64")]
    pub arch: String,

    /// Base URL (or directory) of the Bottlerocket repository or mirror to walk the chain in.
    #[arg(long, value_name = "URL", default_value = DEFAULT_REPO_BASE)]
    pub repo_base: String,

    /// Seconds to wait for a connection, and for the next bytes of an answer.
    #[arg(long, value_name = "SECONDS", default_value_t = defaults::TIMEOUT_SECS)]
    pub timeout: u64,

    /// The longest the download and the walk of the chain may take: 30s, 10m.
    #[arg(long, value_name = "DURATION", default_value_t = defaults::ROOT_FETCH_DEADLINE)]
    pub deadline: Duration,
}

/// Where `root fetch` keeps roots: `$XDG_DATA_HOME/tufwatch/trusted-roots`, or
/// `$HOME/.local/share/tufwatch/trusted-roots`.
fn default_roots_dir() -> Option<PathBuf> {
    crate::source::user_dir("XDG_DATA_HOME", ".local/share", "trusted-roots")
}

fn pin_set(name: &str) -> Result<PinSet> {
    match name {
        "bottlerocket" => Ok(PinSet::bottlerocket()),
        other => Err(Error::Argument {
            flag: "root fetch NAME",
            message: format!("no pins named {other:?}; tufwatch has pins for: bottlerocket"),
        }),
    }
}

/// Run `root ...`; the result is the exit code.
pub async fn run(cmd: RootCommand) -> Result<i32> {
    match cmd {
        RootCommand::Pins => {
            let set = PinSet::bottlerocket();
            let anchor = TrustedRoot::embedded_bottlerocket()?;
            let mut out = format!(
                "{} ({})\n  embedded anchor: trusted-roots/{} (root v{}, sha512 {})\n  official root: {}\n",
                set.name, set.description, set.anchor, anchor.version, anchor.sha512, set.url
            );
            for p in &set.pins {
                out.push_str(&format!(
                    "  root v{} documented {}: sha512 {}\n    {}\n",
                    p.version, p.documented, p.sha512, p.source
                ));
            }
            output::print(&out)?;
            Ok(EXIT_OK)
        }
        RootCommand::Fetch(a) => fetch(*a).await.map_err(|e| {
            super::names::named(
                e,
                super::names::Origin::Flags,
                &[(Setting::RootSha512, "--sha512")],
            )
        }),
    }
}

async fn fetch(a: FetchArgs) -> Result<i32> {
    let set = pin_set(&a.name)?;
    let user: Vec<String> = a
        .sha512
        .iter()
        .map(|h| parse_sha512_arg(Setting::RootSha512, h))
        .collect::<Result<_>>()?;
    let url_text = a.url.clone().unwrap_or_else(|| set.url.clone());
    let url = root_url(&url_text)?;
    let base = parse_location(Setting::RepoBase, &a.repo_base)?;
    let (chain_url, _) = bottlerocket::urls(&base, &a.variant, Arch::parse(&a.arch)?)?;
    let out = match &a.out {
        Some(p) => p.clone(),
        None => a
            .roots_dir
            .clone()
            .or_else(default_roots_dir)
            .ok_or_else(|| Error::Argument {
                flag: "--roots-dir",
                message: "no home directory to keep roots in; give --out FILE or --roots-dir DIR"
                    .to_owned(),
            })?
            .join(format!("{}.root.json", set.name)),
    };
    super::output::output_file("--out", &out)?;
    let seconds = crate::settings::timeout(a.timeout);
    let fetcher = Fetcher::new(NetOptions {
        connect_timeout: seconds,
        read_timeout: seconds,
        ..NetOptions::default()
    })?;
    let deadline = crate::settings::deadline(a.deadline)?;
    let past_deadline = || Error::Fetch {
        url: url.to_string(),
        message: format!(
            "did not finish within the deadline of {} (--deadline)",
            crate::engine::expiry::human_duration(a.deadline.to_chrono())
        ),
    };
    let started = tokio::time::Instant::now();
    let bytes = tokio::time::timeout(deadline, fetcher.fetch_all(&url, MAX_ROOT))
        .await
        .map_err(|_| past_deadline())?
        .map_err(|e| Error::Fetch {
            url: url.to_string(),
            message: describe_transport(&e),
        })?;
    let mut root = TrustedRoot::parse(url.as_str(), bytes)?;
    check_self_signed(&root)?;
    let anchor = match &a.root {
        Some(path) => {
            let mut anchor = TrustedRoot::read(path, MAX_ROOT)?;
            anchor.pinned_by = format!("--root {}", path.display());
            anchor
        }
        None => TrustedRoot::embedded_bottlerocket()?,
    };
    root.pinned_by = if user.is_empty() {
        let left = deadline.saturating_sub(started.elapsed());
        tokio::time::timeout(left, accept(&root, &set, &anchor, &fetcher, &chain_url))
            .await
            .map_err(|_| past_deadline())??
    } else if user.contains(&root.sha512) {
        "sha512 given by the user (--sha512)".to_owned()
    } else {
        return Err(Error::UntrustedRoot(format!(
            "untrusted_root: {url} has sha512 {}, which matches none of the --sha512 values; nothing was written",
            root.sha512
        )));
    };
    save_root(&out, &root, !user.is_empty())?;
    output::print(&format!(
        "kept {} -> {}\n  version {}, sha512 {}\n  accepted: {}\n",
        url,
        out.display(),
        root.version,
        root.sha512,
        root.pinned_by
    ))?;
    Ok(EXIT_OK)
}

/// Why a downloaded root is genuine: its SHA-512 is a documented value, or it is byte for byte
/// a root of the chain walked from `anchor` in `chain_url`. Anything else is `untrusted_root`.
async fn accept(
    root: &TrustedRoot,
    set: &PinSet,
    anchor: &TrustedRoot,
    fetcher: &Fetcher,
    chain_url: &Url,
) -> Result<String> {
    if let Some(pin) = set.find(&root.sha512) {
        return Ok(format!(
            "its sha512 is the value Bottlerocket documented on {} for root v{} (trusted-roots/bottlerocket.toml)",
            pin.documented, pin.version
        ));
    }
    let chain = root_chain(&anchor.bytes, chain_url, fetcher, MAX_ROOT, MAX_ROTATIONS)
        .await
        .map_err(|e| match e {
            ClientError::Refused(file, why) => Error::UntrustedRoot(format!(
                "untrusted_root: the root chain in {chain_url} is broken at {file}: {why}; nothing was written"
            )),
            other => Error::Fetch {
                url: chain_url.to_string(),
                message: format!("could not walk the root chain: {other}"),
            },
        })?;
    let newest = anchor.version.saturating_add(chain.len() as u64 - 1);
    match chain.iter().position(|r| *r == root.bytes) {
        Some(i) => Ok(format!(
            "byte for byte root v{} of the chain walked from root v{} ({}) in {chain_url} (the chain ends at v{newest})",
            anchor.version.saturating_add(i as u64),
            anchor.version,
            anchor.pinned_by
        )),
        None => Err(Error::UntrustedRoot(format!(
            "untrusted_root: {} (version {}, sha512 {}) matches none of the {} documented values in trusted-roots/bottlerocket.toml \
             and is not one of the roots v{}..v{newest} of the chain walked from {} in {chain_url}; \
             nothing was written. Check the sha512 against Bottlerocket's documentation; if it is documented there, \
             accept it with `tufwatch root fetch --sha512 HEX`",
            root.source,
            root.version,
            root.sha512,
            set.pins.len(),
            anchor.version,
            anchor.pinned_by
        ))),
    }
}

/// Where a root file is: an `https://`, `http://` or `file://` URL, or a local file.
fn root_url(text: &str) -> Result<Url> {
    let bad = |message: String| Error::Argument {
        flag: "--url",
        message,
    };
    if text.contains("://") {
        let url = Url::parse(text).map_err(|e| bad(format!("{text:?} is not a URL: {e}")))?;
        match url.scheme() {
            "https" | "http" | "file" => Ok(url),
            other => Err(bad(format!(
                "{text:?} uses {other:?}; use https://, http:// or file://"
            ))),
        }
    } else {
        let path = std::fs::canonicalize(text).map_err(|e| {
            bad(format!(
                "{text:?} is not a URL and not a readable file: {e}"
            ))
        })?;
        Url::from_file_path(&path)
            .map_err(|()| bad(format!("{} is not a file path", path.display())))
    }
}

/// A root must be signed by a threshold of its own root keys (TUF 5.2 loads it as trusted, and
/// tough refuses one that is not).
fn check_self_signed(root: &TrustedRoot) -> Result<()> {
    Trusted::new(&root.bytes, chrono::Utc::now())
        .map(drop)
        .map_err(|why| {
            Error::UntrustedRoot(format!(
                "untrusted_root: {} is not a root signed by a threshold of its own root keys: {why}; nothing was written",
                root.source
            ))
        })
}

/// Write a kept root atomically, with a `.sha512` file in `sha512sum` format when the user
/// pinned it (so a later run accepts it again, and a person can check it with `sha512sum -c`).
fn save_root(out: &Path, root: &TrustedRoot, user_pinned: bool) -> Result<()> {
    let dir = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|source| Error::Write {
        what: "root",
        path: dir.to_owned(),
        source,
    })?;
    let file_name = out
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_else(|| "root.json".to_owned());
    crate::atomic::sweep(dir);
    let error = |path: &Path| {
        let path = path.to_owned();
        move |source| Error::Write {
            what: "root",
            path,
            source,
        }
    };
    // Both files written and synced before either is renamed into place: a disk that fills
    // leaves the old pair, never a new sha512 beside an old root.
    let sums = match user_pinned {
        true => {
            let path = dir.join(format!("{file_name}.sha512"));
            let line = format!("{}  {file_name}\n", root.sha512);
            Some((
                crate::atomic::stage(&path, line.as_bytes(), None).map_err(error(&path))?,
                path,
            ))
        }
        false => None,
    };
    let staged = crate::atomic::stage(out, &root.bytes, None).map_err(error(out))?;
    if let Some((sums, path)) = sums {
        sums.commit().map_err(error(&path))?;
    }
    staged.commit().map_err(error(out))
}
