//! The repository flags that `verify`, `releases` and later subcommands share, and their
//! resolution into validated options before any network I/O.

use super::args::{parse_duration, parse_size, parse_time};
use crate::engine::{TargetSelection, VerifyOptions};
use crate::error::{Error, Result};
use crate::source::bottlerocket::{self, Arch, DEFAULT_REPO_BASE};
use crate::source::location::parse_location;
use crate::source::pins::{parse_sha512_arg, TrustedRoot};
use crate::source::state::{default_state_root, migrate_legacy_state};
use crate::source::transport::NetOptions;
use chrono::{DateTime, Duration, Utc};
use clap::{Args, ValueEnum};
use std::path::PathBuf;
use url::Url;

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A short table for a person.
    Human,
    /// The report as one JSON document (fields documented in docs/report.md).
    Json,
}

/// Where the repository is, what anchors trust in it, and how to reach it.
#[derive(Debug, Args)]
pub struct RepoArgs {
    /// Where the metadata is: https://, http://, file:// URL or a local directory.
    #[arg(long, value_name = "URL", conflicts_with_all = ["variant", "arch"])]
    pub metadata_url: Option<String>,

    /// Where the targets are: https://, http://, file:// URL or a local directory.
    #[arg(long, value_name = "URL", conflicts_with_all = ["variant", "arch"])]
    pub targets_url: Option<String>,

    /// Bottlerocket variant, e.g. aws-k8s-1.31 (with --arch, instead of the URLs).
    #[arg(long, requires = "arch")]
    pub variant: Option<String>,

    /// Bottlerocket architecture: x86_64 (amd64) or aarch64 (arm64).
    #[arg(long, requires = "variant")]
    pub arch: Option<String>,

    /// The trust anchor, state and network settings.
    #[command(flatten)]
    pub common: CommonArgs,
}

/// What every command that verifies repositories shares: the trust anchor, the Bottlerocket
/// repository base, saved state, time, limits and network settings.
#[derive(Debug, Args)]
pub struct CommonArgs {
    /// The trusted root.json to start from (the trust anchor). Without it, --variant/--arch
    /// start from Bottlerocket's root embedded in tufwatch (trusted-roots/bottlerocket/), or
    /// from the newer root a previous run verified from it, and walk the repository's root
    /// rotations up to its current root. Read up to --max-root-size.
    #[arg(long, value_name = "FILE")]
    pub root: Option<PathBuf>,

    /// Refuse the --root file unless the SHA-512 of its bytes is HEX.
    #[arg(long, value_name = "HEX", requires = "root")]
    pub root_sha512: Option<String>,

    /// Base URL (or directory) of a Bottlerocket repository or mirror, for --variant/--arch.
    #[arg(long, value_name = "URL", default_value = DEFAULT_REPO_BASE)]
    pub repo_base: String,

    /// Warn about roles that expire within this window: 3d, 12h, 0.
    #[arg(long, value_name = "DURATION", default_value = "3d", value_parser = parse_duration)]
    pub expiry_warning: Duration,

    /// Judge expiry (and which releases are due) as of this moment (RFC 3339) instead of now.
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub at: Option<DateTime<Utc>>,

    /// Keep the trusted metadata between runs in DIR (rollback and freeze protection)
    /// [default: $XDG_STATE_HOME/tufwatch/state, or ~/.local/state/tufwatch/state].
    #[arg(long, value_name = "DIR", conflicts_with = "no_state")]
    pub state_dir: Option<PathBuf>,

    /// Neither read nor write saved state: no protection against rollback between runs.
    #[arg(long)]
    pub no_state: bool,

    /// Seconds to wait for a connection, and for the next bytes of an answer.
    #[arg(long, value_name = "SECONDS", default_value = "30")]
    pub timeout: u64,

    /// The slowest an answer may arrive once --timeout has passed, in bytes a second; slower
    /// is a slow_retrieval finding (0: no minimum).
    #[arg(long, value_name = "BYTES", default_value = "1024")]
    pub min_rate: u64,

    /// Largest root.json accepted, the trust anchor (--root) included.
    #[arg(long, value_name = "SIZE", default_value = "1M", value_parser = parse_size)]
    pub max_root_size: u64,

    /// Largest timestamp.json accepted.
    #[arg(long, value_name = "SIZE", default_value = "1M", value_parser = parse_size)]
    pub max_timestamp_size: u64,

    /// Largest snapshot.json accepted when the timestamp does not give its length.
    #[arg(long, value_name = "SIZE", default_value = "1M", value_parser = parse_size)]
    pub max_snapshot_size: u64,

    /// Largest targets metadata accepted when the snapshot does not give its length.
    #[arg(long, value_name = "SIZE", default_value = "10M", value_parser = parse_size)]
    pub max_targets_size: u64,

    /// The longest the whole run may take (metadata, targets, the manifest, and SSM's reads):
    /// 30m, 2h. Past it, the run stops with an `unreachable` finding (exit 2).
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = parse_duration)]
    pub deadline: Duration,

    /// Never show progress bars (they show only on a terminal anyway).
    #[arg(long)]
    pub no_progress: bool,

    /// Which TUF engines verify the metadata: tough (what Bottlerocket hosts run, with
    /// tufwatch's checks); both tough and the strict engine (the specification's client
    /// workflow to the letter), which must both accept, a disagreement being a finding; or
    /// strict, where the strict engine decides and what tough alone objects to is a warning.
    #[arg(long = "engine", value_enum, default_value = "both")]
    pub engines: crate::engine::Engines,
}

/// The repository location and trust anchor, resolved from the arguments.
pub struct Resolved {
    /// What to verify, and how.
    pub options: VerifyOptions,
    /// The trust anchor.
    pub root: TrustedRoot,
}

/// The shared settings, resolved: everything but the repository's location.
#[derive(Clone)]
pub struct Common {
    /// The trust anchor.
    pub root: TrustedRoot,
    /// Base of the Bottlerocket repository layout.
    pub repo_base: Url,
    /// Reference time, when not now.
    pub at: Option<DateTime<Utc>>,
    /// The expiry warning window.
    pub expiry_warning: Duration,
    /// Metadata size limits.
    pub limits: tough::Limits,
    /// Parent directory of saved states; `None` for `--no-state`.
    pub state_root: Option<PathBuf>,
    /// Network settings.
    pub net: NetOptions,
    /// Progress bars.
    pub progress: bool,
    /// The deadline of one verification.
    pub deadline: std::time::Duration,
    /// Which engines verify.
    pub engines: crate::engine::Engines,
}

impl Common {
    /// The options to verify one Bottlerocket variant and architecture below `repo_base`.
    pub fn bottlerocket(&self, variant: &str, arch: Arch) -> Result<VerifyOptions> {
        let (m, t) = bottlerocket::urls(&self.repo_base, variant, arch)?;
        Ok(self.options(m, t, Some(variant.to_owned()), Some(arch.to_string())))
    }

    /// The options to verify the repository at these URLs.
    pub fn options(
        &self,
        metadata_url: Url,
        targets_url: Url,
        variant: Option<String>,
        arch: Option<String>,
    ) -> VerifyOptions {
        VerifyOptions {
            metadata_url,
            targets_url,
            variant,
            arch,
            at: self.at,
            expiry_warning: self.expiry_warning,
            limits: self.limits,
            targets: TargetSelection::None,
            out_dir: None,
            state_root: self.state_root.clone(),
            net: self.net.clone(),
            progress: self.progress,
            deadline: self.deadline,
            engines: self.engines,
        }
    }
}

/// Resolve the shared flags: the trust anchor (a file, or Bottlerocket's embedded root), the
/// state directory, limits and network settings. Nothing is downloaded: the engines walk the
/// root rotations from the anchor in the repository itself (TUF 5.3).
pub fn resolve_common(a: &CommonArgs) -> Result<Common> {
    let root = match &a.root {
        Some(path) => {
            let expected = a
                .root_sha512
                .as_deref()
                .map(|h| parse_sha512_arg("--root-sha512", h))
                .transpose()?;
            TrustedRoot::read(path, a.max_root_size)?.pin(expected.as_deref(), None)?
        }
        None if a.root_sha512.is_some() => {
            return Err(Error::Argument {
                flag: "--root-sha512",
                message: "checks the --root file, and no --root was given (without one, Bottlerocket's embedded root is the anchor)".to_owned(),
            })
        }
        None => TrustedRoot::embedded_bottlerocket()?,
    };
    resolve_settings(a, root)
}

fn net_options(a: &CommonArgs) -> NetOptions {
    NetOptions {
        connect_timeout: std::time::Duration::from_secs(a.timeout.clamp(1, 3600)),
        read_timeout: std::time::Duration::from_secs(a.timeout.clamp(1, 3600)),
        min_rate: a.min_rate,
        ..NetOptions::default()
    }
}

/// Resolve the shared flags with a trust anchor already chosen.
pub fn resolve_settings(a: &CommonArgs, root: TrustedRoot) -> Result<Common> {
    let repo_base = parse_location("--repo-base", &a.repo_base)?;
    let deadline = super::args::deadline("--deadline", a.deadline)?;
    let state_root = match (&a.state_dir, a.no_state) {
        (_, true) => None,
        (Some(dir), false) => Some(dir.clone()),
        (None, false) => {
            let root = default_state_root().ok_or_else(|| Error::Argument {
                flag: "--state-dir",
                message:
                    "no home directory for the saved state; give --state-dir DIR or --no-state"
                        .to_owned(),
            })?;
            if let Some(old) = migrate_legacy_state(&root)? {
                super::output::note(format_args!(
                    "tufwatch: moved the saved state from {} to {} (cache cleaners delete the cache directory, and with it the rollback protection)",
                    old.display(),
                    root.display()
                ));
            }
            Some(root)
        }
    };
    Ok(Common {
        root,
        repo_base,
        at: a.at,
        expiry_warning: a.expiry_warning,
        limits: tough::Limits {
            max_root_size: a.max_root_size,
            max_targets_size: a.max_targets_size,
            max_timestamp_size: a.max_timestamp_size,
            max_snapshot_size: a.max_snapshot_size,
            max_root_updates: 1024,
        },
        state_root,
        net: net_options(a),
        progress: !a.no_progress,
        deadline,
        engines: a.engines,
    })
}

/// Resolve the repository flags, with the targets to fetch and where to write them.
pub async fn resolve(
    a: RepoArgs,
    targets: TargetSelection,
    out: Option<PathBuf>,
) -> Result<Resolved> {
    enum Location {
        Bottlerocket(String, Arch),
        Urls(Url, Url),
    }
    let location = match (&a.variant, &a.arch) {
        (Some(variant), Some(arch)) => {
            bottlerocket::check_variant(variant)?;
            Location::Bottlerocket(variant.clone(), Arch::parse(arch)?)
        }
        _ => {
            let m = a.metadata_url.as_deref().ok_or_else(|| Error::Argument {
                flag: "--metadata-url",
                message: "give --metadata-url and --targets-url (with --root), or --variant and --arch for Bottlerocket".to_owned(),
            })?;
            let t = a.targets_url.as_deref().ok_or_else(|| Error::Argument {
                flag: "--targets-url",
                message: "give --targets-url too: where the repository's targets are".to_owned(),
            })?;
            if a.common.root.is_none() {
                return Err(Error::Argument {
                    flag: "--root",
                    message: "give the trusted root.json of this repository with --root FILE (only Bottlerocket's has built-in pins, with --variant and --arch)".to_owned(),
                });
            }
            Location::Urls(
                parse_location("--metadata-url", m)?,
                parse_location("--targets-url", t)?,
            )
        }
    };
    let common = resolve_common(&a.common)?;
    let mut options = match location {
        Location::Bottlerocket(variant, arch) => common.bottlerocket(&variant, arch)?,
        Location::Urls(m, t) => common.options(m, t, None, None),
    };
    options.targets = targets;
    options.out_dir = out;
    Ok(Resolved {
        options,
        root: common.root,
    })
}

/// Resolve the flags and verify; with `--format json`, a run that cannot verify still prints one
/// JSON document (the error report) before the error goes to stderr.
pub async fn verify_for(
    a: RepoArgs,
    targets: TargetSelection,
    out: Option<PathBuf>,
    format: Format,
) -> Result<crate::engine::Verification> {
    let result = match resolve(a, targets, out).await {
        Ok(Resolved { options, root }) => crate::engine::verify(&options, &root).await,
        Err(e) => Err(e),
    };
    if let (Err(e), Format::Json) = (&result, format) {
        // The run's own error is what to tell, even when stdout fails too.
        let _ = print_json(&crate::report::ErrorReport::of(e));
    }
    result
}

/// Print a value as pretty JSON on stdout.
pub fn print_json<T: serde::Serialize>(value: &T) -> Result<()> {
    let mut text = json_text(value)?;
    text.push('\n');
    super::output::print(&text)
}

/// A value as pretty JSON.
pub fn json_text<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string_pretty(value).map_err(|e| Error::Invalid {
        what: "report",
        path: "-".to_owned(),
        message: e.to_string(),
    })
}
