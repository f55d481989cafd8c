//! `tufwatch report`: the nightly job.

use super::flags::parse_time;
use super::names::{named, SettingsFrom};
use super::output::{emit, print_json};
use crate::config::{Config, OutputFormat};
use crate::error::{Error, Result};
use crate::present::html::Made;
use crate::settings::{defaults, CommonSettings, Duration, Setting};
use chrono::{DateTime, Utc};
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
/// With a state directory, the job keeps a record of its last run there, and every format leads
/// with what changed since (the Markdown is just that, and the verdict). [policy] fail_on
/// chooses which categories of findings fail the run (trust, release, fleet); [[waiver]]s accept
/// findings with a reason, an owner and an expiry, but never the repository's verification;
/// [output] webhook and pushgateway get the changes and the metrics once the report is written.
///
/// Exit codes: 0 every check passed, 1 findings that fail the run (a trust finding always does),
/// 2 could not run.
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
    #[arg(long, value_name = "N", default_value_t = defaults::JOB_CONCURRENCY)]
    pub concurrency: usize,

    /// Seconds to wait for a connection, and for the next bytes of an answer.
    #[arg(long, value_name = "SECONDS", default_value_t = defaults::TIMEOUT_SECS)]
    pub timeout: u64,

    /// The longest one repository's verification may take (its metadata, targets and manifest),
    /// and the longest the SSM reads may take: 30m, 2h.
    #[arg(long, value_name = "DURATION", default_value_t = defaults::DEADLINE)]
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

    /// With --evidence: who signs the statements, and the verifier they name ([evidence] in
    /// the configuration otherwise).
    #[command(flatten)]
    pub signing: super::evidence::SigningArgs,
}

/// The flag that names the evidence bundle's directory in `report`.
const BUNDLE_FLAG: &[(Setting, &str)] = &[(Setting::BundleDir, "--evidence")];

/// Run `report`; the result is the exit code.
pub async fn run(a: ReportArgs) -> Result<i32> {
    let result = run_report(&a).await;
    // A job asked for JSON on standard output still prints one JSON document when it cannot run.
    if let Err(e) = &result {
        if a.formats == [OutputFormat::Json] && a.out_dir.is_none() && a.out.is_none() {
            // The run's own error is what to tell, even when stdout fails too.
            let _ = print_json(&crate::report::ErrorReport::of(e));
        }
    }
    result
}

/// The job: its outputs and its evidence directory checked first, then run, its bundle
/// written, its report written or printed.
async fn run_report(a: &ReportArgs) -> Result<i32> {
    let config = Config::read(&a.config)?;
    let outputs = Outputs::of(a, &config)?;
    outputs.check_writable()?;
    let made = Made {
        from: Some(a.config.display().to_string()),
    };
    let mut settings = job_settings(a, &config)?;
    let alerts = config
        .alerts(&a.config, std::time::Duration::from_secs(a.timeout.max(1)))
        .map_err(|e| named(e, SettingsFrom::Config(&a.config), &[]))?;
    let mut history = open_history(&settings, &a.config)?;
    // A key that cannot sign or an evidence directory that cannot take the bundle stops the
    // run before anything is verified.
    let signer = match &a.evidence {
        Some(_) => {
            let origin = SettingsFrom::Config(&a.config);
            let (keep, signer) = evidence_of(&config, &settings, &a.signing, origin).await?;
            settings.evidence = Some(keep);
            signer
        }
        None => None,
    };
    if let Some(dir) = &a.evidence {
        crate::evidence::check_out(dir, Setting::BundleDir)
            .map_err(|e| named(e, SettingsFrom::Flags, BUNDLE_FLAG))?;
        let mut kept = outputs.paths();
        kept.extend(history.as_ref().map(|h| h.dir().to_owned()));
        apart(dir, &kept)?;
    }
    let mut report =
        super::run_job(&settings, SettingsFrom::Config(&a.config), BUNDLE_FLAG).await?;
    if let Some(dir) = &a.evidence {
        add_evidence_bundle(&mut report, dir, signer.as_ref()).await?;
    }
    // After the bundle: the changes are of this machine's runs, not of what was verified.
    if let Some(h) = &mut history {
        h.compare(&mut report);
    }
    // A run judged at another time (--at) is an audit: it keeps no record and sends no alert.
    let present = a.at.is_none();
    // The record is staged (written and synced beside the last one) before the report is
    // written, and put in place once the report is: a full disk leaves the last record and no
    // report, so the next run's changes lose nothing.
    let written = match history.as_ref().filter(|_| present) {
        Some(h) => h.stage(&report),
        None => Ok(None),
    }
    .and_then(|staged| {
        outputs.write(&report, a.out.is_none(), &made)?;
        Ok(staged)
    });
    let bundle_written = report
        .evidence_bundle
        .as_ref()
        .is_some_and(|r| r.sha256.is_some());
    let staged = match (written, &a.evidence) {
        (Err(e), Some(dir)) if bundle_written => return Err(super::bundle::withdraw(dir, e)),
        (Err(e), _) => return Err(e),
        (Ok(staged), _) => staged,
    };
    let last_success = history.as_ref().and_then(|h| h.last_success());
    after_report(
        staged,
        alerts.as_ref().map(|al| (al, present)),
        &report,
        last_success,
    )
    .await;
    Ok(report.exit_code())
}

/// Once the report is written: this run's record put in place (one that cannot be costs the
/// next run its changes since this one, not this run its verdict), and the alerts sent, unless
/// the run is judged at another time (`alerts`: where to, and whether the run is of the
/// present).
async fn after_report(
    staged: Option<crate::job::history::StagedRecord>,
    alerts: Option<(&crate::alert::AlertSettings, bool)>,
    report: &crate::job::JobReport,
    last_success: Option<f64>,
) {
    if let Some(Err(e)) = staged.map(|s| s.commit()) {
        super::output::note(format_args!(
            "tufwatch: {e}: this run's record was not kept; the next run's changes are since the run before"
        ));
    }
    match alerts {
        Some((alerts, true)) => send_alerts(alerts, report, last_success).await,
        Some((_, false)) => super::output::note(format_args!(
            "tufwatch: --at: no webhook or Pushgateway alert: a run judged at another time is an audit, not the nightly run"
        )),
        None => {}
    }
}

/// The job's history, in the state directory; none when the job keeps no state.
fn open_history(
    settings: &crate::settings::JobSettings,
    config: &std::path::Path,
) -> Result<Option<crate::job::history::History>> {
    let root = settings
        .common
        .state_root()
        .map_err(|e| named(e, SettingsFrom::Config(config), &[]))?;
    root.map(|r| crate::job::history::History::open(&crate::job::history::dir_for(&r, config)))
        .transpose()
}

/// Post the webhook and push the metrics (with the last run that passed, by the job's
/// history: the push replaces the group); one that fails is said on stderr, never fatal.
async fn send_alerts(
    alerts: &crate::alert::AlertSettings,
    report: &crate::job::JobReport,
    last_success: Option<f64>,
) {
    let message = crate::present::digest::webhook_message(report);
    let metrics = crate::present::prometheus::render(report, last_success);
    for d in crate::alert::deliver(alerts, &message, &metrics).await {
        match &d.outcome {
            Ok(status) => super::output::note(format_args!(
                "tufwatch: {} {}: delivered (HTTP {status})",
                d.what, d.to
            )),
            Err(why) => super::output::note(format_args!(
                "tufwatch: {} {}: not delivered after {} attempt(s): {why}; the run's verdict stands",
                d.what, d.to, d.attempts
            )),
        }
    }
}

/// Where the report goes: the formats asked, and the directory each is written to, or the one
/// file the one format asked is written to; printed when neither.
struct Outputs {
    formats: Vec<OutputFormat>,
    out_dir: Option<PathBuf>,
    one: Option<(PathBuf, OutputFormat)>,
}

impl Outputs {
    /// The outputs the flags ask, else the configuration; `--out` takes one format.
    fn of(a: &ReportArgs, config: &Config) -> Result<Self> {
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
        Ok(Outputs {
            formats,
            out_dir,
            one,
        })
    }

    /// Each file the report is to be written to can be replaced, before anything is verified.
    fn check_writable(&self) -> Result<()> {
        match (&self.one, &self.out_dir) {
            (Some((path, _)), _) => super::output::output_file("--out", path)?,
            (None, Some(dir)) => {
                for f in &self.formats {
                    super::output::output_file("--out-dir", &dir.join(f.file_name()))?;
                }
            }
            (None, None) => {}
        }
        Ok(())
    }

    /// The paths the report is written to: the output directory and its files, or the one file.
    fn paths(&self) -> Vec<PathBuf> {
        match (&self.one, &self.out_dir) {
            (Some((path, _)), _) => vec![path.clone()],
            (None, Some(d)) => std::iter::once(d.clone())
                .chain(self.formats.iter().map(|f| d.join(f.file_name())))
                .collect(),
            (None, None) => Vec::new(),
        }
    }

    /// Write the report to its one file, or in each format to the output directory or
    /// standard output (`printed`: no `--out` was given).
    fn write(&self, report: &crate::job::JobReport, printed: bool, made: &Made) -> Result<()> {
        match &self.one {
            Some((path, format)) => crate::present::write_file(report, *format, path, made)
                .map(|()| super::output::note(format_args!("tufwatch: wrote {}", path.display()))),
            None if printed => emit(report, &self.formats, self.out_dir.as_deref(), made),
            None => Ok(()),
        }
    }
}

/// The job's settings: the configuration's, with the run's flags.
fn job_settings(a: &ReportArgs, config: &Config) -> Result<crate::settings::JobSettings> {
    let run = CommonSettings {
        at: a.at,
        timeout_secs: a.timeout,
        deadline: a.deadline,
        progress: !a.no_progress,
        ..CommonSettings::default()
    };
    let s = &a.signing;
    if a.evidence.is_none()
        && (s.sign_key.is_some() || s.sign_kms.is_some() || s.verifier_id.is_some())
    {
        return Err(Error::Argument {
            flag: "--evidence",
            message: "--sign-key, --sign-kms and --verifier-id are about the evidence bundle: give --evidence DIR too".to_owned(),
        });
    }
    config
        .job(run, a.concurrency)
        .map_err(|e| named(e, SettingsFrom::Config(&a.config), &[]))
}

/// The evidence a job keeps of each repository, and who signs its statements: the flags, else
/// the configuration's `[evidence]` (`origin`). The KMS key is opened here, before anything
/// is verified, with the credentials and endpoint SSM reads with.
pub(super) async fn evidence_of(
    config: &Config,
    settings: &crate::settings::JobSettings,
    flags: &super::evidence::SigningArgs,
    origin: SettingsFrom<'_>,
) -> Result<(
    crate::settings::EvidenceSettings,
    Option<crate::evidence::dsse::Signer>,
)> {
    let from = |flag_given: bool| {
        if flag_given {
            SettingsFrom::Flags
        } else {
            origin
        }
    };
    let given_id = flags.verifier_id.as_deref();
    let verifier_id =
        super::bundle::verifier_id(given_id.or(config.evidence.verifier_id.as_deref()))
            .map_err(|e| named(e, from(given_id.is_some()), &[]))?;
    let kms = match flags.sign_key {
        Some(_) => None,
        None => flags
            .sign_kms
            .as_deref()
            .or(config.evidence.kms_key.as_deref()),
    };
    let live = crate::job::kms_options(settings)?;
    let signer = super::bundle::signer(flags.sign_key.as_deref(), kms, &live)
        .await
        .map_err(|e| named(e, from(flags.sign_kms.is_some()), &[]))?;
    let keep = crate::settings::EvidenceSettings {
        keep: crate::evidence::repository_files,
        verifier_id,
    };
    Ok((keep, signer))
}

/// Sign and write the run's evidence bundle in `dir` and name it in the report; a bundle not
/// written is said on stderr too.
async fn add_evidence_bundle(
    report: &mut crate::job::JobReport,
    dir: &std::path::Path,
    signer: Option<&crate::evidence::dsse::Signer>,
) -> Result<()> {
    crate::evidence::job::bundle_job(report, dir, signer)
        .await
        .map_err(|e| named(e, SettingsFrom::Flags, BUNDLE_FLAG))?;
    let error = report
        .evidence_bundle
        .as_ref()
        .and_then(|b| b.error.as_ref());
    if let Some(error) = error {
        super::output::note(format_args!(
            "tufwatch: --evidence {}: no bundle written: {error}",
            dir.display()
        ));
    }
    Ok(())
}

/// Refuse an evidence directory that is or holds an output of the report (the output
/// directory, or a file the report goes to): the report would land in the bundle, a file its
/// sums do not list, or the bundle where the report goes.
fn apart(evidence: &std::path::Path, outputs: &[PathBuf]) -> Result<()> {
    use crate::source::absolute;
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
