//! The checked-in demo repository: it verifies, and it is renewed in time.

use crate::common::*;
use chrono::{DateTime, Duration, Utc};

#[test]
fn the_demo_repository_verifies_offline() {
    let site = Site::new();
    let out = on_demo(&site, "verify", &["--format", "json", "--all-targets"]);
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{r:#}");
    assert_eq!(r["root_chain"], serde_json::json!([1, 2]));
    let targets = r["targets"].as_array().unwrap();
    assert!(targets.iter().any(|t| t["name"] == "manifest.json"));
    assert!(targets.len() > 30);
    for role in r["roles"].as_array().unwrap() {
        assert!(role["signatures"]["signatures"][0]["keyid"].is_string());
    }
}

/// Fails a year before the demo metadata expires, so there is time to renew it.
#[test]
fn the_demo_metadata_is_renewed_a_year_before_it_expires() {
    let meta = project().join("fixtures/demo-repo/metadata");
    let mut earliest: Option<(DateTime<Utc>, String)> = None;
    for e in std::fs::read_dir(&meta).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name == "1.root.json" {
            continue; // an intermediate root may expire
        }
        let doc: serde_json::Value =
            serde_json::from_slice(&std::fs::read(e.path()).unwrap()).unwrap();
        let t: DateTime<Utc> = doc["signed"]["expires"].as_str().unwrap().parse().unwrap();
        if earliest.as_ref().is_none_or(|(e, _)| t < *e) {
            earliest = Some((t, name));
        }
    }
    let (t, name) = earliest.unwrap();
    assert!(
        t - Utc::now() > Duration::days(365),
        "fixtures/demo-repo/metadata/{name} expires {t}: renew the demo repository with \
         `cargo run --example make-fixtures` and commit fixtures/"
    );
}

/// The manifest target lists releases of several variants for both architectures.
#[test]
fn the_demo_manifest_is_bottlerocket_shaped() {
    let demo = demo_dir();
    let targets: serde_json::Value =
        serde_json::from_slice(&std::fs::read(demo.join("metadata/1.targets.json")).unwrap())
            .unwrap();
    let entry = &targets["signed"]["targets"]["manifest.json"];
    let sha = entry["hashes"]["sha256"].as_str().unwrap();
    let m: serde_json::Value = serde_json::from_slice(
        &std::fs::read(demo.join(format!("targets/{sha}.manifest.json"))).unwrap(),
    )
    .unwrap();
    let updates = m["updates"].as_array().unwrap();
    let variants: std::collections::BTreeSet<&str> = updates
        .iter()
        .map(|u| u["variant"].as_str().unwrap())
        .collect();
    let arches: std::collections::BTreeSet<&str> = updates
        .iter()
        .map(|u| u["arch"].as_str().unwrap())
        .collect();
    assert!(variants.len() >= 2);
    assert_eq!(
        arches.into_iter().collect::<Vec<_>>(),
        ["aarch64", "x86_64"]
    );
    assert!(updates
        .iter()
        .all(|u| u["waves"].as_object().unwrap().len() >= 2));
    assert!(!m["migrations"].as_object().unwrap().is_empty());
    for u in updates {
        for part in ["boot", "root", "hash"] {
            let name = u["images"][part].as_str().unwrap();
            assert!(
                targets["signed"]["targets"][name].is_object(),
                "{name} is not a target"
            );
        }
    }
}
