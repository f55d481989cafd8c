//! Bottlerocket's `manifest.json` (the update list, itself a signed target), parsed into checked
//! types. Errors name the field: `updates[3].waves: seed "234ab32" is not a number`.

use chrono::{DateTime, NaiveDateTime, Utc};
use semver::Version;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;

/// A manifest that cannot be read, and why, naming the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ManifestError {
    /// Where: `updates[2].version`, `migrations["(1.0.0, 1.1.0)"]`, or `manifest.json`.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

fn err(field: impl Into<String>, message: impl Into<String>) -> ManifestError {
    ManifestError {
        field: field.into(),
        message: message.into(),
    }
}

/// The images of one release: target names in the repository.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Images {
    /// The boot partition image.
    pub boot: String,
    /// The root partition image.
    pub root: String,
    /// The dm-verity hash tree.
    pub hash: String,
}

/// One wave of a release: hosts with a seed up to `bound` (of 0..2048) may update from `start`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Wave {
    /// The highest seed of the wave.
    pub bound: u32,
    /// When the wave starts.
    pub start: DateTime<Utc>,
}

/// One release of one variant and architecture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Update {
    /// Variant, e.g. `aws-k8s-1.31`.
    pub variant: String,
    /// Architecture as TUF names it: `x86_64` or `aarch64`.
    pub arch: String,
    /// The release.
    pub version: Version,
    /// The highest version a host may update to with this entry.
    pub max_version: Version,
    /// Waves in order of their seed bound.
    pub waves: Vec<Wave>,
    /// The images.
    pub images: Images,
}

/// The whole manifest.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Manifest {
    /// Every release listed.
    pub updates: Vec<Update>,
    /// Migrations between two versions, in the order they run.
    pub migrations: BTreeMap<(Version, Version), Vec<String>>,
}

/// A JSON object's members in file order, duplicates kept (so that they can be refused), each
/// value still as its raw text.
struct Members(Vec<(String, Box<RawValue>)>);

impl<'de> Deserialize<'de> for Members {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Members;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, Box<RawValue>>()? {
                    out.push((k, v));
                }
                Ok(Members(out))
            }
        }
        d.deserialize_map(V)
    }
}

#[derive(Deserialize)]
struct RawManifest {
    updates: Option<Vec<Members>>,
    migrations: Option<Members>,
}

/// Parse `manifest.json`.
pub fn parse(bytes: &[u8]) -> Result<Manifest, ManifestError> {
    let raw: RawManifest = serde_json::from_slice(bytes)
        .map_err(|e| err("manifest.json", format!("not a manifest: {e}")))?;
    let mut manifest = Manifest::default();
    for (i, members) in raw
        .updates
        .ok_or_else(|| err("updates", "missing"))?
        .into_iter()
        .enumerate()
    {
        manifest
            .updates
            .push(update(&format!("updates[{i}]"), members)?);
    }
    for (key, raw_value) in raw.migrations.map(|m| m.0).unwrap_or_default() {
        let field = format!("migrations[{key:?}]");
        let value: Value = serde_json::from_str(raw_value.get()).unwrap_or(Value::Null);
        let pair = migration_key(&key).ok_or_else(|| {
            err(
                &field,
                "the key is not a pair of versions like \"(1.0.0, 1.1.0)\"",
            )
        })?;
        let names = value
            .as_array()
            .and_then(|a| {
                a.iter()
                    .map(|n| n.as_str().map(str::to_owned))
                    .collect::<Option<Vec<_>>>()
            })
            .ok_or_else(|| err(&field, "is not a list of migration names"))?;
        if manifest.migrations.insert(pair, names).is_some() {
            return Err(err(&field, "appears twice"));
        }
    }
    Ok(manifest)
}

fn update(path: &str, members: Members) -> Result<Update, ManifestError> {
    let mut fields: BTreeMap<String, Value> = BTreeMap::new();
    let mut waves_raw = None;
    for (k, v) in members.0 {
        if fields.contains_key(&k) || (k == "waves" && waves_raw.is_some()) {
            return Err(err(format!("{path}.{k}"), "appears twice"));
        }
        if k == "waves" {
            waves_raw = Some(v);
        } else {
            fields.insert(k, serde_json::from_str(v.get()).unwrap_or(Value::Null));
        }
    }
    let text = |name: &str| -> Result<String, ManifestError> {
        fields
            .get(name)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| err(format!("{path}.{name}"), "missing, or not a string"))
    };
    let version = |name: &str| -> Result<Version, ManifestError> {
        let t = text(name)?;
        Version::parse(&t).map_err(|e| {
            err(
                format!("{path}.{name}"),
                format!("{t:?} is not a version: {e}"),
            )
        })
    };
    let images = fields
        .get("images")
        .and_then(Value::as_object)
        .ok_or_else(|| err(format!("{path}.images"), "missing, or not an object"))?;
    let image = |name: &str| -> Result<String, ManifestError> {
        images
            .get(name)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| err(format!("{path}.images.{name}"), "missing, or not a string"))
    };
    let waves_raw = waves_raw.ok_or_else(|| err(format!("{path}.waves"), "missing"))?;
    let waves_members: Members = serde_json::from_str(waves_raw.get())
        .map_err(|_| err(format!("{path}.waves"), "is not an object"))?;
    Ok(Update {
        variant: text("variant")?,
        arch: text("arch")?,
        version: version("version")?,
        max_version: version("max_version")?,
        waves: waves(&format!("{path}.waves"), waves_members)?,
        images: Images {
            boot: image("boot")?,
            root: image("root")?,
            hash: image("hash")?,
        },
    })
}

fn waves(path: &str, members: Members) -> Result<Vec<Wave>, ManifestError> {
    let mut out: BTreeMap<u32, DateTime<Utc>> = BTreeMap::new();
    for (seed, start) in members.0 {
        let start: Value = serde_json::from_str(start.get()).unwrap_or(Value::Null);
        let bound: u32 = seed
            .parse()
            .map_err(|_| err(path, format!("seed {seed:?} is not a number")))?;
        let text = start
            .as_str()
            .ok_or_else(|| err(path, format!("the start of seed {seed:?} is not a string")))?;
        let start = parse_time(text).ok_or_else(|| {
            err(
                path,
                format!("the start of seed {seed:?}, {text:?}, is not an RFC 3339 time"),
            )
        })?;
        if out.insert(bound, start).is_some() {
            return Err(err(path, format!("seed {seed:?} appears twice")));
        }
    }
    Ok(out
        .into_iter()
        .map(|(bound, start)| Wave { bound, start })
        .collect())
}

/// An RFC 3339 time; single-digit months and days (`2019-8-06T15:00:00Z`) are accepted, as
/// Bottlerocket's updater accepts them.
pub fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.to_utc());
    }
    if let Ok(t) = DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%:z") {
        return Some(t.to_utc());
    }
    let naive = text.strip_suffix('Z').or_else(|| text.strip_suffix('z'))?;
    NaiveDateTime::parse_from_str(naive, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|t| t.and_utc())
}

/// `"(1.0.0, 1.1.0)"` as a pair of versions.
fn migration_key(key: &str) -> Option<(Version, Version)> {
    let inner = key.trim().strip_prefix('(')?.strip_suffix(')')?;
    let (a, b) = inner.split_once(',')?;
    Some((
        Version::parse(a.trim()).ok()?,
        Version::parse(b.trim()).ok()?,
    ))
}

impl Manifest {
    /// The migrations a host runs from `from` to `to`, as Bottlerocket's updater finds them:
    /// from the current version, the step with the highest target not above `to`, repeated.
    pub fn migrations_between(&self, from: &Version, to: &Version) -> Vec<String> {
        let mut out = Vec::new();
        let mut current = from.clone();
        for _ in 0..=self.migrations.len() {
            if &current >= to {
                break;
            }
            let step = self
                .migrations
                .iter()
                .filter(|((a, b), _)| *a == current && b <= to && *b > current)
                .max_by(|x, y| x.0 .1.cmp(&y.0 .1));
            match step {
                Some(((_, b), names)) => {
                    out.extend(names.iter().cloned());
                    current = b.clone();
                }
                None => break,
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shared(name: &str) -> Vec<u8> {
        let dir = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/bottlerocket/manifests/"
        );
        std::fs::read(format!("{dir}{name}")).unwrap()
    }

    #[test]
    fn every_good_real_manifest_parses() {
        let dir = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/bottlerocket/manifests/"
        );
        let mut good = 0;
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name == "bad-bound.json" || name == "duplicate-bound.json" {
                continue;
            }
            let m =
                parse(&std::fs::read(e.path()).unwrap()).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(!m.updates.is_empty(), "{name}");
            good += 1;
        }
        assert!(good >= 9);
    }

    #[test]
    fn the_bad_real_manifests_are_refused_naming_the_field() {
        let e = parse(&shared("bad-bound.json")).unwrap_err();
        assert_eq!(e.field, "updates[0].waves");
        assert!(e.message.contains("\"234ab32\" is not a number"), "{e}");
        let e = parse(&shared("duplicate-bound.json")).unwrap_err();
        assert_eq!(e.field, "updates[0].waves");
        assert!(e.message.contains("\"0\" appears twice"), "{e}");
    }

    #[test]
    fn loose_dates_and_migrations_read_as_the_updater_reads_them() {
        let m = parse(&shared("migrations.json")).unwrap();
        assert_eq!(
            m.updates[0].waves[0].start,
            parse_time("2019-08-06T15:00:00Z").unwrap()
        );
        let v = |s: &str| Version::parse(s).unwrap();
        assert_eq!(
            m.migrations_between(&v("1.0.0"), &v("1.5.0")),
            [
                "migration_1.1.0_a",
                "migration_1.1.0_b",
                "migration_1.5.0_shortcut"
            ]
        );
        assert_eq!(
            m.migrations_between(&v("1.2.0"), &v("1.5.0")),
            ["migration_1.5.0_skip"]
        );
        assert!(m.migrations_between(&v("1.5.0"), &v("1.5.0")).is_empty());
    }

    #[test]
    fn other_errors_name_their_field() {
        let e = parse(br#"{"updates": [{"variant": "v", "arch": "x86_64", "version": "one", "max_version": "1.0.0", "waves": {}, "images": {"boot": "b", "root": "r", "hash": "h"}}]}"#).unwrap_err();
        assert_eq!(e.field, "updates[0].version");
        let e = parse(br#"{"updates": [], "migrations": {"1.0.0 to 1.1.0": []}}"#).unwrap_err();
        assert!(e.field.starts_with("migrations["), "{e}");
        let e = parse(b"[]").unwrap_err();
        assert_eq!(e.field, "manifest.json");
    }
}
