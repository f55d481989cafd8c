//! The one vocabulary of the outputs people read (text, Markdown, HTML): each state has one
//! word, written here once, so a repository that text calls `FAIL` is not `FAILED` in Markdown
//! and `fail` on the page. JSON and Prometheus keep the model's own names (`fail`, `rejected`),
//! which are the same words in lower case.

use crate::fleet::ami::LaunchImage;
use crate::job::BundleRecord;
use crate::report::{EngineVerdict, RoleVerdict, Verdict};

/// A run's or a repository's verdict.
pub fn verdict(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "PASS",
        Verdict::Fail => "FAIL",
        Verdict::Incomplete => "INCOMPLETE",
    }
}

/// One role's verdict; a target's is `ok` or `FAIL` too.
pub fn role(v: RoleVerdict) -> &'static str {
    match v {
        RoleVerdict::Ok => "ok",
        RoleVerdict::Warning => "warning",
        RoleVerdict::Fail => "FAIL",
    }
}

/// A target's check: its length and hashes match, or not.
pub fn target(verified: bool) -> &'static str {
    role(if verified {
        RoleVerdict::Ok
    } else {
        RoleVerdict::Fail
    })
}

/// What one engine made of the repository.
pub fn engine(v: EngineVerdict) -> &'static str {
    match v {
        EngineVerdict::Accepted => "accepted",
        EngineVerdict::Rejected => "rejected",
        EngineVerdict::Unfinished => "unfinished",
    }
}

/// What EC2 says of an AMI in use: `available`, `DEPRECATED since <date>`, `GONE`,
/// `FOREIGN OWNER <account>`, or `not Bottlerocket`; `-` when EC2 was not asked.
pub fn image(image: Option<&LaunchImage>) -> String {
    match image {
        None => "-".to_owned(),
        Some(LaunchImage::Bottlerocket {
            deprecated_since: Some(t),
            ..
        }) => format!("DEPRECATED since {}", t.format("%Y-%m-%d")),
        Some(LaunchImage::Bottlerocket { .. }) => "available".to_owned(),
        Some(LaunchImage::ForeignOwner { owner, .. }) => format!("FOREIGN OWNER {owner}"),
        Some(LaunchImage::Other { .. }) => "not Bottlerocket".to_owned(),
        Some(LaunchImage::Missing) => "GONE".to_owned(),
    }
}

/// The command that checks a bundle offline, demanding its digest and (when there is one) its
/// anchor: what a reader of any output copies.
pub fn verify_command(bundle: &BundleRecord) -> String {
    let mut c = format!(
        "tufwatch evidence verify {}",
        crate::text::shell_word(&bundle.dir)
    );
    if let Some(sha) = &bundle.sha256 {
        c.push_str(&format!(" --sha256 {sha}"));
    }
    if let Some(root) = &bundle.trusted_root_sha512 {
        c.push_str(&format!(" --root-sha512 {root}"));
    }
    c
}

/// Whether a cluster has the update operator or Karpenter: `yes`, `no`, `NOT READ`.
pub fn presence(p: crate::cluster::Presence) -> &'static str {
    match p {
        crate::cluster::Presence::Installed => "yes",
        crate::cluster::Presence::NotInstalled => "no",
        crate::cluster::Presence::Unread => "NOT READ",
    }
}

/// A waiver's standing: `active`, `STALE`, `EXPIRED`.
pub fn waiver_status(s: crate::waiver::WaiverStatus) -> &'static str {
    match s {
        crate::waiver::WaiverStatus::Active => "active",
        crate::waiver::WaiverStatus::Stale => "STALE",
        crate::waiver::WaiverStatus::Expired => "EXPIRED",
    }
}

/// What waives a finding, in words: `waived by <owner>, expires <date>: <reason>`.
pub fn waived(w: &crate::report::Waived) -> String {
    format!(
        "waived by {}, expires {}: {}",
        w.owner,
        w.expires.format("%Y-%m-%d"),
        w.reason
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::VerificationResult;

    #[test]
    fn the_verify_command_quotes_the_directory() {
        let mut r = BundleRecord {
            dir: "evidence/2026-11-29".to_owned(),
            sha256: Some("ab".repeat(32)),
            files: 3,
            result: Some(VerificationResult::Passed),
            trusted_root_sha512: None,
            signed: false,
            repositories: Vec::new(),
            error: None,
        };
        assert_eq!(
            verify_command(&r),
            format!(
                "tufwatch evidence verify evidence/2026-11-29 --sha256 {}",
                "ab".repeat(32)
            )
        );
        r.dir = "it's here; rm -rf x".to_owned();
        r.sha256 = None;
        r.trusted_root_sha512 = Some("cd".to_owned());
        assert_eq!(
            verify_command(&r),
            "tufwatch evidence verify 'it'\\''s here; rm -rf x' --root-sha512 cd"
        );
    }
}
