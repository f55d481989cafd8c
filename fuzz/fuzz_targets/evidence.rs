//! The files of an evidence bundle as `evidence verify` reads them: the statement and its field
//! checks, the DSSE envelope, SHA256SUMS, the report and releases.json.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tufwatch::evidence::{dsse, statement::Statement, sums};

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = serde_json::from_slice::<Statement>(data) {
        let _ = s.check();
    }
    if let Ok(env) = serde_json::from_slice::<dsse::Envelope>(data) {
        let _ = env.payload_bytes();
        let _ = env.verified_by(data);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = sums::parse(text);
    }
    let _ = serde_json::from_slice::<tufwatch::report::Report>(data);
    let _ = dsse::public_key_from_pem(&String::from_utf8_lossy(data));
});
