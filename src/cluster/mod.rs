//! Kubernetes read live, through kube-rs: each cluster's nodes (listed page by page), the update
//! operator's `BottlerocketShadow`s joined to them, and Karpenter's `EC2NodeClass`es, as the
//! fleet's plain data. Clusters are read at once; one that cannot be read is said in the report
//! (`kubernetes_unavailable`, the run incomplete) and the others are still read. Judging is the
//! fleet's.

pub mod api;
mod objects;

pub use api::{read_kubeconfig, ClusterSource, ReadError, Timeouts};

use crate::fleet::inventory::{kubernetes_node, KubernetesItem, Node};
use crate::fleet::karpenter::NodeClassFacts;
use crate::fleet::update::{Shadow, Updater};
use crate::report::{Code, Finding};
use objects::{Claim, NodeClassObject, ShadowObject};
/// The paths listed: what a ClusterRole must grant `list` on (`deploy/kubernetes/`).
pub use objects::{NODES, NODE_CLASSES, SHADOWS};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// Nodes a page, as kubectl asks for them.
pub const PAGE_SIZE: u32 = 500;

/// A cluster to read.
#[derive(Debug, Clone)]
pub struct ClusterSpec {
    /// How the report names it: the name given, else the context's name, else `in-cluster`.
    pub name: String,
    /// Where its credentials come from.
    pub source: ClusterSource,
}

/// How the clusters are read.
#[derive(Debug, Clone, Copy)]
pub struct KubeOptions {
    /// Each call's timeouts.
    pub timeouts: Timeouts,
    /// The run's deadline, past which a cluster is not read further.
    pub deadline: Option<tokio::time::Instant>,
    /// Items a page.
    pub page_size: u32,
}

/// Whether an optional part of a cluster (the update operator, Karpenter) is there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Presence {
    /// Installed: its objects were listed.
    Installed,
    /// Not installed: the API does not know its objects.
    NotInstalled,
    /// Its objects could not be listed (the report says why).
    Unread,
}

/// How one cluster's read went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterReport {
    /// Its name.
    pub cluster: String,
    /// Its API server, when the kubeconfig names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// Its Kubernetes version (`1.36`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes_version: Option<String>,
    /// The region most of its nodes are in (`topology.kubernetes.io/region`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Nodes read.
    pub nodes: u64,
    /// Pages of the node list read.
    pub pages: u32,
    /// The Bottlerocket update operator.
    pub update_operator: Presence,
    /// Karpenter's EC2NodeClasses.
    pub karpenter: Presence,
    /// Why the cluster, or a part of it, could not be read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

/// How the clusters' reads went.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KubernetesReport {
    /// Each cluster, in the order given.
    pub clusters: Vec<ClusterReport>,
}

impl KubernetesReport {
    /// A `kubernetes_unavailable` for each cluster, or part of one, that could not be read.
    pub fn findings(&self) -> Vec<Finding> {
        self.clusters
            .iter()
            .flat_map(|c| {
                c.errors.iter().map(|why| {
                    Finding::error(
                        Code::KubernetesUnavailable,
                        format!("cluster {}: {why}", c.cluster),
                    )
                    .about(crate::report::Subject {
                        cluster: Some(c.cluster.clone()),
                        ..Default::default()
                    })
                })
            })
            .collect()
    }
}

/// What one cluster gave.
#[derive(Debug)]
pub struct ClusterRead {
    /// How the read went.
    pub report: ClusterReport,
    /// Its nodes, each with its cluster and, when the update operator's shadows were listed,
    /// its updater.
    pub nodes: Vec<Node>,
    /// Its EC2NodeClasses.
    pub node_classes: Vec<NodeClassFacts>,
}

/// Read every cluster at once, each within the run's deadline.
pub async fn observe(clusters: &[ClusterSpec], options: &KubeOptions) -> Vec<ClusterRead> {
    futures::future::join_all(clusters.iter().map(|c| read_in_time(c, options))).await
}

/// One cluster, within the run's deadline: what was read by then stands, the rest is an error.
async fn read_in_time(spec: &ClusterSpec, options: &KubeOptions) -> ClusterRead {
    let mut read = ClusterRead {
        report: ClusterReport {
            cluster: spec.name.clone(),
            server: api::server_of(&spec.source),
            kubernetes_version: None,
            region: None,
            nodes: 0,
            pages: 0,
            update_operator: Presence::Unread,
            karpenter: Presence::Unread,
            errors: Vec::new(),
        },
        nodes: Vec::new(),
        node_classes: Vec::new(),
    };
    let work = read_cluster(spec, options, &mut read);
    let outcome = match options.deadline {
        Some(d) => tokio::time::timeout_at(d, work)
            .await
            .unwrap_or(Err(ReadError::Deadline)),
        None => work.await,
    };
    if let Err(e) = outcome {
        // The nodes are kept only once their list is complete (`read_cluster` sets them after
        // the last page): a list that did not finish leaves none, and a later part that did
        // not (the shadows, the node classes) leaves the nodes without an updater read.
        read.report.errors.insert(0, e.to_string());
    }
    read
}

/// The cluster's nodes, then its update operator's shadows and its node classes; a part that
/// cannot be read is noted and the rest is still read.
async fn read_cluster(
    spec: &ClusterSpec,
    options: &KubeOptions,
    read: &mut ClusterRead,
) -> Result<(), ReadError> {
    let client = api::client(&spec.source, options.timeouts).await?;
    let (nodes, pages) = nodes(&client, &spec.name, options.page_size).await?;
    read.report.nodes = nodes.len() as u64;
    read.report.pages = pages;
    read.report.region = main_region(&nodes);
    read.nodes = nodes;

    let (presence, shadows) = optional(
        list_all::<ShadowObject>(&client, SHADOWS, options.page_size).await,
        "the update operator's BottlerocketShadows",
        &mut read.report.errors,
    );
    read.report.update_operator = presence;
    join_updaters(&mut read.nodes, presence, &shadows);

    read.report.kubernetes_version = match api::kubernetes_version(&client).await {
        Ok(v) => Some(v),
        Err(e) => {
            read.report.errors.push(format!("its version: {e}"));
            None
        }
    };
    let (presence, classes) = optional(
        list_all::<NodeClassObject>(&client, NODE_CLASSES, options.page_size).await,
        "Karpenter's EC2NodeClasses",
        &mut read.report.errors,
    );
    read.report.karpenter = presence;
    let (version, region) = (
        read.report.kubernetes_version.as_deref(),
        read.report.region.as_deref(),
    );
    read.node_classes = classes
        .iter()
        .map(|c| c.facts(&spec.name, version, region))
        .collect();
    Ok(())
}

/// Every node of the cluster, page by page, and the pages read.
async fn nodes(
    client: &kube::Client,
    cluster: &str,
    page_size: u32,
) -> Result<(Vec<Node>, u32), ReadError> {
    let mut nodes = Vec::new();
    let pages = api::list::<KubernetesItem>(client, NODES, page_size, |items, first| {
        if first {
            nodes.clear();
        }
        let before = nodes.len();
        for (i, item) in items.into_iter().enumerate() {
            let node =
                kubernetes_node(cluster, before + i, item).map_err(|e| ReadError::Malformed {
                    path: NODES.to_owned(),
                    why: e.to_string(),
                })?;
            nodes.push(node);
        }
        Ok(())
    })
    .await?;
    Ok((nodes, pages))
}

/// Every object of a list.
async fn list_all<T: serde::de::DeserializeOwned + Send + 'static>(
    client: &kube::Client,
    path: &str,
    page_size: u32,
) -> Result<Vec<T>, ReadError> {
    let mut all = Vec::new();
    api::list::<T>(client, path, page_size, |items, first| {
        if first {
            all.clear();
        }
        all.extend(items);
        Ok(())
    })
    .await?;
    Ok(all)
}

/// An optional part's list: installed with its objects, not installed (the API does not know
/// the resource), or unread (the error noted).
fn optional<T>(
    listed: Result<Vec<T>, ReadError>,
    what: &str,
    errors: &mut Vec<String>,
) -> (Presence, Vec<T>) {
    match listed {
        Ok(all) => (Presence::Installed, all),
        Err(e) if e.is_not_found() => (Presence::NotInstalled, Vec::new()),
        Err(e) => {
            errors.push(format!("{what} could not be listed: {e}"));
            (Presence::Unread, Vec::new())
        }
    }
}

/// Each node's updater, from the shadows listed: its own shadow, none, or no operator at all.
/// Unread shadows say nothing of any node.
fn join_updaters(nodes: &mut [Node], presence: Presence, shadows: &[ShadowObject]) {
    // A node claimed by several shadows takes the one it owns (what the operator writes).
    let mut by_node: HashMap<&str, (Claim, Shadow)> = HashMap::new();
    for s in shadows {
        let Some((node, claim)) = s.node() else {
            continue;
        };
        if by_node.get(node).is_none_or(|(held, _)| claim > *held) {
            by_node.insert(node, (claim, s.shadow()));
        }
    }
    for n in nodes {
        n.updater = match presence {
            Presence::Unread => None,
            Presence::NotInstalled => Some(Updater::NotInstalled),
            Presence::Installed => Some(match by_node.get(n.name.as_str()) {
                Some((_, s)) => Updater::Shadow(Box::new(s.clone())),
                None => Updater::Unmanaged,
            }),
        };
    }
}

/// The region most of the nodes are in (ties: the first in name order).
fn main_region(nodes: &[Node]) -> Option<String> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for r in nodes.iter().filter_map(|n| n.region.as_deref()) {
        *counts.entry(r).or_default() += 1;
    }
    let most = counts.values().copied().max()?;
    counts
        .into_iter()
        .find(|(_, n)| *n == most)
        .map(|(r, _)| r.to_owned())
}
