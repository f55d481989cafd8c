//! AWS SSM public parameters: which AMI and version AWS calls `latest` for each Bottlerocket
//! variant, architecture and region, read live ([`live`]) or from a file ([`file`]), and the
//! cross-check of those values against the signed manifest ([`check`]).
//!
//! Names are `/aws/service/bottlerocket/<variant>/<arch>/<pointer>/{image_id,image_version}`,
//! where `<arch>` is SSM's `x86_64` or `arm64` (TUF says `aarch64`) and `<pointer>` is `latest`,
//! a short version `1.26.1` or a build version `1.26.1-abcdef01`.

pub mod check;
pub mod file;
pub mod live;

use crate::report::{Code, Finding};
use crate::source::bottlerocket::Arch;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Where Bottlerocket's public parameters live.
pub const PREFIX: &str = "/aws/service/bottlerocket";

/// One parameter as read, with the region it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parameter {
    /// The AWS region.
    pub region: String,
    /// The full name.
    pub name: String,
    /// The value.
    pub value: String,
    /// When it last changed, when known.
    pub last_modified: Option<DateTime<Utc>>,
}

/// Which value a parameter holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Field {
    /// `image_id`: an AMI id.
    ImageId,
    /// `image_version`: a build version like `1.26.1-abcdef01`.
    ImageVersion,
}

/// A Bottlerocket parameter name taken apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Name<'a> {
    /// The variant.
    pub variant: &'a str,
    /// The architecture as SSM names it (`x86_64`, `arm64`).
    pub arch: &'a str,
    /// `latest`, a short version or a build version.
    pub pointer: &'a str,
    /// Which value.
    pub field: Field,
}

/// Take a parameter name apart; `None` for names outside the Bottlerocket layout.
pub fn parse_name(name: &str) -> Option<Name<'_>> {
    let rest = name.strip_prefix(PREFIX)?.strip_prefix('/')?;
    let mut parts = rest.split('/');
    let (variant, arch, pointer, field) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || variant.is_empty() || pointer.is_empty() {
        return None;
    }
    let field = match field {
        "image_id" => Field::ImageId,
        "image_version" => Field::ImageVersion,
        _ => return None,
    };
    Some(Name {
        variant,
        arch,
        pointer,
        field,
    })
}

/// The name of the `latest` parameter of a variant and architecture.
pub fn latest_name(variant: &str, arch: Arch, field: Field) -> String {
    let field = match field {
        Field::ImageId => "image_id",
        Field::ImageVersion => "image_version",
    };
    format!("{PREFIX}/{variant}/{}/latest/{field}", arch.ssm_name())
}

/// The TUF architecture of an SSM architecture name.
pub fn arch_of_ssm(name: &str) -> Option<Arch> {
    match name {
        "x86_64" => Some(Arch::X86_64),
        "arm64" => Some(Arch::Aarch64),
        _ => None,
    }
}

/// What SSM calls `latest` for one variant and architecture in one region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Latest {
    /// The region.
    pub region: String,
    /// The variant.
    pub variant: String,
    /// The architecture as TUF names it (`x86_64`, `aarch64`).
    pub arch: String,
    /// The AMI id, when the parameter exists.
    pub image_id: Option<String>,
    /// The build version, when the parameter exists.
    pub image_version: Option<String>,
    /// When `image_version` last changed, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<DateTime<Utc>>,
}

/// An AMI that SSM lists under a version (not only `latest`): how EC2 image ids map to versions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Image {
    /// The region.
    pub region: String,
    /// The AMI id.
    pub image_id: String,
    /// The variant.
    pub variant: String,
    /// The architecture as TUF names it.
    pub arch: String,
    /// The build version, like `1.26.1-abcdef01`.
    pub version: String,
}

/// Calls made to SSM.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Calls {
    /// `GetParameters` operations (up to 10 names each).
    pub get_parameters: u64,
    /// `GetParametersByPath` operations (one per page).
    pub get_parameters_by_path: u64,
    /// HTTP requests sent, retries included.
    pub attempts: u64,
}

impl Calls {
    /// The sum of two counts.
    pub fn plus(self, other: Calls) -> Calls {
        Calls {
            get_parameters: self.get_parameters + other.get_parameters,
            get_parameters_by_path: self.get_parameters_by_path + other.get_parameters_by_path,
            attempts: self.attempts + other.attempts,
        }
    }
}

/// How reading one region went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegionResult {
    /// The region.
    pub region: String,
    /// Calls made for it.
    pub calls: Calls,
    /// Why it could not be read completely; `None` when it was.
    pub error: Option<String>,
}

/// What to read.
#[derive(Debug, Clone, Default)]
pub struct Query {
    /// Regions whose `latest` values are read.
    pub regions: Vec<String>,
    /// Variants; empty takes every variant a file holds (a live read needs at least one).
    pub variants: Vec<String>,
    /// Architectures; empty means both.
    pub archs: Vec<Arch>,
    /// Regions where the per-version map (AMI id -> version) is needed, for EC2 inventories.
    pub image_regions: Vec<String>,
}

impl Query {
    /// The architectures asked, both when none were named.
    pub fn archs(&self) -> Vec<Arch> {
        if self.archs.is_empty() {
            vec![Arch::X86_64, Arch::Aarch64]
        } else {
            self.archs.clone()
        }
    }
}

/// What SSM said, from one source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observations {
    /// `live` (the AWS API, or the endpoint named) or `file` (the files named).
    pub source: String,
    /// The endpoint or files read.
    pub from: Vec<String>,
    /// When the values were read (for a file: when the file was read).
    pub observed_at: DateTime<Utc>,
    /// How each region went.
    pub regions: Vec<RegionResult>,
    /// The regions whose `latest` values were read (others were read only for the AMI map).
    pub latest_regions: Vec<String>,
    /// The variants asked; empty when every variant was (a file without a variant filter).
    pub variants: Vec<String>,
    /// The architectures asked (TUF's naming).
    pub archs: Vec<String>,
    /// `latest` per region, variant and architecture asked.
    pub latest: Vec<Latest>,
    /// AMIs by version, when an EC2 inventory needed them.
    pub images: Vec<Image>,
    /// Calls made in total.
    pub calls: Calls,
}

#[derive(Default)]
struct Dir {
    image_id: Option<String>,
    image_version: Option<String>,
    last_modified: Option<DateTime<Utc>>,
}

/// (region, variant, ssm arch, pointer): where a parameter's values belong.
type DirKey<'a> = (&'a str, &'a str, &'a str, &'a str);

/// The parameters read, by the directory they are in: (region, variant, ssm arch, pointer) ->
/// the two values.
struct Dirs<'a>(BTreeMap<DirKey<'a>, Dir>);

impl<'a> Dirs<'a> {
    /// Group the Bottlerocket parameters among `parameters` by directory; others are skipped.
    fn of(parameters: &'a [Parameter]) -> Self {
        let mut dirs: BTreeMap<DirKey<'a>, Dir> = BTreeMap::new();
        for p in parameters {
            let Some(n) = parse_name(&p.name) else {
                continue;
            };
            let dir = dirs
                .entry((&p.region, n.variant, n.arch, n.pointer))
                .or_default();
            match n.field {
                Field::ImageId => dir.image_id = Some(p.value.clone()),
                Field::ImageVersion => {
                    dir.image_version = Some(p.value.clone());
                    dir.last_modified = p.last_modified;
                }
            }
        }
        Dirs(dirs)
    }

    /// The variants to report `latest` for: those asked, else every variant seen, sorted.
    fn variants(&self, query: &Query) -> Vec<String> {
        let mut variants: Vec<String> = query.variants.clone();
        if variants.is_empty() {
            variants = self.0.keys().map(|k| k.1.to_owned()).collect();
            variants.sort();
            variants.dedup();
        }
        variants
    }

    /// `latest` for each region of `regions` in `latest_regions`, and each variant and
    /// architecture; with no variant asked, only those SSM has.
    fn latest(
        &self,
        query: &Query,
        regions: &[RegionResult],
        latest_regions: &[String],
        variants: &[String],
        archs: &[Arch],
    ) -> Vec<Latest> {
        // Looked up by keys that live shorter than the parameters.
        let dirs: &BTreeMap<DirKey<'_>, Dir> = &self.0;
        let mut latest = Vec::new();
        for r in regions
            .iter()
            .filter(|r| latest_regions.contains(&r.region))
        {
            for variant in variants {
                for arch in archs {
                    let dir = dirs.get(&(
                        r.region.as_str(),
                        variant.as_str(),
                        arch.ssm_name(),
                        "latest",
                    ));
                    if query.variants.is_empty() && dir.is_none() {
                        continue;
                    }
                    latest.push(Latest {
                        region: r.region.clone(),
                        variant: variant.clone(),
                        arch: arch.to_string(),
                        image_id: dir.and_then(|d| d.image_id.clone()),
                        image_version: dir.and_then(|d| d.image_version.clone()),
                        last_modified: dir.and_then(|d| d.last_modified),
                    });
                }
            }
        }
        latest
    }

    /// The AMIs listed under a version in the regions whose AMI map is asked, one per region
    /// and AMI id, in that order.
    fn images(&self, query: &Query) -> Vec<Image> {
        let mut images: BTreeMap<(&str, &str), Image> = BTreeMap::new();
        for ((region, variant, arch, pointer), dir) in &self.0 {
            let (Some(id), Some(tuf_arch)) = (&dir.image_id, arch_of_ssm(arch)) else {
                continue;
            };
            if *pointer == "latest" || !query.image_regions.iter().any(|r| r == region) {
                continue;
            }
            let version = match &dir.image_version {
                Some(v) => v.clone(),
                None if pointer.contains('-') => (*pointer).to_owned(),
                None => continue,
            };
            images.entry((region, id)).or_insert_with(|| Image {
                region: (*region).to_owned(),
                image_id: id.clone(),
                variant: (*variant).to_owned(),
                arch: tuf_arch.to_string(),
                version,
            });
        }
        images.into_values().collect()
    }
}

impl Observations {
    /// Build the observations from the parameters read. `regions` says which regions were read
    /// and how; `query` which variants and architectures to report `latest` for (for an empty
    /// variant list, every variant seen).
    pub fn from_parameters(
        source: &str,
        from: Vec<String>,
        observed_at: DateTime<Utc>,
        query: &Query,
        regions: Vec<RegionResult>,
        parameters: &[Parameter],
    ) -> Self {
        let dirs = Dirs::of(parameters);
        let archs = query.archs();
        let variants = dirs.variants(query);
        let latest_regions: Vec<String> = regions
            .iter()
            .filter(|r| r.error.is_none())
            .filter(|r| query.regions.contains(&r.region))
            .map(|r| r.region.clone())
            .collect();
        let latest = dirs.latest(query, &regions, &latest_regions, &variants, &archs);
        let images = dirs.images(query);
        let calls = regions
            .iter()
            .fold(Calls::default(), |c, r| c.plus(r.calls));
        Observations {
            source: source.to_owned(),
            from,
            observed_at,
            regions,
            latest_regions,
            variants: query.variants.clone(),
            archs: archs.iter().map(|a| a.to_string()).collect(),
            latest,
            images,
            calls,
        }
    }

    /// Whether SSM was asked about this variant and architecture.
    pub fn asked(&self, variant: &str, arch: &str) -> bool {
        (self.variants.is_empty() || self.variants.iter().any(|v| v == variant))
            && self.archs.iter().any(|a| a == arch)
    }

    /// Whether the AMI map holds every Bottlerocket AMI of the regions read (a file read without
    /// a variant filter), so that an AMI missing from it is not Bottlerocket's.
    pub fn images_complete(&self) -> bool {
        self.variants.is_empty()
    }

    /// The AMI with this id in this region, when SSM lists it.
    pub fn image(&self, region: &str, image_id: &str) -> Option<&Image> {
        self.images
            .iter()
            .find(|i| i.region == region && i.image_id == image_id)
    }

    /// One `ssm_unavailable` finding per region that could not be read (the run is incomplete).
    pub fn findings(&self) -> Vec<Finding> {
        self.regions
            .iter()
            .filter_map(|r| {
                r.error.as_ref().map(|e| {
                    Finding::error(Code::SsmUnavailable, format!("SSM in {}: {e}", r.region)).about(
                        crate::report::Subject {
                            region: Some(r.region.clone()),
                            ..Default::default()
                        },
                    )
                })
            })
            .collect()
    }
}

/// Check a region name's spelling (`us-west-2`, `cn-north-1`, `us-gov-west-1`).
pub fn check_region(region: &str) -> crate::error::Result<()> {
    let ok = !region.is_empty()
        && region.len() <= 32
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !region.starts_with('-');
    if ok {
        Ok(())
    } else {
        Err(crate::error::Error::Setting {
            setting: crate::error::Setting::Region,
            message: format!("{region:?} is not an AWS region name (like us-west-2)"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(region: &str, name: &str, value: &str) -> Parameter {
        Parameter {
            region: region.into(),
            name: name.into(),
            value: value.into(),
            last_modified: None,
        }
    }

    #[test]
    fn names_are_taken_apart() {
        let n = parse_name("/aws/service/bottlerocket/aws-k8s-1.31/arm64/latest/image_id").unwrap();
        assert_eq!(
            (n.variant, n.arch, n.pointer, n.field),
            ("aws-k8s-1.31", "arm64", "latest", Field::ImageId)
        );
        assert!(parse_name("/aws/service/bottlerocket/aws-k8s-1.31/arm64/latest").is_none());
        assert!(parse_name("/aws/service/ami-amazon-linux-latest/x/y/image_id").is_none());
        assert!(parse_name("/aws/service/bottlerocket/a/b/c/d/image_id").is_none());
        assert_eq!(
            latest_name("aws-ecs-2", Arch::Aarch64, Field::ImageVersion),
            "/aws/service/bottlerocket/aws-ecs-2/arm64/latest/image_version"
        );
    }

    #[test]
    fn latest_and_images_per_region() {
        let b = "/aws/service/bottlerocket/aws-ecs-2";
        let params = vec![
            p("us-west-2", &format!("{b}/arm64/latest/image_id"), "ami-2"),
            p(
                "us-west-2",
                &format!("{b}/arm64/latest/image_version"),
                "1.2.0-bb",
            ),
            p("us-west-2", &format!("{b}/arm64/1.2.0/image_id"), "ami-2"),
            p(
                "us-west-2",
                &format!("{b}/arm64/1.2.0/image_version"),
                "1.2.0-bb",
            ),
            p(
                "us-west-2",
                &format!("{b}/arm64/1.1.0-aa/image_id"),
                "ami-1",
            ),
            p(
                "eu-west-1",
                &format!("{b}/arm64/1.1.0-aa/image_id"),
                "ami-9",
            ),
        ];
        let regions = ["us-west-2", "eu-west-1"]
            .iter()
            .map(|r| RegionResult {
                region: (*r).into(),
                calls: Calls::default(),
                error: None,
            })
            .collect();
        let q = Query {
            regions: vec!["us-west-2".into(), "eu-west-1".into()],
            variants: vec!["aws-ecs-2".into()],
            archs: vec![Arch::Aarch64],
            image_regions: vec!["us-west-2".into()],
        };
        let o = Observations::from_parameters("file", vec![], Utc::now(), &q, regions, &params);
        assert_eq!(o.latest.len(), 2);
        assert_eq!(o.latest[0].image_version.as_deref(), Some("1.2.0-bb"));
        assert_eq!(o.latest[0].arch, "aarch64");
        assert_eq!(o.latest[1].image_id, None, "eu-west-1 has no latest");
        assert_eq!(o.images.len(), 2, "{:?}", o.images);
        assert_eq!(o.image("us-west-2", "ami-1").unwrap().version, "1.1.0-aa");
        assert!(o.image("eu-west-1", "ami-9").is_none(), "not asked for");
    }
}
