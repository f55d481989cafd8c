//! The settings of a run, as the command line or a job's configuration gives them, with every
//! default written once, and their resolution into the options the engines take.
//!
//! An error about a value names a [`Setting`], never a flag or a key: the command line turns
//! it into the flag it was given with (`--state-dir`), or the configuration's key
//! (`trust.state_dir`), whichever the run came from.

use crate::engine::{Engines, TargetSelection, VerifyOptions};
pub use crate::error::{Setting, ValueError};

use crate::error::{Error, Result};
use crate::source::bottlerocket::{self, Arch};
use crate::source::location::parse_location;
use crate::source::pins::{parse_sha512_arg, TrustedRoot};
use crate::source::state::{default_state_root, migrate_legacy_state};
use crate::source::transport::NetOptions;
use chrono::{DateTime, Utc};
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use url::Url;

/// A length of time, written in jiff's friendly format (`3d`, `72h`, `30m`, `500ms`,
/// `1h 30m`; a day is 24 hours), or `0` for none. One syntax for every flag and key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Duration(std::time::Duration);

/// The longest duration any setting takes: a hundred years.
const LONGEST: std::time::Duration = std::time::Duration::from_secs(100 * 365 * 86_400);

impl Duration {
    /// This many seconds.
    pub const fn from_secs(secs: u64) -> Self {
        Duration(std::time::Duration::from_secs(secs))
    }

    /// This many milliseconds.
    pub const fn from_millis(millis: u64) -> Self {
        Duration(std::time::Duration::from_millis(millis))
    }

    /// As the standard library's duration.
    pub fn to_std(self) -> std::time::Duration {
        self.0
    }

    /// As chrono's, for arithmetic on time points.
    pub fn to_chrono(self) -> chrono::Duration {
        // At most a hundred years (`LONGEST`): always within chrono's range.
        chrono::Duration::from_std(self.0).unwrap_or(chrono::Duration::MAX)
    }

    /// Whether this is no time at all.
    pub fn is_zero(self) -> bool {
        self.0.is_zero()
    }
}

impl FromStr for Duration {
    type Err = ValueError;

    fn from_str(s: &str) -> std::result::Result<Self, ValueError> {
        let bad = || ValueError {
            value: s.to_owned(),
            expected: "a duration like 3d, 12h, 30m, 500ms or 0",
        };
        let t = s.trim();
        // jiff's friendly format wants a unit; a bare `0` means none.
        if t == "0" {
            return Ok(Duration::default());
        }
        let span: jiff::Span = t.parse().map_err(|_| bad())?;
        let signed = span
            .to_duration(jiff::SpanRelativeTo::days_are_24_hours())
            .map_err(|_| bad())?;
        std::time::Duration::try_from(signed)
            .ok()
            .filter(|d| *d <= LONGEST)
            .map(Duration)
            .ok_or_else(bad)
    }
}

impl fmt::Display for Duration {
    /// In the largest unit that writes it whole (`3d`, `1h`, `500ms`): what `--help` shows as
    /// a default, and what parses back to the same value.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let millis = self.0.as_millis();
        let units = [
            (86_400_000, "d"),
            (3_600_000, "h"),
            (60_000, "m"),
            (1000, "s"),
        ];
        if millis == 0 {
            return f.write_str("0");
        }
        match units.iter().find(|(size, _)| millis.is_multiple_of(*size)) {
            Some((size, unit)) => write!(f, "{}{unit}", millis / size),
            None => write!(f, "{millis}ms"),
        }
    }
}

impl<'de> serde::Deserialize<'de> for Duration {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A size in bytes, with an optional `K`, `M` or `G` (powers of 1024; `KiB` etc. too).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size(pub u64);

impl FromStr for Size {
    type Err = ValueError;

    fn from_str(s: &str) -> std::result::Result<Self, ValueError> {
        let bad = || ValueError {
            value: s.to_owned(),
            expected: "a size like 1048576, 512K, 10M or 1G",
        };
        let t = s.trim();
        let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
        let (n, unit) = t.split_at(split);
        let n: u64 = n.parse().map_err(|_| bad())?;
        let mult = match unit.trim().to_ascii_uppercase().as_str() {
            "" | "B" => 1,
            "K" | "KB" | "KIB" => 1 << 10,
            "M" | "MB" | "MIB" => 1 << 20,
            "G" | "GB" | "GIB" => 1 << 30,
            _ => return Err(bad()),
        };
        n.checked_mul(mult)
            .filter(|v| *v > 0)
            .map(Size)
            .ok_or_else(bad)
    }
}

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let units = [(1u64 << 30, "G"), (1 << 20, "M"), (1 << 10, "K")];
        match units.iter().find(|(size, _)| self.0.is_multiple_of(*size)) {
            Some((size, unit)) => write!(f, "{}{unit}", self.0 / size),
            None => write!(f, "{}", self.0),
        }
    }
}

/// Every default of the command line and of a job's configuration, written once.
pub mod defaults {
    use super::{Duration, Size};

    /// Warn about roles that expire within this window.
    pub const EXPIRY_WARNING: Duration = Duration::from_secs(3 * 86_400);
    /// The longest a run may take.
    pub const DEADLINE: Duration = Duration::from_secs(3600);
    /// The longest `root fetch` may take.
    pub const ROOT_FETCH_DEADLINE: Duration = Duration::from_secs(600);
    /// Seconds to wait for a connection, and for the next bytes of an answer.
    pub const TIMEOUT_SECS: u64 = 30;
    /// The slowest an answer may arrive once the timeout has passed, in bytes a second.
    pub const MIN_RATE: u64 = 1024;
    /// Largest root.json accepted.
    pub const MAX_ROOT_SIZE: Size = Size(1 << 20);
    /// Largest timestamp.json accepted.
    pub const MAX_TIMESTAMP_SIZE: Size = Size(1 << 20);
    /// Largest snapshot.json accepted when the timestamp does not give its length.
    pub const MAX_SNAPSHOT_SIZE: Size = Size(1 << 20);
    /// Largest targets metadata accepted when the snapshot does not give its length.
    pub const MAX_TARGETS_SIZE: Size = Size(10 << 20);
    /// Root rotations walked at most in one run.
    pub const MAX_ROOT_UPDATES: u64 = 1024;
    /// Repositories the nightly job (`report`) verifies at once.
    pub const JOB_CONCURRENCY: usize = 32;
    /// Repositories `ssm`, `nodes` and `evidence create --config` verify at once.
    pub const CONCURRENCY: usize = 4;
    /// SSM calls at once, across regions.
    pub const SSM_CONCURRENCY: usize = 8;
    /// Attempts per SSM call.
    pub const SSM_MAX_ATTEMPTS: u32 = 5;
    /// The first backoff between SSM attempts.
    pub const SSM_BACKOFF: Duration = Duration::from_millis(500);
    /// The longest a node's update may stay in one state before it is `update_stuck`.
    pub const UPDATE_STUCK_AFTER: Duration = Duration::from_secs(3600);
    /// How long SSM may lag a due release before `ssm_behind`: AWS publishes a release's
    /// parameters hours to days after it is signed.
    pub const SSM_GRACE: Duration = Duration::from_secs(72 * 3600);
    /// How long nodes may lag a release that just became due before `nodes_behind`: none, as
    /// "due" already means every wave of the release has started.
    pub const NODES_GRACE: Duration = Duration::from_secs(0);
}

/// The seconds of a timeout setting, within what makes sense (a second to an hour).
pub fn timeout(secs: u64) -> std::time::Duration {
    std::time::Duration::from_secs(secs.clamp(1, 3600))
}

/// Where the trusted metadata is kept between runs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum StateDir {
    /// The user's state directory (`$XDG_STATE_HOME/tufwatch/state`).
    #[default]
    Default,
    /// This directory.
    At(PathBuf),
    /// Nowhere: no rollback protection between runs.
    None,
}

/// What every verification of a run shares, as given: the trust anchor, the Bottlerocket
/// repository base, the saved state, the reference time, limits and network settings.
#[derive(Debug, Clone)]
pub struct CommonSettings {
    /// The trusted root.json; Bottlerocket's embedded root when `None`.
    pub root: Option<PathBuf>,
    /// The SHA-512 the `root` file must have.
    pub root_sha512: Option<String>,
    /// Base URL (or directory) of Bottlerocket's repository layout.
    pub repo_base: String,
    /// Warn about roles that expire within this window.
    pub expiry_warning: Duration,
    /// The reference time, when not now.
    pub at: Option<DateTime<Utc>>,
    /// Where the trusted metadata is kept between runs.
    pub state_dir: StateDir,
    /// Seconds to wait for a connection, and for the next bytes of an answer.
    pub timeout_secs: u64,
    /// The slowest an answer may arrive once the timeout has passed (bytes a second; 0: none).
    pub min_rate: u64,
    /// Largest root.json accepted, the trust anchor included.
    pub max_root_size: Size,
    /// Largest timestamp.json accepted.
    pub max_timestamp_size: Size,
    /// Largest snapshot.json accepted when the timestamp does not give its length.
    pub max_snapshot_size: Size,
    /// Largest targets metadata accepted when the snapshot does not give its length.
    pub max_targets_size: Size,
    /// The longest one verification may take.
    pub deadline: Duration,
    /// Show progress bars (on a terminal only).
    pub progress: bool,
    /// Which engines verify.
    pub engines: Engines,
}

impl Default for CommonSettings {
    fn default() -> Self {
        CommonSettings {
            root: None,
            root_sha512: None,
            repo_base: bottlerocket::DEFAULT_REPO_BASE.to_owned(),
            expiry_warning: defaults::EXPIRY_WARNING,
            at: None,
            state_dir: StateDir::Default,
            timeout_secs: defaults::TIMEOUT_SECS,
            min_rate: defaults::MIN_RATE,
            max_root_size: defaults::MAX_ROOT_SIZE,
            max_timestamp_size: defaults::MAX_TIMESTAMP_SIZE,
            max_snapshot_size: defaults::MAX_SNAPSHOT_SIZE,
            max_targets_size: defaults::MAX_TARGETS_SIZE,
            deadline: defaults::DEADLINE,
            progress: true,
            engines: Engines::default(),
        }
    }
}

/// A deadline setting's value as a duration above zero.
pub fn deadline(d: Duration) -> Result<std::time::Duration> {
    Some(d.to_std())
        .filter(|d| !d.is_zero())
        .ok_or_else(|| Error::Setting {
            setting: Setting::Deadline,
            message: "give a duration above zero, like 30m".to_owned(),
        })
}

impl CommonSettings {
    /// The trust anchor: the `root` file, pinned to `root_sha512` when given, else
    /// Bottlerocket's embedded root.
    pub fn anchor(&self) -> Result<TrustedRoot> {
        match &self.root {
            Some(path) => {
                let expected = self
                    .root_sha512
                    .as_deref()
                    .map(|h| parse_sha512_arg(Setting::RootSha512, h))
                    .transpose()?;
                TrustedRoot::read(path, self.max_root_size.0)?.pin(expected.as_deref(), None)
            }
            None if self.root_sha512.is_some() => Err(Error::Setting {
                setting: Setting::RootSha512,
                message: "checks the trusted root file, and none was given (without one, Bottlerocket's embedded root is the anchor)".to_owned(),
            }),
            None => TrustedRoot::embedded_bottlerocket(),
        }
    }

    /// Move the saved state of an older tufwatch to where the default state directory is now;
    /// gives the directories it moved it from and to.
    pub fn move_legacy_state(&self) -> Result<Option<(PathBuf, PathBuf)>> {
        if self.state_dir != StateDir::Default {
            return Ok(None);
        }
        let Some(root) = default_state_root() else {
            return Ok(None);
        };
        Ok(migrate_legacy_state(&root)?.map(|old| (old, root)))
    }

    /// The state directory chosen: the one named, the user's, or none (no state kept).
    pub fn state_root(&self) -> Result<Option<PathBuf>> {
        Ok(match &self.state_dir {
            StateDir::None => None,
            StateDir::At(dir) => Some(dir.clone()),
            StateDir::Default => Some(default_state_root().ok_or_else(|| Error::Setting {
                setting: Setting::StateDir,
                message: "no home directory for the saved state; name a state directory, or keep no state".to_owned(),
            })?),
        })
    }

    /// Resolve the settings with their trust anchor: the anchor read and pinned, the
    /// locations parsed, the state directory chosen. Nothing is downloaded: the engines walk
    /// the root rotations from the anchor in the repository itself (TUF 5.3).
    pub fn resolve(&self) -> Result<Resolved> {
        self.resolve_with(self.anchor()?)
    }

    /// Resolve the settings with a trust anchor already chosen.
    pub fn resolve_with(&self, root: TrustedRoot) -> Result<Resolved> {
        let state_root = self.state_root()?;
        Ok(Resolved {
            root,
            repo_base: parse_location(Setting::RepoBase, &self.repo_base)?,
            at: self.at,
            expiry_warning: self.expiry_warning.to_chrono(),
            limits: tough::Limits {
                max_root_size: self.max_root_size.0,
                max_targets_size: self.max_targets_size.0,
                max_timestamp_size: self.max_timestamp_size.0,
                max_snapshot_size: self.max_snapshot_size.0,
                max_root_updates: defaults::MAX_ROOT_UPDATES,
            },
            state_root,
            net: NetOptions {
                connect_timeout: timeout(self.timeout_secs),
                read_timeout: timeout(self.timeout_secs),
                min_rate: self.min_rate,
                ..NetOptions::default()
            },
            progress: self.progress,
            deadline: deadline(self.deadline)?,
            engines: self.engines,
        })
    }
}

/// The shared settings, resolved: everything but the repository's location.
#[derive(Clone)]
pub struct Resolved {
    /// The trust anchor.
    pub root: TrustedRoot,
    /// Base of the Bottlerocket repository layout.
    pub repo_base: Url,
    /// Reference time, when not now.
    pub at: Option<DateTime<Utc>>,
    /// The expiry warning window.
    pub expiry_warning: chrono::Duration,
    /// Metadata size limits.
    pub limits: tough::Limits,
    /// Parent directory of saved states; `None` keeps no state.
    pub state_root: Option<PathBuf>,
    /// Network settings.
    pub net: NetOptions,
    /// Progress bars.
    pub progress: bool,
    /// The deadline of one verification.
    pub deadline: std::time::Duration,
    /// Which engines verify.
    pub engines: Engines,
}

impl Resolved {
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

/// Where one repository is: Bottlerocket's layout, or explicit URLs.
#[derive(Debug, Clone)]
pub enum Location {
    /// A variant and architecture below the repository base.
    Bottlerocket {
        /// The variant, e.g. `aws-k8s-1.31`.
        variant: String,
        /// The architecture, as given (`x86_64`, `amd64`, `aarch64`, `arm64`).
        arch: String,
    },
    /// Explicit locations (URLs or directories).
    Urls {
        /// Where the metadata is.
        metadata: String,
        /// Where the targets are.
        targets: String,
    },
}

/// One repository to verify, as given, with the shared settings.
#[derive(Debug, Clone)]
pub struct RepoSettings {
    /// Where it is.
    pub location: Location,
    /// The trust anchor, state, limits and network settings.
    pub common: CommonSettings,
    /// Targets to download and check.
    pub targets: TargetSelection,
    /// Where to write verified targets.
    pub out_dir: Option<PathBuf>,
}

impl RepoSettings {
    /// The options to verify it, and its trust anchor.
    pub fn resolve(&self) -> Result<(VerifyOptions, TrustedRoot)> {
        let mut options = match &self.location {
            Location::Bottlerocket { variant, arch } => {
                bottlerocket::check_variant(variant)?;
                let arch = Arch::parse(arch)?;
                let common = self.common.resolve()?;
                (common.bottlerocket(variant, arch)?, common.root)
            }
            Location::Urls { metadata, targets } => {
                if self.common.root.is_none() {
                    return Err(Error::Setting {
                        setting: Setting::Root,
                        message: "give the trusted root.json of this repository (only Bottlerocket's has built-in pins, by variant and architecture)".to_owned(),
                    });
                }
                let m = parse_location(Setting::MetadataUrl, metadata)?;
                let t = parse_location(Setting::TargetsUrl, targets)?;
                let common = self.common.resolve()?;
                (common.options(m, t, None, None), common.root)
            }
        };
        options.0.targets = self.targets.clone();
        options.0.out_dir = self.out_dir.clone();
        Ok(options)
    }
}

/// Parse lists of variants and architectures (each architecture once).
pub fn variants_and_archs(
    variants: &[String],
    archs: &[String],
) -> Result<(Vec<String>, Vec<Arch>)> {
    for v in variants {
        bottlerocket::check_variant(v)?;
    }
    let mut parsed = Vec::new();
    for a in archs {
        let a = Arch::parse(a)?;
        if !parsed.contains(&a) {
            parsed.push(a);
        }
    }
    Ok((variants.to_vec(), parsed))
}

/// Bottlerocket variants and architectures to verify, in Bottlerocket's layout.
#[derive(Debug, Clone, Default)]
pub struct BottlerocketSettings {
    /// Variants, e.g. `aws-k8s-1.31`.
    pub variants: Vec<String>,
    /// Architectures; both when empty.
    pub archs: Vec<String>,
}

/// A repository of a job at explicit locations.
#[derive(Debug, Clone)]
pub struct RepositorySettings {
    /// The name in the report.
    pub name: String,
    /// Where the metadata is (URL or directory).
    pub metadata_url: String,
    /// Where the targets are (URL or directory).
    pub targets_url: String,
    /// Its own trusted root, when not the job's.
    pub root: Option<PathBuf>,
    /// Refuse its root unless its SHA-512 is this.
    pub root_sha512: Option<String>,
    /// How evidence names it (its public URL), when its metadata URL does not: a local copy.
    pub resource_uri: Option<String>,
}

/// EC2 read live: the fleet's running instances and the AMIs they and SSM name. How to reach AWS
/// (profile, endpoint, calls at once, attempts, backoff) is SSM's settings'.
#[derive(Debug, Clone, Default)]
pub struct Ec2Settings {
    /// Regions; the SSM regions, else the AWS configuration's default region, when empty.
    pub regions: Vec<String>,
    /// Accounts read through roles assumed from the base credentials; the base credentials'
    /// own account when empty.
    pub roles: Vec<crate::aws::ec2::AssumeRole>,
    /// Accounts whose copies of Bottlerocket's AMIs are trusted besides its publisher.
    pub image_owners: Vec<String>,
}

/// Where SSM values come from and how to reach the API.
#[derive(Debug, Clone)]
pub struct SsmSettings {
    /// Files of `aws ssm get-parameters-by-path` output; the API when empty.
    pub files: Vec<PathBuf>,
    /// Regions; for the API, the AWS configuration's default region when empty.
    pub regions: Vec<String>,
    /// Variants to read; those in play when empty.
    pub variants: Vec<String>,
    /// Architectures; both when empty.
    pub archs: Vec<String>,
    /// The AWS profile.
    pub profile: Option<String>,
    /// Another SSM endpoint.
    pub endpoint_url: Option<String>,
    /// Calls at once, across regions.
    pub concurrency: usize,
    /// Attempts per call.
    pub max_attempts: u32,
    /// The first backoff between attempts.
    pub backoff: Duration,
    /// Cross-check against the signed manifests.
    pub cross_check: bool,
    /// Read SSM only when an inventory lists EC2 instances (whose launch AMIs SSM maps to
    /// versions).
    pub only_for_launch_amis: bool,
}

impl Default for SsmSettings {
    fn default() -> Self {
        SsmSettings {
            files: Vec::new(),
            regions: Vec::new(),
            variants: Vec::new(),
            archs: Vec::new(),
            profile: None,
            endpoint_url: None,
            concurrency: defaults::SSM_CONCURRENCY,
            max_attempts: defaults::SSM_MAX_ATTEMPTS,
            backoff: defaults::SSM_BACKOFF,
            cross_check: true,
            only_for_launch_amis: false,
        }
    }
}

/// What keeps a repository's evidence files for a job's bundle: its verification, its trust
/// anchor, what its signed manifest gave and how its statement names the verifier and the
/// repository, to file name -> bytes.
pub type KeepEvidence = fn(
    &crate::engine::Verification,
    &TrustedRoot,
    &crate::releases::ManifestRead,
    &StatementNames,
) -> std::collections::BTreeMap<String, Vec<u8>>;

/// How an evidence statement names who verified and what (the VSA's `verifier.id` and
/// `resourceUri`): each a URI that means the same on any machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementNames {
    /// Who verified: the operator's verifier, by its trust base.
    pub verifier_id: String,
    /// The repository: its public metadata URL, or the one declared for a local copy.
    pub resource_uri: String,
}

/// The evidence a job keeps of each repository, for its bundle.
#[derive(Debug, Clone)]
pub struct EvidenceSettings {
    /// What makes the files (the caller names it: `evidence::repository_files`).
    pub keep: KeepEvidence,
    /// The statements' `verifier.id`.
    pub verifier_id: String,
}

/// An inventory of the fleet to read.
#[derive(Debug, Clone)]
pub struct InventorySettings {
    /// The file, or `-` for standard input.
    pub path: PathBuf,
    /// Its format; detected from the content when `None`.
    pub format: Option<crate::fleet::inventory::InventoryFormat>,
}

/// A Kubernetes cluster to read: a context of a kubeconfig, or the pod's own service account.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KubernetesSettings {
    /// How the report names it [default: the context's name, or `in-cluster`].
    pub name: Option<String>,
    /// The kubeconfig [default: `$KUBECONFIG`, else `~/.kube/config`].
    pub kubeconfig: Option<PathBuf>,
    /// The context [default: the kubeconfig's current context].
    pub context: Option<String>,
    /// The pod's service account, as a CronJob in the cluster has, instead of a kubeconfig.
    pub in_cluster: bool,
}

/// A job, as given: by a configuration file (`report`, `evidence create --config`) or by the
/// flags of `ssm` and `nodes`. `job::plan` resolves it.
#[derive(Debug, Clone)]
pub struct JobSettings {
    /// The trust anchor, state, limits and network settings every repository shares.
    pub common: CommonSettings,
    /// Bottlerocket variants and architectures to verify.
    pub bottlerocket: Option<BottlerocketSettings>,
    /// Repositories at explicit locations.
    pub repositories: Vec<RepositorySettings>,
    /// Also verify the Bottlerocket repositories that the fleet and SSM bring into play.
    pub derive_repositories: bool,
    /// SSM, when read.
    pub ssm: Option<SsmSettings>,
    /// EC2 read live, when asked.
    pub ec2: Option<Ec2Settings>,
    /// Inventories of the fleet.
    pub inventories: Vec<InventorySettings>,
    /// Kubernetes clusters read live.
    pub kubernetes: Vec<KubernetesSettings>,
    /// When nodes behind are findings.
    pub policy: crate::fleet::BehindLimits,
    /// Repositories verified at once.
    pub concurrency: usize,
    /// Keep each repository's evidence files, for an evidence bundle of the job.
    pub evidence: Option<EvidenceSettings>,
    /// What the nightly job adds: waivers, the categories that fail the run, SSM's grace.
    pub nightly: NightlySettings,
}

/// What the nightly job (`report --config`) adds to a job; the defaults for `ssm` and `nodes`.
#[derive(Debug, Clone, PartialEq)]
pub struct NightlySettings {
    /// Findings the team accepted.
    pub waivers: crate::waiver::Waivers,
    /// The categories whose findings fail the run (a `trust` finding always does).
    pub fail_on: Vec<crate::report::Category>,
    /// How long SSM may lag a due release before `ssm_behind`.
    pub ssm_grace: Duration,
}

impl Default for NightlySettings {
    fn default() -> Self {
        NightlySettings {
            waivers: crate::waiver::Waivers::default(),
            fail_on: crate::report::Category::ALL.to_vec(),
            ssm_grace: defaults::SSM_GRACE,
        }
    }
}

impl Default for JobSettings {
    fn default() -> Self {
        JobSettings {
            common: CommonSettings::default(),
            bottlerocket: None,
            repositories: Vec::new(),
            derive_repositories: false,
            ssm: None,
            ec2: None,
            inventories: Vec::new(),
            kubernetes: Vec::new(),
            policy: crate::fleet::BehindLimits::default(),
            concurrency: defaults::CONCURRENCY,
            evidence: None,
            nightly: NightlySettings::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_in_one_syntax() {
        let secs = |s: &str| s.parse::<Duration>().map(|d| d.to_std().as_secs_f64());
        assert_eq!(secs("3d"), Ok(259_200.0));
        assert_eq!(secs("72h"), Ok(259_200.0));
        assert_eq!(secs("1h 30m"), Ok(5400.0));
        assert_eq!(secs("500ms"), Ok(0.5));
        assert_eq!(secs("0"), Ok(0.0));
        assert_eq!(secs("2w"), Ok(1_209_600.0));
        for bad in ["", "d", "3x", "-1d", "1mo", "1y", "99999999d", "3"] {
            assert!(bad.parse::<Duration>().is_err(), "{bad}");
        }
    }

    #[test]
    fn defaults_print_as_they_parse() {
        for d in [
            defaults::EXPIRY_WARNING,
            defaults::DEADLINE,
            defaults::SSM_BACKOFF,
            defaults::UPDATE_STUCK_AFTER,
            Duration::from_millis(1500),
            Duration::default(),
        ] {
            assert_eq!(d.to_string().parse::<Duration>(), Ok(d), "{d}");
        }
        assert_eq!(defaults::EXPIRY_WARNING.to_string(), "3d");
        for s in [
            defaults::MAX_ROOT_SIZE,
            defaults::MAX_TARGETS_SIZE,
            Size(1000),
        ] {
            assert_eq!(s.to_string().parse::<Size>(), Ok(s), "{s}");
        }
        assert_eq!(defaults::MAX_TARGETS_SIZE.to_string(), "10M");
    }

    #[test]
    fn sizes() {
        assert_eq!("10M".parse::<Size>(), Ok(Size(10 << 20)));
        assert_eq!("512KiB".parse::<Size>(), Ok(Size(512 << 10)));
        assert_eq!("1000".parse::<Size>(), Ok(Size(1000)));
        for bad in ["", "0", "M", "1T", "99999999999G"] {
            assert!(bad.parse::<Size>().is_err(), "{bad}");
        }
    }
}
