//! What a job reads from SSM: from files, or live from the API in the regions and for the
//! variants in play.

use super::plan::{JobSpec, SsmSource, SsmSpec};
use crate::aws::client::LiveOptions;
use crate::error::Setting;
use crate::error::{Error, Result};
use crate::fleet::inventory::Evidence;
use crate::ssm::{Observations, Parameter, Query, RegionResult};
use chrono::{DateTime, Utc};
use std::collections::BTreeSet;
use std::path::PathBuf;

/// Read SSM for a job: the parameters of the variants asked (or in play), in the regions asked
/// (or the configuration's default), and the AMIs of the regions EC2 instances run in.
pub(super) async fn read_ssm(
    s: &SsmSpec,
    spec: &JobSpec,
    now: DateTime<Utc>,
) -> Result<Observations> {
    let ec2_regions = ec2_regions(spec);
    match &s.source {
        SsmSource::Files(paths) => read_files(s, paths, ec2_regions, now),
        SsmSource::Live(options) => read_live(s, spec, options, ec2_regions, now).await,
    }
}

/// Whether SSM, read only to map launch AMIs to versions, has anything to map: an EC2 instance
/// whose AMI EC2 did not describe, and a variant in play (a file is read whenever given).
pub(super) fn needed(s: &SsmSpec, spec: &JobSpec) -> bool {
    match s.source {
        SsmSource::Files(_) => true,
        SsmSource::Live(_) => {
            !ec2_regions(spec).is_empty() && !variants_in_play(s, spec).is_empty()
        }
    }
}

/// The regions of the inventories' EC2 instances whose launch AMIs only SSM can map to a version
/// (EC2 did not describe them), sorted, each once.
fn ec2_regions(spec: &JobSpec) -> Vec<String> {
    spec.inventories
        .iter()
        .flat_map(|i| i.nodes.iter())
        .filter(|n| n.evidence == Evidence::LaunchAmi)
        .filter(|n| {
            matches!(
                n.launch_image,
                None | Some(crate::fleet::ami::LaunchImage::Missing)
            )
        })
        .filter_map(|n| n.region.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// The variants to read live: those asked, else those of the repositories and the inventories.
fn variants_in_play(s: &SsmSpec, spec: &JobSpec) -> Vec<String> {
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
    variants
}

/// Read SSM from files: in the regions asked, else in every region the files hold.
fn read_files(
    s: &SsmSpec,
    paths: &[PathBuf],
    ec2_regions: Vec<String>,
    now: DateTime<Utc>,
) -> Result<Observations> {
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
        regions,
        variants: s.variants.clone(),
        archs: s.archs.clone(),
        image_regions: ec2_regions,
    };
    let results = file_results(&query, &params);
    Ok(Observations::from_parameters(
        "file",
        paths.iter().map(|p| p.display().to_string()).collect(),
        now,
        &query,
        results,
        &params,
    ))
}

/// How each region a file read covers went: the regions asked, then those of EC2 instances; a
/// region the files hold no parameter of is an error.
fn file_results(query: &Query, params: &[Parameter]) -> Vec<RegionResult> {
    let mut read: Vec<&String> = query.regions.iter().collect();
    for r in &query.image_regions {
        if !read.contains(&r) {
            read.push(r);
        }
    }
    read.into_iter()
        .map(|r| RegionResult {
            region: r.clone(),
            calls: crate::ssm::Calls::default(),
            error: (!params.iter().any(|p| &p.region == r))
                .then(|| "the SSM files hold no parameter of this region".to_owned()),
        })
        .collect()
}

/// Read SSM live from the API (or the endpoint named), for the variants in play.
async fn read_live(
    s: &SsmSpec,
    spec: &JobSpec,
    options: &LiveOptions,
    ec2_regions: Vec<String>,
    now: DateTime<Utc>,
) -> Result<Observations> {
    let variants = variants_in_play(s, spec);
    let deadline = crate::aws::client::deadline_from_now(options);
    let config = aws_config(options, deadline).await?;
    let regions = live_regions(s, &config, &ec2_regions)?;
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
    let (results, params) = crate::ssm::live::observe(&config, options, &query, deadline).await;
    let from = vec![live_endpoint(options)];
    Ok(Observations::from_parameters(
        "live", from, now, &query, results, &params,
    ))
}

/// The AWS configuration, by `deadline`: one not found by then (the default region asked of an
/// instance metadata service that does not answer) is an AWS out of reach.
pub(super) async fn aws_config(
    options: &LiveOptions,
    deadline: tokio::time::Instant,
) -> Result<aws_config::SdkConfig> {
    crate::aws::client::load_config(options, deadline)
        .await
        .map_err(|e| Error::Fetch {
            url: "the AWS configuration (profile, default region)".to_owned(),
            message: e.to_string(),
        })
}

/// The regions whose `latest` values are read live.
fn live_regions(
    s: &SsmSpec,
    config: &aws_config::SdkConfig,
    ec2_regions: &[String],
) -> Result<Vec<String>> {
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
    Ok(regions)
}

/// Where a live read reads from: the endpoint named (in the options or the environment), else AWS.
fn live_endpoint(options: &LiveOptions) -> String {
    options
        .endpoint_url
        .clone()
        .or_else(|| std::env::var("AWS_ENDPOINT_URL_SSM").ok())
        .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok())
        .unwrap_or_else(|| "AWS".to_owned())
}
