//! `tufwatch root`: trust anchors.

use crate::error::{Error, Result};
use crate::report::EXIT_OK;
use crate::source::pins::{parse_sha512_arg, PinSet, TrustedRoot};
use crate::source::transport::{describe_transport, Fetcher, NetOptions};
use clap::{Args, Subcommand};
use std::path::{Path, PathBuf};
use url::Url;

/// Largest root file `root fetch` accepts.
const MAX_ROOT: u64 = 1 << 20;

/// `tufwatch root ...`
#[derive(Debug, Subcommand)]
pub enum RootCommand {
    /// Download a root and keep it only if its sha512 matches a pin (or --sha512).
    ///
    /// Without --url, the root comes from the pin set's official URL (for bottlerocket,
    /// https://cache.bottlerocket.aws/root.json). The file is written atomically; nothing is
    /// written when the sha512 matches nothing. Exit 0 kept, 1 matches no pin, 2 could not run.
    Fetch(FetchArgs),
    /// List the pinned roots tufwatch was built with (from trusted-roots/).
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

    /// Accept only a root with this SHA-512 (repeatable) instead of the built-in pins.
    #[arg(long, value_name = "HEX")]
    pub sha512: Vec<String>,

    /// Write the root here [default: <roots-dir>/<name>.root.json].
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,

    /// Directory of kept roots [default: $XDG_DATA_HOME/tufwatch/trusted-roots].
    #[arg(long, value_name = "DIR")]
    pub roots_dir: Option<PathBuf>,
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
            println!(
                "{} ({})\n  official root: {}",
                set.name, set.description, set.url
            );
            for p in &set.pins {
                println!(
                    "  sha512 {}\n    documented {}: {}",
                    p.sha512, p.documented, p.source
                );
            }
            Ok(EXIT_OK)
        }
        RootCommand::Fetch(a) => fetch(a).await,
    }
}

async fn fetch(a: FetchArgs) -> Result<i32> {
    let set = pin_set(&a.name)?;
    let user: Vec<String> = a
        .sha512
        .iter()
        .map(|h| parse_sha512_arg("--sha512", h))
        .collect::<Result<_>>()?;
    let url_text = a.url.clone().unwrap_or_else(|| set.url.clone());
    let url = root_url(&url_text)?;
    let out = match &a.out {
        Some(p) => p.clone(),
        None => a
            .roots_dir
            .clone()
            .or_else(super::args::default_roots_dir)
            .ok_or_else(|| Error::Argument {
                flag: "--roots-dir",
                message: "no home directory to keep roots in; give --out FILE or --roots-dir DIR"
                    .to_owned(),
            })?
            .join(format!("{}.root.json", set.name)),
    };
    let fetcher = Fetcher::new(NetOptions::default())?;
    let root = download(&fetcher, &url, &set, &user).await?;
    save_root(&out, &root, !user.is_empty())?;
    println!(
        "kept {} -> {}\n  version {}, sha512 {}\n  pinned by {}",
        url,
        out.display(),
        root.version,
        root.sha512,
        root.pinned_by
    );
    Ok(EXIT_OK)
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

/// Download a root and check it against the user's SHA-512 values or the pin set.
async fn download(
    fetcher: &Fetcher,
    url: &Url,
    set: &PinSet,
    user: &[String],
) -> Result<TrustedRoot> {
    {
        let bytes = fetcher
            .fetch_all(url, MAX_ROOT)
            .await
            .map_err(|e| Error::Fetch {
                url: url.to_string(),
                message: describe_transport(&e),
            })?;
        let root = TrustedRoot::parse(url.as_str(), bytes)?;
        let root = if user.is_empty() {
            root.pin(None, Some(set))?
        } else {
            let matched = user.iter().find(|h| **h == root.sha512).cloned();
            match matched {
                Some(h) => root.pin(Some(&h), None)?,
                None => {
                    return Err(Error::UntrustedRoot(format!(
                        "untrusted_root: {url} has sha512 {}, which matches none of the --sha512 values; nothing was written",
                        root.sha512
                    )))
                }
            }
        };
        check_self_signed(&root)?;
        Ok(root)
    }
}

/// A root must be signed by a threshold of its own root keys (TUF 5.2 loads it as trusted, and
/// tough refuses one that is not).
fn check_self_signed(root: &TrustedRoot) -> Result<()> {
    let parsed: tough::schema::Signed<tough::schema::Root> = serde_json::from_slice(&root.bytes)
        .map_err(|e| Error::Invalid {
            what: "root",
            path: root.source.clone(),
            message: e.to_string(),
        })?;
    parsed.signed.verify_role(&parsed).map_err(|e| {
        Error::UntrustedRoot(format!(
            "untrusted_root: {} matches its pin but is not signed by a threshold of its own root keys: {e}",
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
    if user_pinned {
        atomic_write(
            &dir.join(format!("{file_name}.sha512")),
            format!("{}  {file_name}\n", root.sha512).as_bytes(),
        )?;
    }
    atomic_write(out, &root.bytes)
}

fn atomic_write(path: &Path, bytes: &[u8]) -> Result<()> {
    crate::atomic::sweep(&crate::atomic::parent(path));
    crate::atomic::write(path, bytes, None).map_err(|source| Error::Write {
        what: "root",
        path: path.to_owned(),
        source,
    })
}

/// The Bottlerocket trust anchor for `verify --variant/--arch`: the kept root in `dir` if there
/// is one (checked again against the pins or its `.sha512` file), otherwise fetched from the
/// official URL, checked against the pins and kept.
pub async fn bottlerocket_root(
    dir: &Path,
    expected: Option<&str>,
    net: &NetOptions,
) -> Result<TrustedRoot> {
    let set = PinSet::bottlerocket();
    let path = dir.join("bottlerocket.root.json");
    if path.exists() {
        let root = TrustedRoot::read(&path)?;
        if expected.is_some() {
            return root.pin(expected, None);
        }
        let sidecar = dir.join("bottlerocket.root.json.sha512");
        if let Ok(text) = std::fs::read_to_string(&sidecar) {
            let pinned = text
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_ascii_lowercase();
            if pinned == root.sha512 {
                let mut root = root;
                root.pinned_by = format!(
                    "sha512 accepted with root fetch --sha512 ({})",
                    sidecar.display()
                );
                return Ok(root);
            }
        }
        return root.pin(None, Some(&set));
    }
    let url = Url::parse(&set.url).map_err(|e| Error::Invalid {
        what: "pin file",
        path: "trusted-roots/bottlerocket.toml".to_owned(),
        message: e.to_string(),
    })?;
    let fetcher = Fetcher::new(net.clone())?;
    let user: Vec<String> = expected.map(|e| vec![e.to_owned()]).unwrap_or_default();
    let root = download(&fetcher, &url, &set, &user).await?;
    save_root(&path, &root, !user.is_empty())?;
    eprintln!(
        "tufwatch: fetched Bottlerocket's root from {url} (sha512 matches: {}), kept in {}",
        root.pinned_by,
        path.display()
    );
    Ok(root)
}
