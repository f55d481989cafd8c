//! A trust anchor fetched from where its publisher serves it, and kept only when it is
//! genuine: its SHA-512 is a value the user or the publisher's documentation gave, or it is
//! byte for byte a root of the chain walked from the anchor tufwatch holds (`root fetch`).

use super::strict::client::{root_chain, ClientError};
use super::strict::trusted::Trusted;
use crate::error::Setting;
use crate::error::{Error, Result};
use crate::source::pins::{PinSet, TrustedRoot};
use crate::source::transport::{describe_transport, Fetcher, NetOptions};
use std::path::Path;
use url::Url;

/// Largest root file fetched.
pub const MAX_ROOT: u64 = 1 << 20;

/// Most root rotations walked from the anchor (Bottlerocket re-signs once a year).
const MAX_ROTATIONS: u64 = 1024;

/// What makes a fetched root genuine.
pub enum Acceptance {
    /// One of these SHA-512 values, given by the user: nothing else.
    Sha512(Vec<String>),
    /// A value of the pin set, or a root of the chain walked from the anchor.
    PinsOrChain(Box<Chain>),
}

/// The documented values, and the chain a root may be found in instead.
pub struct Chain {
    /// The documented values.
    pub set: PinSet,
    /// The root the chain is walked from.
    pub anchor: TrustedRoot,
    /// The metadata of the repository the chain is walked in.
    pub chain_url: Url,
}

/// Download the root at `url` and keep it when it is genuine; the result's `pinned_by` says
/// why it is. All of it within `deadline`.
pub async fn fetch_root(
    url: &Url,
    acceptance: &Acceptance,
    net: NetOptions,
    deadline: std::time::Duration,
) -> Result<TrustedRoot> {
    let fetcher = Fetcher::new(net)?;
    let past_deadline = || Error::Fetch {
        url: url.to_string(),
        message: format!(
            "did not finish within the deadline of {}",
            crate::engine::expiry::human_duration(
                chrono::Duration::from_std(deadline).unwrap_or(chrono::Duration::MAX)
            )
        ),
    };
    let started = tokio::time::Instant::now();
    let bytes = tokio::time::timeout(deadline, fetcher.fetch_all(url, MAX_ROOT))
        .await
        .map_err(|_| past_deadline())?
        .map_err(|e| Error::Fetch {
            url: url.to_string(),
            message: describe_transport(&e),
        })?;
    let mut root = TrustedRoot::parse(url.as_str(), bytes)?;
    check_self_signed(&root)?;
    root.pinned_by = match acceptance {
        Acceptance::Sha512(values) if values.contains(&root.sha512) => {
            "sha512 given by the user".to_owned()
        }
        Acceptance::Sha512(_) => {
            return Err(Error::UntrustedRoot(format!(
                "untrusted_root: {url} has sha512 {}, which matches none of the values given; nothing was written",
                root.sha512
            )))
        }
        Acceptance::PinsOrChain(chain) => {
            let left = deadline.saturating_sub(started.elapsed());
            let Chain {
                set,
                anchor,
                chain_url,
            } = chain.as_ref();
            tokio::time::timeout(left, accept(&root, set, anchor, &fetcher, chain_url))
                .await
                .map_err(|_| past_deadline())??
        }
    };
    Ok(root)
}

/// Why a downloaded root is genuine: its SHA-512 is a documented value, or it is byte for byte
/// a root of the chain walked from `anchor` in `chain_url`. Anything else is `untrusted_root`.
async fn accept(
    root: &TrustedRoot,
    set: &PinSet,
    anchor: &TrustedRoot,
    fetcher: &Fetcher,
    chain_url: &Url,
) -> Result<String> {
    if let Some(pin) = set.find(&root.sha512) {
        return Ok(format!(
            "its sha512 is the value Bottlerocket documented on {} for root v{} (trusted-roots/bottlerocket.toml)",
            pin.documented, pin.version
        ));
    }
    let chain = root_chain(&anchor.bytes, chain_url, fetcher, MAX_ROOT, MAX_ROTATIONS)
        .await
        .map_err(|e| match e {
            ClientError::Refused(file, why) => Error::UntrustedRoot(format!(
                "untrusted_root: the root chain in {chain_url} is broken at {file}: {why}; nothing was written"
            )),
            other => Error::Fetch {
                url: chain_url.to_string(),
                message: format!("could not walk the root chain: {other}"),
            },
        })?;
    let newest = anchor.version.saturating_add(chain.len() as u64 - 1);
    match chain.iter().position(|r| *r == root.bytes) {
        Some(i) => Ok(format!(
            "byte for byte root v{} of the chain walked from root v{} ({}) in {chain_url} (the chain ends at v{newest})",
            anchor.version.saturating_add(i as u64),
            anchor.version,
            anchor.pinned_by
        )),
        None => Err(Error::UnpinnedRoot(format!(
            "untrusted_root: {} (version {}, sha512 {}) matches none of the {} documented values in trusted-roots/bottlerocket.toml \
             and is not one of the roots v{}..v{newest} of the chain walked from {} in {chain_url}; \
             nothing was written. Check the sha512 against Bottlerocket's documentation before pinning it",
            root.source,
            root.version,
            root.sha512,
            set.pins.len(),
            anchor.version,
            anchor.pinned_by
        ))),
    }
}

/// Where a root file is: an `https://`, `http://` or `file://` URL, or a local file.
pub fn root_url(text: &str) -> Result<Url> {
    let bad = |message: String| Error::Setting {
        setting: Setting::RootUrl,
        message,
    };
    if text.contains("://") {
        let url = Url::parse(text).map_err(|e| bad(format!("{text:?} is not a URL: {e}")))?;
        match url.scheme() {
            "https" | "http" | "file" => Ok(url),
            other => Err(bad(format!(
                "{text:?} uses {other:?}; use https://, http:// or file://"
            ))),
        }
    } else {
        let path = std::fs::canonicalize(text).map_err(|e| {
            bad(format!(
                "{text:?} is not a URL and not a readable file: {e}"
            ))
        })?;
        Url::from_file_path(&path)
            .map_err(|()| bad(format!("{} is not a file path", path.display())))
    }
}

/// A root must be signed by a threshold of its own root keys (TUF 5.2 loads it as trusted, and
/// tough refuses one that is not).
fn check_self_signed(root: &TrustedRoot) -> Result<()> {
    Trusted::new(&root.bytes, chrono::Utc::now())
        .map(drop)
        .map_err(|why| {
            Error::UntrustedRoot(format!(
                "untrusted_root: {} is not a root signed by a threshold of its own root keys: {why}; nothing was written",
                root.source
            ))
        })
}

/// Write a kept root atomically, with a `.sha512` file in `sha512sum` format when the user
/// pinned it (so a later run accepts it again, and a person can check it with `sha512sum -c`).
pub fn save_root(out: &Path, root: &TrustedRoot, user_pinned: bool) -> Result<()> {
    let dir = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|source| Error::Write {
        what: "root",
        path: dir.to_owned(),
        source,
    })?;
    let file_name = out
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_else(|| "root.json".to_owned());
    crate::atomic::sweep(dir);
    let error = |path: &Path| {
        let path = path.to_owned();
        move |source| Error::Write {
            what: "root",
            path,
            source,
        }
    };
    // Both files written and synced before either is renamed into place: a disk that fills
    // leaves the old pair, never a new sha512 beside an old root.
    let sums = match user_pinned {
        true => {
            let path = dir.join(format!("{file_name}.sha512"));
            let line = format!("{}  {file_name}\n", root.sha512);
            Some((
                crate::atomic::stage(&path, line.as_bytes(), None).map_err(error(&path))?,
                path,
            ))
        }
        false => None,
    };
    let staged = crate::atomic::stage(out, &root.bytes, None).map_err(error(out))?;
    if let Some((sums, path)) = sums {
        sums.commit().map_err(error(&path))?;
    }
    staged.commit().map_err(error(out))
}
