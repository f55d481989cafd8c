//! The objects of the lists read, as the API gives them: only the fields judged, each turned
//! into the fleet's plain data here, at the edge.

use crate::fleet::karpenter::{NodeClassFacts, ResolvedAmi};
use crate::fleet::update::Shadow;
use chrono::{DateTime, Utc};
use serde::Deserialize;

/// Where the update operator's shadows are listed, in every namespace.
pub const SHADOWS: &str = "/apis/brupop.bottlerocket.aws/v2/bottlerocketshadows";

/// Where Karpenter's EC2NodeClasses are listed (cluster-scoped).
pub const NODE_CLASSES: &str = "/apis/karpenter.k8s.aws/v1/ec2nodeclasses";

/// Where the nodes are listed.
pub const NODES: &str = "/api/v1/nodes";

/// An object's metadata, as far as it is read.
#[derive(Deserialize, Default)]
#[serde(default)]
struct Meta {
    name: String,
    namespace: Option<String>,
    #[serde(rename = "ownerReferences")]
    owners: Option<Vec<Owner>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Owner {
    kind: String,
    name: String,
}

/// A `BottlerocketShadow` (brupop.bottlerocket.aws/v2).
#[derive(Deserialize)]
pub struct ShadowObject {
    #[serde(default)]
    metadata: Meta,
    #[serde(default)]
    spec: ShadowSpec,
    #[serde(default)]
    status: Option<ShadowStatus>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ShadowSpec {
    state: Option<String>,
    state_transition_timestamp: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ShadowStatus {
    current_version: Option<String>,
    target_version: Option<String>,
    current_state: Option<String>,
    crash_count: Option<i64>,
    state_transition_failure_timestamp: Option<String>,
}

/// A time the operator wrote; one that does not parse is as good as none.
fn time(s: &Option<String>) -> Option<DateTime<Utc>> {
    s.as_deref()?.parse().ok()
}

/// The namespace the update operator keeps its shadows in.
const BRUPOP_NAMESPACE: &str = "brupop-bottlerocket-aws";

/// How a shadow names its node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Claim {
    /// Named `brs-<node>` in the operator's namespace.
    ByName,
    /// Owned by the node (an owner reference of kind Node): what the operator writes.
    ByOwner,
}

impl ShadowObject {
    /// The node it shadows, and how it says so: its owner of kind Node, else its name without
    /// brupop's `brs-` in brupop's own namespace (a shadow elsewhere, named alike, claims
    /// nothing: anyone allowed to make one in another namespace could hide a node's state).
    pub fn node(&self) -> Option<(&str, Claim)> {
        let m = &self.metadata;
        let owner = m.owners.iter().flatten().find(|o| o.kind == "Node");
        if let Some(o) = owner {
            return Some((o.name.as_str(), Claim::ByOwner));
        }
        let named = m.name.strip_prefix("brs-")?;
        (m.namespace.as_deref() == Some(BRUPOP_NAMESPACE)).then_some((named, Claim::ByName))
    }

    /// What it says, as the fleet judges it.
    pub fn shadow(&self) -> Shadow {
        let status = self.status.as_ref();
        Shadow {
            desired_state: self.spec.state.clone(),
            desired_since: time(&self.spec.state_transition_timestamp),
            state: status.and_then(|s| s.current_state.clone()),
            current_version: status.and_then(|s| s.current_version.clone()),
            target_version: status.and_then(|s| s.target_version.clone()),
            crash_count: status
                .and_then(|s| s.crash_count)
                .map_or(0, |n| u32::try_from(n.max(0)).unwrap_or(u32::MAX)),
            failed_at: status.and_then(|s| time(&s.state_transition_failure_timestamp)),
        }
    }
}

/// An `EC2NodeClass` (karpenter.k8s.aws/v1).
#[derive(Deserialize)]
pub struct NodeClassObject {
    #[serde(default)]
    metadata: Meta,
    #[serde(default)]
    spec: NodeClassSpec,
    #[serde(default)]
    status: NodeClassStatus,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct NodeClassSpec {
    #[serde(rename = "amiFamily")]
    ami_family: Option<String>,
    #[serde(rename = "amiSelectorTerms")]
    terms: Vec<Term>,
}

/// One of `amiSelectorTerms`: an alias, or terms that select AMIs by id, name, owner, tags or
/// an SSM parameter.
#[derive(Deserialize, Default)]
#[serde(default)]
struct Term {
    alias: Option<String>,
    id: Option<String>,
    name: Option<String>,
    owner: Option<String>,
    #[serde(rename = "ssmParameter")]
    ssm_parameter: Option<String>,
    tags: Option<serde_json::Map<String, serde_json::Value>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct NodeClassStatus {
    amis: Vec<StatusAmi>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct StatusAmi {
    id: String,
    name: Option<String>,
    requirements: Vec<Requirement>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Requirement {
    key: String,
    operator: String,
    values: Vec<String>,
}

impl Term {
    /// A selector term in words: `id ami-0abc`, `name bottlerocket-*`, `tags {..}`.
    fn described(&self) -> String {
        let mut parts = Vec::new();
        let mut part = |k: &str, v: &Option<String>| {
            if let Some(v) = v {
                parts.push(format!("{k} {v}"));
            }
        };
        part("id", &self.id);
        part("name", &self.name);
        part("owner", &self.owner);
        part("ssmParameter", &self.ssm_parameter);
        if let Some(tags) = &self.tags {
            parts.push(format!("tags {}", serde_json::Value::Object(tags.clone())));
        }
        parts.join(", ")
    }
}

impl NodeClassObject {
    /// What it says, as the fleet judges it, for a class of `cluster` (its Kubernetes version and
    /// region as the cluster gives them).
    pub fn facts(
        &self,
        cluster: &str,
        kubernetes_version: Option<&str>,
        region: Option<&str>,
    ) -> NodeClassFacts {
        let s = &self.spec;
        NodeClassFacts {
            cluster: cluster.to_owned(),
            name: self.metadata.name.clone(),
            region: region.map(str::to_owned),
            kubernetes_version: kubernetes_version.map(str::to_owned),
            ami_family: s.ami_family.clone(),
            alias: s.terms.iter().find_map(|t| t.alias.clone()),
            other_terms: s
                .terms
                .iter()
                .filter(|t| t.alias.is_none())
                .map(Term::described)
                .collect(),
            resolved: self.status.amis.iter().map(resolved).collect(),
        }
    }
}

/// An AMI Karpenter resolved, with the architectures its requirements allow.
fn resolved(a: &StatusAmi) -> ResolvedAmi {
    let archs = a
        .requirements
        .iter()
        .filter(|r| r.key == "kubernetes.io/arch" && r.operator == "In")
        .flat_map(|r| r.values.iter().cloned())
        .collect();
    ResolvedAmi {
        id: a.id.clone(),
        name: a.name.clone(),
        archs,
    }
}
