//! What changed since the last run: the job keeps a record of each run that completed
//! ([`RunRecord`], in its state directory, `history.rs`), and the next run compares itself
//! with it: releases newly signed or newly due, SSM's `latest` values, nodes that fell behind
//! or caught up, findings new or resolved.
//!
//! The record holds only what the comparison needs (a node is its name, status and version),
//! so that a fleet of 100,000 nodes keeps a record of a few MB, not its whole report.

use super::JobReport;
use crate::fleet::NodeStatus;
use crate::report::{Category, Code, Finding, Severity, Subject, Verdict};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The version of the record's format.
pub const RECORD_FORMAT: u32 = 1;

/// How many node names each list of changes names (the counts are whole).
pub const NAMED_NODES: usize = 20;

/// What the job keeps of a run, for the next one to compare with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// [`RECORD_FORMAT`].
    pub record_format: u32,
    /// The run's reference time.
    pub reference_time: DateTime<Utc>,
    /// When it finished.
    pub finished_at: DateTime<Utc>,
    /// Its verdict.
    pub verdict: Verdict,
    /// Each variant and architecture's releases.
    pub tracks: Vec<TrackRecord>,
    /// SSM's `latest` per variant, architecture and region.
    pub ssm: Vec<SsmRecord>,
    /// Each node judged.
    pub nodes: Vec<NodeRecord>,
    /// Each finding.
    pub findings: Vec<FindingRecord>,
    /// Each waiver by name: when the job first saw it and when it last matched a finding.
    pub waivers: BTreeMap<String, WaiverRecord>,
    /// When a run of the job last passed: this one's end, or the last record's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_success: Option<DateTime<Utc>>,
}

/// A variant and architecture's releases, as a run saw them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackRecord {
    /// The variant.
    pub variant: String,
    /// The architecture.
    pub arch: String,
    /// The due release.
    pub due: Option<String>,
    /// Every signed release.
    pub versions: Vec<String>,
}

/// SSM's `latest` for a variant, architecture and region.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SsmRecord {
    /// The variant.
    pub variant: String,
    /// The architecture.
    pub arch: String,
    /// The region.
    pub region: String,
    /// `latest/image_version`.
    pub version: Option<String>,
    /// `latest/image_id`.
    pub image_id: Option<String>,
}

/// A node, as a run judged it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeRecord {
    /// Its name, as the changes show it: `cluster/name` for a node read from a cluster.
    pub node: String,
    /// The inventory it came from (with `node`, what identifies it from run to run).
    pub inventory: String,
    /// Its standing.
    pub status: NodeStatus,
    /// The version it ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// A finding, as a run found it: what identifies it from run to run, and its words.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct FindingRecord {
    /// The repository whose verification found it, for a repository's finding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    /// Its code.
    pub code: Code,
    /// Its severity.
    pub severity: Severity,
    /// Its category.
    pub category: Category,
    /// The role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// The target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// What it is about.
    #[serde(default, skip_serializing_if = "Subject::is_empty")]
    pub subject: Subject,
    /// The waiver that waived it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiver: Option<String>,
    /// Its words.
    pub message: String,
}

impl FindingRecord {
    fn of(repository: Option<&str>, f: &Finding) -> Self {
        FindingRecord {
            repository: repository.map(str::to_owned),
            code: f.code,
            severity: f.severity,
            category: f.category,
            role: f.role.clone(),
            target: f.target.clone(),
            subject: f.subject().clone(),
            waiver: f.waived.as_ref().map(|w| w.waiver.clone()),
            message: f.message.clone(),
        }
    }

    /// What identifies it from run to run: everything but its words (which carry counts).
    fn key(&self) -> FindingRecord {
        FindingRecord {
            message: String::new(),
            ..self.clone()
        }
    }
}

/// A waiver's history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaiverRecord {
    /// The first run that had it.
    pub first_seen: DateTime<Utc>,
    /// The last run in which it matched a finding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_matched: Option<DateTime<Utc>>,
}

/// What changed since the last run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Changes {
    /// The run compared with; `None` for the first run the job keeps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<PreviousRun>,
    /// Why the last run's record could not be read, when it could not (the changes start again).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_unreadable: Option<String>,
    /// Releases signed since.
    pub signed: Vec<ReleaseChange>,
    /// Due releases that changed.
    pub due: Vec<DueChange>,
    /// SSM `latest` values that changed.
    pub ssm: Vec<SsmChange>,
    /// Nodes that fell behind (or appeared behind).
    pub fell_behind: NodeChanges,
    /// Nodes that were behind and are no longer.
    pub caught_up: NodeChanges,
    /// Findings this run has and the last did not.
    pub new_findings: Vec<FindingRecord>,
    /// Findings the last run had and this one does not.
    pub resolved_findings: Vec<FindingRecord>,
}

/// The run compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviousRun {
    /// Its reference time.
    pub reference_time: DateTime<Utc>,
    /// When it finished.
    pub finished_at: DateTime<Utc>,
    /// Its verdict.
    pub verdict: Verdict,
}

/// A release newly signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseChange {
    /// The variant.
    pub variant: String,
    /// The architecture.
    pub arch: String,
    /// The release.
    pub version: String,
}

/// A due release that changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DueChange {
    /// The variant.
    pub variant: String,
    /// The architecture.
    pub arch: String,
    /// The due release before.
    pub from: Option<String>,
    /// The due release now.
    pub to: Option<String>,
}

/// An SSM `latest` that changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SsmChange {
    /// The variant.
    pub variant: String,
    /// The architecture.
    pub arch: String,
    /// The region.
    pub region: String,
    /// `image_version` before.
    pub from: Option<String>,
    /// `image_version` now.
    pub to: Option<String>,
    /// `image_id` now.
    pub image_id: Option<String>,
}

/// Nodes that changed one way.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeChanges {
    /// How many.
    pub count: usize,
    /// The first [`NAMED_NODES`] of them (`cluster/name`, with the version now).
    pub named: Vec<String>,
}

impl NodeChanges {
    fn add(&mut self, node: &str, version: Option<&str>) {
        self.count += 1;
        if self.named.len() < NAMED_NODES {
            self.named.push(match version {
                Some(v) => format!("{node} ({v})"),
                None => node.to_owned(),
            });
        }
    }
}

impl Changes {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.signed.is_empty()
            && self.due.is_empty()
            && self.ssm.is_empty()
            && self.fell_behind.count == 0
            && self.caught_up.count == 0
            && self.new_findings.is_empty()
            && self.resolved_findings.is_empty()
    }

    /// The changes from `previous` (none: the first run) to the run `now` records.
    pub fn between(previous: Option<&RunRecord>, now: &RunRecord) -> Changes {
        let Some(before) = previous else {
            return Changes::default();
        };
        let mut c = Changes {
            since: Some(PreviousRun {
                reference_time: before.reference_time,
                finished_at: before.finished_at,
                verdict: before.verdict,
            }),
            ..Changes::default()
        };
        c.tracks(before, now);
        c.ssm = ssm_changes(&before.ssm, &now.ssm);
        c.nodes(before, now);
        (c.new_findings, c.resolved_findings) = finding_changes(&before.findings, &now.findings);
        c
    }

    /// Releases newly signed and due releases that changed, of tracks both runs verified.
    fn tracks(&mut self, before: &RunRecord, now: &RunRecord) {
        for t in &now.tracks {
            let Some(b) = before
                .tracks
                .iter()
                .find(|b| b.variant == t.variant && b.arch == t.arch)
            else {
                continue;
            };
            let known: BTreeSet<&str> = b.versions.iter().map(String::as_str).collect();
            for v in t.versions.iter().filter(|v| !known.contains(v.as_str())) {
                self.signed.push(ReleaseChange {
                    variant: t.variant.clone(),
                    arch: t.arch.clone(),
                    version: v.clone(),
                });
            }
            if b.due != t.due {
                self.due.push(DueChange {
                    variant: t.variant.clone(),
                    arch: t.arch.clone(),
                    from: b.due.clone(),
                    to: t.due.clone(),
                });
            }
        }
    }

    /// Nodes that fell behind (a node new to the job counts when it is behind) and nodes that
    /// caught up (behind before, current or rolling out now).
    fn nodes(&mut self, before: &RunRecord, now: &RunRecord) {
        let was: std::collections::HashMap<(&str, &str), NodeStatus> = before
            .nodes
            .iter()
            .map(|n| ((n.inventory.as_str(), n.node.as_str()), n.status))
            .collect();
        for n in &now.nodes {
            let then = was.get(&(n.inventory.as_str(), n.node.as_str())).copied();
            let version = n.version.as_deref();
            match (then, n.status) {
                (Some(NodeStatus::Behind), NodeStatus::Behind) => {}
                (_, NodeStatus::Behind) => self.fell_behind.add(&n.node, version),
                (Some(NodeStatus::Behind), NodeStatus::Current | NodeStatus::RollingOut) => {
                    self.caught_up.add(&n.node, version)
                }
                _ => {}
            }
        }
    }
}

/// SSM values that appeared, changed or went away, in a region both runs read.
fn ssm_changes(before: &[SsmRecord], now: &[SsmRecord]) -> Vec<SsmChange> {
    let index = |list: &'_ [SsmRecord]| -> BTreeMap<(String, String, String), SsmRecord> {
        list.iter()
            .map(|r| {
                (
                    (r.variant.clone(), r.arch.clone(), r.region.clone()),
                    r.clone(),
                )
            })
            .collect()
    };
    let (b, n) = (index(before), index(now));
    let regions = |m: &BTreeMap<(String, String, String), SsmRecord>| -> BTreeSet<String> {
        m.keys().map(|k| k.2.clone()).collect()
    };
    let both: BTreeSet<String> = regions(&b).intersection(&regions(&n)).cloned().collect();
    let keys: BTreeSet<&(String, String, String)> = b.keys().chain(n.keys()).collect();
    let mut out = Vec::new();
    for k in keys.into_iter().filter(|k| both.contains(&k.2)) {
        let (from, to) = (b.get(k), n.get(k));
        let differs =
            from.map(|r| (&r.version, &r.image_id)) != to.map(|r| (&r.version, &r.image_id));
        if differs {
            out.push(SsmChange {
                variant: k.0.clone(),
                arch: k.1.clone(),
                region: k.2.clone(),
                from: from.and_then(|r| r.version.clone()),
                to: to.and_then(|r| r.version.clone()),
                image_id: to.and_then(|r| r.image_id.clone()),
            });
        }
    }
    out
}

/// Findings new and resolved: compared by what identifies them (not their words), as many of
/// each as either run had.
fn finding_changes(
    before: &[FindingRecord],
    now: &[FindingRecord],
) -> (Vec<FindingRecord>, Vec<FindingRecord>) {
    (not_in(now, before), not_in(before, now))
}

/// The findings of `these` that `those` does not have as many times.
fn not_in(these: &[FindingRecord], those: &[FindingRecord]) -> Vec<FindingRecord> {
    let mut left: BTreeMap<FindingRecord, usize> = BTreeMap::new();
    for f in those {
        *left.entry(f.key()).or_default() += 1;
    }
    these
        .iter()
        .filter(|f| match left.get_mut(&f.key()) {
            Some(n) if *n > 0 => {
                *n -= 1;
                false
            }
            _ => true,
        })
        .cloned()
        .collect()
}

impl RunRecord {
    /// The record of a run, with the waivers' history carried from the last record.
    pub fn of(report: &JobReport, previous: Option<&RunRecord>) -> RunRecord {
        RunRecord {
            record_format: RECORD_FORMAT,
            reference_time: report.reference_time,
            finished_at: report.finished_at,
            verdict: report.verdict,
            tracks: report
                .tracks()
                .map(|t| TrackRecord {
                    variant: t.variant.clone(),
                    arch: t.arch.clone(),
                    due: t.due.clone(),
                    versions: t.releases.iter().map(|r| r.version.clone()).collect(),
                })
                .collect(),
            // Only the regions read completely: a region that failed says nothing of its values.
            ssm: report
                .ssm
                .iter()
                .flat_map(|s| {
                    let read = |region: &str| {
                        s.observations
                            .regions
                            .iter()
                            .any(|r| r.region == region && r.error.is_none())
                    };
                    s.observations
                        .latest
                        .iter()
                        .filter(move |l| read(&l.region))
                })
                .map(|l| SsmRecord {
                    variant: l.variant.clone(),
                    arch: l.arch.clone(),
                    region: l.region.clone(),
                    version: l.image_version.clone(),
                    image_id: l.image_id.clone(),
                })
                .collect(),
            nodes: report
                .fleet
                .iter()
                .flat_map(|f| &f.nodes)
                .map(|n| NodeRecord {
                    node: match &n.cluster {
                        Some(c) => format!("{c}/{}", n.name),
                        None => n.name.clone(),
                    },
                    inventory: n.inventory.clone(),
                    status: n.status,
                    version: n.version.clone(),
                })
                .collect(),
            findings: finding_records(report),
            waivers: waiver_records(report, previous),
            last_success: match report.verdict {
                Verdict::Pass => Some(report.finished_at),
                _ => previous.and_then(|p| p.last_success),
            },
        }
    }
}

/// Every finding of the report, a repository's named by it.
fn finding_records(report: &JobReport) -> Vec<FindingRecord> {
    let mut out = Vec::new();
    for r in &report.repositories {
        if let Some(rel) = &r.releases {
            for f in rel.verification.findings.iter().chain(&rel.findings) {
                out.push(FindingRecord::of(Some(&r.name), f));
            }
        }
    }
    out.extend(report.findings.iter().map(|f| FindingRecord::of(None, f)));
    out
}

/// Each waiver's history: first seen (now, for a new one), last matched (as the run's
/// waivers say: `History::compare` set it from the last record).
fn waiver_records(
    report: &JobReport,
    previous: Option<&RunRecord>,
) -> BTreeMap<String, WaiverRecord> {
    let at = report.reference_time;
    report
        .waivers
        .iter()
        .map(|w| {
            let before = previous.and_then(|p| p.waivers.get(&w.waiver));
            let record = WaiverRecord {
                first_seen: before.map_or(at, |b| b.first_seen.min(at)),
                last_matched: w.last_matched,
            };
            (w.waiver.clone(), record)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(code: Code, region: &str, message: &str) -> FindingRecord {
        FindingRecord {
            repository: None,
            code,
            severity: Severity::Error,
            category: code.category(),
            role: None,
            target: None,
            subject: Subject {
                region: Some(region.to_owned()),
                ..Subject::default()
            },
            waiver: None,
            message: message.to_owned(),
        }
    }

    fn ssm(region: &str, version: &str) -> SsmRecord {
        SsmRecord {
            variant: "aws-k8s-1.33".to_owned(),
            arch: "x86_64".to_owned(),
            region: region.to_owned(),
            version: Some(version.to_owned()),
            image_id: Some("ami-1".to_owned()),
        }
    }

    #[test]
    fn findings_are_the_same_by_what_they_are_about_not_their_words() {
        let before = [
            finding(Code::NodesBehind, "us-west-2", "3 of 10 nodes"),
            finding(Code::SsmBehind, "us-west-2", "SSM says 1.26.0"),
        ];
        let now = [
            finding(Code::NodesBehind, "us-west-2", "4 of 10 nodes"),
            finding(Code::NodesBehind, "us-west-2", "a second of the same kind"),
            finding(Code::SsmBehind, "eu-west-1", "SSM says 1.26.0"),
        ];
        let (new, resolved) = finding_changes(&before, &now);
        let words = |l: &[FindingRecord]| l.iter().map(|f| f.message.clone()).collect::<Vec<_>>();
        assert_eq!(
            words(&new),
            ["a second of the same kind", "SSM says 1.26.0"]
        );
        assert_eq!(words(&resolved), ["SSM says 1.26.0"]);
        assert_eq!(resolved[0].subject.region.as_deref(), Some("us-west-2"));
    }

    #[test]
    fn ssm_changes_only_in_regions_both_runs_read() {
        let before = [ssm("us-west-2", "1.26.0"), ssm("eu-west-1", "1.26.0")];
        let now = [ssm("us-west-2", "1.26.1"), ssm("ap-south-1", "1.26.1")];
        let c = ssm_changes(&before, &now);
        assert_eq!(c.len(), 1, "{c:?}");
        assert_eq!(
            (
                c[0].region.as_str(),
                c[0].from.as_deref(),
                c[0].to.as_deref()
            ),
            ("us-west-2", Some("1.26.0"), Some("1.26.1"))
        );
    }
}
