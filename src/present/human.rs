//! The report for a person at a terminal: short, aligned, the verdict last.

use super::words;
use crate::engine::expiry::human_duration;
use crate::releases::waves::Rollout;
use crate::releases::{ReleaseView, ReleasesReport, Track};
use crate::report::{Finding, Report, Severity, SignatureStatus, Signatures, Verdict};
use crate::text::clean;
use chrono::{DateTime, Utc};
use std::fmt::Write;

/// Render a report as text.
pub fn render(r: &Report) -> String {
    let mut s = String::new();
    write_header(&mut s, r);
    write_roles(&mut s, r);
    write_targets(&mut s, r);
    write_state(&mut s, r);
    write_findings(&mut s, r);
    write_verdict(&mut s, r);
    crate::text::page(s)
}

/// The header: the repository, the trust anchor, the root chain, when, and the engines.
fn write_header(s: &mut String, r: &Report) {
    let _ = writeln!(s, "repository  {}", r.repository.metadata_url);
    if r.repository.targets_url != r.repository.metadata_url {
        let _ = writeln!(s, "targets     {}", r.repository.targets_url);
    }
    let _ = writeln!(
        s,
        "trust       {} (version {}, sha512 {}…, pinned by {})",
        r.trusted_root.source,
        r.trusted_root.version,
        &r.trusted_root.sha512[..16.min(r.trusted_root.sha512.len())],
        r.trusted_root.pinned_by
    );
    if let Some(v) = r.state.started_from_root {
        let _ = writeln!(
            s,
            "start       root v{v} saved by a previous run from this anchor"
        );
    }
    if r.root_chain.len() > 1 {
        let chain: Vec<String> = r.root_chain.iter().map(u64::to_string).collect();
        let _ = writeln!(s, "rotation    root {}", chain.join(" -> "));
    }
    let when = if r.reference_time == r.started_at {
        "now".to_owned()
    } else {
        "the time asked for".to_owned()
    };
    let _ = writeln!(
        s,
        "checked at  {} ({when})",
        r.reference_time.format("%Y-%m-%d %H:%M:%S UTC")
    );
    if !r.engines.is_empty() {
        let engines: Vec<String> = r
            .engines
            .iter()
            .map(|e| format!("{} {}", e.engine, words::engine(e.verdict)))
            .collect();
        let _ = writeln!(s, "engines     {}", engines.join(", "));
    }
    let _ = writeln!(s);
}

/// The roles table: a role a line, its version, expiry, verdict and signatures.
fn write_roles(s: &mut String, r: &Report) {
    let w = r
        .roles
        .iter()
        .map(|x| x.role.len())
        .max()
        .unwrap_or(4)
        .max(4);
    let _ = writeln!(
        s,
        "{:<w$}  {:>7}  {:<34}  {:<7}  SIGNED BY (valid/authorized keys, threshold: key ids)",
        "ROLE", "VERSION", "EXPIRES", "VERDICT"
    );
    for role in &r.roles {
        let rel = role.expires_in_seconds;
        let rel_text = if rel > 0 {
            format!("in {}", human_duration(chrono::Duration::seconds(rel)))
        } else {
            format!("{} ago", human_duration(chrono::Duration::seconds(rel)))
        };
        let expires = format!("{} ({rel_text})", role.expires.format("%Y-%m-%d %H:%M"));
        let mut signed = signed_by(&role.signatures);
        if let Some(rot) = &role.rotation_signatures {
            signed.push_str(&format!("; previous root's keys {}", signed_by(rot)));
        }
        let verdict = words::role(role.verdict);
        let _ = writeln!(
            s,
            "{:<w$}  {:>7}  {:<34}  {verdict:<7}  {signed}",
            clean(&role.role),
            role.version,
            expires
        );
    }
}

/// The targets checked, when any: how many verified, then a target a line.
fn write_targets(s: &mut String, r: &Report) {
    if !r.targets.is_empty() {
        let _ = writeln!(s);
        let ok = r.targets.iter().filter(|t| t.verified).count();
        let _ = writeln!(s, "targets     {ok} of {} verified", r.targets.len());
        for t in &r.targets {
            let mark = words::target(t.verified);
            let dest = t
                .written_to
                .as_ref()
                .map(|d| format!(" -> {}", clean(d)))
                .unwrap_or_default();
            let _ = writeln!(
                s,
                "  {mark:<4} {} ({} bytes){dest}",
                clean(&t.name),
                t.length
            );
        }
    }
}

/// The state line, when a state directory is used: what the previous run trusted, and whether
/// it was saved.
fn write_state(s: &mut String, r: &Report) {
    if let Some(dir) = &r.state.dir {
        let _ = writeln!(s);
        let prev = if r.state.previous.is_empty() {
            "first run for this repository".to_owned()
        } else {
            let v: Vec<String> = r
                .state
                .previous
                .iter()
                .map(|(k, v)| format!("{} v{v}", clean(k)))
                .collect();
            format!("previous run trusted {}", v.join(", "))
        };
        let saved = if r.state.updated {
            "saved"
        } else {
            "not updated"
        };
        let _ = writeln!(s, "state       {dir} ({prev}; {saved})");
    }
}

/// The findings, when any: a finding a line, its subject and where it was found.
fn write_findings(s: &mut String, r: &Report) {
    if !r.findings.is_empty() {
        let _ = writeln!(s);
        let _ = writeln!(s, "findings");
        for f in &r.findings {
            let sev = format!("{:<7}", f.severity.as_str());
            let subject = f
                .role
                .as_ref()
                .or(f.target.as_ref())
                .map(|x| format!(" [{}]", clean(x)))
                .unwrap_or_default();
            let _ = writeln!(
                s,
                "  {sev} {}{subject}: {}",
                f.code.as_str(),
                clean(&f.message)
            );
            if let Some(url) = &f.url {
                let _ = writeln!(s, "          at {}", clean(url));
            }
        }
    }
}

/// The verdict line, last: the verdict and how many errors and warnings.
fn write_verdict(s: &mut String, r: &Report) {
    let _ = writeln!(s);
    let errors = r
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    let warnings = r.findings.len() - errors;
    let verdict = match r.verdict {
        Verdict::Pass => "the repository verified",
        Verdict::Fail => "the repository did not verify",
        Verdict::Incomplete => "the verification could not finish",
    };
    let verdict = format!("{}: {verdict}", words::verdict(r.verdict));
    let _ = writeln!(
        s,
        "{verdict} ({errors} error{}, {warnings} warning{})",
        if errors == 1 { "" } else { "s" },
        if warnings == 1 { "" } else { "s" }
    );
}

/// Render a releases report as text: a line on the verification, then each variant and
/// architecture with its releases newest first.
pub fn render_releases(r: &ReleasesReport) -> String {
    let mut s = String::new();
    write_releases_header(&mut s, r);
    for t in &r.tracks {
        write_track(&mut s, t, r.verification.reference_time);
    }
    write_releases_findings(&mut s, r);
    write_releases_verdict(&mut s, r);
    crate::text::page(s)
}

/// The header of a releases report: the repository and its roles' versions, when, the manifest.
fn write_releases_header(s: &mut String, r: &ReleasesReport) {
    let v = &r.verification;
    let role_versions: Vec<String> = v
        .roles
        .iter()
        .filter(|x| x.delegated_by.is_none())
        .map(|x| format!("{} v{}", x.role, x.version))
        .collect();
    let _ = writeln!(
        s,
        "repository  {} ({})",
        clean(&v.repository.metadata_url),
        role_versions.join(", ")
    );
    let _ = writeln!(
        s,
        "checked at  {}",
        v.reference_time.format("%Y-%m-%d %H:%M:%S UTC")
    );
    if let Some(m) = &r.manifest {
        let _ = writeln!(
            s,
            "manifest    {} bytes, length and hashes verified",
            m.length
        );
    }
}

/// A variant and architecture: its summary line, its releases table, its migrations.
fn write_track(s: &mut String, t: &Track, checked_at: DateTime<Utc>) {
    let _ = writeln!(s);
    let rolling = if t.rolling_out.is_empty() {
        String::new()
    } else {
        format!(", rolling out {}", t.rolling_out.join(", "))
    };
    let _ = writeln!(
        s,
        "{} {}: newest {}, due {}{rolling}",
        clean(&t.variant),
        clean(&t.arch),
        t.newest.as_deref().unwrap_or("none"),
        t.due.as_deref().unwrap_or("none"),
    );
    let _ = writeln!(
        s,
        "  {:<10}  {:<10}  {:<22}  WAVES",
        "VERSION", "MAX", "STATUS"
    );
    for rel in &t.releases {
        write_release(s, rel, checked_at);
    }
    if let Some(m) = &t.migrations {
        let list = if m.migrations.is_empty() {
            "none".to_owned()
        } else {
            m.migrations
                .iter()
                .map(|x| clean(x))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = writeln!(s, "  migrations {} -> {}: {list}", m.from, m.to);
    }
}

/// A release's row (version, max, status, waves), then its waves while it rolls out.
fn write_release(s: &mut String, rel: &ReleaseView, checked_at: DateTime<Utc>) {
    let status = match rel.rollout {
        Rollout::Complete => "complete".to_owned(),
        Rollout::NotStarted => "not started".to_owned(),
        Rollout::RollingOut { share } => format!("rolling out, {:.0}%", share * 100.0),
    };
    let status = if rel.beyond_max_version {
        format!("{status} (above max)")
    } else {
        status
    };
    let waves = match (rel.waves.first(), rel.waves.last()) {
        (Some(first), Some(last)) => format!(
            "{} waves, {} to {}",
            rel.waves.len(),
            first.start.format("%Y-%m-%d %H:%M"),
            last.start.format("%Y-%m-%d %H:%M")
        ),
        _ => "none".to_owned(),
    };
    let _ = writeln!(
        s,
        "  {:<10}  {:<10}  {:<22}  {waves}",
        clean(&rel.version),
        clean(&rel.max_version),
        status
    );
    // The waves of a release still rolling out: when each starts, and how much of the
    // fleet has had its turn once it is through.
    if rel.rollout != Rollout::Complete {
        for w in &rel.waves {
            let mark = if w.start <= checked_at {
                ", started"
            } else {
                ""
            };
            let _ = writeln!(
                s,
                "  {:<48}{} -> {:>3.0}% of the fleet{mark}",
                "",
                w.start.format("%Y-%m-%d %H:%M"),
                w.fleet_share * 100.0
            );
        }
    }
}

/// The findings of a releases report, when any: the verification's, then the manifest's.
fn write_releases_findings(s: &mut String, r: &ReleasesReport) {
    let v = &r.verification;
    let findings: Vec<&Finding> = v.findings.iter().chain(&r.findings).collect();
    if !findings.is_empty() {
        let _ = writeln!(s);
        let _ = writeln!(s, "findings");
        for f in findings {
            let _ = writeln!(
                s,
                "  {:<7} {}: {}",
                f.severity.as_str(),
                f.code.as_str(),
                clean(&f.message)
            );
        }
    }
}

/// The verdict line of a releases report, last.
fn write_releases_verdict(s: &mut String, r: &ReleasesReport) {
    let _ = writeln!(s);
    let verdict = match r.verdict {
        Verdict::Pass => "the repository verified and its manifest was read",
        Verdict::Fail => "see the findings",
        Verdict::Incomplete => "the verification could not finish",
    };
    let _ = writeln!(s, "{}: {verdict}", words::verdict(r.verdict));
}

fn count(sig: &Signatures) -> String {
    format!(
        "{}/{} (need {})",
        sig.valid_keyids.len(),
        sig.authorized_keys,
        sig.threshold
    )
}

fn signed_by(sig: &Signatures) -> String {
    let mut text = count(sig);
    let ids: Vec<&str> = sig
        .valid_keyids
        .iter()
        .map(|k| &k[..8.min(k.len())])
        .collect();
    if !ids.is_empty() {
        text.push_str(": ");
        text.push_str(&ids.join(" "));
    }
    let bad = sig
        .signatures
        .iter()
        .filter(|c| c.status != SignatureStatus::Valid)
        .count();
    if bad > 0 {
        text.push_str(&format!(" +{bad} not counted"));
    }
    text
}
