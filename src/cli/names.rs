//! What the library's settings are called where the user gave them: a flag of the command
//! line, or a key of the job's configuration. The library's errors name a setting; these turn
//! it into the name the user wrote.

use crate::error::Error;
use crate::error::Setting;
use std::path::Path;

/// The flag that gives a setting on the command line; `None` for what only a job's
/// configuration gives.
pub fn flag(setting: Setting) -> Option<&'static str> {
    Some(match setting {
        Setting::ExpiryWarning => "--expiry-warning",
        Setting::Root => "--root",
        Setting::RootSha512 => "--root-sha512",
        Setting::RepoBase => "--repo-base",
        Setting::MetadataUrl => "--metadata-url",
        Setting::TargetsUrl => "--targets-url",
        Setting::Variant | Setting::SsmVariant => "--variant",
        Setting::Arch => "--arch",
        Setting::StateDir => "--state-dir",
        Setting::Deadline => "--deadline",
        Setting::Region => "--region",
        Setting::MaxDaysBehind => "--max-days-behind",
        Setting::Inventory => "--inventory",
        Setting::BundleDir => "--out",
        Setting::Bundle => "DIR",
        Setting::BundleDigest => "--sha256",
        Setting::RootUrl => "--url",
        Setting::ResourceUri => "--resource-uri",
        Setting::VerifierId => "--verifier-id",
        Setting::KmsKey => "--sign-kms",
        Setting::Ec2Region => "--region",
        Setting::AssumeRole(_) => "--assume-role",
        Setting::ImageOwners => "--image-owner",
        Setting::Kubernetes(_) => "--kube-context",
        Setting::UpdateStuckAfter => "--update-stuck-after",
        Setting::Repositories
        | Setting::Waiver
        | Setting::FailOn
        | Setting::SsmGrace
        | Setting::NodesGrace
        | Setting::Webhook
        | Setting::Pushgateway
        | Setting::RepositoryName(_)
        | Setting::RepositoryRoot(_)
        | Setting::RepositoryRootSha512(_)
        | Setting::RepositoryMetadataUrl(_)
        | Setting::RepositoryTargetsUrl(_)
        | Setting::RepositoryResourceUri(_) => return None,
    })
}

/// The key of a job's configuration that gives a setting (docs/nightly.md); `None` for what
/// only the command line gives.
pub fn key(setting: Setting) -> Option<String> {
    let repository = |i: usize, field: &str| format!("repository[{i}].{field}");
    Some(match setting {
        Setting::ExpiryWarning => "policy.expiry_warning".to_owned(),
        Setting::Root => "trust.root".to_owned(),
        Setting::RootSha512 => "trust.root_sha512".to_owned(),
        Setting::RepoBase => "bottlerocket.repo_base".to_owned(),
        Setting::Variant => "bottlerocket.variants".to_owned(),
        Setting::Arch => "bottlerocket.archs".to_owned(),
        Setting::StateDir => "trust.state_dir".to_owned(),
        Setting::Region => "ssm.regions".to_owned(),
        Setting::SsmVariant => "ssm.variants".to_owned(),
        Setting::MaxDaysBehind => "policy.max_days_behind".to_owned(),
        Setting::Inventory => "inventory".to_owned(),
        Setting::Repositories => "repository".to_owned(),
        Setting::RepositoryName(i) => repository(i, "name"),
        Setting::RepositoryRoot(i) => repository(i, "root"),
        Setting::RepositoryRootSha512(i) => repository(i, "root_sha512"),
        Setting::RepositoryMetadataUrl(i) => repository(i, "metadata_url"),
        Setting::RepositoryTargetsUrl(i) => repository(i, "targets_url"),
        Setting::RepositoryResourceUri(i) => repository(i, "resource_uri"),
        Setting::VerifierId => "evidence.verifier_id".to_owned(),
        Setting::KmsKey => "evidence.kms_key".to_owned(),
        Setting::Ec2Region => "ec2.regions".to_owned(),
        Setting::AssumeRole(i) => format!("account[{i}].role_arn"),
        Setting::ImageOwners => "ec2.image_owners".to_owned(),
        Setting::Kubernetes(i) => format!("kubernetes[{i}]"),
        Setting::UpdateStuckAfter => "policy.update_stuck_after".to_owned(),
        Setting::Waiver => "waiver".to_owned(),
        Setting::FailOn => "policy.fail_on".to_owned(),
        Setting::SsmGrace => "policy.ssm_grace".to_owned(),
        Setting::NodesGrace => "policy.nodes_grace".to_owned(),
        Setting::Webhook => "output.webhook".to_owned(),
        Setting::Pushgateway => "output.pushgateway".to_owned(),
        Setting::MetadataUrl
        | Setting::TargetsUrl
        | Setting::Deadline
        | Setting::BundleDir
        | Setting::Bundle
        | Setting::BundleDigest
        | Setting::ResourceUri
        | Setting::RootUrl => return None,
    })
}

/// What a person can do about an error, in the command line's words: the library names no
/// flag or command, so the remedy that needs one is told here.
pub fn hint(e: &Error) -> Option<&'static str> {
    match e {
        Error::UnpinnedRoot(_) => Some(
            "once its sha512 is checked against Bottlerocket's documentation, \
             `tufwatch root fetch --sha512 HEX` pins it",
        ),
        Error::DamagedState { .. } => Some(
            "--no-state (trust.no_state = true in a job's configuration) runs without saved state",
        ),
        _ => None,
    }
}

/// Where a run's settings came from.
#[derive(Debug, Clone, Copy)]
pub enum SettingsFrom<'a> {
    /// The command line alone.
    Flags,
    /// A job's configuration file, and the command line for what it does not hold.
    Config(&'a Path),
}

/// An error about a setting, naming the flag or the configuration key it came from;
/// `flags` gives the flags of this command that differ from the usual ones.
pub fn named(e: Error, from: SettingsFrom<'_>, flags: &[(Setting, &'static str)]) -> Error {
    let Error::Setting { setting, message } = e else {
        return e;
    };
    let own_flag = flags.iter().find(|(s, _)| *s == setting).map(|(_, f)| *f);
    match (from, key(setting), own_flag.or_else(|| flag(setting))) {
        (SettingsFrom::Config(path), Some(key), _) => Error::Invalid {
            what: "configuration",
            path: path.display().to_string(),
            message: format!("{key}: {message}"),
        },
        (_, _, Some(flag)) => Error::Argument { flag, message },
        (_, _, None) => Error::Setting { setting, message },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_setting_is_named_where_it_came_from() {
        let e = || Error::Setting {
            setting: Setting::Region,
            message: "bad".to_owned(),
        };
        assert_eq!(
            named(e(), SettingsFrom::Flags, &[]).to_string(),
            "--region: bad"
        );
        let from_config = named(e(), SettingsFrom::Config(Path::new("job.toml")), &[]).to_string();
        assert_eq!(from_config, "configuration job.toml: ssm.regions: bad");
        let deadline = Error::Setting {
            setting: Setting::Deadline,
            message: "bad".to_owned(),
        };
        let named_deadline = named(deadline, SettingsFrom::Config(Path::new("job.toml")), &[]);
        assert_eq!(named_deadline.to_string(), "--deadline: bad");
        let dir = Error::Setting {
            setting: Setting::BundleDir,
            message: "bad".to_owned(),
        };
        let own = [(Setting::BundleDir, "--evidence")];
        assert_eq!(
            named(dir, SettingsFrom::Flags, &own).to_string(),
            "--evidence: bad"
        );
    }
}
