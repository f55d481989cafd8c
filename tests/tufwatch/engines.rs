//! `verify --engine`: tough and the strict engine side by side. Both must accept; where they
//! disagree the report says which accepted, which rejected and why (`engines_disagree`).

use crate::common::*;
use chrono::Utc;
use serde_json::{json, Value};
use tufwatch::testkit::Repo;

fn repo() -> Repo {
    ed_repo(Utc::now())
}

fn verify(site: &Site, extra: &[&str]) -> (i32, Value) {
    let mut args = vec!["--no-state"];
    args.extend_from_slice(extra);
    verify_json(
        site,
        site.metadata().to_str().unwrap(),
        site.targets().to_str().unwrap(),
        &args,
    )
}

fn verdicts(report: &Value) -> Vec<(String, String)> {
    report["engines"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|e| {
                    (
                        e["engine"].as_str().unwrap().to_owned(),
                        e["verdict"].as_str().unwrap().to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn both_engines_verify_by_default_and_tough_alone_on_request() {
    let site = Site::new();
    site.publish_with_anchor(&repo());
    let (code, report) = verify(&site, &[]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(
        verdicts(&report),
        [
            ("tough 0.24".to_owned(), "accepted".to_owned()),
            ("strict".to_owned(), "accepted".to_owned())
        ]
    );
    let (code, report) = verify(&site, &["--engine", "tough"]);
    assert_eq!(code, 0);
    assert!(report.get("engines").is_none(), "{report:#}");

    // The shipped demo (RSA keys, consistent snapshots, a root rotation): both accept.
    let demo = Site::new();
    std::fs::copy(demo_dir().join("root.json"), demo.anchor()).unwrap();
    let (code, report) = verify_json(
        &demo,
        demo_dir().join("metadata").to_str().unwrap(),
        demo_dir().join("targets").to_str().unwrap(),
        &["--no-state", "--at", "2027-01-01T00:00:00Z"],
    );
    assert_eq!(code, 0, "{report:#}");
    assert!(verdicts(&report).iter().all(|(_, v)| v == "accepted"));
}

#[test]
fn a_timestamp_of_another_specification_is_accepted_by_tough_and_rejected_by_the_strict_engine() {
    let site = Site::new();
    let r = repo();
    site.publish_with_anchor(&r);
    // spec_version 2.0.0: a major version this client does not implement. tough does not look;
    // the strict engine (as python-tuf) refuses it.
    let files = r
        .sign_top_with(|role, signed| {
            if role == "timestamp" {
                signed["spec_version"] = json!("2.0.0");
            }
        })
        .unwrap();
    for (name, bytes) in &files {
        site.put_metadata(name, bytes);
    }
    let (code, report) = verify(&site, &[]);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(
        verdicts(&report),
        [
            ("tough 0.24".to_owned(), "accepted".to_owned()),
            ("strict".to_owned(), "rejected".to_owned())
        ]
    );
    let finding = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "engines_disagree")
        .unwrap_or_else(|| panic!("{report:#}"));
    let message = finding["message"].as_str().unwrap();
    assert!(
        message.contains("tough (what Bottlerocket hosts run) accepts"),
        "{message}"
    );
    assert!(message.contains("spec_version"), "{message}");
    // tough alone accepts it; the strict engine alone rejects it.
    assert_eq!(verify(&site, &["--engine", "tough"]).0, 0);
    let (code, report) = verify(&site, &["--engine", "strict"]);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(report["decided_by"], "strict");
    assert_eq!(
        verdicts(&report),
        [("strict".to_owned(), "rejected".to_owned())]
    );
    // The finding names the role and the file the strict engine refused, and why.
    let f = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "malformed")
        .unwrap_or_else(|| panic!("{report:#}"));
    assert_eq!(f["role"], "timestamp", "{report:#}");
    assert!(
        f["url"].as_str().unwrap().ends_with("/timestamp.json"),
        "{report:#}"
    );
    assert!(
        f["message"].as_str().unwrap().contains("spec_version"),
        "{report:#}"
    );
}

#[test]
fn a_sha512_only_target_is_rejected_by_tough_and_accepted_by_the_specification() {
    let site = Site::new();
    let r = repo();
    site.publish_with_anchor(&r);
    // The specification lets a target list any hash algorithms; tough requires sha256.
    let files = r
        .sign_top_with(|role, signed| {
            if role == "targets" {
                signed["targets"]["a.txt"]["hashes"] =
                    json!({"sha512": tufwatch::digest::sha512_hex(b"artifact a")});
            }
        })
        .unwrap();
    for (name, bytes) in &files {
        site.put_metadata(name, bytes);
    }
    // Under the default engines the specification's verdict stands (this is no Bottlerocket
    // repository): the strict engine decides, and tough's limitation is a warning, not an
    // engines_disagree error.
    let (code, report) = verify(&site, &[]);
    assert_eq!(code, 0, "exit {code}: {report:#}");
    assert_eq!(
        verdicts(&report),
        [
            ("tough 0.24".to_owned(), "rejected".to_owned()),
            ("strict".to_owned(), "accepted".to_owned())
        ]
    );
    assert_eq!(report["decided_by"], "strict");
    let f = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "tough_incompatible")
        .unwrap_or_else(|| panic!("{report:#}"));
    assert_eq!(f["severity"], "warning");
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("target a.txt is listed with sha512 and no sha256"),
        "{f}"
    );
    assert!(!findings(&report).contains(&"engines_disagree:-".to_owned()));
    // tough alone still rejects it, and the limitation says why.
    let (code, report) = verify(&site, &["--engine", "tough"]);
    assert_eq!(code, 1, "{report:#}");
    assert!(findings(&report).contains(&"tough_incompatible:-".to_owned()));
    // The strict engine alone accepts it, tough does not run, and the target, listed with
    // sha512 alone, is downloaded from `<sha512>.a.txt` (5.7.3) and checked with that hash.
    let sha512 = tufwatch::digest::sha512_hex(b"artifact a");
    let file = site.targets().join(format!("{sha512}.a.txt"));
    std::fs::write(&file, b"artifact a").unwrap();
    let (code, report) = verify(&site, &["--engine", "strict", "--target", "a.txt"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["decided_by"], "strict");
    assert_eq!(report["engine"], "strict");
    assert_eq!(
        verdicts(&report),
        [("strict".to_owned(), "accepted".to_owned())]
    );
    assert!(
        report["findings"].as_array().unwrap().is_empty(),
        "{report:#}"
    );
    let target = &report["targets"][0];
    assert_eq!(target["verified"], true, "{report:#}");
    assert_eq!(target["hashes"]["sha512"], sha512);
    // Served with other bytes, it fails that hash.
    std::fs::write(&file, b"artifact b").unwrap();
    let (code, report) = verify(&site, &["--engine", "strict", "--target", "a.txt"]);
    assert_eq!(code, 1, "{report:#}");
    assert!(
        findings(&report).contains(&"hash_mismatch:a.txt".to_owned()),
        "{report:#}"
    );
}
