//! Launch paths beyond launch templates, read live: Auto Scaling groups and the launch
//! configurations they name (aws-sdk-autoscaling), and EKS managed node groups (aws-sdk-eks) of
//! one account and region, each paginated to the end, with the same retries, timeouts, attempt
//! counts and response caps as EC2.

use super::client::{describe, every_page, CallError, CapResponse, CountAttempts, LiveOptions};
use super::model::{
    AutoScalingGroupFacts, GroupLaunch, LaunchConfigurationFacts, NodeGroupFacts, TemplateRef,
};
use aws_config::SdkConfig;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

/// The largest response body read from Auto Scaling or EKS.
const MAX_RESPONSE: usize = 16 << 20;

/// Calls made to Auto Scaling and EKS in one region.
#[derive(Debug, Default, Clone, Copy)]
pub struct GroupCalls {
    /// `DescribeAutoScalingGroups` pages.
    pub describe_auto_scaling_groups: u64,
    /// `DescribeLaunchConfigurations` pages.
    pub describe_launch_configurations: u64,
    /// `ListClusters`, `ListNodegroups` pages and `DescribeNodegroup` calls.
    pub eks: u64,
}

/// The clients of one account and region.
pub struct GroupClients {
    autoscaling: aws_sdk_autoscaling::Client,
    eks: aws_sdk_eks::Client,
}

impl GroupClients {
    /// Clients for `region`, counting their attempts in `attempts`.
    pub fn new(
        config: &SdkConfig,
        options: &LiveOptions,
        region: &str,
        attempts: &Arc<AtomicU64>,
    ) -> Self {
        let autoscaling = aws_sdk_autoscaling::config::Builder::from(config)
            .region(aws_sdk_autoscaling::config::Region::new(region.to_owned()))
            .retry_config(options.retry_config())
            .timeout_config(options.timeout_config())
            .interceptor(CountAttempts(attempts.clone()))
            .interceptor(CapResponse(MAX_RESPONSE))
            .build();
        let eks = aws_sdk_eks::config::Builder::from(config)
            .region(aws_sdk_eks::config::Region::new(region.to_owned()))
            .retry_config(options.retry_config())
            .timeout_config(options.timeout_config())
            .interceptor(CountAttempts(attempts.clone()))
            .interceptor(CapResponse(MAX_RESPONSE))
            .build();
        GroupClients {
            autoscaling: aws_sdk_autoscaling::Client::from_conf(autoscaling),
            eks: aws_sdk_eks::Client::from_conf(eks),
        }
    }
}

/// Every Auto Scaling group of the region, page after page.
pub async fn auto_scaling_groups(
    clients: &GroupClients,
    account: &str,
    region: &str,
    calls: &mut GroupCalls,
) -> Result<Vec<AutoScalingGroupFacts>, CallError> {
    let operation = "DescribeAutoScalingGroups";
    every_page(
        operation,
        &mut calls.describe_auto_scaling_groups,
        |token| async {
            let page = clients
                .autoscaling
                .describe_auto_scaling_groups()
                .max_records(100)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| describe(operation, &e))?;
            let groups = page
                .auto_scaling_groups()
                .iter()
                .filter_map(|g| {
                    Some(AutoScalingGroupFacts {
                        account: account.to_owned(),
                        region: region.to_owned(),
                        name: g.auto_scaling_group_name()?.to_owned(),
                        launch: group_launch(g),
                    })
                })
                .collect();
            Ok((groups, page.next_token().map(str::to_owned)))
        },
    )
    .await
}

/// Launch configurations named in one call (Auto Scaling takes up to 50 names).
const CONFIGURATIONS_PER_CALL: usize = 50;

/// The launch configurations named (those groups launch from), `CONFIGURATIONS_PER_CALL` at a
/// time, page after page; none named, no call. One that no longer exists is not returned.
pub async fn launch_configurations(
    clients: &GroupClients,
    account: &str,
    region: &str,
    names: &[String],
    calls: &mut GroupCalls,
) -> Result<Vec<LaunchConfigurationFacts>, CallError> {
    let operation = "DescribeLaunchConfigurations";
    let mut out = Vec::new();
    for chunk in names.chunks(CONFIGURATIONS_PER_CALL) {
        let read = every_page(
            operation,
            &mut calls.describe_launch_configurations,
            |token| async {
                let page = clients
                    .autoscaling
                    .describe_launch_configurations()
                    .set_launch_configuration_names(Some(chunk.to_vec()))
                    .max_records(50)
                    .set_next_token(token)
                    .send()
                    .await
                    .map_err(|e| describe(operation, &e))?;
                let configurations = page
                    .launch_configurations()
                    .iter()
                    .filter_map(|c| {
                        Some(LaunchConfigurationFacts {
                            account: account.to_owned(),
                            region: region.to_owned(),
                            name: c.launch_configuration_name()?.to_owned(),
                            image: c.image_id().map(str::to_owned),
                        })
                    })
                    .collect();
                Ok((configurations, page.next_token().map(str::to_owned)))
            },
        )
        .await?;
        out.extend(read);
    }
    Ok(out)
}

/// What a group launches from: its launch template, the one of its mixed instances policy, or
/// its launch configuration.
fn group_launch(g: &aws_sdk_autoscaling::types::AutoScalingGroup) -> GroupLaunch {
    let spec = g.launch_template().or_else(|| {
        g.mixed_instances_policy()
            .and_then(|m| m.launch_template())
            .and_then(|t| t.launch_template_specification())
    });
    match (spec, g.launch_configuration_name()) {
        (Some(s), _) => GroupLaunch::Template(TemplateRef {
            id: s.launch_template_id().map(str::to_owned),
            name: s.launch_template_name().map(str::to_owned),
            version: s.version().map(str::to_owned),
        }),
        (None, Some(lc)) => GroupLaunch::LaunchConfiguration(lc.to_owned()),
        (None, None) => GroupLaunch::Unknown,
    }
}

/// Every EKS managed node group of every cluster of the region.
pub async fn node_groups(
    clients: &GroupClients,
    account: &str,
    region: &str,
    calls: &mut GroupCalls,
) -> Result<Vec<NodeGroupFacts>, CallError> {
    let mut out = Vec::new();
    for cluster in clusters(clients, calls).await? {
        for name in nodegroup_names(clients, &cluster, calls).await? {
            calls.eks += 1;
            let described = clients
                .eks
                .describe_nodegroup()
                .cluster_name(&cluster)
                .nodegroup_name(&name)
                .send()
                .await
                .map_err(|e| describe(&format!("DescribeNodegroup {cluster}/{name}"), &e))?;
            let Some(g) = described.nodegroup() else {
                continue;
            };
            out.push(NodeGroupFacts {
                account: account.to_owned(),
                region: region.to_owned(),
                cluster: cluster.clone(),
                name,
                ami_type: g.ami_type().map(|t| t.as_str().to_owned()),
                release_version: g.release_version().map(str::to_owned),
                kubernetes_version: g.version().map(str::to_owned),
                template: g.launch_template().map(|t| TemplateRef {
                    id: t.id().map(str::to_owned),
                    name: t.name().map(str::to_owned),
                    version: t.version().map(str::to_owned),
                }),
            });
        }
    }
    Ok(out)
}

/// The region's EKS clusters, page after page.
async fn clusters(
    clients: &GroupClients,
    calls: &mut GroupCalls,
) -> Result<Vec<String>, CallError> {
    every_page("ListClusters", &mut calls.eks, |token| async {
        let page = clients
            .eks
            .list_clusters()
            .max_results(100)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| describe("ListClusters", &e))?;
        Ok((
            page.clusters().to_vec(),
            page.next_token().map(str::to_owned),
        ))
    })
    .await
}

/// A cluster's managed node groups, page after page.
async fn nodegroup_names(
    clients: &GroupClients,
    cluster: &str,
    calls: &mut GroupCalls,
) -> Result<Vec<String>, CallError> {
    let operation = format!("ListNodegroups {cluster}");
    every_page(&operation, &mut calls.eks, |token| async {
        let page = clients
            .eks
            .list_nodegroups()
            .cluster_name(cluster)
            .max_results(100)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| describe(&operation, &e))?;
        Ok((
            page.nodegroups().to_vec(),
            page.next_token().map(str::to_owned),
        ))
    })
    .await
}
