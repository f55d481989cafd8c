//! EC2 read live for a job: the instances of each account as an inventory of the fleet, and
//! SSM's `latest` AMIs described once SSM is read.

use super::plan::{Ec2Spec, JobSpec, LoadedInventory};
use crate::aws::ec2::{Ec2Observations, Ec2Query};
use crate::error::{Error, Result, Setting};
use crate::fleet::ami::ImageTrust;
use crate::fleet::inventory::node_of;
use crate::fleet::inventory::InventoryFormat;
use crate::report::Finding;
use crate::ssm::Observations;
use chrono::{DateTime, Utc};

/// Read EC2 in the regions and accounts asked: the regions named, else SSM's, else the AWS
/// configuration's default region.
pub(super) async fn read_ec2(e: &Ec2Spec, spec: &JobSpec) -> Result<Ec2Observations> {
    let deadline = crate::aws::client::deadline_from_now(&e.live);
    let base = super::ssm::aws_config(&e.live, deadline).await?;
    let mut regions = e.regions.clone();
    if regions.is_empty() {
        regions = spec
            .ssm
            .as_ref()
            .map(|s| s.regions.clone())
            .unwrap_or_default();
    }
    if regions.is_empty() {
        match base.region() {
            Some(r) => regions.push(r.to_string()),
            None => {
                return Err(Error::Setting {
                    setting: Setting::Ec2Region,
                    message: "no region: name one, or set one in the AWS configuration (AWS_REGION, a profile's region)".to_owned(),
                })
            }
        }
    }
    let query = Ec2Query {
        regions,
        roles: e.roles.clone(),
        ssm_images: Vec::new(),
    };
    Ok(crate::aws::ec2::observe(&base, &e.live, &query, deadline).await)
}

/// Whose AMIs are Bottlerocket's, at the job's reference time.
pub(super) fn trust(e: &Ec2Spec, at: DateTime<Utc>) -> ImageTrust {
    ImageTrust {
        owners: e.image_owners.clone(),
        at,
    }
}

/// The instances, one inventory per account (`aws:<account>`).
pub(super) fn inventories(o: &Ec2Observations, trust: &ImageTrust) -> Vec<LoadedInventory> {
    o.report
        .accounts
        .iter()
        .filter(|a| a.error.is_none())
        .map(|a| LoadedInventory {
            name: format!("aws:{}", a.account),
            format: InventoryFormat::Ec2,
            nodes: o
                .instances
                .iter()
                .filter(|i| i.account == a.account)
                .map(|i| node_of(i, &o.images, trust))
                .collect(),
        })
        .collect()
}

/// The variants and architectures the launch templates boot, so that their repositories are
/// verified too.
pub(super) fn launch_paths_in_play(
    e: &Ec2Spec,
    o: &Ec2Observations,
    ssm: Option<&Observations>,
    at: DateTime<Utc>,
) -> Vec<(String, crate::source::bottlerocket::Arch)> {
    let trust = trust(e, at);
    let policy = crate::fleet::BehindLimits::default();
    let judging = crate::fleet::launch::LaunchJudging {
        images: &o.images,
        trust: &trust,
        ssm,
        tracks: &[],
        at,
        policy: &policy,
    };
    let paths = judging.all(&o.launch_paths);
    // A version pointer (`resolve:ssm:…/1.26.1/image_id`) is what the template's author wrote,
    // backed by nothing EC2 or SSM said: it brings no repository into play.
    paths
        .into_iter()
        .filter(|p| {
            p.boots
                .as_deref()
                .is_none_or(|b| !b.starts_with("resolve:ssm:") || b.contains("/latest/"))
        })
        .filter_map(|p| {
            let arch = crate::source::bottlerocket::Arch::parse(p.arch.as_deref()?).ok()?;
            Some((p.variant?, arch))
        })
        .collect()
}

/// Describe the AMIs SSM's `latest` names (in the first account), and judge them.
pub(super) async fn check_ssm_images(
    e: &Ec2Spec,
    o: &mut Ec2Observations,
    ssm: &Observations,
) -> Vec<Finding> {
    let wanted: Vec<(String, String)> = ssm
        .latest
        .iter()
        .filter_map(|l| Some((l.region.clone(), l.image_id.clone()?)))
        .collect();
    crate::aws::ec2::describe_more(o, &e.live, &wanted).await;
    let Some(account) = o.report.accounts.iter().find(|a| a.error.is_none()) else {
        return Vec::new();
    };
    crate::fleet::ami::ssm_image_findings(&ssm.latest, &o.images, &account.account)
}
