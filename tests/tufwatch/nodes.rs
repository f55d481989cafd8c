//! `tufwatch nodes`: kubectl, EC2 and CSV inventories judged against the signed releases of the
//! demo repository (laid out as Bottlerocket's), EC2 launch AMIs mapped through SSM (a real
//! local endpoint, or the file source), malformed inventories.

use crate::common::moto::moto;
use crate::common::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Write;
use std::process::Stdio;

const AT: &str = "2026-11-28T00:00:00Z";

fn fleet_file(name: &str) -> String {
    project()
        .join("fixtures/demo-fleet")
        .join(name)
        .display()
        .to_string()
}

/// Run `nodes --format json` on the demo mirror with `args`.
fn nodes(site: &Site, args: &[&str]) -> (i32, Value) {
    nodes_at(site, AT, args)
}

/// Run `nodes --format json` on the demo mirror with `args`, judged at `at`.
fn nodes_at(site: &Site, at: &str, args: &[&str]) -> (i32, Value) {
    let base = bottlerocket_mirror(&site.path().join("mirror"));
    let out = tufwatch(site.path())
        .args([
            "nodes",
            "--format",
            "json",
            "--no-state",
            "--at",
            at,
            "--root",
        ])
        .arg(demo_dir().join("root.json"))
        .arg("--repo-base")
        .arg(&base)
        .args(args)
        .output()
        .unwrap();
    json_report(&out)
}

fn statuses(r: &Value) -> BTreeMap<String, String> {
    r["fleet"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            let name = n["name"].as_str().unwrap();
            let short = name.split('.').next().unwrap().to_owned();
            (short, n["status"].as_str().unwrap().to_owned())
        })
        .collect()
}

fn node<'a>(r: &'a Value, prefix: &str) -> &'a Value {
    r["fleet"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["name"].as_str().unwrap().starts_with(prefix))
        .unwrap_or_else(|| panic!("no node {prefix}"))
}

#[test]
fn kubectl_nodes_get_every_status() {
    let site = Site::new();
    let (code, r) = nodes(&site, &["--inventory", &fleet_file("kubectl-nodes.json")]);
    assert_eq!(code, 1, "{r:#}");
    let s = statuses(&r);
    let expected: BTreeMap<String, String> = [
        ("ip-10-0-1-11", "current"),
        ("ip-10-0-1-12", "rolling_out"),
        ("ip-10-0-1-13", "behind"),
        ("ip-10-0-1-14", "behind"),
        ("ip-10-0-2-21", "unchecked"),
        ("ip-10-0-2-22", "unchecked"),
        ("ip-10-0-2-23", "unknown_version"),
        ("ip-10-0-3-31", "not_bottlerocket"),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_owned(), b.to_owned()))
    .collect();
    assert_eq!(s, expected);

    let behind = node(&r, "ip-10-0-1-13");
    assert_eq!(
        behind["arch"], "aarch64",
        "kubectl's arm64 is TUF's aarch64"
    );
    assert_eq!(behind["variant"], "aws-k8s-1.31");
    assert_eq!(behind["version"], "1.25.0");
    assert_eq!(behind["due"], "1.26.0");
    assert_eq!(behind["newest"], "1.26.1");
    assert_eq!(behind["releases_behind"], 1);
    assert_eq!(behind["evidence"], "os_image");
    // 1.26.0's last wave started 2026-10-20 17:00.
    assert_eq!(behind["due_since"], "2026-10-20T17:00:00Z");
    assert_eq!(behind["behind_seconds"], 38 * 86_400 + 7 * 3600);
    assert_eq!(behind["finding"], true);
    let nvidia = node(&r, "ip-10-0-2-21");
    assert_eq!(nvidia["variant"], "aws-k8s-1.31-nvidia");
    assert!(nvidia["reason"]
        .as_str()
        .unwrap()
        .contains("no verified manifest"));
    let other = node(&r, "ip-10-0-3-31");
    assert!(other["reason"].as_str().unwrap().contains("Amazon Linux 2"));

    let summary = r["fleet"]["summary"].as_array().unwrap();
    let k8s = summary
        .iter()
        .find(|s| s["variant"] == "aws-k8s-1.31" && s["arch"] == "x86_64")
        .unwrap();
    assert_eq!(
        (
            &k8s["nodes"],
            &k8s["current"],
            &k8s["rolling_out"],
            &k8s["behind"],
            &k8s["unknown_version"]
        ),
        (&4.into(), &1.into(), &1.into(), &1.into(), &1.into())
    );
    assert_eq!(r["fleet"]["not_bottlerocket"], 1);
    let codes = each(&r["findings"], "code");
    assert_eq!(
        codes,
        [
            "nodes_behind",
            "nodes_behind",
            "unknown_version",
            "nodes_unchecked"
        ]
    );
    // Nodes that could not be judged are a warning, not silence.
    let unchecked = &r["findings"][3];
    assert_eq!(unchecked["severity"], "warning");
    assert!(
        unchecked["message"]
            .as_str()
            .unwrap()
            .starts_with("2 node(s) could not be judged: no verified manifest lists releases of aws-k8s-1.31-fips aarch64 (1); "),
        "{unchecked}"
    );
    // The repositories of every variant and architecture in the fleet were verified.
    let repos = each(&r["repositories"], "name");
    assert_eq!(
        repos,
        [
            "aws-k8s-1.31/x86_64",
            "aws-k8s-1.31/aarch64",
            "aws-k8s-1.31-fips/aarch64",
            "aws-k8s-1.31-nvidia/x86_64"
        ]
    );
}

#[test]
fn the_policy_decides_what_is_a_finding() {
    let site = Site::new();
    let (code, r) = nodes(
        &site,
        &[
            "--inventory",
            &fleet_file("kubectl-nodes.json"),
            "--max-releases-behind",
            "1",
        ],
    );
    assert_eq!(code, 0, "one release behind is allowed: {r:#}");
    assert_eq!(node(&r, "ip-10-0-1-13")["status"], "behind");
    assert_eq!(node(&r, "ip-10-0-1-13")["finding"], false);
    let (code, _) = nodes(
        &site,
        &[
            "--inventory",
            &fleet_file("kubectl-nodes.json"),
            "--max-days-behind",
            "30",
        ],
    );
    assert_eq!(code, 1, "38 days behind is more than 30");
    let (code, _) = nodes(
        &site,
        &[
            "--inventory",
            &fleet_file("kubectl-nodes.json"),
            "--max-days-behind",
            "60",
        ],
    );
    assert_eq!(code, 0);
}

#[test]
fn ec2_instances_are_judged_by_their_launch_ami_through_ssm() {
    let site = Site::new();
    let url = moto().url();
    let ec2 = fleet_file("ec2-instances.json");
    let (code, live) = nodes(
        &site,
        &[
            "--inventory",
            &ec2,
            "--variant",
            "aws-ecs-2",
            "--endpoint-url",
            &url,
        ],
    );
    assert_eq!(code, 1, "{live:#}");
    let s = statuses(&live);
    assert_eq!(s.len(), 5, "the terminated instance is left out: {s:?}");
    let by_id = |id: &str| node(&live, id);
    assert_eq!(by_id("i-0a1b2c3d4e5f60001")["status"], "behind");
    assert_eq!(by_id("i-0a1b2c3d4e5f60001")["evidence"], "launch_ami");
    assert_eq!(
        by_id("i-0a1b2c3d4e5f60001")["name"],
        "i-0a1b2c3d4e5f60001 (ecs-batch-1)"
    );
    assert_eq!(by_id("i-0a1b2c3d4e5f60003")["status"], "current");
    assert_eq!(by_id("i-0a1b2c3d4e5f60004")["status"], "rolling_out");
    assert_eq!(by_id("i-0a1b2c3d4e5f60004")["arch"], "aarch64");
    // Only aws-ecs-2's AMIs were asked for: another AMI may be another variant's.
    let other = by_id("i-0a1b2c3d4e5f60005");
    assert_eq!(other["status"], "unchecked");
    assert!(
        other["reason"]
            .as_str()
            .unwrap()
            .contains("not among the AMIs SSM lists in us-west-2 for aws-ecs-2"),
        "{other}"
    );

    let amis = live["fleet"]["amis"].as_array().unwrap();
    assert_eq!(amis.len(), 4);
    let stale = &amis[0];
    assert_eq!(stale["stale"], true);
    assert_eq!(stale["instances"], 2);
    assert_eq!(stale["version"], "1.25.0-0f3e5a1c");
    assert_eq!(stale["region"], "us-west-2");
    let codes: Vec<&str> = live["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        ["stale_ami", "nodes_unchecked"],
        "EC2 evidence makes stale AMIs, not nodes_behind"
    );

    // Only the AMI map was read, page by page (14 and 12 parameters: 2 pages each), and only in
    // the region the instances run in.
    let calls = &live["ssm"]["observations"]["calls"];
    assert_eq!(calls["get_parameters_by_path"], 4, "{calls}");
    assert_eq!(calls["get_parameters"], 0);

    // The file source gives the same fleet; it lists every Bottlerocket AMI of its regions, so
    // an AMI it does not list is not Bottlerocket's.
    let (code, offline) = nodes(
        &site,
        &[
            "--inventory",
            &ec2,
            "--ssm-file",
            &fleet_file("ssm-parameters.json"),
        ],
    );
    assert_eq!(code, 1);
    assert_eq!(live["fleet"]["summary"], offline["fleet"]["summary"]);
    assert_eq!(live["fleet"]["amis"][0], offline["fleet"]["amis"][0]);
    assert_eq!(
        node(&offline, "i-0a1b2c3d4e5f60005")["status"],
        "not_bottlerocket"
    );
    for id in [
        "i-0a1b2c3d4e5f60001",
        "i-0a1b2c3d4e5f60003",
        "i-0a1b2c3d4e5f60004",
    ] {
        assert_eq!(node(&live, id), node(&offline, id));
    }
}

#[test]
fn how_far_behind_counts_every_due_release_missed() {
    let site = Site::new();
    let csv = site.path().join("fleet.csv");
    std::fs::write(
        &csv,
        "name,variant,arch,version\nold,aws-ecs-2,x86_64,1.25.0\nodd,AWS-ECS-2,x86_64,1.26.0\nplain,aws-ecs-2,x86_64,1.26.1\n",
    )
    .unwrap();
    // By 2026-12-10 1.26.1 is due too (its last wave started 2026-12-01 17:00).
    let (code, r) = nodes_at(
        &site,
        "2026-12-10T17:00:00Z",
        &["--inventory", csv.to_str().unwrap()],
    );
    assert_eq!(code, 1, "{r:#}");
    let old = node(&r, "old");
    assert_eq!(old["releases_behind"], 2);
    assert_eq!(old["due"], "1.26.1");
    assert_eq!(old["due_since"], "2026-12-01T17:00:00Z");
    // Behind since the oldest release it misses (1.26.0) became due, 2026-10-20 17:00.
    assert_eq!(old["behind_seconds"], 51 * 86_400);
    assert_eq!(node(&r, "plain")["status"], "current");
    // A name that is no Bottlerocket variant is judged unchecked; the run goes on.
    let odd = node(&r, "odd");
    assert_eq!(odd["status"], "unchecked");
    assert!(odd["reason"]
        .as_str()
        .unwrap()
        .contains("not a Bottlerocket variant name"));
}

#[test]
fn a_csv_from_standard_input() {
    let site = Site::new();
    let base = bottlerocket_mirror(&site.path().join("mirror"));
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_tufwatch"))
        .args([
            "nodes",
            "--inventory",
            "-",
            "--format",
            "json",
            "--no-state",
            "--at",
            AT,
        ])
        .arg("--root")
        .arg(demo_dir().join("root.json"))
        .arg("--repo-base")
        .arg(&base)
        .env("HOME", site.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"name,variant,arch,version\r\n\"edge, 1\",aws-ecs-2,amd64,1.26.1-c41a8f09\r\n# a comment\r\nedge-2,aws-ecs-2,x86_64,\r\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{r:#}");
    assert_eq!(node(&r, "edge, 1")["status"], "current");
    assert_eq!(node(&r, "edge, 1")["evidence"], "declared");
    assert_eq!(node(&r, "edge-2")["status"], "unchecked");
    assert_eq!(r["inventories"][0]["format"], "csv");
}

#[test]
fn malformed_inventories_name_the_file_and_the_field() {
    let site = Site::new();
    let cases: [(&str, &str, &str); 5] = [
        (
            "nodes.json",
            r#"{"kind":"List","items":[{"metadata":{"name":"a"},"status":{"nodeInfo":{"osImage":"Bottlerocket OS 1.26.1 (aws-ecs-2)","architecture":"amd64"}}},{"metadata":{"name":"b"},"status":{"nodeInfo":{"osImage":42}}}]}"#,
            "items[1].status.nodeInfo.osImage: expected a string",
        ),
        (
            "ec2.json",
            r#"{"Reservations":[{"Instances":[{"InstanceId":"i-1","Placement":{"AvailabilityZone":"us-west-2a"}}]}]}"#,
            "Reservations[0].Instances[0].ImageId: missing",
        ),
        (
            "fleet.csv",
            "name,variant,arch,version\na,aws-ecs-2\n",
            "line 2: 2 fields",
        ),
        ("other.json", r#"{"hello": "world"}"#, "name its format"),
        ("broken.json", r#"{"items": [ {"metadata": "#, "not JSON"),
    ];
    for (name, content, expected) in cases {
        let path = site.path().join(name);
        std::fs::write(&path, content).unwrap();
        let out = tufwatch(site.path())
            .args(["nodes", "--no-state", "--inventory"])
            .arg(&path)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{name}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(name) && err.contains(expected),
            "{name}: {err}"
        );
        assert!(!err.contains("panicked"), "{err}");
    }
    // A missing file.
    let out = tufwatch(site.path())
        .args(["nodes", "--no-state", "--inventory", "no-such.json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such.json"));
}
