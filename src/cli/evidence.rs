//! `tufwatch evidence create` and `tufwatch evidence verify`.

use super::bundle::{signer, verifier_id, withdraw};
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
        tufwatch evidence create --out evidence/demo --root fixtures/demo-repo/root.json --metadata-url fixtures/demo-repo/metadata --targets-url fixtures/demo-repo/targets --resource-uri https://updates.example.com/tufwatch-demo/metadata/\n  \
        tufwatch evidence create --out evidence/$(date +%F) --variant aws-k8s-1.31 --arch x86_64 --verifier-id https://security.example.com/verifiers/tufwatch\n  \
        tufwatch evidence create --out evidence/$(date +%F) --variant aws-k8s-1.31 --arch x86_64 --sign-kms arn:aws:kms:us-west-2:111122223333:key/EXAMPLE\n  \
        tufwatch evidence create --out evidence/nightly-$(date +%F) --config /etc/tufwatch/nightly.toml")]
    Create(Box<CreateArgs>),
    /// Check a bundle offline: the sums, the statement against the report and the anchor, and
    /// the metadata verified again from the recorded anchor at the recorded reference time.
    ///
    /// Exit codes: 0 the bundle is intact and its result reproduces, 1 findings (a file altered,
    /// missing or added, or files that disagree), 2 could not run.
    #[command(after_help = "Examples:\n  \
        tufwatch evidence verify evidence/demo --sha256 <DIGEST> --root-sha512 <HEX>\n  \
        tufwatch evidence verify evidence/demo --pubkey signer.pub --verifier-id urn:tufwatch:tuf-verifier --resource-uri https://updates.bottlerocket.aws/2020-07-07/aws-k8s-1.31/x86_64/ --subject manifest.json@sha256:<HEX>\n  \
        aws kms get-public-key --key-id <ARN> > kms-key.json && tufwatch evidence verify evidence/demo --pubkey kms-key.json")]
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

    /// The URI the statement names the repository by (its resourceUri): the repository's public
    /// URL, the same on any machine. Needed when the metadata is read from a local copy; an
    /// http(s) metadata URL names itself [default: the metadata URL].
    #[arg(long, value_name = "URI", conflicts_with = "config")]
    pub resource_uri: Option<String>,

    /// The evidence's signer and verifier.
    #[command(flatten)]
    pub signing: SigningArgs,

    /// Output format of the summary.
    #[arg(long, value_parser = formats_of(HUMAN_OR_JSON), default_value = "human")]
    pub format: OutputFormat,
}

/// Who signs a bundle's statements and how they name the verifier (`evidence create`, `report
/// --evidence`).
#[derive(Debug, Args)]
pub struct SigningArgs {
    /// Sign each statement as a DSSE envelope (statement.dsse.json) with this private key: PEM,
    /// Ed25519 or ECDSA P-256 (PKCS#8 "PRIVATE KEY", or "EC PRIVATE KEY").
    #[arg(long, value_name = "FILE")]
    pub sign_key: Option<PathBuf>,

    /// Sign each statement with this asymmetric AWS KMS key instead (key ARN, key id, alias
    /// name or alias ARN): ECC_NIST_P256 (ECDSA_SHA_256) or RSA (RSASSA_PSS_SHA_256), with the
    /// credentials SSM reads with (profile, environment, instance role) [default: a job's
    /// [evidence] kms_key]. `evidence verify --pubkey` takes the key's public key as `aws kms
    /// get-public-key` gives it.
    #[arg(long, value_name = "KEY", conflicts_with = "sign_key")]
    pub sign_kms: Option<String>,

    /// The statements' verifier.id: a URI naming this verifier's trust base, as the consumers
    /// of the evidence accept it [default: a job's [evidence] verifier_id, else
    /// urn:tufwatch:tuf-verifier].
    #[arg(long, value_name = "URI")]
    pub verifier_id: Option<String>,
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

    /// Demand a signature over every statement by this public key: Ed25519, ECDSA P-256 or RSA
    /// (RSASSA-PSS), as a PEM "PUBLIC KEY", its DER, or what `aws kms get-public-key` gives (its
    /// JSON answer, or its PublicKey in base64).
    #[arg(long, value_name = "FILE")]
    pub pubkey: Option<PathBuf>,

    /// Demand a subject: a statement that passed names NAME (with this SHA-256, when given),
    /// as slsa-verifier verify-vsa's --subject-digest does (repeatable).
    #[arg(long = "subject", value_name = "NAME[@sha256:HEX]")]
    pub subjects: Vec<evidence::check::SubjectDemand>,

    /// Demand that a statement is about this resource (its resourceUri), and the subjects
    /// demanded named by one that is (repeatable).
    #[arg(long = "resource-uri", value_name = "URI")]
    pub resource_uris: Vec<String>,

    /// Demand that every statement is by this verifier (its verifier.id).
    #[arg(long, value_name = "URI")]
    pub verifier_id: Option<String>,

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
    evidence::check_out(&a.out, Setting::BundleDir)?;
    if let Some(config) = a.config.clone() {
        return create_job(a, config).await;
    }
    let selection = if a.targets.is_empty() {
        TargetSelection::None
    } else {
        TargetSelection::Named(a.targets.clone())
    };
    let settings = a.repo.settings(selection, None)?;
    let (mut options, root) = settings.resolve()?;
    let names = crate::settings::StatementNames {
        verifier_id: verifier_id(a.signing.verifier_id.as_deref())?,
        resource_uri: resource_uri(a.resource_uri.as_deref(), &options.metadata_url)?,
    };
    // The signer and the directory first: a key that cannot sign or a full directory stops
    // the run before anything is verified or written.
    let live = crate::aws::client::LiveOptions {
        attempt_timeout: crate::settings::timeout(a.repo.common.timeout),
        deadline: crate::settings::deadline(a.repo.common.deadline)?,
        ..Default::default()
    };
    let signer = signer(
        a.signing.sign_key.as_deref(),
        a.signing.sign_kms.as_deref(),
        &live,
    )
    .await?;
    // From the anchor through every root: the bundle holds the whole chain.
    options.state_root = None;
    let verification = crate::engine::verify(&options, &root).await?;
    let manifest = crate::job::own_releases(&verification, &options).await;
    let (mut files, report) =
        evidence::files_and_report(&verification, &root, manifest.as_ref(), &names);
    refuse_incomplete(&report)?;
    evidence::sign(&mut files, signer.as_ref()).await?;
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

/// The URI the statement names one repository by: the one given, else its metadata URL when
/// that is an http(s) one; a local copy nobody named is refused before anything is verified.
fn resource_uri(given: Option<&str>, metadata_url: &url::Url) -> Result<String> {
    let refuse = |message: String| Error::Setting {
        setting: Setting::ResourceUri,
        message,
    };
    match given {
        Some(uri) if crate::source::location::is_uri(uri) => Ok(uri.to_owned()),
        Some(uri) => Err(refuse(format!(
            "{:?} is not a URI (scheme:...)",
            clean(uri)
        ))),
        None => crate::job::public_url(metadata_url).ok_or_else(|| {
            refuse(format!(
                "the metadata is read from {metadata_url}, which names the repository on this machine only; the statement names it by a URL that means the same everywhere: give its public URL"
            ))
        }),
    }
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
async fn create_job(a: CreateArgs, config_path: PathBuf) -> Result<i32> {
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
    let (evidence_settings, signer) =
        super::report::evidence_of(&config, &settings, &a.signing, origin).await?;
    settings.evidence = Some(evidence_settings);
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
    evidence::job::sign_repositories(&mut report, signer.as_ref()).await?;
    let record = evidence::write_job_bundle(&mut report, &a.out)?;
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
    let demands = evidence::check::Demands {
        digest: a
            .sha256
            .as_deref()
            .map(|h| parse_sha256_arg(Setting::BundleDigest, h))
            .transpose()?,
        root_sha512: a
            .root_sha512
            .as_deref()
            .map(|h| parse_sha512_arg(Setting::RootSha512, h))
            .transpose()?,
        public_key: a.pubkey.as_deref().map(read_public_key).transpose()?,
        subjects: a.subjects.clone(),
        resource_uris: a.resource_uris.clone(),
        verifier_id: a.verifier_id.clone(),
    };
    let result = evidence::check(&a.dir, &demands).await;
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

/// The public key `--pubkey` names (a PEM "PUBLIC KEY", its DER, or KMS's `GetPublicKey`
/// answer), as DER.
fn read_public_key(path: &Path) -> Result<Vec<u8>> {
    let bytes = crate::source::read_limited(path, 64 << 10, "public key")?;
    crate::pem::any_public_key(crate::source::without_bom(&bytes)).map_err(|message| {
        Error::Invalid {
            what: "public key",
            path: path.display().to_string(),
            message: message.to_string(),
        }
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
