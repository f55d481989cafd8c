//! `tufwatch releases`.

use super::flags::{formats_of, RepoArgs};
use super::output;
use super::verify::verify_for;
use crate::config::OutputFormat;
use crate::engine::TargetSelection;
use crate::error::{Error, Result};
use crate::present::{html, human};
use clap::Args;
use semver::Version;
use std::path::PathBuf;

/// The formats `releases` prints: the HTML page shows the verification with each role's
/// expiry, and each track's release timeline with its waves (the page `report` makes).
const RELEASES_FORMATS: &[OutputFormat] =
    &[OutputFormat::Human, OutputFormat::Json, OutputFormat::Html];

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
    tufwatch releases --variant aws-k8s-1.31 --arch x86_64 --from 1.25.0\n  \
    tufwatch releases --variant aws-k8s-1.31 --arch x86_64 --format html --out releases.html")]
pub struct ReleasesArgs {
    /// The repository and its trust anchor.
    #[command(flatten)]
    pub repo: RepoArgs,

    /// Also list the migrations a host runs from this version to the newest release.
    #[arg(long, value_name = "VERSION")]
    pub from: Option<String>,

    /// Output format. The HTML page shows the verification with each role's expiry, and each
    /// track's release timeline with its waves.
    #[arg(long, value_parser = formats_of(RELEASES_FORMATS), default_value = "human")]
    pub format: OutputFormat,

    /// Write the output to FILE instead of printing it (atomically: a complete new file or the
    /// old one).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// Run `releases`; the result is the exit code.
pub async fn run(a: ReleasesArgs) -> Result<i32> {
    let format = a.format;
    if let Some(out) = &a.out {
        super::output::output_file("--out", out)?;
    }
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
    // A run that cannot verify still prints one JSON document when JSON is asked.
    let verification = verify_for(a.repo, TargetSelection::None, None, format).await?;
    let report = crate::job::releases_of(verification, from.as_ref()).await;
    let code = report.exit_code();
    let text = match format {
        OutputFormat::Json => crate::present::json_text(&report)? + "\n",
        OutputFormat::Html => {
            let made = html::Made {
                from: Some(command_line()),
            };
            html::render_releases(report, &made).map_err(|message| Error::Invalid {
                what: "HTML report",
                path: a
                    .out
                    .as_ref()
                    .map_or("-".to_owned(), |p| p.display().to_string()),
                message: message.to_string(),
            })?
        }
        // `--format` takes human, json or html only.
        _ => human::render_releases(&report),
    };
    match &a.out {
        Some(path) => super::output::write_text(path, &text)?,
        None => output::print(&text)?,
    }
    Ok(code)
}

/// The command line, for the page to say how it was made (each word quoted for a shell when
/// it needs to be; a word that is not Unicode, with its undecodable bytes replaced).
fn command_line() -> String {
    std::iter::once("tufwatch".to_owned())
        .chain(
            std::env::args_os()
                .skip(1)
                .map(|a| crate::text::shell_word(&a.to_string_lossy())),
        )
        .collect::<Vec<_>>()
        .join(" ")
}
