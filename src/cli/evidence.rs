//! `tufwatch evidence create` and `tufwatch evidence verify`.

use super::repo::{print_json, resolve, Format, RepoArgs};
use crate::engine::TargetSelection;
use crate::error::{Error, Result};
use crate::evidence;
use crate::report::{Severity, Verdict};
use crate::source::pins::parse_sha512_arg;
use clap::{Args, Subcommand};
use std::path::PathBuf;

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
        tufwatch evidence create --out evidence/$(date +%F) --variant aws-k8s-1.31 --arch x86_64")]
    Create(Box<CreateArgs>),
    /// Check a bundle offline: the sums, the statement against the report and the anchor, and
    /// the metadata verified again from the recorded anchor at the recorded reference time.
    ///
    /// Exit codes: 0 the bundle is intact and its result reproduces, 1 findings (a file altered,
    /// missing or added, or files that disagree), 2 could not run.
    #[command(
        after_help = "Example:\n  tufwatch evidence verify evidence/demo --root-sha512 <HEX>"
    )]
    Verify(VerifyArgs),
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

    /// Also download this target, check it and make it a subject (repeatable).
    #[arg(long = "target", value_name = "NAME")]
    pub targets: Vec<String>,

    /// Sign the statement as a DSSE envelope (statement.dsse.json) with this private key: PEM,
    /// Ed25519 or ECDSA P-256 (PKCS#8 "PRIVATE KEY", or "EC PRIVATE KEY").
    #[arg(long, value_name = "FILE")]
    pub sign_key: Option<PathBuf>,

    /// Output format of the summary.
    #[arg(long, value_enum, default_value = "human")]
    pub format: Format,
}

/// `evidence verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The bundle's directory.
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,

    /// Demand that the bundle's trust anchor has this SHA-512.
    #[arg(long, value_name = "HEX")]
    pub root_sha512: Option<String>,

    /// Demand a signature over the statement by this public key (PEM "PUBLIC KEY", Ed25519 or
    /// ECDSA P-256).
    #[arg(long, value_name = "FILE")]
    pub pubkey: Option<PathBuf>,

    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    pub format: Format,
}

/// The summary `evidence create` prints.
#[derive(Debug, serde::Serialize)]
struct Created {
    bundle: String,
    files: usize,
    result: String,
    statement_sha256: String,
    verdict: Verdict,
}

/// Run an `evidence` command; the result is the exit code.
pub async fn run(cmd: EvidenceCommand) -> Result<i32> {
    match cmd {
        EvidenceCommand::Create(a) => create(*a).await,
        EvidenceCommand::Verify(a) => verify(a).await,
    }
}

fn read_pem(path: &std::path::Path, what: &'static str) -> Result<String> {
    let bytes = crate::source::read_limited(path, 64 << 10, what)?;
    String::from_utf8(bytes).map_err(|_| Error::Invalid {
        what,
        path: path.display().to_string(),
        message: "not PEM text".to_owned(),
    })
}

async fn create(a: CreateArgs) -> Result<i32> {
    // The key first: a bad key stops the run before anything is verified or written.
    let key = match &a.sign_key {
        Some(path) => Some(
            evidence::dsse::SigningKey::from_pem(&read_pem(path, "signing key")?).map_err(
                |message| Error::Invalid {
                    what: "signing key",
                    path: path.display().to_string(),
                    message,
                },
            )?,
        ),
        None => None,
    };
    let selection = if a.targets.is_empty() {
        TargetSelection::None
    } else {
        TargetSelection::Named(a.targets.clone())
    };
    let mut resolved = resolve(a.repo, selection, None).await?;
    // From the anchor through every root: the bundle holds the whole chain.
    resolved.options.state_root = None;
    let mut verification = crate::engine::verify(&resolved.options, &resolved.root).await?;
    let mut checked = Vec::new();
    if let (Some(repo), Verdict::Pass) = (&verification.repository, verification.report.verdict) {
        let listed = tough::TargetName::new("manifest.json")
            .ok()
            .is_some_and(|n| repo.targets().signed.find_target(&n, false).is_ok());
        if listed {
            match crate::engine::targets::read_verified(
                repo,
                "manifest.json",
                crate::job::MAX_MANIFEST,
            )
            .await
            {
                Ok((_, t)) => checked.push(t),
                Err(f) => {
                    verification.report.findings.push(f);
                    verification.report.finish();
                }
            }
        }
    }
    // A run that could not finish (the network, the deadline) proves nothing about the
    // repository: no bundle, exit 2.
    if verification.report.verdict == Verdict::Incomplete {
        for f in &verification.report.findings {
            eprintln!("tufwatch: {}: {}", f.code.as_str(), f.message);
        }
        return Err(Error::Fetch {
            url: verification.report.repository.metadata_url.clone(),
            message: "the verification could not finish; no bundle written".to_owned(),
        });
    }
    let mut files = evidence::files(&verification, &resolved.root, &checked);
    if let (Some(key), Some(statement)) = (&key, files.get(evidence::STATEMENT_FILE)) {
        let envelope = key.envelope(statement).map_err(|message| Error::Invalid {
            what: "signing key",
            path: a
                .sign_key
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            message,
        })?;
        let mut bytes = serde_json::to_vec_pretty(&envelope).unwrap_or_default();
        bytes.push(b'\n');
        files.insert(evidence::dsse::FILE.to_owned(), bytes);
    }
    evidence::write(&a.out, &files)?;
    let statement = files
        .get(evidence::STATEMENT_FILE)
        .map(|b| crate::digest::sha256_hex(b))
        .unwrap_or_default();
    let created = Created {
        bundle: a.out.display().to_string(),
        files: files.len(),
        result: if verification.report.verdict == Verdict::Pass {
            "PASSED"
        } else {
            "FAILED"
        }
        .to_owned(),
        statement_sha256: statement,
        verdict: verification.report.verdict,
    };
    match a.format {
        Format::Json => print_json(&created)?,
        Format::Human => {
            println!(
                "wrote {}: {} files and SHA256SUMS, verification {}",
                created.bundle, created.files, created.result
            );
            println!("statement.json sha256 {}", created.statement_sha256);
            for f in verification
                .report
                .findings
                .iter()
                .filter(|f| f.severity == Severity::Error)
            {
                println!("  error {}: {}", f.code.as_str(), f.message);
            }
            println!(
                "check it offline: tufwatch evidence verify {}",
                created.bundle
            );
        }
    }
    Ok(verification.report.exit_code())
}

async fn verify(a: VerifyArgs) -> Result<i32> {
    let expected = a
        .root_sha512
        .as_deref()
        .map(|h| parse_sha512_arg("--root-sha512", h))
        .transpose()?;
    let public = match &a.pubkey {
        Some(path) => Some(
            evidence::dsse::public_key_from_pem(&read_pem(path, "public key")?).map_err(
                |message| Error::Invalid {
                    what: "public key",
                    path: path.display().to_string(),
                    message,
                },
            )?,
        ),
        None => None,
    };
    let result = evidence::check(&a.dir, expected.as_deref(), public.as_deref()).await;
    let check = match result {
        Ok(c) => c,
        Err(e) => {
            if a.format == Format::Json {
                print_json(&crate::report::ErrorReport::of(&e))?;
            }
            return Err(e);
        }
    };
    match a.format {
        Format::Json => print_json(&check)?,
        Format::Human => {
            println!(
                "bundle      {} ({} files in SHA256SUMS)",
                check.bundle, check.files
            );
            println!(
                "recorded    {} at {}",
                check.recorded_result.as_deref().unwrap_or("?"),
                check.reference_time.as_deref().unwrap_or("?")
            );
            if let Some(sha) = &check.trusted_root_sha512 {
                println!("anchor      sha512 {sha}");
                if a.root_sha512.is_none() {
                    println!("            (not compared with a pin: give --root-sha512 to demand the anchor you trust)");
                }
            }
            if check.signature_verified {
                println!(
                    "signed      by {} (verified with the key given)",
                    check.signed_by.join(", ")
                );
            } else if !check.signed_by.is_empty() {
                println!(
                    "signed      by {} (not checked: give --pubkey)",
                    check.signed_by.join(", ")
                );
            }
            if let Some(v) = check.reverified {
                let v = if v == Verdict::Pass { "pass" } else { "fail" };
                println!(
                    "re-verified {v} (offline, from the bundle's anchor, at the recorded time)"
                );
            }
            for f in &check.findings {
                println!("  error {}: {}", f.code.as_str(), f.message);
            }
            println!(
                "{}",
                match check.verdict {
                    Verdict::Pass => "PASS: the bundle is intact and its result reproduces",
                    _ => "FAIL: see the findings",
                }
            );
        }
    }
    Ok(check.exit_code())
}
