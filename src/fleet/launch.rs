//! Launch paths: what decides the *next* node. A launch template's default version (what a
//! launch that names no version boots), an Auto Scaling group (through the template version or
//! the launch configuration it names) and an EKS managed node group (through its template, or
//! its AMI type and release version) each boot an AMI, by id or through an SSM parameter
//! (`resolve:ssm:`), judged like a node running it: a path that boots a release older than the
//! due one is a `stale_launch_path`. A template version no one launches from by default and no
//! group names (an unused `$Latest`, an old version) is no launch path: it is not judged.

use super::ami::{launch_image, ImageTrust, Images, LaunchImage};
use super::{judge_release, BehindLimits, NodeStatus};
use crate::aws::model::{
    AutoScalingGroupFacts, GroupLaunch, LaunchConfigurationFacts, LaunchPaths, LaunchTemplateFacts,
    NodeGroupFacts, TemplateRef,
};
use crate::releases::Track;
use crate::report::{Code, Finding, Subject};
use crate::ssm::{arch_of_ssm, parse_name, Field, Observations};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One launch path, judged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LaunchPathView {
    /// `launch_template`, `auto_scaling_group`, `eks_node_group` or `karpenter_node_class`.
    pub kind: String,
    /// The template's name, id and version (`nodes (lt-0abc) v3, default`), the group's or the
    /// node class's name.
    pub name: String,
    /// The account (EC2's launch paths).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// The region, when known (a node class's is its cluster's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The Kubernetes cluster (a Karpenter node class's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    /// What it boots as written: an AMI id, `resolve:ssm:<parameter>`, or none.
    pub boots: Option<String>,
    /// What a group launches from: `launch template web (lt-0abc) v3` or `launch
    /// configuration web-2024`; none for a template itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launches_from: Option<String>,
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
    /// What EC2 says of the AMI it names, when it names one by id.
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
pub(super) type Boots = Result<(String, String, String), (NodeStatus, String)>;

impl LaunchJudging<'_> {
    /// Every launch path, judged, stale ones first.
    pub fn all(&self, paths: &LaunchPaths) -> Vec<LaunchPathView> {
        let mut views = self.templates(&paths.templates);
        views.extend(self.auto_scaling_groups(paths));
        views.extend(self.node_groups(&paths.node_groups, &paths.templates));
        views.sort_by(|a, b| b.stale.cmp(&a.stale).then(a.name.cmp(&b.name)));
        views
    }

    /// Every launch template's default version, judged.
    fn templates(&self, templates: &[LaunchTemplateFacts]) -> Vec<LaunchPathView> {
        templates
            .iter()
            .filter(|t| t.default)
            .map(|t| {
                self.view(
                    "launch_template",
                    template_label(t),
                    Some(&t.account),
                    Some(&t.region),
                    t.image.clone(),
                    self.release_of_template(t),
                )
            })
            .collect()
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

    /// Every Auto Scaling group, judged by the launch template version or the launch
    /// configuration it launches from.
    fn auto_scaling_groups(&self, paths: &LaunchPaths) -> Vec<LaunchPathView> {
        paths
            .auto_scaling_groups
            .iter()
            .map(|g| {
                let (from, boots, release) = match &g.launch {
                    GroupLaunch::Template(r) => match find_version(&paths.templates, g, r) {
                        Some(t) => (
                            Some(format!("launch template {}", template_label(t))),
                            t.image.clone(),
                            self.release_of_template(t),
                        ),
                        None => (None, None, Err(not_read(r))),
                    },
                    GroupLaunch::LaunchConfiguration(name) => {
                        let from = Some(format!("launch configuration {name}"));
                        let unread = paths
                            .configurations_unread
                            .iter()
                            .any(|(a, r)| *a == g.account && *r == g.region);
                        match find_configuration(&paths.launch_configurations, g, name) {
                            Some(c) => (from, c.image.clone(), self.release_of_configuration(c)),
                            None => (from, None, Err(configuration_not_found(name, unread))),
                        }
                    }
                    GroupLaunch::Unknown => (
                        None,
                        None,
                        Err((NodeStatus::Unchecked, "names no launch template".to_owned())),
                    ),
                };
                let mut view = self.view(
                    "auto_scaling_group",
                    g.name.clone(),
                    Some(&g.account),
                    Some(&g.region),
                    boots,
                    release,
                );
                view.launches_from = from;
                view
            })
            .collect()
    }

    /// What a launch configuration boots.
    fn release_of_configuration(&self, c: &LaunchConfigurationFacts) -> Boots {
        match c.image.as_deref() {
            None => Err((
                NodeStatus::Unchecked,
                "no image in the launch configuration".to_owned(),
            )),
            Some(image) => self.release_of(&c.account, &c.region, image),
        }
    }

    /// Every EKS managed node group, judged by its launch template's AMI when it names one,
    /// else by its AMI type and release version (`BOTTLEROCKET_x86_64`, `1.66.0-1ad6b4a4`).
    fn node_groups(
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
                let (from, boots, release) = match custom {
                    Some((image, t)) => (
                        Some(format!("launch template {}", template_label(t))),
                        Some(image),
                        self.release_of_template(t),
                    ),
                    None => (None, g.release_version.clone(), release_of_node_group(g)),
                };
                let name = format!("{}/{}", g.cluster, g.name);
                let mut view = self.view(
                    "eks_node_group",
                    name,
                    Some(&g.account),
                    Some(&g.region),
                    boots,
                    release,
                );
                view.launches_from = from;
                view
            })
            .collect()
    }

    /// A launch path's view: what it boots, judged against the tracks.
    pub(super) fn view(
        &self,
        kind: &str,
        name: String,
        account: Option<&str>,
        region: Option<&str>,
        boots: Option<String>,
        release: Boots,
    ) -> LaunchPathView {
        let mut view = LaunchPathView {
            kind: kind.to_owned(),
            name,
            account: account.map(str::to_owned),
            region: region.map(str::to_owned),
            cluster: None,
            boots,
            launches_from: None,
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
        view.image = match (view.boots.as_deref(), account, region) {
            (Some(image), Some(account), Some(region)) if image.starts_with("ami-") => {
                launch_image(self.images, account, region, image, self.trust)
            }
            _ => None,
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
    pub(super) fn release_of_parameter(&self, region: &str, parameter: &str) -> Boots {
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
        let follows = format!("follows SSM's latest {} {arch} in {region}", name.variant);
        let unread = |why: &str| Err((NodeStatus::Unchecked, format!("{follows}; {why}")));
        let Some(o) = self.ssm else {
            return unread("SSM was not read");
        };
        if !o.latest_regions.iter().any(|r| r == region) {
            return unread("SSM's latest values were not read in that region");
        }
        let latest = o
            .latest
            .iter()
            .find(|l| l.region == region && l.variant == name.variant && l.arch == arch.as_str());
        match latest.and_then(|l| l.image_version.clone()) {
            Some(version) => Ok((name.variant.to_owned(), arch.to_string(), version)),
            None => unread("SSM did not give it"),
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

/// A template version as a launch path names it: `web (lt-0abc) v3, default`.
fn template_label(t: &LaunchTemplateFacts) -> String {
    format!(
        "{} ({}) v{}{}",
        t.template_name,
        t.template_id,
        t.version,
        if t.default { ", default" } else { "" }
    )
}

/// The launch configuration a group names, as read.
fn find_configuration<'a>(
    configurations: &'a [LaunchConfigurationFacts],
    g: &AutoScalingGroupFacts,
    name: &str,
) -> Option<&'a LaunchConfigurationFacts> {
    configurations
        .iter()
        .find(|c| c.account == g.account && c.region == g.region && c.name == name)
}

/// Why a group's launch configuration is not known: gone, or its region's could not be read.
fn configuration_not_found(name: &str, unread: bool) -> (NodeStatus, String) {
    let why = if unread {
        format!("its launch configuration {name} could not be read")
    } else {
        format!("its launch configuration {name} was not found")
    };
    (NodeStatus::Unchecked, why)
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
/// beyond the policy; and what is wrong with an AMI launch paths name (once per AMI).
pub fn findings(paths: &[LaunchPathView]) -> Vec<Finding> {
    let stale = paths.iter().filter(|p| p.stale).map(|p| {
        Finding::error(
            Code::StaleLaunchPath,
            format!(
                "{} {} boots {} {} {}, {} release(s) older than the due {}",
                described(p),
                place(p),
                p.variant.as_deref().unwrap_or("?"),
                p.arch.as_deref().unwrap_or("?"),
                p.version.as_deref().unwrap_or("?"),
                p.releases_behind,
                p.due.as_deref().unwrap_or("?")
            ),
        )
        .target(p.name.clone())
        .about(Subject {
            variant: p.variant.clone(),
            arch: p.arch.clone(),
            region: p.region.clone(),
            account: p.account.clone(),
            cluster: p.cluster.clone(),
            ami: p.boots.clone(),
            ..Subject::default()
        })
    });
    image_findings(paths).into_iter().chain(stale).collect()
}

/// Where a launch path is: `in us-west-2 (account 111122223333)`, `in cluster prod (us-west-2)`.
fn place(p: &LaunchPathView) -> String {
    let region = p.region.as_deref();
    match (&p.cluster, region, &p.account) {
        (Some(c), Some(r), _) => format!("in cluster {c} ({r})"),
        (Some(c), None, _) => format!("in cluster {c}"),
        (None, Some(r), Some(a)) => format!("in {r} (account {a})"),
        (None, r, _) => format!("in {}", r.unwrap_or("?")),
    }
}

/// A launch path in words: `Auto Scaling group web (launch template web (lt-0abc) v3)`.
fn described(p: &LaunchPathView) -> String {
    let kind = match p.kind.as_str() {
        "auto_scaling_group" => "Auto Scaling group",
        "eks_node_group" => "EKS node group",
        "karpenter_node_class" => "Karpenter EC2NodeClass",
        _ => "launch template",
    };
    match &p.launches_from {
        Some(from) => format!("{kind} {} ({from})", p.name),
        None => format!("{kind} {}", p.name),
    }
}

/// What is wrong with an AMI launch paths name, as for an AMI instances run: the next launch
/// from them fails, boots a deprecated image, or boots another owner's lookalike. One finding
/// per AMI of an account and region, naming every path that boots it (a template's default
/// version and the group launching from it are one AMI).
fn image_findings(paths: &[LaunchPathView]) -> Vec<Finding> {
    let mut by_image: std::collections::BTreeMap<(&str, &str, &str), Vec<&LaunchPathView>> =
        Default::default();
    for p in paths.iter().filter(|p| p.image.is_some()) {
        let ami = p.boots.as_deref().unwrap_or("?");
        by_image
            .entry((
                p.account.as_deref().unwrap_or_default(),
                p.region.as_deref().unwrap_or_default(),
                ami,
            ))
            .or_default()
            .push(p);
    }
    by_image
        .into_iter()
        .filter_map(|((account, region, ami), paths)| {
            let first = paths.first()?;
            let names: Vec<String> = paths.iter().map(|p| described(p)).collect();
            let verb = if names.len() == 1 { "boots" } else { "boot" };
            let place = format!("{} in {region} (account {account}) {verb}", names.join(", "));
            let finding = match first.image.as_ref()? {
                LaunchImage::Missing => Finding::warning(
                    Code::AmiMissing,
                    format!("{place} {ami}, which is not available to this account: a launch from it fails"),
                ),
                LaunchImage::Bottlerocket {
                    deprecated_since: Some(since),
                    ..
                } => Finding::warning(
                    Code::AmiDeprecated,
                    format!("{place} {ami}, deprecated since {}", since.format("%Y-%m-%d")),
                ),
                LaunchImage::ForeignOwner { name, owner } => Finding::error(
                    Code::AmiForeignOwner,
                    format!("{place} {ami}, named {name:?} but owned by account {owner}, not Bottlerocket's publisher nor an account the job trusts"),
                ),
                _ => return None,
            };
            // The finding names the template when one boots it: that is what to fix.
            let fix = paths
                .iter()
                .find(|p| p.kind == "launch_template")
                .unwrap_or(first);
            Some(finding.target(fix.name.clone()).about(Subject {
                region: first.region.clone(),
                account: first.account.clone(),
                ami: first.boots.clone(),
                ..Subject::default()
            }))
        })
        .collect()
}
