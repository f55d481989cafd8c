//! `tufwatch client`: a TUF client on the strict engine, with the command line of the TUF
//! conformance suite (its `CLIENT-CLI.md`): `init`, `refresh`, `download`. Also a secure
//! downloader by itself. Exit 0 on success, 1 on any failure.

use super::flags::parse_time;
use crate::engine::strict::client::{init, Client, Limits};
use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};
use std::path::PathBuf;
use url::Url;

/// Update trusted TUF metadata and download targets with the strict engine, which follows the
/// specification's client workflow step by step.
///
/// The metadata directory holds the trusted metadata under plain names (root.json,
/// timestamp.json, snapshot.json, targets.json, <role>.json), with exactly the bytes received.
///
/// Exit codes: 0 success; 1 any failure (the reason on stderr).
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    tufwatch client --metadata-dir md init root.json\n  \
    tufwatch client --metadata-dir md --metadata-url https://example.com/metadata/ refresh\n  \
    tufwatch client --metadata-dir md --metadata-url https://example.com/metadata/ --target-name a.txt --target-dir out --target-base-url https://example.com/targets/ download")]
pub struct ClientArgs {
    /// The directory of the trusted metadata.
    #[arg(long, value_name = "DIR")]
    pub metadata_dir: PathBuf,

    /// Where the repository's metadata is (http, https or file URL).
    #[arg(long, value_name = "URL")]
    pub metadata_url: Option<Url>,

    /// A target to download (repeatable).
    #[arg(long = "target-name", value_name = "NAME")]
    pub target_names: Vec<String>,

    /// Where downloaded targets are written (as their percent-encoded names).
    #[arg(long, value_name = "DIR")]
    pub target_dir: Option<PathBuf>,

    /// Where the repository's targets are.
    #[arg(long, value_name = "URL")]
    pub target_base_url: Option<Url>,

    /// Judge expiry as of this moment (RFC 3339) instead of now.
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub at: Option<DateTime<Utc>>,

    /// Most root versions walked in one update.
    #[arg(long, value_name = "N", default_value = "32")]
    pub max_root_rotations: u64,

    /// Most targets roles visited when searching for a target.
    #[arg(long, value_name = "N", default_value = "32")]
    pub max_delegations: usize,

    /// What to do.
    #[command(subcommand)]
    pub action: Action,
}

/// The client's commands.
#[derive(Debug, Subcommand)]
pub enum Action {
    /// Trust ROOT: copy its exact bytes to the metadata directory as root.json. No request.
    Init {
        /// The trusted root.json.
        #[arg(value_name = "ROOT")]
        root: PathBuf,
    },
    /// Update the trusted metadata: root rotations, timestamp, snapshot, targets.
    Refresh,
    /// Update, then find each --target-name through the delegations and download it, checked
    /// against its signed length and hashes.
    Download,
}

/// Run `client`; the result is the exit code.
pub async fn run(a: ClientArgs) -> i32 {
    match run_inner(a).await {
        Ok(()) => 0,
        Err(e) => {
            super::output::note(format_args!("tufwatch client: {e}"));
            1
        }
    }
}

async fn run_inner(a: ClientArgs) -> Result<(), Box<dyn std::error::Error>> {
    let limits = Limits {
        max_root_rotations: a.max_root_rotations,
        max_delegations: a.max_delegations,
        ..Limits::default()
    };
    let now = a.at.unwrap_or_else(Utc::now);
    let metadata_url = || {
        a.metadata_url
            .clone()
            .ok_or("--metadata-url is needed for refresh and download")
    };
    match &a.action {
        Action::Init { root } => {
            let bytes = crate::source::read_at_most(root, limits.max_root_size)
                .map_err(|e| format!("{}: {e}", root.display()))?;
            init(&a.metadata_dir, &bytes)?;
        }
        Action::Refresh => {
            let mut client = Client::new(&a.metadata_dir, metadata_url()?, limits, now)?;
            client.refresh().await?;
        }
        Action::Download => {
            let target_dir = a
                .target_dir
                .clone()
                .ok_or("--target-dir is needed for download")?;
            let base = a
                .target_base_url
                .clone()
                .ok_or("--target-base-url is needed for download")?;
            if a.target_names.is_empty() {
                return Err("name at least one --target-name".into());
            }
            let mut client = Client::new(&a.metadata_dir, metadata_url()?, limits, now)?;
            client.refresh().await?;
            for name in &a.target_names {
                client.download(name, &target_dir, &base).await?;
            }
        }
    }
    Ok(())
}
