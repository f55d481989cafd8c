//! The cross-check: does what SSM calls `latest` agree with the signed manifest?
//!
//! Per variant, architecture and region:
//! - `agree`: SSM's `latest` is a signed release no older than the due one (a release still
//!   rolling out counts: AWS publishes the AMI when the release starts);
//! - `ssm_behind`: SSM's `latest` is a signed release, but a newer one is due;
//! - `ssm_unsigned`: SSM's `latest` names a version the signed manifest does not contain, or a
//!   build (the commit after the version) other than the signed images': an alarm;
//! - `ssm_missing`: the manifest has the variant and architecture, SSM has no `latest` for it.

use super::Observations;
use crate::releases::Track;
use crate::report::{Code, Finding, Subject};
use chrono::{DateTime, Utc};
use semver::Version;
use serde::{Deserialize, Serialize};

/// The outcome for one variant, architecture and region.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// SSM names a signed release that is due or newer.
    Agree,
    /// SSM has no `latest` parameter for a variant and architecture in the manifest.
    SsmMissing,
    /// SSM names an older signed release than the due one.
    SsmBehind,
    /// SSM names a version or build that the signed manifest does not contain: the worst.
    SsmUnsigned,
}

impl Status {
    /// The serialized name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Agree => "agree",
            Status::SsmBehind => "ssm_behind",
            Status::SsmUnsigned => "ssm_unsigned",
            Status::SsmMissing => "ssm_missing",
        }
    }
}

/// One row of the cross-check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrossCheck {
    /// The variant.
    pub variant: String,
    /// The architecture as TUF names it (SSM's `arm64` is `aarch64` here).
    pub arch: String,
    /// The region.
    pub region: String,
    /// The outcome.
    pub status: Status,
    /// SSM's `latest/image_version`.
    pub ssm_version: Option<String>,
    /// SSM's `latest/image_id`.
    pub ssm_image_id: Option<String>,
    /// The newest signed release.
    pub newest: Option<String>,
    /// The due release.
    pub due: Option<String>,
    /// When `ssm_behind`: since when SSM has been behind (the oldest due release newer than
    /// SSM's became due).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub behind_since: Option<DateTime<Utc>>,
    /// Why, for a person.
    pub message: String,
}

/// Split a build version `1.26.1-abcdef01` into its version and build.
pub fn split_build(image_version: &str) -> Option<(Version, Option<&str>)> {
    let text = image_version.trim().trim_start_matches('v');
    let (version, build) = match text.split_once('-') {
        Some((v, b)) => (v, Some(b)),
        None => (text, None),
    };
    Some((
        Version::parse(version).ok()?,
        build.filter(|b| !b.is_empty()),
    ))
}

/// The build (commit) in a Bottlerocket image name:
/// `bottlerocket-<variant>-<arch>-<version>-<commit>-root.ext4.lz4`.
fn build_of_image(name: &str, variant: &str, arch: &str, version: &str) -> Option<String> {
    let rest = name.strip_prefix(&format!("bottlerocket-{variant}-{arch}-{version}-"))?;
    let build = rest.split('-').next()?;
    (!build.is_empty()).then(|| build.to_owned())
}

/// Cross-check every track that SSM was asked about against what SSM said in every region whose
/// `latest` values were read completely; worst first, then by variant, architecture and region.
pub fn cross_check(tracks: &[Track], observations: &Observations) -> Vec<CrossCheck> {
    let mut rows = Vec::new();
    for region in &observations.latest_regions {
        for track in tracks
            .iter()
            .filter(|t| observations.asked(&t.variant, &t.arch))
        {
            let latest = observations.latest.iter().find(|l| {
                &l.region == region && l.variant == track.variant && l.arch == track.arch
            });
            let (ssm_version, ssm_image_id) = latest
                .map(|l| (l.image_version.clone(), l.image_id.clone()))
                .unwrap_or_default();
            let (status, message) = judge(track, ssm_version.as_deref(), ssm_image_id.as_deref());
            let behind_since = match (status, ssm_version.as_deref().and_then(split_build)) {
                (Status::SsmBehind, Some((v, _))) => track.behind_since(&v),
                _ => None,
            };
            rows.push(CrossCheck {
                variant: track.variant.clone(),
                arch: track.arch.clone(),
                region: region.clone(),
                status,
                ssm_version,
                ssm_image_id,
                newest: track.newest.clone(),
                due: track.due.clone(),
                behind_since,
                message,
            });
        }
    }
    rows.sort_by(|a, b| {
        b.status
            .cmp(&a.status)
            .then_with(|| (&a.variant, &a.arch, &a.region).cmp(&(&b.variant, &b.arch, &b.region)))
    });
    rows
}

fn judge(track: &Track, version: Option<&str>, image_id: Option<&str>) -> (Status, String) {
    let (Some(version), Some(_)) = (version, image_id) else {
        let which = match (version, image_id) {
            (None, None) => "latest/image_id and latest/image_version",
            (None, Some(_)) => "latest/image_version",
            _ => "latest/image_id",
        };
        return (
            Status::SsmMissing,
            format!("SSM has no {which} for a variant the signed manifest lists"),
        );
    };
    let Some((parsed, build)) = split_build(version) else {
        return (
            Status::SsmUnsigned,
            format!("SSM's latest image_version {version:?} is not a version"),
        );
    };
    let Some(release) = track
        .releases
        .iter()
        .find(|r| Version::parse(&r.version).ok().as_ref() == Some(&parsed))
    else {
        return (
            Status::SsmUnsigned,
            format!("SSM's latest is {version}, a release the signed manifest does not contain"),
        );
    };
    let signed_build = build_of_image(
        &release.images.root,
        &track.variant,
        &track.arch,
        &release.version,
    );
    if let (Some(b), Some(s)) = (build, &signed_build) {
        if b != s {
            return (
                Status::SsmUnsigned,
                format!(
                    "SSM's latest is build {version}, but the signed release {} is build {s}",
                    release.version
                ),
            );
        }
    }
    let due = track.due.as_deref().and_then(|d| Version::parse(d).ok());
    match due {
        Some(d) if parsed < d => (
            Status::SsmBehind,
            format!("SSM's latest is {version}, but {d} is signed and due"),
        ),
        _ => (
            Status::Agree,
            format!("SSM's latest is the signed {version}"),
        ),
    }
}

/// The findings of a cross-check: one error per row that does not agree, except SSM behind a
/// release due for less than `grace`: a note, with the time left.
pub fn findings(
    rows: &[CrossCheck],
    at: DateTime<Utc>,
    grace: std::time::Duration,
) -> Vec<Finding> {
    rows.iter()
        .filter_map(|r| {
            let code = match r.status {
                Status::Agree => return None,
                Status::SsmBehind => Code::SsmBehind,
                Status::SsmUnsigned => Code::SsmUnsigned,
                Status::SsmMissing => Code::SsmMissing,
            };
            let said = format!("{} {} in {}: {}", r.variant, r.arch, r.region, r.message);
            let finding = match r.grace_ends(grace).filter(|end| *end > at) {
                Some(end) => Finding::note(
                    code,
                    format!(
                        "{said}; within ssm_grace: a finding from {} ({} left)",
                        end.format("%Y-%m-%d %H:%M UTC"),
                        crate::engine::expiry::human_duration(end - at)
                    ),
                ),
                None => Finding::error(code, said),
            };
            Some(finding.about(Subject {
                region: Some(r.region.clone()),
                ..Subject::track(Some(&r.variant), Some(&r.arch))
            }))
        })
        .collect()
}

impl CrossCheck {
    /// When SSM behind a due release becomes `ssm_behind`: `grace` after it fell behind.
    /// `None` for a row that is not behind, or whose missed release has no waves (no grace).
    pub fn grace_ends(&self, grace: std::time::Duration) -> Option<DateTime<Utc>> {
        let since = self
            .behind_since
            .filter(|_| self.status == Status::SsmBehind)?;
        since.checked_add_signed(chrono::Duration::from_std(grace).ok()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_versions_split() {
        let (v, b) = split_build("1.26.1-abcdef01").unwrap();
        assert_eq!((v.to_string(), b), ("1.26.1".to_owned(), Some("abcdef01")));
        assert_eq!(split_build("1.26.1").unwrap().1, None);
        assert!(split_build("latest").is_none());
        assert_eq!(
            build_of_image(
                "bottlerocket-aws-k8s-1.31-x86_64-1.26.1-abcdef01-root.ext4.lz4",
                "aws-k8s-1.31",
                "x86_64",
                "1.26.1"
            )
            .as_deref(),
            Some("abcdef01")
        );
        assert_eq!(
            build_of_image("root.ext4.lz4", "v", "x86_64", "1.0.0"),
            None
        );
    }
}
