//! The human report of the demo repository, as a snapshot (`cargo insta review` after a change
//! that is meant; the snapshot changes when the fixtures are renewed).

mod common;

use common::*;

#[test]
fn human_report_of_the_demo_repository() {
    let site = Site::new();
    let demo = project().join("fixtures/demo-repo");
    let out = tufwatch(site.path())
        .args([
            "verify",
            "--no-state",
            "--at",
            "2027-01-01T00:00:00Z",
            "--target",
            "manifest.json",
        ])
        .arg("--root")
        .arg(demo.join("root.json"))
        .arg("--metadata-url")
        .arg(demo.join("metadata"))
        .arg("--targets-url")
        .arg(demo.join("targets"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    let text = text
        .replace(
            &url::Url::from_directory_path(&demo).unwrap().to_string(),
            "file://[DEMO]/",
        )
        .replace(&demo.display().to_string(), "[DEMO]");
    insta::assert_snapshot!(text);
}
