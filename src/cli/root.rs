//! `tufwatch root`: trust anchors.

use super::output;
use crate::engine::anchor::{fetch_root, root_url, save_root, Acceptance, Chain, MAX_ROOT};
use crate::error::{Error, Result};
use crate::report::EXIT_OK;
use crate::settings::{defaults, Duration, Setting};
use crate::source::bottlerocket::{self, Arch, DEFAULT_REPO_BASE};
use crate::source::location::parse_location;
use crate::source::pins::{parse_sha512_arg, PinSet, TrustedRoot};
use crate::source::transport::NetOptions;
use clap::{Args, Subcommand};
use std::path::PathBuf;

/// The repository whose root chain `root fetch` walks by default: every variant's repository
/// serves the same roots.
const CHAIN_VARIANT: &str = "aws-k8s-1.31";

/// The flags of `root fetch` that differ from the usual ones.
const ROOT_FETCH_FLAGS: &[(Setting, &str)] = &[(Setting::RootSha512, "--sha512")];

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
            super::names::named(e, super::names::SettingsFrom::Flags, ROOT_FETCH_FLAGS)
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
    let url = root_url(a.url.as_deref().unwrap_or(&set.url))?;
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
    let acceptance = if user.is_empty() {
        let base = parse_location(Setting::RepoBase, &a.repo_base)?;
        let (chain_url, _) = bottlerocket::urls(&base, &a.variant, Arch::parse(&a.arch)?)?;
        let anchor = match &a.root {
            Some(path) => {
                let mut anchor = TrustedRoot::read(path, MAX_ROOT)?;
                anchor.pinned_by = format!("--root {}", path.display());
                anchor
            }
            None => TrustedRoot::embedded_bottlerocket()?,
        };
        Acceptance::PinsOrChain(Box::new(Chain {
            set,
            anchor,
            chain_url,
        }))
    } else {
        Acceptance::Sha512(user)
    };
    let net = NetOptions {
        connect_timeout: crate::settings::timeout(a.timeout),
        read_timeout: crate::settings::timeout(a.timeout),
        ..NetOptions::default()
    };
    let deadline = crate::settings::deadline(a.deadline)?;
    let root = fetch_root(&url, &acceptance, net, deadline).await?;
    save_root(&out, &root, matches!(acceptance, Acceptance::Sha512(_)))?;
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
