//! AMIs as EC2 describes them, judged without I/O: which Bottlerocket release an image is (its
//! name, `bottlerocket-<variant>-<arch>-v<version>-<build>`, from Bottlerocket's publisher), and
//! what is wrong with one an instance or SSM names (gone, deprecated, published by someone
//! else, named for another version).

pub use crate::aws::model::{ImageFacts, Images, LiveInstance};
use crate::report::{Code, Finding};
use crate::source::bottlerocket::Arch;
use crate::ssm::check::split_build;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The owner alias EC2 gives images that AWS itself publishes, Bottlerocket's among them. No
/// other account can carry it.
pub const BOTTLEROCKET_OWNER_ALIAS: &str = "amazon";

/// The Bottlerocket release an image's name says it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRelease {
    /// The variant, e.g. `aws-k8s-1.36`.
    pub variant: String,
    /// The architecture.
    pub arch: Arch,
    /// The build version, e.g. `1.66.0-1ad6b4a4`.
    pub version: String,
}

/// The release an image name says: `bottlerocket-aws-k8s-1.36-aarch64-v1.66.0-1ad6b4a4` is
/// aws-k8s-1.36, aarch64, 1.66.0-1ad6b4a4. `None` for any other name.
pub fn release_of_name(name: &str) -> Option<ImageRelease> {
    let rest = name.strip_prefix("bottlerocket-")?;
    for arch in [Arch::X86_64, Arch::Aarch64] {
        let marker = format!("-{arch}-v");
        if let Some((variant, version)) = rest.split_once(&marker) {
            crate::source::bottlerocket::check_variant(variant).ok()?;
            split_build(version)?;
            return Some(ImageRelease {
                variant: variant.to_owned(),
                arch,
                version: version.to_owned(),
            });
        }
    }
    None
}

/// What an instance's launch AMI is, as far as EC2 told.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum LaunchImage {
    /// A Bottlerocket release from its publisher (or from an account the job trusts).
    Bottlerocket {
        /// The variant.
        variant: String,
        /// The architecture (TUF naming).
        arch: String,
        /// The build version.
        version: String,
        /// When it was deprecated, when that time has come.
        #[serde(skip_serializing_if = "Option::is_none")]
        deprecated_since: Option<DateTime<Utc>>,
    },
    /// Named like a Bottlerocket release, but owned by an account that is not its publisher:
    /// its name proves nothing.
    ForeignOwner {
        /// Its name.
        name: String,
        /// The account that owns it.
        owner: String,
    },
    /// Not a Bottlerocket image.
    Other {
        /// Its name.
        name: String,
    },
    /// Not available to this account: EC2 did not describe it (deregistered, unshared, outside
    /// the account's Allowed AMIs) or says it is deregistered, disabled or failed.
    Missing,
}

/// Whose images are Bottlerocket's: its publisher (owner alias `amazon`), and the accounts a
/// job names (copies of Bottlerocket's AMIs it keeps in its own accounts), at a time.
#[derive(Debug, Clone)]
pub struct ImageTrust {
    /// Accounts whose copies are trusted besides the publisher.
    pub owners: Vec<String>,
    /// The reference time (for deprecation).
    pub at: DateTime<Utc>,
}

impl ImageTrust {
    /// What an image is.
    pub fn judge(&self, facts: &ImageFacts) -> LaunchImage {
        // A deregistered (still listed for a while), disabled or failed image launches nothing.
        if facts
            .state
            .as_deref()
            .is_some_and(|s| s != "available" && s != "pending")
        {
            return LaunchImage::Missing;
        }
        let name = facts.name.clone().unwrap_or_default();
        let Some(release) = release_of_name(&name) else {
            return LaunchImage::Other { name };
        };
        if !self.trusted(facts) {
            return LaunchImage::ForeignOwner {
                name,
                owner: facts.owner_id.clone().unwrap_or_else(|| "?".to_owned()),
            };
        }
        LaunchImage::Bottlerocket {
            variant: release.variant,
            arch: release.arch.to_string(),
            version: release.version,
            deprecated_since: facts.deprecation_time.filter(|t| *t <= self.at),
        }
    }

    /// Whether the image's owner is Bottlerocket's publisher or an account the job trusts.
    pub fn trusted(&self, facts: &ImageFacts) -> bool {
        facts.owner_alias.as_deref() == Some(BOTTLEROCKET_OWNER_ALIAS)
            || facts
                .owner_id
                .as_ref()
                .is_some_and(|o| self.owners.contains(o))
    }
}

/// What an instance's launch AMI is; `None` when its images were not described.
pub fn launch_image(
    images: &Images,
    account: &str,
    region: &str,
    image_id: &str,
    trust: &ImageTrust,
) -> Option<LaunchImage> {
    match images.get(account, region, image_id) {
        Some(facts) => Some(trust.judge(facts)),
        None if images.was_described(account, region) => Some(LaunchImage::Missing),
        None => None,
    }
}

/// SSM's `latest` AMIs as EC2 describes them in `account` (the first read): each must exist, be
/// public, come from Bottlerocket's publisher, and be named for the release SSM says it is.
/// Regions EC2 did not describe are not judged.
pub fn ssm_image_findings(
    latest: &[crate::ssm::Latest],
    images: &Images,
    account: &str,
) -> Vec<Finding> {
    latest
        .iter()
        .filter(|l| images.was_described(account, &l.region))
        .filter_map(|l| {
            let id = l.image_id.as_deref()?;
            let why = ssm_image_fault(l, images.get(account, &l.region, id))?;
            Some(
                Finding::error(
                    Code::SsmBadImage,
                    format!(
                        "SSM's latest {} {} in {} names {id}, which {why}",
                        l.variant, l.arch, l.region
                    ),
                )
                .target(id.to_owned())
                .about(crate::report::Subject {
                    region: Some(l.region.clone()),
                    ami: Some(id.to_owned()),
                    ..crate::report::Subject::track(Some(&l.variant), Some(&l.arch))
                }),
            )
        })
        .collect()
}

/// What is wrong with the AMI SSM's `latest` names, if anything.
fn ssm_image_fault(latest: &crate::ssm::Latest, facts: Option<&ImageFacts>) -> Option<String> {
    let Some(facts) = facts else {
        return Some(
            "EC2 does not describe to this account: it does not exist, or is outside the account's Allowed AMIs"
                .to_owned(),
        );
    };
    if !facts.public {
        return Some("is not public".to_owned());
    }
    // SSM's public parameters name the publisher's own AMIs: a copy the job trusts is not one.
    if facts.owner_alias.as_deref() != Some(BOTTLEROCKET_OWNER_ALIAS) {
        let owner = facts.owner_id.as_deref().unwrap_or("?");
        return Some(format!(
            "is owned by account {owner}, not Bottlerocket's publisher"
        ));
    }
    let name = facts.name.as_deref().unwrap_or_default();
    let said = release_of_name(name);
    let agrees = said.as_ref().is_some_and(|r| {
        r.variant == latest.variant
            && r.arch.as_str() == latest.arch
            && Some(r.version.as_str()) == latest.image_version.as_deref()
    });
    (!agrees).then(|| {
        format!(
            "is named {name:?}: another release than SSM's image_version {}",
            latest.image_version.as_deref().unwrap_or("(none)")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(name: &str, alias: Option<&str>, owner: &str) -> ImageFacts {
        ImageFacts {
            account: "111122223333".to_owned(),
            region: "us-west-2".to_owned(),
            image_id: "ami-1".to_owned(),
            name: Some(name.to_owned()),
            owner_id: Some(owner.to_owned()),
            owner_alias: alias.map(str::to_owned),
            public: true,
            state: Some("available".to_owned()),
            deprecation_time: None,
        }
    }

    /// The real images of `fixtures/bottlerocket/aws/describe-images-1.66.0.json` (what `aws ec2
    /// describe-images` printed for two Bottlerocket AMIs in use): each name gives its variant,
    /// the architecture EC2 gives, and the version; the owner alias makes them Bottlerocket's.
    #[test]
    fn the_real_images_are_bottlerocket_releases() {
        let doc: serde_json::Value = serde_json::from_str(include_str!(
            "../../fixtures/bottlerocket/aws/describe-images-1.66.0.json"
        ))
        .unwrap();
        let images = doc["Images"].as_array().unwrap();
        assert_eq!(images.len(), 2);
        let trust = ImageTrust {
            owners: Vec::new(),
            at: DateTime::parse_from_rfc3339("2026-12-01T00:00:00Z")
                .unwrap()
                .to_utc(),
        };
        for image in images {
            let text = |k: &str| image[k].as_str().map(str::to_owned);
            let facts = ImageFacts {
                account: "111122223333".to_owned(),
                region: "us-east-1".to_owned(),
                image_id: text("ImageId").unwrap(),
                name: text("Name"),
                owner_id: text("OwnerId"),
                owner_alias: text("ImageOwnerAlias"),
                public: image["Public"].as_bool().unwrap(),
                state: text("State"),
                deprecation_time: text("DeprecationTime")
                    .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
                    .map(|t| t.to_utc()),
            };
            let arch = match image["Architecture"].as_str().unwrap() {
                "arm64" => "aarch64",
                other => other,
            };
            assert_eq!(
                trust.judge(&facts),
                LaunchImage::Bottlerocket {
                    variant: "aws-k8s-1.36".to_owned(),
                    arch: arch.to_owned(),
                    version: "1.66.0-1ad6b4a4".to_owned(),
                    deprecated_since: None,
                },
                "{image}"
            );
        }
    }

    /// Names that only look like Bottlerocket's.
    #[test]
    fn release_of_an_image_name() {
        let r = release_of_name("bottlerocket-aws-k8s-1.36-aarch64-v1.66.0-1ad6b4a4").unwrap();
        assert_eq!(
            (r.variant.as_str(), r.arch, r.version.as_str()),
            ("aws-k8s-1.36", Arch::Aarch64, "1.66.0-1ad6b4a4")
        );
        let r = release_of_name("bottlerocket-aws-ecs-2-nvidia-x86_64-v1.26.1-c41a8f09").unwrap();
        assert_eq!(r.variant, "aws-ecs-2-nvidia");
        for other in [
            "amzn2-ami-hvm-2.0.20240131.0-x86_64-gp2",
            "bottlerocket-aws-k8s-1.36-sparc-v1.66.0-1ad6b4a4",
            "bottlerocket-aws-k8s-1.36-x86_64-vlatest",
            "bottlerocket--x86_64-v1.66.0-1ad6b4a4",
            "bottlerocket-AWS K8S-x86_64-v1.66.0-1ad6b4a4",
        ] {
            assert_eq!(release_of_name(other), None, "{other}");
        }
    }

    #[test]
    fn an_image_is_judged_by_its_name_and_its_owner() {
        let at = DateTime::parse_from_rfc3339("2026-12-01T00:00:00Z")
            .unwrap()
            .to_utc();
        let trust = ImageTrust {
            owners: vec!["444455556666".to_owned()],
            at,
        };
        let name = "bottlerocket-aws-k8s-1.36-x86_64-v1.66.0-1ad6b4a4";
        let mut f = facts(name, Some("amazon"), "092701018921");
        f.deprecation_time = Some(at - chrono::Duration::days(1));
        assert!(matches!(
            trust.judge(&f),
            LaunchImage::Bottlerocket {
                deprecated_since: Some(_),
                ..
            }
        ));
        f.deprecation_time = Some(at + chrono::Duration::days(1));
        assert!(matches!(
            trust.judge(&f),
            LaunchImage::Bottlerocket {
                deprecated_since: None,
                ..
            }
        ));
        assert_eq!(
            trust.judge(&facts(name, None, "999988887777")),
            LaunchImage::ForeignOwner {
                name: name.to_owned(),
                owner: "999988887777".to_owned()
            }
        );
        assert!(matches!(
            trust.judge(&facts(name, None, "444455556666")),
            LaunchImage::Bottlerocket { .. }
        ));
        assert!(matches!(
            trust.judge(&facts("al2023-ami", Some("amazon"), "1")),
            LaunchImage::Other { .. }
        ));
    }

    /// Each way the AMI SSM's `latest` names can be wrong, and the one way it is right.
    #[test]
    fn what_is_wrong_with_an_ssm_image() {
        let latest = crate::ssm::Latest {
            region: "us-west-2".to_owned(),
            variant: "aws-k8s-1.31".to_owned(),
            arch: "x86_64".to_owned(),
            image_id: Some("ami-1".to_owned()),
            image_version: Some("1.26.1-c41a8f09".to_owned()),
            last_modified: None,
        };
        let good = "bottlerocket-aws-k8s-1.31-x86_64-v1.26.1-c41a8f09";
        let private = ImageFacts {
            public: false,
            ..facts(good, Some("amazon"), "092701018921")
        };
        let cases: [(Option<ImageFacts>, Option<&str>); 5] = [
            (None, Some("EC2 does not describe")),
            (Some(private), Some("is not public")),
            (
                Some(facts(good, None, "999988887777")),
                Some("is owned by account 999988887777"),
            ),
            (
                Some(facts(
                    "bottlerocket-aws-k8s-1.31-x86_64-v1.26.0-7b9d2e44",
                    Some("amazon"),
                    "092701018921",
                )),
                Some("another release than SSM's image_version 1.26.1-c41a8f09"),
            ),
            (Some(facts(good, Some("amazon"), "092701018921")), None),
        ];
        for (image, expected) in cases {
            let fault = ssm_image_fault(&latest, image.as_ref());
            match expected {
                Some(e) => assert!(fault.as_deref().is_some_and(|f| f.contains(e)), "{fault:?}"),
                None => assert_eq!(fault, None),
            }
        }
    }
}
