//! Update state: what the Bottlerocket update operator (brupop) says of a node read from its
//! cluster, through the node's `BottlerocketShadow`, judged beside its standing. A node behind
//! whose update is in progress or waiting its turn is `updating`; one whose update failed (a
//! crash count, the `ErrorReset` state), that stays in one state longer than the bound, or whose
//! updater sees nothing newer than the release it runs, is `update_stuck`; one behind with no
//! updater at all is `no_updater`. The last two need a person.

use super::NodeStatus;
use crate::report::{Code, Finding};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The state brupop rests in between updates.
const IDLE: &str = "Idle";

/// The state brupop enters after a failed update.
const ERROR_RESET: &str = "ErrorReset";

/// A node's `BottlerocketShadow` (brupop.bottlerocket.aws/v2), the fields judged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shadow {
    /// `spec.state`: the state the controller asks of the node.
    pub desired_state: Option<String>,
    /// `spec.state_transition_timestamp`: when the controller asked it.
    pub desired_since: Option<DateTime<Utc>>,
    /// `status.current_state`: the state the node's agent reports.
    pub state: Option<String>,
    /// `status.current_version`.
    pub current_version: Option<String>,
    /// `status.target_version`: the newest release the node's updater sees.
    pub target_version: Option<String>,
    /// `status.crash_count`: failed updates in a row.
    pub crash_count: u32,
    /// `status.state_transition_failure_timestamp`: when the last one failed.
    pub failed_at: Option<DateTime<Utc>>,
}

/// What a cluster says of a node's updater.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Updater {
    /// The update operator is installed and the node has its shadow (boxed: most nodes of a
    /// large fleet have none, and each node carries this).
    Shadow(Box<Shadow>),
    /// The update operator is installed, but the node has no shadow: nothing updates it.
    Unmanaged,
    /// The update operator is not installed in the node's cluster.
    NotInstalled,
}

/// A node's update state, beside its standing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpdateStatus {
    /// Behind, and its update is in progress or waiting its turn.
    Updating,
    /// Its update failed, stays in one state too long, or sees nothing newer: a person must look.
    UpdateStuck,
    /// Behind, and nothing updates it: a person must look.
    NoUpdater,
}

impl UpdateStatus {
    /// The serialized name.
    pub fn as_str(self) -> &'static str {
        match self {
            UpdateStatus::Updating => "updating",
            UpdateStatus::UpdateStuck => "update_stuck",
            UpdateStatus::NoUpdater => "no_updater",
        }
    }

    /// The finding's code of a node in this state, when it is one.
    pub fn code(self) -> Option<Code> {
        match self {
            UpdateStatus::Updating => None,
            UpdateStatus::UpdateStuck => Some(Code::UpdateStuck),
            UpdateStatus::NoUpdater => Some(Code::NoUpdater),
        }
    }
}

/// A node's update state, judged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateView {
    /// The update state.
    pub status: UpdateStatus,
    /// The state its agent reports (`Idle`, `MonitoringUpdate`, ...), when it has a shadow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// The release its updater targets, when it has a shadow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_version: Option<String>,
    /// Failed updates in a row.
    #[serde(default)]
    pub crash_count: u32,
    /// Why, in words.
    pub reason: String,
}

/// Judge a node's update state: its standing, what its cluster says of its updater (`None`:
/// not read, as for a node of an exported inventory), at `at`, with `stuck_after` the longest a
/// shadow may stay out of `Idle`.
pub fn judge_update(
    status: NodeStatus,
    updater: Option<&Updater>,
    at: DateTime<Utc>,
    stuck_after: Option<std::time::Duration>,
) -> Option<UpdateView> {
    let behind = status == NodeStatus::Behind;
    let plain = |status, reason: &str| UpdateView {
        status,
        state: None,
        target_version: None,
        crash_count: 0,
        reason: reason.to_owned(),
    };
    match updater? {
        Updater::NotInstalled => behind.then(|| {
            plain(
                UpdateStatus::NoUpdater,
                "the update operator is not installed in its cluster",
            )
        }),
        Updater::Unmanaged => behind.then(|| {
            plain(
                UpdateStatus::NoUpdater,
                "it has no BottlerocketShadow: the update operator does not manage it; does it have the label bottlerocket.aws/updater-interface-version=2.0.0?",
            )
        }),
        Updater::Shadow(s) => {
            let (status, reason) = shadow_state(s, behind, at, stuck_after)?;
            Some(UpdateView {
                status,
                state: s.state.clone(),
                target_version: s.target_version.clone(),
                crash_count: s.crash_count,
                reason,
            })
        }
    }
}

/// What a shadow says: stuck (failed, too long in one state, or targeting nothing newer while
/// behind), updating (behind, in progress or waiting), or nothing to say.
fn shadow_state(
    s: &Shadow,
    behind: bool,
    at: DateTime<Utc>,
    stuck_after: Option<std::time::Duration>,
) -> Option<(UpdateStatus, String)> {
    let state = s.state.as_deref().unwrap_or("?");
    // A failure counts while the node is behind: brupop keeps a node's crash count until its
    // next update completes, so a node current by other means still shows an old failure.
    if behind && (s.crash_count > 0 || state == ERROR_RESET) {
        let when = s
            .failed_at
            .map(|t| format!(", last at {}", t.format("%Y-%m-%d %H:%M UTC")))
            .unwrap_or_default();
        return Some((
            UpdateStatus::UpdateStuck,
            format!(
                "its update failed {} time(s) in a row (state {state}{when})",
                s.crash_count
            ),
        ));
    }
    let moving = s.desired_state.as_deref().is_some_and(|d| d != IDLE) || state != IDLE;
    let bound = stuck_after.and_then(|b| chrono::Duration::from_std(b).ok());
    if let (true, Some(since), Some(bound)) = (moving, s.desired_since, bound) {
        if at - since > bound {
            let hours = (at - since).num_minutes() as f64 / 60.0;
            return Some((
                UpdateStatus::UpdateStuck,
                format!(
                    "in state {state} towards {} for {hours:.1} h, longer than {} h",
                    s.desired_state.as_deref().unwrap_or("?"),
                    bound.num_minutes() as f64 / 60.0
                ),
            ));
        }
    }
    if !behind {
        return None;
    }
    let target = s.target_version.as_deref();
    if !moving && target.is_some() && target == s.current_version.as_deref() {
        return Some((
            UpdateStatus::UpdateStuck,
            format!(
                "its updater sees no release newer than {} (its update repository or a version lock holds it back)",
                target.unwrap_or("?")
            ),
        ));
    }
    let reason = if moving {
        format!("in state {state} towards {}", target.unwrap_or("?"))
    } else {
        format!(
            "waiting for the update operator (Idle, target {})",
            target.unwrap_or("?")
        )
    };
    Some((UpdateStatus::Updating, reason))
}

/// One node that needs a person, as a finding lists it: `prod/ip-10-0-1-13 (why)`.
pub struct NeedsPerson<'a> {
    /// Its cluster.
    pub cluster: Option<&'a str>,
    /// Its name.
    pub name: &'a str,
    /// Its update state.
    pub update: &'a UpdateView,
}

/// The findings of the nodes that need a person: `update_stuck` (an error) and `no_updater` (a
/// warning), each naming up to ten nodes.
pub fn findings<'a>(nodes: impl Iterator<Item = NeedsPerson<'a>>) -> Vec<Finding> {
    let mut stuck = Vec::new();
    let mut unmanaged = Vec::new();
    for n in nodes {
        let named = match n.cluster {
            Some(c) => format!("{c}/{} ({})", n.name, n.update.reason),
            None => format!("{} ({})", n.name, n.update.reason),
        };
        match n.update.status {
            UpdateStatus::UpdateStuck => stuck.push(named),
            UpdateStatus::NoUpdater => unmanaged.push(named),
            UpdateStatus::Updating => {}
        }
    }
    let listed = |names: &[String]| {
        let shown: Vec<&str> = names.iter().take(10).map(String::as_str).collect();
        let more = names.len().saturating_sub(shown.len());
        let tail = if more > 0 {
            format!("; and {more} more")
        } else {
            String::new()
        };
        format!("{}{tail}", shown.join("; "))
    };
    let mut out = Vec::new();
    if !stuck.is_empty() {
        out.push(Finding::error(
            Code::UpdateStuck,
            format!(
                "{} node(s) whose update needs a person: {}",
                stuck.len(),
                listed(&stuck)
            ),
        ));
    }
    if !unmanaged.is_empty() {
        out.push(Finding::warning(
            Code::NoUpdater,
            format!(
                "{} node(s) behind with nothing to update them: {}",
                unmanaged.len(),
                listed(&unmanaged)
            ),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> DateTime<Utc> {
        "2026-12-01T12:00:00Z".parse().unwrap()
    }

    fn shadow(state: &str, desired: &str, hours_ago: i64, crashes: u32, target: &str) -> Shadow {
        Shadow {
            desired_state: Some(desired.to_owned()),
            desired_since: Some(at() - chrono::Duration::hours(hours_ago)),
            state: Some(state.to_owned()),
            current_version: Some("1.25.0".to_owned()),
            target_version: Some(target.to_owned()),
            crash_count: crashes,
            failed_at: None,
        }
    }

    /// Each way a node's updater can stand, and the update state it gives (a node behind unless
    /// the case says otherwise; the bound is two hours).
    #[test]
    fn update_states() {
        use NodeStatus::{Behind, Current};
        use UpdateStatus::*;
        let cases: &[(&str, NodeStatus, Updater, Option<UpdateStatus>)] = &[
            (
                "not installed",
                Behind,
                Updater::NotInstalled,
                Some(NoUpdater),
            ),
            ("no shadow", Behind, Updater::Unmanaged, Some(NoUpdater)),
            ("current, no shadow", Current, Updater::Unmanaged, None),
            (
                "waiting its turn",
                Behind,
                Updater::Shadow(Box::new(shadow("Idle", "Idle", 5, 0, "1.26.1"))),
                Some(Updating),
            ),
            (
                "in progress",
                Behind,
                Updater::Shadow(Box::new(shadow(
                    "StagedAndPerformedUpdate",
                    "RebootedIntoUpdate",
                    1,
                    0,
                    "1.26.1",
                ))),
                Some(Updating),
            ),
            (
                "too long in one state",
                Behind,
                Updater::Shadow(Box::new(shadow(
                    "StagedAndPerformedUpdate",
                    "RebootedIntoUpdate",
                    3,
                    0,
                    "1.26.1",
                ))),
                Some(UpdateStuck),
            ),
            (
                "crashed",
                Behind,
                Updater::Shadow(Box::new(shadow("Idle", "Idle", 1, 2, "1.26.1"))),
                Some(UpdateStuck),
            ),
            (
                "an old failure, current since",
                Current,
                Updater::Shadow(Box::new(shadow("Idle", "Idle", 1, 1, "1.26.1"))),
                None,
            ),
            (
                "resetting after a failure while current, past the bound",
                Current,
                Updater::Shadow(Box::new(shadow("ErrorReset", "Idle", 3, 0, "1.26.1"))),
                Some(UpdateStuck),
            ),
            (
                "sees nothing newer",
                Behind,
                Updater::Shadow(Box::new(shadow("Idle", "Idle", 9, 0, "1.25.0"))),
                Some(UpdateStuck),
            ),
            (
                "current and idle",
                Current,
                Updater::Shadow(Box::new(shadow("Idle", "Idle", 99, 0, "1.26.1"))),
                None,
            ),
        ];
        let bound = Some(std::time::Duration::from_secs(2 * 3600));
        for (what, status, updater, expected) in cases {
            let got = judge_update(*status, Some(updater), at(), bound).map(|u| u.status);
            assert_eq!(got, *expected, "{what}");
        }
        assert_eq!(judge_update(Behind, None, at(), bound), None, "not read");
    }
}
