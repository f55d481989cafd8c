//! The Kubernetes API through kube-rs: a client made from a kubeconfig's context or the pod's
//! service account, with the run's timeouts and kube's own retries off (the run's deadline
//! bounds every call); lists read page by page (`limit`, `continue`), each page's body read to a
//! byte limit; the API's errors, typed.

use crate::error::{Error, Result};
// kube's outermost words alone say little (`ServiceError: client error (Connect)`): each error
// is said with its sources.
use crate::source::transport::error_chain as chain;
use futures::StreamExt;
use http_body_util::BodyExt;
use kube::config::{ExecInteractiveMode, KubeConfigOptions, Kubeconfig, KubeconfigError};
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

/// Largest error answer or `/version` read: a `Status` is a few hundred bytes.
const MAX_SMALL: u64 = 64 << 10;

/// Longest message of an error answer kept for the report, in characters.
const MAX_MESSAGE: usize = 1000;

/// Most pages a list may take: a server that keeps giving continue tokens is not listing.
const MAX_PAGES: u32 = 100_000;

/// Most items a list may hold: two hundred times the largest cluster Kubernetes supports.
const MAX_ITEMS: usize = 1_000_000;

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
    /// The server kept giving continue tokens, gave one twice in a row, or more items than any
    /// cluster has.
    #[error("{path}: more than {MAX_PAGES} pages or {MAX_ITEMS} items, or the same continue token twice in a row: the server is not listing")]
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

/// One kubeconfig file, a regular file no larger than [`MAX_KUBECONFIG`]; relative paths in it
/// are taken from its directory, as kubectl takes them. A YAML error is said by its position
/// alone: the parser's own words quote the text around it, which may be a token or a key.
fn read_one(path: &Path) -> Result<Kubeconfig> {
    let meta = std::fs::metadata(path).map_err(|source| Error::Read {
        what: "kubeconfig",
        path: path.to_owned(),
        source,
    })?;
    if !meta.is_file() {
        return Err(invalid(path, "not a regular file".to_owned()));
    }
    if meta.len() > MAX_KUBECONFIG {
        return Err(invalid(
            path,
            format!("larger than {MAX_KUBECONFIG} bytes; not a kubeconfig"),
        ));
    }
    Kubeconfig::read_from(path).map_err(|e| match e {
        KubeconfigError::Parse(yaml) => invalid(
            path,
            match yaml.location() {
                Some(at) => format!(
                    "not a kubeconfig: its YAML does not parse at line {}, column {}",
                    at.line(),
                    at.column()
                ),
                None => "not a kubeconfig: its YAML does not parse".to_owned(),
            },
        ),
        KubeconfigError::ReadConfig(source, _) => Error::Read {
            what: "kubeconfig",
            path: path.to_owned(),
            source,
        },
        other => invalid(path, other.to_string()),
    })
}

/// A client of the cluster, with the run's timeouts and no retries of kube's own. An exec
/// credential plugin (`aws eks get-token`) runs when the client is made, as a blocking child
/// process in kube: so it is made on a blocking thread, which the run's deadline does not wait
/// for, and the plugin is never interactive (no prompt on this terminal: its standard input is
/// closed).
pub async fn client(source: &ClusterSource, t: Timeouts) -> Result<kube::Client, ReadError> {
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
                .map_err(|e| ReadError::Credentials(e.to_string()))?
        }
        ClusterSource::InCluster => kube::Config::incluster().map_err(|e| {
            ReadError::Credentials(format!("the pod's service account (is this a pod?): {e}"))
        })?,
    };
    if let Some(exec) = &mut config.auth_info.exec {
        exec.interactive_mode = Some(ExecInteractiveMode::Never);
    }
    config.connect_timeout = Some(t.attempt);
    config.read_timeout = Some(t.attempt);
    config.write_timeout = Some(t.attempt);
    // The read timeout counts from each request, not from when its pooled connection went idle
    // (a long parse of the previous page would otherwise count against the next one).
    config.reset_reader_on_write = true;
    // kube would retry 429, 503 and 504 up to fifteen times, past any deadline of the run.
    config.default_retry = false;
    tokio::task::spawn_blocking(move || kube::Client::try_from(config))
        .await
        .map_err(|e| ReadError::Credentials(format!("could not be made ready: {e}")))?
        .map_err(|e| ReadError::Credentials(described(&e)))
}

/// kube's error in words that hold no secret: an exec plugin's failure is said by its exit
/// status alone (kube's own words print its command line, its environment and its output,
/// where a token or a client secret may be).
fn described(e: &kube::Error) -> String {
    use kube::client::AuthError;
    match e {
        kube::Error::Auth(AuthError::AuthExecRun { out, .. }) => {
            format!("its exec credential plugin failed ({})", out.status)
        }
        kube::Error::Auth(AuthError::AuthExecStart(io)) => {
            format!("its exec credential plugin could not start: {io}")
        }
        kube::Error::Auth(AuthError::AuthExecParse(_) | AuthError::ExecPluginFailed) => {
            "its exec credential plugin did not answer with an ExecCredential".to_owned()
        }
        kube::Error::Auth(AuthError::AuthExec(_)) => "its credential command failed".to_owned(),
        other => chain(other),
    }
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
            let server = named.cluster.as_ref()?.server.as_deref()?;
            Some(without_credentials(server))
        }
        ClusterSource::InCluster => None,
    }
}

/// A server URL as the report may show it: a user name and password written into it removed.
fn without_credentials(server: &str) -> String {
    match url::Url::parse(server) {
        Ok(mut u) if !u.username().is_empty() || u.password().is_some() => {
            // A URL with a host takes both; one without (a `file:`) has neither to remove.
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.to_string()
        }
        Ok(_) => server.to_owned(),
        Err(_) => "(not a URL)".to_owned(),
    }
}

/// What `/version` says, as far as it is read.
#[derive(Deserialize)]
struct VersionInfo {
    major: String,
    minor: String,
}

/// The cluster's Kubernetes version, `1.36` (`/version`).
pub async fn kubernetes_version(client: &kube::Client) -> Result<String, ReadError> {
    let path = "/version";
    let request = http::Request::get(path)
        .body(Vec::new())
        .map_err(|e| ReadError::Malformed {
            path: path.to_owned(),
            why: e.to_string(),
        })?;
    let body = get(client, path, request, MAX_SMALL).await?;
    let info: VersionInfo = serde_json::from_slice(&body).map_err(|e| ReadError::Malformed {
        path: path.to_owned(),
        why: format!("not a version: {e}"),
    })?;
    let digits = |s: &str| {
        s.chars()
            .take_while(char::is_ascii_digit)
            .take(4)
            .collect::<String>()
    };
    let (major, minor) = (digits(&info.major), digits(&info.minor));
    if major.is_empty() || minor.is_empty() {
        return Err(ReadError::Malformed {
            path: path.to_owned(),
            why: "its major and minor are not a version".to_owned(),
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

/// List `path` page by page, `page_size` items a page, handing each page to `each` while the
/// next is fetched, with whether it is the first page of the list: a continue token that
/// expires starts the list over once (as client-go's pager does), and `each` then drops what
/// it kept. Returns the pages read.
pub async fn list<T: DeserializeOwned + Send + 'static>(
    client: &kube::Client,
    path: &str,
    page_size: u32,
    mut each: impl FnMut(Vec<T>, bool) -> Result<(), ReadError>,
) -> Result<u32, ReadError> {
    let mut pages = 0;
    let mut items = 0;
    let mut started_over = false;
    // Whether the next page is the first of the list (again, after a restart).
    let mut fresh = true;
    let mut token: Option<String> = None;
    let endless = || ReadError::EndlessList {
        path: path.to_owned(),
    };
    let mut fetching = Fetching::start(client, path, page_size, None);
    loop {
        let page: Page<T> = match fetching.page(path).await {
            Err(e) if e.expired() && token.is_some() && !started_over => {
                started_over = true;
                token = None;
                items = 0;
                fresh = true;
                fetching = Fetching::start(client, path, page_size, None);
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
        items += page.items.len();
        let next = page.metadata.next.filter(|t| !t.is_empty());
        if items > MAX_ITEMS || (next.is_some() && next == token) {
            return Err(endless());
        }
        token = next;
        let first = std::mem::replace(&mut fresh, false);
        let Some(next) = &token else {
            each(page.items, first)?;
            return Ok(pages);
        };
        if pages >= MAX_PAGES {
            return Err(endless());
        }
        fetching = Fetching::start(client, path, page_size, Some(next.clone()));
        each(page.items, first)?;
    }
}

/// A page being fetched and parsed on a task of its own, while the caller handles the page
/// before it (the two cores of a small machine both busy). Dropped (the run's deadline, an
/// error), it stops the fetch.
struct Fetching<T>(tokio::task::JoinHandle<Result<Page<T>, ReadError>>);

impl<T> Drop for Fetching<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl<T: DeserializeOwned + Send + 'static> Fetching<T> {
    fn start(client: &kube::Client, path: &str, page_size: u32, token: Option<String>) -> Self {
        let (client, path) = (client.clone(), path.to_owned());
        Fetching(tokio::spawn(async move {
            page(&client, &path, page_size, token.as_deref()).await
        }))
    }

    async fn page(mut self, path: &str) -> Result<Page<T>, ReadError> {
        (&mut self.0).await.map_err(|e| ReadError::Transport {
            path: path.to_owned(),
            why: format!("its reader stopped: {e}"),
        })?
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
    let bytes = get(client, path, request, MAX_PAGE).await?;
    serde_json::from_slice(&bytes).map_err(|e| ReadError::Malformed {
        path: path.to_owned(),
        why: format!("not a list: {e}"),
    })
}

/// The `Status` of an error answer, as far as it is read.
#[derive(Deserialize, Default)]
#[serde(default)]
struct Status {
    reason: String,
    message: String,
}

/// GET `request`: the body of a 2xx answer, read to `max` bytes (more is `TooLarge`); any other
/// answer is an `Api` error by its HTTP status (never by what its body claims), with the
/// reason and message of its `Status` body, read to [`MAX_SMALL`] and cut short.
async fn get(
    client: &kube::Client,
    path: &str,
    request: http::Request<Vec<u8>>,
    max: u64,
) -> Result<Vec<u8>, ReadError> {
    let transport = |e: &dyn std::error::Error| ReadError::Transport {
        path: path.to_owned(),
        why: chain(e),
    };
    let response = client
        .send(request.map(kube::client::Body::from))
        .await
        .map_err(|e| match &e {
            kube::Error::Auth(_) => ReadError::Credentials(described(&e)),
            _ => transport(&e),
        })?;
    let status = response.status();
    let limit = if status.is_success() { max } else { MAX_SMALL };
    let mut body = response.into_body().into_data_stream();
    let mut bytes = Vec::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| transport(&e))?;
        if (bytes.len() + chunk.len()) as u64 > limit {
            if status.is_success() {
                return Err(ReadError::TooLarge {
                    path: path.to_owned(),
                    max,
                });
            }
            break;
        }
        bytes.extend_from_slice(&chunk);
    }
    if status.is_success() {
        return Ok(bytes);
    }
    let said: Status = serde_json::from_slice(&bytes).unwrap_or_default();
    let message = if said.message.is_empty() {
        String::from_utf8_lossy(&bytes).trim().to_owned()
    } else {
        said.message
    };
    Err(ReadError::Api {
        path: path.to_owned(),
        code: status.as_u16(),
        reason: match said.reason.is_empty() {
            true => status.canonical_reason().unwrap_or_default().to_owned(),
            false => said.reason,
        },
        message: shortened(&message),
    })
}

/// An answer's message, cut to [`MAX_MESSAGE`] characters.
fn shortened(message: &str) -> String {
    match message.char_indices().nth(MAX_MESSAGE) {
        Some((end, _)) => format!("{}...", &message[..end]),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::without_credentials;

    #[test]
    fn a_server_is_shown_without_the_credentials_written_into_it() {
        for (server, shown) in [
            (
                "https://ABC.gr7.us-west-2.eks.amazonaws.com",
                "https://ABC.gr7.us-west-2.eks.amazonaws.com",
            ),
            (
                "https://admin:s3cr3t@10.0.0.1:6443",
                "https://10.0.0.1:6443/",
            ),
            ("https://token@api.example.com/", "https://api.example.com/"),
            ("not a url", "(not a URL)"),
        ] {
            assert_eq!(without_credentials(server), shown, "{server}");
        }
    }
}
