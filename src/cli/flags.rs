//! The flag groups the subcommands share, each turned into the settings value the library
//! takes: the trust anchor and network (`CommonArgs`), one repository (`RepoArgs`), SSM
//! (`SsmArgs`), the fleet's policy (`PolicyArgs`), and the output format of one report.

use crate::config::OutputFormat;
use crate::engine::{Engines, TargetSelection};
use crate::settings::{
    defaults, CommonSettings, Duration, Location, RepoSettings, Size, SsmSettings, StateDir,
};
use crate::source::bottlerocket::DEFAULT_REPO_BASE;
use chrono::{DateTime, Utc};
use clap::{Args, ValueEnum};
use std::path::PathBuf;

/// Parse an RFC 3339 time (`2026-01-01T00:00:00Z`).
pub fn parse_time(s: &str) -> Result<DateTime<Utc>, crate::settings::ValueError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.to_utc())
        .map_err(|_| crate::settings::ValueError {
            value: s.to_owned(),
            expected: "an RFC 3339 time like 2026-01-01T00:00:00Z",
        })
}

/// The formats a report of one repository is printed in.
pub const HUMAN_OR_JSON: &[OutputFormat] = &[OutputFormat::Human, OutputFormat::Json];

/// The value parser of a `--format` that takes only `some` of the output formats (each named
/// and explained as `report --format` names it).
pub fn formats_of(
    some: &'static [OutputFormat],
) -> impl clap::builder::TypedValueParser<Value = OutputFormat> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(some.iter().filter_map(ValueEnum::to_possible_value))
        .try_map(|name| OutputFormat::from_str(&name, false))
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

impl RepoArgs {
    /// The repository's settings, with the targets to fetch and where to write them.
    pub fn settings(
        &self,
        targets: TargetSelection,
        out_dir: Option<PathBuf>,
    ) -> crate::error::Result<RepoSettings> {
        use crate::error::Error;
        let location = match (&self.variant, &self.arch) {
            (Some(variant), Some(arch)) => Location::Bottlerocket {
                variant: variant.clone(),
                arch: arch.clone(),
            },
            _ => Location::Urls {
                metadata: self.metadata_url.clone().ok_or_else(|| Error::Argument {
                    flag: "--metadata-url",
                    message: "give --metadata-url and --targets-url (with --root), or --variant and --arch for Bottlerocket".to_owned(),
                })?,
                targets: self.targets_url.clone().ok_or_else(|| Error::Argument {
                    flag: "--targets-url",
                    message: "give --targets-url too: where the repository's targets are"
                        .to_owned(),
                })?,
            },
        };
        Ok(RepoSettings {
            location,
            common: self.common.settings(),
            targets,
            out_dir,
        })
    }
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
    #[arg(long, value_name = "DURATION", default_value_t = defaults::EXPIRY_WARNING)]
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
    #[arg(long, value_name = "SECONDS", default_value_t = defaults::TIMEOUT_SECS)]
    pub timeout: u64,

    /// The slowest an answer may arrive once --timeout has passed, in bytes a second; slower
    /// is a slow_retrieval finding (0: no minimum).
    #[arg(long, value_name = "BYTES", default_value_t = defaults::MIN_RATE)]
    pub min_rate: u64,

    /// Largest root.json accepted, the trust anchor (--root) included.
    #[arg(long, value_name = "SIZE", default_value_t = defaults::MAX_ROOT_SIZE)]
    pub max_root_size: Size,

    /// Largest timestamp.json accepted.
    #[arg(long, value_name = "SIZE", default_value_t = defaults::MAX_TIMESTAMP_SIZE)]
    pub max_timestamp_size: Size,

    /// Largest snapshot.json accepted when the timestamp does not give its length.
    #[arg(long, value_name = "SIZE", default_value_t = defaults::MAX_SNAPSHOT_SIZE)]
    pub max_snapshot_size: Size,

    /// Largest targets metadata accepted when the snapshot does not give its length.
    #[arg(long, value_name = "SIZE", default_value_t = defaults::MAX_TARGETS_SIZE)]
    pub max_targets_size: Size,

    /// The longest the whole run may take (metadata, targets, the manifest, and SSM's reads):
    /// 30m, 2h. Past it, the run stops with an `unreachable` finding (exit 2).
    #[arg(long, value_name = "DURATION", default_value_t = defaults::DEADLINE)]
    pub deadline: Duration,

    /// Never show progress bars (they show only on a terminal anyway).
    #[arg(long)]
    pub no_progress: bool,

    /// Which TUF engines verify the metadata: tough (what Bottlerocket hosts run, with
    /// tufwatch's checks); both tough and the strict engine (the specification's client
    /// workflow to the letter), which must both accept, a disagreement being a finding; or
    /// strict, where the strict engine decides and what tough alone objects to is a warning.
    #[arg(long = "engine", value_enum, default_value = "both")]
    pub engines: Engines,
}

impl CommonArgs {
    /// The settings these flags give.
    pub fn settings(&self) -> CommonSettings {
        CommonSettings {
            root: self.root.clone(),
            root_sha512: self.root_sha512.clone(),
            repo_base: self.repo_base.clone(),
            expiry_warning: self.expiry_warning,
            at: self.at,
            state_dir: match (&self.state_dir, self.no_state) {
                (_, true) => StateDir::None,
                (Some(dir), false) => StateDir::At(dir.clone()),
                (None, false) => StateDir::Default,
            },
            timeout_secs: self.timeout,
            min_rate: self.min_rate,
            max_root_size: self.max_root_size,
            max_timestamp_size: self.max_timestamp_size,
            max_snapshot_size: self.max_snapshot_size,
            max_targets_size: self.max_targets_size,
            deadline: self.deadline,
            progress: !self.no_progress,
            engines: self.engines,
        }
    }
}

/// Where SSM values come from, and how to reach the API.
#[derive(Debug, Args)]
pub struct SsmArgs {
    /// Read SSM values from FILE instead of the AWS API: the JSON that `aws ssm
    /// get-parameters-by-path --path /aws/service/bottlerocket --recursive` prints (repeatable;
    /// up to 512 MiB each). From the API, an answer above 1 MiB is refused.
    #[arg(long, value_name = "FILE")]
    pub ssm_file: Vec<PathBuf>,

    /// AWS region to read (repeatable) [default: the AWS configuration's region; with
    /// --ssm-file, every region in the files].
    #[arg(long = "region", value_name = "REGION")]
    pub regions: Vec<String>,

    /// AWS profile for credentials and the default region [default: AWS_PROFILE, or default].
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,

    /// SSM endpoint, e.g. a local test endpoint [default: AWS_ENDPOINT_URL_SSM, or AWS's].
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,

    /// How many SSM calls may run at once, across regions.
    #[arg(long, value_name = "N", default_value_t = defaults::SSM_CONCURRENCY)]
    pub ssm_concurrency: usize,

    /// Attempts per SSM call (throttling and server errors are retried with backoff).
    #[arg(long, value_name = "N", default_value_t = defaults::SSM_MAX_ATTEMPTS)]
    pub ssm_max_attempts: u32,

    /// The first retry's backoff; each next one doubles, with jitter, up to 20s.
    #[arg(long, value_name = "DURATION", default_value_t = defaults::SSM_BACKOFF)]
    pub ssm_backoff: Duration,
}

impl SsmArgs {
    /// The SSM settings these flags give, for these variants and architectures.
    pub fn settings(
        &self,
        variants: &[String],
        archs: &[String],
        cross_check: bool,
    ) -> SsmSettings {
        SsmSettings {
            files: self.ssm_file.clone(),
            regions: self.regions.clone(),
            variants: variants.to_vec(),
            archs: archs.to_vec(),
            profile: self.profile.clone(),
            endpoint_url: self.endpoint_url.clone(),
            concurrency: self.ssm_concurrency,
            max_attempts: self.ssm_max_attempts,
            backoff: self.ssm_backoff,
            cross_check,
            only_for_launch_amis: false,
        }
    }
}

/// When nodes behind count as findings.
#[derive(Debug, Args)]
pub struct PolicyArgs {
    /// Only nodes more than N releases behind the due release are findings.
    #[arg(long, value_name = "N")]
    pub max_releases_behind: Option<u32>,

    /// Only nodes behind a release due for more than DAYS days are findings.
    #[arg(long, value_name = "DAYS")]
    pub max_days_behind: Option<f64>,

    /// A node read from its cluster whose update stays in one state longer than this is
    /// update_stuck: 1h, 30m.
    #[arg(long, value_name = "DURATION", default_value_t = defaults::UPDATE_STUCK_AFTER)]
    pub update_stuck_after: Duration,

    /// Nodes behind a release that became due less than this ago are a note, not a finding:
    /// 1d, 12h; 0 is none.
    #[arg(long, value_name = "DURATION", default_value_t = defaults::NODES_GRACE)]
    pub nodes_grace: Duration,
}

impl PolicyArgs {
    /// The policy these flags give.
    pub fn policy(&self) -> crate::fleet::BehindLimits {
        crate::fleet::BehindLimits {
            max_releases_behind: self.max_releases_behind,
            max_days_behind: self.max_days_behind,
            update_stuck_after: Some(self.update_stuck_after.to_std()),
            nodes_grace: Some(self.nodes_grace.to_std()),
        }
    }
}
