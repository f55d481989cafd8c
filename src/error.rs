//! Errors that stop tufwatch from running at all (exit code 2).
//!
//! A repository that fails a check is not an error: it is a [`crate::report::Finding`] in a report.
//! These are the failures before or around verification: bad arguments, files that cannot be read
//! or written, a trust anchor that is not a TUF root.

use std::fmt;
use std::path::PathBuf;

/// A failure that stops a run before it can judge the repository.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read.
    #[error("cannot read {what} {path}: {source}")]
    Read {
        /// What the file is for, e.g. "trusted root".
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },

    /// A file or directory could not be written.
    #[error("cannot write {what} {path}: {source}")]
    Write {
        /// What the file is for, e.g. "state".
        what: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },

    /// A file's content is not what it should be.
    #[error("{what} {path}: {message}")]
    Invalid {
        /// What the file is for.
        what: &'static str,
        /// The file (or URL).
        path: String,
        /// What is wrong with it.
        message: String,
    },

    /// A command-line value is not usable.
    #[error("{flag}: {message}")]
    Argument {
        /// The flag to fix, e.g. `--metadata-url`.
        flag: &'static str,
        /// What is wrong, and what would do.
        message: String,
    },

    /// A setting's value is not usable. The command line names the flag or the configuration
    /// key it came from (`cli::names`).
    #[error("{setting}: {message}")]
    Setting {
        /// The setting.
        setting: Setting,
        /// What is wrong, and what would do.
        message: String,
    },

    /// The trusted root does not match what it was pinned to.
    #[error("{0}")]
    UntrustedRoot(String),

    /// The trusted root is documented nowhere tufwatch knows (no pin, not on the chain of a
    /// pinned root): a person who checks its value may pin it.
    #[error("{0}")]
    UnpinnedRoot(String),

    /// The saved state of a repository cannot be read back: the rollback protection it held
    /// is gone until a person looks.
    #[error(
        "state {path}: {message}; the state directory is damaged: remove it (losing rollback \
         protection for this repository) or run without saved state"
    )]
    DamagedState {
        /// The state file or directory.
        path: String,
        /// What is wrong with it.
        message: String,
    },

    /// A download failed before any verification could start.
    #[error("cannot fetch {url}: {message}")]
    Fetch {
        /// The URL.
        url: String,
        /// Why.
        message: String,
    },

    /// Standard output could not take what tufwatch printed (closed, a full disk, a reader
    /// that went away).
    #[error("cannot write to standard output: {0}")]
    Stdout(std::io::Error),

    /// The HTTP client could not be set up.
    #[error("cannot set up the HTTP client: {0}")]
    Http(String),

    /// An evidence statement could not be signed (the key, or KMS out of reach): no bundle.
    #[error("cannot sign the evidence: {0}")]
    Sign(String),
}

impl Error {
    /// Whether this is a fault of the local machine (a file or directory it could not read or
    /// write: disk, permissions, temporary directory, standard output), as opposed to bad
    /// input or a server out of reach. A run with such a fault gives no verdict.
    pub fn is_local_fault(&self) -> bool {
        matches!(
            self,
            Error::Read { .. } | Error::Write { .. } | Error::Stdout(_)
        )
    }

    /// Whether this is a trust anchor refused (`untrusted_root`): a finding, not a fault.
    pub fn is_untrusted_root(&self) -> bool {
        matches!(self, Error::UntrustedRoot(_) | Error::UnpinnedRoot(_))
    }

    /// The exit code for this error: 1 for a root that matches no pin (a finding about the trust
    /// anchor), 2 for everything else (tufwatch could not run).
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::UntrustedRoot(_) | Error::UnpinnedRoot(_) => crate::exit::EXIT_FINDINGS,
            _ => crate::exit::EXIT_COULD_NOT_RUN,
        }
    }
}

/// A setting an error can be about. The command line names it by its flag, a job's
/// configuration by its key; the library by neither.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setting {
    /// Warn about roles that expire within this window.
    ExpiryWarning,
    /// The trusted root.json (the trust anchor).
    Root,
    /// The SHA-512 the trust anchor must have.
    RootSha512,
    /// The base of Bottlerocket's repository layout.
    RepoBase,
    /// Where a repository's metadata is.
    MetadataUrl,
    /// Where a repository's targets are.
    TargetsUrl,
    /// The Bottlerocket variants to verify.
    Variant,
    /// The Bottlerocket architectures to verify.
    Arch,
    /// Where the trusted metadata is kept between runs.
    StateDir,
    /// The longest a run may take.
    Deadline,
    /// The AWS regions SSM is read in.
    Region,
    /// The variants SSM is read for.
    SsmVariant,
    /// Behind a due release for longer than this is a finding.
    MaxDaysBehind,
    /// The repositories of a job as a whole.
    Repositories,
    /// The name of a job's repository (by its index in the configuration).
    RepositoryName(usize),
    /// The trusted root of a job's repository.
    RepositoryRoot(usize),
    /// The SHA-512 the trusted root of a job's repository must have.
    RepositoryRootSha512(usize),
    /// Where a job's repository's metadata is.
    RepositoryMetadataUrl(usize),
    /// Where a job's repository's targets are.
    RepositoryTargetsUrl(usize),
    /// The public URL evidence names a job's repository by.
    RepositoryResourceUri(usize),
    /// The public URL evidence names a repository by.
    ResourceUri,
    /// Who evidence names as the verifier.
    VerifierId,
    /// The AWS KMS key evidence is signed with.
    KmsKey,
    /// The inventories of the fleet.
    Inventory,
    /// The directory an evidence bundle is written to.
    BundleDir,
    /// The directory of an evidence bundle to check.
    Bundle,
    /// The digest an evidence bundle must have.
    BundleDigest,
    /// Where a root to fetch is.
    RootUrl,
    /// The AWS regions EC2 is read in.
    Ec2Region,
    /// A role an account is read through (by its index).
    AssumeRole(usize),
    /// Accounts whose copies of Bottlerocket's AMIs are trusted.
    ImageOwners,
    /// A Kubernetes cluster to read (by its index).
    Kubernetes(usize),
    /// The longest a node's update may stay in one state.
    UpdateStuckAfter,
    /// The job's waivers (`[[waiver]]`, or the file `[policy] waivers_file` names).
    Waiver,
    /// The categories of findings that fail the run.
    FailOn,
    /// How long SSM may lag a due release before it is a finding.
    SsmGrace,
    /// How long nodes may lag a release that just became due before they are a finding.
    NodesGrace,
    /// Where the changes and the verdict are posted.
    Webhook,
    /// The Prometheus Pushgateway the metrics are pushed to.
    Pushgateway,
}

impl Setting {
    /// A name for the setting when neither a flag nor a key is at hand.
    pub fn as_str(self) -> &'static str {
        match self {
            Setting::ExpiryWarning => "expiry_warning",
            Setting::Root => "root",
            Setting::RootSha512 => "root_sha512",
            Setting::RepoBase => "repo_base",
            Setting::MetadataUrl => "metadata_url",
            Setting::TargetsUrl => "targets_url",
            Setting::Variant => "variants",
            Setting::Arch => "archs",
            Setting::StateDir => "state_dir",
            Setting::Deadline => "deadline",
            Setting::Region => "regions",
            Setting::SsmVariant => "ssm variants",
            Setting::MaxDaysBehind => "max_days_behind",
            Setting::Repositories => "repositories",
            Setting::RepositoryName(_) => "repository name",
            Setting::RepositoryRoot(_) => "repository root",
            Setting::RepositoryRootSha512(_) => "repository root_sha512",
            Setting::RepositoryMetadataUrl(_) => "repository metadata_url",
            Setting::RepositoryTargetsUrl(_) => "repository targets_url",
            Setting::RepositoryResourceUri(_) => "repository resource_uri",
            Setting::ResourceUri => "resource uri",
            Setting::VerifierId => "verifier_id",
            Setting::KmsKey => "kms_key",
            Setting::Inventory => "inventory",
            Setting::BundleDir => "bundle directory",
            Setting::Bundle => "bundle",
            Setting::BundleDigest => "bundle digest",
            Setting::RootUrl => "root url",
            Setting::Ec2Region => "ec2 regions",
            Setting::AssumeRole(_) => "account role_arn",
            Setting::ImageOwners => "ec2 image_owners",
            Setting::Kubernetes(_) => "kubernetes",
            Setting::UpdateStuckAfter => "update_stuck_after",
            Setting::Waiver => "waiver",
            Setting::FailOn => "fail_on",
            Setting::SsmGrace => "ssm_grace",
            Setting::NodesGrace => "nodes_grace",
            Setting::Webhook => "webhook",
            Setting::Pushgateway => "pushgateway",
        }
    }
}

impl fmt::Display for Setting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A value that is not what its setting takes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not {expected}")]
pub struct ValueError {
    /// The value given.
    pub value: String,
    /// What would do, with examples.
    pub expected: &'static str,
}

/// What is wrong with a field of outside data: the field, by its path in the data
/// (`predicate.timeVerified`, `items[3].status.nodeInfo.osImage`), and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {why}")]
pub struct FieldError {
    /// The field's path.
    pub field: String,
    /// What is wrong with it.
    pub why: String,
}

impl FieldError {
    /// This field, and why.
    pub fn new(field: impl Into<String>, why: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            why: why.into(),
        }
    }
}

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
