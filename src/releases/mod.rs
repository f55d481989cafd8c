//! Releases from the signed `manifest.json`: the manifest model and wave arithmetic.

pub mod manifest;
pub mod waves;

use crate::report::{Finding, Report, TargetReport, Verdict};
use chrono::{DateTime, Utc};
use manifest::{Images, Manifest};
use semver::Version;
use serde::{Deserialize, Serialize};
use waves::{rollout, Rollout, SEEDS};

/// One wave, for the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WaveView {
    /// The highest seed of the wave (of 0..2048).
    pub bound: u32,
    /// When it starts.
    pub start: DateTime<Utc>,
    /// The share of the fleet (0 to 1) whose turn has come once this wave is through.
    pub fleet_share: f64,
}

/// One release of a variant and architecture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReleaseView {
    /// Its version.
    pub version: String,
    /// The highest version a host may update to with it.
    pub max_version: String,
    /// Where its rollout stands at the reference time.
    pub rollout: Rollout,
    /// Its waves.
    pub waves: Vec<WaveView>,
    /// Its images (target names).
    pub images: Images,
    /// Whether its version is above its own `max_version`: hosts never take it.
    pub beyond_max_version: bool,
}

/// The migrations a host runs between two versions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MigrationsView {
    /// From (`--from`).
    pub from: String,
    /// To: the newest release.
    pub to: String,
    /// In the order they run.
    pub migrations: Vec<String>,
}

/// The releases of one variant and architecture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Track {
    /// Variant.
    pub variant: String,
    /// Architecture (`x86_64`, `aarch64`).
    pub arch: String,
    /// The newest signed release.
    pub newest: Option<String>,
    /// The newest release whose waves have all started: every host should have it.
    pub due: Option<String>,
    /// Releases newer than the due one whose rollout has begun.
    pub rolling_out: Vec<String>,
    /// Every release, newest first (semver order).
    pub releases: Vec<ReleaseView>,
    /// Migrations from `--from` to the newest release, when asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub migrations: Option<MigrationsView>,
}

impl Track {
    /// When a host of `version` started to be behind: when the oldest due release newer than
    /// it became due (its last wave's start). `None` when it is not behind, or no release it
    /// misses has waves.
    pub fn behind_since(&self, version: &semver::Version) -> Option<DateTime<Utc>> {
        let due = semver::Version::parse(self.due.as_deref()?).ok()?;
        self.releases
            .iter()
            .filter(|r| !r.beyond_max_version)
            .filter(|r| semver::Version::parse(&r.version).is_ok_and(|v| v > *version && v <= due))
            .filter_map(|r| r.waves.iter().map(|w| w.start).max())
            .min()
    }

    /// The releases a host of this track may run or is asked to take: the newest, the due one
    /// and those rolling out, newest first, each once.
    pub fn checked_releases(&self) -> Vec<&ReleaseView> {
        let mut versions: Vec<&str> = Vec::new();
        for v in self
            .newest
            .iter()
            .chain(self.due.iter())
            .chain(self.rolling_out.iter())
        {
            if !versions.contains(&v.as_str()) {
                versions.push(v);
            }
        }
        self.releases
            .iter()
            .filter(|r| versions.contains(&r.version.as_str()))
            .collect()
    }

    /// The image target names of [`Track::checked_releases`]: boot, root and hash of each.
    pub fn checked_images(&self) -> Vec<&str> {
        self.checked_releases()
            .into_iter()
            .flat_map(|r| [&r.images.boot, &r.images.root, &r.images.hash])
            .map(String::as_str)
            .collect()
    }
}

/// What reading the signed `manifest.json` of a verified repository gave.
#[derive(Debug, Clone, Default)]
pub struct ManifestRead {
    /// The manifest target as checked (length, hashes).
    pub manifest: Option<TargetReport>,
    /// Its exact bytes, once checked.
    pub bytes: Option<Vec<u8>>,
    /// The migrations were listed from this version.
    pub from: Option<Version>,
    /// One track per variant and architecture.
    pub tracks: Vec<Track>,
    /// Why it could not be read or parsed.
    pub findings: Vec<Finding>,
}

/// Keep only the track of a Bottlerocket repository's own variant and architecture: such a
/// repository speaks for them alone. A repository without both keeps every track.
pub fn retain_own(tracks: &mut Vec<Track>, variant: Option<&str>, arch: Option<&str>) {
    if let (Some(variant), Some(arch)) = (variant, arch) {
        tracks.retain(|t| t.variant == variant && t.arch == arch);
    }
}

/// One track per variant and architecture: the first that has it speaks for it.
pub fn one_per_track<'a>(all: impl Iterator<Item = &'a Track>) -> Vec<Track> {
    let mut tracks: Vec<Track> = Vec::new();
    for t in all {
        if !tracks
            .iter()
            .any(|x| x.variant == t.variant && x.arch == t.arch)
        {
            tracks.push(t.clone());
        }
    }
    tracks
}

/// The report of `tufwatch releases`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReleasesReport {
    /// Version of the report format.
    pub report_format: u32,
    /// The verification of the repository the manifest came from.
    pub verification: Report,
    /// The manifest target as checked.
    pub manifest: Option<TargetReport>,
    /// One track per variant and architecture.
    pub tracks: Vec<Track>,
    /// Findings about the manifest (the verification's are in `verification`).
    pub findings: Vec<Finding>,
    /// The overall outcome, of the verification and the manifest together.
    pub verdict: Verdict,
}

impl ReleasesReport {
    /// The exit code: 0 pass, 1 findings, 2 could not run.
    pub fn exit_code(&self) -> i32 {
        crate::report::exit_code_of(self.verdict)
    }
}

/// The tracks of a manifest at `at`, with migrations from `from` when given.
pub fn tracks(m: &Manifest, at: DateTime<Utc>, from: Option<&Version>) -> Vec<Track> {
    let mut groups: std::collections::BTreeMap<(String, String), Vec<&manifest::Update>> =
        std::collections::BTreeMap::new();
    for u in &m.updates {
        groups
            .entry((u.variant.clone(), u.arch.clone()))
            .or_default()
            .push(u);
    }
    groups
        .into_iter()
        .map(|((variant, arch), mut updates)| {
            updates.sort_by(|a, b| b.version.cmp(&a.version));
            let offered = |u: &&&manifest::Update| u.version <= u.max_version;
            let newest = updates.iter().find(offered).map(|u| u.version.clone());
            let due = updates
                .iter()
                .filter(offered)
                .find(|u| rollout(&u.waves, at) == Rollout::Complete)
                .map(|u| u.version.clone());
            let rolling_out = updates
                .iter()
                .filter(offered)
                .filter(|u| due.as_ref().is_none_or(|d| u.version > *d))
                .filter(|u| matches!(rollout(&u.waves, at), Rollout::RollingOut { .. }))
                .map(|u| u.version.to_string())
                .collect();
            let releases = updates
                .iter()
                .map(|u| ReleaseView {
                    version: u.version.to_string(),
                    max_version: u.max_version.to_string(),
                    rollout: rollout(&u.waves, at),
                    waves: u
                        .waves
                        .iter()
                        .map(|w| WaveView {
                            bound: w.bound,
                            start: w.start,
                            fleet_share: (f64::from(w.bound.min(SEEDS - 1)) + 1.0)
                                / f64::from(SEEDS),
                        })
                        .collect(),
                    images: u.images.clone(),
                    beyond_max_version: u.version > u.max_version,
                })
                .collect();
            let migrations = match (from, &newest) {
                (Some(f), Some(n)) => Some(MigrationsView {
                    from: f.to_string(),
                    to: n.to_string(),
                    migrations: m.migrations_between(f, n),
                }),
                _ => None,
            };
            Track {
                variant,
                arch,
                newest: newest.map(|v| v.to_string()),
                due: due.map(|v| v.to_string()),
                rolling_out,
                releases,
                migrations,
            }
        })
        .collect()
}
