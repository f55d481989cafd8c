//! `tufwatch nodes`.

use super::job::{bottlerocket_repos, finish, variants_and_archs, PolicyArgs, SsmArgs};
use super::repo::{resolve_common, CommonArgs};
use crate::config::OutputFormat;
use crate::error::Result;
use crate::fleet::inventory::{self, Format as InventoryFormat};
use crate::job::{Inventory, JobSpec};
use clap::Args;
use std::path::PathBuf;

/// Which nodes and AMIs of the fleet are behind the signed releases.
///
/// Reads inventories: the JSON of `kubectl get nodes -o json` (each node's osImage, e.g.
/// "Bottlerocket OS 1.14.1 (aws-k8s-1.27)"), the JSON of `aws ec2 describe-instances` (each
/// instance's launch AMI, mapped to a version through SSM's per-version parameters), or a CSV
/// name,variant,arch,version. Verifies the Bottlerocket repository of every variant and
/// architecture in the fleet and judges each node: current, rolling_out (only releases still in
/// their waves are newer), behind (a due release is newer), unknown_version (not in the signed
/// manifest), not_bottlerocket, or unchecked.
///
/// An EC2 instance updated in place keeps its launch AMI: its verdict says what it was launched
/// from, and the report lists AMIs in use with how far behind each is (stale AMIs).
///
/// Exit codes: 0 no node behind, 1 findings, 2 could not run.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    kubectl get nodes -o json > nodes.json && tufwatch nodes --inventory nodes.json\n  \
    kubectl get nodes -o json | tufwatch nodes --inventory - --max-releases-behind 1\n  \
    aws ec2 describe-instances > ec2.json\n  \
    tufwatch nodes --inventory ec2.json --variant aws-ecs-2 --region us-west-2")]
pub struct NodesArgs {
    /// An inventory file, `-` for standard input (repeatable). A kubectl list in a file is read
    /// as a stream up to 2 GiB; an EC2 or CSV inventory, or standard input, up to 256 MiB.
    #[arg(long = "inventory", value_name = "FILE", required = true)]
    pub inventories: Vec<PathBuf>,

    /// The inventories' format [default: detected from the content].
    #[arg(long, value_enum)]
    pub inventory_format: Option<InventoryFormat>,

    /// Variants whose AMIs EC2 instances may run, looked up in SSM (repeatable) [default: the
    /// variants the other inventories name].
    #[arg(long = "variant", value_name = "VARIANT")]
    pub variants: Vec<String>,

    /// Architectures to look up in SSM for EC2 instances (repeatable) [default: both].
    #[arg(long = "arch", value_name = "ARCH")]
    pub archs: Vec<String>,

    /// SSM, read only for EC2 inventories or when --ssm-file is given.
    #[command(flatten)]
    pub ssm: SsmArgs,

    /// When nodes behind are findings.
    #[command(flatten)]
    pub policy: PolicyArgs,

    /// Verify at most N repositories at once.
    #[arg(long, value_name = "N", default_value = "4")]
    pub concurrency: usize,

    /// The trust anchor and repository settings.
    #[command(flatten)]
    pub common: CommonArgs,

    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    pub format: OutputFormat,
}

/// Run `nodes`; the result is the exit code.
pub async fn run(a: NodesArgs) -> Result<i32> {
    let format = a.format;
    let result = async {
        let (variants, archs) = variants_and_archs(&a.variants, &a.archs)?;
        let policy = a.policy.policy()?;
        if a.inventories
            .iter()
            .filter(|p| p.as_os_str() == "-")
            .count()
            > 1
        {
            return Err(crate::error::Error::Argument {
                flag: "--inventory",
                message: "standard input (-) can be read only once".to_owned(),
            });
        }
        let mut inventories = Vec::new();
        for path in &a.inventories {
            let (format, nodes) = inventory::read(path, a.inventory_format)?;
            inventories.push(Inventory {
                name: path.display().to_string(),
                format,
                nodes,
            });
        }
        let has_ec2 = inventories.iter().any(|i| i.format == InventoryFormat::Ec2);
        let ssm = if has_ec2 || !a.ssm.ssm_file.is_empty() {
            Some(a.ssm.spec(
                variants,
                archs,
                false,
                a.common.timeout,
                super::args::deadline("--deadline", a.common.deadline)?,
            )?)
        } else {
            None
        };
        let common = resolve_common(&a.common)?;
        crate::job::run(JobSpec {
            repos: Vec::new(),
            derive_repo: Some(bottlerocket_repos(common)),
            ssm,
            inventories,
            policy,
            from: None,
            at: a.common.at,
            concurrency: a.concurrency,
            evidence: false,
        })
        .await
    }
    .await;
    let made = crate::report::html::Made {
        from: Some("the command line of `tufwatch nodes`".to_owned()),
    };
    finish(result, format, &made)
}
