//! What a job reads from SSM: from files, or live from the API in the regions and for the
//! variants in play.

use super::plan::{JobSpec, SsmSource, SsmSpec};
use crate::error::Setting;
use crate::error::{Error, Result};
use crate::fleet::inventory::Evidence;
use crate::ssm::{Observations, Query};
use chrono::{DateTime, Utc};
use std::collections::BTreeSet;

/// Read SSM for a job: the parameters of the variants asked (or in play), in the regions asked
/// (or the configuration's default), and the AMIs of the regions EC2 instances run in.
pub(super) async fn read_ssm(
    s: &SsmSpec,
    spec: &JobSpec,
    now: DateTime<Utc>,
) -> Result<Observations> {
    let ec2_regions: Vec<String> = spec
        .inventories
        .iter()
        .flat_map(|i| i.nodes.iter())
        .filter(|n| n.evidence == Evidence::LaunchAmi)
        .filter_map(|n| n.region.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut variants = s.variants.clone();
    if variants.is_empty() {
        variants = spec
            .repos
            .iter()
            .filter_map(|r| r.options.variant.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        // Variants the inventories name directly are worth reading too.
        for inv in &spec.inventories {
            for n in &inv.nodes {
                if let Some(v) = &n.variant {
                    if !variants.contains(v) {
                        variants.push(v.clone());
                    }
                }
            }
        }
        variants.sort();
    }
    match &s.source {
        SsmSource::Files(paths) => {
            let default_region = match s.regions.as_slice() {
                [one] => Some(one.as_str()),
                _ => None,
            };
            let mut params = Vec::new();
            for p in paths {
                params.extend(crate::ssm::file::read(p, default_region)?);
            }
            let mut regions: Vec<String> = s.regions.clone();
            if regions.is_empty() {
                regions = params
                    .iter()
                    .map(|p| p.region.clone())
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect();
            }
            let query = Query {
                regions: regions.clone(),
                variants: s.variants.clone(),
                archs: s.archs.clone(),
                image_regions: ec2_regions,
            };
            let mut read: Vec<&String> = regions.iter().collect();
            for r in &query.image_regions {
                if !read.contains(&r) {
                    read.push(r);
                }
            }
            let results = read
                .into_iter()
                .map(|r| crate::ssm::RegionResult {
                    region: r.clone(),
                    calls: crate::ssm::Calls::default(),
                    error: (!params.iter().any(|p| &p.region == r))
                        .then(|| "the SSM files hold no parameter of this region".to_owned()),
                })
                .collect();
            Ok(Observations::from_parameters(
                "file",
                paths.iter().map(|p| p.display().to_string()).collect(),
                now,
                &query,
                results,
                &params,
            ))
        }
        SsmSource::Live(options) => {
            let config = crate::ssm::live::load_config(options).await;
            let mut regions = s.regions.clone();
            // `latest` is read in the regions named, else in the configuration's default region;
            // a job that only maps EC2 launch AMIs needs no default region.
            let latest_needed = s.cross_check || ec2_regions.is_empty();
            if regions.is_empty() && latest_needed {
                match config.region() {
                    Some(r) => regions.push(r.to_string()),
                    None => {
                        return Err(Error::Setting {
                            setting: Setting::Region,
                            message: "no region: name one, or set one in the AWS configuration (AWS_REGION, a profile's region)".to_owned(),
                        })
                    }
                }
            }
            if variants.is_empty() {
                return Err(Error::Setting {
                    setting: Setting::SsmVariant,
                    message: "name the variants to read from SSM".to_owned(),
                });
            }
            let query = Query {
                regions,
                variants,
                archs: s.archs.clone(),
                image_regions: ec2_regions,
            };
            let (results, params) = crate::ssm::live::observe(&config, options, &query).await;
            let from = vec![options
                .endpoint_url
                .clone()
                .or_else(|| std::env::var("AWS_ENDPOINT_URL_SSM").ok())
                .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok())
                .unwrap_or_else(|| "AWS".to_owned())];
            Ok(Observations::from_parameters(
                "live", from, now, &query, results, &params,
            ))
        }
    }
}
