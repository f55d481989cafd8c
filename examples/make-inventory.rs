//! Make a large `kubectl get nodes -o json` inventory for measurements: N nodes with the fields a
//! real node list carries (labels, annotations, conditions, addresses, capacity, images), running
//! the demo repository's variants and versions, with some nodes on an unknown version and some
//! not running Bottlerocket.
//!
//! Run: `cargo run --release --example make-inventory -- FILE N`

use serde_json::json;
use std::io::Write;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(path), Some(n)) = (args.next(), args.next()) else {
        return Err("usage: make-inventory FILE NUMBER-OF-NODES".into());
    };
    let n: usize = n.parse()?;
    let variants = ["aws-k8s-1.31", "aws-k8s-1.31-nvidia", "aws-ecs-2"];
    let versions = ["1.26.1", "1.26.0", "1.25.0", "1.24.9"];
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path)?);
    out.write_all(b"{\n    \"apiVersion\": \"v1\",\n    \"items\": [\n")?;
    for i in 0..n {
        // Most nodes on the demo's main variant; versions spread; 1 in 50 is not Bottlerocket.
        let variant = variants[if i % 10 == 9 {
            1
        } else {
            (i % 7 == 6) as usize * 2
        }];
        let version = versions[(i * 7 + i / 13) % versions.len()];
        let os_image = if i % 50 == 49 {
            "Amazon Linux 2".to_owned()
        } else {
            format!("Bottlerocket OS {version} ({variant})")
        };
        let arch = if i % 3 == 0 { "arm64" } else { "amd64" };
        let zone = ["us-west-2a", "us-west-2b", "us-west-2c"][i % 3];
        let name = format!(
            "ip-10-{}-{}-{}.us-west-2.compute.internal",
            i >> 16,
            (i >> 8) & 255,
            i & 255
        );
        let node = json!({
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "annotations": {
                    "alpha.kubernetes.io/provided-node-ip": format!("10.{}.{}.{}", i >> 16, (i >> 8) & 255, i & 255),
                    "node.alpha.kubernetes.io/ttl": "0",
                    "volumes.kubernetes.io/controller-managed-attach-detach": "true"
                },
                "creationTimestamp": "2026-10-20T08:14:02Z",
                "labels": {
                    "beta.kubernetes.io/arch": arch,
                    "beta.kubernetes.io/instance-type": "m7i.large",
                    "beta.kubernetes.io/os": "linux",
                    "eks.amazonaws.com/nodegroup": format!("workers-{}", i % 40),
                    "kubernetes.io/arch": arch,
                    "kubernetes.io/hostname": name,
                    "kubernetes.io/os": "linux",
                    "node.kubernetes.io/instance-type": "m7i.large",
                    "topology.kubernetes.io/region": "us-west-2",
                    "topology.kubernetes.io/zone": zone
                },
                "name": name,
                "resourceVersion": format!("{}", 48_000_000 + i),
                "uid": format!("{:08x}-1b2c-4d5e-8f90-{:012x}", i, i * 7919)
            },
            "spec": {"providerID": format!("aws:///{zone}/i-{:017x}", i)},
            "status": {
                "addresses": [
                    {"address": format!("10.{}.{}.{}", i >> 16, (i >> 8) & 255, i & 255), "type": "InternalIP"},
                    {"address": name, "type": "InternalDNS"},
                    {"address": name, "type": "Hostname"}
                ],
                "allocatable": {"cpu": "1930m", "ephemeral-storage": "18242267924", "memory": "7291916Ki", "pods": "29"},
                "capacity": {"cpu": "2", "ephemeral-storage": "20959212Ki", "memory": "7929868Ki", "pods": "29"},
                "conditions": [
                    {"lastHeartbeatTime": "2026-11-28T23:58:10Z", "lastTransitionTime": "2026-10-20T08:14:02Z",
                     "message": "kubelet has sufficient memory available", "reason": "KubeletHasSufficientMemory",
                     "status": "False", "type": "MemoryPressure"},
                    {"lastHeartbeatTime": "2026-11-28T23:58:10Z", "lastTransitionTime": "2026-10-20T08:14:02Z",
                     "message": "kubelet has no disk pressure", "reason": "KubeletHasNoDiskPressure",
                     "status": "False", "type": "DiskPressure"},
                    {"lastHeartbeatTime": "2026-11-28T23:58:10Z", "lastTransitionTime": "2026-10-20T08:14:20Z",
                     "message": "kubelet is posting ready status", "reason": "KubeletReady",
                     "status": "True", "type": "Ready"}
                ],
                "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
                "images": [
                    {"names": ["602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon-k8s-cni@sha256:5f1b6c6d2e1d0d6b7a3e6f55d0f1f2a9e3c4b5a6d7e8f9a0b1c2d3e4f5a6b7c8"], "sizeBytes": 44_000_000},
                    {"names": ["602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/kube-proxy:v1.31.2-minimal-eksbuild.3"], "sizeBytes": 28_000_000},
                    {"names": ["602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/pause:3.9"], "sizeBytes": 296_528}
                ],
                "nodeInfo": {
                    "architecture": arch,
                    "bootID": format!("{:032x}", i * 104_729),
                    "containerRuntimeVersion": "containerd://1.7.24+bottlerocket",
                    "kernelVersion": "6.1.115",
                    "kubeProxyVersion": "v1.31.4-eks-0f56d01",
                    "kubeletVersion": "v1.31.4-eks-0f56d01",
                    "machineID": format!("{:032x}", i * 1_299_709),
                    "operatingSystem": "linux",
                    "osImage": os_image,
                    "systemUUID": format!("ec2{:029x}", i)
                }
            }
        });
        if i > 0 {
            out.write_all(b",\n")?;
        }
        serde_json::to_writer_pretty(&mut out, &node)?;
    }
    out.write_all(
        b"\n    ],\n    \"kind\": \"List\",\n    \"metadata\": {\"resourceVersion\": \"\"}\n}\n",
    )?;
    out.flush()?;
    Ok(())
}
