//! Releases from the signed `manifest.json`: the manifest model and wave arithmetic.

pub mod manifest;
pub mod waves;
