//! The human report of the demo repository, as a snapshot (`cargo insta review` after a change
//! that is meant; the snapshot changes when the fixtures are renewed).

use crate::common::*;

#[test]
fn human_report_of_the_demo_repository() {
    let site = Site::new();
    let demo = demo_dir();
    let out = on_demo(
        &site,
        "verify",
        &["--at", "2027-01-01T00:00:00Z", "--target", "manifest.json"],
    );
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
