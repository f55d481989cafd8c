//! The presenters: a report in each output format, from the report's model only (`report`,
//! `job::JobReport`), one file per format, in one vocabulary (`words.rs`): text and Markdown (`sections.rs`, which lays out the
//! tables once for both), the text of one repository (`human.rs`), HTML (`html.rs`, its charts
//! in `charts.rs`), Prometheus (`prometheus.rs`), and JSON (here). Then written to files
//! atomically (a complete new file or the old one, never a mix of two runs).

pub mod charts;
pub mod digest;
pub mod html;
pub mod human;
pub mod prometheus;
pub mod sections;
pub mod words;

use crate::config::OutputFormat;
use crate::error::{Error, Result};
use crate::job::JobReport;
use html::Made;
use std::path::{Path, PathBuf};

/// Why a page could not be made.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// A chart could not be drawn.
    #[error("a chart could not be drawn: {0}")]
    Chart(String),
    /// The page's template could not be filled.
    #[error("the page could not be made: {0}")]
    Template(askama::Error),
}

/// Largest metrics file read back for its last success (tufwatch's own are a few kB).
const MAX_METRICS: u64 = 1 << 20;

/// Render a report in one format; `made` says what made it (the HTML page shows it), and
/// `last_success` is the metrics' last successful run before this one.
pub fn render(
    report: &JobReport,
    format: OutputFormat,
    last_success: Option<f64>,
    made: &Made,
) -> Result<String> {
    Ok(match format {
        OutputFormat::Html => html::render(report, made).map_err(|e| Error::Invalid {
            what: "HTML report",
            path: "-".to_owned(),
            message: e.to_string(),
        })?,
        OutputFormat::Human => sections::text(&sections::sections(report)),
        // The nightly job's Markdown is its digest: what changed, and the verdict.
        OutputFormat::Markdown => match &report.changes {
            Some(c) => sections::markdown(&sections::digest(report, c)),
            None => sections::markdown(&sections::sections(report)),
        },
        OutputFormat::Prometheus => prometheus::render(report, last_success),
        OutputFormat::Json => json_text(report)? + "\n",
    })
}

/// A value as pretty JSON.
pub fn json_text<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string_pretty(value).map_err(|e| Error::Invalid {
        what: "report",
        path: "-".to_owned(),
        message: e.to_string(),
    })
}

/// Write each format to its file in `dir` (`report.txt`, `report.json`, `report.md`,
/// `tufwatch.prom`, `report.html`), making `dir` when missing. Every file is staged before any
/// is renamed into place: a disk that fills leaves the previous set of files. Gives the files
/// written.
pub fn write_dir(
    report: &JobReport,
    formats: &[OutputFormat],
    dir: &Path,
    made: &Made,
) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).map_err(|source| Error::Write {
        what: "output directory",
        path: dir.to_owned(),
        source,
    })?;
    crate::atomic::sweep(dir);
    let mut staged = Vec::new();
    for f in formats {
        let path = dir.join(f.file_name());
        let text = file_text(report, *f, &path, made)?;
        let s = crate::atomic::stage(&path, text.as_bytes(), Some(0o644))
            .map_err(write_error(&path))?;
        staged.push((path, s));
    }
    let mut written = Vec::new();
    for (path, s) in staged {
        s.commit().map_err(write_error(&path))?;
        written.push(path);
    }
    Ok(written)
}

/// Write the report in one format to `path`, atomically: the file is replaced only by a
/// complete new one, and what killed runs left beside it is swept.
pub fn write_file(
    report: &JobReport,
    format: OutputFormat,
    path: &Path,
    made: &Made,
) -> Result<()> {
    let text = file_text(report, format, path, made)?;
    write_text(path, &text)
}

/// A report's error writing `path`.
fn write_error(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Write {
        what: "report",
        path: path.to_owned(),
        source,
    }
}

/// The report in one format as the file at `path` holds it (the metrics carry the last
/// success of the file they replace); a `path` that is not a regular file is refused.
fn file_text(report: &JobReport, format: OutputFormat, path: &Path, made: &Made) -> Result<String> {
    crate::atomic::replaceable(path).map_err(write_error(path))?;
    let last_success = match format {
        OutputFormat::Prometheus => crate::source::read_limited(path, MAX_METRICS, "metrics")
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|t| prometheus::last_success_in(&t)),
        _ => None,
    };
    render(report, format, last_success, made)
}

/// Write a report's text to `path` atomically (a complete new file or the old one), readable by
/// others (node_exporter reads the metrics as its own user), making its directory when missing.
pub fn write_text(path: &Path, text: &str) -> Result<()> {
    let dir = crate::atomic::parent(path);
    std::fs::create_dir_all(&dir).map_err(|source| Error::Write {
        what: "output directory",
        path: dir.clone(),
        source,
    })?;
    crate::atomic::sweep(&dir);
    crate::atomic::write(path, text.as_bytes(), Some(0o644)).map_err(write_error(path))
}
