//! The fleet read from EC2 itself (aws-sdk-ec2): the running and pending instances of each
//! region and account asked, and the AMIs they were launched from and that SSM names.
//!
//! The calls are as few as the question allows: per account and region, `DescribeInstances`
//! (up to 1000 instances a page, to the last page), then one `DescribeImages` for up to 200 of
//! the AMIs in use (and, in the first account, those SSM's `latest` names); per account read
//! through a role, one `AssumeRole`; for the base credentials, one `GetCallerIdentity` to name
//! the account. Calls run concurrently across regions and accounts up to a bound, throttling
//! (`RequestLimitExceeded`) and server errors are retried with backoff by the SDK, and every
//! attempt is counted. An account or region that cannot be read is said in the report; the
//! others still are.

use super::client::{describe, every_page, CallError, CapResponse, CountAttempts, LiveOptions};
use super::groups::{GroupCalls, GroupClients};
use super::model::{
    GroupLaunch, ImageFacts, Images, LaunchPaths, LaunchTemplateFacts, LiveInstance, TemplateRef,
};
use crate::report::{Code, Finding};
use aws_config::SdkConfig;
use aws_sdk_ec2::config::Region;
use aws_sdk_ec2::types::Filter;
use chrono::{DateTime, Utc};
use futures::stream::{self, StreamExt};
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// The largest EC2 response body read: a page of 1000 instances is a few MB.
pub const MAX_RESPONSE: usize = 64 << 20;

/// Images described in one `DescribeImages` call (EC2 takes up to 200 filter values).
const IMAGES_PER_CALL: usize = 200;

/// An account read through a role assumed from the base credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssumeRole {
    /// The role's ARN (`arn:aws:iam::111122223333:role/tufwatch-read`).
    pub role_arn: String,
    /// The external id the role's trust policy demands, if any.
    pub external_id: Option<String>,
    /// The session name CloudTrail shows (`tufwatch` when not given).
    pub session_name: Option<String>,
}

impl AssumeRole {
    /// The account the role belongs to, from its ARN.
    pub fn account(&self) -> Option<&str> {
        let mut parts = self.role_arn.split(':');
        let account = parts.nth(4)?;
        (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())).then_some(account)
    }
}

/// What to read.
#[derive(Debug, Clone, Default)]
pub struct Ec2Query {
    /// The regions.
    pub regions: Vec<String>,
    /// The accounts, through their roles; empty: the base credentials' own account.
    pub roles: Vec<AssumeRole>,
    /// AMIs SSM's `latest` names, by region: described in the first account too.
    pub ssm_images: Vec<(String, String)>,
}

/// Calls made to EC2 and STS.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ec2Calls {
    /// `DescribeInstances` operations (one per page).
    pub describe_instances: u64,
    /// `DescribeImages` operations.
    pub describe_images: u64,
    /// `DescribeLaunchTemplateVersions` operations (one per page).
    #[serde(default)]
    pub describe_launch_template_versions: u64,
    /// `DescribeAutoScalingGroups` operations (one per page).
    #[serde(default)]
    pub describe_auto_scaling_groups: u64,
    /// `DescribeLaunchConfigurations` operations (one per page), for the configurations groups
    /// launch from.
    #[serde(default)]
    pub describe_launch_configurations: u64,
    /// EKS operations: `ListClusters` and `ListNodegroups` pages, `DescribeNodegroup`.
    #[serde(default)]
    pub eks: u64,
    /// `AssumeRole` and `GetCallerIdentity` operations.
    pub sts: u64,
    /// HTTP requests sent, retries included.
    pub attempts: u64,
}

impl Ec2Calls {
    /// The sum of two counts.
    pub fn plus(self, o: Ec2Calls) -> Ec2Calls {
        Ec2Calls {
            describe_instances: self.describe_instances + o.describe_instances,
            describe_images: self.describe_images + o.describe_images,
            describe_launch_template_versions: self.describe_launch_template_versions
                + o.describe_launch_template_versions,
            describe_auto_scaling_groups: self.describe_auto_scaling_groups
                + o.describe_auto_scaling_groups,
            describe_launch_configurations: self.describe_launch_configurations
                + o.describe_launch_configurations,
            eks: self.eks + o.eks,
            sts: self.sts + o.sts,
            attempts: self.attempts + o.attempts,
        }
    }

    /// The operations made to EC2, Auto Scaling and EKS (STS's and the attempts aside).
    pub fn operations(&self) -> u64 {
        self.describe_instances
            + self.describe_images
            + self.describe_launch_template_versions
            + self.describe_auto_scaling_groups
            + self.describe_launch_configurations
            + self.eks
    }
}

/// How reading one account went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountRead {
    /// The account id.
    pub account: String,
    /// The role it was read through; none for the base credentials.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    /// Why it could not be read at all (its role could not be assumed).
    pub error: Option<String>,
}

/// How reading one region of one account went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegionRead {
    /// The account.
    pub account: String,
    /// The region.
    pub region: String,
    /// Running and pending instances found.
    pub instances: u64,
    /// Calls made for it.
    pub calls: Ec2Calls,
    /// Why it could not be read completely; `None` when it was.
    pub error: Option<String>,
}

/// What EC2 was asked and how each account and region went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ec2Report {
    /// When it was read.
    pub observed_at: DateTime<Utc>,
    /// Each account.
    pub accounts: Vec<AccountRead>,
    /// Each region of each account read.
    pub regions: Vec<RegionRead>,
    /// Calls made in all.
    pub calls: Ec2Calls,
}

impl Ec2Report {
    /// An account or region that could not be read leaves the run incomplete.
    pub fn findings(&self) -> Vec<Finding> {
        let accounts = self.accounts.iter().filter_map(|a| {
            let why = a.error.as_ref()?;
            Some(
                Finding::error(
                    Code::Ec2Unavailable,
                    format!("account {}: {why}", a.account),
                )
                .about(crate::report::Subject {
                    account: Some(a.account.clone()),
                    ..Default::default()
                }),
            )
        });
        let regions = self.regions.iter().filter_map(|r| {
            let why = r.error.as_ref()?;
            Some(
                Finding::error(
                    Code::Ec2Unavailable,
                    format!("EC2 in {} (account {}): {why}", r.region, r.account),
                )
                .about(crate::report::Subject {
                    region: Some(r.region.clone()),
                    account: Some(r.account.clone()),
                    ..Default::default()
                }),
            )
        });
        accounts.chain(regions).collect()
    }
}

/// What EC2 gave: the report, every instance, and every image described.
pub struct Ec2Observations {
    /// How the read went.
    pub report: Ec2Report,
    /// The running and pending instances.
    pub instances: Vec<LiveInstance>,
    /// The AMIs described.
    pub images: Images,
    /// The launch paths: what the next instances boot.
    pub launch_paths: LaunchPaths,
    /// The first account read, for the images SSM names once it is read.
    first: Option<Reader>,
    /// The read's deadline, which describing SSM's images shares.
    deadline: Option<tokio::time::Instant>,
}

/// One account with the configuration its calls are made with.
struct Reader {
    account: String,
    config: SdkConfig,
}

/// Read every region of every account `query` asks, with the base configuration `base`
/// ([`load_config`]), by `deadline`.
///
/// [`load_config`]: super::client::load_config
pub async fn observe(
    base: &SdkConfig,
    options: &LiveOptions,
    query: &Ec2Query,
    deadline: tokio::time::Instant,
) -> Ec2Observations {
    let observed_at = Utc::now();
    let (readers, accounts, sts_calls) = readers(base, options, query, deadline).await;
    let jobs: Vec<(usize, &String)> = (0..readers.len())
        .flat_map(|i| query.regions.iter().map(move |r| (i, r)))
        .collect();
    let results: Vec<RegionResult> = stream::iter(jobs)
        .map(|(i, region)| {
            let reader = &readers[i];
            let ssm_images: Vec<&str> = if i == 0 {
                query
                    .ssm_images
                    .iter()
                    .filter(|(r, _)| r == region)
                    .map(|(_, id)| id.as_str())
                    .collect()
            } else {
                Vec::new()
            };
            read_region_in_time(reader, options, region, ssm_images, deadline)
        })
        .buffer_unordered(options.concurrency.max(1))
        .collect()
        .await;
    let mut observed = assemble(observed_at, accounts, sts_calls, results);
    observed.first = readers.into_iter().next();
    observed.deadline = Some(deadline);
    observed
}

/// Describe more images in the first account (SSM's, once SSM is read), `(region, id)` each,
/// skipping those already described; the calls are counted in the report. A region that
/// cannot describe them is said in its result.
pub async fn describe_more(
    observed: &mut Ec2Observations,
    options: &LiveOptions,
    wanted: &[(String, String)],
) {
    let Some(reader) = &observed.first else {
        return;
    };
    let deadline = observed
        .deadline
        .unwrap_or_else(|| tokio::time::Instant::now() + options.deadline);
    let mut by_region: std::collections::BTreeMap<&str, Vec<String>> = Default::default();
    for (region, id) in wanted {
        let read = observed.images.was_described(&reader.account, region);
        if read && observed.images.get(&reader.account, region, id).is_none() {
            by_region.entry(region).or_default().push(id.clone());
        }
    }
    for (region, mut ids) in by_region {
        ids.sort();
        ids.dedup();
        let (count, attempts) = CountAttempts::new();
        let client = ec2_client(reader, options, region, count);
        let mut calls = Ec2Calls::default();
        let described = describe_images(&client, reader, region, &ids, &mut calls);
        let outcome = tokio::time::timeout_at(deadline, described)
            .await
            .unwrap_or(Err(CallError::PastDeadline(options.deadline)));
        calls.attempts = attempts.load(Ordering::Relaxed);
        observed.report.calls = observed.report.calls.plus(calls);
        let result = observed
            .report
            .regions
            .iter_mut()
            .find(|r| r.account == reader.account && r.region == region);
        if let Some(r) = result {
            r.calls = r.calls.plus(calls);
            if let Err(e) = &outcome {
                r.error.get_or_insert_with(|| e.to_string());
            }
        }
        match outcome {
            Ok(images) => images.into_iter().for_each(|f| observed.images.insert(f)),
            Err(_) => observed.images.not_described(&reader.account, region),
        }
    }
}

/// An EC2 client of `reader`'s account in `region`, with the retries, timeouts, attempt count
/// and response cap of `options`.
fn ec2_client(
    reader: &Reader,
    options: &LiveOptions,
    region: &str,
    count: CountAttempts,
) -> aws_sdk_ec2::Client {
    let conf = aws_sdk_ec2::config::Builder::from(&reader.config)
        .region(Region::new(region.to_owned()))
        .retry_config(options.retry_config())
        .timeout_config(options.timeout_config())
        .interceptor(count)
        .interceptor(CapResponse(MAX_RESPONSE))
        .build();
    aws_sdk_ec2::Client::from_conf(conf)
}

/// The accounts to read, each with its configuration: the roles asked (each assumed once), or
/// the base credentials' own account. An account whose role cannot be assumed is reported.
async fn readers(
    base: &SdkConfig,
    options: &LiveOptions,
    query: &Ec2Query,
    deadline: tokio::time::Instant,
) -> (Vec<Reader>, Vec<AccountRead>, Ec2Calls) {
    let mut calls = Ec2Calls::default();
    let mut readers = Vec::new();
    let mut accounts = Vec::new();
    // STS is asked in the first region read: a region of the partition the accounts are in.
    let sts_region = query
        .regions
        .first()
        .map(|r| Region::new(r.clone()))
        .or_else(|| base.region().cloned());
    let base = &base.to_builder().region(sts_region).build();
    let (_, sts_attempts) = CountAttempts::new();
    let sts = sts_client(base, options, &sts_attempts);
    if query.roles.is_empty() {
        calls.sts += 1;
        let (account, error) = match in_time(deadline, options, caller_account(&sts)).await {
            Ok(account) => (account, None),
            Err(e) => ("(base credentials)".to_owned(), Some(e.to_string())),
        };
        if error.is_none() {
            readers.push(Reader {
                account: account.clone(),
                config: base.clone(),
            });
        }
        accounts.push(AccountRead {
            account,
            role_arn: None,
            error,
        });
        calls.attempts = sts_attempts.load(Ordering::Relaxed);
        return (readers, accounts, calls);
    }
    for role in &query.roles {
        calls.sts += 1;
        let account = role.account().unwrap_or(&role.role_arn).to_owned();
        let error = match in_time(deadline, options, assume(base, &sts, role)).await {
            Ok(config) => {
                readers.push(Reader {
                    account: account.clone(),
                    config,
                });
                None
            }
            Err(e) => Some(e.to_string()),
        };
        accounts.push(AccountRead {
            account,
            role_arn: Some(role.role_arn.clone()),
            error,
        });
    }
    // Later renewals are not counted: a run that outlives its credentials is rare.
    calls.attempts = sts_attempts.load(Ordering::Relaxed);
    (readers, accounts, calls)
}

/// A future within the run's deadline.
async fn in_time<T>(
    deadline: tokio::time::Instant,
    options: &LiveOptions,
    f: impl std::future::Future<Output = Result<T, CallError>>,
) -> Result<T, CallError> {
    tokio::time::timeout_at(deadline, f)
        .await
        .unwrap_or(Err(CallError::PastDeadline(options.deadline)))
}

/// The largest STS response read (an answer is a few kB).
const MAX_STS_RESPONSE: usize = 1 << 20;

/// An STS client with the run's retries, timeouts, response cap and attempt count.
fn sts_client(
    base: &SdkConfig,
    options: &LiveOptions,
    attempts: &Arc<AtomicU64>,
) -> aws_sdk_sts::Client {
    let conf = aws_sdk_sts::config::Builder::from(base)
        .retry_config(options.retry_config())
        .timeout_config(options.timeout_config())
        .interceptor(CountAttempts(attempts.clone()))
        .interceptor(CapResponse(MAX_STS_RESPONSE))
        .build();
    aws_sdk_sts::Client::from_conf(conf)
}

/// The base credentials' account (`GetCallerIdentity`).
async fn caller_account(sts: &aws_sdk_sts::Client) -> Result<String, CallError> {
    let out = sts
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| describe("GetCallerIdentity", &e))?;
    Ok(out.account().unwrap_or("(unknown)").to_owned())
}

/// The configuration of an account read through `role`: its credentials come from `AssumeRole`
/// with the base credentials, asked once here (so a role that cannot be assumed is known before
/// any region is read), then used by every call until they near their expiry.
async fn assume(
    base: &SdkConfig,
    sts: &aws_sdk_sts::Client,
    role: &AssumeRole,
) -> Result<SdkConfig, CallError> {
    use aws_sdk_ec2::config::SharedCredentialsProvider;
    let checked = assume_once(sts, role).await?;
    let assumed = Assumed {
        checked: std::sync::Mutex::new(Some(checked)),
        sts: sts.clone(),
        role: role.clone(),
    };
    Ok(base
        .to_builder()
        .credentials_provider(SharedCredentialsProvider::new(assumed))
        .build())
}

/// One `AssumeRole`: the role's temporary credentials.
async fn assume_once(
    sts: &aws_sdk_sts::Client,
    role: &AssumeRole,
) -> Result<aws_credential_types::Credentials, CallError> {
    let operation = format!("AssumeRole {}", role.role_arn);
    let out = sts
        .assume_role()
        .role_arn(&role.role_arn)
        .role_session_name(role.session_name.as_deref().unwrap_or("tufwatch"))
        .set_external_id(role.external_id.clone())
        .send()
        .await
        .map_err(|e| describe(&operation, &e))?;
    let c = out.credentials().ok_or_else(|| CallError::Transport {
        operation: operation.clone(),
        why: "STS answered without credentials".to_owned(),
    })?;
    Ok(aws_credential_types::Credentials::new(
        c.access_key_id(),
        c.secret_access_key(),
        Some(c.session_token().to_owned()),
        std::time::SystemTime::try_from(*c.expiration()).ok(),
        "tufwatch-assume-role",
    ))
}

/// An account's credentials: those the role's check got, used until five minutes before they
/// expire (so that the check is the only `AssumeRole` of a run shorter than a session), then
/// the role assumed again.
#[derive(Debug)]
struct Assumed {
    checked: std::sync::Mutex<Option<aws_credential_types::Credentials>>,
    sts: aws_sdk_sts::Client,
    role: AssumeRole,
}

impl aws_credential_types::provider::ProvideCredentials for Assumed {
    fn provide_credentials<'a>(
        &'a self,
    ) -> aws_credential_types::provider::future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        use aws_credential_types::provider::{error::CredentialsError, future};
        let margin = std::time::SystemTime::now() + std::time::Duration::from_secs(300);
        let fresh = self
            .checked
            .lock()
            .ok()
            .and_then(|mut c| c.take())
            .filter(|c| c.expiry().is_none_or(|e| e > margin));
        match fresh {
            Some(c) => future::ProvideCredentials::ready(Ok(c)),
            None => future::ProvideCredentials::new(async move {
                assume_once(&self.sts, &self.role)
                    .await
                    .map_err(CredentialsError::provider_error)
            }),
        }
    }
}

/// What one region of one account gave.
struct RegionResult {
    read: RegionRead,
    instances: Vec<LiveInstance>,
    images: Vec<ImageFacts>,
    launch_paths: LaunchPaths,
    /// Whether every image asked was described (so one not found is gone).
    described: bool,
}

/// One region of one account, within the run's deadline.
async fn read_region_in_time(
    reader: &Reader,
    options: &LiveOptions,
    region: &str,
    ssm_images: Vec<&str>,
    deadline: tokio::time::Instant,
) -> RegionResult {
    let (count, attempts) = CountAttempts::new();
    let client = ec2_client(reader, options, region, count);
    let groups = GroupClients::new(&reader.config, options, region, &attempts);
    let mut calls = Ec2Calls::default();
    let mut facts = RegionFacts::default();
    let read = read_region(
        &client,
        &groups,
        reader,
        region,
        &ssm_images,
        &mut calls,
        &mut facts,
    );
    let outcome = tokio::time::timeout_at(deadline, read)
        .await
        .unwrap_or(Err(CallError::PastDeadline(options.deadline)));
    calls.attempts = attempts.load(Ordering::Relaxed);
    let error = outcome.err().map(|e| e.to_string());
    // What was read before a call failed is kept: the instances are judged even when, say, the
    // launch templates could not be read.
    let RegionFacts {
        instances,
        images,
        launch_paths,
        images_described,
    } = facts;
    RegionResult {
        read: RegionRead {
            account: reader.account.clone(),
            region: region.to_owned(),
            instances: instances.len() as u64,
            calls,
            error,
        },
        instances,
        images,
        launch_paths,
        described: images_described,
    }
}

/// What one region of one account holds, as far as it was read.
#[derive(Default)]
struct RegionFacts {
    instances: Vec<LiveInstance>,
    images: Vec<ImageFacts>,
    launch_paths: LaunchPaths,
    /// Whether every image asked was described (so one not found is not available).
    images_described: bool,
}

/// The instances of one region, its launch paths, then the images they and SSM name, each
/// kept in `facts` as it is read. A failure of the launch paths does not keep the images of
/// the instances from being described; the first failure is the result.
async fn read_region(
    client: &aws_sdk_ec2::Client,
    groups: &GroupClients,
    reader: &Reader,
    region: &str,
    ssm_images: &[&str],
    calls: &mut Ec2Calls,
    facts: &mut RegionFacts,
) -> Result<(), CallError> {
    facts.instances = describe_instances(client, reader, region, calls).await?;
    let launch_paths = read_launch_paths(client, groups, reader, region, calls, facts).await;
    let mut ids: Vec<String> = facts
        .instances
        .iter()
        .filter_map(|i| i.image_id.clone())
        .chain(facts.launch_paths.images().map(str::to_owned))
        .chain(ssm_images.iter().map(|s| (*s).to_owned()))
        .collect();
    ids.sort();
    ids.dedup();
    facts.images = describe_images(client, reader, region, &ids, calls).await?;
    facts.images_described = true;
    launch_paths
}

/// The launch templates, Auto Scaling groups and EKS node groups of one region, then the
/// launch configurations and template versions the groups name, each kept in `facts` as it is
/// read.
async fn read_launch_paths(
    client: &aws_sdk_ec2::Client,
    groups: &GroupClients,
    reader: &Reader,
    region: &str,
    calls: &mut Ec2Calls,
    facts: &mut RegionFacts,
) -> Result<(), CallError> {
    let paths = &mut facts.launch_paths;
    paths.templates = describe_launch_templates(client, reader, region, calls).await?;
    let mut group_calls = GroupCalls::default();
    let read = read_groups(groups, &reader.account, region, &mut group_calls, paths).await;
    calls.describe_auto_scaling_groups += group_calls.describe_auto_scaling_groups;
    calls.describe_launch_configurations += group_calls.describe_launch_configurations;
    calls.eks += group_calls.eks;
    // The versions the groups read name, even when a later listing failed.
    let named = named_versions(paths);
    for (id, versions) in named {
        let versions =
            describe_template_versions(client, reader, region, &id, versions, calls).await?;
        paths.templates.extend(versions);
    }
    read
}

/// The Auto Scaling groups, the EKS node groups and the launch configurations the groups name,
/// of one region, each kept in `paths` as it is read.
async fn read_groups(
    groups: &GroupClients,
    account: &str,
    region: &str,
    calls: &mut GroupCalls,
    paths: &mut LaunchPaths,
) -> Result<(), CallError> {
    use super::groups::{auto_scaling_groups, launch_configurations, node_groups};
    paths.auto_scaling_groups = auto_scaling_groups(groups, account, region, calls).await?;
    paths.node_groups = node_groups(groups, account, region, calls).await?;
    // Last: a policy written before launch configurations were read (no
    // `autoscaling:DescribeLaunchConfigurations`) loses nothing else.
    let mut names: Vec<String> = paths
        .auto_scaling_groups
        .iter()
        .filter_map(|g| match &g.launch {
            GroupLaunch::LaunchConfiguration(name) => Some(name.clone()),
            _ => None,
        })
        .collect();
    names.sort();
    names.dedup();
    match launch_configurations(groups, account, region, &names, calls).await {
        Ok(read) => paths.launch_configurations = read,
        Err(e) => {
            paths
                .configurations_unread
                .push((account.to_owned(), region.to_owned()));
            return Err(e);
        }
    }
    Ok(())
}

/// The template versions groups name by number that are not the default or the latest (read
/// already), by template id.
fn named_versions(paths: &LaunchPaths) -> std::collections::BTreeMap<String, Vec<String>> {
    let read = &paths.templates;
    let refs = paths
        .auto_scaling_groups
        .iter()
        .filter_map(|g| match &g.launch {
            GroupLaunch::Template(t) => Some(t),
            _ => None,
        })
        .chain(paths.node_groups.iter().filter_map(|g| g.template.as_ref()));
    let mut out: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for r in refs {
        let Some(number) = r.version.as_deref().and_then(|v| v.parse::<i64>().ok()) else {
            continue;
        };
        let Some(template) = read.iter().find(|t| template_is(t, r)) else {
            continue;
        };
        let known = read
            .iter()
            .any(|t| t.template_id == template.template_id && t.version == number);
        let wanted = out.entry(template.template_id.clone()).or_default();
        if !known && !wanted.contains(&number.to_string()) {
            wanted.push(number.to_string());
        }
    }
    out.retain(|_, v| !v.is_empty());
    out
}

/// Whether a template version belongs to the template a group names.
pub fn template_is(t: &LaunchTemplateFacts, r: &TemplateRef) -> bool {
    r.id.as_deref() == Some(t.template_id.as_str())
        || r.name.as_deref() == Some(t.template_name.as_str())
}

/// Numbered versions of one launch template.
async fn describe_template_versions(
    client: &aws_sdk_ec2::Client,
    reader: &Reader,
    region: &str,
    id: &str,
    versions: Vec<String>,
    calls: &mut Ec2Calls,
) -> Result<Vec<LaunchTemplateFacts>, CallError> {
    calls.describe_launch_template_versions += 1;
    let page = client
        .describe_launch_template_versions()
        .launch_template_id(id)
        .set_versions(Some(versions))
        .resolve_alias(true)
        .send()
        .await
        .map_err(|e| describe(&format!("DescribeLaunchTemplateVersions {id}"), &e))?;
    Ok(page
        .launch_template_versions()
        .iter()
        .filter_map(|v| template_facts(v, reader, region))
        .collect())
}

/// A launch template version as tufwatch keeps it.
fn template_facts(
    v: &aws_sdk_ec2::types::LaunchTemplateVersion,
    reader: &Reader,
    region: &str,
) -> Option<LaunchTemplateFacts> {
    let id = v.launch_template_id()?;
    Some(LaunchTemplateFacts {
        account: reader.account.clone(),
        region: region.to_owned(),
        template_id: id.to_owned(),
        template_name: v.launch_template_name().unwrap_or(id).to_owned(),
        version: v.version_number()?,
        default: v.default_version().unwrap_or(false),
        image: v
            .launch_template_data()
            .and_then(|d| d.image_id())
            .map(str::to_owned),
    })
}

/// The default and the latest version of every launch template of the region, page after
/// page (one call for them all: `Versions` `$Default` and `$Latest`, no template named).
async fn describe_launch_templates(
    client: &aws_sdk_ec2::Client,
    reader: &Reader,
    region: &str,
    calls: &mut Ec2Calls,
) -> Result<Vec<LaunchTemplateFacts>, CallError> {
    let operation = "DescribeLaunchTemplateVersions";
    let listed = every_page(
        operation,
        &mut calls.describe_launch_template_versions,
        |token| async {
            let page = client
                .describe_launch_template_versions()
                .versions("$Default")
                .versions("$Latest")
                // `resolve:ssm:` as the AMI id the parameter gives now, version or label included.
                .resolve_alias(true)
                .include_managed_resources(true)
                .max_results(200)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| describe(operation, &e))?;
            let facts = page
                .launch_template_versions()
                .iter()
                .filter_map(|v| template_facts(v, reader, region))
                .collect();
            Ok((facts, page.next_token().map(str::to_owned)))
        },
    )
    .await?;
    // $Default and $Latest are often one version: kept once.
    let mut seen = std::collections::HashSet::new();
    Ok(listed
        .into_iter()
        .filter(|t| seen.insert((t.template_id.clone(), t.version)))
        .collect())
}

/// Every running and pending instance of the region, page after page.
async fn describe_instances(
    client: &aws_sdk_ec2::Client,
    reader: &Reader,
    region: &str,
    calls: &mut Ec2Calls,
) -> Result<Vec<LiveInstance>, CallError> {
    let running = Filter::builder()
        .name("instance-state-name")
        .values("running")
        .values("pending")
        .build();
    every_page(
        "DescribeInstances",
        &mut calls.describe_instances,
        |token| async {
            let page = client
                .describe_instances()
                .filters(running.clone())
                // An account may hide AWS-managed instances (EKS Auto Mode's) from Describe calls.
                .include_managed_resources(true)
                .max_results(1000)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| describe("DescribeInstances", &e))?;
            let instances = page
                .reservations()
                .iter()
                .flat_map(|r| r.instances())
                .filter_map(|i| live_instance(i, reader, region))
                .collect();
            Ok((instances, page.next_token().map(str::to_owned)))
        },
    )
    .await
}

/// An instance as tufwatch keeps it.
fn live_instance(
    i: &aws_sdk_ec2::types::Instance,
    reader: &Reader,
    region: &str,
) -> Option<LiveInstance> {
    Some(LiveInstance {
        account: reader.account.clone(),
        region: region.to_owned(),
        instance_id: i.instance_id()?.to_owned(),
        name_tag: i
            .tags()
            .iter()
            .find(|t| t.key() == Some("Name"))
            .and_then(|t| t.value())
            .map(str::to_owned),
        image_id: i.image_id().map(str::to_owned),
        architecture: i.architecture().map(|a| a.as_str().to_owned()),
    })
}

/// The images named, `IMAGES_PER_CALL` at a time, deprecated and disabled ones included. An id
/// EC2 does not describe is one that no longer exists (or that this account cannot see).
async fn describe_images(
    client: &aws_sdk_ec2::Client,
    reader: &Reader,
    region: &str,
    ids: &[String],
    calls: &mut Ec2Calls,
) -> Result<Vec<ImageFacts>, CallError> {
    let mut out = Vec::new();
    for chunk in ids.chunks(IMAGES_PER_CALL) {
        let filter = Filter::builder()
            .name("image-id")
            .set_values(Some(chunk.to_vec()))
            .build();
        let images = every_page(
            "DescribeImages",
            &mut calls.describe_images,
            |token| async {
                let page = client
                    .describe_images()
                    .filters(filter.clone())
                    .include_deprecated(true)
                    .include_disabled(true)
                    .set_next_token(token)
                    .send()
                    .await
                    .map_err(|e| describe("DescribeImages", &e))?;
                let images = page
                    .images()
                    .iter()
                    .filter_map(|image| image_facts(image, reader, region))
                    .collect();
                Ok((images, page.next_token().map(str::to_owned)))
            },
        )
        .await?;
        out.extend(images);
    }
    Ok(out)
}

/// An image as tufwatch keeps it.
fn image_facts(
    image: &aws_sdk_ec2::types::Image,
    reader: &Reader,
    region: &str,
) -> Option<ImageFacts> {
    Some(ImageFacts {
        account: reader.account.clone(),
        region: region.to_owned(),
        image_id: image.image_id()?.to_owned(),
        name: image.name().map(str::to_owned),
        owner_id: image.owner_id().map(str::to_owned),
        owner_alias: image.image_owner_alias().map(str::to_owned),
        public: image.public().unwrap_or(false),
        state: image.state().map(|s| s.as_str().to_owned()),
        deprecation_time: image
            .deprecation_time()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.to_utc()),
    })
}

/// The observations: the report (accounts, regions in the order asked, calls), the instances
/// and the images.
fn assemble(
    observed_at: DateTime<Utc>,
    accounts: Vec<AccountRead>,
    sts_calls: Ec2Calls,
    mut results: Vec<RegionResult>,
) -> Ec2Observations {
    results.sort_by(|a, b| {
        (a.read.account.as_str(), a.read.region.as_str())
            .cmp(&(b.read.account.as_str(), b.read.region.as_str()))
    });
    let mut images = Images::default();
    let mut instances = Vec::new();
    let mut launch_paths = LaunchPaths::default();
    let mut regions = Vec::new();
    let mut calls = sts_calls;
    for r in results {
        if r.described {
            images.described(&r.read.account, &r.read.region);
        }
        for facts in r.images {
            images.insert(facts);
        }
        calls = calls.plus(r.read.calls);
        instances.extend(r.instances);
        launch_paths.extend(r.launch_paths);
        regions.push(r.read);
    }
    Ec2Observations {
        report: Ec2Report {
            observed_at,
            accounts,
            regions,
            calls,
        },
        instances,
        images,
        launch_paths,
        first: None,
        deadline: None,
    }
}
