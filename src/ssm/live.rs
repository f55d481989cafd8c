//! The live SSM source, with `aws-sdk-ssm`: the standard AWS credential chain, profiles and
//! regions, `AWS_ENDPOINT_URL_SSM` (or `--endpoint-url`) for another endpoint.
//!
//! The calls are as few as the question allows: `GetParameters` with 10 names a call for the
//! `latest` values, `GetParametersByPath` (10 a page) only for the regions, variants and
//! architectures whose AMI -> version map an EC2 inventory needs (its pages carry the `latest`
//! values of those regions too). Calls run concurrently across
//! regions up to a bound; throttling and server errors are retried with exponential backoff by
//! the SDK's standard retry strategy; every attempt is counted.

use super::{latest_name, Calls, Field, Parameter, Query, RegionResult, PREFIX};
use crate::aws::client::{
    describe, to_chrono, CallError, CapResponse, CountAttempts, LiveOptions, MAX_PAGES,
};
use aws_sdk_ssm::config::Region;
use futures::stream::{self, StreamExt};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// The largest response body read from SSM: a page of 10 parameters is a few kB, so anything
/// near this is not SSM's answer, and an endless body stops here instead of filling memory.
pub const MAX_RESPONSE: usize = 1 << 20;

enum Job {
    /// `GetParameters` for up to 10 names.
    Names(Vec<String>),
    /// `GetParametersByPath`, recursive, every page.
    Path(String),
}

struct RegionClient {
    region: String,
    client: aws_sdk_ssm::Client,
    attempts: Arc<AtomicU64>,
}

/// What one job gave: the index of its region's client, the calls made, and the parameters or
/// why they could not be read.
type JobResult = (usize, Calls, Result<Vec<Parameter>, CallError>);

/// Read what `query` asks from SSM. Every region gets a result: the calls made and, when it could
/// not be read completely, why. Parameters of a failed region are still returned.
pub async fn observe(
    config: &aws_config::SdkConfig,
    options: &LiveOptions,
    query: &Query,
    deadline: tokio::time::Instant,
) -> (Vec<RegionResult>, Vec<Parameter>) {
    let names = latest_names(query);
    let clients: Vec<RegionClient> = regions_read(query)
        .iter()
        .map(|region| region_client(config, options, region))
        .collect();
    let jobs = jobs_for(query, &clients, &names);
    let results = run_all(&clients, jobs, options, deadline).await;
    tally(&clients, results)
}

/// The names of the `latest` parameters asked: the AMI id and version of each variant and
/// architecture.
fn latest_names(query: &Query) -> Vec<String> {
    let mut names = Vec::new();
    for variant in &query.variants {
        for arch in query.archs() {
            names.push(latest_name(variant, arch, Field::ImageId));
            names.push(latest_name(variant, arch, Field::ImageVersion));
        }
    }
    names
}

/// The regions read: those whose `latest` values are asked, then those only the AMI map needs.
fn regions_read(query: &Query) -> Vec<&String> {
    let mut regions: Vec<&String> = query.regions.iter().collect();
    for r in &query.image_regions {
        if !regions.contains(&r) {
            regions.push(r);
        }
    }
    regions
}

/// A client for `region`, with the retries, timeouts, attempt count and response cap of
/// `options`.
fn region_client(
    config: &aws_config::SdkConfig,
    options: &LiveOptions,
    region: &str,
) -> RegionClient {
    let (count, attempts) = CountAttempts::new();
    let conf = aws_sdk_ssm::config::Builder::from(config)
        .region(Region::new(region.to_owned()))
        .retry_config(options.retry_config())
        .timeout_config(options.timeout_config())
        .interceptor(count)
        .interceptor(CapResponse(MAX_RESPONSE))
        .build();
    RegionClient {
        region: region.to_owned(),
        client: aws_sdk_ssm::Client::from_conf(conf),
        attempts,
    }
}

/// The calls to make, each with the index of its region's client: `GetParameters` for the
/// `latest` names, `GetParametersByPath` where the AMI map is read.
fn jobs_for(query: &Query, clients: &[RegionClient], names: &[String]) -> Vec<(usize, Job)> {
    let mut jobs: Vec<(usize, Job)> = Vec::new();
    for (i, c) in clients.iter().enumerate() {
        // Where the AMI map is read, its pages (the whole variant-arch path, recursively) carry
        // the `latest` values too: no GetParameters there.
        if query.regions.contains(&c.region) && !query.image_regions.contains(&c.region) {
            for chunk in names.chunks(10) {
                jobs.push((i, Job::Names(chunk.to_vec())));
            }
        }
        if query.image_regions.contains(&c.region) {
            for variant in &query.variants {
                for arch in query.archs() {
                    jobs.push((
                        i,
                        Job::Path(format!("{PREFIX}/{variant}/{}", arch.ssm_name())),
                    ));
                }
            }
        }
    }
    jobs
}

/// Run `jobs`, up to `options.concurrency` at once, each within the run's deadline; the results
/// come in the order they finish.
async fn run_all(
    clients: &[RegionClient],
    jobs: Vec<(usize, Job)>,
    options: &LiveOptions,
    deadline: tokio::time::Instant,
) -> Vec<JobResult> {
    stream::iter(jobs)
        .map(|(i, job)| {
            let c = &clients[i];
            async move {
                match tokio::time::timeout_at(deadline, run(c, job)).await {
                    Ok((calls, result)) => (i, calls, result),
                    Err(_) => (
                        i,
                        Calls::default(),
                        Err(CallError::PastDeadline(options.deadline)),
                    ),
                }
            }
        })
        .buffer_unordered(options.concurrency.max(1))
        .collect()
        .await
}

/// Each region's result (its calls, its first error, its attempts) and every parameter read.
fn tally(clients: &[RegionClient], results: Vec<JobResult>) -> (Vec<RegionResult>, Vec<Parameter>) {
    let mut out: Vec<RegionResult> = clients
        .iter()
        .map(|c| RegionResult {
            region: c.region.clone(),
            calls: Calls::default(),
            error: None,
        })
        .collect();
    let mut parameters = Vec::new();
    for (i, calls, result) in results {
        let r = &mut out[i];
        r.calls = r.calls.plus(calls);
        match result {
            Ok(ps) => parameters.extend(ps),
            Err(e) => {
                if r.error.is_none() {
                    r.error = Some(e.to_string());
                }
            }
        }
    }
    for (r, c) in out.iter_mut().zip(clients) {
        r.calls.attempts = c.attempts.load(Ordering::Relaxed);
    }
    (out, parameters)
}

async fn run(c: &RegionClient, job: Job) -> (Calls, Result<Vec<Parameter>, CallError>) {
    let mut calls = Calls::default();
    let convert = |p: &aws_sdk_ssm::types::Parameter| -> Option<Parameter> {
        Some(Parameter {
            region: c.region.clone(),
            name: p.name()?.to_owned(),
            value: p.value()?.to_owned(),
            last_modified: p.last_modified_date().and_then(to_chrono),
        })
    };
    match job {
        Job::Names(names) => {
            calls.get_parameters += 1;
            let result = c
                .client
                .get_parameters()
                .set_names(Some(names))
                .send()
                .await
                .map(|out| out.parameters().iter().filter_map(convert).collect())
                .map_err(|e| describe("GetParameters", &e));
            (calls, result)
        }
        Job::Path(path) => {
            let mut params = Vec::new();
            let mut token: Option<String> = None;
            loop {
                if calls.get_parameters_by_path >= MAX_PAGES {
                    return (
                        calls,
                        Err(CallError::TooManyPages(format!(
                            "GetParametersByPath {path}"
                        ))),
                    );
                }
                calls.get_parameters_by_path += 1;
                let page = c
                    .client
                    .get_parameters_by_path()
                    .path(&path)
                    .recursive(true)
                    .max_results(10)
                    .set_next_token(token.take())
                    .send()
                    .await;
                match page {
                    Ok(out) => {
                        params.extend(out.parameters().iter().filter_map(convert));
                        match out.next_token() {
                            Some(t) if !t.is_empty() => token = Some(t.to_owned()),
                            _ => break,
                        }
                    }
                    Err(e) => {
                        return (
                            calls,
                            Err(describe(&format!("GetParametersByPath {path}"), &e)),
                        )
                    }
                }
            }
            (calls, Ok(params))
        }
    }
}
