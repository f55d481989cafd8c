//! The Kubernetes API through kube-rs: a client made from a kubeconfig's context or the pod's
//! service account, with the run's timeouts and kube's own retries off (the run's deadline
//! bounds every call); lists read page by page (`limit`, `continue`), each page's body read to a
//! byte limit; the API's errors, typed.

use crate::error::{Error, Result};
use futures::AsyncReadExt;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::core::params::ListParams;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Largest kubeconfig read.
pub const MAX_KUBECONFIG: u64 = 16 << 20;

/// Largest page of a list read: 500 nodes of a large cluster (each with its images listed) are
/// a few MiB.
pub const MAX_PAGE: u64 = 256 << 20;

/// Most pages a list may take: a server that keeps giving continue tokens is not listing.
const MAX_PAGES: u32 = 100_000;

/// Where a cluster's credentials come from.
#[derive(Clone)]
pub enum ClusterSource {
    /// A context of a kubeconfig, already read; `None`: its current context.
    Kubeconfig {
        /// The kubeconfig.
        kubeconfig: Box<Kubeconfig>,
        /// The context.
        context: Option<String>,
    },
    /// The pod's service account (`KUBERNETES_SERVICE_HOST`, its token and CA), as a CronJob
    /// in the cluster has.
    InCluster,
}

impl std::fmt::Debug for ClusterSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A kubeconfig holds credentials: never printed.
        match self {
            ClusterSource::Kubeconfig { context, .. } => {
                write!(f, "Kubeconfig {{ context: {context:?} }}")
            }
            ClusterSource::InCluster => f.write_str("InCluster"),
        }
    }
}

/// Timeouts of one cluster's calls.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// To connect, and for the next bytes of an answer.
    pub attempt: Duration,
}

/// Why a cluster, or a list of it, could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// Its credentials could not be made ready (an exec plugin failed, a certificate file is
    /// missing, not in a cluster).
    #[error("its credentials: {0}")]
    Credentials(String),
    /// The API answered with an error `Status`.
    #[error("{path}: HTTP {code} {reason}: {message}")]
    Api {
        /// The path asked.
        path: String,
        /// The HTTP status.
        code: u16,
        /// The Status's reason (`Unauthorized`, `Forbidden`, `Expired`, `NotFound`).
        reason: String,
        /// The Status's message.
        message: String,
    },
    /// The API could not be reached, or stopped answering.
    #[error("{path}: {why}")]
    Transport {
        /// The path asked.
        path: String,
        /// Why, in kube's words.
        why: String,
    },
    /// An answer larger than [`MAX_PAGE`].
    #[error("{path}: the answer is larger than {max} bytes")]
    TooLarge {
        /// The path asked.
        path: String,
        /// The limit.
        max: u64,
    },
    /// An answer that is not the list asked for.
    #[error("{path}: {why}")]
    Malformed {
        /// The path asked.
        path: String,
        /// What is wrong with it.
        why: String,
    },
    /// The list's continue token expired again after the list was started over.
    #[error("{path}: the list's continue token expired twice (the list changes faster than it can be read); run again")]
    Expired {
        /// The path asked.
        path: String,
    },
    /// The server kept giving continue tokens.
    #[error("{path}: more than {MAX_PAGES} pages")]
    EndlessList {
        /// The path asked.
        path: String,
    },
    /// The run's deadline passed.
    #[error("no complete answer within the run's deadline")]
    Deadline,
}

impl ReadError {
    /// Whether the API says the resource does not exist (a CRD not installed).
    pub fn is_not_found(&self) -> bool {
        matches!(self, ReadError::Api { code: 404, .. })
    }

    fn expired(&self) -> bool {
        matches!(self, ReadError::Api { code: 410, .. })
    }
}

/// Read the kubeconfig at `path`, else those `$KUBECONFIG` lists, else `~/.kube/config`, each
/// to a byte limit, merged as kubectl merges them.
pub fn read_kubeconfig(path: Option<&Path>) -> Result<Kubeconfig> {
    let paths: Vec<PathBuf> = match path {
        Some(p) => vec![p.to_owned()],
        None => default_paths(),
    };
    let mut merged: Option<Kubeconfig> = None;
    for p in &paths {
        let one = read_one(p)?;
        merged = Some(match merged {
            None => one,
            Some(m) => m.merge(one).map_err(|e| invalid(p, e.to_string()))?,
        });
    }
    merged.ok_or_else(|| Error::Invalid {
        what: "kubeconfig",
        path: "$KUBECONFIG".to_owned(),
        message: "names no file".to_owned(),
    })
}

/// The kubeconfig files kubectl reads when none is named.
fn default_paths() -> Vec<PathBuf> {
    if let Some(list) = std::env::var_os("KUBECONFIG").filter(|v| !v.is_empty()) {
        return std::env::split_paths(&list)
            .filter(|p| !p.as_os_str().is_empty())
            .collect();
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    vec![home.join(".kube").join("config")]
}

fn invalid(path: &Path, message: String) -> Error {
    Error::Invalid {
        what: "kubeconfig",
        path: path.display().to_string(),
        message,
    }
}

/// One kubeconfig file, no larger than [`MAX_KUBECONFIG`]; relative paths in it are taken from
/// its directory, as kubectl takes them.
fn read_one(path: &Path) -> Result<Kubeconfig> {
    let meta = std::fs::metadata(path).map_err(|source| Error::Read {
        what: "kubeconfig",
        path: path.to_owned(),
        source,
    })?;
    if meta.len() > MAX_KUBECONFIG {
        return Err(invalid(
            path,
            format!("larger than {MAX_KUBECONFIG} bytes; not a kubeconfig"),
        ));
    }
    Kubeconfig::read_from(path).map_err(|e| invalid(path, e.to_string()))
}

/// A client of the cluster, with the run's timeouts and no retries of kube's own.
pub async fn client(source: &ClusterSource, t: Timeouts) -> Result<kube::Client, ReadError> {
    let credentials = |e: &dyn std::fmt::Display| ReadError::Credentials(e.to_string());
    let mut config = match source {
        ClusterSource::Kubeconfig {
            kubeconfig,
            context,
        } => {
            let options = KubeConfigOptions {
                context: context.clone(),
                ..KubeConfigOptions::default()
            };
            kube::Config::from_custom_kubeconfig((**kubeconfig).clone(), &options)
                .await
                .map_err(|e| credentials(&e))?
        }
        ClusterSource::InCluster => kube::Config::incluster().map_err(|e| credentials(&e))?,
    };
    config.connect_timeout = Some(t.attempt);
    config.read_timeout = Some(t.attempt);
    config.write_timeout = Some(t.attempt);
    // kube would retry 429, 503 and 504 up to fifteen times, past any deadline of the run.
    config.default_retry = false;
    kube::Client::try_from(config).map_err(|e| credentials(&e))
}

/// The API server's URL a client of `source` talks to, for the report.
pub fn server_of(source: &ClusterSource) -> Option<String> {
    match source {
        ClusterSource::Kubeconfig {
            kubeconfig,
            context,
        } => {
            let name = context
                .as_deref()
                .or(kubeconfig.current_context.as_deref())?;
            let ctx = kubeconfig.contexts.iter().find(|c| c.name == name)?;
            let cluster = &ctx.context.as_ref()?.cluster;
            let named = kubeconfig.clusters.iter().find(|c| &c.name == cluster)?;
            named.cluster.as_ref()?.server.clone()
        }
        ClusterSource::InCluster => None,
    }
}

/// The cluster's Kubernetes version, `1.36` (`/version`).
pub async fn kubernetes_version(client: &kube::Client) -> Result<String, ReadError> {
    let info = client
        .apiserver_version()
        .await
        .map_err(|e| api_error("/version", e))?;
    let digits = |s: &str| {
        s.chars()
            .take_while(char::is_ascii_digit)
            .collect::<String>()
    };
    let (major, minor) = (digits(&info.major), digits(&info.minor));
    if major.is_empty() || minor.is_empty() {
        return Err(ReadError::Malformed {
            path: "/version".to_owned(),
            why: format!(
                "major {:?} and minor {:?} are not a version",
                info.major, info.minor
            ),
        });
    }
    Ok(format!("{major}.{minor}"))
}

/// A page of a list: its items, and the token of the next page.
#[derive(Deserialize)]
pub struct Page<T> {
    #[serde(default)]
    metadata: ListMeta,
    /// The items of this page.
    pub items: Vec<T>,
}

#[derive(Deserialize, Default)]
struct ListMeta {
    #[serde(rename = "continue", default)]
    next: Option<String>,
}

/// List `path` page by page, `page_size` items a page, handing each page to `each`. A continue
/// token that expires starts the list over once (as client-go's pager does), `each` told so by
/// `restart`. Returns the pages read.
pub async fn list<T: DeserializeOwned>(
    client: &kube::Client,
    path: &str,
    page_size: u32,
    mut restart: impl FnMut(),
    mut each: impl FnMut(Vec<T>) -> Result<(), ReadError>,
) -> Result<u32, ReadError> {
    let mut pages = 0;
    let mut started_over = false;
    let mut token: Option<String> = None;
    loop {
        let page: Page<T> = match page(client, path, page_size, token.as_deref()).await {
            Err(e) if e.expired() && token.is_some() && !started_over => {
                started_over = true;
                token = None;
                restart();
                continue;
            }
            Err(e) if e.expired() && token.is_some() => {
                return Err(ReadError::Expired {
                    path: path.to_owned(),
                })
            }
            other => other?,
        };
        pages += 1;
        token = page.metadata.next.filter(|t| !t.is_empty());
        each(page.items)?;
        if token.is_none() {
            return Ok(pages);
        }
        if pages >= MAX_PAGES {
            return Err(ReadError::EndlessList {
                path: path.to_owned(),
            });
        }
    }
}

/// One page of a list, its body read to [`MAX_PAGE`].
async fn page<T: DeserializeOwned>(
    client: &kube::Client,
    path: &str,
    page_size: u32,
    token: Option<&str>,
) -> Result<Page<T>, ReadError> {
    let mut params = ListParams::default().limit(page_size);
    if let Some(t) = token {
        params = params.continue_token(t);
    }
    let request =
        kube::core::Request::new(path)
            .list(&params)
            .map_err(|e| ReadError::Malformed {
                path: path.to_owned(),
                why: e.to_string(),
            })?;
    let body = client
        .request_stream(request)
        .await
        .map_err(|e| api_error(path, e))?;
    let mut bytes = Vec::new();
    futures::pin_mut!(body);
    body.take(MAX_PAGE + 1)
        .read_to_end(&mut bytes)
        .await
        .map_err(|e| ReadError::Transport {
            path: path.to_owned(),
            why: e.to_string(),
        })?;
    if bytes.len() as u64 > MAX_PAGE {
        return Err(ReadError::TooLarge {
            path: path.to_owned(),
            max: MAX_PAGE,
        });
    }
    serde_json::from_slice(&bytes).map_err(|e| ReadError::Malformed {
        path: path.to_owned(),
        why: format!("not a list: {e}"),
    })
}

/// kube's error as this module's: the API's `Status`, or the transport's failure.
fn api_error(path: &str, e: kube::Error) -> ReadError {
    match e {
        kube::Error::Api(status) => ReadError::Api {
            path: path.to_owned(),
            code: status.code,
            reason: status.reason.clone(),
            message: status.message.clone(),
        },
        other => ReadError::Transport {
            path: path.to_owned(),
            why: chain(&other),
        },
    }
}

/// An error with its sources, one after another: kube's outermost words alone say little
/// (`ServiceError: client error (Connect)`).
fn chain(e: &dyn std::error::Error) -> String {
    let mut words = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let more = s.to_string();
        if !words.contains(&more) {
            words.push_str(": ");
            words.push_str(&more);
        }
        source = s.source();
    }
    words
}
