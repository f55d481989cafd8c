//! Launch paths: what decides the *next* node. An EC2 launch template's default and latest
//! versions boot an AMI (by id, or through an SSM parameter, `resolve:ssm:`), judged like a node
//! running it: a path that boots a release older than the due one is a `stale_launch_path`.

use super::ami::{launch_image, ImageTrust, Images, LaunchImage};
use super::{judge_release, BehindLimits, NodeStatus};
use crate::aws::model::{
    AutoScalingGroupFacts, GroupLaunch, LaunchTemplateFacts, NodeGroupFacts, TemplateRef,
};
use crate::releases::Track;
use crate::report::{Code, Finding};
use crate::ssm::{arch_of_ssm, parse_name, Field, Observations};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One launch path, judged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LaunchPathView {
    /// `launch_template`, `auto_scaling_group` or `eks_node_group`.
    pub kind: String,
    /// The template's name, id and version (`nodes (lt-0abc) v3, default`).
    pub name: String,
    /// The account.
    pub account: String,
    /// The region.
    pub region: String,
    /// What it boots as written: an AMI id, `resolve:ssm:<parameter>`, or none.
    pub boots: Option<String>,
    /// The variant, architecture (TUF naming) and build version it boots, when known.
    pub variant: Option<String>,
    /// The architecture.
    pub arch: Option<String>,
    /// The build version.
    pub version: Option<String>,
    /// Its standing, as a node booted from it would have.
    pub status: NodeStatus,
    /// Due releases newer than what it boots.
    pub releases_behind: u32,
    /// The due release.
    pub due: Option<String>,
    /// Whether the policy makes it a finding (`stale_launch_path`).
    pub stale: bool,
    /// Why, when the status needs explaining.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// What EC2 says of the AMI it names (a launch template naming an AMI).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<LaunchImage>,
}

/// What a launch judges by: the images described, whose are Bottlerocket's, SSM, the tracks, the
/// time and the policy.
pub struct LaunchJudging<'a> {
    /// The images EC2 described.
    pub images: &'a Images,
    /// Whose images are Bottlerocket's.
    pub trust: &'a ImageTrust,
    /// SSM, for `resolve:ssm:` parameters that point at `latest`.
    pub ssm: Option<&'a Observations>,
    /// The verified tracks.
    pub tracks: &'a [Track],
    /// The reference time.
    pub at: DateTime<Utc>,
    /// When being behind is a finding.
    pub policy: &'a BehindLimits,
}

/// The release something boots, or why it is not known.
type Boots = Result<(String, String, String), (NodeStatus, String)>;

impl LaunchJudging<'_> {
    /// Every launch template version, judged.
    pub fn templates(&self, templates: &[LaunchTemplateFacts]) -> Vec<LaunchPathView> {
        templates.iter().map(|t| self.template(t)).collect()
    }

    /// One launch template version, judged.
    fn template(&self, t: &LaunchTemplateFacts) -> LaunchPathView {
        let name = format!(
            "{} ({}) v{}{}",
            t.template_name,
            t.template_id,
            t.version,
            if t.default { ", default" } else { "" }
        );
        let boots = self.release_of_template(t);
        let mut view = self.view(
            "launch_template",
            name,
            &t.account,
            &t.region,
            t.image.clone(),
            boots,
        );
        view.image = t
            .image
            .as_deref()
            .filter(|image| image.starts_with("ami-"))
            .and_then(|image| launch_image(self.images, &t.account, &t.region, image, self.trust));
        view
    }

    /// What a launch template version boots.
    fn release_of_template(&self, t: &LaunchTemplateFacts) -> Boots {
        match t.image.as_deref() {
            None => Err((
                NodeStatus::Unchecked,
                "no image in the template: the launch gives it".to_owned(),
            )),
            Some(image) => self.release_of(&t.account, &t.region, image),
        }
    }

    /// Every Auto Scaling group, judged by the launch template version it launches from.
    pub fn auto_scaling_groups(
        &self,
        groups: &[AutoScalingGroupFacts],
        templates: &[LaunchTemplateFacts],
    ) -> Vec<LaunchPathView> {
        groups
            .iter()
            .map(|g| {
                let (boots, release) = match &g.launch {
                    GroupLaunch::Template(r) => match find_version(templates, g, r) {
                        Some(t) => (t.image.clone(), self.release_of_template(t)),
                        None => (None, Err(not_read(r))),
                    },
                    GroupLaunch::LaunchConfiguration(lc) => (
                        None,
                        Err((
                            NodeStatus::Unchecked,
                            format!(
                                "launches from the launch configuration {lc:?}, which is not read"
                            ),
                        )),
                    ),
                    GroupLaunch::Unknown => (
                        None,
                        Err((NodeStatus::Unchecked, "names no launch template".to_owned())),
                    ),
                };
                self.view(
                    "auto_scaling_group",
                    g.name.clone(),
                    &g.account,
                    &g.region,
                    boots,
                    release,
                )
            })
            .collect()
    }

    /// Every EKS managed node group, judged by its launch template's AMI when it names one,
    /// else by its AMI type and release version (`BOTTLEROCKET_x86_64`, `1.66.0-1ad6b4a4`).
    pub fn node_groups(
        &self,
        groups: &[NodeGroupFacts],
        templates: &[LaunchTemplateFacts],
    ) -> Vec<LaunchPathView> {
        groups
            .iter()
            .map(|g| {
                let custom = g.template.as_ref().and_then(|r| {
                    let t = templates.iter().find(|t| {
                        t.account == g.account
                            && t.region == g.region
                            && crate::aws::ec2::template_is(t, r)
                            && version_matches(t, r, templates)
                    })?;
                    t.image.as_ref().map(|image| (image.clone(), t))
                });
                let (boots, release) = match custom {
                    Some((image, t)) => (Some(image), self.release_of_template(t)),
                    None => (g.release_version.clone(), release_of_node_group(g)),
                };
                let name = format!("{}/{}", g.cluster, g.name);
                self.view(
                    "eks_node_group",
                    name,
                    &g.account,
                    &g.region,
                    boots,
                    release,
                )
            })
            .collect()
    }

    /// A launch path's view: what it boots, judged against the tracks.
    fn view(
        &self,
        kind: &str,
        name: String,
        account: &str,
        region: &str,
        boots: Option<String>,
        release: Boots,
    ) -> LaunchPathView {
        let mut view = LaunchPathView {
            kind: kind.to_owned(),
            name,
            account: account.to_owned(),
            region: region.to_owned(),
            boots,
            variant: None,
            arch: None,
            version: None,
            status: NodeStatus::Unchecked,
            releases_behind: 0,
            due: None,
            stale: false,
            reason: None,
            image: None,
        };
        match release {
            Ok((variant, arch, version)) => {
                let s = judge_release(self.tracks, &variant, &arch, &version, self.at, self.policy);
                view.status = s.status;
                view.releases_behind = s.releases_behind;
                view.due = s.due;
                view.stale = s.finding;
                view.reason = s.reason;
                view.variant = Some(variant);
                view.arch = Some(arch);
                view.version = Some(version);
            }
            Err((status, why)) => {
                view.status = status;
                view.reason = Some(why);
            }
        }
        view
    }

    /// The release an image reference boots: an AMI by its name and owner, or a Bottlerocket
    /// SSM parameter by its pointer (`latest` through SSM's value, a version by itself).
    fn release_of(&self, account: &str, region: &str, image: &str) -> Boots {
        if let Some(parameter) = image.strip_prefix("resolve:ssm:") {
            return self.release_of_parameter(region, parameter);
        }
        match launch_image(self.images, account, region, image, self.trust) {
            Some(LaunchImage::Bottlerocket {
                variant,
                arch,
                version,
                ..
            }) => Ok((variant, arch, version)),
            Some(LaunchImage::Other { name }) => Err((
                NodeStatus::NotBottlerocket,
                format!("boots {image} ({name:?}), not a Bottlerocket AMI"),
            )),
            Some(LaunchImage::ForeignOwner { name, owner }) => Err((
                NodeStatus::Unchecked,
                format!("boots {image}, named {name:?} but owned by account {owner}, not Bottlerocket's publisher"),
            )),
            Some(LaunchImage::Missing) => Err((
                NodeStatus::Unchecked,
                format!("boots {image}, which no longer exists: a launch from it fails"),
            )),
            None => Err((
                NodeStatus::Unchecked,
                format!("boots {image}, which EC2 did not describe"),
            )),
        }
    }

    /// The release a `resolve:ssm:` parameter gives, when it is one of Bottlerocket's.
    fn release_of_parameter(&self, region: &str, parameter: &str) -> Boots {
        let private = || {
            (
                NodeStatus::Unchecked,
                format!("follows the SSM parameter {parameter}, not one of Bottlerocket's public parameters"),
            )
        };
        let name = parse_name(parameter).ok_or_else(private)?;
        let arch = arch_of_ssm(name.arch).ok_or_else(private)?;
        if name.field != Field::ImageId {
            return Err(private());
        }
        if name.pointer != "latest" {
            // A version pointer names its release: `1.26.1` or `1.26.1-c41a8f09`.
            return Ok((
                name.variant.to_owned(),
                arch.to_string(),
                name.pointer.to_owned(),
            ));
        }
        let latest = self.ssm.and_then(|o| {
            o.latest.iter().find(|l| {
                l.region == region && l.variant == name.variant && l.arch == arch.as_str()
            })
        });
        match latest.and_then(|l| l.image_version.clone()) {
            Some(version) => Ok((name.variant.to_owned(), arch.to_string(), version)),
            None => Err((
                NodeStatus::Unchecked,
                format!(
                    "follows SSM's latest {} {arch} in {region}, which SSM did not give",
                    name.variant
                ),
            )),
        }
    }
}

/// The template version a group launches from: the default when it names none or `$Default`,
/// the newest for `$Latest`, else the number it names.
fn find_version<'a>(
    templates: &'a [LaunchTemplateFacts],
    g: &AutoScalingGroupFacts,
    r: &TemplateRef,
) -> Option<&'a LaunchTemplateFacts> {
    templates.iter().find(|t| {
        t.account == g.account
            && t.region == g.region
            && crate::aws::ec2::template_is(t, r)
            && version_matches(t, r, templates)
    })
}

/// Whether `t` is the version `r` asks of its template.
fn version_matches(
    t: &LaunchTemplateFacts,
    r: &TemplateRef,
    templates: &[LaunchTemplateFacts],
) -> bool {
    match r.version.as_deref() {
        None | Some("$Default") => t.default,
        Some("$Latest") => templates
            .iter()
            .filter(|o| {
                o.template_id == t.template_id && o.account == t.account && o.region == t.region
            })
            .all(|o| o.version <= t.version),
        Some(n) => n.parse::<i64>().is_ok_and(|n| n == t.version),
    }
}

/// Why a group's launch template version is not known.
fn not_read(r: &TemplateRef) -> (NodeStatus, String) {
    let template = r.id.as_deref().or(r.name.as_deref()).unwrap_or("?");
    let version = r.version.as_deref().unwrap_or("$Default");
    (
        NodeStatus::Unchecked,
        format!("its launch template {template} version {version} was not found"),
    )
}

/// The Bottlerocket release an EKS node group boots by its AMI type and release version:
/// `BOTTLEROCKET_ARM_64_NVIDIA` at Kubernetes 1.36 is aws-k8s-1.36-nvidia, aarch64.
fn release_of_node_group(g: &NodeGroupFacts) -> Boots {
    let ami_type = g.ami_type.as_deref().unwrap_or("?");
    let Some(rest) = ami_type.strip_prefix("BOTTLEROCKET_") else {
        return Err((
            NodeStatus::NotBottlerocket,
            format!("its AMI type is {ami_type}"),
        ));
    };
    let (arch, flavour) = if let Some(f) = rest.strip_prefix("x86_64") {
        ("x86_64", f)
    } else if let Some(f) = rest.strip_prefix("ARM_64") {
        ("aarch64", f)
    } else {
        return Err((
            NodeStatus::Unchecked,
            format!("unknown AMI type {ami_type}"),
        ));
    };
    let suffix = match flavour {
        "" => "",
        "_NVIDIA" => "-nvidia",
        "_FIPS" => "-fips",
        _ => {
            return Err((
                NodeStatus::Unchecked,
                format!("unknown AMI type {ami_type}"),
            ))
        }
    };
    match (&g.kubernetes_version, &g.release_version) {
        (Some(k8s), Some(release)) => Ok((
            format!("aws-k8s-{k8s}{suffix}"),
            arch.to_owned(),
            release.clone(),
        )),
        _ => Err((
            NodeStatus::Unchecked,
            "EKS gives no Kubernetes or release version".to_owned(),
        )),
    }
}

/// A `stale_launch_path` for each launch path that boots a release older than the due one,
/// beyond the policy.
pub fn findings(paths: &[LaunchPathView]) -> Vec<Finding> {
    let images = paths.iter().filter_map(image_finding);
    let stale = paths.iter().filter(|p| p.stale).map(|p| {
        Finding::error(
            Code::StaleLaunchPath,
            format!(
                "{} {} in {} (account {}) boots {} {} {}, {} release(s) older than the due {}",
                match p.kind.as_str() {
                    "auto_scaling_group" => "Auto Scaling group",
                    "eks_node_group" => "EKS node group",
                    _ => "launch template",
                },
                p.name,
                p.region,
                p.account,
                p.variant.as_deref().unwrap_or("?"),
                p.arch.as_deref().unwrap_or("?"),
                p.version.as_deref().unwrap_or("?"),
                p.releases_behind,
                p.due.as_deref().unwrap_or("?")
            ),
        )
        .target(p.name.clone())
    });
    images.chain(stale).collect()
}

/// What is wrong with the AMI a launch template names, as for an AMI instances run: the next
/// launch from it fails, boots a deprecated image, or boots another owner's lookalike.
fn image_finding(p: &LaunchPathView) -> Option<Finding> {
    let ami = p.boots.as_deref().unwrap_or("?");
    let place = format!(
        "launch template {} in {} (account {})",
        p.name, p.region, p.account
    );
    let finding = match p.image.as_ref()? {
        LaunchImage::Missing => Finding::warning(
            Code::AmiMissing,
            format!("{place} boots {ami}, which is not available to this account: a launch from it fails"),
        ),
        LaunchImage::Bottlerocket {
            deprecated_since: Some(since),
            ..
        } => Finding::warning(
            Code::AmiDeprecated,
            format!(
                "{place} boots {ami}, deprecated since {}",
                since.format("%Y-%m-%d")
            ),
        ),
        LaunchImage::ForeignOwner { name, owner } => Finding::error(
            Code::AmiForeignOwner,
            format!("{place} boots {ami}, named {name:?} but owned by account {owner}, not Bottlerocket's publisher nor an account the job trusts"),
        ),
        _ => return None,
    };
    Some(finding.target(p.name.clone()))
}
