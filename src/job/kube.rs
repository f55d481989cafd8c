//! Kubernetes read live for a job: each cluster's nodes as an inventory of the fleet
//! (`k8s:<cluster>`), and its Karpenter node classes as launch paths.

use super::plan::{KubernetesSpec, LoadedInventory};
use crate::cluster::{ClusterRead, KubeOptions, KubernetesReport, Timeouts, PAGE_SIZE};
use crate::fleet::inventory::InventoryFormat;
use crate::fleet::karpenter::NodeClassFacts;

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
