//! Waivers: findings a team has accepted, each with a reason, an owner and an expiry date
//! (`[[waiver]]` in the job's configuration, or in a file of its own).
//!
//! A waiver names a finding's code and, optionally, what the finding is about: variant,
//! architecture, region, account, cluster, node or AMI, each exactly or as a glob (`*` any run
//! of characters, `?` one). A finding it matches is still shown in every format, marked waived,
//! and does not fail the run. A waiver past its expiry waives nothing and is itself an error
//! (`waiver_expired`); one that matched nothing for [`STALE_AFTER_DAYS`] days is a warning
//! (`waiver_stale`, judged with the job's history).
//!
//! Waivers never silence the repository's verification (signatures, rollback, expiry, hashes:
//! every `trust` finding), nor a part of the job that could not be read: such a waiver is
//! refused when the configuration is read.

use crate::report::{Code, Finding, Subject, Waived};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// Days without a match after which a waiver is stale.
pub const STALE_AFTER_DAYS: i64 = 30;

/// Why a waiver is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("waiver {index} ({code}): {message}")]
pub struct WaiverError {
    /// Its place among the waivers, from 1.
    pub index: usize,
    /// Its code, as written.
    pub code: String,
    /// What is wrong.
    pub message: String,
}

/// A `[[waiver]]` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WaiverEntry {
    /// The finding's code (`ssm_missing`, `nodes_behind`, ...).
    pub code: String,
    /// Match on the variant.
    pub variant: Option<String>,
    /// Match on the architecture (`x86_64`, `aarch64`).
    pub arch: Option<String>,
    /// Match on the region.
    pub region: Option<String>,
    /// Match on the account.
    pub account: Option<String>,
    /// Match on the cluster.
    pub cluster: Option<String>,
    /// Match on the node's name (an instance id for EC2).
    pub node: Option<String>,
    /// Match on the AMI.
    pub ami: Option<String>,
    /// Why the finding is accepted.
    pub reason: String,
    /// Who answers for it.
    pub owner: String,
    /// The day it stops waiving (`2027-03-31`, UTC), or a moment (RFC 3339).
    pub expires: Expiry,
}

/// An expiry as TOML writes it: a date or date-time value, or a string.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Expiry {
    /// `expires = 2027-03-31`.
    Toml(toml::value::Datetime),
    /// `expires = "2027-03-31"`.
    Text(String),
}

/// What a waiver can match on, in the order a waiver's name lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Field {
    Variant,
    Arch,
    Region,
    Account,
    Cluster,
    Node,
    Ami,
}

impl Field {
    fn as_str(self) -> &'static str {
        match self {
            Field::Variant => "variant",
            Field::Arch => "arch",
            Field::Region => "region",
            Field::Account => "account",
            Field::Cluster => "cluster",
            Field::Node => "node",
            Field::Ami => "ami",
        }
    }

    fn of(self, s: &Subject) -> Option<&str> {
        match self {
            Field::Variant => s.variant.as_deref(),
            Field::Arch => s.arch.as_deref(),
            Field::Region => s.region.as_deref(),
            Field::Account => s.account.as_deref(),
            Field::Cluster => s.cluster.as_deref(),
            Field::Node => s.node.as_deref(),
            Field::Ami => s.ami.as_deref(),
        }
    }
}

/// The fields findings of a code are about: what a waiver of that code can match on.
fn fields_of(code: Code) -> &'static [Field] {
    use Field::*;
    match code {
        Code::SsmBehind | Code::SsmUnsigned | Code::SsmMissing => &[Variant, Arch, Region],
        Code::SsmBadImage => &[Variant, Arch, Region, Ami],
        Code::AmiMissing | Code::AmiDeprecated | Code::AmiForeignOwner => &[Region, Account, Ami],
        Code::StaleAmi => &[Variant, Arch, Region, Account, Ami],
        Code::StaleLaunchPath => &[Variant, Arch, Region, Account, Cluster, Ami],
        // Node findings are waived node by node.
        _ => &[Variant, Arch, Region, Account, Cluster, Node, Ami],
    }
}

/// One waiver, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiver {
    /// The code it waives.
    pub code: Code,
    matchers: Vec<(Field, String)>,
    /// Why.
    pub reason: String,
    /// Who answers for it.
    pub owner: String,
    /// When it stops waiving.
    pub expires: DateTime<Utc>,
}

impl Waiver {
    /// Check one entry (`index` from 1, for the error).
    pub fn parse(index: usize, e: &WaiverEntry) -> Result<Waiver, WaiverError> {
        let refuse = |message: String| WaiverError {
            index,
            code: e.code.clone(),
            message,
        };
        let code = Code::parse(&e.code)
            .ok_or_else(|| refuse(format!("{:?} is not a finding's code", e.code)))?;
        if !code.waivable() {
            return Err(refuse(refusal(code)));
        }
        let mut matchers = Vec::new();
        for (field, value) in [
            (Field::Variant, &e.variant),
            (Field::Arch, &e.arch),
            (Field::Region, &e.region),
            (Field::Account, &e.account),
            (Field::Cluster, &e.cluster),
            (Field::Node, &e.node),
            (Field::Ami, &e.ami),
        ] {
            let Some(pattern) = value else { continue };
            if pattern.is_empty() {
                return Err(refuse(format!("{} is empty", field.as_str())));
            }
            if !fields_of(code).contains(&field) {
                return Err(refuse(format!(
                    "{} findings are not about a {}, so this waiver would never match; they can be matched on {}",
                    code.as_str(),
                    field.as_str(),
                    names(fields_of(code))
                )));
            }
            matchers.push((field, pattern.clone()));
        }
        for (what, text) in [("reason", &e.reason), ("owner", &e.owner)] {
            if text.trim().is_empty() {
                return Err(refuse(format!("{what} is empty: say it")));
            }
        }
        Ok(Waiver {
            code,
            matchers,
            reason: e.reason.trim().to_owned(),
            owner: e.owner.trim().to_owned(),
            expires: expiry(&e.expires).map_err(refuse)?,
        })
    }

    /// Its name: the code and what it matches (`nodes_behind cluster=batch-*`), which keys its
    /// history.
    pub fn name(&self) -> String {
        let mut name = self.code.as_str().to_owned();
        for (field, pattern) in &self.matchers {
            name.push_str(&format!(" {}={pattern}", field.as_str()));
        }
        name
    }

    /// Whether it is past its expiry at `at`.
    pub fn expired(&self, at: DateTime<Utc>) -> bool {
        at >= self.expires
    }

    /// Whether it matches a finding of `code` about `subject`: the code, and every field it
    /// names present and matching.
    pub fn matches(&self, code: Code, subject: &Subject) -> bool {
        code == self.code
            && self
                .matchers
                .iter()
                .all(|(field, pattern)| field.of(subject).is_some_and(|v| glob(pattern, v)))
    }

    /// What a finding it waives carries.
    pub fn waived(&self) -> Waived {
        Waived {
            waiver: self.name(),
            reason: self.reason.clone(),
            owner: self.owner.clone(),
            expires: self.expires.date_naive(),
        }
    }
}

/// Why a code cannot be waived.
fn refusal(code: Code) -> String {
    if code.means_incomplete() {
        format!(
            "{} means a part of the job could not be read, which leaves no verdict to waive; take that part out of the configuration instead",
            code.as_str()
        )
    } else if matches!(code, Code::WaiverExpired | Code::WaiverStale) {
        format!(
            "{} is about waivers themselves: renew or remove the waiver",
            code.as_str()
        )
    } else if matches!(code, Code::SsmUnsigned | Code::AmiForeignOwner) {
        format!(
            "{} is a sign of an attack (an image the repository did not sign, or a lookalike of another owner's), which no waiver can silence",
            code.as_str()
        )
    } else {
        format!(
            "{} is the repository's verification (trust), which no waiver can silence: a finding of it means the update repository cannot be trusted",
            code.as_str()
        )
    }
}

fn names(fields: &[Field]) -> String {
    fields
        .iter()
        .map(|f| f.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// An expiry: a date (the day it stops waiving, 00:00 UTC) or an RFC 3339 moment.
fn expiry(e: &Expiry) -> Result<DateTime<Utc>, String> {
    let text = match e {
        Expiry::Toml(d) => d.to_string(),
        Expiry::Text(t) => t.trim().to_owned(),
    };
    if let Ok(day) = NaiveDate::parse_from_str(&text, "%Y-%m-%d") {
        return Ok(day.and_time(chrono::NaiveTime::MIN).and_utc());
    }
    DateTime::parse_from_rfc3339(&text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| format!("expires {text:?} is not a date (2027-03-31) nor an RFC 3339 time"))
}

/// Whether `text` matches `pattern`: `*` any run of characters, `?` one, anything else itself.
/// Iterative, with one backtrack point: linear in practice, never exponential.
fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(&c) if c == '?' || c == t[ti] => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// The job's waivers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Waivers {
    list: Vec<Waiver>,
}

impl Waivers {
    /// Check every entry; the first refused one is the error. Two waivers of the same code
    /// and matches are refused: the second would never waive anything.
    pub fn parse(entries: &[WaiverEntry]) -> Result<Waivers, WaiverError> {
        let mut waivers = Waivers::default();
        for (i, e) in entries.iter().enumerate() {
            waivers.add(Waiver::parse(i + 1, e)?, i + 1, "")?;
        }
        Ok(waivers)
    }

    /// Add the waivers of another source (a waivers file) after these.
    pub fn extend(&mut self, more: Waivers, theirs: &str) -> Result<(), WaiverError> {
        for (i, w) in more.list.into_iter().enumerate() {
            self.add(w, i + 1, theirs)?;
        }
        Ok(())
    }

    /// Add one waiver (`index` from 1 in its source), unless one of the same name is there.
    fn add(&mut self, w: Waiver, index: usize, source: &str) -> Result<(), WaiverError> {
        if let Some(j) = self.list.iter().position(|x| x.name() == w.name()) {
            return Err(WaiverError {
                index,
                code: w.code.as_str().to_owned(),
                message: format!(
                    "matches what waiver {}{source} matches ({}), so it would never waive anything: keep one",
                    j + 1,
                    w.name()
                ),
            });
        }
        self.list.push(w);
        Ok(())
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The waiver in force at `at` that waives a finding of `code` about `subject`: the first
    /// that matches, in the order written.
    pub fn waive(&self, code: Code, subject: &Subject, at: DateTime<Utc>) -> Option<Waived> {
        self.list
            .iter()
            .find(|w| !w.expired(at) && w.matches(code, subject))
            .map(Waiver::waived)
    }

    /// Mark each finding a waiver in force waives (those not waived already).
    pub fn apply(&self, findings: &mut [Finding], at: DateTime<Utc>) {
        for f in findings.iter_mut().filter(|f| f.waived.is_none()) {
            f.waived = self.waive(f.code, f.subject(), at).map(Box::new);
        }
    }

    /// Each waiver, what it waived among `findings`, and whether it is expired at `at`.
    pub fn uses(&self, findings: &[&Finding], at: DateTime<Utc>) -> Vec<WaiverUse> {
        self.list
            .iter()
            .map(|w| {
                let name = w.name();
                WaiverUse {
                    matched: findings
                        .iter()
                        .filter(|f| f.waived.as_ref().is_some_and(|x| x.waiver == name))
                        .count(),
                    waiver: name,
                    code: w.code,
                    reason: w.reason.clone(),
                    owner: w.owner.clone(),
                    expires: w.expires,
                    status: if w.expired(at) {
                        WaiverStatus::Expired
                    } else {
                        WaiverStatus::Active
                    },
                    last_matched: None,
                }
            })
            .collect()
    }
}

/// Whether a waiver waives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WaiverStatus {
    /// In force.
    Active,
    /// In force, and it has matched nothing for [`STALE_AFTER_DAYS`] days.
    Stale,
    /// Past its expiry: it waives nothing.
    Expired,
}

impl WaiverStatus {
    /// Every status, in order.
    pub const ALL: [WaiverStatus; 3] = [
        WaiverStatus::Active,
        WaiverStatus::Stale,
        WaiverStatus::Expired,
    ];

    /// The serialized name.
    pub fn as_str(self) -> &'static str {
        match self {
            WaiverStatus::Active => "active",
            WaiverStatus::Stale => "stale",
            WaiverStatus::Expired => "expired",
        }
    }
}

/// One waiver, as the report lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaiverUse {
    /// Its name: the code and what it matches.
    pub waiver: String,
    /// The code it waives.
    pub code: Code,
    /// Why.
    pub reason: String,
    /// Who answers for it.
    pub owner: String,
    /// When it stops waiving.
    pub expires: DateTime<Utc>,
    /// Findings it waived in this run.
    pub matched: usize,
    /// In force, stale or expired.
    pub status: WaiverStatus,
    /// When it last matched a finding, by the job's history.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_matched: Option<DateTime<Utc>>,
}

impl WaiverUse {
    /// Its finding: an expired waiver is an error, a stale one a warning; either in the
    /// category of the code it waives.
    pub fn finding(&self) -> Option<Finding> {
        let f = match self.status {
            WaiverStatus::Active => return None,
            WaiverStatus::Expired => Finding::error(
                Code::WaiverExpired,
                format!(
                    "waiver {} (owner {}) expired on {}: renew it with a new date, or fix what it waived",
                    self.waiver,
                    self.owner,
                    self.expires.format("%Y-%m-%d")
                ),
            ),
            WaiverStatus::Stale => Finding::warning(
                Code::WaiverStale,
                format!(
                    "waiver {} (owner {}) has matched nothing for {STALE_AFTER_DAYS} days{}: remove it",
                    self.waiver,
                    self.owner,
                    self.last_matched
                        .map(|t| format!(" (last on {})", t.format("%Y-%m-%d")))
                        .unwrap_or_default()
                ),
            ),
        };
        Some(f.category(self.code.category()).target(self.waiver.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        for (p, t, m) in [
            ("ip-10-*", "ip-10-0-1-2.ec2.internal", true),
            ("ip-10-*", "ip-11-0", false),
            ("*-nvidia", "aws-k8s-1.31-nvidia", true),
            ("us-gov-*", "us-gov-west-1", true),
            ("us-????-1", "us-west-1", true),
            ("us-????-1", "us-west-12", false),
            ("a*b*c", "aXbYbZc", true),
            ("a*b*c", "aXbYbZ", false),
            ("exact", "exact", true),
            ("exact", "exactly", false),
            ("*", "", true),
            ("", "x", false),
        ] {
            assert_eq!(glob(p, t), m, "{p} {t}");
        }
        // Many stars against a long text that never matches: quick, not exponential.
        let long = "a".repeat(10_000);
        assert!(!glob("*a*a*a*a*a*a*a*a*b", &long));
    }
}
