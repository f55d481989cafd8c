//! Inventories: kubectl and EC2 JSON, CSV, detected or named.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tufwatch::fleet::inventory::{detect_and_parse, parse, Format};

fuzz_target!(|data: &[u8]| {
    let _ = detect_and_parse(data);
    for format in [Format::Kubectl, Format::Ec2, Format::Csv] {
        let _ = parse(format, data);
    }
});
