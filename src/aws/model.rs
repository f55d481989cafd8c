//! What AWS read live gives, as plain data: the instances and the images EC2 described, and
//! where it described them. Judging them is `fleet::ami`'s.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};

/// One image as `DescribeImages` gives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageFacts {
    /// The account that described it (its instances' account).
    pub account: String,
    /// The region.
    pub region: String,
    /// The AMI id.
    pub image_id: String,
    /// Its name.
    pub name: Option<String>,
    /// The account that owns it.
    pub owner_id: Option<String>,
    /// `amazon` for AWS's own images.
    pub owner_alias: Option<String>,
    /// Whether anyone may launch it.
    pub public: bool,
    /// `available`, `deregistered`, `disabled`, ...
    pub state: Option<String>,
    /// When it is (or was) deprecated.
    pub deprecation_time: Option<DateTime<Utc>>,
}

/// The images described, by account, region and id; and where they were described at all.
#[derive(Debug, Default)]
pub struct Images {
    by_id: HashMap<(String, String, String), ImageFacts>,
    described: HashSet<(String, String)>,
}

impl Images {
    /// Note that `account` described its images in `region` (so an id not found there is gone).
    pub fn described(&mut self, account: &str, region: &str) {
        self.described
            .insert((account.to_owned(), region.to_owned()));
    }

    /// Whether `account` described its images in `region`.
    pub fn was_described(&self, account: &str, region: &str) -> bool {
        self.described
            .contains(&(account.to_owned(), region.to_owned()))
    }

    /// Note that describing more images failed in `region`: an id not found there may exist.
    pub fn not_described(&mut self, account: &str, region: &str) {
        self.described
            .remove(&(account.to_owned(), region.to_owned()));
    }

    /// Keep an image.
    pub fn insert(&mut self, facts: ImageFacts) {
        let key = (
            facts.account.clone(),
            facts.region.clone(),
            facts.image_id.clone(),
        );
        self.by_id.insert(key, facts);
    }

    /// The image, when described.
    pub fn get(&self, account: &str, region: &str, image_id: &str) -> Option<&ImageFacts> {
        self.by_id
            .get(&(account.to_owned(), region.to_owned(), image_id.to_owned()))
    }
}

/// A running instance as EC2 describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveInstance {
    /// The account.
    pub account: String,
    /// The region.
    pub region: String,
    /// The instance id.
    pub instance_id: String,
    /// Its `Name` tag.
    pub name_tag: Option<String>,
    /// The AMI it was launched from.
    pub image_id: Option<String>,
    /// Its architecture as EC2 names it (`x86_64`, `arm64`).
    pub architecture: Option<String>,
}

/// A version of an EC2 launch template: what the next instance launched from it boots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaunchTemplateFacts {
    /// The account.
    pub account: String,
    /// The region.
    pub region: String,
    /// The template's id.
    pub template_id: String,
    /// The template's name.
    pub template_name: String,
    /// The version number.
    pub version: i64,
    /// Whether it is the template's default version (what a launch without a version uses).
    pub default: bool,
    /// Its `ImageId`: an AMI id, or `resolve:ssm:<parameter>`; none when the launch gives it.
    pub image: Option<String>,
}

/// A launch template a group names: by id or name, at a version (`$Default`, `$Latest` or a
/// number; the default when none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateRef {
    /// The template's id, when named by id.
    pub id: Option<String>,
    /// The template's name, when named by name.
    pub name: Option<String>,
    /// The version asked.
    pub version: Option<String>,
}

/// What a group launches from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupLaunch {
    /// A launch template.
    Template(TemplateRef),
    /// A launch configuration, by name.
    LaunchConfiguration(String),
    /// Nothing tufwatch can tell.
    Unknown,
}

/// An Auto Scaling group: what its next instance boots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutoScalingGroupFacts {
    /// The account.
    pub account: String,
    /// The region.
    pub region: String,
    /// The group's name.
    pub name: String,
    /// What it launches from.
    pub launch: GroupLaunch,
}

/// An EKS managed node group: what its next node boots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeGroupFacts {
    /// The account.
    pub account: String,
    /// The region.
    pub region: String,
    /// The cluster.
    pub cluster: String,
    /// The node group.
    pub name: String,
    /// `BOTTLEROCKET_x86_64`, `AL2023_x86_64_STANDARD`, `CUSTOM`, ...
    pub ami_type: Option<String>,
    /// The AMI release version EKS gives its nodes (`1.66.0-1ad6b4a4` for Bottlerocket).
    pub release_version: Option<String>,
    /// The Kubernetes version (`1.36`).
    pub kubernetes_version: Option<String>,
    /// Its launch template, when it has one.
    pub template: Option<TemplateRef>,
}

/// An Auto Scaling launch configuration: the AMI a group that names it boots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaunchConfigurationFacts {
    /// The account.
    pub account: String,
    /// The region.
    pub region: String,
    /// Its name.
    pub name: String,
    /// Its `ImageId`.
    pub image: Option<String>,
}

/// What decides the next node in the regions read: launch templates (their default and latest
/// versions, and the versions groups name), the launch configurations groups name, the Auto
/// Scaling groups and the EKS managed node groups.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LaunchPaths {
    /// Launch template versions.
    pub templates: Vec<LaunchTemplateFacts>,
    /// Launch configurations.
    pub launch_configurations: Vec<LaunchConfigurationFacts>,
    /// The `(account, region)`s whose launch configurations could not be read.
    pub configurations_unread: Vec<(String, String)>,
    /// Auto Scaling groups.
    pub auto_scaling_groups: Vec<AutoScalingGroupFacts>,
    /// EKS managed node groups.
    pub node_groups: Vec<NodeGroupFacts>,
}

impl LaunchPaths {
    /// Add another region's.
    pub fn extend(&mut self, other: LaunchPaths) {
        self.templates.extend(other.templates);
        self.launch_configurations
            .extend(other.launch_configurations);
        self.configurations_unread
            .extend(other.configurations_unread);
        self.auto_scaling_groups.extend(other.auto_scaling_groups);
        self.node_groups.extend(other.node_groups);
    }

    /// The AMI ids they name directly (not through SSM), for `DescribeImages`.
    pub fn images(&self) -> impl Iterator<Item = &str> {
        self.templates
            .iter()
            .filter_map(|t| t.image.as_deref())
            .chain(
                self.launch_configurations
                    .iter()
                    .filter_map(|c| c.image.as_deref()),
            )
            .filter(|image| image.starts_with("ami-"))
    }
}
