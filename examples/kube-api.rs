//! Serve a `kubectl get nodes -o json` file from the tests' loopback Kubernetes API server
//! (`tufwatch::testkit::kube_api`), page by page, for measurements: `tufwatch nodes --kubeconfig`
//! against it reads the same nodes as `tufwatch nodes --inventory FILE`.
//!
//! Run: `cargo run --release --example kube-api -- NODES.json KUBECONFIG`; it writes KUBECONFIG
//! (context `measure`), prints `ready URL`, and serves until its standard input closes.

use serde_json::value::RawValue;
use std::io::{BufRead, Write};
use tufwatch::testkit::kube_api::{self, ApiState, KubeApi};

#[derive(serde::Deserialize)]
struct List<'a> {
    #[serde(borrow)]
    items: Vec<&'a RawValue>,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(inventory), Some(kubeconfig)) = (args.next(), args.next()) else {
        return Err("usage: kube-api NODES.json KUBECONFIG".into());
    };
    let bytes = std::fs::read(&inventory)?;
    let list: List = serde_json::from_slice(&bytes)?;
    let nodes = list.items.iter().map(|n| n.get().to_owned()).collect();
    let api = KubeApi::start(ApiState {
        nodes,
        ..ApiState::default()
    })?;
    std::fs::write(
        &kubeconfig,
        kube_api::kubeconfig(&[api.kubeconfig_entry("measure")]),
    )?;
    println!("ready {}", api.url);
    std::io::stdout().flush()?;
    // Serve until the measuring script closes our standard input.
    for line in std::io::stdin().lock().lines() {
        line?;
    }
    Ok(())
}
