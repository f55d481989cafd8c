//! What `ssm`, `nodes` and `report` share: the SSM flags, the policy flags, and writing a job
//! report in the formats asked.

use super::args::parse_duration;
use super::repo::{print_json, Common};
use crate::config::OutputFormat;
use crate::error::{Error, Result};
use crate::job::{JobReport, RepoMaker, RepoSpec, SsmSource, SsmSpec};
use crate::report::html::Made;
use crate::report::{html, prometheus, sections};
use crate::source::bottlerocket::Arch;
use crate::ssm::live::LiveOptions;
use chrono::Duration;
use clap::Args;
use std::path::{Path, PathBuf};

/// Where SSM values come from, and how to reach the API.
#[derive(Debug, Args)]
pub struct SsmArgs {
    /// Read SSM values from FILE instead of the AWS API: the JSON that `aws ssm
    /// get-parameters-by-path --path /aws/service/bottlerocket --recursive` prints (repeatable;
    /// up to 512 MiB each). From the API, an answer above 1 MiB is refused.
    #[arg(long, value_name = "FILE")]
    pub ssm_file: Vec<PathBuf>,

    /// AWS region to read (repeatable) [default: the AWS configuration's region; with
    /// --ssm-file, every region in the files].
    #[arg(long = "region", value_name = "REGION")]
    pub regions: Vec<String>,

    /// AWS profile for credentials and the default region [default: AWS_PROFILE, or default].
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,

    /// SSM endpoint, e.g. a local test endpoint [default: AWS_ENDPOINT_URL_SSM, or AWS's].
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,

    /// How many SSM calls may run at once, across regions.
    #[arg(long, value_name = "N", default_value = "8")]
    pub ssm_concurrency: usize,

    /// Attempts per SSM call (throttling and server errors are retried with backoff).
    #[arg(long, value_name = "N", default_value = "5")]
    pub ssm_max_attempts: u32,

    /// The first retry's backoff; each next one doubles, with jitter, up to 20s.
    #[arg(long, value_name = "DURATION", default_value = "500ms", value_parser = parse_duration)]
    pub ssm_backoff: Duration,
}

impl SsmArgs {
    /// The SSM part of a job: files when given, else the API.
    pub fn spec(
        &self,
        variants: Vec<String>,
        archs: Vec<Arch>,
        cross_check: bool,
        timeout_secs: u64,
        deadline: std::time::Duration,
    ) -> Result<SsmSpec> {
        let mut regions: Vec<String> = Vec::new();
        for r in &self.regions {
            crate::ssm::check_region(r)?;
            if !regions.contains(r) {
                regions.push(r.clone());
            }
        }
        let source = if self.ssm_file.is_empty() {
            SsmSource::Live(LiveOptions {
                profile: self.profile.clone(),
                endpoint_url: self.endpoint_url.clone(),
                concurrency: self.ssm_concurrency.clamp(1, 64),
                max_attempts: self.ssm_max_attempts.clamp(1, 20),
                initial_backoff: self
                    .ssm_backoff
                    .to_std()
                    .unwrap_or(std::time::Duration::from_millis(500)),
                attempt_timeout: std::time::Duration::from_secs(timeout_secs.clamp(1, 3600)),
                deadline,
            })
        } else {
            SsmSource::Files(self.ssm_file.clone())
        };
        Ok(SsmSpec {
            source,
            regions,
            variants,
            archs,
            cross_check,
        })
    }
}

/// When nodes behind count as findings.
#[derive(Debug, Args)]
pub struct PolicyArgs {
    /// Only nodes more than N releases behind the due release are findings.
    #[arg(long, value_name = "N")]
    pub max_releases_behind: Option<u32>,

    /// Only nodes behind a release due for more than DAYS days are findings.
    #[arg(long, value_name = "DAYS")]
    pub max_days_behind: Option<f64>,
}

impl PolicyArgs {
    /// The policy.
    pub fn policy(&self) -> Result<crate::fleet::Policy> {
        let policy = crate::fleet::Policy {
            max_releases_behind: self.max_releases_behind,
            max_days_behind: self.max_days_behind,
        };
        policy.check().map_err(|message| Error::Argument {
            flag: "--max-days-behind",
            message,
        })?;
        Ok(policy)
    }
}

/// Parse `--variant` and `--arch` lists.
pub fn variants_and_archs(
    variants: &[String],
    archs: &[String],
) -> Result<(Vec<String>, Vec<Arch>)> {
    for v in variants {
        crate::source::bottlerocket::check_variant(v)?;
    }
    let mut parsed = Vec::new();
    for a in archs {
        let a = Arch::parse(a)?;
        if !parsed.contains(&a) {
            parsed.push(a);
        }
    }
    Ok((variants.to_vec(), parsed))
}

/// A maker of Bottlerocket repositories below the common settings' base.
pub fn bottlerocket_repos(common: Common) -> RepoMaker {
    Box::new(move |variant, arch| {
        Ok(RepoSpec {
            name: format!("{variant}/{arch}"),
            options: common.bottlerocket(variant, arch)?,
            root: common.root.clone(),
        })
    })
}

/// Render a report in one format; `made` says what made it (the HTML page shows it).
pub fn render(
    report: &JobReport,
    format: OutputFormat,
    last_success: Option<f64>,
    made: &Made,
) -> Result<String> {
    Ok(match format {
        OutputFormat::Html => html::render(report, made).map_err(|message| Error::Invalid {
            what: "HTML report",
            path: "-".to_owned(),
            message,
        })?,
        OutputFormat::Human => sections::text(&sections::sections(report)),
        OutputFormat::Markdown => sections::markdown(&sections::sections(report)),
        OutputFormat::Prometheus => prometheus::render(report, last_success),
        OutputFormat::Json => {
            let mut text = serde_json::to_string_pretty(report).map_err(|e| Error::Invalid {
                what: "report",
                path: "-".to_owned(),
                message: e.to_string(),
            })?;
            text.push('\n');
            text
        }
    })
}

/// Print the report on standard output in each format, or, with `out_dir`, write each to its
/// file there (`report.txt`, `report.json`, `report.md`, `tufwatch.prom`, `report.html`),
/// atomically: a file is replaced only by a complete new one.
pub fn emit(
    report: &JobReport,
    formats: &[OutputFormat],
    out_dir: Option<&Path>,
    made: &Made,
) -> Result<()> {
    let formats = if formats.is_empty() {
        &[OutputFormat::Human][..]
    } else {
        formats
    };
    match out_dir {
        None => {
            // JSON goes out as it is made (a fleet report can be tens of MB); the others are
            // rendered first, so that a rendering error is not a write error.
            let rendered = formats
                .iter()
                .map(|f| match f {
                    OutputFormat::Json => Ok(None),
                    _ => render(report, *f, None, made).map(Some),
                })
                .collect::<Result<Vec<Option<String>>>>()?;
            super::output::print_with(|out| {
                for text in &rendered {
                    match text {
                        Some(text) => out.write_all(text.as_bytes())?,
                        None => {
                            serde_json::to_writer_pretty(&mut *out, report)?;
                            out.write_all(b"\n")?;
                        }
                    }
                }
                Ok(())
            })
        }
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|source| Error::Write {
                what: "output directory",
                path: dir.to_owned(),
                source,
            })?;
            crate::atomic::sweep(dir);
            // Every file staged before any is renamed into place: a disk that fills leaves
            // the previous set of files, not a mix of two runs.
            let mut staged = Vec::new();
            for f in formats {
                let path = dir.join(f.file_name());
                let text = file_text(report, *f, &path, made)?;
                let s = crate::atomic::stage(&path, text.as_bytes(), Some(0o644))
                    .map_err(write_error(&path))?;
                staged.push((path, s));
            }
            for (path, s) in staged {
                s.commit().map_err(write_error(&path))?;
                super::output::note(format_args!("tufwatch: wrote {}", path.display()));
            }
            Ok(())
        }
    }
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
        // The metrics tufwatch wrote last time, a few kB (a larger file is not its own).
        OutputFormat::Prometheus => crate::source::read_limited(path, 1 << 20, "metrics")
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|t| prometheus::last_success_in(&t)),
        _ => None,
    };
    render(report, format, last_success, made)
}

/// Write a report's text to `path` atomically (a complete new file or the old one), readable by
/// others, making its directory when missing.
pub fn write_text(path: &Path, text: &str) -> Result<()> {
    let dir = crate::atomic::parent(path);
    std::fs::create_dir_all(&dir).map_err(|source| Error::Write {
        what: "output directory",
        path: dir.clone(),
        source,
    })?;
    crate::atomic::sweep(&dir);
    // Readable by others (node_exporter reads the metrics as its own user).
    crate::atomic::write(path, text.as_bytes(), Some(0o644)).map_err(write_error(path))?;
    super::output::note(format_args!("tufwatch: wrote {}", path.display()));
    Ok(())
}

/// Print a job's outcome; with JSON, a run that cannot make a report still prints one JSON
/// error document.
pub fn finish(result: Result<JobReport>, format: OutputFormat, made: &Made) -> Result<i32> {
    match result {
        Ok(report) => {
            emit(&report, &[format], None, made)?;
            Ok(report.exit_code())
        }
        Err(e) => {
            if format == OutputFormat::Json {
                // The run's own error is what to tell, even when stdout fails too.
                let _ = print_json(&crate::report::ErrorReport::of(&e));
            }
            Err(e)
        }
    }
}
