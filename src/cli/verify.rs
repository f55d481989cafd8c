//! `tufwatch verify`.

use super::flags::{formats_of, RepoArgs, HUMAN_OR_JSON};
use super::output;
use super::output::print_json;
use crate::config::OutputFormat;
use crate::engine::TargetSelection;
use crate::error::{Error, Result};
use crate::present::human;
use clap::Args;
use std::path::PathBuf;

/// Verify a TUF repository from a trusted root.
///
/// Give the repository either as --metadata-url and --targets-url with --root, or, for
/// Bottlerocket, as --variant and --arch: then the URLs follow Bottlerocket's layout and the
/// trust anchor is Bottlerocket's pinned root (fetched once from its official URL and kept only
/// if its sha512 matches a pin in trusted-roots/).
///
/// Exit codes: 0 every check passed (warnings allowed), 1 findings, 2 could not run.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    tufwatch verify --root fixtures/demo-repo/root.json --metadata-url fixtures/demo-repo/metadata --targets-url fixtures/demo-repo/targets\n  \
    tufwatch verify --variant aws-k8s-1.31 --arch x86_64\n  \
    tufwatch verify --variant aws-ecs-2 --arch arm64 --target manifest.json --out ./verified\n  \
    tufwatch verify --variant aws-k8s-1.31 --arch x86_64 --at 2026-01-01T00:00:00Z --format json")]
pub struct VerifyArgs {
    /// The repository and its trust anchor.
    #[command(flatten)]
    pub repo: RepoArgs,

    /// Also download this target and check its length and hashes (repeatable).
    #[arg(long = "target", value_name = "NAME")]
    pub targets: Vec<String>,

    /// Download and check every target.
    #[arg(long, conflicts_with = "targets")]
    pub all_targets: bool,

    /// Write verified targets into DIR (atomically; never outside DIR). Without it, targets are
    /// checked and discarded.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,

    /// Output format.
    #[arg(long, value_parser = formats_of(HUMAN_OR_JSON), default_value = "human")]
    pub format: OutputFormat,
}

/// Run `verify`; the result is the exit code.
pub async fn run(a: VerifyArgs) -> Result<i32> {
    let format = a.format;
    let targets = if a.all_targets {
        TargetSelection::All
    } else if a.targets.is_empty() {
        if a.out.is_some() {
            return Err(Error::Argument {
                flag: "--out",
                message: "--out writes downloaded targets: give --target NAME or --all-targets too"
                    .to_owned(),
            });
        }
        TargetSelection::None
    } else {
        TargetSelection::Named(a.targets.clone())
    };
    let verification = verify_for(a.repo, targets, a.out, format).await?;
    let report = &verification.report;
    match format {
        OutputFormat::Json => print_json(report)?,
        // `--format` takes human or json only.
        _ => output::print(&human::render(report))?,
    }
    Ok(report.exit_code())
}

/// Resolve the flags and verify; with `--format json`, a run that cannot verify still prints one
/// JSON document (the error report) before the error goes to stderr.
pub(super) async fn verify_for(
    a: RepoArgs,
    targets: TargetSelection,
    out: Option<PathBuf>,
    format: OutputFormat,
) -> Result<crate::engine::Verification> {
    let verified = async {
        let settings = a.settings(targets, out)?;
        super::note_moved_state(&settings.common)?;
        let (options, root) = settings.resolve()?;
        crate::engine::verify(&options, &root).await
    };
    let result = verified
        .await
        .map_err(|e| super::names::named(e, super::names::SettingsFrom::Flags, &[]));
    if let (Err(e), OutputFormat::Json) = (&result, format) {
        // The run's own error is what to tell, even when stdout fails too.
        let _ = print_json(&crate::report::ErrorReport::of(e));
    }
    result
}
