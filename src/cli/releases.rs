//! `tufwatch releases`.

use super::repo::{print_json, verify_for, Format, RepoArgs};
use crate::engine::TargetSelection;
use crate::error::{Error, Result};
use crate::report::human;
use clap::Args;
use semver::Version;

/// List the releases in a verified repository's signed manifest.json.
///
/// Verifies the repository as `verify` does, then reads manifest.json (only after its length and
/// hashes are checked) and lists, per variant and architecture, each release newest first with
/// its waves, the newest signed release, and the release that is due: the newest whose waves
/// have all started by now (or --at), which every host should have.
///
/// Exit codes: 0 every check passed, 1 findings, 2 could not run.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    tufwatch releases --root fixtures/demo-repo/root.json --metadata-url fixtures/demo-repo/metadata --targets-url fixtures/demo-repo/targets\n  \
    tufwatch releases --variant aws-k8s-1.31 --arch x86_64 --from 1.25.0")]
pub struct ReleasesArgs {
    /// The repository and its trust anchor.
    #[command(flatten)]
    pub repo: RepoArgs,

    /// Also list the migrations a host runs from this version to the newest release.
    #[arg(long, value_name = "VERSION")]
    pub from: Option<String>,

    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    pub format: Format,
}

/// Run `releases`; the result is the exit code.
pub async fn run(a: ReleasesArgs) -> Result<i32> {
    let format = a.format;
    let from = a
        .from
        .as_deref()
        .map(|v| {
            Version::parse(v.trim_start_matches('v')).map_err(|e| Error::Argument {
                flag: "--from",
                message: format!("{v:?} is not a version like 1.25.0: {e}"),
            })
        })
        .transpose()?;
    let verification = verify_for(a.repo, TargetSelection::None, None, format).await?;
    let report = crate::job::releases_of(verification, from.as_ref()).await;
    match format {
        Format::Human => print!("{}", human::render_releases(&report)),
        Format::Json => print_json(&report)?,
    }
    Ok(report.exit_code())
}
