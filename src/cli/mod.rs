//! The command line: one file per subcommand, the flag groups they share in `flags.rs`. Flags
//! become a settings value (`crate::settings`); the library resolves and runs it; a report
//! decides the exit code. An error about a setting is named here by the flag or the
//! configuration key it came from (`names.rs`).

pub mod bundle;
pub mod choices;
pub mod client;
pub mod evidence;
pub mod flags;
pub mod names;
pub mod nodes;
pub mod output;
pub mod releases;
pub mod report;
pub mod root;
pub mod ssm;
pub mod verify;

use clap::{Parser, Subcommand};

/// Prove from a trusted root that a TUF update repository (above all Bottlerocket's) can be
/// trusted, and find what in the fleet is behind its signed releases.
///
/// Exit codes: 0 every check passed (warnings allowed); 1 findings (a verification failure,
/// a root that matches no pin, an SSM mismatch, nodes behind); 2 could not run (bad
/// arguments, unreadable files, network or SSM unreachable, or this machine: a full disk, an
/// unwritable temporary directory, an --out that is not a regular file, a full stdout, SIGTERM).
#[derive(Debug, Parser)]
#[command(name = "tufwatch", version, max_term_width = 100)]
pub struct Cli {
    /// Log what happens on stderr (repeat for more detail).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Verify a TUF repository from a trusted root, and optionally download and check targets.
    Verify(Box<verify::VerifyArgs>),
    /// List the releases in the repository's signed manifest.json: newest, due, waves,
    /// migrations.
    Releases(Box<releases::ReleasesArgs>),
    /// What AWS SSM calls the latest Bottlerocket AMI per variant, arch and region, and whether
    /// it agrees with the signed repository.
    Ssm(Box<ssm::SsmCmdArgs>),
    /// Which nodes and AMIs of the fleet (kubectl, EC2 or CSV inventories) are behind.
    Nodes(Box<nodes::NodesArgs>),
    /// The nightly job from a configuration file: verify, releases, SSM and nodes in one report
    /// (human, JSON, Markdown, Prometheus).
    Report(Box<report::ReportArgs>),
    /// Audit evidence: write a bundle of what was verified; check a bundle offline.
    #[command(subcommand)]
    Evidence(evidence::EvidenceCommand),
    /// A TUF client on the strict engine (the conformance suite's command line): init,
    /// refresh, download.
    Client(Box<client::ClientArgs>),
    /// Trust anchors: fetch a root and keep it only if its sha512 matches a pin; list the pins.
    #[command(subcommand)]
    Root(root::RootCommand),
}

/// Run a parsed command line; the result is the exit code.
pub async fn run(cli: Cli) -> i32 {
    let result = match cli.command {
        Command::Verify(args) => verify::run(*args).await,
        Command::Releases(args) => releases::run(*args).await,
        Command::Ssm(args) => ssm::run(*args).await,
        Command::Nodes(args) => nodes::run(*args).await,
        Command::Report(args) => report::run(*args).await,
        Command::Evidence(cmd) => evidence::run(cmd).await,
        Command::Root(cmd) => root::run(cmd).await,
        Command::Client(args) => return client::run(*args).await,
    };
    match result.map_err(|e| names::named(e, names::SettingsFrom::Flags, &[])) {
        Ok(code) => code,
        Err(e) => {
            output::note(format_args!("tufwatch: error: {e}"));
            if let Some(hint) = names::hint(&e) {
                output::note(format_args!("tufwatch: hint: {hint}"));
            }
            e.exit_code()
        }
    }
}

/// Plan and run a job, its errors naming the settings by the flags or the configuration keys
/// they came from.
pub async fn run_job(
    settings: &crate::settings::JobSettings,
    origin: names::SettingsFrom<'_>,
    flags: &[(crate::error::Setting, &'static str)],
) -> crate::error::Result<crate::job::JobReport> {
    let planned = async {
        note_moved_state(&settings.common)?;
        crate::job::plan(settings)
    };
    let spec = planned.await.map_err(|e| names::named(e, origin, flags))?;
    crate::job::run(spec)
        .await
        .map_err(|e| names::named(e, origin, flags))
}

/// Move the saved state of an older tufwatch to the default state directory, and say so.
pub fn note_moved_state(common: &crate::settings::CommonSettings) -> crate::error::Result<()> {
    if let Some((old, new)) = common.move_legacy_state()? {
        output::note(format_args!(
            "tufwatch: moved the saved state from {} to {} (cache cleaners delete the cache directory, and with it the rollback protection)",
            old.display(),
            new.display()
        ));
    }
    Ok(())
}
