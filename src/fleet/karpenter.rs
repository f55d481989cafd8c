//! Karpenter's launch paths: an `EC2NodeClass` boots what its `amiSelectorTerms` select. An
//! alias names a release (`bottlerocket@v1.26.0`, judged like any launch path: older than the
//! due release is a `stale_launch_path`) or follows SSM (`bottlerocket@latest`, judged by SSM's
//! value, which the SSM cross-check judges in turn); other terms (ids, names, tags) are judged by
//! the names of the AMIs Karpenter resolved. The variant is the cluster's: `aws-k8s-<version>`.

use super::launch::{Boots, LaunchJudging, LaunchPathView};
use super::NodeStatus;
use crate::source::bottlerocket::Arch;
use serde::{Deserialize, Serialize};

/// A Karpenter `EC2NodeClass`: what the next node Karpenter launches from it boots.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeClassFacts {
    /// Its cluster.
    pub cluster: String,
    /// Its name.
    pub name: String,
    /// Its cluster's region, when known.
    pub region: Option<String>,
    /// Its cluster's Kubernetes version (`1.36`), when known.
    pub kubernetes_version: Option<String>,
    /// `spec.amiFamily` (`Bottlerocket`, `AL2023`, `Custom`, ...).
    pub ami_family: Option<String>,
    /// Its alias term (`bottlerocket@v1.26.0`, `bottlerocket@latest`), when it has one.
    pub alias: Option<String>,
    /// Its other selector terms, in words (`id ami-0abc`, `tags {"team":"web"}`).
    pub other_terms: Vec<String>,
    /// The AMIs Karpenter resolved (`status.amis`).
    pub resolved: Vec<ResolvedAmi>,
}

/// An AMI Karpenter resolved for a node class.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolvedAmi {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: Option<String>,
    /// The architectures its requirements allow (`amd64`, `arm64`).
    pub archs: Vec<String>,
}

/// What a node class boots for one architecture: as written, the release, and a note for the
/// reader when the release rests on something else than the class itself.
struct ClassBoots {
    boots: Option<String>,
    release: Boots,
    note: Option<String>,
}

impl LaunchJudging<'_> {
    /// Every node class, judged once for each architecture it launches.
    pub fn node_classes(&self, classes: &[NodeClassFacts]) -> Vec<LaunchPathView> {
        classes
            .iter()
            .flat_map(|c| archs_of(c).into_iter().map(move |arch| (c, arch)))
            .map(|(c, arch)| {
                let b = self.boots_of(c, arch);
                let mut view = self.view(
                    "karpenter_node_class",
                    c.name.clone(),
                    None,
                    c.region.as_deref(),
                    b.boots,
                    b.release,
                );
                view.cluster = Some(c.cluster.clone());
                view.arch.get_or_insert_with(|| arch.to_string());
                if view.reason.is_none() {
                    view.reason = b.note;
                }
                view
            })
            .collect()
    }

    /// What a node class boots on `arch`: by its alias, else by the AMIs Karpenter resolved.
    fn boots_of(&self, c: &NodeClassFacts, arch: Arch) -> ClassBoots {
        match &c.alias {
            Some(alias) => self.by_alias(c, alias, arch),
            None => by_resolved(c, arch),
        }
    }

    /// An alias: `bottlerocket@v1.26.0` names its release; `bottlerocket@latest` follows SSM's
    /// latest of the cluster's variant in the cluster's region.
    fn by_alias(&self, c: &NodeClassFacts, alias: &str, arch: Arch) -> ClassBoots {
        let boots = Some(format!("alias {alias}"));
        let fail = |(status, why)| ClassBoots {
            boots: boots.clone(),
            release: Err((status, why)),
            note: None,
        };
        let variant = match alias_target(c, alias) {
            Err(e) => return fail(e),
            Ok(AliasTarget::Release { variant, version }) => {
                return ClassBoots {
                    boots,
                    release: Ok((variant, arch.to_string(), version)),
                    note: None,
                }
            }
            Ok(AliasTarget::Latest { variant }) => variant,
        };
        let Some(region) = &c.region else {
            return fail((
                NodeStatus::Unchecked,
                "follows SSM's latest, but its cluster's region is not known".to_owned(),
            ));
        };
        let parameter = format!(
            "/aws/service/bottlerocket/{variant}/{}/latest/image_id",
            arch.ssm_name()
        );
        ClassBoots {
            boots,
            release: self.release_of_parameter(region, &parameter),
            note: Some(format!(
                "follows SSM's latest in {region}: judged by SSM's value, as the SSM cross-check judges it"
            )),
        }
    }
}

/// What a Bottlerocket alias names, in the cluster's variant (`aws-k8s-<version>`).
enum AliasTarget {
    /// A release: `bottlerocket@v1.26.0`.
    Release { variant: String, version: String },
    /// SSM's latest: `bottlerocket@latest`.
    Latest { variant: String },
}

/// What `alias` names for `c`, or why it names nothing that can be judged.
fn alias_target(c: &NodeClassFacts, alias: &str) -> Result<AliasTarget, (NodeStatus, String)> {
    let (family, version) = alias.split_once('@').unwrap_or((alias, ""));
    if !family.eq_ignore_ascii_case("bottlerocket") {
        return Err((
            NodeStatus::NotBottlerocket,
            format!("its alias {alias} is not Bottlerocket's"),
        ));
    }
    let Some(k8s) = &c.kubernetes_version else {
        return Err((
            NodeStatus::Unchecked,
            "its cluster's Kubernetes version (so its variant) is not known".to_owned(),
        ));
    };
    let variant = format!("aws-k8s-{k8s}");
    if version == "latest" {
        return Ok(AliasTarget::Latest { variant });
    }
    // Karpenter takes `v1.26.0` and `1.26.0` alike (it trims the `v`).
    match version.trim_start_matches('v') {
        "" => Err((
            NodeStatus::Unchecked,
            format!("{alias:?} is not an alias Karpenter takes"),
        )),
        release => Ok(AliasTarget::Release {
            variant,
            version: release.to_owned(),
        }),
    }
}

/// The variants and architectures the node classes name by themselves (an alias's release, a
/// resolved AMI's name), whose repositories must be verified to judge them; those following
/// SSM come into play through SSM.
pub fn pinned_tracks(classes: &[NodeClassFacts]) -> Vec<(String, Arch)> {
    classes
        .iter()
        .flat_map(|c| archs_of(c).into_iter().map(move |arch| (c, arch)))
        .filter_map(|(c, arch)| match &c.alias {
            Some(alias) => match alias_target(c, alias).ok()? {
                AliasTarget::Release { variant, .. } => Some((variant, arch)),
                AliasTarget::Latest { .. } => None,
            },
            None => {
                let (variant, named_arch, _) = by_resolved(c, arch).release.ok()?;
                Some((variant, Arch::parse(&named_arch).ok()?))
            }
        })
        .collect()
}

/// Terms other than an alias: the release the name of the AMI Karpenter resolved for `arch`
/// says, or why none can be told.
fn by_resolved(c: &NodeClassFacts, arch: Arch) -> ClassBoots {
    let boots = (!c.other_terms.is_empty()).then(|| c.other_terms.join("; "));
    let fail = |status, why: String| ClassBoots {
        boots: boots.clone(),
        release: Err((status, why)),
        note: None,
    };
    if let Some(family) = c.ami_family.as_deref() {
        let bottlerocket = family.eq_ignore_ascii_case("bottlerocket");
        if !bottlerocket && !family.eq_ignore_ascii_case("custom") {
            return fail(
                NodeStatus::NotBottlerocket,
                format!("its amiFamily is {family}"),
            );
        }
    }
    let resolved = c
        .resolved
        .iter()
        .find(|a| a.archs.is_empty() || a.archs.iter().any(|x| Arch::parse(x).ok() == Some(arch)));
    let Some(ami) = resolved else {
        return fail(
            NodeStatus::Unchecked,
            "Karpenter resolved no AMI for it".to_owned(),
        );
    };
    let name = ami.name.as_deref().unwrap_or_default();
    match super::ami::release_of_name(name) {
        Some(r) => ClassBoots {
            boots,
            release: Ok((r.variant, r.arch.to_string(), r.version)),
            note: Some(format!(
                "by the name of {} ({name}), which Karpenter resolved; its owner is not checked here",
                ami.id
            )),
        },
        None => fail(
            NodeStatus::Unchecked,
            format!("Karpenter resolved {} ({name:?}), not named as a Bottlerocket release", ami.id),
        ),
    }
}

/// The architectures a node class launches: those of the AMIs Karpenter resolved, else x86_64.
fn archs_of(c: &NodeClassFacts) -> Vec<Arch> {
    let mut archs: Vec<Arch> = c
        .resolved
        .iter()
        .flat_map(|a| a.archs.iter())
        .filter_map(|a| Arch::parse(a).ok())
        .collect();
    archs.sort_by_key(|a| a.as_str());
    archs.dedup();
    if archs.is_empty() {
        archs.push(Arch::X86_64);
    }
    archs
}
