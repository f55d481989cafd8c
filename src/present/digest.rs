//! What changed since the last run, in words: the lines every format leads with, the standing
//! of the findings in one line, and the webhook's message (JSON, with a Slack-compatible
//! `text`).

use super::words;
use crate::job::changes::{Changes, FindingRecord, NodeChanges};
use crate::job::JobReport;
use crate::report::{Category, Finding, Severity, Verdict};
use serde::Serialize;

fn time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// The changes as lines: the run compared with, then each change; or why there is nothing to
/// compare.
pub fn change_lines(c: &Changes) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(why) = &c.record_unreadable {
        out.push(format!(
            "the last run's record could not be read ({why}): the changes start again with this run"
        ));
    }
    let Some(since) = &c.since else {
        if c.record_unreadable.is_none() {
            out.push("the first run this job keeps: the next run says what changed".to_owned());
        }
        return out;
    };
    let head = format!(
        "since the run checked at {} ({})",
        time(since.reference_time),
        words::verdict(since.verdict)
    );
    if c.is_empty() {
        out.push(format!("nothing changed {head}"));
        return out;
    }
    out.push(format!("{head}:"));
    for r in &c.signed {
        out.push(format!(
            "new release signed: {} {} {}",
            r.variant, r.arch, r.version
        ));
    }
    for d in &c.due {
        out.push(format!(
            "release due: {} {} {} → {}",
            d.variant,
            d.arch,
            d.from.as_deref().unwrap_or("none"),
            d.to.as_deref().unwrap_or("none")
        ));
    }
    for s in &c.ssm {
        out.push(format!(
            "SSM latest: {} {} in {} {} → {}{}",
            s.variant,
            s.arch,
            s.region,
            s.from.as_deref().unwrap_or("none"),
            s.to.as_deref().unwrap_or("none"),
            s.image_id
                .as_deref()
                .map(|i| format!(" ({i})"))
                .unwrap_or_default()
        ));
    }
    out.extend(nodes_line("fell behind", &c.fell_behind));
    out.extend(nodes_line("caught up", &c.caught_up));
    for f in &c.new_findings {
        out.push(format!("new {}", finding_words(f)));
    }
    for f in &c.resolved_findings {
        out.push(format!("resolved {}", finding_words(f)));
    }
    out
}

fn nodes_line(what: &str, n: &NodeChanges) -> Option<String> {
    (n.count > 0).then(|| {
        let more = n.count.saturating_sub(n.named.len());
        let tail = if more > 0 {
            format!(", and {more} more")
        } else {
            String::new()
        };
        format!("{} node(s) {what}: {}{tail}", n.count, n.named.join(", "))
    })
}

fn finding_words(f: &FindingRecord) -> String {
    let waived = f
        .waiver
        .as_ref()
        .map(|w| format!(", waived by {w}"))
        .unwrap_or_default();
    let repo = f
        .repository
        .as_ref()
        .map(|r| format!("{r}: "))
        .unwrap_or_default();
    format!(
        "{} {} ({}{waived}): {repo}{}",
        f.severity.as_str(),
        f.code.as_str(),
        f.category.as_str(),
        f.message
    )
}

/// How the findings stand, in one line: how many fail the run, are waived, do not fail it
/// under `fail_on`, are notes.
pub fn standing(r: &JobReport) -> String {
    let all = r.all_findings();
    let failing = all.iter().filter(|f| fails(r, f)).count();
    let waived = all.iter().filter(|f| f.waived.is_some()).count();
    let outside = all.iter().filter(|f| f.outside(&r.fail_on)).count();
    let notes = all.iter().filter(|f| f.severity == Severity::Note).count();
    let mut parts = vec![format!("{failing} finding(s) fail the run")];
    if waived > 0 {
        parts.push(format!("{waived} waived"));
    }
    if outside > 0 {
        parts.push(format!(
            "{outside} error(s) outside fail_on ({})",
            fail_on_words(&r.fail_on)
        ));
    }
    if notes > 0 {
        parts.push(format!("{notes} note(s) within a grace period"));
    }
    parts.join("; ")
}

/// How many waived findings the digest names (the JSON has them all).
pub const WAIVED_LISTED: usize = 20;

/// The waived findings, one line each with the waiver's owner, date and reason: even the
/// digest shows what is waived, and by whom.
pub fn waived_lines(r: &JobReport) -> Vec<String> {
    let all: Vec<&Finding> = r
        .all_findings()
        .into_iter()
        .filter(|f| f.waived.is_some())
        .collect();
    let mut out: Vec<String> = all
        .iter()
        .take(WAIVED_LISTED)
        .filter_map(|f| {
            let w = f.waived.as_deref()?;
            Some(format!(
                "{}: {}; {}",
                f.code.as_str(),
                f.message,
                words::waived(w)
            ))
        })
        .collect();
    if all.len() > WAIVED_LISTED {
        out.push(format!("and {} more", all.len() - WAIVED_LISTED));
    }
    out
}

/// Whether a finding fails the run under the report's `fail_on`.
pub fn fails(r: &JobReport, f: &Finding) -> bool {
    f.fails_under(&r.fail_on)
}

/// `trust, release`: the categories that fail the run.
pub fn fail_on_words(fail_on: &[Category]) -> String {
    let mut names: Vec<&str> = vec![Category::Trust.as_str()];
    names.extend(
        fail_on
            .iter()
            .filter(|c| **c != Category::Trust)
            .map(|c| c.as_str()),
    );
    names.join(", ")
}

/// The webhook's message: the verdict, the changes, and a `text` a Slack incoming webhook (and
/// most chat tools) shows as it is.
#[derive(Debug, Serialize)]
pub struct WebhookMessage<'a> {
    /// A chat message: the verdict, the standing, the changes.
    pub text: String,
    /// `tufwatch <version>`.
    pub tool: &'a str,
    /// The run's verdict.
    pub verdict: Verdict,
    /// Its exit code.
    pub exit_code: i32,
    /// Its reference time.
    pub reference_time: chrono::DateTime<chrono::Utc>,
    /// When it finished.
    pub finished_at: chrono::DateTime<chrono::Utc>,
    /// How the findings stand.
    pub standing: String,
    /// What changed since the last run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changes: Option<&'a Changes>,
}

/// A chat message's text with nothing a name or a value in it can make the chat act on: Slack
/// reads `<...>` as a link or a mention (`<!channel>` in a node's name would page a channel),
/// so its three escaped characters are escaped; Mattermost and Rocket.Chat act on `@here`,
/// `@channel` and `@all`, and every chat links a bare URL: a word joiner (U+2060, which shows
/// as nothing) after each `@` and inside each `://` and `www.` leaves them words.
fn defused(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('@', "@\u{2060}")
        .replace("://", ":\u{2060}//")
        .replace("www.", "www\u{2060}.")
}

/// The webhook's message of a report, as JSON bytes.
pub fn webhook_message(r: &JobReport) -> Vec<u8> {
    let standing = standing(r);
    let mut text = format!(
        "tufwatch: {} (exit {}): {standing}",
        words::verdict(r.verdict),
        r.exit_code()
    );
    for line in r.changes.iter().flat_map(change_lines) {
        text.push_str("\n- ");
        text.push_str(&crate::text::clean(&line));
    }
    let text = defused(&text);
    let message = WebhookMessage {
        text,
        tool: &r.tool,
        verdict: r.verdict,
        exit_code: r.exit_code(),
        reference_time: r.reference_time,
        finished_at: r.finished_at,
        standing,
        changes: r.changes.as_ref(),
    };
    serde_json::to_vec(&message).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn chat_text_cannot_mention_or_link() {
        let t = super::defused("node <!channel> @here https://evil.example www.evil.example & x");
        assert!(!t.contains('<') && !t.contains("@here") && !t.contains("https://"));
        assert!(!t.contains("www.e") && t.contains("&amp;"));
    }
}
