//! `deploy/kubernetes/`: the manifests parse as the Kubernetes objects they claim to be, the
//! ClusterRole grants `get`/`list` on exactly what tufwatch reads (the paths `cluster::objects`
//! requests) and nothing else, the names the objects use for each other agree, the ConfigMap's
//! configuration is one tufwatch accepts, and the report server serves the Prometheus file
//! under the name and type the report writes.

use crate::common::*;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::CronJob;
use k8s_openapi::api::core::v1::{
    ConfigMap, Container, PersistentVolumeClaim, PodSpec, Service, ServiceAccount, Volume,
};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
use serde::de::DeserializeOwned;
use std::collections::BTreeSet;
use std::path::PathBuf;
use tufwatch::cluster::{NODES, NODE_CLASSES, SHADOWS};
use tufwatch::config::{Config, OutputFormat};

fn deploy() -> PathBuf {
    project().join("deploy/kubernetes")
}

/// The YAML documents of `file`, each as the object it must be.
fn documents(file: &str) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(deploy().join(file)).unwrap();
    serde_saphyr::from_multiple(&text).unwrap_or_else(|e| panic!("{file}: {e}"))
}

/// The one document of `kind` in `file`, typed.
fn object<T: DeserializeOwned>(file: &str, kind: &str) -> T {
    let docs: Vec<_> = documents(file)
        .into_iter()
        .filter(|d| d["kind"] == kind)
        .collect();
    assert_eq!(docs.len(), 1, "{file}: one {kind}");
    serde_json::from_value(docs[0].clone()).unwrap_or_else(|e| panic!("{file}: {kind}: {e}"))
}

#[test]
fn the_kustomization_lists_every_manifest_and_each_is_in_the_namespace() {
    let k = &documents("kustomization.yaml")[0];
    let listed: BTreeSet<String> = k["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap().to_owned())
        .collect();
    let present: BTreeSet<String> = std::fs::read_dir(deploy())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".yaml") && n != "kustomization.yaml")
        .collect();
    assert_eq!(listed, present);
    let namespace = k["namespace"].as_str().unwrap();
    for file in &present {
        for doc in documents(file) {
            let cluster_wide = ["Namespace", "ClusterRole", "ClusterRoleBinding"];
            if !cluster_wide.contains(&doc["kind"].as_str().unwrap()) {
                assert_eq!(doc["metadata"]["namespace"], namespace, "{file}");
            }
        }
    }
}

/// What tufwatch lists, as (API group, resource), from the paths it requests.
fn resources_read() -> BTreeSet<(String, String)> {
    [NODES, SHADOWS, NODE_CLASSES]
        .iter()
        .map(|path| {
            let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
            match parts[..] {
                ["api", _version, resource] => (String::new(), resource.to_owned()),
                ["apis", group, _version, resource] => (group.to_owned(), resource.to_owned()),
                _ => panic!("{path}"),
            }
        })
        .collect()
}

#[test]
fn the_cluster_role_grants_get_and_list_on_what_tufwatch_reads_and_nothing_else() {
    let role: ClusterRole = object("clusterrole.yaml", "ClusterRole");
    let mut granted = BTreeSet::new();
    for rule in role.rules.unwrap() {
        let verbs: BTreeSet<&str> = rule.verbs.iter().map(String::as_str).collect();
        assert_eq!(verbs, BTreeSet::from(["get", "list"]), "{rule:?}");
        assert!(rule.resource_names.is_none() && rule.non_resource_urls.is_none());
        for group in rule.api_groups.clone().unwrap() {
            for resource in rule.resources.clone().unwrap() {
                assert!(!group.contains('*') && !resource.contains('*'), "{rule:?}");
                granted.insert((group.clone(), resource));
            }
        }
    }
    assert_eq!(granted, resources_read());
    assert!(role.aggregation_rule.is_none());
}

#[test]
fn the_objects_name_each_other_consistently() {
    let account: ServiceAccount = object("serviceaccount.yaml", "ServiceAccount");
    let account_name = account.metadata.name.unwrap();
    let role: ClusterRole = object("clusterrole.yaml", "ClusterRole");
    let binding: ClusterRoleBinding = object("clusterrole.yaml", "ClusterRoleBinding");
    assert_eq!(binding.role_ref.kind, "ClusterRole");
    assert_eq!(Some(binding.role_ref.name), role.metadata.name);
    let subjects = binding.subjects.unwrap();
    assert_eq!(subjects.len(), 1);
    assert_eq!(subjects[0].kind, "ServiceAccount");
    assert_eq!(subjects[0].name, account_name);
    assert_eq!(subjects[0].namespace, account.metadata.namespace);

    let job = job_pod();
    assert_eq!(job.service_account_name.as_ref(), Some(&account_name));
    let claim: PersistentVolumeClaim = object("pvc.yaml", "PersistentVolumeClaim");
    let config: ConfigMap = object("configmap.yaml", "ConfigMap");
    for pod in [&job, &server_pod()] {
        for volume in pod.volumes.as_ref().unwrap() {
            if let Some(c) = &volume.persistent_volume_claim {
                assert_eq!(Some(&c.claim_name), claim.metadata.name.as_ref());
            }
            if let Some(c) = &volume.config_map {
                assert_eq!(Some(&c.name), config.metadata.name.as_ref());
                for item in c.items.as_ref().unwrap() {
                    assert!(config.data.as_ref().unwrap().contains_key(&item.key));
                }
            }
        }
    }
    let server: Deployment = object("report-server.yaml", "Deployment");
    let service: Service = object("report-server.yaml", "Service");
    assert_eq!(
        service.spec.unwrap().selector,
        server.spec.unwrap().selector.match_labels
    );
}

fn job_pod() -> PodSpec {
    let job: CronJob = object("cronjob.yaml", "CronJob");
    let spec = job.spec.unwrap();
    assert_eq!(spec.concurrency_policy.as_deref(), Some("Forbid"));
    spec.job_template.spec.unwrap().template.spec.unwrap()
}

fn server_pod() -> PodSpec {
    let server: Deployment = object("report-server.yaml", "Deployment");
    server.spec.unwrap().template.spec.unwrap()
}

/// Where `pod` mounts the volume `name`, and whether read-only.
fn mount(pod: &PodSpec, container: &Container, name: &str) -> (PathBuf, bool) {
    assert!(pod
        .volumes
        .as_ref()
        .unwrap()
        .iter()
        .any(|v: &Volume| v.name == name));
    let m = container
        .volume_mounts
        .as_ref()
        .unwrap()
        .iter()
        .find(|m| m.name == name)
        .unwrap_or_else(|| panic!("no mount of {name}"));
    (PathBuf::from(&m.mount_path), m.read_only == Some(true))
}

#[test]
fn the_job_runs_the_config_map_configuration_with_state_and_report_on_the_volume() {
    let pod = job_pod();
    let container = &pod.containers[0];
    let args = container.args.clone().unwrap();
    let config_at = args.iter().position(|a| a == "--config").unwrap() + 1;
    let config_path = PathBuf::from(&args[config_at]);
    let (config_dir, read_only) = mount(&pod, container, "config");
    assert!(read_only);
    assert_eq!(config_path.parent().unwrap(), config_dir);

    let config_map: ConfigMap = object("configmap.yaml", "ConfigMap");
    let data = config_map.data.unwrap();
    let text = &data[config_path.file_name().unwrap().to_str().unwrap()];
    let config = Config::parse(text, &config_dir).unwrap();
    assert!(config.clusters.iter().any(|k| k.in_cluster));
    let (volume, read_only) = mount(&pod, container, "state");
    assert!(!read_only);
    assert!(config
        .trust
        .state_dir
        .as_ref()
        .unwrap()
        .starts_with(&volume));
    let report_dir = config.output.dir.clone().unwrap();
    assert!(report_dir.starts_with(&volume));
    assert!(config.output.formats.contains(&OutputFormat::Prometheus));
    let job = config.job(Default::default(), 8).unwrap();
    assert_eq!(job.kubernetes.len(), 1);

    // The command line is one tufwatch takes.
    let mut argv = vec!["tufwatch".to_owned()];
    argv.extend(args);
    <tufwatch::cli::Cli as clap::Parser>::try_parse_from(argv).unwrap();

    // The report server serves the report directory, read-only, and the Prometheus file as
    // the exposition format, where the Service tells Prometheus to scrape.
    let server = server_pod();
    let httpd = &server.containers[0];
    let (data_dir, read_only) = mount(&server, httpd, "state");
    assert!(read_only);
    let served = data_dir.join(report_dir.strip_prefix(&volume).unwrap());
    let command = httpd.args.as_ref().unwrap().join(" ");
    assert!(
        command.contains(&format!("-h {}", served.display())),
        "{command}"
    );
    let prom = OutputFormat::Prometheus.file_name();
    let ext = prom.rsplit_once('.').unwrap().1;
    let mime = data["httpd.conf"]
        .lines()
        .find_map(|l| l.strip_prefix(&format!(".{ext}:")))
        .unwrap();
    assert!(mime.starts_with("text/plain;version=0.0.4"), "{mime}");
    let service: Service = object("report-server.yaml", "Service");
    let annotations = service.metadata.annotations.unwrap();
    assert_eq!(annotations["prometheus.io/path"], format!("/{prom}"));
}
