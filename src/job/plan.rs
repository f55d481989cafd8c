//! The plan of a job: its settings resolved into the repositories to verify (each with its
//! options and trust anchor), the SSM source, the inventories read, and the policy. Every
//! error names the setting at fault.

use crate::aws::client::LiveOptions;
use crate::engine::VerifyOptions;
use crate::error::{Error, Result};
use crate::fleet::inventory::{InventoryFormat, Node};
use crate::fleet::BehindLimits;
use crate::settings::{
    self, variants_and_archs, Ec2Settings, JobSettings, KubernetesSettings, RepositorySettings,
    Resolved, Setting, SsmSettings,
};
use crate::source::bottlerocket::Arch;
use crate::source::location::parse_location;
use crate::source::pins::{parse_sha512_arg, TrustedRoot};
use chrono::{DateTime, Utc};
use semver::Version;
use std::path::PathBuf;

/// Makes the repository of a Bottlerocket variant and architecture.
pub type RepoMaker = Box<dyn Fn(&str, Arch) -> Result<RepoSpec> + Send + Sync>;

/// One repository to verify.
#[derive(Clone)]
pub struct RepoSpec {
    /// How the report names it: `aws-k8s-1.31/x86_64`, or the name the config gives.
    pub name: String,
    /// Where it is and how to verify it.
    pub options: VerifyOptions,
    /// Its trust anchor.
    pub root: TrustedRoot,
    /// How evidence names it on any machine: the URI declared for it, else its metadata URL
    /// when that is an http(s) URL; none for a local copy nobody named.
    pub resource_uri: Option<String>,
}

/// Where SSM values come from.
#[derive(Debug, Clone)]
pub enum SsmSource {
    /// The AWS API (or the endpoint named).
    Live(LiveOptions),
    /// Files in the format of `aws ssm get-parameters-by-path` output.
    Files(Vec<PathBuf>),
}

/// The SSM part of a job.
#[derive(Debug, Clone)]
pub struct SsmSpec {
    /// Where from.
    pub source: SsmSource,
    /// Regions; for a live source, empty means the AWS configuration's default region.
    pub regions: Vec<String>,
    /// Variants to read; empty means those of the repositories (live) or every one (files).
    pub variants: Vec<String>,
    /// Architectures; empty means both.
    pub archs: Vec<Arch>,
    /// Cross-check against the signed manifests.
    pub cross_check: bool,
    /// Read only when a variant is in play (SSM then only maps launch AMIs to versions).
    pub optional: bool,
}

/// The EC2 part of a job, read live.
#[derive(Debug, Clone)]
pub struct Ec2Spec {
    /// Regions; the SSM regions, else the AWS configuration's default region, when empty.
    pub regions: Vec<String>,
    /// Accounts through roles; the base credentials' own when empty.
    pub roles: Vec<crate::aws::ec2::AssumeRole>,
    /// Accounts whose copies of Bottlerocket's AMIs are trusted besides its publisher.
    pub image_owners: Vec<String>,
    /// How to reach AWS.
    pub live: LiveOptions,
}

/// The Kubernetes part of a job: the clusters, their kubeconfigs read.
#[derive(Debug, Clone)]
pub struct KubernetesSpec {
    /// The clusters, each named once.
    pub clusters: Vec<crate::cluster::ClusterSpec>,
    /// The longest one call may take to connect, or between the bytes of an answer.
    pub attempt_timeout: std::time::Duration,
    /// The longest the whole read may take (the run's deadline).
    pub deadline: std::time::Duration,
}

/// An inventory, already read.
#[derive(Debug, Clone)]
pub struct LoadedInventory {
    /// Its file name (or `-`).
    pub name: String,
    /// Its format.
    pub format: InventoryFormat,
    /// Its nodes.
    pub nodes: Vec<Node>,
}

/// A job.
pub struct JobSpec {
    /// Repositories to verify, as given.
    pub repos: Vec<RepoSpec>,
    /// Makes the repository of a Bottlerocket variant and architecture that the inventories or
    /// SSM bring into play, when it is not among `repos`.
    pub derive_repo: Option<RepoMaker>,
    /// SSM, when asked.
    pub ssm: Option<SsmSpec>,
    /// EC2 read live, when asked.
    pub ec2: Option<Ec2Spec>,
    /// Kubernetes read live, when asked.
    pub kubernetes: Option<KubernetesSpec>,
    /// Inventories.
    pub inventories: Vec<LoadedInventory>,
    /// When being behind is a finding.
    pub policy: BehindLimits,
    /// Migrations from this version, when asked.
    pub from: Option<Version>,
    /// The reference time (`--at`), when not now.
    pub at: Option<DateTime<Utc>>,
    /// How many repositories are verified at once.
    pub concurrency: usize,
    /// Keep each repository's evidence files, for an evidence bundle of the job.
    pub evidence: Option<crate::settings::EvidenceSettings>,
    /// Waivers, the categories that fail the run, SSM's grace.
    pub nightly: crate::settings::NightlySettings,
}

/// Resolve a job's settings into its plan, in three steps: the settings checked alone, then the
/// files they name read (trust anchors, inventories), then the plan assembled without I/O.
/// Nothing is downloaded.
pub fn plan(s: &JobSettings) -> Result<JobSpec> {
    check(s)?;
    let inputs = Inputs::read(s)?;
    assemble(s, inputs)
}

/// The settings on their own, before any file is read.
fn check(s: &JobSettings) -> Result<()> {
    check_names(&s.repositories)?;
    if let Some(e) = &s.ec2 {
        ec2_regions(e)?;
    }
    s.policy.check().map_err(|e| Error::Setting {
        setting: Setting::MaxDaysBehind,
        message: e.to_string(),
    })
}

/// What a job's settings name outside the process, read: the trust anchors (each read and
/// pinned) and the inventories.
pub struct Inputs {
    /// The job's own anchor, when a repository needs it: the one given, or Bottlerocket's.
    pub shared_root: Option<TrustedRoot>,
    /// Each repository's own anchor, by its index (`None`: it takes the job's).
    pub own_roots: Vec<Option<TrustedRoot>>,
    /// The inventories.
    pub inventories: Vec<LoadedInventory>,
    /// The clusters, their kubeconfigs read.
    pub clusters: Vec<crate::cluster::ClusterSpec>,
}

impl Inputs {
    /// Read the anchors and the inventories the settings name.
    pub fn read(s: &JobSettings) -> Result<Self> {
        let needs_shared_root = s.common.root.is_some()
            || s.bottlerocket.is_some()
            || s.derive_repositories
            || s.repositories.iter().any(|r| r.root.is_none());
        let shared_root = needs_shared_root.then(|| s.common.anchor()).transpose()?;
        let own_roots = s
            .repositories
            .iter()
            .enumerate()
            .map(|(i, r)| {
                r.root
                    .as_ref()
                    .map(|path| own_root(s, i, r, path))
                    .transpose()
            })
            .collect::<Result<_>>()?;
        Ok(Inputs {
            shared_root,
            own_roots,
            inventories: read_inventories(s)?,
            clusters: read_clusters(&s.kubernetes)?,
        })
    }
}

/// A repository's own trust anchor, read and pinned to its own SHA-512 when one is given.
fn own_root(
    s: &JobSettings,
    i: usize,
    r: &RepositorySettings,
    path: &std::path::Path,
) -> Result<TrustedRoot> {
    let expected = r
        .root_sha512
        .as_deref()
        .map(|h| parse_sha512_arg(Setting::RepositoryRootSha512(i), h))
        .transpose()?;
    TrustedRoot::read(path, s.common.max_root_size.0)?.pin(expected.as_deref(), None)
}

/// The plan from the settings and what they name, read: no I/O.
pub fn assemble(s: &JobSettings, inputs: Inputs) -> Result<JobSpec> {
    let common = inputs
        .shared_root
        .map(|root| s.common.resolve_with(root))
        .transpose()?;
    let mut repos = Vec::new();
    for (i, (r, own)) in s.repositories.iter().zip(inputs.own_roots).enumerate() {
        repos.push(explicit_repo(s, common.as_ref(), i, r, own)?);
    }
    if let (Some(b), Some(c)) = (&s.bottlerocket, &common) {
        let (variants, archs) = variants_and_archs(&b.variants, &b.archs)?;
        for v in &variants {
            for arch in both_when_empty(archs.clone()) {
                repos.push(bottlerocket_repo(c, v, arch)?);
            }
        }
    }
    let derive_repo = match &common {
        Some(c) if s.bottlerocket.is_some() || s.derive_repositories => {
            Some(bottlerocket_repos(c.clone()))
        }
        _ => None,
    };
    let launch_amis = inputs
        .inventories
        .iter()
        .any(|i| i.format == InventoryFormat::Ec2)
        || s.ec2.is_some();
    let ssm = match &s.ssm {
        Some(ssm) if launch_amis || !ssm.only_for_launch_amis => Some(ssm_spec(ssm, s)?),
        _ => None,
    };
    if s.evidence.is_some() {
        named_in_evidence(s, &repos, common.as_ref().filter(|_| derive_repo.is_some()))?;
    }
    Ok(JobSpec {
        repos,
        derive_repo,
        ssm,
        ec2: s.ec2.as_ref().map(|e| ec2_spec(e, s)).transpose()?,
        kubernetes: kubernetes_spec(inputs.clusters, s)?,
        inventories: inputs.inventories,
        policy: s.policy,
        from: None,
        at: s.common.at,
        concurrency: s.concurrency,
        evidence: s.evidence.clone(),
        nightly: s.nightly.clone(),
    })
}

/// Both architectures, when none is named.
pub fn both_when_empty(archs: Vec<Arch>) -> Vec<Arch> {
    if archs.is_empty() {
        vec![Arch::X86_64, Arch::Aarch64]
    } else {
        archs
    }
}

/// Names identify repositories in every format (Prometheus labels too): unique, and apart
/// from Bottlerocket's `variant/arch` names.
fn check_names(repositories: &[RepositorySettings]) -> Result<()> {
    for (i, r) in repositories.iter().enumerate() {
        if r.name.is_empty()
            || r.name.contains('/')
            || repositories[..i].iter().any(|o| o.name == r.name)
        {
            return Err(Error::Setting {
                setting: Setting::RepositoryName(i),
                message: format!(
                    "{:?}: give each repository its own name, without '/'",
                    r.name
                ),
            });
        }
    }
    Ok(())
}

/// A repository at explicit locations, with its own trust anchor or the job's.
fn explicit_repo(
    s: &JobSettings,
    common: Option<&Resolved>,
    i: usize,
    r: &RepositorySettings,
    own_root: Option<TrustedRoot>,
) -> Result<RepoSpec> {
    let (root, base) = match (own_root, common) {
        (Some(root), Some(c)) => (root, c.clone()),
        (Some(root), None) => (root.clone(), s.common.resolve_with(root)?),
        (None, Some(c)) => (c.root.clone(), c.clone()),
        (None, None) => {
            return Err(Error::Setting {
                setting: Setting::RepositoryRoot(i),
                message: format!(
                    "repository {:?}: no root of its own and none for the job",
                    r.name
                ),
            })
        }
    };
    let options = base.options(
        parse_location(Setting::RepositoryMetadataUrl(i), &r.metadata_url)?,
        parse_location(Setting::RepositoryTargetsUrl(i), &r.targets_url)?,
        None,
        None,
    );
    let resource_uri = match &r.resource_uri {
        Some(uri) if !crate::source::location::is_uri(uri) => {
            return Err(Error::Setting {
                setting: Setting::RepositoryResourceUri(i),
                message: format!("{uri:?} is not a URI (scheme:...)"),
            })
        }
        Some(uri) => Some(uri.clone()),
        None => public_url(&options.metadata_url),
    };
    Ok(RepoSpec {
        name: r.name.clone(),
        options,
        root,
        resource_uri,
    })
}

/// A metadata URL that names the same repository on any machine: an http(s) one.
pub fn public_url(url: &url::Url) -> Option<String> {
    matches!(url.scheme(), "https" | "http").then(|| url.to_string())
}

/// A job that keeps evidence names every repository by a URI of its own (each statement's
/// `resourceUri`): a local copy needs the public URL declared, before anything is verified.
/// `derived` is the base of the Bottlerocket repositories the fleet and SSM may bring in.
fn named_in_evidence(
    s: &JobSettings,
    repos: &[RepoSpec],
    derived: Option<&Resolved>,
) -> Result<()> {
    if let Some(r) = repos.iter().find(|r| r.resource_uri.is_none()) {
        let setting = match s.repositories.iter().position(|x| x.name == r.name) {
            Some(i) => Setting::RepositoryResourceUri(i),
            None => Setting::RepoBase,
        };
        return Err(Error::Setting {
            setting,
            message: format!(
                "repository {:?} is read from {}, which names it on this machine only; evidence names a repository by a URL that means the same everywhere: declare its public URL (resource_uri), or read it from its https URL",
                r.name, r.options.metadata_url
            ),
        });
    }
    if let Some(c) = derived.filter(|c| public_url(&c.repo_base).is_none()) {
        return Err(Error::Setting {
            setting: Setting::RepoBase,
            message: format!(
                "the Bottlerocket repositories are read from {}, which names them on this machine only; evidence names a repository by a URL that means the same everywhere: read them from their https URL, or list each copy as a [[repository]] with its resource_uri",
                c.repo_base
            ),
        });
    }
    Ok(())
}

/// The repository of a Bottlerocket variant and architecture below the common settings' base.
fn bottlerocket_repo(common: &Resolved, variant: &str, arch: Arch) -> Result<RepoSpec> {
    let options = common.bottlerocket(variant, arch)?;
    Ok(RepoSpec {
        name: format!("{variant}/{arch}"),
        resource_uri: public_url(&options.metadata_url),
        options,
        root: common.root.clone(),
    })
}

/// A maker of Bottlerocket repositories below the common settings' base.
pub fn bottlerocket_repos(common: Resolved) -> RepoMaker {
    Box::new(move |variant, arch| bottlerocket_repo(&common, variant, arch))
}

/// The SSM part of a job: files when given, else the API.
fn ssm_spec(ssm: &SsmSettings, s: &JobSettings) -> Result<SsmSpec> {
    let mut regions: Vec<String> = Vec::new();
    for r in &ssm.regions {
        crate::ssm::check_region(r)?;
        if !regions.contains(r) {
            regions.push(r.clone());
        }
    }
    let (variants, archs) = variants_and_archs(&ssm.variants, &ssm.archs).map_err(|e| match e {
        Error::Setting {
            setting: Setting::Variant,
            message,
        } => Error::Setting {
            setting: Setting::SsmVariant,
            message,
        },
        e => e,
    })?;
    let source = if ssm.files.is_empty() {
        SsmSource::Live(live_options(ssm, s)?)
    } else {
        SsmSource::Files(ssm.files.clone())
    };
    Ok(SsmSpec {
        source,
        regions,
        variants,
        archs,
        cross_check: ssm.cross_check,
        optional: ssm.only_for_launch_amis,
    })
}

/// How to reach AWS: SSM's settings, and the run's timeouts and deadline.
fn live_options(ssm: &SsmSettings, s: &JobSettings) -> Result<LiveOptions> {
    Ok(LiveOptions {
        profile: ssm.profile.clone(),
        endpoint_url: ssm.endpoint_url.clone(),
        concurrency: ssm.concurrency.clamp(1, 64),
        max_attempts: ssm.max_attempts.clamp(1, 20),
        initial_backoff: ssm.backoff.to_std(),
        attempt_timeout: settings::timeout(s.common.timeout_secs),
        deadline: settings::deadline(s.common.deadline)?,
    })
}

/// How a job reaches AWS KMS to sign its evidence: as SSM is reached (profile, endpoint,
/// attempts), SSM's defaults when the job reads no SSM.
pub fn kms_options(s: &JobSettings) -> Result<LiveOptions> {
    live_options(s.ssm.as_ref().unwrap_or(&SsmSettings::default()), s)
}

/// The EC2 part of a job.
fn ec2_spec(ec2: &Ec2Settings, s: &JobSettings) -> Result<Ec2Spec> {
    let defaults = SsmSettings::default();
    Ok(Ec2Spec {
        regions: ec2_regions(ec2)?,
        roles: ec2.roles.clone(),
        image_owners: ec2.image_owners.clone(),
        live: live_options(s.ssm.as_ref().unwrap_or(&defaults), s)?,
    })
}

/// EC2's settings checked (regions, roles, trusted image owners); the regions, each once.
fn ec2_regions(ec2: &Ec2Settings) -> Result<Vec<String>> {
    let mut regions: Vec<String> = Vec::new();
    for r in &ec2.regions {
        crate::ssm::check_region(r).map_err(|e| match e {
            Error::Setting { message, .. } => Error::Setting {
                setting: Setting::Ec2Region,
                message,
            },
            e => e,
        })?;
        if !regions.contains(r) {
            regions.push(r.clone());
        }
    }
    for (i, role) in ec2.roles.iter().enumerate() {
        let again = ec2.roles[..i]
            .iter()
            .any(|other| other.account() == role.account());
        if again {
            return Err(Error::Setting {
                setting: Setting::AssumeRole(i),
                message: format!(
                    "{:?}: another role of the same account is read already; each account once",
                    role.role_arn
                ),
            });
        }
        if role.account().is_none() || !role.role_arn.contains(":role/") {
            return Err(Error::Setting {
                setting: Setting::AssumeRole(i),
                message: format!(
                    "{:?} is not a role ARN like arn:aws:iam::111122223333:role/tufwatch-read",
                    role.role_arn
                ),
            });
        }
    }
    if let Some(bad) = ec2
        .image_owners
        .iter()
        .find(|o| o.len() != 12 || !o.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(Error::Setting {
            setting: Setting::ImageOwners,
            message: format!("{bad:?} is not an AWS account id (12 digits)"),
        });
    }
    Ok(regions)
}

/// The Kubernetes part of a job, when it names clusters.
fn kubernetes_spec(
    clusters: Vec<crate::cluster::ClusterSpec>,
    s: &JobSettings,
) -> Result<Option<KubernetesSpec>> {
    if clusters.is_empty() {
        return Ok(None);
    }
    Ok(Some(KubernetesSpec {
        clusters,
        attempt_timeout: settings::timeout(s.common.timeout_secs),
        deadline: settings::deadline(s.common.deadline)?,
    }))
}

/// The clusters the settings name, each kubeconfig read (to a byte limit) and its context
/// found; each cluster named once.
fn read_clusters(clusters: &[KubernetesSettings]) -> Result<Vec<crate::cluster::ClusterSpec>> {
    let mut specs: Vec<crate::cluster::ClusterSpec> = Vec::new();
    for (i, k) in clusters.iter().enumerate() {
        let bad = |message: String| Error::Setting {
            setting: Setting::Kubernetes(i),
            message,
        };
        let spec = cluster_spec(k).map_err(|e| match e {
            Error::Setting { message, .. } => bad(message),
            e => e,
        })?;
        if specs.iter().any(|o| o.name == spec.name) {
            return Err(bad(format!(
                "a second cluster named {:?}: give each its own name",
                spec.name
            )));
        }
        specs.push(spec);
    }
    Ok(specs)
}

/// One cluster: the pod's service account, or a context of a kubeconfig (which must have it).
fn cluster_spec(k: &KubernetesSettings) -> Result<crate::cluster::ClusterSpec> {
    use crate::cluster::{ClusterSource, ClusterSpec};
    let setting = |message: String| Error::Setting {
        setting: Setting::Kubernetes(0),
        message,
    };
    if k.in_cluster {
        if k.kubeconfig.is_some() || k.context.is_some() {
            return Err(setting(
                "in_cluster uses the pod's service account: name no kubeconfig or context with it"
                    .to_owned(),
            ));
        }
        return Ok(ClusterSpec {
            name: k.name.clone().unwrap_or_else(|| "in-cluster".to_owned()),
            source: ClusterSource::InCluster,
        });
    }
    let kubeconfig = crate::cluster::read_kubeconfig(k.kubeconfig.as_deref())?;
    let context = k
        .context
        .clone()
        .or_else(|| kubeconfig.current_context.clone())
        .ok_or_else(|| setting("the kubeconfig has no current context: name one".to_owned()))?;
    if !kubeconfig.contexts.iter().any(|c| c.name == context) {
        let known: Vec<&str> = kubeconfig
            .contexts
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        return Err(setting(format!(
            "no context {context:?} in the kubeconfig (it has: {})",
            known.join(", ")
        )));
    }
    Ok(ClusterSpec {
        name: k.name.clone().unwrap_or_else(|| context.clone()),
        source: ClusterSource::Kubeconfig {
            kubeconfig: Box::new(kubeconfig),
            context: Some(context),
        },
    })
}

/// Read the inventories (standard input at most once).
fn read_inventories(s: &JobSettings) -> Result<Vec<LoadedInventory>> {
    let stdin = s.inventories.iter().filter(|i| i.path.as_os_str() == "-");
    if stdin.count() > 1 {
        return Err(Error::Setting {
            setting: Setting::Inventory,
            message: "standard input (-) can be read only once".to_owned(),
        });
    }
    s.inventories
        .iter()
        .map(|i| {
            let (format, nodes) = crate::fleet::inventory::read(&i.path, i.format)?;
            Ok(LoadedInventory {
                name: i.path.display().to_string(),
                format,
                nodes,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::{BottlerocketSettings, StateDir};

    fn anchor() -> TrustedRoot {
        let bytes = include_bytes!("../../fixtures/demo-repo/root.json").to_vec();
        TrustedRoot::parse("demo root.json", bytes).unwrap()
    }

    /// The plan is assembled from what was read alone: two Bottlerocket variants in both
    /// architectures and a named repository, with no file or network touched.
    #[test]
    fn a_plan_is_assembled_without_io() {
        let mut s = JobSettings::default();
        s.common.state_dir = StateDir::None;
        s.bottlerocket = Some(BottlerocketSettings {
            variants: vec!["aws-k8s-1.31".to_owned(), "aws-ecs-2".to_owned()],
            archs: Vec::new(),
        });
        s.repositories = vec![RepositorySettings {
            name: "mirror".to_owned(),
            metadata_url: "https://mirror.example/metadata".to_owned(),
            targets_url: "https://mirror.example/targets".to_owned(),
            root: Some(PathBuf::from("/nonexistent/root.json")),
            root_sha512: None,
            resource_uri: None,
        }];
        let inputs = Inputs {
            shared_root: Some(anchor()),
            own_roots: vec![Some(anchor())],
            inventories: Vec::new(),
            clusters: Vec::new(),
        };
        let spec = assemble(&s, inputs).unwrap();
        let names: Vec<&str> = spec.repos.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "mirror",
                "aws-k8s-1.31/x86_64",
                "aws-k8s-1.31/aarch64",
                "aws-ecs-2/x86_64",
                "aws-ecs-2/aarch64"
            ]
        );
        assert!(spec.derive_repo.is_some() && spec.ssm.is_none());
        assert_eq!(
            spec.repos[0].resource_uri.as_deref(),
            Some("https://mirror.example/metadata/")
        );
    }

    /// Evidence names each repository by a URI that means the same on any machine: a local
    /// copy must declare one, and is refused before anything is read otherwise.
    #[test]
    fn evidence_of_a_local_copy_needs_its_public_url() {
        let mut s = JobSettings::default();
        s.common.state_dir = StateDir::None;
        s.repositories = vec![RepositorySettings {
            name: "copy".to_owned(),
            metadata_url: std::env::temp_dir().display().to_string(),
            targets_url: std::env::temp_dir().display().to_string(),
            root: Some(PathBuf::from("/nonexistent/root.json")),
            root_sha512: None,
            resource_uri: None,
        }];
        s.evidence = Some(crate::settings::EvidenceSettings {
            keep: |_, _, _, _| Default::default(),
            verifier_id: "urn:x:y".to_owned(),
        });
        let inputs = || Inputs {
            shared_root: None,
            own_roots: vec![Some(anchor())],
            inventories: Vec::new(),
            clusters: Vec::new(),
        };
        let Err(Error::Setting { setting, message }) = assemble(&s, inputs()) else {
            panic!("a local copy without a public URL was accepted");
        };
        assert_eq!(setting, Setting::RepositoryResourceUri(0));
        assert!(message.contains("resource_uri"), "{message}");
        s.repositories[0].resource_uri = Some("not a uri".to_owned());
        assert!(assemble(&s, inputs()).is_err());
        s.repositories[0].resource_uri = Some("https://updates.example.com/copy/".to_owned());
        let spec = assemble(&s, inputs()).unwrap();
        assert_eq!(
            spec.repos[0].resource_uri.as_deref(),
            Some("https://updates.example.com/copy/")
        );
    }

    /// The settings are checked before any file is read: a bad name is the error, not the
    /// anchor that does not exist.
    #[test]
    fn settings_are_checked_before_files_are_read() {
        let repo = |name: &str| RepositorySettings {
            name: name.to_owned(),
            metadata_url: "https://a.example/m".to_owned(),
            targets_url: "https://a.example/t".to_owned(),
            root: Some(PathBuf::from("/nonexistent/root.json")),
            root_sha512: None,
            resource_uri: None,
        };
        let s = JobSettings {
            repositories: vec![repo("a"), repo("a")],
            ..JobSettings::default()
        };
        let Err(Error::Setting { setting, .. }) = plan(&s) else {
            panic!("a duplicate name must be refused first");
        };
        assert_eq!(setting, Setting::RepositoryName(1));
    }
}
