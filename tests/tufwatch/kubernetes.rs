//! `tufwatch nodes --kube-context` and `[[kubernetes]]`: clusters read through the Kubernetes
//! API (kube-rs) from a loopback API server (`tufwatch::testkit::kube_api`) that answers in the
//! API's exact shapes: the node list page by page, the update operator's shadows and update
//! states, Karpenter's EC2NodeClasses as launch paths, and the errors the API really returns,
//! one cluster failing while the others are read.

use crate::common::*;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use tufwatch::testkit::kube_api::{self, ApiState, Fault, KubeApi, KubeconfigEntry};

const AT: &str = "2026-11-28T00:00:00Z";

/// A real node (fixtures/bottlerocket/kubernetes) renamed, running `os_image` on `arch`.
fn node(name: &str, os_image: &str, arch: &str) -> String {
    let path = project().join("fixtures/bottlerocket/kubernetes/node-1.66.0-aws-k8s-1.36.json");
    let mut n: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    n["metadata"]["name"] = json!(name);
    n["metadata"]["labels"]["kubernetes.io/hostname"] = json!(name);
    n["metadata"]["labels"]["kubernetes.io/arch"] = json!(arch);
    n["metadata"]["labels"]["topology.kubernetes.io/region"] = json!("us-west-2");
    n["status"]["nodeInfo"]["osImage"] = json!(os_image);
    n["status"]["nodeInfo"]["architecture"] = json!(arch);
    n.to_string()
}

/// A node of the demo's aws-k8s-1.31 at `version`, on x86_64.
fn k8s_node(name: &str, version: &str) -> String {
    node(
        name,
        &format!("Bottlerocket OS {version} (aws-k8s-1.31)"),
        "amd64",
    )
}

/// The update operator's shadow of `node`, as brupop writes it: the state the controller asks
/// (`desired`) since `minutes_ago`, the agent's state, its versions and crash count.
fn shadow(
    node: &str,
    desired: &str,
    state: &str,
    minutes_ago: i64,
    crashes: u32,
    target: &str,
) -> Value {
    let at: chrono::DateTime<chrono::Utc> = AT.parse().unwrap();
    let since = (at - chrono::Duration::minutes(minutes_ago)).to_rfc3339();
    json!({
        "apiVersion": "brupop.bottlerocket.aws/v2",
        "kind": "BottlerocketShadow",
        "metadata": {
            "name": format!("brs-{node}"),
            "namespace": "brupop-bottlerocket-aws",
            "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": node, "uid": "b5ca7690-4209-4cf8-aed3-eaf876dc4450"}],
            "resourceVersion": "77231",
            "uid": "0c3b0e7c-40a4-4d43-9b51-2c7f0e0a6e31"
        },
        "spec": {"state": desired, "state_transition_timestamp": since, "version": target},
        "status": {
            "current_version": "1.25.0",
            "target_version": target,
            "current_state": state,
            "crash_count": crashes,
            "state_transition_failure_timestamp": if crashes > 0 { json!(since) } else { Value::Null }
        }
    })
}

/// An EC2NodeClass with these `amiSelectorTerms`, `amiFamily` and resolved AMIs.
fn node_class(name: &str, terms: Value, family: Option<&str>, amis: Value) -> Value {
    let mut spec = json!({
        "amiSelectorTerms": terms,
        "role": "KarpenterNodeRole-prod",
        "subnetSelectorTerms": [{"tags": {"karpenter.sh/discovery": "prod"}}],
        "securityGroupSelectorTerms": [{"tags": {"karpenter.sh/discovery": "prod"}}]
    });
    if let Some(f) = family {
        spec["amiFamily"] = json!(f);
    }
    json!({
        "apiVersion": "karpenter.k8s.aws/v1",
        "kind": "EC2NodeClass",
        "metadata": {"name": name, "uid": "5e1f8a24-8c1c-4a7e-9d0b-7f39a0f3c2de"},
        "spec": spec,
        "status": {"amis": amis}
    })
}

/// A resolved AMI of an EC2NodeClass's status, for `arch` (amd64, arm64).
fn resolved(id: &str, name: &str, arch: &str) -> Value {
    json!({"id": id, "name": name, "requirements": [{"key": "kubernetes.io/arch", "operator": "In", "values": [arch]}]})
}

/// The cluster of the first test: every update state and every kind of node class.
fn prod() -> ApiState {
    ApiState {
        nodes: vec![
            k8s_node("current", "1.26.1"),
            k8s_node("rolling", "1.26.0"),
            k8s_node("waiting", "1.25.0"),
            k8s_node("updating", "1.25.0"),
            k8s_node("crashed", "1.25.0"),
            k8s_node("slow", "1.25.0"),
            k8s_node("unmanaged", "1.25.0"),
            node("al2", "Amazon Linux 2", "amd64"),
        ],
        shadows: Some(vec![
            shadow("current", "Idle", "Idle", 600, 0, "1.26.1"),
            shadow("waiting", "Idle", "Idle", 600, 0, "1.26.1"),
            shadow(
                "updating",
                "RebootedIntoUpdate",
                "StagedAndPerformedUpdate",
                10,
                0,
                "1.26.1",
            ),
            shadow("crashed", "Idle", "ErrorReset", 30, 2, "1.26.1"),
            shadow(
                "slow",
                "MonitoringUpdate",
                "RebootedIntoUpdate",
                180,
                0,
                "1.26.1",
            ),
        ]),
        node_classes: Some(vec![
            node_class(
                "pinned",
                json!([{"alias": "bottlerocket@v1.25.0"}]),
                None,
                json!([]),
            ),
            node_class(
                "fresh",
                json!([{"alias": "bottlerocket@v1.26.1"}]),
                None,
                json!([]),
            ),
            node_class(
                "follows",
                json!([{"alias": "bottlerocket@latest"}]),
                None,
                json!([]),
            ),
            node_class(
                "al2023",
                json!([{"alias": "al2023@latest"}]),
                Some("AL2023"),
                json!([]),
            ),
            node_class(
                "by-id",
                json!([{"id": "ami-0a1b2c3d4e5f60718"}, {"id": "ami-0f1e2d3c4b5a69788"}]),
                Some("Bottlerocket"),
                json!([
                    resolved(
                        "ami-0a1b2c3d4e5f60718",
                        "bottlerocket-aws-k8s-1.31-x86_64-v1.25.0-abcdef01",
                        "amd64"
                    ),
                    resolved(
                        "ami-0f1e2d3c4b5a69788",
                        "bottlerocket-aws-k8s-1.31-aarch64-v1.26.1-c41a8f09",
                        "arm64"
                    )
                ]),
            ),
        ]),
        page_max: 3,
        ..ApiState::default()
    }
}

/// Write a kubeconfig of `entries` in the site; returns its path.
fn write_kubeconfig(site: &Site, entries: &[KubeconfigEntry]) -> std::path::PathBuf {
    let path = site.path().join("kubeconfig");
    std::fs::write(&path, kube_api::kubeconfig(entries)).unwrap();
    path
}

/// Run `nodes --format json` on the demo mirror reading `contexts` of `kubeconfig`, with `args`.
fn nodes(
    site: &Site,
    kubeconfig: &std::path::Path,
    contexts: &[&str],
    args: &[&str],
) -> (i32, Value) {
    let base = bottlerocket_mirror(&site.path().join("mirror"));
    let mut c = tufwatch(site.path());
    c.args([
        "nodes",
        "--format",
        "json",
        "--no-state",
        "--at",
        AT,
        "--root",
    ])
    .arg(demo_dir().join("root.json"))
    .arg("--repo-base")
    .arg(&base)
    .arg("--kubeconfig")
    .arg(kubeconfig);
    for ctx in contexts {
        c.args(["--kube-context", ctx]);
    }
    json_report(&c.args(args).output().unwrap())
}

/// Each node's name -> (cluster, status, update state).
fn standing(r: &Value) -> BTreeMap<String, (String, String, String)> {
    r["fleet"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            let s = |v: &Value| v.as_str().unwrap_or("-").to_owned();
            (
                s(&n["name"]),
                (s(&n["cluster"]), s(&n["status"]), s(&n["update"]["status"])),
            )
        })
        .collect()
}

/// One launch path per (name, arch): (status, stale).
fn launch_paths(r: &Value) -> BTreeMap<(String, String), (String, bool)> {
    r["fleet"]["launch_paths"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                (
                    p["name"].as_str().unwrap().to_owned(),
                    p["arch"].as_str().unwrap_or("-").to_owned(),
                ),
                (
                    p["status"].as_str().unwrap().to_owned(),
                    p["stale"].as_bool().unwrap(),
                ),
            )
        })
        .collect()
}

#[test]
fn a_cluster_is_read_page_by_page_with_update_states_and_node_classes() {
    let site = Site::new();
    let api = KubeApi::start(prod()).unwrap();
    let kubeconfig = write_kubeconfig(&site, &[api.kubeconfig_entry("prod")]);
    let (code, r) = nodes(&site, &kubeconfig, &["prod"], &[]);
    assert_eq!(code, 1, "{r:#}");

    let expected: BTreeMap<String, (String, String, String)> = [
        ("current", "current", "-"),
        ("rolling", "rolling_out", "-"),
        ("waiting", "behind", "updating"),
        ("updating", "behind", "updating"),
        ("crashed", "behind", "update_stuck"),
        ("slow", "behind", "update_stuck"),
        ("unmanaged", "behind", "no_updater"),
        ("al2", "not_bottlerocket", "-"),
    ]
    .into_iter()
    .map(|(n, s, u)| {
        (
            n.to_owned(),
            ("prod".to_owned(), s.to_owned(), u.to_owned()),
        )
    })
    .collect();
    assert_eq!(standing(&r), expected, "{r:#}");

    let stuck = messages(&r, "update_stuck");
    assert_eq!(stuck.len(), 1, "{r:#}");
    assert!(stuck[0].starts_with("2 node(s) whose update needs a person: prod/crashed (its update failed 2 time(s) in a row"), "{}", stuck[0]);
    assert!(stuck[0].contains("prod/slow (in state RebootedIntoUpdate towards MonitoringUpdate for 3.0 h, longer than 1 h)"), "{}", stuck[0]);
    let unmanaged = messages(&r, "no_updater");
    assert_eq!(unmanaged.len(), 1);
    assert!(
        unmanaged[0].contains("prod/unmanaged (it has no BottlerocketShadow"),
        "{}",
        unmanaged[0]
    );

    // Karpenter's node classes: a pinned release older than the due one is stale; `@latest`
    // follows SSM (not read here); another family is not Bottlerocket; AMIs by id are judged by
    // the names Karpenter resolved, once per architecture.
    let expected_paths: BTreeMap<(String, String), (String, bool)> = [
        ("pinned", "x86_64", "behind", true),
        ("fresh", "x86_64", "current", false),
        ("follows", "x86_64", "unchecked", false),
        ("al2023", "x86_64", "not_bottlerocket", false),
        ("by-id", "x86_64", "behind", true),
        ("by-id", "aarch64", "current", false),
    ]
    .into_iter()
    .map(|(n, a, s, stale)| ((n.to_owned(), a.to_owned()), (s.to_owned(), stale)))
    .collect();
    assert_eq!(launch_paths(&r), expected_paths, "{r:#}");
    let stale = messages(&r, "stale_launch_path");
    assert!(
        stale.contains(&"Karpenter EC2NodeClass pinned in cluster prod (us-west-2) boots aws-k8s-1.31 x86_64 1.25.0, 1 release(s) older than the due 1.26.0".to_owned()),
        "{stale:#?}"
    );

    let cluster = &r["kubernetes"]["clusters"][0];
    assert_eq!(cluster["cluster"], "prod");
    assert_eq!(cluster["server"], api.url.as_str());
    assert_eq!(cluster["kubernetes_version"], "1.31");
    assert_eq!(cluster["region"], "us-west-2");
    assert_eq!(cluster["nodes"], 8);
    assert_eq!(cluster["pages"], 3, "the server gives 3 nodes a page");
    assert_eq!(cluster["update_operator"], "installed");
    assert_eq!(cluster["karpenter"], "installed");
    assert!(r["inventories"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["name"] == "k8s:prod"));

    // tufwatch asks for 500 a page, and follows the continue tokens.
    let node_requests: Vec<String> = api
        .requests()
        .into_iter()
        .filter(|q| q.starts_with("GET /api/v1/nodes"))
        .collect();
    assert_eq!(
        node_requests,
        [
            "GET /api/v1/nodes?&limit=500",
            "GET /api/v1/nodes?&limit=500&continue=tw-3",
            "GET /api/v1/nodes?&limit=500&continue=tw-6"
        ],
    );
}

#[test]
fn the_text_report_names_clusters_and_the_nodes_that_need_a_person() {
    let site = Site::new();
    let api = KubeApi::start(prod()).unwrap();
    let kubeconfig = write_kubeconfig(&site, &[api.kubeconfig_entry("prod")]);
    let base = bottlerocket_mirror(&site.path().join("mirror"));
    let out = tufwatch(site.path())
        .args(["nodes", "--no-state", "--at", AT, "--root"])
        .arg(demo_dir().join("root.json"))
        .arg("--repo-base")
        .arg(&base)
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    for expected in [
        "KUBERNETES (READ LIVE)",
        "Nodes that need a person (3)",
        "update_stuck",
        "no_updater",
        "Karpenter EC2NodeClass",
    ] {
        assert!(text.contains(expected), "{expected}:\n{text}");
    }
    // The kubeconfig's current context names the cluster.
    assert!(
        text.lines()
            .any(|l| l.starts_with("  prod ") && l.contains(&api.url)),
        "{text}"
    );
}

/// A healthy cluster "good" (one node, current) beside a cluster "broken" that fails as `break_it`
/// makes it; the run is incomplete, and the good cluster's nodes are judged all the same.
fn beside_a_broken_cluster(
    break_it: impl FnOnce(&mut ApiState),
    args: &[&str],
) -> (i32, Value, Vec<String>) {
    let site = Site::new();
    let good = KubeApi::start(ApiState {
        nodes: vec![k8s_node("good-1", "1.26.1")],
        ..ApiState::default()
    })
    .unwrap();
    let mut state = ApiState {
        nodes: vec![
            k8s_node("broken-1", "1.26.1"),
            k8s_node("broken-2", "1.26.1"),
        ],
        shadows: Some(Vec::new()),
        page_max: 1,
        ..ApiState::default()
    };
    break_it(&mut state);
    let broken = KubeApi::start(state).unwrap();
    // The token every server takes unless the case changes it.
    let broken_entry = KubeconfigEntry {
        context: "broken".to_owned(),
        server: broken.url.clone(),
        token: ApiState::default().token,
    };
    let kubeconfig = write_kubeconfig(&site, &[good.kubeconfig_entry("good"), broken_entry]);
    let (code, r) = nodes(&site, &kubeconfig, &["good", "broken"], args);
    (code, r, broken.requests())
}

#[test]
fn errors_the_api_really_returns_leave_the_other_clusters_read() {
    use kube_api::{forbidden, NODES, SHADOWS};
    type Break = Box<dyn FnOnce(&mut ApiState)>;
    // Each way the broken cluster fails, and the start of what the report says of it.
    let cases: Vec<(&str, Break, &str)> = vec![
        (
            "a token the API does not take",
            Box::new(|s| s.token = "another-token".to_owned()),
            "cluster broken: /api/v1/nodes: HTTP 401 Unauthorized: Unauthorized",
        ),
        (
            "RBAC refuses the node list",
            Box::new(|s| s.faults.push(Fault::Status { path: NODES.to_owned(), code: 403, body: forbidden("nodes", "") })),
            "cluster broken: /api/v1/nodes: HTTP 403 Forbidden: nodes is forbidden: User \"system:serviceaccount:default:default\" cannot list resource \"nodes\"",
        ),
        (
            "the continue token keeps expiring",
            Box::new(|s| s.faults.push(Fault::ExpireContinue { times: 99 })),
            "cluster broken: /api/v1/nodes: the list's continue token expired twice",
        ),
        (
            "a server that gives the same continue token again",
            Box::new(|s| {
                let node: Value = serde_json::from_str(&k8s_node("broken-1", "1.26.1")).unwrap();
                let body = json!({"kind": "NodeList", "apiVersion": "v1", "metadata": {"continue": "again"}, "items": [node]});
                s.faults.push(Fault::Status { path: NODES.to_owned(), code: 200, body })
            }),
            "cluster broken: /api/v1/nodes: more than 100000 pages or 1000000 items, or the same continue token twice in a row",
        ),
        (
            "a node that is not one",
            Box::new(|s| {
                let body = json!({"kind": "NodeList", "apiVersion": "v1", "metadata": {}, "items": [{"metadata": {"name": "x"}, "status": 7}]});
                s.faults.push(Fault::Status { path: NODES.to_owned(), code: 200, body })
            }),
            "cluster broken: /api/v1/nodes: items[0]: invalid type: integer `7`",
        ),
        (
            "an error answer that is no Status, and without end (a proxy's page)",
            Box::new(|s| s.faults.push(Fault::Status { path: NODES.to_owned(), code: 502, body: json!("<html>".repeat(2 << 20)) })),
            "cluster broken: /api/v1/nodes: HTTP 502 Bad Gateway: \"<html><html>",
        ),
    ];
    for (what, break_it, expected) in cases {
        let (code, r, _) = beside_a_broken_cluster(break_it, &[]);
        assert_eq!(code, 2, "{what}: the run is incomplete: {r:#}");
        let unavailable = messages(&r, "kubernetes_unavailable");
        assert_eq!(unavailable.len(), 1, "{what}: {unavailable:#?}");
        assert!(
            unavailable[0].starts_with(expected),
            "{what}: {}",
            unavailable[0]
        );
        let s = standing(&r);
        assert_eq!(
            s["good-1"].1, "current",
            "{what}: the good cluster is judged"
        );
        assert!(
            !s.contains_key("broken-1"),
            "{what}: no node of a list cut short is judged"
        );
        assert_eq!(r["kubernetes"]["clusters"][1]["nodes"], 0, "{what}");
        assert!(unavailable[0].len() < 1200, "{what}: cut short");
    }

    // RBAC that allows nodes but not the update operator's shadows: the nodes are judged, their
    // update state is not known, and the report says why.
    let (code, r, _) = beside_a_broken_cluster(
        |s| {
            s.faults.push(Fault::Status {
                path: SHADOWS.to_owned(),
                code: 403,
                body: forbidden("bottlerocketshadows", "brupop.bottlerocket.aws"),
            })
        },
        &[],
    );
    assert_eq!(code, 2, "{r:#}");
    assert_eq!(
        standing(&r)["broken-1"],
        ("broken".to_owned(), "current".to_owned(), "-".to_owned())
    );
    assert_eq!(r["kubernetes"]["clusters"][1]["update_operator"], "unread");
    let unavailable = messages(&r, "kubernetes_unavailable");
    assert!(unavailable[0].starts_with("cluster broken: the update operator's BottlerocketShadows could not be listed: /apis/brupop.bottlerocket.aws/v2/bottlerocketshadows: HTTP 403 Forbidden: bottlerocketshadows is forbidden"), "{unavailable:#?}");

    // A 403 whose body claims 404 is a refusal, not an operator that is not installed: the
    // answer's HTTP status decides, never what its body says.
    let (code, r, _) = beside_a_broken_cluster(
        |s| {
            s.faults.push(Fault::Status {
                path: SHADOWS.to_owned(),
                code: 403,
                body: kube_api::status(404, "NotFound", "not installed, honest"),
            })
        },
        &[],
    );
    assert_eq!(code, 2, "{r:#}");
    assert_eq!(r["kubernetes"]["clusters"][1]["update_operator"], "unread");
}

#[test]
fn a_shadow_elsewhere_hides_nothing_and_an_alias_without_its_v_is_a_release() {
    let site = Site::new();
    let mut state = prod();
    // Shadows anyone allowed to make them in another namespace could plant, saying all is
    // well; and one in the operator's namespace named like the real one, owned by nothing.
    let mut planted = vec![
        shadow("unmanaged", "Idle", "Idle", 5, 0, "1.26.1"),
        shadow("crashed", "Idle", "Idle", 5, 0, "1.26.1"),
        shadow("crashed", "Idle", "Idle", 5, 0, "1.26.1"),
    ];
    for p in &mut planted[..2] {
        p["metadata"]["namespace"] = json!("default");
        p["metadata"]["ownerReferences"] = Value::Null;
    }
    planted[2]["metadata"]
        .as_object_mut()
        .unwrap()
        .remove("ownerReferences");
    state.shadows.as_mut().unwrap().extend(planted);
    state.node_classes.as_mut().unwrap().push(node_class(
        "pinned-no-v",
        json!([{"alias": "bottlerocket@1.25.0"}]),
        None,
        json!([]),
    ));
    let api = KubeApi::start(state).unwrap();
    let kubeconfig = write_kubeconfig(&site, &[api.kubeconfig_entry("prod")]);
    let (code, r) = nodes(&site, &kubeconfig, &["prod"], &[]);
    assert_eq!(code, 1, "{r:#}");
    let s = standing(&r);
    assert_eq!(s["unmanaged"].2, "no_updater");
    assert_eq!(s["crashed"].2, "update_stuck");
    let paths = launch_paths(&r);
    assert_eq!(
        paths[&("pinned-no-v".to_owned(), "x86_64".to_owned())],
        ("behind".to_owned(), true)
    );
}

/// A shell script at `dir/name`, executable.
fn script(dir: &std::path::Path, name: &str, body: &str) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

#[test]
fn an_exec_plugin_neither_stalls_the_run_nor_shows_its_secrets() {
    let site = Site::new();
    let good = KubeApi::start(ApiState {
        nodes: vec![k8s_node("good-1", "1.26.1")],
        ..ApiState::default()
    })
    .unwrap();
    let fails = script(
        site.path(),
        "fails.sh",
        "echo '{\"token\": \"s3cr3t-out\"'; echo s3cr3t-err >&2; exit 3",
    );
    let hangs = script(site.path(), "hangs.sh", "exec sleep 30");
    let exec_user = |name: &str, command: &std::path::Path| {
        format!(
            "- name: {name}\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: {}\n      args: [\"--client-secret\", \"s3cr3t-arg\"]\n      env: [{{name: PLUGIN_SECRET, value: s3cr3t-env}}]\n      interactiveMode: IfAvailable\n",
            command.display()
        )
    };
    let token = ApiState::default().token;
    let mut yaml = String::from("apiVersion: v1\nkind: Config\nclusters:\n");
    for c in ["good", "fails", "hangs"] {
        yaml.push_str(&format!(
            "- name: {c}\n  cluster:\n    server: {}\n",
            good.url
        ));
    }
    yaml.push_str(&format!(
        "users:\n- name: good\n  user:\n    token: {token}\n"
    ));
    yaml.push_str(&exec_user("fails", &fails));
    yaml.push_str(&exec_user("hangs", &hangs));
    yaml.push_str("contexts:\n");
    for c in ["good", "fails", "hangs"] {
        yaml.push_str(&format!(
            "- name: {c}\n  context:\n    cluster: {c}\n    user: {c}\n"
        ));
    }
    let kubeconfig = site.path().join("kubeconfig");
    std::fs::write(&kubeconfig, yaml).unwrap();

    let started = std::time::Instant::now();
    let (code, r) = nodes(
        &site,
        &kubeconfig,
        &["good", "fails", "hangs"],
        &["--deadline", "3s"],
    );
    let took = started.elapsed();
    assert_eq!(code, 2, "{r:#}");
    assert!(took < std::time::Duration::from_secs(20), "{took:?}");
    assert_eq!(standing(&r)["good-1"].1, "current");
    let unavailable = messages(&r, "kubernetes_unavailable");
    assert!(
        unavailable.contains(
            &"cluster fails: its credentials: its exec credential plugin failed (exit status: 3)"
                .to_owned()
        ),
        "{unavailable:#?}"
    );
    assert!(
        unavailable
            .contains(&"cluster hangs: no complete answer within the run's deadline".to_owned()),
        "{unavailable:#?}"
    );
    assert!(!r.to_string().contains("s3cr3t"), "{r:#}");
}

#[test]
fn an_expired_continue_token_starts_the_list_over_once() {
    let (code, r, requests) =
        beside_a_broken_cluster(|s| s.faults.push(Fault::ExpireContinue { times: 1 }), &[]);
    assert_eq!(code, 0, "complete: {r:#}");
    let s = standing(&r);
    assert_eq!(s["broken-1"].1, "current");
    assert_eq!(s["broken-2"].1, "current");
    assert_eq!(
        r["fleet"]["nodes"].as_array().unwrap().len(),
        3,
        "no node twice: {r:#}"
    );
    let nodes: Vec<&String> = requests
        .iter()
        .filter(|q| q.contains("/api/v1/nodes"))
        .collect();
    assert_eq!(
        nodes,
        [
            "GET /api/v1/nodes?&limit=500",
            "GET /api/v1/nodes?&limit=500&continue=tw-1",
            "GET /api/v1/nodes?&limit=500",
            "GET /api/v1/nodes?&limit=500&continue=tw-1"
        ],
    );
}

#[test]
fn a_cluster_that_does_not_answer_or_cannot_be_reached() {
    // No answer at all: the call's timeout ends it, and the other cluster is read.
    let (code, r, _) = beside_a_broken_cluster(
        |s| {
            s.faults.push(Fault::Hang {
                path: kube_api::NODES.to_owned(),
            })
        },
        &["--timeout", "2"],
    );
    assert_eq!(code, 2, "{r:#}");
    let unavailable = messages(&r, "kubernetes_unavailable");
    assert!(
        unavailable[0].starts_with("cluster broken: /api/v1/nodes: "),
        "{unavailable:#?}"
    );
    assert!(unavailable[0].ends_with("timed out"), "{unavailable:#?}");
    assert_eq!(standing(&r)["good-1"].1, "current");

    // A server no one listens on.
    let site = Site::new();
    let good = KubeApi::start(ApiState {
        nodes: vec![k8s_node("good-1", "1.26.1")],
        ..ApiState::default()
    })
    .unwrap();
    let nowhere = KubeconfigEntry {
        context: "gone".to_owned(),
        server: "http://127.0.0.1:9".to_owned(),
        token: "t".to_owned(),
    };
    let kubeconfig = write_kubeconfig(&site, &[good.kubeconfig_entry("good"), nowhere]);
    let (code, r) = nodes(&site, &kubeconfig, &["good", "gone"], &[]);
    assert_eq!(code, 2, "{r:#}");
    let unavailable = messages(&r, "kubernetes_unavailable");
    assert!(
        unavailable[0].starts_with("cluster gone: /api/v1/nodes: "),
        "{unavailable:#?}"
    );
    assert!(
        unavailable[0].contains("onnection refused"),
        "{unavailable:#?}"
    );
    assert_eq!(standing(&r)["good-1"].1, "current");
}

#[test]
fn kubeconfig_mistakes_are_named_before_anything_is_read() {
    let site = Site::new();
    let api = KubeApi::start(prod()).unwrap();
    let kubeconfig = write_kubeconfig(&site, &[api.kubeconfig_entry("prod")]);
    let run = |args: &[&str]| {
        let out = tufwatch(site.path())
            .args(["nodes", "--no-state", "--root"])
            .arg(demo_dir().join("root.json"))
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let k = kubeconfig.display().to_string();
    let (code, err) = run(&["--kubeconfig", &k, "--kube-context", "staging"]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("--kube-context: no context \"staging\" in the kubeconfig (it has: prod)"),
        "{err}"
    );
    let missing = site.path().join("nope").display().to_string();
    let (code, err) = run(&["--kubeconfig", &missing]);
    assert_eq!(code, Some(2));
    assert!(err.contains("kubeconfig") && err.contains("nope"), "{err}");
    std::fs::write(site.path().join("bad"), "clusters: [").unwrap();
    let bad = site.path().join("bad").display().to_string();
    let (code, err) = run(&["--kubeconfig", &bad]);
    assert_eq!(code, Some(2));
    assert!(err.contains(&format!("kubeconfig {bad}: ")), "{err}");
    assert!(api.requests().is_empty(), "nothing was asked of the API");

    // Outside a cluster, the pod's service account is not there to use.
    let (code, err) = run(&["--in-cluster", "--format", "json"]);
    assert_eq!(code, Some(2), "{err}");
}

#[test]
fn the_nightly_job_reads_clusters_with_its_own_bound_and_ssm() {
    let site = Site::new();
    let api = KubeApi::start(prod()).unwrap();
    write_kubeconfig(&site, &[api.kubeconfig_entry("prod")]);
    let config = demo_config(
        site.path(),
        "\n[[kubernetes]]\nname = \"production\"\nkubeconfig = \"kubeconfig\"\ncontext = \"prod\"\n",
    );
    // The bound is four hours: the node three hours in one state is still updating.
    let text = std::fs::read_to_string(&config).unwrap().replace(
        "expiry_warning = \"3d\"",
        "expiry_warning = \"3d\"\nupdate_stuck_after = \"4h\"",
    );
    std::fs::write(&config, text).unwrap();
    let out = tufwatch(site.path())
        .args(["report", "--config"])
        .arg(&config)
        .args(["--format", "json", "--at", AT])
        .output()
        .unwrap();
    let (code, r) = json_report(&out);
    assert_eq!(code, 1, "{r:#}");
    let s = standing(&r);
    assert_eq!(
        s["slow"],
        (
            "production".to_owned(),
            "behind".to_owned(),
            "updating".to_owned()
        )
    );
    assert_eq!(s["crashed"].2, "update_stuck");
    // `@latest` follows the demo's SSM file: aws-k8s-1.31 x86_64 in us-west-2 is 1.26.1.
    let follows = launch_path(&r, "follows");
    assert_eq!(follows["status"], "current", "{follows:#}");
    assert_eq!(follows["version"], "1.26.1-c41a8f09");
    assert!(follows["reason"]
        .as_str()
        .unwrap()
        .starts_with("follows SSM's latest in us-west-2"));

    // The HTML page shows the clusters, the update states and the node classes.
    let html = tufwatch(site.path())
        .args(["report", "--config"])
        .arg(&config)
        .args(["--format", "html", "--at", AT])
        .output()
        .unwrap();
    let page = unescape(&String::from_utf8(html.stdout).unwrap());
    for expected in [
        "<h3>Clusters</h3>",
        "<h3>Nodes that need a person</h3>",
        "update_stuck",
        "alias bottlerocket@v1.25.0",
        "production",
    ] {
        assert!(page.contains(expected), "{expected}");
    }

    // The metrics count each cluster's nodes per update state, the states without nodes too.
    let prom = tufwatch(site.path())
        .args(["report", "--config"])
        .arg(&config)
        .args(["--format", "prometheus", "--at", AT])
        .output()
        .unwrap();
    let metrics = String::from_utf8(prom.stdout).unwrap();
    for expected in [
        "tufwatch_kubernetes_cluster_up{cluster=\"production\"} 1\n",
        "tufwatch_kubernetes_nodes{cluster=\"production\"} 8\n",
        "tufwatch_nodes_update{cluster=\"production\",update=\"updating\"} 3\n",
        "tufwatch_nodes_update{cluster=\"production\",update=\"update_stuck\"} 1\n",
        "tufwatch_nodes_update{cluster=\"production\",update=\"no_updater\"} 1\n",
    ] {
        assert!(metrics.contains(expected), "{expected}\n{metrics}");
    }
}
