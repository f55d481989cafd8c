//! The nightly job's configuration: a TOML file naming the repositories, the trust anchor, the
//! state directory, the SSM source and regions, the inventories, the policy and the outputs.
//! Relative paths are relative to the configuration file. `fixtures/demo.toml` is an example;
//! `docs/nightly.md` describes every key.

use crate::error::{Error, Result};
use crate::fleet::inventory::InventoryFormat;
use crate::settings::{
    BottlerocketSettings, CommonSettings, InventorySettings, JobSettings, RepositorySettings,
    Setting, SsmSettings, StateDir,
};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// Largest configuration file read.
const MAX_CONFIG: u64 = 1 << 20;

/// The configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The trust anchor and the saved state.
    #[serde(default)]
    pub trust: Trust,
    /// Bottlerocket variants and architectures to verify, in Bottlerocket's layout.
    pub bottlerocket: Option<Bottlerocket>,
    /// Repositories at explicit URLs.
    #[serde(default, rename = "repository")]
    pub repositories: Vec<Repository>,
    /// SSM public parameters.
    pub ssm: Option<Ssm>,
    /// The fleet read from EC2 itself.
    pub ec2: Option<Ec2>,
    /// Accounts EC2 is read in, each through a role.
    #[serde(default, rename = "account")]
    pub accounts: Vec<Account>,
    /// Inventories of the fleet.
    #[serde(default, rename = "inventory")]
    pub inventories: Vec<Inventory>,
    /// Kubernetes clusters read live.
    #[serde(default, rename = "kubernetes")]
    pub clusters: Vec<Kubernetes>,
    /// What counts as a finding.
    #[serde(default)]
    pub policy: Policy,
    /// Findings the team has accepted, each with a reason, an owner and an expiry.
    #[serde(default, rename = "waiver")]
    pub waivers: Vec<crate::waiver::WaiverEntry>,
    /// What to write.
    #[serde(default)]
    pub output: Output,
    /// How evidence bundles name their verifier and are signed.
    #[serde(default)]
    pub evidence: EvidenceConfig,
}

/// `[evidence]`: for `report --evidence` and `evidence create --config`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvidenceConfig {
    /// The statements' `verifier.id`: a URI naming this verifier's trust base.
    pub verifier_id: Option<String>,
    /// Sign the statements with this AWS KMS key (ARN, key id or alias).
    pub kms_key: Option<String>,
}

/// `[trust]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Trust {
    /// The trusted root.json; without it, Bottlerocket's root embedded in tufwatch (or the
    /// newer root a previous run verified from it).
    pub root: Option<PathBuf>,
    /// Refuse `root` unless its SHA-512 is this.
    pub root_sha512: Option<String>,
    /// Where the trusted metadata is kept between runs.
    pub state_dir: Option<PathBuf>,
    /// Keep no state (no rollback protection between runs).
    #[serde(default)]
    pub no_state: bool,
    /// `tough` or `both` (tough and the strict engine); both by default.
    pub engine: Option<crate::engine::Engines>,
}

/// `[bottlerocket]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bottlerocket {
    /// Base URL (or directory) of the repository; Bottlerocket's own by default.
    pub repo_base: Option<String>,
    /// Variants, e.g. `aws-k8s-1.31`.
    #[serde(default)]
    pub variants: Vec<String>,
    /// Architectures; both by default.
    #[serde(default)]
    pub archs: Vec<String>,
}

/// `[[repository]]`: a repository at explicit URLs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Repository {
    /// The name in the report.
    pub name: String,
    /// Where the metadata is (URL or directory).
    pub metadata_url: String,
    /// Where the targets are (URL or directory).
    pub targets_url: String,
    /// Its trusted root, when not `[trust] root`.
    pub root: Option<PathBuf>,
    /// Refuse its root unless its SHA-512 is this.
    pub root_sha512: Option<String>,
    /// The public URL evidence names it by, when its metadata URL is a local copy.
    pub resource_uri: Option<String>,
}

/// `[ssm]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ssm {
    /// Read these files (output of `aws ssm get-parameters-by-path`) instead of the API.
    #[serde(default)]
    pub files: Vec<PathBuf>,
    /// Regions; for the API, the AWS configuration's default region when empty.
    #[serde(default)]
    pub regions: Vec<String>,
    /// Variants to read; those of the repositories and inventories when empty.
    #[serde(default)]
    pub variants: Vec<String>,
    /// The AWS profile.
    pub profile: Option<String>,
    /// Another SSM endpoint.
    pub endpoint_url: Option<String>,
    /// Calls at once.
    pub concurrency: Option<usize>,
    /// Attempts per call.
    pub max_attempts: Option<u32>,
    /// Cross-check against the signed manifests (default true).
    pub cross_check: Option<bool>,
}

/// `[ec2]`: the fleet read from EC2 itself (its profile, endpoint and retries are `[ssm]`'s).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ec2 {
    /// Regions; the `[ssm]` regions, else the AWS configuration's default region, when empty.
    #[serde(default)]
    pub regions: Vec<String>,
    /// Accounts whose copies of Bottlerocket's AMIs are trusted besides its publisher.
    #[serde(default)]
    pub image_owners: Vec<String>,
}

/// `[[account]]`: an account EC2 is read in, through a role assumed from the base credentials.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Account {
    /// The role's ARN.
    pub role_arn: String,
    /// The external id its trust policy demands.
    pub external_id: Option<String>,
    /// The session name CloudTrail shows (default `tufwatch`).
    pub session_name: Option<String>,
}

/// `[[kubernetes]]`: a cluster read live, through a kubeconfig's context or, in the cluster
/// itself, the pod's service account.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Kubernetes {
    /// How the report names it; the context's name by default (`in-cluster` for in_cluster).
    pub name: Option<String>,
    /// The kubeconfig; `$KUBECONFIG`, else `~/.kube/config`, by default.
    pub kubeconfig: Option<PathBuf>,
    /// The context; the kubeconfig's current context by default.
    pub context: Option<String>,
    /// Use the pod's service account (a CronJob in the cluster) instead of a kubeconfig.
    #[serde(default)]
    pub in_cluster: bool,
}

/// `[[inventory]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inventory {
    /// The file.
    pub path: PathBuf,
    /// Its format; detected when absent.
    pub format: Option<InventoryFormat>,
}

/// `[policy]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Warn about roles expiring within this window (`3d`, `12h`); 3 days by default.
    pub expiry_warning: Option<String>,
    /// More releases behind than this is a finding.
    pub max_releases_behind: Option<u32>,
    /// Behind a due release for more days than this is a finding.
    pub max_days_behind: Option<f64>,
    /// The longest a node's update may stay in one state before it is `update_stuck` (`1h`).
    pub update_stuck_after: Option<String>,
    /// The categories whose findings fail the run (`trust`, `release`, `fleet`); all by
    /// default. A `trust` finding fails it whatever this says.
    pub fail_on: Option<Vec<crate::report::Category>>,
    /// How long SSM's `latest` may name an older release than a due one before it is
    /// `ssm_behind` (`72h` by default); before, a note with the time left.
    pub ssm_grace: Option<String>,
    /// How long nodes may run an older release than one that just became due before they are
    /// `nodes_behind` (`0h` by default: as soon as it is due).
    pub nodes_grace: Option<String>,
    /// A file of `[[waiver]]` entries, besides those in this file.
    pub waivers_file: Option<PathBuf>,
}

/// An output format of `report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputFormat {
    /// Aligned text for a terminal (`report.txt`).
    Human,
    /// The whole report as JSON (`report.json`).
    Json,
    /// Markdown tables for a chat message or a CI step summary (`report.md`).
    Markdown,
    /// A Prometheus textfile (`tufwatch.prom`).
    Prometheus,
    /// One self-contained HTML page with charts, for people (`report.html`).
    Html,
}

impl OutputFormat {
    /// The file name in the output directory.
    pub fn file_name(self) -> &'static str {
        match self {
            OutputFormat::Human => "report.txt",
            OutputFormat::Json => "report.json",
            OutputFormat::Markdown => "report.md",
            OutputFormat::Prometheus => "tufwatch.prom",
            OutputFormat::Html => "report.html",
        }
    }
}

/// `[output]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Output {
    /// Formats; `human` by default.
    #[serde(default)]
    pub formats: Vec<OutputFormat>,
    /// Write each format to a file here instead of standard output.
    pub dir: Option<PathBuf>,
    /// Post the changes and the verdict here (JSON, with a Slack-compatible `text`).
    pub webhook: Option<String>,
    /// Push the metrics to this Prometheus Pushgateway.
    pub pushgateway: Option<String>,
    /// The `instance` of the Pushgateway's grouping key; the configuration file's name (without
    /// `.toml`) by default, which stays the same from run to run.
    pub instance: Option<String>,
}

/// A waivers file: `[[waiver]]` entries and nothing else.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct WaiversFile {
    #[serde(default, rename = "waiver")]
    waivers: Vec<crate::waiver::WaiverEntry>,
}

impl Config {
    /// Read a configuration file; relative paths in it become relative to its directory.
    pub fn read(path: &Path) -> Result<Self> {
        let bytes = crate::source::read_limited(path, MAX_CONFIG, "configuration")?;
        let invalid = |message: String| Error::Invalid {
            what: "configuration",
            path: path.display().to_string(),
            message,
        };
        let text = std::str::from_utf8(crate::source::without_bom(&bytes))
            .map_err(|e| invalid(format!("not UTF-8: {e}")))?;
        Self::parse(text, path.parent().unwrap_or(Path::new(".")))
            .map_err(|e| invalid(toml_error(text, &e)))
    }

    /// Parse a configuration's text; relative paths in it become relative to `base`. The error
    /// names the key.
    pub fn parse(text: &str, base: &Path) -> std::result::Result<Self, toml::de::Error> {
        let mut config: Config = toml::from_str(text)?;
        config.relative_to(base);
        Ok(config)
    }

    /// The job this configuration describes. `run` holds what the command line gives every
    /// job (the reference time, timeout, deadline, progress); the configuration gives the
    /// rest, and what it leaves out takes the defaults (`settings::defaults`).
    pub fn job(&self, run: CommonSettings, concurrency: usize) -> Result<JobSettings> {
        if self.bottlerocket.is_none() && self.repositories.is_empty() {
            return Err(Error::Setting {
                setting: Setting::Repositories,
                message: "the configuration names no repository: add [bottlerocket] variants or a [[repository]]".to_owned(),
            });
        }
        let expiry_warning = match &self.policy.expiry_warning {
            Some(w) => w
                .parse()
                .map_err(|e: crate::settings::ValueError| Error::Setting {
                    setting: Setting::ExpiryWarning,
                    message: e.to_string(),
                })?,
            None => run.expiry_warning,
        };
        let common = CommonSettings {
            root: self.trust.root.clone(),
            root_sha512: self.trust.root_sha512.clone(),
            repo_base: match self.bottlerocket.as_ref().and_then(|b| b.repo_base.clone()) {
                Some(base) => base,
                None => run.repo_base.clone(),
            },
            expiry_warning,
            state_dir: match (&self.trust.state_dir, self.trust.no_state) {
                (_, true) => StateDir::None,
                (Some(dir), false) => StateDir::At(dir.clone()),
                (None, false) => StateDir::Default,
            },
            engines: self.trust.engine.unwrap_or_default(),
            ..run
        };
        let ssm_defaults = SsmSettings::default();
        Ok(JobSettings {
            common,
            bottlerocket: self.bottlerocket.as_ref().map(|b| BottlerocketSettings {
                variants: b.variants.clone(),
                archs: b.archs.clone(),
            }),
            repositories: self
                .repositories
                .iter()
                .map(|r| RepositorySettings {
                    name: r.name.clone(),
                    metadata_url: r.metadata_url.clone(),
                    targets_url: r.targets_url.clone(),
                    root: r.root.clone(),
                    root_sha512: r.root_sha512.clone(),
                    resource_uri: r.resource_uri.clone(),
                })
                .collect(),
            derive_repositories: false,
            ssm: self.ssm.as_ref().map(|s| SsmSettings {
                files: s.files.clone(),
                regions: s.regions.clone(),
                variants: s.variants.clone(),
                archs: Vec::new(),
                profile: s.profile.clone(),
                endpoint_url: s.endpoint_url.clone(),
                concurrency: s.concurrency.unwrap_or(ssm_defaults.concurrency),
                max_attempts: s.max_attempts.unwrap_or(ssm_defaults.max_attempts),
                backoff: ssm_defaults.backoff,
                cross_check: s.cross_check.unwrap_or(true),
                only_for_launch_amis: false,
            }),
            ec2: self.ec2_settings(),
            inventories: self
                .inventories
                .iter()
                .map(|i| InventorySettings {
                    path: i.path.clone(),
                    format: i.format,
                })
                .collect(),
            kubernetes: self
                .clusters
                .iter()
                .map(|k| crate::settings::KubernetesSettings {
                    name: k.name.clone(),
                    kubeconfig: k.kubeconfig.clone(),
                    context: k.context.clone(),
                    in_cluster: k.in_cluster,
                })
                .collect(),
            policy: self.behind_limits()?,
            concurrency,
            evidence: None,
            nightly: self.nightly()?,
        })
    }

    /// `[policy]`'s limits on nodes behind, and its bounds on updates and on nodes' grace.
    fn behind_limits(&self) -> Result<crate::fleet::BehindLimits> {
        let p = &self.policy;
        let stuck = self.duration(
            &p.update_stuck_after,
            Setting::UpdateStuckAfter,
            crate::settings::defaults::UPDATE_STUCK_AFTER,
        )?;
        let grace = self.duration(
            &p.nodes_grace,
            Setting::NodesGrace,
            crate::settings::defaults::NODES_GRACE,
        )?;
        Ok(crate::fleet::BehindLimits {
            max_releases_behind: p.max_releases_behind,
            max_days_behind: p.max_days_behind,
            update_stuck_after: Some(stuck.to_std()),
            nodes_grace: Some(grace.to_std()),
        })
    }

    /// A duration the configuration gives as text (`72h`), or its default.
    fn duration(
        &self,
        text: &Option<String>,
        setting: Setting,
        default: crate::settings::Duration,
    ) -> Result<crate::settings::Duration> {
        match text {
            Some(d) => d
                .parse()
                .map_err(|e: crate::settings::ValueError| Error::Setting {
                    setting,
                    message: e.to_string(),
                }),
            None => Ok(default),
        }
    }

    /// What only the nightly job has: the waivers (this file's and the waivers file's, each
    /// checked), the categories that fail the run, and SSM's grace.
    fn nightly(&self) -> Result<crate::settings::NightlySettings> {
        let mut waivers =
            crate::waiver::Waivers::parse(&self.waivers).map_err(|e| Error::Setting {
                setting: Setting::Waiver,
                message: e.to_string(),
            })?;
        if let Some(path) = &self.policy.waivers_file {
            let in_file = |e: crate::waiver::WaiverError| Error::Invalid {
                what: "waivers file",
                path: path.display().to_string(),
                message: e.to_string(),
            };
            let more = crate::waiver::Waivers::parse(&read_waivers_file(path)?).map_err(in_file)?;
            waivers
                .extend(more, " of the configuration")
                .map_err(in_file)?;
        }
        let fail_on = match &self.policy.fail_on {
            Some(list) if list.is_empty() => {
                return Err(Error::Setting {
                    setting: Setting::FailOn,
                    message: "is empty; trust findings fail the run whatever it says, so name the categories that should fail it too (trust, release, fleet)".to_owned(),
                })
            }
            Some(list) => list.clone(),
            None => crate::report::Category::ALL.to_vec(),
        };
        Ok(crate::settings::NightlySettings {
            waivers,
            fail_on,
            ssm_grace: self.duration(
                &self.policy.ssm_grace,
                Setting::SsmGrace,
                crate::settings::defaults::SSM_GRACE,
            )?,
        })
    }

    /// Where the alerts go (`[output] webhook`, `pushgateway`), when anywhere; `path` is this
    /// configuration's file (its name is the Pushgateway's default `instance`), `timeout` the
    /// longest one attempt may take.
    pub fn alerts(
        &self,
        path: &Path,
        timeout: std::time::Duration,
    ) -> Result<Option<crate::alert::AlertSettings>> {
        let o = &self.output;
        if o.webhook.is_none() && o.pushgateway.is_none() {
            return Ok(None);
        }
        let url = |text: &Option<String>, setting: Setting| {
            text.as_deref()
                .map(crate::alert::alert_url)
                .transpose()
                .map_err(|e| Error::Setting {
                    setting,
                    message: e.to_string(),
                })
        };
        let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned());
        let instance = o
            .instance
            .clone()
            .or(stem)
            .unwrap_or_else(|| "tufwatch".to_owned());
        Ok(Some(crate::alert::AlertSettings {
            webhook: url(&o.webhook, Setting::Webhook)?,
            pushgateway: url(&o.pushgateway, Setting::Pushgateway)?,
            instance: crate::alert::instance_name(&instance).map_err(|e| Error::Setting {
                setting: Setting::Pushgateway,
                message: e.to_string(),
            })?,
            timeout,
            attempts: 3,
            backoff: std::time::Duration::from_secs(1),
        }))
    }

    /// EC2's settings, when the configuration has `[ec2]` or `[[account]]`.
    fn ec2_settings(&self) -> Option<crate::settings::Ec2Settings> {
        if self.ec2.is_none() && self.accounts.is_empty() {
            return None;
        }
        let ec2 = self.ec2.clone().unwrap_or_default();
        Some(crate::settings::Ec2Settings {
            regions: ec2.regions,
            roles: self
                .accounts
                .iter()
                .map(|a| crate::aws::ec2::AssumeRole {
                    role_arn: a.role_arn.clone(),
                    external_id: a.external_id.clone(),
                    session_name: a.session_name.clone(),
                })
                .collect(),
            image_owners: ec2.image_owners,
        })
    }

    fn relative_to(&mut self, base: &Path) {
        let fix = |p: &mut PathBuf| {
            if p.is_relative() && p.as_os_str() != "-" {
                *p = base.join(&*p);
            }
        };
        let fix_location = |s: &mut String| {
            if !s.contains("://") && Path::new(s.as_str()).is_relative() {
                *s = base.join(s.as_str()).display().to_string();
            }
        };
        for p in [
            &mut self.trust.root,
            &mut self.trust.state_dir,
            &mut self.output.dir,
            &mut self.policy.waivers_file,
        ]
        .into_iter()
        .flatten()
        {
            fix(p);
        }
        if let Some(b) = &mut self.bottlerocket {
            if let Some(base_url) = &mut b.repo_base {
                fix_location(base_url);
            }
        }
        for k in &mut self.clusters {
            if let Some(p) = &mut k.kubeconfig {
                fix(p);
            }
        }
        for r in &mut self.repositories {
            fix_location(&mut r.metadata_url);
            fix_location(&mut r.targets_url);
            if let Some(p) = &mut r.root {
                fix(p);
            }
        }
        if let Some(s) = &mut self.ssm {
            s.files.iter_mut().for_each(fix);
        }
        for i in &mut self.inventories {
            fix(&mut i.path);
        }
    }
}

/// A TOML error, by line and column, without the text of the line: a line of the
/// configuration can hold a secret (a webhook's URL), and an error goes to logs. A URL the
/// message itself quotes (a value of the wrong type) keeps only its scheme.
fn toml_error(text: &str, e: &toml::de::Error) -> String {
    let message = without_urls(e.message().trim_end());
    let place = e.span().and_then(|s| text.get(..s.start)).map(|before| {
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
        // The key the line sets (never its value), or the table it opens.
        let whole = text.lines().nth(line - 1).unwrap_or_default();
        let key = match whole.split_once('=') {
            Some((key, _)) => key.trim(),
            None => whole.trim(),
        };
        let key: String = key.chars().take(64).collect();
        if key.is_empty() || key.contains("://") {
            format!("line {line}, column {column}: ")
        } else {
            format!("line {line}, column {column} ({key}): ")
        }
    });
    format!("{}{message}", place.unwrap_or_default())
}

/// `text` with what follows each `://` up to a space or a quote replaced by `…`.
fn without_urls(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        out.push_str(&rest[..i + 3]);
        out.push('…');
        let after = &rest[i + 3..];
        let end = after
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '`'))
            .unwrap_or(after.len());
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// The `[[waiver]]` entries of a waivers file (up to 1 MiB).
fn read_waivers_file(path: &Path) -> Result<Vec<crate::waiver::WaiverEntry>> {
    let bytes = crate::source::read_limited(path, MAX_CONFIG, "waivers file")?;
    let invalid = |message: String| Error::Invalid {
        what: "waivers file",
        path: path.display().to_string(),
        message,
    };
    let text = std::str::from_utf8(crate::source::without_bom(&bytes))
        .map_err(|e| invalid(format!("not UTF-8: {e}")))?;
    let file: WaiversFile = toml::from_str(text).map_err(|e| invalid(toml_error(text, &e)))?;
    Ok(file.waivers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_never_quote_a_secret_the_file_holds() {
        let text = "[output]\nwebhok = \"https://hooks.example/services/T0/B0/SECRET\"\n";
        let e = toml::from_str::<Config>(text).unwrap_err();
        let said = toml_error(text, &e);
        assert!(!said.contains("SECRET"), "{said}");
        assert!(
            said.starts_with("line 2, column 1 (webhok): unknown field `webhok`"),
            "{said}"
        );
        let text = "[output]\nformats = \"https://hooks.example/SECRET\"\n";
        let e = toml::from_str::<Config>(text).unwrap_err();
        let said = toml_error(text, &e);
        assert!(!said.contains("SECRET"), "{said}");
        assert_eq!(without_urls("a \"http://x/y\" b"), "a \"http://…\" b");
    }

    #[test]
    fn unknown_keys_and_bad_values_name_the_key() {
        let e = toml::from_str::<Config>("[trust]\nroot_file = \"x\"\n").unwrap_err();
        assert!(e.to_string().contains("root_file"), "{e}");
        let e = toml::from_str::<Config>("[[inventory]]\npath = \"a\"\nformat = \"xml\"\n")
            .unwrap_err();
        assert!(e.to_string().contains("format"), "{e}");
        let c: Config = toml::from_str(
            "[output]\nformats = [\"json\", \"prometheus\"]\n[policy]\nmax_days_behind = 7\n",
        )
        .unwrap();
        assert_eq!(c.output.formats.len(), 2);
        assert_eq!(c.policy.max_days_behind, Some(7.0));
    }
}
