//! `tufwatch ssm`.

use super::flags::{CommonArgs, SsmArgs};
use super::output::finish;
use crate::config::OutputFormat;
use crate::error::Result;
use crate::settings::{defaults, JobSettings};
use clap::Args;

/// Read what AWS SSM calls the latest Bottlerocket AMI, and cross-check it with the signed
/// repository.
///
/// Reads /aws/service/bottlerocket/<variant>/<arch>/latest/{image_id,image_version} per variant,
/// architecture and region (10 names a GetParameters call; regions concurrently; throttling
/// retried), with the standard AWS credential chain, or from --ssm-file. Then verifies the
/// Bottlerocket repository of each variant and architecture (see --repo-base) and compares:
/// agree; ssm_behind (a newer signed release is due, for longer than --ssm-grace; before, a
/// note with the time left); ssm_unsigned (SSM names a version or build the signed manifest does
/// not contain: an alarm); ssm_missing (no parameter).
///
/// SSM names architectures x86_64 and arm64; the report uses TUF's x86_64 and aarch64.
///
/// Exit codes: 0 all agree, 1 findings, 2 could not run (a region that could not be read).
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    tufwatch ssm --variant aws-k8s-1.31 --variant aws-ecs-2 --region us-west-2 --region eu-west-1\n  \
    tufwatch ssm --variant aws-k8s-1.31 --arch arm64 --profile prod --no-cross-check\n  \
    aws ssm get-parameters-by-path --path /aws/service/bottlerocket --recursive > ssm.json\n  \
    tufwatch ssm --ssm-file ssm.json --variant aws-ecs-2 --root root.json --repo-base ./mirror")]
pub struct SsmCmdArgs {
    /// Variant to read, e.g. aws-k8s-1.31 (repeatable; with --ssm-file, every variant in the
    /// file by default).
    #[arg(long = "variant", value_name = "VARIANT")]
    pub variants: Vec<String>,

    /// Architecture: x86_64 (amd64) or aarch64 (arm64) (repeatable) [default: both].
    #[arg(long = "arch", value_name = "ARCH")]
    pub archs: Vec<String>,

    /// Where the SSM values come from.
    #[command(flatten)]
    pub ssm: SsmArgs,

    /// Only read SSM; verify no repository and compare nothing.
    #[arg(long)]
    pub no_cross_check: bool,

    /// How long SSM may name an older release than a due one before it is ssm_behind (AWS
    /// publishes a release's parameters hours to days after it is signed): 72h, 0.
    #[arg(long, value_name = "DURATION", default_value_t = defaults::SSM_GRACE)]
    pub ssm_grace: crate::settings::Duration,

    /// Verify at most N repositories at once.
    #[arg(long, value_name = "N", default_value_t = defaults::CONCURRENCY)]
    pub concurrency: usize,

    /// The trust anchor and repository settings for the cross-check.
    #[command(flatten)]
    pub common: CommonArgs,

    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    pub format: OutputFormat,
}

/// Run `ssm`; the result is the exit code.
pub async fn run(a: SsmCmdArgs) -> Result<i32> {
    let result = async {
        if a.variants.is_empty() && a.ssm.ssm_file.is_empty() {
            return Err(crate::error::Error::Argument {
                flag: "--variant",
                message: "name at least one variant to read from SSM (like aws-k8s-1.31)"
                    .to_owned(),
            });
        }
        let cross_check = !a.no_cross_check;
        let settings = JobSettings {
            common: a.common.settings(),
            derive_repositories: cross_check,
            ssm: Some(a.ssm.settings(&a.variants, &a.archs, cross_check)),
            concurrency: a.concurrency,
            nightly: crate::settings::NightlySettings {
                ssm_grace: a.ssm_grace,
                ..crate::settings::NightlySettings::default()
            },
            ..JobSettings::default()
        };
        super::run_job(&settings, super::names::SettingsFrom::Flags, &[]).await
    }
    .await;
    let made = crate::present::html::Made {
        from: Some("the command line of `tufwatch ssm`".to_owned()),
    };
    finish(result, a.format, &made)
}
