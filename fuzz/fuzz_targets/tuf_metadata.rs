//! TUF metadata: the strict engine's parser for each role, the trusted set's first step, the
//! canonical form signatures cover, and tufwatch's signature split used beside tough.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tufwatch::engine::strict::metadata::{parse, Root, Snapshot, Targets, Timestamp};

fuzz_target!(|data: &[u8]| {
    let _ = parse(data, Root::parse);
    let _ = parse(data, Timestamp::parse);
    let _ = parse(data, Snapshot::parse);
    if let Ok(t) = parse(data, Targets::parse) {
        if let Some(d) = &t.signed.delegations {
            for r in &d.roles {
                let _ = r.trusted_for("a/b.txt");
            }
            if let Some(s) = &d.succinct {
                let _ = s.is_bin(&s.bin_of("a/b.txt"));
            }
        }
    }
    let _ = tufwatch::engine::strict::trusted::Trusted::new(data, chrono::Utc::now());
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = tufwatch::engine::canonical::canonicalize(text);
    }
    let _ = tufwatch::engine::signatures::SignedParts::parse(data);
});
