//! The report of a job (`ssm`, `nodes`, `report`) as sections of tables: built once here, then
//! rendered as aligned text for a terminal ([`text`]) or as Markdown for a chat message or a CI
//! step summary ([`markdown`]).

use super::words;
use crate::engine::expiry::human_duration;
use crate::fleet::NodeStatus;
use crate::job::{JobReport, RepoResult};
use crate::releases::Track;
use crate::report::{Finding, Report, Verdict};
use std::fmt::Write;

/// How many nodes each list shows (the JSON has them all).
pub const NODE_LIST_LIMIT: usize = 20;

/// A table.
#[derive(Debug, Clone, Default)]
pub struct Table {
    /// Column titles.
    pub headers: Vec<&'static str>,
    /// Rows of cells.
    pub rows: Vec<Vec<String>>,
}

/// One section: a title, lines of text, tables.
#[derive(Debug, Clone, Default)]
pub struct Section {
    /// The title.
    pub title: String,
    /// Lines before the tables.
    pub lines: Vec<String>,
    /// Commands to run, after the lines: as they are in text, a code block in Markdown.
    pub commands: Vec<String>,
    /// Tables, each with an optional caption.
    pub tables: Vec<(Option<String>, Table)>,
}

fn opt(v: &Option<String>) -> String {
    v.clone().unwrap_or_else(|| "-".to_owned())
}

fn time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// The sections of a job report.
pub fn sections(r: &JobReport) -> Vec<Section> {
    let mut out = vec![head(r)];
    if let Some(c) = &r.changes {
        out.push(changes_section(c));
    }
    if !r.repositories.is_empty() {
        out.extend(repositories(r));
    }
    if let Some(ssm) = &r.ssm {
        out.push(ssm_section(ssm));
    }
    if let Some(ec2) = &r.ec2 {
        out.push(ec2_section(ec2));
    }
    if let Some(k) = &r.kubernetes {
        out.push(kubernetes_section(k));
    }
    if let Some(fleet) = &r.fleet {
        out.push(fleet_section(r, fleet));
    }
    out.push(findings_section(r));
    if !r.waivers.is_empty() {
        out.push(waivers_section(r));
    }
    if let Some(b) = &r.evidence_bundle {
        out.push(evidence_section(b));
    }
    out.push(Section {
        lines: vec![verdict_line(r.verdict)],
        ..Section::default()
    });
    out
}

/// The nightly job's digest, for a chat message or a CI step summary: what changed since the
/// last run, how the findings stand, and the verdict.
pub fn digest(r: &JobReport, changes: &crate::job::changes::Changes) -> Vec<Section> {
    let mut out = vec![head(r), changes_section(changes)];
    let waived = super::digest::waived_lines(r);
    if !waived.is_empty() {
        out.push(Section {
            title: "Waived".to_owned(),
            lines: waived,
            ..Section::default()
        });
    }
    out.push(Section {
        lines: vec![super::digest::standing(r), verdict_line(r.verdict)],
        ..Section::default()
    });
    out
}

/// What changed since the last run.
fn changes_section(c: &crate::job::changes::Changes) -> Section {
    Section {
        title: "Changes".to_owned(),
        lines: super::digest::change_lines(c),
        ..Section::default()
    }
}

/// The waivers: what each matched, and whether it is in force.
fn waivers_section(r: &JobReport) -> Section {
    let mut t = Table {
        headers: vec!["WAIVER", "STATUS", "MATCHED", "OWNER", "EXPIRES", "REASON"],
        rows: Vec::new(),
    };
    for w in &r.waivers {
        t.rows.push(vec![
            w.waiver.clone(),
            words::waiver_status(w.status).to_owned(),
            w.matched.to_string(),
            w.owner.clone(),
            w.expires.format("%Y-%m-%d").to_string(),
            w.reason.clone(),
        ]);
    }
    Section {
        title: "Waivers".to_owned(),
        tables: vec![(None, t)],
        ..Section::default()
    }
}
/// The title, and when and by what the report was made.
fn head(r: &JobReport) -> Section {
    let mut head = Section {
        title: "tufwatch report".to_owned(),
        ..Section::default()
    };
    head.lines.push(format!(
        "checked at {} by {}",
        time(r.reference_time),
        r.tool
    ));
    head
}

/// The repositories verified, and the releases their signed manifests list.
fn repositories(r: &JobReport) -> Vec<Section> {
    let mut out = Vec::new();
    let mut s = Section {
        title: "Repositories".to_owned(),
        ..Section::default()
    };
    s.tables.push((None, repositories_table(&r.repositories)));
    out.push(s);

    let t = releases_table(r);
    if !t.rows.is_empty() {
        out.push(Section {
            title: "Signed releases".to_owned(),
            lines: vec!["due: every wave has started, so every host should have it".to_owned()],
            tables: vec![(None, t)],
            ..Section::default()
        });
    }
    out
}

/// The table of the repositories: one row each.
fn repositories_table(repos: &[RepoResult]) -> Table {
    let mut t = Table {
        headers: vec![
            "REPOSITORY",
            "VERDICT",
            "ROLES",
            "FIRST EXPIRY",
            "TRUST ANCHOR",
        ],
        rows: Vec::new(),
    };
    for repo in repos {
        t.rows.push(repository_row(repo));
    }
    t
}

/// A repository's row: its verdict, top-level roles, first expiry and trust anchor, or why it
/// could not be verified.
fn repository_row(repo: &RepoResult) -> Vec<String> {
    let verdict = words::verdict(repo.verdict());
    match &repo.releases {
        Some(rel) => {
            let v = &rel.verification;
            let roles: Vec<String> = v
                .roles
                .iter()
                .filter(|x| x.delegated_by.is_none())
                .map(|x| format!("{} v{}", x.role, x.version))
                .collect();
            vec![
                repo.name.clone(),
                verdict.to_owned(),
                roles.join(", "),
                first_expiry(v),
                format!(
                    "root v{} sha512 {}…",
                    v.trusted_root.version,
                    &v.trusted_root.sha512[..12.min(v.trusted_root.sha512.len())]
                ),
            ]
        }
        None => vec![
            repo.name.clone(),
            verdict.to_owned(),
            opt(&repo.error),
            "-".to_owned(),
            "-".to_owned(),
        ],
    }
}

/// The FIRST EXPIRY cell: the role that expires first, and when (or how long ago).
fn first_expiry(v: &Report) -> String {
    let first = v.roles.iter().min_by_key(|x| x.expires_in_seconds);
    first.map_or("-".to_owned(), |x| {
        let d = chrono::Duration::seconds(x.expires_in_seconds);
        if x.expires_in_seconds > 0 {
            format!("{} in {}", x.role, human_duration(d))
        } else {
            format!("{} EXPIRED {} ago", x.role, human_duration(-d))
        }
    })
}

/// The table of the signed releases: one row per variant and architecture.
fn releases_table(r: &JobReport) -> Table {
    let mut t = Table {
        headers: vec!["VARIANT", "ARCH", "NEWEST", "DUE", "ROLLING OUT"],
        rows: Vec::new(),
    };
    for track in r.tracks() {
        t.rows.push(track_row(track));
    }
    t
}

/// A track's row: its newest and due releases, and those rolling out with their share.
fn track_row(track: &Track) -> Vec<String> {
    let rolling: Vec<String> = track
        .rolling_out
        .iter()
        .map(|v| {
            let share = track
                .releases
                .iter()
                .find(|x| &x.version == v)
                .and_then(|x| match x.rollout {
                    crate::releases::waves::Rollout::RollingOut { share } => Some(share),
                    _ => None,
                });
            match share {
                Some(s) => format!("{v} ({:.0}%)", s * 100.0),
                None => v.clone(),
            }
        })
        .collect();
    vec![
        track.variant.clone(),
        track.arch.clone(),
        opt(&track.newest),
        opt(&track.due),
        if rolling.is_empty() {
            "-".to_owned()
        } else {
            rolling.join(", ")
        },
    ]
}

/// What SSM says, and how it agrees with the signed releases.
fn ssm_section(ssm: &crate::job::SsmReport) -> Section {
    let o = &ssm.observations;
    let mut s = Section {
        title: "SSM public parameters".to_owned(),
        ..Section::default()
    };
    s.lines.push(format!(
            "source {} ({}), {} regions; calls: {} GetParameters, {} GetParametersByPath, {} HTTP attempts",
            o.source,
            o.from.join(", "),
            o.regions.len(),
            o.calls.get_parameters,
            o.calls.get_parameters_by_path,
            o.calls.attempts
        ));
    for region in o.regions.iter().filter(|x| x.error.is_some()) {
        s.lines.push(format!(
            "{}: NOT READ: {}",
            region.region,
            opt(&region.error)
        ));
    }
    let t = if ssm.cross_check.is_empty() {
        ssm_latest_table(ssm)
    } else {
        ssm_cross_check_table(ssm)
    };
    s.tables.push((None, t));
    s
}

/// EC2 read live: the calls, then each account and region, with why one was not read.
fn ec2_section(ec2: &crate::aws::ec2::Ec2Report) -> Section {
    let c = ec2.calls;
    let mut s = Section {
        title: "EC2 (read live)".to_owned(),
        lines: vec![format!(
            "{} account(s), {} region(s) read; calls: {} DescribeInstances, {} DescribeImages, {} DescribeLaunchTemplateVersions, {} DescribeAutoScalingGroups, {} DescribeLaunchConfigurations, {} EKS, {} STS; {} HTTP attempts to STS, EC2, Auto Scaling and EKS",
            ec2.accounts.len(),
            ec2.regions.len(),
            c.describe_instances,
            c.describe_images,
            c.describe_launch_template_versions,
            c.describe_auto_scaling_groups,
            c.describe_launch_configurations,
            c.eks,
            c.sts,
            c.attempts
        )],
        ..Section::default()
    };
    for a in ec2.accounts.iter().filter(|a| a.error.is_some()) {
        s.lines.push(format!(
            "account {}: NOT READ: {}",
            a.account,
            opt(&a.error)
        ));
    }
    let mut t = Table {
        headers: vec!["ACCOUNT", "REGION", "INSTANCES", "CALLS", "READ"],
        rows: Vec::new(),
    };
    for r in &ec2.regions {
        t.rows.push(vec![
            r.account.clone(),
            r.region.clone(),
            r.instances.to_string(),
            r.calls.operations().to_string(),
            match &r.error {
                Some(e) => format!("NOT READ: {e}"),
                None => "yes".to_owned(),
            },
        ]);
    }
    s.tables.push((None, t));
    s
}

/// Kubernetes read live: each cluster, what it has, and why a part was not read.
fn kubernetes_section(k: &crate::cluster::KubernetesReport) -> Section {
    let mut t = Table {
        headers: vec![
            "CLUSTER",
            "SERVER",
            "KUBERNETES",
            "REGION",
            "NODES",
            "PAGES",
            "UPDATE OPERATOR",
            "KARPENTER",
            "READ",
        ],
        rows: Vec::new(),
    };
    for c in &k.clusters {
        t.rows.push(vec![
            c.cluster.clone(),
            opt(&c.server),
            opt(&c.kubernetes_version),
            opt(&c.region),
            c.nodes.to_string(),
            c.pages.to_string(),
            words::presence(c.update_operator).to_owned(),
            words::presence(c.karpenter).to_owned(),
            if c.errors.is_empty() {
                "yes".to_owned()
            } else {
                format!("NOT READ: {}", c.errors.join("; "))
            },
        ]);
    }
    Section {
        title: "Kubernetes (read live)".to_owned(),
        tables: vec![(None, t)],
        ..Section::default()
    }
}

/// The SSM table when nothing was cross-checked: the latest image of each region, variant and
/// architecture.
fn ssm_latest_table(ssm: &crate::job::SsmReport) -> Table {
    let mut t = Table {
        headers: vec!["REGION", "VARIANT", "ARCH", "LATEST", "IMAGE"],
        rows: Vec::new(),
    };
    for l in &ssm.observations.latest {
        t.rows.push(vec![
            l.region.clone(),
            l.variant.clone(),
            l.arch.clone(),
            opt(&l.image_version),
            opt(&l.image_id),
        ]);
    }
    t
}

/// The SSM table of the cross-check: SSM's latest against the signed due release.
fn ssm_cross_check_table(ssm: &crate::job::SsmReport) -> Table {
    let mut t = Table {
        headers: vec![
            "STATUS",
            "VARIANT",
            "ARCH",
            "REGION",
            "SSM LATEST",
            "IMAGE",
            "SIGNED DUE",
        ],
        rows: Vec::new(),
    };
    for c in &ssm.cross_check {
        t.rows.push(vec![
            c.status.as_str().to_owned(),
            c.variant.clone(),
            c.arch.clone(),
            c.region.clone(),
            opt(&c.ssm_version),
            opt(&c.ssm_image_id),
            opt(&c.due),
        ]);
    }
    t
}

/// The fleet: a summary per variant and architecture, the nodes behind, the nodes not judged,
/// the AMIs in use.
fn fleet_section(r: &JobReport, fleet: &crate::fleet::Fleet) -> Section {
    let mut s = Section {
        title: "Fleet".to_owned(),
        ..Section::default()
    };
    let inventories: Vec<String> = r
        .inventories
        .iter()
        .map(|i| format!("{} ({:?}, {} nodes)", i.name, i.format, i.nodes).to_lowercase())
        .collect();
    s.lines
        .push(format!("inventories: {}", inventories.join(", ")));
    if fleet.not_bottlerocket > 0 {
        s.lines.push(format!(
            "{} nodes do not run Bottlerocket",
            fleet.not_bottlerocket
        ));
    }
    let mut t = Table {
        headers: vec![
            "VARIANT",
            "ARCH",
            "NODES",
            "CURRENT",
            "ROLLING OUT",
            "BEHIND",
            "UNKNOWN",
            "UNCHECKED",
            "DUE",
        ],
        rows: Vec::new(),
    };
    for v in &fleet.summary {
        t.rows.push(vec![
            v.variant.clone(),
            v.arch.clone(),
            v.nodes.to_string(),
            v.current.to_string(),
            v.rolling_out.to_string(),
            v.behind.to_string(),
            v.unknown_version.to_string(),
            v.unchecked.to_string(),
            opt(&v.due),
        ]);
    }
    s.tables.push((None, t));

    s.tables.extend(needs_person_table(fleet));
    s.tables.extend(behind_table(fleet));
    s.tables.extend(odd_table(fleet));
    s.tables.extend(amis_table(fleet));
    s.tables.extend(launch_paths_table(fleet));
    s
}

/// The nodes whose update needs a person (update_stuck, no_updater), stuck ones first.
fn needs_person_table(fleet: &crate::fleet::Fleet) -> Option<(Option<String>, Table)> {
    use crate::fleet::update::UpdateStatus;
    let mut needing: Vec<_> = fleet
        .nodes
        .iter()
        .filter_map(|n| Some((n, n.update.as_ref()?)))
        .filter(|(_, u)| u.status != UpdateStatus::Updating)
        .collect();
    if needing.is_empty() {
        return None;
    }
    needing.sort_by_key(|(n, u)| (u.status != UpdateStatus::UpdateStuck, n.cluster.clone()));
    let mut t = Table {
        headers: vec!["CLUSTER", "NODE", "VERSION", "DUE", "UPDATE", "WHY"],
        rows: Vec::new(),
    };
    for (n, u) in needing.iter().take(NODE_LIST_LIMIT) {
        t.rows.push(vec![
            opt(&n.cluster),
            n.name.clone(),
            opt(&n.version),
            opt(&n.due),
            u.status.as_str().to_owned(),
            u.reason.clone(),
        ]);
    }
    Some((
        Some(format!("Nodes that need a person ({})", needing.len())),
        t,
    ))
}

/// The nodes behind, the furthest behind first.
fn behind_table(fleet: &crate::fleet::Fleet) -> Option<(Option<String>, Table)> {
    let behind: Vec<_> = fleet
        .nodes
        .iter()
        .filter(|n| n.status == NodeStatus::Behind)
        .collect();
    if behind.is_empty() {
        return None;
    }
    {
        let mut t = Table {
            headers: vec![
                "NODE", "VARIANT", "ARCH", "VERSION", "DUE", "BEHIND", "DUE FOR", "EVIDENCE",
            ],
            rows: Vec::new(),
        };
        let mut sorted = behind.clone();
        sorted.sort_by(|a, b| {
            b.releases_behind
                .cmp(&a.releases_behind)
                .then(b.behind_seconds.cmp(&a.behind_seconds))
        });
        // Nodes read from a cluster name it, and their update state.
        let clustered = behind.iter().any(|n| n.cluster.is_some());
        if clustered {
            t.headers.splice(0..0, ["CLUSTER"]);
            t.headers.push("UPDATE");
        }
        for n in sorted.iter().take(NODE_LIST_LIMIT) {
            let mut row = vec![
                n.name.clone(),
                opt(&n.variant),
                opt(&n.arch),
                opt(&n.version),
                opt(&n.due),
                releases(n.releases_behind),
                n.behind_seconds.map_or("-".to_owned(), |x| {
                    human_duration(chrono::Duration::seconds(x))
                }),
                evidence(n.evidence).to_owned(),
            ];
            if clustered {
                row.insert(0, opt(&n.cluster));
                row.push(
                    n.update
                        .as_ref()
                        .map_or("-", |u| u.status.as_str())
                        .to_owned(),
                );
            }
            t.rows.push(row);
        }
        let caption = if behind.len() > NODE_LIST_LIMIT {
            format!(
                "Nodes behind ({}, the {NODE_LIST_LIMIT} furthest behind shown)",
                behind.len()
            )
        } else {
            format!("Nodes behind ({})", behind.len())
        };
        Some((Some(caption), t))
    }
}

/// The nodes judged neither current nor behind.
fn odd_table(fleet: &crate::fleet::Fleet) -> Option<(Option<String>, Table)> {
    let odd: Vec<_> = fleet
        .nodes
        .iter()
        .filter(|n| matches!(n.status, NodeStatus::UnknownVersion | NodeStatus::Unchecked))
        .collect();
    if odd.is_empty() {
        return None;
    }
    {
        let mut t = Table {
            headers: vec!["NODE", "STATUS", "VARIANT", "ARCH", "VERSION", "WHY"],
            rows: Vec::new(),
        };
        for n in odd.iter().take(NODE_LIST_LIMIT) {
            t.rows.push(vec![
                n.name.clone(),
                n.status.as_str().to_owned(),
                opt(&n.variant),
                opt(&n.arch),
                opt(&n.version),
                opt(&n.reason),
            ]);
        }
        Some((
            Some(format!(
                "Nodes not judged current or behind ({})",
                odd.len()
            )),
            t,
        ))
    }
}

/// The AMIs EC2 instances were launched from.
fn amis_table(fleet: &crate::fleet::Fleet) -> Option<(Option<String>, Table)> {
    if fleet.amis.is_empty() {
        return None;
    }
    {
        let mut t = Table {
            headers: vec![
                "AMI",
                "REGION",
                "VARIANT",
                "ARCH",
                "VERSION",
                "INSTANCES",
                "STATUS",
                "DUE",
            ],
            rows: Vec::new(),
        };
        // EC2 read live names each AMI's account and what EC2 says of it.
        let live = fleet.amis.iter().any(|a| a.account.is_some());
        if live {
            t.headers.splice(0..0, ["ACCOUNT"]);
            t.headers.push("IMAGE");
        }
        for a in &fleet.amis {
            let status = if a.stale {
                format!("STALE, {} behind", releases(a.releases_behind))
            } else {
                a.status.as_str().to_owned()
            };
            let mut row = vec![
                a.image_id.clone(),
                a.region.clone(),
                opt(&a.variant),
                opt(&a.arch),
                opt(&a.version),
                a.instances.to_string(),
                status,
                opt(&a.due),
            ];
            if live {
                row.insert(0, opt(&a.account));
                row.push(words::image(a.image.as_ref()));
            }
            t.rows.push(row);
        }
        Some((
            Some(
                "AMIs in use (EC2 launch AMIs: an instance updated in place keeps its launch AMI)"
                    .to_owned(),
            ),
            t,
        ))
    }
}

/// The launch paths (EC2 read live): what the next nodes boot, stale ones first.
fn launch_paths_table(fleet: &crate::fleet::Fleet) -> Option<(Option<String>, Table)> {
    if fleet.launch_paths.is_empty() {
        return None;
    }
    let mut t = Table {
        headers: vec![
            "LAUNCH PATH",
            "FROM",
            "ACCOUNT",
            "REGION",
            "BOOTS",
            "VARIANT",
            "ARCH",
            "VERSION",
            "STATUS",
            "DUE",
        ],
        rows: Vec::new(),
    };
    // Karpenter's node classes name their cluster.
    let clustered = fleet.launch_paths.iter().any(|p| p.cluster.is_some());
    if clustered {
        t.headers.insert(2, "CLUSTER");
    }
    for p in &fleet.launch_paths {
        let status = if p.stale {
            format!("STALE, {} behind", releases(p.releases_behind))
        } else {
            p.status.as_str().to_owned()
        };
        let mut row = vec![
            p.name.clone(),
            opt(&p.launches_from),
            opt(&p.account),
            opt(&p.region),
            opt(&p.boots),
            opt(&p.variant),
            opt(&p.arch),
            opt(&p.version),
            status,
            opt(&p.due),
        ];
        if clustered {
            row.insert(2, opt(&p.cluster));
        }
        t.rows.push(row);
    }
    Some((
        Some("Launch paths (what the next nodes boot: each launch template's default version, each Auto Scaling group, EKS node group and Karpenter EC2NodeClass)".to_owned()),
        t,
    ))
}

/// Every finding: those that fail the run first, then the other errors, warnings and notes;
/// a waived one says by what and whose.
fn findings_section(r: &JobReport) -> Section {
    let mut rows: Vec<(bool, &Finding, String)> = Vec::new();
    for repo in &r.repositories {
        if let Some(rel) = &repo.releases {
            for f in rel.verification.findings.iter().chain(&rel.findings) {
                rows.push((super::digest::fails(r, f), f, repo.name.clone()));
            }
        }
    }
    for f in &r.findings {
        rows.push((super::digest::fails(r, f), f, "-".to_owned()));
    }
    rows.sort_by(|a, b| {
        (b.0, b.1.severity, a.1.code.as_str()).cmp(&(a.0, a.1.severity, b.1.code.as_str()))
    });
    // The waiver column only when a waiver waived something.
    let any_waived = rows.iter().any(|(_, f, _)| f.waived.is_some());
    let mut findings = Table {
        headers: vec!["SEVERITY", "CATEGORY", "CODE", "WHERE", "MESSAGE"],
        rows: Vec::new(),
    };
    if any_waived {
        findings.headers.push("WAIVED");
    }
    for (_, f, place) in rows {
        let mut row = vec![
            f.severity.as_str().to_owned(),
            f.category.as_str().to_owned(),
            f.code.as_str().to_owned(),
            place,
            f.message.clone(),
        ];
        if any_waived {
            row.push(f.waived.as_deref().map_or("-".to_owned(), words::waived));
        }
        findings.rows.push(row);
    }
    let mut s = Section {
        title: "Findings".to_owned(),
        ..Section::default()
    };
    if findings.rows.is_empty() {
        s.lines.push("none".to_owned());
    } else {
        s.lines.push(super::digest::standing(r));
        s.tables.push((None, findings));
    }
    s
}

/// The evidence bundle the run wrote, and how to check it.
fn evidence_section(b: &crate::job::BundleRecord) -> Section {
    let mut s = Section {
        title: "Evidence bundle".to_owned(),
        ..Section::default()
    };
    match (&b.sha256, &b.error) {
        (Some(sha), _) => {
            s.lines.push(format!(
                "{}: {} files and SHA256SUMS, verification {}",
                b.dir,
                b.files,
                b.result_str()
            ));
            s.lines
                .push(format!("digest: sha256 {sha} (the SHA-256 of SHA256SUMS)"));
            s.lines.push("check it offline:".to_owned());
            s.commands.push(words::verify_command(b));
        }
        (None, error) => s.lines.push(format!(
            "{}: no bundle written: {}",
            b.dir,
            error.as_deref().unwrap_or("-")
        )),
    }
    s
}

fn releases(n: u32) -> String {
    if n == 1 {
        "1 release".to_owned()
    } else {
        format!("{n} releases")
    }
}

fn evidence(e: crate::fleet::inventory::Evidence) -> &'static str {
    use crate::fleet::inventory::Evidence;
    match e {
        Evidence::OsImage => "os image",
        Evidence::LaunchAmi => "launch AMI",
        Evidence::Declared => "declared",
    }
}

/// The last line: the verdict in words.
pub fn verdict_line(v: Verdict) -> String {
    let why = match v {
        Verdict::Pass => "every check passed",
        Verdict::Fail => "see the findings",
        Verdict::Incomplete => "some checks could not run",
    };
    format!("{}: {why}", words::verdict(v))
}

/// Render the sections as aligned text for a terminal.
pub fn text(sections: &[Section]) -> String {
    let mut s = String::new();
    for (i, sec) in sections.iter().enumerate() {
        if i > 0 {
            let _ = writeln!(s);
            if !sec.title.is_empty() {
                let _ = writeln!(s, "{}", sec.title.to_uppercase());
            }
        }
        for line in sec.lines.iter().chain(&sec.commands) {
            let _ = writeln!(s, "{}", crate::text::clean(line));
        }
        for (caption, table) in &sec.tables {
            if let Some(c) = caption {
                let _ = writeln!(s, "{}", crate::text::clean(c));
            }
            let cells: Vec<Vec<String>> = table
                .rows
                .iter()
                .map(|r| r.iter().map(|c| crate::text::clean(c)).collect())
                .collect();
            let mut widths: Vec<usize> = table.headers.iter().map(|h| h.len()).collect();
            for row in &cells {
                for (w, c) in widths.iter_mut().zip(row) {
                    *w = (*w).max(c.chars().count());
                }
            }
            let line = |cols: Vec<&str>| -> String {
                let n = cols.len();
                let mut out = String::from(" ");
                for (j, (c, w)) in cols.into_iter().zip(&widths).enumerate() {
                    out.push(' ');
                    out.push_str(c);
                    if j + 1 < n {
                        out.push_str(&" ".repeat(w - c.chars().count() + 1));
                    }
                }
                out.trim_end().to_owned()
            };
            let _ = writeln!(s, "{}", line(table.headers.clone()));
            for row in &cells {
                let _ = writeln!(s, "{}", line(row.iter().map(String::as_str).collect()));
            }
        }
    }
    crate::text::page(s)
}

/// Escape a table cell for Markdown: no pipes, no HTML, no line breaks.
fn md_cell(c: &str) -> String {
    let mut out = String::with_capacity(c.len());
    for (i, ch) in c.char_indices() {
        let rest = &c[i + ch.len_utf8()..];
        match ch {
            '|' => out.push_str("\\|"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '`' => out.push_str("\\`"),
            '*' | '[' | ']' | '\\' => {
                out.push('\\');
                out.push(ch);
            }
            // Not a link: GitHub makes one of `http://...` and of `www....` in any text.
            ':' if rest.starts_with("//") => out.push_str("&#58;"),
            'w' if rest.starts_with("ww.") => out.push_str("&#119;"),
            c if crate::text::misleading(c) => out.extend(c.escape_default()),
            c => out.push(c),
        }
    }
    out
}

/// Render the sections as Markdown (GitHub-flavoured tables).
pub fn markdown(sections: &[Section]) -> String {
    let mut s = String::new();
    for (i, sec) in sections.iter().enumerate() {
        let level = if i == 0 { "#" } else { "##" };
        if !sec.title.is_empty() {
            let _ = writeln!(s, "{level} {}", md_cell(&sec.title));
            let _ = writeln!(s);
        }
        for line in &sec.lines {
            let _ = writeln!(s, "{}  ", md_cell(line));
        }
        if !sec.lines.is_empty() {
            let _ = writeln!(s);
        }
        for command in &sec.commands {
            // A fence longer than any run of backticks in the command; no character in a code
            // block is markup.
            let longest = command.split(|c| c != '`').map(str::len).max().unwrap_or(0);
            let fence = "`".repeat((longest + 1).max(3));
            let one_line: String = command
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect();
            let _ = writeln!(s, "{fence}sh\n{one_line}\n{fence}\n");
        }
        for (caption, table) in &sec.tables {
            if let Some(c) = caption {
                let _ = writeln!(s, "**{}**", md_cell(c));
                let _ = writeln!(s);
            }
            let _ = writeln!(s, "| {} |", table.headers.join(" | "));
            let _ = writeln!(
                s,
                "|{}|",
                table
                    .headers
                    .iter()
                    .map(|_| "---")
                    .collect::<Vec<_>>()
                    .join("|")
            );
            for row in &table.rows {
                let cells: Vec<String> = row.iter().map(|c| md_cell(c)).collect();
                let _ = writeln!(s, "| {} |", cells.join(" | "));
            }
            let _ = writeln!(s);
        }
    }
    crate::text::page(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_cells_are_escaped() {
        assert_eq!(
            md_cell("a|b<script>`x`*y*_z\n"),
            "a\\|b&lt;script&gt;\\`x\\`\\*y\\*_z\\n"
        );
        assert_eq!(
            md_cell("node http://evil.example www.evil.example \u{202e}x"),
            "node http&#58;//evil.example &#119;ww.evil.example \\u{202e}x"
        );
    }
}
