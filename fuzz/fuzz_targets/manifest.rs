//! Bottlerocket's manifest.json, and the release tracks made from it.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = tufwatch::releases::manifest::parse(data) {
        let _ = tufwatch::releases::tracks(&m, chrono::Utc::now(), None);
    }
});
