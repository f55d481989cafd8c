//! Kubernetes read live for a job: each cluster's nodes as an inventory of the fleet
//! (`k8s:<cluster>`), and its Karpenter node classes as launch paths.

use super::plan::{KubernetesSpec, LoadedInventory};
use crate::cluster::{ClusterRead, KubeOptions, KubernetesReport, Timeouts, PAGE_SIZE};
use crate::fleet::inventory::InventoryFormat;
use crate::fleet::karpenter::NodeClassFacts;
use crate::source::bottlerocket::Arch;

/// What the clusters gave: the report of the reads, the nodes as inventories, and the node
/// classes.
pub(super) struct KubeObservations {
    pub report: KubernetesReport,
    pub inventories: Vec<LoadedInventory>,
    pub node_classes: Vec<NodeClassFacts>,
}

/// Read every cluster, within the run's deadline from now.
pub(super) async fn read_kubernetes(k: &KubernetesSpec) -> KubeObservations {
    let options = KubeOptions {
        timeouts: Timeouts {
            attempt: k.attempt_timeout,
        },
        deadline: Some(tokio::time::Instant::now() + k.deadline),
        page_size: PAGE_SIZE,
    };
    let reads = crate::cluster::observe(&k.clusters, &options).await;
    let mut observed = KubeObservations {
        report: KubernetesReport::default(),
        inventories: Vec::new(),
        node_classes: Vec::new(),
    };
    for ClusterRead {
        report,
        nodes,
        node_classes,
    } in reads
    {
        // A cluster whose nodes could not be listed is no inventory: none of its nodes are
        // judged, and the report says why.
        if report.pages > 0 {
            observed.inventories.push(LoadedInventory {
                name: format!("k8s:{}", report.cluster),
                format: InventoryFormat::Kubectl,
                nodes,
            });
        }
        observed.node_classes.extend(node_classes);
        observed.report.clusters.push(report);
    }
    observed
}

/// The variants and architectures the node classes pin by alias or by a resolved AMI's name,
/// so that their repositories are verified too (those following SSM come in through SSM).
pub(super) fn node_classes_in_play(classes: &[NodeClassFacts]) -> Vec<(String, Arch)> {
    let tracks = [];
    let policy = crate::fleet::BehindLimits::default();
    let images = crate::fleet::ami::Images::default();
    let trust = crate::fleet::ami::ImageTrust {
        owners: Vec::new(),
        at: chrono::Utc::now(),
    };
    let judging = crate::fleet::launch::LaunchJudging {
        images: &images,
        trust: &trust,
        ssm: None,
        tracks: &tracks,
        at: chrono::Utc::now(),
        policy: &policy,
    };
    judging
        .node_classes(classes)
        .into_iter()
        .filter_map(|p| {
            let arch = Arch::parse(p.arch.as_deref()?).ok()?;
            Some((p.variant?, arch))
        })
        .collect()
}
