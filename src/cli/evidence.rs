//! `tufwatch evidence create` and `tufwatch evidence verify`.

use super::bundle::{read_pem, signing_key, withdraw};
use super::flags::{formats_of, RepoArgs, HUMAN_OR_JSON};
use super::names::{named, SettingsFrom};
use super::output;
use super::output::print_json;
use crate::config::OutputFormat;
use crate::engine::TargetSelection;
use crate::error::{Error, Result};
use crate::evidence;
use crate::report::{Severity, Verdict};
use crate::settings::{defaults, CommonSettings, Setting};
use crate::source::pins::{parse_sha256_arg, parse_sha512_arg};
use crate::text::clean;
use clap::{Args, Subcommand};
use std::path::{Path, PathBuf};

/// Audit evidence: bundles that prove what was verified, checkable again offline.
#[derive(Debug, Subcommand)]
pub enum EvidenceCommand {
    /// Verify a repository and write a bundle: the exact metadata, the trust anchor, the report,
    /// an in-toto statement (SLSA VSA) and SHA256SUMS.
    ///
    /// The verification starts from the trust anchor and walks every root, so the bundle holds
    /// the whole chain; it neither reads nor writes the saved state. manifest.json is read and
    /// checked when the repository lists it; --target adds targets (downloaded and checked). A
    /// failed verification also makes a bundle, with the FAILED result: negative evidence.
    ///
    /// Exit codes: 0 verified (bundle written), 1 findings (bundle written, FAILED), 2 could not
    /// run (no bundle).
    #[command(after_help = "Examples:\n  \
        tufwatch evidence create --out evidence/demo --root fixtures/demo-repo/root.json --metadata-url fixtures/demo-repo/metadata --targets-url fixtures/demo-repo/targets\n  \
        tufwatch evidence create --out evidence/$(date +%F) --variant aws-k8s-1.31 --arch x86_64\n  \
        tufwatch evidence create --out evidence/nightly-$(date +%F) --config /etc/tufwatch/nightly.toml")]
    Create(Box<CreateArgs>),
    /// Check a bundle offline: the sums, the statement against the report and the anchor, and
    /// the metadata verified again from the recorded anchor at the recorded reference time.
    ///
    /// Exit codes: 0 the bundle is intact and its result reproduces, 1 findings (a file altered,
    /// missing or added, or files that disagree), 2 could not run.
    #[command(
        after_help = "Example:\n  tufwatch evidence verify evidence/demo --sha256 <DIGEST> --root-sha512 <HEX>"
    )]
    Verify(BundleVerifyArgs),
}

/// `evidence create`.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The bundle's directory: new, or empty.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,

    /// The repository and its trust anchor.
    #[command(flatten)]
    pub repo: RepoArgs,

    /// Make the bundle of the nightly job this configuration (TOML) describes, instead of one
    /// repository: each repository's evidence under repositories/, and job.json with the
    /// releases, the SSM observations (with when they were observed), the cross-check and the
    /// fleet. The configuration's state and output settings are not used.
    #[arg(long, value_name = "FILE", conflicts_with_all = [
        "metadata_url", "targets_url", "variant", "arch", "root", "root_sha512", "repo_base",
        "state_dir", "targets",
    ])]
    pub config: Option<PathBuf>,

    /// With --config: verify at most N repositories at once.
    #[arg(long, value_name = "N", default_value_t = defaults::CONCURRENCY)]
    pub concurrency: usize,

    /// Also download this target, check it and make it a subject (repeatable).
    #[arg(long = "target", value_name = "NAME")]
    pub targets: Vec<String>,

    /// Sign the statement as a DSSE envelope (statement.dsse.json) with this private key: PEM,
    /// Ed25519 or ECDSA P-256 (PKCS#8 "PRIVATE KEY", or "EC PRIVATE KEY").
    #[arg(long, value_name = "FILE")]
    pub sign_key: Option<PathBuf>,

    /// Output format of the summary.
    #[arg(long, value_parser = formats_of(HUMAN_OR_JSON), default_value = "human")]
    pub format: OutputFormat,
}

/// `evidence verify`.
#[derive(Debug, Args)]
pub struct BundleVerifyArgs {
    /// The bundle's directory.
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,

    /// Demand that the bundle's digest, the SHA-256 of its SHA256SUMS (which `evidence create`
    /// and `report --evidence` print, and the HTML report shows), is HEX.
    #[arg(long, value_name = "HEX")]
    pub sha256: Option<String>,

    /// Demand that the bundle's trust anchor has this SHA-512.
    #[arg(long, value_name = "HEX")]
    pub root_sha512: Option<String>,

    /// Demand a signature over the statement by this public key (PEM "PUBLIC KEY", Ed25519 or
    /// ECDSA P-256).
    #[arg(long, value_name = "FILE")]
    pub pubkey: Option<PathBuf>,

    /// Output format.
    #[arg(long, value_parser = formats_of(HUMAN_OR_JSON), default_value = "human")]
    pub format: OutputFormat,
}

/// The summary `evidence create` prints.
#[derive(Debug, serde::Serialize)]
struct Created {
    bundle: String,
    files: usize,
    result: evidence::VerificationResult,
    /// Of a bundle of one repository.
    #[serde(skip_serializing_if = "Option::is_none")]
    statement_sha256: Option<String>,
    /// The bundle's digest: the SHA-256 of its SHA256SUMS.
    sha256: String,
    /// Of a bundle of a job: each repository's evidence.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    repositories: Vec<crate::job::BundleRepo>,
    verdict: Verdict,
}

/// Run an `evidence` command; the result is the exit code.
pub async fn run(cmd: EvidenceCommand) -> Result<i32> {
    match cmd {
        EvidenceCommand::Create(a) => create(*a).await,
        EvidenceCommand::Verify(a) => verify(a).await,
    }
}

async fn create(a: CreateArgs) -> Result<i32> {
    // The key and the directory first: a bad key or a full directory stops the run before
    // anything is verified or written.
    let key = signing_key(a.sign_key.as_deref())?;
    evidence::check_out(&a.out, Setting::BundleDir)?;
    if let Some(config) = a.config.clone() {
        return create_job(a, config, key).await;
    }
    let selection = if a.targets.is_empty() {
        TargetSelection::None
    } else {
        TargetSelection::Named(a.targets.clone())
    };
    let settings = a.repo.settings(selection, None)?;
    let (mut options, root) = settings.resolve()?;
    // From the anchor through every root: the bundle holds the whole chain.
    options.state_root = None;
    let verification = crate::engine::verify(&options, &root).await?;
    let manifest = crate::job::own_releases(&verification, &options).await;
    let (mut files, report) =
        evidence::files_and_report(&verification, &root, &[], manifest.as_ref());
    refuse_incomplete(&report)?;
    evidence::sign(&mut files, key.as_ref(), a.sign_key.as_deref())?;
    let sha256 = evidence::write(&a.out, &files, Setting::BundleDir)?;
    let created = Created {
        bundle: a.out.display().to_string(),
        files: files.len(),
        result: evidence::VerificationResult::of(report.verdict),
        statement_sha256: files
            .get(evidence::STATEMENT_FILE)
            .map(|b| crate::digest::sha256_hex(b)),
        sha256,
        repositories: Vec::new(),
        verdict: report.verdict,
    };
    let errors: Vec<&crate::report::Finding> = report
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .collect();
    print_created(&created, &errors, a.format).map_err(|e| withdraw(&a.out, e))?;
    Ok(report.exit_code())
}

/// A run that could not finish (the network, the deadline) proves nothing about the
/// repository: its findings on stderr, no bundle, exit 2.
fn refuse_incomplete(report: &crate::report::Report) -> Result<()> {
    if report.verdict == Verdict::Incomplete {
        for f in &report.findings {
            output::note(format_args!(
                "tufwatch: {}: {}",
                f.code.as_str(),
                clean(&f.message)
            ));
        }
        return Err(Error::Fetch {
            url: report.repository.metadata_url.clone(),
            message: "the verification could not finish; no bundle written".to_owned(),
        });
    }
    Ok(())
}

/// `evidence create --config`: the bundle of a whole job.
async fn create_job(
    a: CreateArgs,
    config_path: PathBuf,
    key: Option<evidence::dsse::SigningKey>,
) -> Result<i32> {
    let config = crate::config::Config::read(&config_path)?;
    let common = &a.repo.common;
    // The run's flags; the configuration gives the rest (its state and outputs are not used).
    let run = CommonSettings {
        at: common.at,
        timeout_secs: common.timeout,
        deadline: common.deadline,
        progress: !common.no_progress,
        ..CommonSettings::default()
    };
    let origin = SettingsFrom::Config(&config_path);
    let mut settings = config
        .job(run, a.concurrency)
        .map_err(|e| named(e, origin, &[]))?;
    settings.evidence = Some(evidence::repository_files);
    let mut report = super::run_job(&settings, origin, &[]).await?;
    if report.verdict == Verdict::Incomplete {
        for f in report.all_findings() {
            if f.severity == Severity::Error {
                output::note(format_args!(
                    "tufwatch: {}: {}",
                    f.code.as_str(),
                    clean(&f.message)
                ));
            }
        }
        return Err(Error::Argument {
            flag: "--config",
            message: "the job could not finish (see above); no bundle written".to_owned(),
        });
    }
    let record =
        evidence::write_job_bundle(&mut report, &a.out, key.as_ref(), a.sign_key.as_deref())?;
    let created = Created {
        bundle: record.dir,
        files: record.files,
        result: evidence::VerificationResult::of(report.verdict),
        statement_sha256: None,
        sha256: record.sha256.unwrap_or_default(),
        repositories: record.repositories,
        verdict: report.verdict,
    };
    print_created(&created, &report.all_findings(), a.format).map_err(|e| withdraw(&a.out, e))?;
    Ok(report.exit_code())
}

fn print_created(
    created: &Created,
    findings: &[&crate::report::Finding],
    format: OutputFormat,
) -> Result<()> {
    match format {
        OutputFormat::Json => print_json(created)?,
        // `--format` takes human or json only.
        _ => output::print_with(|out| {
            writeln!(
                out,
                "wrote {}: {} files and SHA256SUMS, verification {}",
                created.bundle, created.files, created.result
            )?;
            writeln!(
                out,
                "bundle digest (SHA-256 of SHA256SUMS) {}",
                created.sha256
            )?;
            if let Some(sha) = &created.statement_sha256 {
                writeln!(out, "statement.json sha256 {sha}")?;
            }
            for r in &created.repositories {
                writeln!(
                    out,
                    "  {:<28} {:<7} {}/statement.json sha256 {}",
                    clean(&r.name),
                    r.result,
                    clean(&r.dir),
                    r.statement_sha256
                )?;
            }
            for f in findings.iter().filter(|f| f.severity == Severity::Error) {
                writeln!(out, "  error {}: {}", f.code.as_str(), clean(&f.message))?;
            }
            writeln!(
                out,
                "check it offline: tufwatch evidence verify {} --sha256 {}",
                created.bundle, created.sha256
            )
        })?,
    }
    Ok(())
}

async fn verify(a: BundleVerifyArgs) -> Result<i32> {
    let expected = a
        .root_sha512
        .as_deref()
        .map(|h| parse_sha512_arg(Setting::RootSha512, h))
        .transpose()?;
    let public = a.pubkey.as_deref().map(read_public_key).transpose()?;
    let digest = a
        .sha256
        .as_deref()
        .map(|h| parse_sha256_arg(Setting::BundleDigest, h))
        .transpose()?;
    let result = evidence::check(
        &a.dir,
        digest.as_deref(),
        expected.as_deref(),
        public.as_deref(),
    )
    .await;
    let check = match result {
        Ok(c) => c,
        Err(e) => {
            if a.format == OutputFormat::Json {
                // The run's own error is what to tell, even when stdout fails too.
                let _ = print_json(&crate::report::ErrorReport::of(&e));
            }
            return Err(e);
        }
    };
    match a.format {
        OutputFormat::Json => print_json(&check)?,
        // `--format` takes human or json only.
        _ => print_check(&check, &a)?,
    }
    Ok(check.exit_code())
}

/// The public key `--pubkey` names (PEM "PUBLIC KEY"), as DER.
fn read_public_key(path: &Path) -> Result<Vec<u8>> {
    crate::pem::public_key(&read_pem(path, "public key")?).map_err(|message| Error::Invalid {
        what: "public key",
        path: path.display().to_string(),
        message: message.to_string(),
    })
}

/// The check of a bundle, for a person; `a` says what the command line demanded.
fn print_check(check: &evidence::BundleCheck, a: &BundleVerifyArgs) -> Result<()> {
    output::print_with(|out| {
        write_recorded(out, check, a)?;
        if check.signature_verified {
            writeln!(
                out,
                "signed      by {} (verified with the key given)",
                clean(&check.signed_by.join(", "))
            )?;
        } else if !check.signed_by.is_empty() {
            writeln!(
                out,
                "signed      by {} (not checked: give --pubkey)",
                clean(&check.signed_by.join(", "))
            )?;
        }
        if let Some(v) = check.reverified {
            let v = if v == Verdict::Pass { "pass" } else { "fail" };
            writeln!(
                out,
                "re-verified {v} (offline, from the bundle's anchor, at the recorded time)"
            )?;
        }
        for f in &check.findings {
            writeln!(out, "  error {}: {}", f.code.as_str(), clean(&f.message))?;
        }
        writeln!(
            out,
            "{}",
            match check.verdict {
                Verdict::Pass => "PASS: the bundle is intact and its result reproduces",
                _ => "FAIL: see the findings",
            }
        )
    })
}

/// What the bundle is and records: its files, its digest, its result and its anchor, each
/// with a hint when the command line did not demand it.
fn write_recorded(
    out: &mut dyn std::io::Write,
    check: &evidence::BundleCheck,
    a: &BundleVerifyArgs,
) -> std::io::Result<()> {
    writeln!(
        out,
        "bundle      {} ({} files in SHA256SUMS)",
        check.bundle, check.files
    )?;
    if let Some(sha) = &check.sha256 {
        writeln!(out, "digest      sha256 {sha} (of SHA256SUMS)")?;
        if a.sha256.is_none() {
            writeln!(
                out,
                "            (not compared: give --sha256 to demand the digest you were given)"
            )?;
        }
    }
    writeln!(
        out,
        "recorded    {} at {}",
        check
            .recorded_result
            .map_or("?", evidence::VerificationResult::as_str),
        clean(check.reference_time.as_deref().unwrap_or("?"))
    )?;
    if let Some(sha) = &check.trusted_root_sha512 {
        writeln!(out, "anchor      sha512 {}", clean(sha))?;
        if a.root_sha512.is_none() {
            writeln!(out, "            (not compared with a pin: give --root-sha512 to demand the anchor you trust)")?;
        }
    }
    Ok(())
}
