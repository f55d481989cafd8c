//! Every input tufwatch reads from outside, given hostile bytes: the trusted root, metadata served
//! for each role, the signed manifest, inventories in each format, SSM files, the configuration
//! and each file of an evidence bundle. Each is rejected with exit code 1 (a finding) or 2 (could
//! not run) and a message that names the file, role or field; none panics.

use crate::common::*;
use chrono::Utc;
use serde_json::Value;
use std::path::Path;
use std::process::Output;

/// Hostile variants of `valid`, a good file of the kind: (what, bytes).
fn hostile(valid: &[u8]) -> Vec<(&'static str, Vec<u8>)> {
    // Cut inside a quoted string when there is one, so that even a line-based format cannot read
    // the rest as whole.
    let middle = valid.len() / 2;
    let cut = valid[middle..]
        .iter()
        .position(|&b| b == b'"')
        .map_or(middle, |i| middle + i + 1);
    let half = &valid[..cut];
    let mut with_nul = valid.to_vec();
    with_nul.insert(valid.len() / 2, 0);
    let mut cases = vec![
        ("empty", Vec::new()),
        ("null", b"null".to_vec()),
        ("a list", b"[]".to_vec()),
        ("an empty object", b"{}".to_vec()),
        ("binary", (0..=255u8).cycle().take(4096).collect()),
        ("not UTF-8", b"{\"a\": \"\xff\xfe\"}".to_vec()),
        ("nested 100,000 deep", "[".repeat(100_000).into_bytes()),
        (
            "numbers out of range",
            br#"{"signed": {"version": 1e999999, "n": 18446744073709551616, "m": -1}}"#.to_vec(),
        ),
        ("truncated", half.to_vec()),
        ("a NUL byte inside", with_nul),
        ("itself twice", [valid, valid].concat()),
    ];
    // The same structure with every string a number and every number a string.
    if let Ok(mut v) = serde_json::from_slice::<Value>(valid) {
        swap_types(&mut v);
        cases.push(("strings and numbers swapped", v.to_string().into_bytes()));
    }
    cases
}

fn swap_types(v: &mut Value) {
    match v {
        Value::String(_) => *v = Value::from(7),
        Value::Number(n) => *v = Value::String(n.to_string()),
        Value::Array(a) => a.iter_mut().for_each(swap_types),
        Value::Object(o) => o.values_mut().for_each(swap_types),
        _ => {}
    }
}

/// What went wrong with each case, reported together at the end of a test.
#[derive(Default)]
struct Failures(Vec<String>);

impl Failures {
    /// The run was refused with exit 1 (or 2 when `could_not_run`; either when `None`), said
    /// so naming one of `names`, and did not panic.
    fn check(&mut self, what: &str, out: &Output, names: &[&str], could_not_run: Option<bool>) {
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let code = out.status.code();
        let wanted = match could_not_run {
            Some(true) => code == Some(2),
            Some(false) => code == Some(1),
            None => matches!(code, Some(1 | 2)),
        };
        let short: String = text.chars().take(600).collect();
        if !wanted {
            self.0.push(format!("{what}: exit {code:?}:\n{short}"));
        } else if text.contains("panicked") {
            self.0.push(format!("{what}: a panic:\n{short}"));
        } else if !names.iter().any(|n| text.contains(n)) {
            self.0
                .push(format!("{what}: names none of {names:?}:\n{short}"));
        }
    }
}

impl Drop for Failures {
    fn drop(&mut self) {
        if !self.0.is_empty() && !std::thread::panicking() {
            panic!("{} cases failed:\n\n{}", self.0.len(), self.0.join("\n\n"));
        }
    }
}

#[test]
fn a_hostile_trusted_root() {
    let mut failures = Failures::default();
    let site = Site::new();
    let demo = demo_dir();
    let root = site.path().join("anchor-root.json");
    for (what, bytes) in hostile(&std::fs::read(demo.join("root.json")).unwrap()) {
        std::fs::write(&root, &bytes).unwrap();
        let out = tufwatch(site.path())
            .args(["verify", "--no-state", "--root"])
            .arg(&root)
            .repo(&demo)
            .output()
            .unwrap();
        failures.check(what, &out, &["anchor-root.json"], Some(true));
    }
}

#[test]
fn hostile_metadata_served_for_each_role() {
    let mut failures = Failures::default();
    let site = Site::new();
    site.publish_with_anchor(&demo_repo(Utc::now()));
    for (file, role) in [
        ("timestamp.json", "timestamp"),
        ("1.snapshot.json", "snapshot"),
        ("1.targets.json", "targets"),
        ("2.root.json", "root"),
    ] {
        // 2.root.json is not published: a valid file of its kind is the current root.
        let valid = site.read_metadata(if role == "root" { "1.root.json" } else { file });
        let server = Server::start(site.path());
        for (what, bytes) in hostile(&valid) {
            let what = format!("{file}: {what}");
            server.set(&format!("repo/metadata/{file}"), Behavior::Body(bytes));
            let (code, r) = verify_http(&site, &server, &["--no-state"]);
            let f = findings(&r);
            if !matches!(code, 1 | 2) || !f.iter().any(|f| f.ends_with(&format!(":{role}"))) {
                failures
                    .0
                    .push(format!("{what}: exit {code}, findings {:#}", r["findings"]));
            }
        }
    }
}

#[test]
fn a_hostile_signed_manifest() {
    let mut failures = Failures::default();
    let valid = std::fs::read(bottlerocket_data().join("manifests/example.json")).unwrap();
    for (what, bytes) in hostile(&valid) {
        let site = Site::new();
        let mut repo = ed_repo(Utc::now());
        repo.add_target("manifest.json", bytes);
        site.publish_with_anchor(&repo);
        let out = tufwatch(site.path())
            .args(["releases", "--no-state", "--root"])
            .arg(site.anchor())
            .repo(&site.path().join("repo"))
            .output()
            .unwrap();
        failures.check(what, &out, &["manifest.json"], Some(false));
    }
}

#[test]
fn hostile_inventories_in_each_format() {
    let mut failures = Failures::default();
    let site = Site::new();
    let fleet = project().join("fixtures/demo-fleet");
    let ssm = fleet.join("ssm-parameters.json");
    let mirror = bottlerocket_mirror(&site.path().join("mirror"));
    for (example, format) in [
        ("kubectl-nodes.json", "kubectl"),
        ("ec2-instances.json", "ec2"),
        ("edge.csv", "csv"),
        ("kubectl-nodes.json", "detected"),
    ] {
        let path = site.path().join(format!("inventory-{format}"));
        for (what, bytes) in hostile(&std::fs::read(fleet.join(example)).unwrap()) {
            std::fs::write(&path, &bytes).unwrap();
            let mut c = tufwatch(site.path());
            c.args(["nodes", "--no-state", "--root"])
                .arg(demo_dir().join("root.json"))
                .arg("--repo-base")
                .arg(&mirror)
                .arg("--ssm-file")
                .arg(&ssm)
                .arg("--inventory")
                .arg(&path);
            if format != "detected" {
                c.args(["--inventory-format", format]);
            }
            let out = c.output().unwrap();
            let what = format!("{format}: {what}");
            failures.check(&what, &out, &[&format!("inventory-{format}")], Some(true));
        }
    }
}

#[test]
fn a_hostile_ssm_file() {
    let mut failures = Failures::default();
    let site = Site::new();
    let path = site.path().join("captured-ssm.json");
    let valid = std::fs::read(project().join("fixtures/demo-fleet/ssm-parameters.json")).unwrap();
    let mut cases = hostile(&valid);
    // Several documents in one file are read (pages of `aws ssm` output), and a parameter given
    // twice alike is read once; twice with another value is refused.
    cases.retain(|(what, _)| *what != "itself twice");
    let other = String::from_utf8(valid.clone())
        .unwrap()
        .replacen("ami-", "ami-0", 1);
    cases.push((
        "again with another value",
        [&valid[..], other.as_bytes()].concat(),
    ));
    for (what, bytes) in cases {
        std::fs::write(&path, &bytes).unwrap();
        let out = tufwatch(site.path())
            .args(["ssm", "--no-cross-check", "--ssm-file"])
            .arg(&path)
            .output()
            .unwrap();
        failures.check(what, &out, &["captured-ssm.json"], Some(true));
    }
}

#[test]
fn a_hostile_configuration() {
    let mut failures = Failures::default();
    let site = Site::new();
    let valid = std::fs::read(demo_config(site.path(), "")).unwrap();
    let mut cases = hostile(&valid);
    // TOML's own ways to nest deep.
    cases.push((
        "TOML arrays nested 100,000 deep",
        format!("a = {}", "[".repeat(100_000)).into_bytes(),
    ));
    cases.push((
        "TOML tables nested 100,000 deep",
        format!("a = {}", "{b = ".repeat(100_000)).into_bytes(),
    ));
    let path = site.path().join("nightly.toml");
    for (what, bytes) in cases {
        std::fs::write(&path, &bytes).unwrap();
        let out = tufwatch(site.path())
            .args(["report", "--config"])
            .arg(&path)
            .output()
            .unwrap();
        failures.check(what, &out, &["nightly.toml"], Some(true));
    }
}

#[test]
fn hostile_files_in_an_evidence_bundle() {
    let mut failures = Failures::default();
    let site = Site::new();
    site.publish_with_anchor(&demo_repo(Utc::now()));
    let good = site.path().join("bundle");
    let out = tufwatch(site.path())
        .args(["evidence", "create", "--no-state", "--out"])
        .arg(&good)
        .arg("--root")
        .arg(site.anchor())
        .repo(&site.path().join("repo"))
        .args([
            "--resource-uri",
            "https://updates.example.com/site/metadata/",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let bundle = site.path().join("hostile");
    for file in files(&good) {
        let valid = std::fs::read(good.join(&file)).unwrap();
        for (what, bytes) in hostile(&valid) {
            let what = format!("{file}: {what}");
            copy_dir(&good, &bundle);
            std::fs::write(bundle.join(&file), &bytes).unwrap();
            // The sums are made to match, so that every file's own reader is reached.
            if file != "SHA256SUMS" {
                resum(&bundle);
            }
            let out = tufwatch(site.path())
                .args(["evidence", "verify"])
                .arg(&bundle)
                .output()
                .unwrap();
            let name = Path::new(&file).file_name().unwrap().to_str().unwrap();
            failures.check(&what, &out, &[name], Some(false));
        }
    }
}
