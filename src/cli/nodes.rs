//! `tufwatch nodes`.

use super::flags::{CommonArgs, PolicyArgs, SsmArgs};
use super::output::finish;
use crate::config::OutputFormat;
use crate::error::Result;
use crate::fleet::inventory::InventoryFormat;
use crate::settings::{
    defaults, Ec2Settings, InventorySettings, JobSettings, KubernetesSettings, SsmSettings,
};
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
/// Read from Kubernetes itself (--kube-context, --kubeconfig, --in-cluster), each node also
/// names its cluster and, where the Bottlerocket update operator runs, its update state beside
/// behind: updating, update_stuck (failed, or too long in one state: --update-stuck-after), or
/// no_updater; the last two need a person. Karpenter's EC2NodeClasses are launch paths: one
/// pinned to an older release than the due one is stale; one following bottlerocket@latest is
/// judged by SSM's value in its cluster's region, when SSM is read (--ssm-file here, [ssm] in
/// the nightly job).
///
/// Exit codes: 0 no node behind, 1 findings, 2 could not run.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    kubectl get nodes -o json > nodes.json && tufwatch nodes --inventory nodes.json\n  \
    kubectl get nodes -o json | tufwatch nodes --inventory - --max-releases-behind 1\n  \
    aws ec2 describe-instances > ec2.json\n  \
    tufwatch nodes --inventory ec2.json --variant aws-ecs-2 --region us-west-2\n  \
    tufwatch nodes --ec2 --region us-west-2 --region eu-west-1\n  \
    tufwatch nodes --kube-context prod --kube-context staging\n  \
    tufwatch nodes --ec2 --region us-east-1 --assume-role arn:aws:iam::111122223333:role/tufwatch-read")]
pub struct NodesArgs {
    /// An inventory file, `-` for standard input (repeatable). A kubectl list in a file is read
    /// as a stream up to 2 GiB; an EC2 or CSV inventory, or standard input, up to 256 MiB.
    #[arg(
        long = "inventory",
        value_name = "FILE",
        required_unless_present_any = ["ec2", "kube_contexts", "kubeconfig", "in_cluster"]
    )]
    pub inventories: Vec<PathBuf>,

    /// Read the nodes of this kubeconfig context's cluster through the Kubernetes API
    /// (repeatable), with the update operator's state of each node and Karpenter's
    /// EC2NodeClasses.
    #[arg(long = "kube-context", value_name = "CONTEXT")]
    pub kube_contexts: Vec<String>,

    /// The kubeconfig of --kube-context; alone, read its current context's cluster [default:
    /// $KUBECONFIG, else ~/.kube/config].
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,

    /// Read the cluster this runs in, with the pod's service account (a CronJob).
    #[arg(long)]
    pub in_cluster: bool,

    /// Read the running and pending instances from EC2 itself (in each --region, with the
    /// credentials SSM uses), and describe the AMIs they were launched from: each instance's
    /// version is its launch AMI's name, and an AMI gone, deprecated or not from Bottlerocket's
    /// publisher is said.
    #[arg(long)]
    pub ec2: bool,

    /// Read EC2 in this account, through this role assumed from the base credentials
    /// (repeatable; with --ec2) [default: the base credentials' own account].
    #[arg(long = "assume-role", value_name = "ARN", requires = "ec2")]
    pub assume_roles: Vec<String>,

    /// Trust copies of Bottlerocket's AMIs owned by this account, besides Bottlerocket's
    /// publisher (repeatable; with --ec2).
    #[arg(long = "image-owner", value_name = "ACCOUNT", requires = "ec2")]
    pub image_owners: Vec<String>,

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
    #[arg(long, value_name = "N", default_value_t = defaults::CONCURRENCY)]
    pub concurrency: usize,

    /// The trust anchor and repository settings.
    #[command(flatten)]
    pub common: CommonArgs,

    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    pub format: OutputFormat,
}

/// The clusters the flags name: each context, else the kubeconfig's current one; and the
/// cluster this runs in.
fn clusters(a: &NodesArgs) -> Vec<KubernetesSettings> {
    let mut clusters: Vec<KubernetesSettings> = a
        .kube_contexts
        .iter()
        .map(|c| KubernetesSettings {
            kubeconfig: a.kubeconfig.clone(),
            context: Some(c.clone()),
            ..KubernetesSettings::default()
        })
        .collect();
    if clusters.is_empty() && a.kubeconfig.is_some() {
        clusters.push(KubernetesSettings {
            kubeconfig: a.kubeconfig.clone(),
            ..KubernetesSettings::default()
        });
    }
    if a.in_cluster {
        clusters.push(KubernetesSettings {
            in_cluster: true,
            ..KubernetesSettings::default()
        });
    }
    clusters
}

/// Run `nodes`; the result is the exit code.
pub async fn run(a: NodesArgs) -> Result<i32> {
    let inventories = a
        .inventories
        .iter()
        .map(|path| InventorySettings {
            path: path.clone(),
            format: a.inventory_format,
        })
        .collect();
    let settings = JobSettings {
        common: a.common.settings(),
        derive_repositories: true,
        ssm: Some(SsmSettings {
            // EC2 instances need SSM to map their launch AMIs to versions; files are read
            // whenever they are given.
            only_for_launch_amis: a.ssm.ssm_file.is_empty(),
            ..a.ssm.settings(&a.variants, &a.archs, false)
        }),
        ec2: a.ec2.then(|| Ec2Settings {
            regions: a.ssm.regions.clone(),
            roles: a
                .assume_roles
                .iter()
                .map(|arn| crate::aws::ec2::AssumeRole {
                    role_arn: arn.clone(),
                    external_id: None,
                    session_name: None,
                })
                .collect(),
            image_owners: a.image_owners.clone(),
        }),
        inventories,
        kubernetes: clusters(&a),
        policy: a.policy.policy(),
        concurrency: a.concurrency,
        ..JobSettings::default()
    };
    let result = super::run_job(&settings, super::names::SettingsFrom::Flags, &[]).await;
    let made = crate::present::html::Made {
        from: Some("the command line of `tufwatch nodes`".to_owned()),
    };
    finish(result, a.format, &made)
}
