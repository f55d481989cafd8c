//! The fleet: inventories ([`inventory`]) judged against the signed releases.
//!
//! A node is `current`, `rolling_out` (only releases still in their waves are newer), `behind`
//! (a due release is newer), `unknown_version` (a version the signed manifest does not contain),
//! `not_bottlerocket`, or `unchecked` (no verified manifest for its variant and architecture, or
//! no way to tell its version). EC2 instances are judged by their launch AMI and say so.

pub mod ami;
pub mod inventory;
pub mod karpenter;
pub mod launch;
pub mod stream;
pub mod update;

use crate::releases::Track;
use crate::report::{Code, Finding, Subject, Waived};
use crate::source::bottlerocket::Arch;
use crate::ssm::check::split_build;
use crate::ssm::Observations;
use chrono::{DateTime, Utc};
use inventory::{Evidence, Node};
use semver::Version;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// A node's standing.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum NodeStatus {
    /// It runs the newest release it should have.
    Current,
    /// Only releases still rolling out are newer.
    RollingOut,
    /// A due release is newer.
    Behind,
    /// It runs a version the signed manifest does not contain.
    UnknownVersion,
    /// It does not run Bottlerocket.
    NotBottlerocket,
    /// Its version could not be judged (no verified manifest, or no version known).
    #[default]
    Unchecked,
}

impl NodeStatus {
    /// The serialized name.
    pub fn as_str(self) -> &'static str {
        match self {
            NodeStatus::Current => "current",
            NodeStatus::RollingOut => "rolling_out",
            NodeStatus::Behind => "behind",
            NodeStatus::UnknownVersion => "unknown_version",
            NodeStatus::NotBottlerocket => "not_bottlerocket",
            NodeStatus::Unchecked => "unchecked",
        }
    }
}

/// When being behind becomes a finding. With neither limit set, any node behind a due release
/// is one; otherwise a node is a finding when it passes a limit that is set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BehindLimits {
    /// More releases behind than this is a finding.
    pub max_releases_behind: Option<u32>,
    /// Behind a release due for longer than this many days is a finding.
    pub max_days_behind: Option<f64>,
    /// The longest a node's update may stay in one state before it is `update_stuck` (nodes
    /// read from a cluster with the update operator); none: no bound.
    #[serde(skip)]
    pub update_stuck_after: Option<std::time::Duration>,
    /// How long after the oldest release a node misses became due it is still not a finding
    /// (`nodes_grace`); none: no grace.
    #[serde(skip)]
    pub nodes_grace: Option<std::time::Duration>,
}

impl BehindLimits {
    /// Refuse a limit that means nothing: days that are negative or not a number.
    pub fn check(&self) -> Result<(), crate::error::ValueError> {
        match self.max_days_behind {
            Some(d) if !d.is_finite() || d < 0.0 => Err(crate::error::ValueError {
                value: d.to_string(),
                expected: "a number of days, 0 or more",
            }),
            _ => Ok(()),
        }
    }

    /// Whether a node this far behind is a finding: beyond the limits, and past the grace.
    pub fn is_finding(&self, releases_behind: u32, behind_seconds: Option<i64>) -> bool {
        self.beyond_limits(releases_behind, behind_seconds)
            && self.grace_left(behind_seconds).is_none()
    }

    /// The seconds of `nodes_grace` left to a node behind for `behind_seconds`, while there
    /// are some.
    pub fn grace_left(&self, behind_seconds: Option<i64>) -> Option<i64> {
        // Behind since a time no release records (no waves): no grace to count.
        let behind = behind_seconds?;
        let grace = i64::try_from(self.nodes_grace?.as_secs()).unwrap_or(i64::MAX);
        let left = grace.saturating_sub(behind);
        (left > 0).then_some(left)
    }

    /// Whether a node this far behind passes the limits (the grace aside).
    fn beyond_limits(&self, releases_behind: u32, behind_seconds: Option<i64>) -> bool {
        if releases_behind == 0 {
            return false;
        }
        let by_count = self.max_releases_behind.map(|m| releases_behind > m);
        let by_days = self
            .max_days_behind
            .map(|m| behind_seconds.is_some_and(|s| s as f64 > m * 86_400.0));
        match (by_count, by_days) {
            (None, None) => true,
            (a, b) => a.unwrap_or(false) || b.unwrap_or(false),
        }
    }
}

/// One node, judged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeView {
    /// Its name (instance id for EC2).
    pub name: String,
    /// The inventory it came from.
    pub inventory: String,
    /// What its version rests on.
    pub evidence: Evidence,
    /// Its standing.
    pub status: NodeStatus,
    /// Its variant, when known.
    pub variant: Option<String>,
    /// Its architecture as TUF names it, when known.
    pub arch: Option<String>,
    /// The version it runs (for EC2: its launch AMI's), when known.
    pub version: Option<String>,
    /// The newest signed release of its variant and architecture.
    pub newest: Option<String>,
    /// The due release.
    pub due: Option<String>,
    /// How many releases newer than its version are due.
    pub releases_behind: u32,
    /// When `behind`: since when the due release has been due (its last wave's start).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due_since: Option<DateTime<Utc>>,
    /// When `behind`: for how long, at the reference time: seconds since the oldest release it
    /// misses became due.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub behind_seconds: Option<i64>,
    /// Whether the policy makes it a finding.
    pub finding: bool,
    /// When `behind` beyond the limits but within `nodes_grace`: when it becomes a finding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grace_ends: Option<DateTime<Utc>>,
    /// The launch AMI (EC2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_id: Option<String>,
    /// The region (EC2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The account (EC2 read live).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// Why, when the status needs explaining.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The Kubernetes cluster it was read from (read live).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    /// Its update state (nodes read from a cluster): updating, update_stuck, no_updater.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update: Option<Box<update::UpdateView>>,
}

/// Counts for one variant and architecture.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VariantSummary {
    /// The variant.
    pub variant: String,
    /// The architecture (TUF naming).
    pub arch: String,
    /// The newest signed release.
    pub newest: Option<String>,
    /// The due release.
    pub due: Option<String>,
    /// Nodes in all.
    pub nodes: u64,
    /// `current` nodes.
    pub current: u64,
    /// `rolling_out` nodes.
    pub rolling_out: u64,
    /// `behind` nodes.
    pub behind: u64,
    /// `behind` nodes beyond the policy.
    pub behind_findings: u64,
    /// `unknown_version` nodes.
    pub unknown_version: u64,
    /// `unchecked` nodes.
    pub unchecked: u64,
}

/// An AMI that EC2 instances were launched from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AmiView {
    /// The account whose instances run it (EC2 read live).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// The region.
    pub region: String,
    /// The AMI id.
    pub image_id: String,
    /// Its variant, from its name (EC2 read live) or SSM's map.
    pub variant: Option<String>,
    /// Its architecture, from its name or SSM's map.
    pub arch: Option<String>,
    /// Its build version, from its name or SSM's map.
    pub version: Option<String>,
    /// What EC2 says of it (EC2 read live): a Bottlerocket release (deprecated or not), an image
    /// of another owner or not Bottlerocket's, or gone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<ami::LaunchImage>,
    /// Instances launched from it.
    pub instances: u64,
    /// Its standing, as a node running it would have.
    pub status: NodeStatus,
    /// Releases newer than it that are due.
    pub releases_behind: u32,
    /// The due release.
    pub due: Option<String>,
    /// Whether the policy makes it a finding (a stale AMI).
    pub stale: bool,
}

/// The fleet report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fleet {
    /// Every node, in inventory order.
    pub nodes: Vec<NodeView>,
    /// Counts per variant and architecture.
    pub summary: Vec<VariantSummary>,
    /// Nodes that do not run Bottlerocket.
    pub not_bottlerocket: u64,
    /// AMIs in use (EC2 inventories), stale ones first.
    pub amis: Vec<AmiView>,
    /// Launch paths (EC2 read live): what the next nodes boot, stale ones first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub launch_paths: Vec<launch::LaunchPathView>,
}

/// What a track says about one running version.
#[derive(Clone, Default)]
struct Judgement {
    status: NodeStatus,
    releases_behind: u32,
    /// When the due release became due (its last wave's start).
    due_since: Option<DateTime<Utc>>,
    /// When the oldest release the node misses became due: how long it has been behind.
    behind_since: Option<DateTime<Utc>>,
    reason: Option<String>,
}

struct TrackIndex<'a> {
    track: &'a Track,
    /// Offered releases (version <= max_version), newest first, with whether each is rolling out
    /// and when its last wave starts.
    offered: Vec<(Version, bool, Option<DateTime<Utc>>)>,
    all: Vec<Version>,
    due: Option<Version>,
    due_since: Option<DateTime<Utc>>,
}

impl<'a> TrackIndex<'a> {
    fn new(track: &'a Track) -> Self {
        let parse = |v: &str| Version::parse(v).ok();
        let offered = track
            .releases
            .iter()
            .filter(|r| !r.beyond_max_version)
            .filter_map(|r| {
                let rolling = track.rolling_out.contains(&r.version);
                let last_wave = r.waves.iter().map(|w| w.start).max();
                parse(&r.version).map(|v| (v, rolling, last_wave))
            })
            .collect();
        let due_since = track.due.as_ref().and_then(|d| {
            track
                .releases
                .iter()
                .find(|r| &r.version == d)
                .and_then(|r| r.waves.iter().map(|w| w.start).max())
        });
        TrackIndex {
            track,
            offered,
            all: track
                .releases
                .iter()
                .filter_map(|r| parse(&r.version))
                .collect(),
            due: track.due.as_deref().and_then(parse),
            due_since,
        }
    }

    fn judge(&self, version: &str) -> Judgement {
        let unknown = |reason: String| Judgement {
            status: NodeStatus::UnknownVersion,
            reason: Some(reason),
            ..Judgement::default()
        };
        let Some((v, _build)) = split_build(version) else {
            return unknown(format!("{version:?} is not a version"));
        };
        if !self.all.contains(&v) {
            return unknown(format!(
                "{v} is not a release in the signed manifest of {} {}",
                self.track.variant, self.track.arch
            ));
        }
        // The releases it misses that every host should have by now.
        let missed: Vec<_> = self
            .offered
            .iter()
            .filter(|(r, _, _)| *r > v && self.due.as_ref().is_some_and(|d| r <= d))
            .collect();
        let releases_behind = missed.len() as u32;
        if releases_behind > 0 {
            Judgement {
                status: NodeStatus::Behind,
                releases_behind,
                due_since: self.due_since,
                behind_since: missed.iter().filter_map(|(_, _, t)| *t).min(),
                reason: None,
            }
        } else if self
            .offered
            .iter()
            .any(|(r, rolling, _)| *rolling && *r > v)
        {
            Judgement {
                status: NodeStatus::RollingOut,
                ..Judgement::default()
            }
        } else {
            Judgement {
                status: NodeStatus::Current,
                ..Judgement::default()
            }
        }
    }
}

/// What the tracks say of one release something boots (a launch path): its standing, how many
/// due releases are newer, the due one, and whether the policy makes it a finding.
#[derive(Debug, Clone, PartialEq)]
pub struct ReleaseStanding {
    /// Its standing, as a node running it would have.
    pub status: NodeStatus,
    /// Due releases newer than it.
    pub releases_behind: u32,
    /// The due release of its variant and architecture.
    pub due: Option<String>,
    /// Whether the policy makes it a finding.
    pub finding: bool,
    /// Why, when the status needs explaining.
    pub reason: Option<String>,
}

/// Judge one release of a variant and architecture (TUF naming) against the tracks, at `at`.
pub fn judge_release(
    tracks: &[Track],
    variant: &str,
    arch: &str,
    version: &str,
    at: DateTime<Utc>,
    policy: &BehindLimits,
) -> ReleaseStanding {
    let Some(track) = tracks
        .iter()
        .find(|t| t.variant == variant && t.arch == arch)
    else {
        let j = unchecked(false, &Some(variant.to_owned()), &Some(arch.to_owned()));
        return ReleaseStanding {
            status: j.status,
            releases_behind: 0,
            due: None,
            finding: false,
            reason: j.reason,
        };
    };
    let j = TrackIndex::new(track).judge(version);
    let behind_seconds = j.behind_since.map(|s| (at - s).num_seconds().max(0));
    ReleaseStanding {
        status: j.status,
        releases_behind: j.releases_behind,
        due: track.due.clone(),
        finding: j.status == NodeStatus::Behind
            && policy.is_finding(j.releases_behind, behind_seconds),
        reason: j.reason,
    }
}

fn tuf_arch(arch: Option<&str>) -> Option<String> {
    arch.and_then(|a| Arch::parse(a).ok())
        .map(|a| a.to_string())
}

/// Judge every node of the inventories (name of the inventory, its nodes) against the tracks,
/// at `at`, under `policy`. EC2 instances need `ssm` for their AMIs' versions.
pub fn judge(
    inventories: &[(String, Vec<Node>)],
    tracks: &[Track],
    ssm: Option<&Observations>,
    at: DateTime<Utc>,
    policy: &BehindLimits,
) -> Fleet {
    let mut judging = Judging {
        index: tracks
            .iter()
            .map(|t| ((t.variant.as_str(), t.arch.as_str()), TrackIndex::new(t)))
            .collect(),
        memo: HashMap::new(),
        ssm,
        at,
        policy,
    };
    let mut tally = Tally::default();
    for (source, list) in inventories {
        for node in list {
            tally.add(judging.node(source, node), node.launch_image.as_ref());
        }
    }
    tally.into_fleet()
}

/// What [`judge`] judges nodes by: the tracks, the judgements made so far, the SSM data, the
/// time and the policy.
struct Judging<'a> {
    /// The tracks by variant and architecture.
    index: HashMap<(&'a str, &'a str), TrackIndex<'a>>,
    /// What a track says of a version (by variant, architecture and version), judged once.
    memo: HashMap<(String, String, String), Judgement>,
    ssm: Option<&'a Observations>,
    at: DateTime<Utc>,
    policy: &'a BehindLimits,
}

impl Judging<'_> {
    /// One node of the inventory `source`, judged.
    fn node(&mut self, source: &str, node: &Node) -> NodeView {
        let Identified {
            variant,
            arch,
            version,
            early,
        } = identify(node, self.ssm);
        let track = match (&variant, &arch) {
            (Some(v), Some(a)) => self.index.get(&(v.as_str(), a.as_str())),
            _ => None,
        };
        let judgement = match (early, track, &version) {
            (Some((status, reason)), _, _) => Judgement {
                status,
                reason: Some(reason),
                ..Judgement::default()
            },
            (None, Some(t), Some(v)) => self
                .memo
                .entry((t.track.variant.clone(), t.track.arch.clone(), v.clone()))
                .or_insert_with(|| t.judge(v))
                .clone(),
            (None, track, _) => unchecked(track.is_some(), &variant, &arch),
        };
        let behind_seconds = judgement
            .behind_since
            .map(|s| (self.at - s).num_seconds().max(0));
        let behind = judgement.status == NodeStatus::Behind;
        let finding = behind
            && self
                .policy
                .is_finding(judgement.releases_behind, behind_seconds);
        let grace_ends = match self.policy.grace_left(behind_seconds) {
            Some(left)
                if behind
                    && !finding
                    && self
                        .policy
                        .beyond_limits(judgement.releases_behind, behind_seconds) =>
            {
                Some(self.at + chrono::Duration::seconds(left))
            }
            _ => None,
        };
        NodeView {
            name: node.name.clone(),
            inventory: source.to_owned(),
            evidence: node.evidence,
            status: judgement.status,
            variant: variant.clone(),
            arch: arch.clone(),
            version,
            newest: track.and_then(|t| t.track.newest.clone()),
            due: track.and_then(|t| t.track.due.clone()),
            releases_behind: judgement.releases_behind,
            due_since: judgement.due_since,
            behind_seconds,
            finding,
            grace_ends,
            image_id: node.image_id.clone(),
            region: node.region.clone(),
            account: node.account.clone(),
            reason: judgement.reason,
            cluster: node.cluster.clone(),
            update: update::judge_update(
                judgement.status,
                node.updater.as_ref(),
                self.at,
                self.policy.update_stuck_after,
            )
            .map(Box::new),
        }
    }
}

/// The fleet as it is counted, node by node.
#[derive(Default)]
struct Tally {
    nodes: Vec<NodeView>,
    summary: BTreeMap<(String, String), VariantSummary>,
    not_bottlerocket: u64,
    amis: BTreeMap<(Option<String>, String, String), AmiView>,
}

impl Tally {
    /// Count a judged node in the summary of its variant and architecture and in its launch
    /// AMI's, and keep it.
    fn add(&mut self, view: NodeView, image: Option<&ami::LaunchImage>) {
        if view.status == NodeStatus::NotBottlerocket {
            self.not_bottlerocket += 1;
        } else if let (Some(v), Some(a)) = (&view.variant, &view.arch) {
            let s = self
                .summary
                .entry((v.clone(), a.clone()))
                .or_insert_with(|| VariantSummary {
                    variant: v.clone(),
                    arch: a.clone(),
                    newest: view.newest.clone(),
                    due: view.due.clone(),
                    ..VariantSummary::default()
                });
            s.count(
                view.status,
                view.finding && view.evidence != Evidence::LaunchAmi,
            );
        }
        if let (Evidence::LaunchAmi, Some(region), Some(ami)) =
            (view.evidence, &view.region, &view.image_id)
        {
            let entry = self
                .amis
                .entry((view.account.clone(), region.clone(), ami.clone()))
                .or_insert_with(|| AmiView {
                    account: view.account.clone(),
                    region: region.clone(),
                    image_id: ami.clone(),
                    variant: view.variant.clone(),
                    arch: view.arch.clone(),
                    version: view.version.clone(),
                    image: image.cloned(),
                    instances: 0,
                    status: view.status,
                    releases_behind: view.releases_behind,
                    due: view.due.clone(),
                    stale: view.finding,
                });
            entry.instances += 1;
        }
        self.nodes.push(view);
    }

    /// The fleet report: the nodes in inventory order, the summaries, and the AMIs in use,
    /// stale ones first.
    fn into_fleet(self) -> Fleet {
        let mut amis: Vec<AmiView> = self.amis.into_values().collect();
        amis.sort_by(|a, b| {
            b.stale
                .cmp(&a.stale)
                .then(b.releases_behind.cmp(&a.releases_behind))
                .then(b.instances.cmp(&a.instances))
                .then(a.region.cmp(&b.region))
                .then(a.image_id.cmp(&b.image_id))
        });
        Fleet {
            nodes: self.nodes,
            summary: self.summary.into_values().collect(),
            not_bottlerocket: self.not_bottlerocket,
            amis,
            launch_paths: Vec::new(),
        }
    }
}

/// A node's variant, architecture and version as far as they are known (an EC2 instance's from
/// its launch AMI, by SSM's map), and the status it has before any release is compared: not
/// Bottlerocket, or unchecked, and why.
struct Identified {
    variant: Option<String>,
    arch: Option<String>,
    version: Option<String>,
    early: Option<(NodeStatus, String)>,
}

fn identify(node: &Node, ssm: Option<&Observations>) -> Identified {
    let mut id = Identified {
        variant: node.variant.clone(),
        arch: tuf_arch(node.arch.as_deref()),
        version: node.version.clone(),
        early: None,
    };
    if let Some(os) = &node.other_os {
        id.early = Some((NodeStatus::NotBottlerocket, format!("runs {os:?}")));
    } else if let Some(image) = &node.launch_image {
        described_ami(node, image, ssm, &mut id);
    } else if node.evidence == Evidence::LaunchAmi {
        launch_ami(node, ssm, &mut id);
    }
    if let (None, Some(v)) = (&id.early, &id.variant) {
        if crate::source::bottlerocket::check_variant(v).is_err() {
            id.early = Some((
                NodeStatus::Unchecked,
                format!("{v:?} is not a Bottlerocket variant name"),
            ));
        }
    }
    id
}

/// An EC2 instance's variant, architecture and version, from its launch AMI by SSM's map; or
/// why they cannot be known.
fn launch_ami(node: &Node, ssm: Option<&Observations>, id: &mut Identified) {
    let ami = node.image_id.as_deref().unwrap_or_default();
    let unchecked = |why: String| Some((NodeStatus::Unchecked, why));
    let (o, region) = match (ssm, &node.region) {
        (None, _) => {
            id.early = unchecked("no SSM data to map its launch AMI to a version".to_owned());
            return;
        }
        (_, None) => {
            id.early = unchecked("no availability zone, so no region for its AMI".to_owned());
            return;
        }
        (Some(o), Some(region)) => (o, region),
    };
    let read = o
        .regions
        .iter()
        .any(|r| &r.region == region && r.error.is_none());
    match o.image(region, ami) {
        Some(image) => {
            id.variant = Some(image.variant.clone());
            id.arch = Some(image.arch.clone());
            id.version = Some(image.version.clone());
        }
        None if !read => id.early = unchecked(format!("SSM was not read in {region}")),
        None if o.images_complete() => {
            id.early = Some((
                NodeStatus::NotBottlerocket,
                format!("launch AMI {ami} is not a Bottlerocket AMI that SSM lists in {region}"),
            ))
        }
        None => {
            id.early = unchecked(format!(
                "launch AMI {ami} is not among the AMIs SSM lists in {region} for {}: another variant, a private AMI, or not Bottlerocket",
                o.variants.join(", ")
            ))
        }
    }
}

/// An EC2 instance whose launch AMI EC2 described: a Bottlerocket release by its name (already
/// the node's version), another image, one named like Bottlerocket's but owned by someone else,
/// or one that is gone (then SSM's map may still know it).
fn described_ami(
    node: &Node,
    image: &ami::LaunchImage,
    ssm: Option<&Observations>,
    id: &mut Identified,
) {
    let ami = node.image_id.as_deref().unwrap_or_default();
    match image {
        ami::LaunchImage::Bottlerocket { .. } => {}
        ami::LaunchImage::Other { name } => {
            id.early = Some((
                NodeStatus::NotBottlerocket,
                format!("launch AMI {ami} ({name:?}) is not a Bottlerocket AMI"),
            ))
        }
        ami::LaunchImage::ForeignOwner { name, owner } => {
            id.early = Some((
                NodeStatus::Unchecked,
                format!(
                    "launch AMI {ami} is named {name:?} but owned by account {owner}, not Bottlerocket's publisher: its name proves nothing"
                ),
            ))
        }
        ami::LaunchImage::Missing => {
            launch_ami(node, ssm, id);
            if let Some((NodeStatus::NotBottlerocket | NodeStatus::Unchecked, why)) = &mut id.early
            {
                *why = format!("launch AMI {ami} no longer exists, and {why}");
                id.early = Some((NodeStatus::Unchecked, why.clone()));
            }
        }
    }
}

/// A node that no release can judge: no verified manifest lists its variant and architecture,
/// or it gives no version.
fn unchecked(tracked: bool, variant: &Option<String>, arch: &Option<String>) -> Judgement {
    let reason = match (tracked, variant, arch) {
        (true, _, _) => "no version given".to_owned(),
        (false, Some(v), Some(a)) => format!("no verified manifest lists releases of {v} {a}"),
        (false, _, _) => "its variant or architecture is unknown".to_owned(),
    };
    Judgement {
        status: NodeStatus::Unchecked,
        reason: Some(reason),
        ..Judgement::default()
    }
}

impl VariantSummary {
    /// Count a node of this variant and architecture.
    fn count(&mut self, status: NodeStatus, behind_finding: bool) {
        self.nodes += 1;
        match status {
            NodeStatus::Current => self.current += 1,
            NodeStatus::RollingOut => self.rolling_out += 1,
            NodeStatus::Behind => {
                self.behind += 1;
                if behind_finding {
                    self.behind_findings += 1;
                }
            }
            NodeStatus::UnknownVersion => self.unknown_version += 1,
            NodeStatus::NotBottlerocket | NodeStatus::Unchecked => self.unchecked += 1,
        }
    }
}

impl AmiView {
    /// Where EC2 says so: the AMI is gone, deprecated, or owned by someone other than
    /// Bottlerocket's publisher.
    fn image_finding(&self) -> Option<Finding> {
        let place = match &self.account {
            Some(account) => format!("{} in {} (account {account})", self.image_id, self.region),
            None => format!("{} in {}", self.image_id, self.region),
        };
        let n = self.instances;
        let finding = match self.image.as_ref()? {
            ami::LaunchImage::Missing => Finding::warning(
                Code::AmiMissing,
                format!("{place} is not available to this account (deregistered, disabled, unshared, or outside its Allowed AMIs); {n} instance(s) run it, and none can be launched from it here"),
            ),
            ami::LaunchImage::Bottlerocket {
                deprecated_since: Some(since),
                version,
                ..
            } => Finding::warning(
                Code::AmiDeprecated,
                format!(
                    "{place} (Bottlerocket {version}) has been deprecated since {}; {n} instance(s) run it",
                    since.format("%Y-%m-%d")
                ),
            ),
            ami::LaunchImage::ForeignOwner { name, owner } => Finding::error(
                Code::AmiForeignOwner,
                format!("{place} is named {name:?} but owned by account {owner}, not Bottlerocket's publisher (owner alias amazon) nor an account the job trusts; {n} instance(s) run it"),
            ),
            _ => return None,
        };
        Some(finding.target(self.image_id.clone()).about(Subject {
            region: Some(self.region.clone()),
            account: self.account.clone(),
            ami: Some(self.image_id.clone()),
            ..Subject::default()
        }))
    }

    /// A stale AMI's finding: instances launched from a release older than the due one.
    fn stale_finding(&self) -> Finding {
        Finding::error(
            Code::StaleAmi,
            format!(
                "{} in {} ({} {} {}) launched {} instances; {} release(s) behind the due {} (launch AMI: instances may have updated in place)",
                self.image_id,
                self.region,
                self.variant.as_deref().unwrap_or("?"),
                self.arch.as_deref().unwrap_or("?"),
                self.version.as_deref().unwrap_or("?"),
                self.instances,
                self.releases_behind,
                self.due.as_deref().unwrap_or("?")
            ),
        )
        .about(Subject {
            variant: self.variant.clone(),
            arch: self.arch.clone(),
            region: Some(self.region.clone()),
            account: self.account.clone(),
            ami: Some(self.image_id.clone()),
            ..Subject::default()
        })
    }
}

impl NodeView {
    /// What a finding about this node is about, by the names a waiver matches.
    pub fn subject(&self) -> Subject {
        Subject {
            variant: self.variant.clone(),
            arch: self.arch.clone(),
            region: self.region.clone(),
            account: self.account.clone(),
            cluster: self.cluster.clone(),
            node: Some(self.name.clone()),
            ami: self.image_id.clone(),
        }
    }
}

impl Fleet {
    /// The findings, each about what a waiver can match: per variant and architecture, nodes
    /// behind beyond the policy (and a note for those within `nodes_grace`) and nodes on
    /// unknown versions; nodes that could not be judged; nodes whose update needs a person;
    /// AMIs and launch paths one by one. `waive` says which waiver waives a finding of a code
    /// about a node: node findings are split by it, so that a waived node never hides one that
    /// is not.
    pub fn findings(&self, waive: Waive<'_>) -> Vec<Finding> {
        let mut out = Vec::new();
        let mut tracks: BTreeMap<(&str, &str), Vec<&NodeView>> = BTreeMap::new();
        for n in &self.nodes {
            if let (Some(v), Some(a)) = (&n.variant, &n.arch) {
                tracks.entry((v, a)).or_default().push(n);
            }
        }
        for ((variant, arch), nodes) in tracks {
            out.extend(track_findings(variant, arch, &nodes, waive));
        }
        let unchecked = self
            .nodes
            .iter()
            .filter(|n| n.status == NodeStatus::Unchecked);
        for (w, part) in by_waiver(unchecked, Code::NodesUnchecked, waive) {
            out.push(unchecked_finding(&part).waived(w));
        }
        for code in [Code::UpdateStuck, Code::NoUpdater] {
            let needing = self.nodes.iter().filter(|n| {
                n.update
                    .as_ref()
                    .is_some_and(|u| u.status.code() == Some(code))
            });
            for (w, part) in by_waiver(needing, code, waive) {
                let named = part.iter().filter_map(|n| {
                    Some(update::NeedsPerson {
                        cluster: n.cluster.as_deref(),
                        name: &n.name,
                        update: n.update.as_deref()?,
                    })
                });
                out.extend(
                    update::findings(named)
                        .into_iter()
                        .map(|f| f.waived(w.clone())),
                );
            }
        }
        out.extend(self.amis.iter().filter_map(AmiView::image_finding));
        out.extend(launch::findings(&self.launch_paths));
        out.extend(
            self.amis
                .iter()
                .filter(|a| a.stale)
                .map(AmiView::stale_finding),
        );
        out
    }

    /// How many nodes have this status.
    pub fn count(&self, status: NodeStatus) -> usize {
        self.nodes.iter().filter(|n| n.status == status).count()
    }
}

/// Which waiver waives a finding of a code about a subject (`None`: none does); `None` when
/// the job has no waivers, so that no node's subject is made for nothing.
pub type Waive<'a> = Option<&'a dyn Fn(Code, &Subject) -> Option<Waived>>;

/// Nodes split by the waiver that waives a finding of `code` about each: those no waiver
/// waives first, then each waiver's.
fn by_waiver<'n>(
    nodes: impl Iterator<Item = &'n NodeView>,
    code: Code,
    waive: Waive<'_>,
) -> BTreeMap<Option<Waived>, Vec<&'n NodeView>> {
    let mut parts: BTreeMap<Option<Waived>, Vec<&NodeView>> = BTreeMap::new();
    for n in nodes {
        let waived = waive.and_then(|w| w(code, &n.subject()));
        parts.entry(waived).or_default().push(n);
    }
    parts
}

/// The findings of one variant and architecture's nodes: behind beyond the policy (EC2
/// instances judged by their launch AMI are the stale AMI's finding instead), within
/// `nodes_grace` (a note), on versions the signed manifest does not contain.
fn track_findings(
    variant: &str,
    arch: &str,
    nodes: &[&NodeView],
    waive: Waive<'_>,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let subject = || Subject::track(Some(variant), Some(arch));
    let due = nodes.iter().find_map(|n| n.due.as_deref()).unwrap_or("?");
    let by_node = |n: &&&NodeView| n.evidence != Evidence::LaunchAmi;
    let behind = nodes
        .iter()
        .copied()
        .filter(|n| n.finding)
        .filter(|n| by_node(&n));
    for (w, part) in by_waiver(behind, Code::NodesBehind, waive) {
        out.push(
            Finding::error(
                Code::NodesBehind,
                format!(
                    "{variant} {arch}: {} of {} node(s) run a release older than the due {due}",
                    part.len(),
                    nodes.len()
                ),
            )
            .about(subject())
            .waived(w),
        );
    }
    let in_grace: Vec<_> = nodes
        .iter()
        .filter(|n| by_node(n))
        .filter_map(|n| n.grace_ends)
        .collect();
    if let Some(first) = in_grace.iter().min() {
        out.push(
            Finding::note(
                Code::NodesBehind,
                format!(
                    "{variant} {arch}: {} node(s) run a release older than the due {due}, within nodes_grace: a finding from {}",
                    in_grace.len(),
                    first.format("%Y-%m-%d %H:%M UTC")
                ),
            )
            .about(subject()),
        );
    }
    let unknown = nodes
        .iter()
        .copied()
        .filter(|n| n.status == NodeStatus::UnknownVersion);
    for (w, part) in by_waiver(unknown, Code::UnknownVersion, waive) {
        out.push(
            Finding::warning(
                Code::UnknownVersion,
                format!(
                    "{variant} {arch}: {} node(s) run a version the signed manifest does not contain",
                    part.len()
                ),
            )
            .about(subject())
            .waived(w),
        );
    }
    out
}

/// The warning for nodes that could not be judged, with the commonest reasons.
fn unchecked_finding(nodes: &[&NodeView]) -> Finding {
    let mut reasons: BTreeMap<&str, usize> = BTreeMap::new();
    for n in nodes {
        *reasons
            .entry(n.reason.as_deref().unwrap_or("no reason given"))
            .or_default() += 1;
    }
    let mut commonest: Vec<(&str, usize)> = reasons.into_iter().collect();
    commonest.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let shown: Vec<String> = commonest
        .iter()
        .take(3)
        .map(|(why, n)| format!("{why} ({n})"))
        .collect();
    let more = commonest.len().saturating_sub(shown.len());
    let tail = if more > 0 {
        format!("; and {more} other reason(s)")
    } else {
        String::new()
    };
    Finding::warning(
        Code::NodesUnchecked,
        format!(
            "{} node(s) could not be judged: {}{tail}",
            nodes.len(),
            shown.join("; ")
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_limits() {
        let any = BehindLimits::default();
        assert!(any.is_finding(1, None));
        assert!(!any.is_finding(0, Some(1_000_000)));
        let two = BehindLimits {
            max_releases_behind: Some(2),
            max_days_behind: None,
            update_stuck_after: None,
            nodes_grace: None,
        };
        assert!(!two.is_finding(2, Some(100 * 86_400)));
        assert!(two.is_finding(3, None));
        let week = BehindLimits {
            max_releases_behind: None,
            max_days_behind: Some(7.0),
            update_stuck_after: None,
            nodes_grace: None,
        };
        assert!(!week.is_finding(5, Some(6 * 86_400)));
        assert!(week.is_finding(1, Some(8 * 86_400)));
    }
}
