//! `tufwatch report`: the nightly job.

use super::args::{parse_duration, parse_time};
use super::job::{bottlerocket_repos, emit, variants_and_archs, write_file};
use super::repo::print_json;
use super::repo::{resolve_common, resolve_settings, CommonArgs};
use crate::config::{Config, OutputFormat};
use crate::error::{Error, Result};
use crate::job::{Inventory, JobSpec, RepoSpec, SsmSource, SsmSpec};
use crate::report::html::Made;
use crate::report::{Code, Finding};
use crate::source::bottlerocket::DEFAULT_REPO_BASE;
use crate::source::location::parse_location;
use crate::source::pins::{parse_sha512_arg, TrustedRoot};
use crate::ssm::live::LiveOptions;
use chrono::{DateTime, Duration, Utc};
use clap::Args;
use std::path::PathBuf;

/// The nightly job: verify every repository, read the signed releases, cross-check SSM and judge
/// the fleet, in one run, with one report.
///
/// The configuration (TOML) names the repositories (Bottlerocket variants and architectures, or
/// explicit URLs), the trust anchor, the state directory, the SSM source and regions, the
/// inventories and the policy; docs/nightly.md describes every key. Repositories are verified
/// concurrently.
///
/// Formats: human (report.txt), json (report.json), markdown (report.md, for a chat message or
/// a CI step summary), prometheus (tufwatch.prom, for node_exporter's textfile collector), html
/// (report.html: one self-contained page with charts, for the team and the auditor). With
/// --out-dir (or [output] dir), each is written there atomically; with --out, the one format
/// asked is written to that file; otherwise printed.
///
/// Exit codes: 0 every check passed, 1 findings, 2 could not run.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    tufwatch report --config fixtures/demo.toml\n  \
    tufwatch report --config /etc/tufwatch/nightly.toml --format json --format prometheus --out-dir /var/lib/tufwatch\n  \
    tufwatch report --config nightly.toml --format markdown >> \"$GITHUB_STEP_SUMMARY\"\n  \
    tufwatch report --config nightly.toml --format html --out report.html\n  \
    tufwatch report --config nightly.toml --format html --out report.html --evidence evidence/$(date +%F)")]
pub struct ReportArgs {
    /// The job's configuration file (TOML, up to 1 MiB).
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,

    /// Output format (repeatable) [default: [output] formats, else human].
    #[arg(long = "format", value_enum, value_name = "FORMAT")]
    pub formats: Vec<OutputFormat>,

    /// Write each format to its file in DIR instead of printing it [default: [output] dir].
    #[arg(long, value_name = "DIR", conflicts_with = "out")]
    pub out_dir: Option<PathBuf>,

    /// Write the one format asked to FILE instead of printing it (atomically: a complete new
    /// file or the old one).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,

    /// Judge expiry and due releases as of this moment (RFC 3339) instead of now.
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub at: Option<DateTime<Utc>>,

    /// Verify at most N repositories at once.
    #[arg(long, value_name = "N", default_value = "32")]
    pub concurrency: usize,

    /// Seconds to wait for a connection, and for the next bytes of an answer.
    #[arg(long, value_name = "SECONDS", default_value = "30")]
    pub timeout: u64,

    /// The longest one repository's verification may take (its metadata, targets and manifest),
    /// and the longest the SSM reads may take: 30m, 2h.
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = parse_duration)]
    pub deadline: Duration,

    /// Never show progress bars.
    #[arg(long)]
    pub no_progress: bool,

    /// Also write the evidence bundle of this run into DIR (new, or empty), the one `evidence
    /// create --config` makes; the report then names the bundle, its digest and how to check it.
    /// Like `evidence create`, the run then starts from the trust anchor and neither reads nor
    /// writes the saved state, so that the bundle holds the whole chain of roots. A run that
    /// cannot finish writes no bundle (exit 2); the report is written all the same.
    #[arg(long, value_name = "DIR")]
    pub evidence: Option<PathBuf>,

    /// With --evidence: sign each statement as a DSSE envelope with this private key (PEM,
    /// Ed25519 or ECDSA P-256).
    #[arg(long, value_name = "FILE", requires = "evidence")]
    pub sign_key: Option<PathBuf>,
}

/// Run `report`; the result is the exit code.
pub async fn run(a: ReportArgs) -> Result<i32> {
    let result = async {
        let config = Config::read(&a.config)?;
        let formats = if a.formats.is_empty() {
            config.output.formats.clone()
        } else {
            a.formats.clone()
        };
        let out_dir = a.out_dir.clone().or_else(|| config.output.dir.clone());
        let one = match (&a.out, formats.as_slice()) {
            (None, _) => None,
            (Some(path), [format]) => Some((path.clone(), *format)),
            (Some(_), _) => {
                return Err(Error::Argument {
                    flag: "--out",
                    message: format!(
                        "writes one format to one file, and {} are asked: give one --format, or use --out-dir",
                        formats.len()
                    ),
                })
            }
        };
        match (&one, &out_dir) {
            (Some((path, _)), _) => super::args::output_file("--out", path)?,
            (None, Some(dir)) => {
                for f in &formats {
                    super::args::output_file("--out-dir", &dir.join(f.file_name()))?;
                }
            }
            (None, None) => {}
        }
        let made = Made {
            from: Some(a.config.display().to_string()),
        };
        // A bad key or an evidence directory that cannot take the bundle stops the run before
        // anything is verified.
        let key = super::bundle::signing_key(a.sign_key.as_deref())?;
        if let Some(dir) = &a.evidence {
            crate::evidence::check_out(dir, "--evidence")?;
            let outputs: Vec<PathBuf> = match (&one, &out_dir) {
                (Some((path, _)), _) => vec![path.clone()],
                (None, Some(d)) => std::iter::once(d.clone())
                    .chain(formats.iter().map(|f| d.join(f.file_name())))
                    .collect(),
                (None, None) => Vec::new(),
            };
            apart(dir, &outputs)?;
        }
        let mut spec = spec(&a, &config).await?;
        spec.evidence = a.evidence.is_some();
        let mut report = crate::job::run(spec).await?;
        if let Some(dir) = &a.evidence {
            let record = evidence_bundle(&mut report, dir, key.as_ref(), a.sign_key.as_deref())?;
            if let Some(error) = &record.error {
                super::output::note(format_args!(
                    "tufwatch: --evidence {}: no bundle written: {error}",
                    dir.display()
                ));
                // The report says it too, and its verdict (and exit code) count it.
                report.findings.push(
                    Finding::error(
                        Code::EvidenceNotWritten,
                        format!("no evidence bundle written in {}: {error}", record.dir),
                    )
                    .target(record.dir.clone()),
                );
                report.judge();
            }
            report.evidence_bundle = Some(record);
        }
        let written = match one {
            Some((path, format)) => write_file(&report, format, &path, &made),
            None if a.out.is_none() => emit(&report, &formats, out_dir.as_deref(), &made),
            None => Ok(()),
        };
        let bundle_written = report
            .evidence_bundle
            .as_ref()
            .is_some_and(|r| r.sha256.is_some());
        match (written, &a.evidence) {
            (Err(e), Some(dir)) if bundle_written => Err(super::bundle::withdraw(dir, e)),
            (written, _) => written.map(|()| report.exit_code()),
        }
    }
    .await;
    // A job asked for JSON on standard output still prints one JSON document when it cannot run.
    if let Err(e) = &result {
        if a.formats == [OutputFormat::Json] && a.out_dir.is_none() && a.out.is_none() {
            // The run's own error is what to tell, even when stdout fails too.
            let _ = print_json(&crate::report::ErrorReport::of(e));
        }
    }
    result
}

/// Refuse an evidence directory that is or holds an output of the report (the output
/// directory, or a file the report goes to): the report would land in the bundle, a file its
/// sums do not list, or the bundle where the report goes.
fn apart(evidence: &std::path::Path, outputs: &[PathBuf]) -> Result<()> {
    use crate::evidence::absolute;
    let bundle = absolute(evidence);
    for o in outputs {
        let o = absolute(o);
        if o.starts_with(&bundle) {
            return Err(Error::Argument {
                flag: "--evidence",
                message: format!(
                    "{} and the report's output {} overlap; give the bundle a directory of its own",
                    evidence.display(),
                    o.display()
                ),
            });
        }
    }
    Ok(())
}

/// Write the run's evidence bundle. A run that could not finish proves nothing: that is
/// recorded, and the report says why there is no bundle. A fault of this machine while writing
/// it (a full disk, a permission) stops the run (exit 2): no report, no metrics.
fn evidence_bundle(
    report: &mut crate::job::JobReport,
    dir: &std::path::Path,
    key: Option<&crate::evidence::dsse::SigningKey>,
    key_path: Option<&std::path::Path>,
) -> Result<crate::evidence::BundleRecord> {
    use crate::evidence::BundleRecord;
    if report.verdict == crate::report::Verdict::Incomplete {
        return Ok(BundleRecord::not_written(
            dir,
            "the run could not finish, and so proves nothing".to_owned(),
        ));
    }
    match super::bundle::write_job_bundle(report, dir, "--evidence", key, key_path) {
        Ok(record) => Ok(record),
        Err(e) if e.is_local_fault() => Err(e),
        Err(e) => {
            for r in &mut report.repositories {
                r.evidence_dir = None;
            }
            Ok(BundleRecord::not_written(dir, e.to_string()))
        }
    }
}

pub(super) async fn spec(a: &ReportArgs, config: &Config) -> Result<JobSpec> {
    for (i, r) in config.repositories.iter().enumerate() {
        // Names identify repositories in every format (Prometheus labels too): unique, and
        // apart from Bottlerocket's `variant/arch` names.
        if r.name.is_empty()
            || r.name.contains('/')
            || config.repositories[..i].iter().any(|o| o.name == r.name)
        {
            return Err(Error::Invalid {
                what: "configuration",
                path: a.config.display().to_string(),
                message: format!(
                    "repository[{i}].name {:?}: give each repository its own name, without '/'",
                    r.name
                ),
            });
        }
    }
    let policy = crate::fleet::Policy {
        max_releases_behind: config.policy.max_releases_behind,
        max_days_behind: config.policy.max_days_behind,
    };
    policy.check().map_err(|message| Error::Invalid {
        what: "configuration",
        path: a.config.display().to_string(),
        message: format!("policy.max_days_behind: {message}"),
    })?;
    let needs_bottlerocket_root = config.trust.root.is_none()
        && (config.bottlerocket.is_some() || config.repositories.iter().any(|r| r.root.is_none()));
    let common_args = CommonArgs {
        root: config.trust.root.clone(),
        root_sha512: config.trust.root_sha512.clone(),
        repo_base: config
            .bottlerocket
            .as_ref()
            .and_then(|b| b.repo_base.clone())
            .unwrap_or_else(|| DEFAULT_REPO_BASE.to_owned()),
        expiry_warning: match &config.policy.expiry_warning {
            Some(w) => parse_duration(w).map_err(|message| Error::Invalid {
                what: "configuration",
                path: a.config.display().to_string(),
                message: format!("policy.expiry_warning: {message}"),
            })?,
            None => Duration::days(3),
        },
        at: a.at,
        state_dir: config.trust.state_dir.clone(),
        no_state: config.trust.no_state,
        timeout: a.timeout,
        max_root_size: 1 << 20,
        max_timestamp_size: 1 << 20,
        max_snapshot_size: 1 << 20,
        max_targets_size: 10 << 20,
        deadline: a.deadline,
        no_progress: a.no_progress,
        engines: config.trust.engine.unwrap_or_default(),
        min_rate: 1024,
    };
    if config.bottlerocket.is_none() && config.repositories.is_empty() {
        return Err(Error::Invalid {
            what: "configuration",
            path: a.config.display().to_string(),
            message: "names no repository: add [bottlerocket] variants or a [[repository]]"
                .to_owned(),
        });
    }
    let common = if config.trust.root.is_some() || needs_bottlerocket_root {
        Some(resolve_common(&common_args)?)
    } else {
        // Every repository names its own root: the shared settings without a shared anchor.
        None
    };

    let mut repos = Vec::new();
    for r in &config.repositories {
        let root = match &r.root {
            Some(path) => {
                let expected = r
                    .root_sha512
                    .as_deref()
                    .map(|h| parse_sha512_arg("root_sha512", h))
                    .transpose()?;
                TrustedRoot::read(path, common_args.max_root_size)?
                    .pin(expected.as_deref(), None)?
            }
            None => match &common {
                Some(c) => c.root.clone(),
                None => {
                    return Err(Error::Invalid {
                        what: "configuration",
                        path: a.config.display().to_string(),
                        message: format!("repository {:?}: no root and no [trust] root", r.name),
                    })
                }
            },
        };
        let base = match &common {
            Some(c) => c.clone(),
            None => resolve_settings(&common_args, root.clone())?,
        };
        let options = base.options(
            parse_location("metadata_url", &r.metadata_url)?,
            parse_location("targets_url", &r.targets_url)?,
            None,
            None,
        );
        repos.push(RepoSpec {
            name: r.name.clone(),
            options,
            root,
        });
    }
    let derive_repo = match (&config.bottlerocket, &common) {
        (Some(b), Some(c)) => {
            let (variants, archs) = variants_and_archs(&b.variants, &b.archs)?;
            let archs = if archs.is_empty() {
                vec![
                    crate::source::bottlerocket::Arch::X86_64,
                    crate::source::bottlerocket::Arch::Aarch64,
                ]
            } else {
                archs
            };
            for v in &variants {
                for arch in &archs {
                    repos.push(RepoSpec {
                        name: format!("{v}/{arch}"),
                        options: c.bottlerocket(v, *arch)?,
                        root: c.root.clone(),
                    });
                }
            }
            Some(bottlerocket_repos(c.clone()))
        }
        _ => None,
    };

    let ssm = match &config.ssm {
        None => None,
        Some(s) => {
            let mut regions: Vec<String> = Vec::new();
            for r in &s.regions {
                crate::ssm::check_region(r)?;
                if !regions.contains(r) {
                    regions.push(r.clone());
                }
            }
            let (variants, _) = variants_and_archs(&s.variants, &[])?;
            let source = if s.files.is_empty() {
                let d = LiveOptions::default();
                SsmSource::Live(LiveOptions {
                    profile: s.profile.clone(),
                    endpoint_url: s.endpoint_url.clone(),
                    concurrency: s.concurrency.unwrap_or(d.concurrency).clamp(1, 64),
                    max_attempts: s.max_attempts.unwrap_or(d.max_attempts).clamp(1, 20),
                    initial_backoff: d.initial_backoff,
                    attempt_timeout: std::time::Duration::from_secs(a.timeout.clamp(1, 3600)),
                    deadline: super::args::deadline("--deadline", a.deadline)?,
                })
            } else {
                SsmSource::Files(s.files.clone())
            };
            Some(SsmSpec {
                source,
                regions,
                variants,
                archs: Vec::new(),
                cross_check: s.cross_check.unwrap_or(true),
            })
        }
    };

    let mut inventories = Vec::new();
    for i in &config.inventories {
        let (format, nodes) = crate::fleet::inventory::read(&i.path, i.format)?;
        inventories.push(Inventory {
            name: i.path.display().to_string(),
            format,
            nodes,
        });
    }
    Ok(JobSpec {
        repos,
        derive_repo,
        ssm,
        inventories,
        policy,
        from: None,
        at: a.at,
        concurrency: a.concurrency,
        evidence: false,
    })
}
