//! The report as a Prometheus textfile (for node_exporter's textfile collector): gauges a
//! dashboard or an alert can use. Names and labels are documented in `docs/nightly.md`.

use crate::cluster::KubernetesReport;
use crate::fleet::update::UpdateStatus;
use crate::fleet::{Fleet, NodeStatus};
use crate::job::JobReport;
use crate::report::Verdict;
use std::collections::BTreeMap;
use std::fmt::Write;

/// Escape a label value: backslash, double quote and line feed.
fn label(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c if crate::text::misleading(c) => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

struct Out {
    text: String,
}

impl Out {
    fn metric(&mut self, name: &str, help: &str) {
        let _ = writeln!(self.text, "# HELP {name} {help}");
        let _ = writeln!(self.text, "# TYPE {name} gauge");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        let labels: Vec<String> = labels
            .iter()
            .map(|(k, v)| format!("{k}=\"{}\"", label(v)))
            .collect();
        if labels.is_empty() {
            let _ = writeln!(self.text, "{name} {value}");
        } else {
            let _ = writeln!(self.text, "{name}{{{}}} {value}", labels.join(","));
        }
    }
}

/// Render the report's metrics. `last_success` is when a previous run last passed (read from
/// the file this one replaces), carried over when this run does not pass.
pub fn render(r: &JobReport, last_success: Option<f64>) -> String {
    let mut o = Out {
        text: String::new(),
    };
    run_metrics(&mut o, r, last_success);
    if let Some(c) = &r.changes {
        change_metrics(&mut o, c);
    }
    repository_metrics(&mut o, r);
    if let Some(ssm) = &r.ssm {
        ssm_metrics(&mut o, ssm);
    }
    if let Some(ec2) = &r.ec2 {
        ec2_metrics(&mut o, ec2);
    }
    if let Some(k) = &r.kubernetes {
        kubernetes_metrics(&mut o, k, r.fleet.as_ref());
    }
    if let Some(fleet) = &r.fleet {
        fleet_metrics(&mut o, fleet);
    }
    finding_metrics(&mut o, r);
    o.text
}

/// When the run finished, when a run last passed, and the verdict.
fn run_metrics(o: &mut Out, r: &JobReport, last_success: Option<f64>) {
    let now = r.finished_at.timestamp() as f64;
    o.metric(
        "tufwatch_last_run_timestamp_seconds",
        "When the last run finished (Unix time).",
    );
    o.sample("tufwatch_last_run_timestamp_seconds", &[], now);
    let success = match r.verdict {
        Verdict::Pass => Some(now),
        _ => last_success,
    };
    if let Some(t) = success {
        o.metric(
            "tufwatch_last_success_timestamp_seconds",
            "When a run last passed every check (Unix time).",
        );
        o.sample("tufwatch_last_success_timestamp_seconds", &[], t);
    }
    o.metric(
        "tufwatch_verdict",
        "Outcome of the last run: 0 pass, 1 findings, 2 incomplete (the exit code).",
    );
    o.sample("tufwatch_verdict", &[], f64::from(r.exit_code()));
}

/// Each repository verified, its roles' expiry, and the releases due.
fn repository_metrics(o: &mut Out, r: &JobReport) {
    o.metric(
        "tufwatch_repository_verified",
        "1 when the repository verified and its manifest was read, else 0.",
    );
    for repo in &r.repositories {
        let ok = repo.verdict() == Verdict::Pass;
        o.sample(
            "tufwatch_repository_verified",
            &[("repository", &repo.name)],
            if ok { 1.0 } else { 0.0 },
        );
    }
    o.metric(
        "tufwatch_role_expiry_seconds",
        "Seconds from the reference time until the role's metadata expires (negative: expired).",
    );
    for repo in &r.repositories {
        if let Some(rel) = &repo.releases {
            for role in &rel.verification.roles {
                o.sample(
                    "tufwatch_role_expiry_seconds",
                    &[("repository", &repo.name), ("role", &role.role)],
                    role.expires_in_seconds as f64,
                );
            }
        }
    }
    o.metric(
        "tufwatch_release_due_info",
        "The due release (every wave started) and the newest signed release per variant and arch.",
    );
    let mut seen = std::collections::BTreeSet::new();
    for t in r
        .tracks()
        .filter(|t| seen.insert((t.variant.as_str(), t.arch.as_str())))
    {
        o.sample(
            "tufwatch_release_due_info",
            &[
                ("variant", &t.variant),
                ("arch", &t.arch),
                ("due", t.due.as_deref().unwrap_or("")),
                ("newest", t.newest.as_deref().unwrap_or("")),
            ],
            1.0,
        );
    }
}

/// EC2 read live: each account's regions, and the calls made.
fn ec2_metrics(o: &mut Out, ec2: &crate::aws::ec2::Ec2Report) {
    o.metric(
        "tufwatch_ec2_region_up",
        "1 when EC2 was read completely in the account and region, else 0.",
    );
    for r in &ec2.regions {
        o.sample(
            "tufwatch_ec2_region_up",
            &[("account", &r.account), ("region", &r.region)],
            if r.error.is_none() { 1.0 } else { 0.0 },
        );
    }
    o.metric(
        "tufwatch_ec2_account_up",
        "1 when the account could be read (its role assumed), else 0.",
    );
    for a in &ec2.accounts {
        o.sample(
            "tufwatch_ec2_account_up",
            &[("account", &a.account)],
            if a.error.is_none() { 1.0 } else { 0.0 },
        );
    }
    o.metric(
        "tufwatch_ec2_calls",
        "EC2 and STS calls made by the last run.",
    );
    let c = ec2.calls;
    for (operation, n) in [
        ("DescribeInstances", c.describe_instances),
        ("DescribeImages", c.describe_images),
        (
            "DescribeLaunchTemplateVersions",
            c.describe_launch_template_versions,
        ),
        ("DescribeAutoScalingGroups", c.describe_auto_scaling_groups),
        (
            "DescribeLaunchConfigurations",
            c.describe_launch_configurations,
        ),
        ("EKS", c.eks),
        ("STS", c.sts),
        ("attempts", c.attempts),
    ] {
        o.sample("tufwatch_ec2_calls", &[("operation", operation)], n as f64);
    }
}

/// Clusters read live: whether each was read completely, its nodes, and how many of them are
/// in each update state (zeros included, so that an alert on `update_stuck` sees a cluster).
fn kubernetes_metrics(o: &mut Out, k: &KubernetesReport, fleet: Option<&Fleet>) {
    o.metric(
        "tufwatch_kubernetes_cluster_up",
        "1 when the cluster was read completely through the Kubernetes API, else 0.",
    );
    for c in &k.clusters {
        let up = if c.errors.is_empty() { 1.0 } else { 0.0 };
        o.sample(
            "tufwatch_kubernetes_cluster_up",
            &[("cluster", &c.cluster)],
            up,
        );
    }
    o.metric("tufwatch_kubernetes_nodes", "Nodes read from the cluster.");
    for c in &k.clusters {
        o.sample(
            "tufwatch_kubernetes_nodes",
            &[("cluster", &c.cluster)],
            c.nodes as f64,
        );
    }
    o.metric(
        "tufwatch_nodes_update",
        "Nodes of the cluster per update state (updating, update_stuck, no_updater).",
    );
    for c in &k.clusters {
        for state in [
            UpdateStatus::Updating,
            UpdateStatus::UpdateStuck,
            UpdateStatus::NoUpdater,
        ] {
            let n = fleet.map_or(0, |f| {
                f.nodes
                    .iter()
                    .filter(|n| n.cluster.as_deref() == Some(c.cluster.as_str()))
                    .filter(|n| n.update.as_ref().map(|u| u.status) == Some(state))
                    .count()
            });
            o.sample(
                "tufwatch_nodes_update",
                &[("cluster", &c.cluster), ("update", state.as_str())],
                n as f64,
            );
        }
    }
}

/// SSM against the signed manifests, its regions, and the calls made.
fn ssm_metrics(o: &mut Out, ssm: &crate::job::SsmReport) {
    o.metric(
        "tufwatch_ssm_mismatch",
        "1 for each variant, arch and region where SSM disagrees with the signed manifest.",
    );
    for c in &ssm.cross_check {
        o.sample(
            "tufwatch_ssm_mismatch",
            &[
                ("variant", &c.variant),
                ("arch", &c.arch),
                ("region", &c.region),
                ("status", c.status.as_str()),
            ],
            if c.status == crate::ssm::check::Status::Agree {
                0.0
            } else {
                1.0
            },
        );
    }
    o.metric(
        "tufwatch_ssm_region_up",
        "1 when SSM was read completely in the region, else 0.",
    );
    for region in &ssm.observations.regions {
        o.sample(
            "tufwatch_ssm_region_up",
            &[("region", &region.region)],
            if region.error.is_none() { 1.0 } else { 0.0 },
        );
    }
    o.metric("tufwatch_ssm_calls", "SSM calls made by the last run.");
    let c = ssm.observations.calls;
    o.sample(
        "tufwatch_ssm_calls",
        &[("operation", "GetParameters")],
        c.get_parameters as f64,
    );
    o.sample(
        "tufwatch_ssm_calls",
        &[("operation", "GetParametersByPath")],
        c.get_parameters_by_path as f64,
    );
    o.sample(
        "tufwatch_ssm_calls",
        &[("operation", "attempts")],
        c.attempts as f64,
    );
}

/// The fleet: nodes per status, behind, not Bottlerocket; stale AMIs.
fn fleet_metrics(o: &mut Out, fleet: &crate::fleet::Fleet) {
    o.metric(
        "tufwatch_nodes",
        "Nodes per variant, arch, status (current, rolling_out, behind, unknown_version, unchecked) and the version they run.",
    );
    let mut counts: BTreeMap<(&str, &str, &str, &str), u64> = BTreeMap::new();
    for n in &fleet.nodes {
        if let (Some(variant), Some(arch)) = (&n.variant, &n.arch) {
            if n.status == NodeStatus::NotBottlerocket {
                continue;
            }
            let version = n.version.as_deref().unwrap_or("");
            *counts
                .entry((variant, arch, n.status.as_str(), version))
                .or_default() += 1;
        }
    }
    for ((variant, arch, status, version), n) in counts {
        o.sample(
            "tufwatch_nodes",
            &[
                ("variant", variant),
                ("arch", arch),
                ("status", status),
                ("version", version),
            ],
            n as f64,
        );
    }
    o.metric(
        "tufwatch_nodes_behind",
        "Nodes behind a due release beyond the policy, per variant and arch.",
    );
    for s in &fleet.summary {
        o.sample(
            "tufwatch_nodes_behind",
            &[("variant", &s.variant), ("arch", &s.arch)],
            s.behind_findings as f64,
        );
    }
    o.metric(
        "tufwatch_nodes_not_bottlerocket",
        "Nodes in the inventories that do not run Bottlerocket.",
    );
    o.sample(
        "tufwatch_nodes_not_bottlerocket",
        &[],
        fleet.not_bottlerocket as f64,
    );
    o.metric(
        "tufwatch_stale_amis",
        "EC2 launch AMIs behind a due release beyond the policy.",
    );
    o.sample(
        "tufwatch_stale_amis",
        &[],
        fleet.amis.iter().filter(|a| a.stale).count() as f64,
    );
}

/// The findings per severity, category, code, and whether a waiver waived them.
fn finding_metrics(o: &mut Out, r: &JobReport) {
    o.metric(
        "tufwatch_findings",
        "Findings of the last run per severity, category, code and waived (true: a waiver accepts them).",
    );
    let mut counts: BTreeMap<(&str, &str, &str, bool), u64> = BTreeMap::new();
    for f in r.all_findings() {
        let key = (
            f.severity.as_str(),
            f.category.as_str(),
            f.code.as_str(),
            f.waived.is_some(),
        );
        *counts.entry(key).or_default() += 1;
    }
    for ((sev, category, code, waived), n) in counts {
        let waived = if waived { "true" } else { "false" };
        o.sample(
            "tufwatch_findings",
            &[
                ("severity", sev),
                ("category", category),
                ("code", code),
                ("waived", waived),
            ],
            n as f64,
        );
    }
    if !r.waivers.is_empty() {
        o.metric(
            "tufwatch_waivers",
            "The job's waivers per status (active, stale, expired).",
        );
        for status in crate::waiver::WaiverStatus::ALL {
            let n = r.waivers.iter().filter(|w| w.status == status).count();
            o.sample("tufwatch_waivers", &[("status", status.as_str())], n as f64);
        }
    }
}

/// What changed since the last run, per kind (the nightly job with a history).
fn change_metrics(o: &mut Out, c: &crate::job::changes::Changes) {
    o.metric(
        "tufwatch_changes",
        "What changed since the last run, per kind (releases signed, due releases, SSM values, nodes fell behind or caught up, findings new or resolved).",
    );
    for (kind, n) in [
        ("release_signed", c.signed.len()),
        ("release_due", c.due.len()),
        ("ssm", c.ssm.len()),
        ("fell_behind", c.fell_behind.count),
        ("caught_up", c.caught_up.count),
        ("new_findings", c.new_findings.len()),
        ("resolved_findings", c.resolved_findings.len()),
    ] {
        o.sample("tufwatch_changes", &[("kind", kind)], n as f64);
    }
}

/// The `tufwatch_last_success_timestamp_seconds` value of a textfile this tool wrote before.
pub fn last_success_in(previous: &str) -> Option<f64> {
    previous.lines().find_map(|l| {
        l.strip_prefix("tufwatch_last_success_timestamp_seconds ")
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|v| v.is_finite())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_escaped_and_success_carried() {
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        let prev = "# HELP x\ntufwatch_last_success_timestamp_seconds 1700000000\n";
        assert_eq!(last_success_in(prev), Some(1.7e9));
        assert_eq!(last_success_in("nothing"), None);
    }
}
