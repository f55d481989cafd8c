//! Trust anchors: pinned roots and the trusted root a run starts from.
//!
//! A root is trusted because its exact bytes have a SHA-512 the user or `trusted-roots/` pinned,
//! never because it was the first one seen (no trust on first use).

use crate::digest::sha512_hex;
use crate::error::Setting;
use crate::error::{Error, Result};
use serde::Deserialize;
use std::path::Path;

/// Bottlerocket's pin file, compiled in from `trusted-roots/bottlerocket.toml`.
pub const BOTTLEROCKET_PINS: &str = include_str!("../../trusted-roots/bottlerocket.toml");

/// The root a Bottlerocket verification starts from without `--root`: the file the pin file's
/// `anchor` names, compiled in (a unit test checks that the two agree and that its SHA-512 is
/// the pinned value of its version).
pub const BOTTLEROCKET_ANCHOR: &[u8] =
    include_bytes!("../../trusted-roots/bottlerocket/2.root.json");

/// A set of pinned roots for one repository family, as in `trusted-roots/*.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PinSet {
    /// Short name, e.g. `bottlerocket`.
    pub name: String,
    /// What the pins are for.
    pub description: String,
    /// Where the official root is published.
    pub url: String,
    /// The root file embedded as the trust anchor, relative to `trusted-roots/`.
    pub anchor: String,
    /// The pinned SHA-512 values.
    #[serde(rename = "pin")]
    pub pins: Vec<Pin>,
}

/// One pinned SHA-512 of a root file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pin {
    /// The root version the value belongs to.
    pub version: u64,
    /// SHA-512 of the root file's exact bytes (128 hex digits).
    pub sha512: String,
    /// When the value was documented.
    pub documented: String,
    /// Where the value comes from.
    pub source: String,
}

impl PinSet {
    /// Parse a pin file; `origin` names it in errors.
    pub fn parse(origin: &str, text: &str) -> Result<Self> {
        let set: PinSet = toml::from_str(text).map_err(|e| Error::Invalid {
            what: "pin file",
            path: origin.to_owned(),
            message: e.to_string(),
        })?;
        for pin in &set.pins {
            if !is_sha512_hex(&pin.sha512) {
                return Err(Error::Invalid {
                    what: "pin file",
                    path: origin.to_owned(),
                    message: format!("{:?} is not 128 lower-case hex digits", pin.sha512),
                });
            }
        }
        Ok(set)
    }

    /// Bottlerocket's pins.
    pub fn bottlerocket() -> Self {
        // The compiled-in file is checked by a unit test, so this cannot fail at run time.
        PinSet::parse("trusted-roots/bottlerocket.toml", BOTTLEROCKET_PINS)
            .unwrap_or_else(|e| panic!("compiled-in pin file is invalid: {e}"))
    }

    /// The pin a SHA-512 matches, if any.
    pub fn find(&self, sha512: &str) -> Option<&Pin> {
        self.pins.iter().find(|p| p.sha512 == sha512)
    }

    /// How a matching root is described in reports.
    pub fn describe(&self, pin: &Pin) -> String {
        format!(
            "{} pin of root v{} documented {}",
            self.name, pin.version, pin.documented
        )
    }
}

/// Whether `s` is a SHA-512 in lower-case hex.
pub fn is_sha512_hex(s: &str) -> bool {
    s.len() == 128
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Normalize a user-given SHA-512 (`--sha512`, `--root-sha512`): trimmed, lower case, checked.
pub fn parse_sha512_arg(setting: Setting, value: &str) -> Result<String> {
    parse_hex_arg(setting, value, value, "SHA-512", 128)
}

/// Normalize a user-given SHA-256 (`evidence verify --sha256`): trimmed, lower case, `sha256:`
/// before it allowed, checked.
pub fn parse_sha256_arg(setting: Setting, value: &str) -> Result<String> {
    let lower = value.trim().to_ascii_lowercase();
    let hex = lower.strip_prefix("sha256:").unwrap_or(&lower);
    parse_hex_arg(setting, value, hex, "SHA-256", 64)
}

/// `hex` (from the argument `value`) trimmed and in lower case, if it is `digits` hex digits.
fn parse_hex_arg(
    setting: Setting,
    value: &str,
    hex: &str,
    name: &str,
    digits: usize,
) -> Result<String> {
    let v = hex.trim().to_ascii_lowercase();
    if v.len() == digits && v.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(v)
    } else {
        Err(Error::Setting {
            setting,
            message: format!("{value:?} is not a {name}: expected {digits} hex digits"),
        })
    }
}

/// The head of a root file: what tufwatch reads of it before an engine parses the rest.
#[derive(Deserialize)]
struct RootHead {
    signed: RootHeadSigned,
}

#[derive(Deserialize)]
struct RootHeadSigned {
    #[serde(rename = "_type")]
    kind: String,
    version: u64,
}

/// The trust anchor of a run: the exact bytes of a root, and how they came to be trusted.
#[derive(Debug, Clone)]
pub struct TrustedRoot {
    /// The exact bytes.
    pub bytes: Vec<u8>,
    /// The file or URL it was read from.
    pub source: String,
    /// SHA-512 of the bytes (hex).
    pub sha512: String,
    /// The root's version.
    pub version: u64,
    /// What pinned it (see [`crate::report::TrustedRootReport::pinned_by`]).
    pub pinned_by: String,
}

impl TrustedRoot {
    /// Check that `bytes` are a TUF root and record where they came from. `pinned_by` is filled
    /// in by [`TrustedRoot::pin`].
    /// Only the envelope, the role type and the version are read here: the engines parse the
    /// rest, each its own way (the strict engine needs nothing of tough's schema).
    pub fn parse(source: &str, bytes: Vec<u8>) -> Result<Self> {
        let invalid = |message: String| Error::Invalid {
            what: "trusted root",
            path: source.to_owned(),
            message,
        };
        let head: RootHead = serde_json::from_slice(&bytes)
            .map_err(|e| invalid(format!("not a TUF root metadata file: {e}")))?;
        if head.signed.kind != "root" {
            return Err(invalid(format!(
                "signed._type is {:?}, not \"root\"",
                head.signed.kind
            )));
        }
        if head.signed.version == 0 {
            return Err(invalid(
                "signed.version is 0; versions start at 1".to_owned(),
            ));
        }
        Ok(TrustedRoot {
            sha512: sha512_hex(&bytes),
            version: head.signed.version,
            bytes,
            source: source.to_owned(),
            pinned_by: "none".to_owned(),
        })
    }

    /// Read a root file of at most `max` bytes (`--max-root-size`).
    pub fn read(path: &Path, max: u64) -> Result<Self> {
        let bytes = super::read_limited(path, max, "trusted root")?;
        Self::parse(&path.display().to_string(), bytes)
    }

    /// Bottlerocket's root embedded in tufwatch ([`BOTTLEROCKET_ANCHOR`]), pinned by the value
    /// documented for its version.
    pub fn embedded_bottlerocket() -> Result<Self> {
        let set = PinSet::bottlerocket();
        let mut root = Self::parse(
            &format!("embedded trusted-roots/{}", set.anchor),
            BOTTLEROCKET_ANCHOR.to_vec(),
        )?;
        let pin = set
            .find(&root.sha512)
            .filter(|p| p.version == root.version)
            .ok_or_else(|| {
                Error::UntrustedRoot(format!(
                    "untrusted_root: the embedded {} (root v{}, sha512 {}) matches no pin of its version in trusted-roots/bottlerocket.toml; this build is broken",
                    set.anchor, root.version, root.sha512
                ))
            })?;
        root.pinned_by = format!(
            "embedded in tufwatch (trusted-roots/{}): {}",
            set.anchor,
            set.describe(pin)
        );
        Ok(root)
    }

    /// Accept the root only if it matches `expected` (a user-given SHA-512) or, without one, a
    /// pin of `pins`. With neither a user value nor a pin set, the root is taken as the user gave
    /// it and `pinned_by` says so.
    pub fn pin(mut self, expected: Option<&str>, pins: Option<&PinSet>) -> Result<Self> {
        if let Some(expected) = expected {
            if self.sha512 != expected {
                return Err(Error::UntrustedRoot(format!(
                    "untrusted_root: {} has sha512 {} but {} was expected; refusing to trust it",
                    self.source, self.sha512, expected
                )));
            }
            self.pinned_by = "sha512 given by the user".to_owned();
            return Ok(self);
        }
        match pins {
            Some(set) => match set.find(&self.sha512) {
                Some(pin) => {
                    self.pinned_by = set.describe(pin);
                    Ok(self)
                }
                None => Err(Error::UnpinnedRoot(format!(
                    "untrusted_root: {} (sha512 {}) matches none of the {} {} pins in trusted-roots/; \
                     check the value against Bottlerocket's documentation before pinning it",
                    self.source,
                    self.sha512,
                    set.pins.len(),
                    set.name
                ))),
            },
            None => {
                let known = PinSet::bottlerocket();
                if let Some(pin) = known.find(&self.sha512) {
                    self.pinned_by = known.describe(pin);
                } else {
                    self.pinned_by = "none: trusted as given".to_owned();
                }
                Ok(self)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_anchor_is_the_pinned_file() {
        let set = PinSet::bottlerocket();
        let on_disk = std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("trusted-roots")
                .join(&set.anchor),
        )
        .unwrap();
        assert_eq!(on_disk, BOTTLEROCKET_ANCHOR, "anchor = {:?}", set.anchor);
        let root = TrustedRoot::embedded_bottlerocket().unwrap();
        assert_eq!(root.version, 2);
        // The value Bottlerocket documented in 2020-09 (ROOT-CHECKSUMS.md), written out here
        // so that an edit of the pin file alone cannot change what is embedded.
        assert_eq!(root.sha512, "90393204232a1ad6b0a45528b1f7df1a3e37493b1e05b1c149f081849a292c8dafb4ea5f7ee17bcc664e35f66e37e4cfa4aae9de7a2a28aa31ae6ac3d9bea4d5");
        assert!(root.pinned_by.contains("root v2"), "{}", root.pinned_by);
    }

    #[test]
    fn every_documented_value_is_pinned_once_with_its_version() {
        let set = PinSet::bottlerocket();
        let versions: Vec<u64> = set.pins.iter().map(|p| p.version).collect();
        assert_eq!(versions, [2, 3, 4, 5, 6, 7, 8]);
        let mut values: Vec<&str> = set.pins.iter().map(|p| p.sha512.as_str()).collect();
        values.sort_unstable();
        values.dedup();
        assert_eq!(values.len(), set.pins.len());
        // Today's root (since 2026-08-04).
        assert_eq!(set.find("33eb2f01738391907a9380f74b6b2a84fada845b0474d3a30c5756f49067690e520c1d7a531a3e9d1877d3a2f05ec21d9093a8f7307e3fe5b61aa4584472dc9a").map(|p| p.version), Some(8));
    }

    #[test]
    fn roots_are_read_without_an_engine() {
        assert!(TrustedRoot::parse(
            "x",
            br#"{"signed":{"_type":"targets","version":1}}"#.to_vec()
        )
        .unwrap_err()
        .to_string()
        .contains("not \"root\""));
        assert!(
            TrustedRoot::parse("x", br#"{"signed":{"_type":"root","version":0}}"#.to_vec())
                .is_err()
        );
        assert_eq!(
            TrustedRoot::parse(
                "x",
                br#"{"signed":{"_type":"root","version":7},"signatures":[]}"#.to_vec()
            )
            .unwrap()
            .version,
            7
        );
    }

    #[test]
    fn compiled_in_pins_parse() {
        let set = PinSet::bottlerocket();
        assert_eq!(set.name, "bottlerocket");
        assert_eq!(set.url, "https://cache.bottlerocket.aws/root.json");
        assert!(set.pins.len() >= 2);
        assert!(set.find(&"0".repeat(128)).is_none());
    }

    #[test]
    fn sha512_args_are_checked() {
        let upper = "AB".repeat(64);
        assert_eq!(
            parse_sha512_arg(Setting::RootSha512, &upper).unwrap(),
            "ab".repeat(64)
        );
        assert!(parse_sha512_arg(Setting::RootSha512, "abc").is_err());
        assert!(parse_sha512_arg(Setting::RootSha512, &"g".repeat(128)).is_err());
    }

    #[test]
    fn bad_pin_files_are_named() {
        let e = PinSet::parse("x.toml", "name = 1").unwrap_err();
        assert!(e.to_string().contains("x.toml"), "{e}");
    }
}
