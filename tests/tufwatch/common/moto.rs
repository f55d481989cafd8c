//! A real local SSM endpoint: moto on loopback, seeded with the demo's public parameters, behind
//! the fault switch of `tests/support/moto_ssm.py`. One server for the test binary, started on first
//! use; it exits when the test process ends (its standard input closes).
//!
//! Regions have fixed roles, so that tests running at once do not disturb each other's counts:
//! `us-west-2` and `eu-west-1` hold the demo data (read only); `ca-central-1` is a clean copy for
//! exact call counts; `eu-north-1` throttles its first 2 requests; `ap-south-1` throttles every
//! request; `sa-east-1` answers its first request with HTTP 500.

use super::project;
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};

/// The running server.
pub struct Moto {
    port: u16,
    _child: Mutex<(Child, ChildStdin)>,
    _dir: tempfile::TempDir,
}

/// The Python of the test virtual environment (made by `scripts/test.sh`), or
/// `TUFWATCH_TEST_PYTHON`.
pub fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("TUFWATCH_TEST_PYTHON") {
        return PathBuf::from(p);
    }
    let p = project().join("target/test-venv/bin/python");
    assert!(
        p.exists(),
        "{} is missing: run `bash scripts/test.sh` once (it installs moto and python-tuf there), or set TUFWATCH_TEST_PYTHON to a Python with tests/support/requirements.txt",
        p.display()
    );
    p
}

/// The regions the seed copies the demo data into, with their faults.
pub const CLEAN: &str = "ca-central-1";
/// Throttles its first 2 requests.
pub const THROTTLE_FIRST_2: &str = "eu-north-1";
/// Throttles every request.
pub const THROTTLE_ALL: &str = "ap-south-1";
/// Answers its first request with HTTP 500.
pub const ERROR_FIRST: &str = "sa-east-1";
/// Answers only after 20 seconds.
pub const SILENT: &str = "af-south-1";

/// The shared server.
pub fn moto() -> &'static Moto {
    static MOTO: OnceLock<Moto> = OnceLock::new();
    MOTO.get_or_init(start)
}

fn start() -> Moto {
    let dir = tempfile::tempdir().unwrap();
    let demo: Value = serde_json::from_slice(
        &std::fs::read(project().join("fixtures/demo-fleet/ssm-parameters.json")).unwrap(),
    )
    .unwrap();
    let mut params: Vec<Value> = demo["Parameters"].as_array().unwrap().clone();
    let us_west: Vec<Value> = params
        .iter()
        .filter(|p| p["ARN"].as_str().unwrap().contains(":us-west-2:"))
        .cloned()
        .collect();
    for region in [CLEAN, THROTTLE_FIRST_2, THROTTLE_ALL, ERROR_FIRST, SILENT] {
        for p in &us_west {
            let mut p = p.clone();
            p["ARN"] = Value::String(
                p["ARN"]
                    .as_str()
                    .unwrap()
                    .replace(":us-west-2:", &format!(":{region}:")),
            );
            params.push(p);
        }
    }
    let seed = dir.path().join("seed.json");
    std::fs::write(
        &seed,
        serde_json::json!({ "Parameters": params }).to_string(),
    )
    .unwrap();
    let faults = dir.path().join("faults.json");
    std::fs::write(
        &faults,
        serde_json::json!({
            THROTTLE_FIRST_2: {"throttle_first": 2},
            THROTTLE_ALL: {"throttle_all": true},
            ERROR_FIRST: {"status": 500, "first": 1},
            SILENT: {"hang": 20},
        })
        .to_string(),
    )
    .unwrap();
    let mut child = Command::new(python())
        .arg(project().join("tests/support/moto_ssm.py"))
        .arg(&seed)
        .arg(&faults)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the moto SSM server");
    let stdin = child.stdin.take().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line
        .strip_prefix("PORT ")
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or_else(|| panic!("moto did not start: {line:?}"));
    Moto {
        port,
        _child: Mutex::new((child, stdin)),
        _dir: dir,
    }
}

impl Moto {
    /// Its endpoint URL.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Requests seen per region and operation.
    pub fn stats(&self) -> Value {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        s.write_all(b"GET /__stats HTTP/1.0\r\nHost: localhost\r\n\r\n")
            .unwrap();
        let mut text = String::new();
        s.read_to_string(&mut text).unwrap();
        let body = text.split_once("\r\n\r\n").map_or("{}", |(_, b)| b);
        let start = body
            .find('{')
            .unwrap_or_else(|| panic!("no stats in {text:?}"));
        serde_json::Deserializer::from_str(&body[start..])
            .into_iter::<Value>()
            .next()
            .unwrap()
            .unwrap()
    }
}
