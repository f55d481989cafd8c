//! The report of a job as one self-contained HTML page (`--format html`): styles inline, charts
//! as SVG drawn here ([`super::charts`]), no script and no request when it is opened, readable
//! on a phone and printable. The page is an askama template (`templates/report.html`), which
//! escapes every value it is given; the charts' SVG is the only markup passed through as it is,
//! and plotters escapes the text in it.

use super::charts::{self, Row, RowsChart, Segment, Tone};
use super::{words, RenderError};
use crate::fleet::NodeStatus;
use crate::job::JobReport;
use crate::releases::{waves::Rollout, Track};
use crate::report::{Finding, Severity, Verdict};
use askama::Template;
use chrono::{DateTime, Duration, Utc};

/// The furthest the expiry chart's axis reaches, in days from the reference time.
const EXPIRY_AXIS_DAYS: f64 = 90.0;

/// How many releases of a track the release timeline shows, newest first.
const RELEASES_SHOWN: usize = 8;

/// How the page was made, for a saved copy to stand alone.
#[derive(Debug, Clone, Default)]
pub struct Made {
    /// The configuration file or the command that made the report.
    pub from: Option<String>,
}

#[derive(Template)]
#[template(path = "report.html")]
struct Page {
    /// `tufwatch report`, or `tufwatch releases`.
    title: &'static str,
    /// A job's page (fleet and SSM sections), not one repository's releases.
    job: bool,
    verdict: &'static str,
    headline: String,
    counts: String,
    findings: Vec<FindingRow>,
    /// How the findings stand: failing, waived, outside fail_on, notes.
    standing: String,
    /// What changed since the last run (the nightly job): its lines; none without history.
    changes: Vec<String>,
    /// The waivers, each with what it matched.
    waivers: Vec<WaiverRow>,
    repositories: Vec<RepoView>,
    tracks: Vec<TrackView>,
    fleet: Option<FleetView>,
    /// Kubernetes read live: each cluster.
    clusters: Vec<ClusterRow>,
    ssm: Option<SsmView>,
    bundle: Option<crate::job::BundleRecord>,
    /// The command that checks the bundle.
    bundle_command: String,
    tool: String,
    reference_time: String,
    started_at: String,
    made_from: String,
}

struct FindingRow {
    severity: &'static str,
    category: &'static str,
    code: &'static str,
    place: String,
    url: String,
    message: String,
    /// Who waived it and why; empty when nothing did.
    waived: String,
    /// An error of a category `fail_on` leaves out: shown, and does not fail the run.
    outside: bool,
}

struct WaiverRow {
    waiver: String,
    status: &'static str,
    matched: usize,
    owner: String,
    expires: String,
    reason: String,
}

struct RepoView {
    name: String,
    verdict: &'static str,
    error: String,
    metadata_url: String,
    root_chain: String,
    engines: String,
    chart: String,
    roles: Vec<RoleRow>,
}

struct RoleRow {
    role: String,
    version: u64,
    expires: String,
    verdict: &'static str,
    signatures: String,
}

struct TrackView {
    name: String,
    newest: String,
    due: String,
    rolling_out: String,
    chart: String,
}

struct FleetView {
    nodes: usize,
    not_bottlerocket: u64,
    charts: Vec<(String, String)>,
    behind: Vec<BehindRow>,
    behind_caption: String,
    amis: Vec<AmiRow>,
    /// EC2 read live: the AMIs' accounts and what EC2 says of each are shown.
    live: bool,
    launch_paths: Vec<LaunchPathRow>,
    /// Nodes or launch paths read from Kubernetes: their clusters are shown.
    clustered: bool,
    needs_person: Vec<NeedsPersonRow>,
}

struct ClusterRow {
    name: String,
    server: String,
    kubernetes: String,
    region: String,
    nodes: u64,
    update_operator: &'static str,
    karpenter: &'static str,
    errors: String,
}

struct NeedsPersonRow {
    cluster: String,
    name: String,
    version: String,
    due: String,
    update: &'static str,
    reason: String,
}

struct LaunchPathRow {
    stale: bool,
    name: String,
    from: String,
    cluster: String,
    account: String,
    region: String,
    boots: String,
    track: String,
    version: String,
    status: &'static str,
    due: String,
}

struct BehindRow {
    cluster: String,
    update: &'static str,
    name: String,
    track: String,
    version: String,
    due: String,
    releases_behind: u32,
    since: String,
}

struct AmiRow {
    stale: bool,
    account: String,
    image: String,
    region: String,
    image_id: String,
    track: String,
    version: String,
    instances: u64,
    status: &'static str,
    due: String,
}

struct SsmView {
    cross_checked: bool,
    rows: Vec<SsmRow>,
}

struct SsmRow {
    status: &'static str,
    agrees: bool,
    track: String,
    region: String,
    ssm_version: String,
    newest: String,
    due: String,
    message: String,
}

fn time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn opt(v: &Option<String>) -> String {
    v.clone().unwrap_or_else(|| "-".to_owned())
}

/// Days from `at` to `t`.
fn days(at: DateTime<Utc>, t: DateTime<Utc>) -> f64 {
    (t - at).num_seconds() as f64 / 86_400.0
}

/// A label of a point of a time axis given in days from `at`.
fn date_label(at: DateTime<Utc>) -> impl Fn(f64) -> String {
    move |d: f64| {
        // A point of the axis past the dates chrono can hold (a wave in the year 200000) has
        // no label rather than a panic.
        Duration::try_seconds((d * 86_400.0) as i64)
            .and_then(|x| at.checked_add_signed(x))
            .map_or_else(String::new, |t| t.format("%b %-d").to_string())
    }
}

fn finding_row(r: &JobReport, repository: Option<&str>, f: &Finding) -> FindingRow {
    let subject = f.role.as_deref().or(f.target.as_deref());
    let place = match (repository, subject) {
        (Some(r), Some(s)) => format!("{r}: {s}"),
        (Some(r), None) => r.to_owned(),
        (None, Some(s)) => s.to_owned(),
        (None, None) => "job".to_owned(),
    };
    FindingRow {
        severity: f.severity.as_str(),
        category: f.category.as_str(),
        code: f.code.as_str(),
        place,
        url: f.url.clone().unwrap_or_default(),
        message: f.message.clone(),
        waived: f.waived.as_deref().map(words::waived).unwrap_or_default(),
        outside: f.outside(&r.fail_on),
    }
}

/// The expiry of each role against the reference time and the warning window.
fn expiry_chart(v: &crate::report::Report) -> Result<String, RenderError> {
    let at = v.reference_time;
    let warn = v.expiry_warning_seconds as f64 / 86_400.0;
    let rows: Vec<Row> = v
        .roles
        .iter()
        .map(|r| {
            let end = days(at, r.expires);
            let tone = if end <= 0.0 {
                Tone::Bad
            } else if end <= warn {
                Tone::Warn
            } else {
                Tone::Good
            };
            let within = crate::engine::expiry::human_duration(r.expires - at);
            let note = if end <= 0.0 {
                format!("expired {} ({within} ago)", r.expires.format("%Y-%m-%d"))
            } else {
                format!("expires {} (in {within})", r.expires.format("%Y-%m-%d"))
            };
            Row {
                label: r.role.clone(),
                segments: vec![Segment {
                    from: end.min(0.0),
                    to: end.max(0.0),
                    tone,
                }],
                points: Vec::new(),
                note,
            }
        })
        .collect();
    // From a little before now to the latest expiry, but no further than EXPIRY_AXIS_DAYS (a
    // root years away would squeeze a timestamp's week to a sliver) and no nearer than twice
    // the warning window; a role that expires later runs off the axis, its date in its note.
    let latest = rows
        .iter()
        .flat_map(|r| r.segments.iter().map(|s| s.to))
        .fold(0.0, f64::max)
        .min(EXPIRY_AXIS_DAYS)
        .max(warn * 2.0)
        .max(7.0);
    let earliest = rows
        .iter()
        .flat_map(|r| r.segments.iter().map(|s| s.from))
        .fold(0.0, f64::min)
        .max(-60.0);
    let span = latest - earliest;
    let label = date_label(at);
    charts::render(&RowsChart {
        rows,
        range: (earliest - span * 0.05, latest + span * 0.45),
        axis_label: &label,
        marks: vec![(0.0, "now".to_owned())],
        bands: vec![(0.0, warn, "warning window".to_owned())],
        axis_labels: 6,
        clip: Some(latest),
    })
}

/// The releases of a track: each a row from its first wave's start to its last's, the part of
/// the fleet whose turn has come filled, each wave a dot.
fn release_chart(t: &Track, at: DateTime<Utc>) -> Result<String, RenderError> {
    let shown: Vec<_> = t.releases.iter().take(RELEASES_SHOWN).collect();
    let mut rows = Vec::new();
    for r in &shown {
        let (Some(first), Some(last)) = (r.waves.first(), r.waves.last()) else {
            rows.push(Row {
                label: r.version.clone(),
                note: "no waves".to_owned(),
                ..Row::default()
            });
            continue;
        };
        let (start, end) = (days(at, first.start), days(at, last.start));
        let mut segments = Vec::new();
        let (note, reached) = match &r.rollout {
            Rollout::NotStarted => ("not started".to_owned(), start),
            Rollout::RollingOut { share } => (
                format!("rolling out: {:.0}% of hosts", share * 100.0),
                // Waves need not start in the order of their seeds: never a clamp whose
                // bounds are the wrong way round.
                charts::within(0.0, start.min(end), start.max(end)),
            ),
            Rollout::Complete => ("due to every host".to_owned(), end),
        };
        if reached > start || start == end {
            segments.push(Segment {
                from: start,
                to: reached.max(start + 0.05),
                tone: if matches!(r.rollout, Rollout::NotStarted) {
                    Tone::Pending
                } else {
                    Tone::Good
                },
            });
        }
        if end > reached {
            segments.push(Segment {
                from: reached,
                to: end,
                tone: Tone::Pending,
            });
        }
        rows.push(Row {
            label: r.version.clone(),
            segments,
            points: r.waves.iter().map(|w| days(at, w.start)).collect(),
            note: if r.beyond_max_version {
                format!("{note} (above its max_version: never taken)")
            } else {
                note
            },
        });
    }
    let all = rows
        .iter()
        .flat_map(|r| r.segments.iter().flat_map(|s| [s.from, s.to]))
        .chain(rows.iter().flat_map(|r| r.points.iter().copied()))
        .chain([0.0]);
    let (lo, hi) = all.fold((f64::MAX, f64::MIN), |(lo, hi), x| (lo.min(x), hi.max(x)));
    let span = (hi - lo).max(7.0);
    let label = date_label(at);
    charts::render(&RowsChart {
        rows,
        range: (lo - span * 0.05, hi + span * 0.45),
        axis_label: &label,
        marks: vec![(0.0, "now".to_owned())],
        bands: Vec::new(),
        axis_labels: 6,
        clip: None,
    })
}

fn status_tone(s: NodeStatus) -> Tone {
    match s {
        NodeStatus::Current => Tone::Good,
        NodeStatus::RollingOut => Tone::Warn,
        NodeStatus::Behind => Tone::Bad,
        NodeStatus::UnknownVersion | NodeStatus::NotBottlerocket | NodeStatus::Unchecked => {
            Tone::Neutral
        }
    }
}

/// Nodes per running version of one variant, stacked by status.
fn fleet_chart(nodes: &[&crate::fleet::NodeView]) -> Result<String, RenderError> {
    use std::collections::BTreeMap;
    let order = [
        NodeStatus::Current,
        NodeStatus::RollingOut,
        NodeStatus::Behind,
        NodeStatus::UnknownVersion,
        NodeStatus::Unchecked,
    ];
    let mut by_version: BTreeMap<String, [u64; 5]> = BTreeMap::new();
    for n in nodes {
        let version = n.version.clone().unwrap_or_else(|| "unknown".to_owned());
        let slot = order.iter().position(|s| *s == n.status).unwrap_or(4);
        by_version.entry(version).or_default()[slot] += 1;
    }
    // Newest version at the top (semver order; what is not a version last).
    let mut versions: Vec<(String, [u64; 5])> = by_version.into_iter().collect();
    versions.sort_by(|a, b| {
        let key = |v: &str| semver::Version::parse(v).ok();
        key(&b.0).cmp(&key(&a.0)).then(a.0.cmp(&b.0))
    });
    let most = versions
        .iter()
        .map(|(_, c)| c.iter().sum::<u64>())
        .max()
        .unwrap_or(1) as f64;
    let rows = versions
        .iter()
        .map(|(version, counts)| {
            let mut x = 0.0;
            let mut segments = Vec::new();
            let mut parts = Vec::new();
            for (i, c) in counts.iter().enumerate() {
                if *c > 0 {
                    segments.push(Segment {
                        from: x,
                        to: x + *c as f64,
                        tone: status_tone(order[i]),
                    });
                    x += *c as f64;
                    parts.push(format!("{c} {}", order[i].as_str().replace('_', " ")));
                }
            }
            Row {
                label: version.clone(),
                segments,
                points: Vec::new(),
                note: parts.join(", "),
            }
        })
        .collect();
    let label = |x: f64| format!("{x:.0}");
    charts::render(&RowsChart {
        rows,
        range: (0.0, most * 1.6),
        axis_label: &label,
        marks: Vec::new(),
        bands: Vec::new(),
        axis_labels: 5,
        clip: None,
    })
}

/// Render the report of a job as an HTML page.
pub fn render(r: &JobReport, made: &Made) -> Result<String, RenderError> {
    page(r, made, true).map(crate::text::page)
}

/// Render the releases of one repository (`tufwatch releases`) as an HTML page: its
/// verification and its tracks, without the fleet and SSM sections of a job.
pub fn render_releases(
    r: crate::releases::ReleasesReport,
    made: &Made,
) -> Result<String, RenderError> {
    page(&JobReport::of_releases(r), made, false).map(crate::text::page)
}

fn page(r: &JobReport, made: &Made, job: bool) -> Result<String, RenderError> {
    let findings = finding_rows(r);
    let of = |s: Severity| findings.iter().filter(|f| f.severity == s.as_str()).count();
    let (errors, warnings) = (of(Severity::Error), of(Severity::Warning));
    let headline = match r.verdict {
        Verdict::Pass => "All verified".to_owned(),
        Verdict::Fail => "Findings: something is wrong".to_owned(),
        Verdict::Incomplete => "Incomplete: something could not be checked".to_owned(),
    };
    let counts = format!(
        "{errors} error{}, {warnings} warning{}; {} repositor{} verified",
        if errors == 1 { "" } else { "s" },
        if warnings == 1 { "" } else { "s" },
        r.repositories.len(),
        if r.repositories.len() == 1 {
            "y"
        } else {
            "ies"
        },
    );

    let repositories = r
        .repositories
        .iter()
        .map(repo_view)
        .collect::<Result<Vec<_>, _>>()?;
    let mut tracks = Vec::new();
    for t in r.tracks() {
        tracks.push(TrackView {
            name: format!("{} / {}", t.variant, t.arch),
            newest: opt(&t.newest),
            due: opt(&t.due),
            rolling_out: if t.rolling_out.is_empty() {
                "-".to_owned()
            } else {
                t.rolling_out.join(", ")
            },
            chart: release_chart(t, r.reference_time)?,
        });
    }

    let fleet = r.fleet.as_ref().map(fleet_view).transpose()?;
    let ssm = r.ssm.as_ref().map(ssm_view);
    let page = Page {
        title: if job {
            "tufwatch report"
        } else {
            "tufwatch releases"
        },
        job,
        verdict: words::verdict(r.verdict),
        headline,
        counts,
        findings,
        standing: super::digest::standing(r),
        changes: r
            .changes
            .iter()
            .flat_map(super::digest::change_lines)
            .collect(),
        waivers: r
            .waivers
            .iter()
            .map(|w| WaiverRow {
                waiver: w.waiver.clone(),
                status: words::waiver_status(w.status),
                matched: w.matched,
                owner: w.owner.clone(),
                expires: w.expires.format("%Y-%m-%d").to_string(),
                reason: w.reason.clone(),
            })
            .collect(),
        repositories,
        tracks,
        fleet,
        clusters: cluster_rows(r.kubernetes.as_ref()),
        ssm,
        bundle: r.evidence_bundle.clone(),
        bundle_command: r
            .evidence_bundle
            .as_ref()
            .map(words::verify_command)
            .unwrap_or_default(),
        tool: r.tool.clone(),
        reference_time: time(r.reference_time),
        started_at: time(r.started_at),
        made_from: made.from.clone().unwrap_or_else(|| "-".to_owned()),
    };
    page.render().map_err(RenderError::Template)
}

/// Every finding on the page: of each repository and of the job, errors first, then warnings,
/// within each in the order the job found them.
fn finding_rows(r: &JobReport) -> Vec<FindingRow> {
    let mut findings = Vec::new();
    for repo in &r.repositories {
        if let Some(rel) = &repo.releases {
            for f in rel.verification.findings.iter().chain(&rel.findings) {
                findings.push(finding_row(r, Some(&repo.name), f));
            }
        }
    }
    findings.extend(r.findings.iter().map(|f| finding_row(r, None, f)));
    // Errors that fail the run, then waived ones and those outside fail_on, then warnings,
    // then notes.
    findings.sort_by_key(|f| {
        let rank = match f.severity {
            "error" => 0,
            "warning" => 2,
            _ => 3,
        };
        rank + usize::from((!f.waived.is_empty() || f.outside) && rank == 0)
    });
    findings
}

/// One repository on the page: its verdict, the root chain, the engines, each role and the
/// expiry chart.
fn repo_view(repo: &crate::job::RepoResult) -> Result<RepoView, RenderError> {
    let mut view = RepoView {
        name: repo.name.clone(),
        verdict: words::verdict(repo.verdict()),
        error: repo.error.clone().unwrap_or_default(),
        metadata_url: String::new(),
        root_chain: String::new(),
        engines: String::new(),
        chart: String::new(),
        roles: Vec::new(),
    };
    if let Some(rel) = &repo.releases {
        let v = &rel.verification;
        view.metadata_url = v.repository.metadata_url.clone();
        view.root_chain = v
            .root_chain
            .iter()
            .map(|n| format!("v{n}"))
            .collect::<Vec<_>>()
            .join(" → ");
        view.engines = if v.engines.is_empty() {
            v.engine.clone()
        } else {
            v.engines
                .iter()
                .map(|e| format!("{} {}", e.engine, words::engine(e.verdict)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        view.chart = expiry_chart(v)?;
        view.roles = v
            .roles
            .iter()
            .map(|role| RoleRow {
                role: role.role.clone(),
                version: role.version,
                expires: time(role.expires),
                verdict: words::role(role.verdict),
                signatures: format!(
                    "{} of {} needed",
                    role.signatures.valid_keyids.len(),
                    role.signatures.threshold
                ),
            })
            .collect();
    }
    Ok(view)
}

/// The fleet on the page: a chart per variant, the nodes furthest behind, the AMIs in use.
fn fleet_view(f: &crate::fleet::Fleet) -> Result<FleetView, RenderError> {
    let (behind, behind_caption) = behind_rows(f);
    Ok(FleetView {
        nodes: f.nodes.len(),
        not_bottlerocket: f.not_bottlerocket,
        charts: variant_charts(f)?,
        behind,
        behind_caption,
        amis: f.amis.iter().map(ami_row).collect(),
        live: f.amis.iter().any(|a| a.account.is_some()),
        launch_paths: f.launch_paths.iter().map(launch_path_row).collect(),
        clustered: f.nodes.iter().any(|n| n.cluster.is_some())
            || f.launch_paths.iter().any(|p| p.cluster.is_some()),
        needs_person: needs_person(f),
    })
}

/// One chart per variant of the nodes running Bottlerocket.
fn variant_charts(f: &crate::fleet::Fleet) -> Result<Vec<(String, String)>, RenderError> {
    let mut variants: Vec<String> = f
        .nodes
        .iter()
        .filter(|n| n.status != NodeStatus::NotBottlerocket)
        .map(|n| n.variant.clone().unwrap_or_else(|| "unknown".to_owned()))
        .collect();
    variants.sort();
    variants.dedup();
    let mut charts = Vec::new();
    for v in variants {
        let nodes: Vec<&crate::fleet::NodeView> = f
            .nodes
            .iter()
            .filter(|n| n.status != NodeStatus::NotBottlerocket)
            .filter(|n| n.variant.as_deref().unwrap_or("unknown") == v)
            .collect();
        charts.push((v, fleet_chart(&nodes)?));
    }
    Ok(charts)
}

/// The nodes furthest behind (up to the list limit), and the table's caption.
fn behind_rows(f: &crate::fleet::Fleet) -> (Vec<BehindRow>, String) {
    let mut behind: Vec<&crate::fleet::NodeView> = f
        .nodes
        .iter()
        .filter(|n| n.status == NodeStatus::Behind)
        .collect();
    behind.sort_by(|a, b| {
        b.releases_behind
            .cmp(&a.releases_behind)
            .then(b.behind_seconds.cmp(&a.behind_seconds))
    });
    let limit = super::sections::NODE_LIST_LIMIT;
    let caption = if behind.len() > limit {
        format!(
            "Nodes behind: {}, the {limit} furthest behind",
            behind.len()
        )
    } else {
        format!("Nodes behind: {}", behind.len())
    };
    let rows = behind
        .iter()
        .take(limit)
        .map(|n| BehindRow {
            cluster: opt(&n.cluster),
            update: n.update.as_ref().map_or("-", |u| u.status.as_str()),
            name: n.name.clone(),
            track: format!("{} / {}", opt(&n.variant), opt(&n.arch)),
            version: opt(&n.version),
            due: opt(&n.due),
            releases_behind: n.releases_behind,
            since: n.behind_seconds.map_or("-".to_owned(), |x| {
                crate::engine::expiry::human_duration(Duration::seconds(x))
            }),
        })
        .collect();
    (rows, caption)
}

/// An AMI in use, as its table shows it.
fn ami_row(a: &crate::fleet::AmiView) -> AmiRow {
    AmiRow {
        stale: a.stale,
        account: opt(&a.account),
        image: words::image(a.image.as_ref()),
        region: a.region.clone(),
        image_id: a.image_id.clone(),
        track: match (&a.variant, &a.arch) {
            (Some(v), Some(ar)) => format!("{v} / {ar}"),
            _ => "-".to_owned(),
        },
        version: opt(&a.version),
        instances: a.instances,
        status: a.status.as_str(),
        due: opt(&a.due),
    }
}

/// A launch path, as its table shows it.
fn launch_path_row(p: &crate::fleet::launch::LaunchPathView) -> LaunchPathRow {
    LaunchPathRow {
        stale: p.stale,
        name: p.name.clone(),
        from: opt(&p.launches_from),
        cluster: opt(&p.cluster),
        account: opt(&p.account),
        region: opt(&p.region),
        boots: opt(&p.boots),
        track: match (&p.variant, &p.arch) {
            (Some(v), Some(a)) => format!("{v} / {a}"),
            _ => "-".to_owned(),
        },
        version: opt(&p.version),
        status: p.status.as_str(),
        due: opt(&p.due),
    }
}

/// The nodes whose update needs a person, stuck ones first.
fn needs_person(f: &crate::fleet::Fleet) -> Vec<NeedsPersonRow> {
    use crate::fleet::update::UpdateStatus;
    let mut rows: Vec<(bool, NeedsPersonRow)> = f
        .nodes
        .iter()
        .filter_map(|n| Some((n, n.update.as_ref()?)))
        .filter(|(_, u)| u.status != UpdateStatus::Updating)
        .map(|(n, u)| {
            let row = NeedsPersonRow {
                cluster: opt(&n.cluster),
                name: n.name.clone(),
                version: opt(&n.version),
                due: opt(&n.due),
                update: u.status.as_str(),
                reason: u.reason.clone(),
            };
            (u.status != UpdateStatus::UpdateStuck, row)
        })
        .collect();
    rows.sort_by_key(|r| r.0);
    rows.into_iter()
        .take(super::sections::NODE_LIST_LIMIT)
        .map(|(_, r)| r)
        .collect()
}

/// Each cluster read live.
fn cluster_rows(k: Option<&crate::cluster::KubernetesReport>) -> Vec<ClusterRow> {
    k.map(|k| &k.clusters[..])
        .unwrap_or_default()
        .iter()
        .map(|c| ClusterRow {
            name: c.cluster.clone(),
            server: opt(&c.server),
            kubernetes: opt(&c.kubernetes_version),
            region: opt(&c.region),
            nodes: c.nodes,
            update_operator: words::presence(c.update_operator),
            karpenter: words::presence(c.karpenter),
            errors: c.errors.join("; "),
        })
        .collect()
}

/// SSM on the page: the cross-check, mismatches first.
fn ssm_view(s: &crate::job::SsmReport) -> SsmView {
    let mut rows: Vec<SsmRow> = s
        .cross_check
        .iter()
        .map(|c| SsmRow {
            status: c.status.as_str(),
            agrees: c.status == crate::ssm::check::Status::Agree,
            track: format!("{} / {}", c.variant, c.arch),
            region: c.region.clone(),
            ssm_version: opt(&c.ssm_version),
            newest: opt(&c.newest),
            due: opt(&c.due),
            message: c.message.clone(),
        })
        .collect();
    // Mismatches first.
    rows.sort_by_key(|row| row.agrees);
    SsmView {
        cross_checked: s.cross_checked,
        rows,
    }
}
