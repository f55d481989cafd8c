//! The SSM file source: `aws ssm get-parameters-by-path` output, CLI v1 or v2.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = tufwatch::ssm::file::parse(data, Some("us-west-2"));
    let _ = tufwatch::ssm::file::parse(data, None);
});
