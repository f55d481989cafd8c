//! Bottlerocket's repository layout: one metadata directory per variant and architecture, one
//! shared targets directory.

use crate::error::Setting;
use crate::error::{Error, Result};
use std::fmt;
use url::Url;

/// Bottlerocket's public update repository.
pub const DEFAULT_REPO_BASE: &str = "https://updates.bottlerocket.aws";

/// The metadata layout version in Bottlerocket's repository paths.
pub const LAYOUT: &str = "2020-07-07";

/// A Bottlerocket architecture, as TUF and the manifest name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Arch {
    /// `x86_64` (`amd64` to Kubernetes).
    X86_64,
    /// `aarch64` (`arm64` to Kubernetes and SSM).
    Aarch64,
}

impl Arch {
    /// Parse an architecture, accepting the `amd64`/`arm64` aliases.
    pub fn parse(value: &str) -> Result<Self> {
        match value {
            "x86_64" | "amd64" | "x86-64" => Ok(Arch::X86_64),
            "aarch64" | "arm64" => Ok(Arch::Aarch64),
            _ => Err(Error::Setting {
                setting: Setting::Arch,
                message: format!(
                    "unknown architecture {value:?}: use x86_64 (or amd64) or aarch64 (or arm64)"
                ),
            }),
        }
    }

    /// The name in repository paths and the manifest.
    pub fn as_str(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Aarch64 => "aarch64",
        }
    }

    /// The name in SSM parameter paths and in Kubernetes and EC2: `x86_64`/`arm64` for SSM.
    pub fn ssm_name(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Aarch64 => "arm64",
        }
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Check a variant name: lower-case letters, digits, `.` and `-`, as Bottlerocket's are.
pub fn check_variant(variant: &str) -> Result<()> {
    let ok = !variant.is_empty()
        && variant.len() <= 64
        && variant
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        && !variant.starts_with(['.', '-'])
        && !variant.contains("..");
    if ok {
        Ok(())
    } else {
        Err(Error::Setting {
            setting: Setting::Variant,
            message: format!(
                "{variant:?} is not a Bottlerocket variant name (like aws-k8s-1.31 or aws-ecs-2)"
            ),
        })
    }
}

/// The metadata and targets URLs of one variant and architecture below `base`.
pub fn urls(base: &Url, variant: &str, arch: Arch) -> Result<(Url, Url)> {
    check_variant(variant)?;
    if base.query().is_some() || base.fragment().is_some() || base.cannot_be_a_base() {
        return Err(Error::Setting {
            setting: Setting::RepoBase,
            message: format!("{base} is not a plain base URL (no query, no fragment)"),
        });
    }
    let base = super::location::with_trailing_slash(base.clone());
    let join = |path: &str| {
        base.join(path).map_err(|e| Error::Setting {
            setting: Setting::RepoBase,
            message: format!("cannot join {path:?} to {base}: {e}"),
        })
    };
    Ok((
        join(&format!("{LAYOUT}/{variant}/{arch}/"))?,
        join("targets/")?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_matches_bottlerocket() {
        let base = Url::parse(DEFAULT_REPO_BASE).unwrap();
        let (m, t) = urls(&base, "aws-k8s-1.31", Arch::parse("amd64").unwrap()).unwrap();
        assert_eq!(
            m.as_str(),
            "https://updates.bottlerocket.aws/2020-07-07/aws-k8s-1.31/x86_64/"
        );
        assert_eq!(t.as_str(), "https://updates.bottlerocket.aws/targets/");
        let (m, _) = urls(&base, "aws-ecs-2", Arch::parse("arm64").unwrap()).unwrap();
        assert!(m.as_str().ends_with("/aws-ecs-2/aarch64/"));
    }

    #[test]
    fn mirrors_keep_their_path() {
        let base = Url::parse("http://127.0.0.1:8080/mirror").unwrap();
        let (m, t) = urls(&base, "aws-dev", Arch::X86_64).unwrap();
        assert_eq!(
            m.as_str(),
            "http://127.0.0.1:8080/mirror/2020-07-07/aws-dev/x86_64/"
        );
        assert_eq!(t.as_str(), "http://127.0.0.1:8080/mirror/targets/");
    }

    #[test]
    fn bad_names_are_refused() {
        for bad in ["", "../etc", "Aws-K8s", "a/b", "aws k8s"] {
            assert!(check_variant(bad).is_err(), "{bad}");
        }
        assert!(Arch::parse("sparc")
            .unwrap_err()
            .to_string()
            .contains("archs"));
    }
}
