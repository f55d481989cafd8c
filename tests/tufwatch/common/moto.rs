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

/// EC2's fleet (`ec2_fleet`): instances of the default account and of [`SECOND_ACCOUNT`] on
/// current, deprecated, deregistered, foreign and non-Bottlerocket AMIs; launch templates `web`
/// (the current AMI), `arm` (an old one), `follow` (SSM's latest), `pinned` (SSM's 1.25.0) and
/// `rolling` (v1 the current AMI and default, v2 an old one), `three` (old, current, old); Auto
/// Scaling groups on `web`'s default, `rolling`'s latest, `three`'s version 2 and
/// `deprecated-lt`'s default, and on launch configurations `old-lc` (an old AMI), `current-lc`
/// and `gone-lc` (deleted); an EKS cluster
/// `prod` (1.31) with node groups `bottlerocket-x86` (release 1.25.0), `al2023` and `custom` (on
/// `web` v1); SSM holds the demo's
/// parameters here too, and two of SSM's `latest` AMIs are wrong in EC2 (one is not there, one
/// is named for another release).
pub const EC2_FLEET: &str = "us-east-2";
/// 1005 instances, one per reservation: two pages of `DescribeInstances`.
pub const EC2_PAGES: &str = "eu-central-1";
/// Throttles its first 2 EC2 requests (`RequestLimitExceeded`).
pub const EC2_THROTTLE: &str = "ap-northeast-2";
/// Answers every request with HTTP 500.
pub const EC2_FAILING: &str = "ap-southeast-1";
/// Refuses `DescribeLaunchTemplateVersions` (a role whose policy lacks the action).
pub const EC2_NO_TEMPLATES: &str = "ap-northeast-3";
/// Refuses `DescribeLaunchConfigurations` (a policy written before tufwatch read them); holds an
/// Auto Scaling group on a launch configuration, one on a template and an EKS node group.
pub const EC2_NO_CONFIGURATIONS: &str = "ap-southeast-2";
/// moto's default account: the base credentials'.
pub const BASE_ACCOUNT: &str = "123456789012";
/// The account read through a role.
pub const SECOND_ACCOUNT: &str = "222233334444";
/// A role STS refuses to assume.
pub const DENIED_ROLE: &str = "arn:aws:iam::333344445555:role/tufwatch-read";
/// The AMIs of the fleet, by what they are.
pub mod ami {
    /// aws-k8s-1.31 x86_64 1.26.1 (SSM's latest).
    pub const CURRENT: &str = "ami-345f02a7fcee5924f";
    /// aws-k8s-1.31 x86_64 1.26.0, deprecated since 2026-01-01.
    pub const DEPRECATED: &str = "ami-7bf2fa1e9d376a956";
    /// aws-k8s-1.31 x86_64 1.25.0, deregistered after its instance was launched.
    pub const GONE: &str = "ami-8b71b201f721db95f";
    /// aws-ecs-2 x86_64 1.26.1.
    pub const ECS_CURRENT: &str = "ami-358b45f08bfb5df23";
    /// aws-k8s-1.31 aarch64 1.25.0.
    pub const ARM_OLD: &str = "ami-abcfee953961e5d88";
    /// Amazon Linux.
    pub const OTHER: &str = "ami-0a1b2c3d4e5f6a7b8";
    /// SSM's latest aws-k8s-1.31 arm64 (1.26.1), named in EC2 for 1.26.0.
    pub const MISNAMED: &str = "ami-1b5566579be8a5cf5";
    /// SSM's latest aws-ecs-2 x86_64 (1.25.0), which EC2 does not have.
    pub const ABSENT: &str = "ami-2894f9bbfb44142e5";
}

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
    for region in [
        CLEAN,
        THROTTLE_FIRST_2,
        THROTTLE_ALL,
        ERROR_FIRST,
        SILENT,
        EC2_FLEET,
    ] {
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
            EC2_THROTTLE: {"throttle_first": 2},
            EC2_FAILING: {"status": 500, "first": 1_000_000},
            EC2_NO_TEMPLATES: {"deny_operations": ["DescribeLaunchTemplateVersions"]},
            EC2_NO_CONFIGURATIONS: {"deny_operations": ["DescribeLaunchConfigurations"]},
            "deny_roles": [DENIED_ROLE],
        })
        .to_string(),
    )
    .unwrap();
    let ec2_seed = dir.path().join("ec2.json");
    std::fs::write(&ec2_seed, ec2_seed_of(&us_west).to_string()).unwrap();
    let mut child = Command::new(python())
        .arg(project().join("tests/support/moto_ssm.py"))
        .arg(&seed)
        .arg(&faults)
        .arg(&ec2_seed)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(dir.path().join("moto.log")).unwrap())
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
        .unwrap_or_else(|| {
            let log = std::fs::read_to_string(dir.path().join("moto.log")).unwrap_or_default();
            let tail: String = log
                .chars()
                .rev()
                .take(6000)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            panic!("moto did not start: {line:?}; it said:\n{tail}")
        });
    Moto {
        port,
        _child: Mutex::new((child, stdin)),
        _dir: dir,
    }
}

/// The EC2 seed (`tests/support/moto_ssm.py`): an AMI of Bottlerocket's publisher for every AMI
/// SSM lists (named as Bottlerocket names them) but [`ami::ABSENT`], [`ami::MISNAMED`] named for
/// another release, an Amazon Linux AMI; and the instances of each region.
fn ec2_seed_of(ssm: &[Value]) -> Value {
    let mut amis = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for p in ssm {
        let name = p["Name"].as_str().unwrap();
        let parts: Vec<&str> = name.split('/').collect();
        // /aws/service/bottlerocket/<variant>/<arch>/<version>/image_id
        let [_, _, _, _, variant, arch, _, "image_id"] = parts.as_slice() else {
            continue;
        };
        let id = p["Value"].as_str().unwrap();
        let version_name = name.replace("image_id", "image_version");
        let version = ssm
            .iter()
            .find(|q| q["Name"] == version_name.as_str())
            .and_then(|q| q["Value"].as_str())
            .unwrap();
        if id == ami::ABSENT || !seen.insert(id.to_owned()) {
            continue;
        }
        let (tuf_arch, ec2_arch) = if *arch == "arm64" {
            ("aarch64", "arm64")
        } else {
            ("x86_64", "x86_64")
        };
        let version = if id == ami::MISNAMED {
            "1.26.0-7b9d2e44"
        } else {
            version
        };
        let mut image = serde_json::json!({
            "ami_id": id,
            "name": format!("bottlerocket-{variant}-{tuf_arch}-v{version}"),
            "owner_id": "092701018921",
            "architecture": ec2_arch,
        });
        if id == ami::DEPRECATED {
            image["deprecation_time"] = "2026-01-01T00:00:00.000Z".into();
        }
        amis.push(image);
    }
    amis.push(serde_json::json!({
        "ami_id": ami::OTHER,
        "name": "al2023-ami-2023.6.20241212.0-kernel-6.1-x86_64",
        "owner_id": "137112412989",
        "architecture": "x86_64",
    }));
    let at = |account: &str, region: &str, image: Value, count: u32, name: &str| serde_json::json!({"account": account, "region": region, "image": image, "count": count, "name": name});
    let foreign =
        serde_json::json!({"register": "bottlerocket-aws-k8s-1.31-x86_64-v1.26.1-c41a8f09"});
    let group = |name: &str, template: &str, version: &str| serde_json::json!({"account": BASE_ACCOUNT, "region": EC2_FLEET, "name": name, "template": template, "version": version});
    let configured = |name: &str, configuration: &str| serde_json::json!({"account": BASE_ACCOUNT, "region": EC2_FLEET, "name": name, "launch_configuration": configuration});
    let configuration = |name: &str, image: &str, deleted: bool| serde_json::json!({"account": BASE_ACCOUNT, "region": EC2_FLEET, "name": name, "image": image, "deleted": deleted});
    let node_group = |name: &str, mut extra: Value| {
        for (k, v) in [
            ("account", BASE_ACCOUNT),
            ("region", EC2_FLEET),
            ("cluster", "prod"),
            ("kubernetes_version", "1.31"),
            ("name", name),
        ] {
            if extra.get(k).is_none() {
                extra[k] = v.into();
            }
        }
        extra
    };
    let template = |name: &str, versions: &[&str]| serde_json::json!({"account": BASE_ACCOUNT, "region": EC2_FLEET, "name": name, "versions": versions});
    // moto pages DescribeInstances by reservation: one instance each.
    let mut many = at(BASE_ACCOUNT, EC2_PAGES, ami::CURRENT.into(), 1005, "many");
    many["per_reservation"] = 1.into();
    serde_json::json!({
        "amis": amis,
        "instances": [
            at(BASE_ACCOUNT, EC2_FLEET, ami::CURRENT.into(), 3, "web"),
            at(BASE_ACCOUNT, EC2_FLEET, ami::DEPRECATED.into(), 2, "batch"),
            at(BASE_ACCOUNT, EC2_FLEET, ami::GONE.into(), 1, "legacy"),
            at(BASE_ACCOUNT, EC2_FLEET, foreign.clone(), 1, "lookalike"),
            at(BASE_ACCOUNT, EC2_FLEET, ami::OTHER.into(), 1, "bastion"),
            at(SECOND_ACCOUNT, EC2_FLEET, ami::ECS_CURRENT.into(), 2, "ecs"),
            many,
            at(BASE_ACCOUNT, EC2_THROTTLE, ami::CURRENT.into(), 2, "throttled"),
            at(BASE_ACCOUNT, EC2_FAILING, ami::CURRENT.into(), 1, "failing"),
            at(BASE_ACCOUNT, EC2_NO_TEMPLATES, ami::CURRENT.into(), 1, "no-templates"),
        ],
        "deregister": [{"account": BASE_ACCOUNT, "region": EC2_FLEET, "image": ami::GONE}],
        "launch_templates": [
            template("web", &[ami::CURRENT]),
            template("arm", &[ami::ARM_OLD]),
            template("follow", &["resolve:ssm:/aws/service/bottlerocket/aws-k8s-1.31/x86_64/latest/image_id"]),
            template("pinned", &["resolve:ssm:/aws/service/bottlerocket/aws-k8s-1.31/x86_64/1.25.0/image_id"]),
            template("rolling", &[ami::CURRENT, ami::ARM_OLD]),
            template("three", &[ami::ARM_OLD, ami::CURRENT, ami::ARM_OLD]),
            template("gone-lt", &[ami::GONE]),
            template("deprecated-lt", &[ami::DEPRECATED]),
            serde_json::json!({"account": BASE_ACCOUNT, "region": EC2_NO_CONFIGURATIONS, "name": "edge", "versions": [ami::CURRENT, ami::ARM_OLD]}),
            serde_json::json!({"account": BASE_ACCOUNT, "region": EC2_FLEET, "name": "lookalike-lt", "versions": [foreign]}),
        ],
        "auto_scaling_groups": [
            group("asg-web", "web", "$Default"),
            group("asg-rolling-latest", "rolling", "$Latest"),
            group("asg-three-2", "three", "2"),
            group("asg-deprecated", "deprecated-lt", "$Default"),
            configured("asg-lc-old", "old-lc"),
            configured("asg-lc-current", "current-lc"),
            configured("asg-lc-gone", "gone-lc"),
            serde_json::json!({"account": BASE_ACCOUNT, "region": EC2_NO_CONFIGURATIONS, "name": "asg-on-lc", "launch_configuration": "edge-lc"}),
            serde_json::json!({"account": BASE_ACCOUNT, "region": EC2_NO_CONFIGURATIONS, "name": "asg-on-lt", "template": "edge", "version": "1"}),
        ],
        "launch_configurations": [
            configuration("old-lc", ami::ARM_OLD, false),
            configuration("current-lc", ami::CURRENT, false),
            configuration("gone-lc", ami::CURRENT, true),
            serde_json::json!({"account": BASE_ACCOUNT, "region": EC2_NO_CONFIGURATIONS, "name": "edge-lc", "image": ami::CURRENT, "deleted": false}),
        ],
        "node_groups": [
            node_group("bottlerocket-x86", serde_json::json!({"amiType": "BOTTLEROCKET_x86_64", "releaseVersion": "1.25.0-0f3e5a1c"})),
            node_group("al2023", serde_json::json!({"amiType": "AL2023_x86_64_STANDARD", "releaseVersion": "1.31.0-20241011"})),
            node_group("custom", serde_json::json!({"template": "web", "version": "1"})),
            node_group("elsewhere", serde_json::json!({"region": EC2_NO_CONFIGURATIONS, "cluster": "other", "amiType": "BOTTLEROCKET_x86_64", "releaseVersion": "1.25.0-0f3e5a1c"})),
        ],
    })
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
