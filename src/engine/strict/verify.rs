//! The strict engine's verdict on a whole repository, beside tough's (`verify --engine both`):
//! from the anchor through every root, then timestamp, snapshot, targets and every delegated
//! role, at the reference time, keeping nothing.

use super::client::{Client, ClientError, Limits};
use super::trusted::Trusted;
use crate::report::{EngineOutcome, EngineVerdict};
use crate::source::transport::{Fetcher, NetOptions};
use chrono::{DateTime, Utc};
use url::Url;

/// The engine's name in reports.
pub const NAME: &str = "strict";

/// Most delegated roles loaded when verifying a whole repository, and visited when searching
/// it for a target.
pub const MAX_ROLES: usize = 10_000;

/// The strict engine's run over a whole repository.
#[derive(Debug)]
pub struct StrictRun {
    /// Its verdict.
    pub outcome: EngineOutcome,
    /// Why it did not accept, when it did not.
    pub error: Option<ClientError>,
    /// The trusted metadata, every targets role loaded, when it accepted.
    pub trusted: Option<Trusted>,
}

/// Verify the repository at `metadata_url` from `root` as of `at`, fetching through `shared`
/// (which serves another engine running at the same time the same bytes).
pub async fn verify(
    root: &[u8],
    metadata_url: Url,
    at: DateTime<Utc>,
    limits: &tough::Limits,
    net: NetOptions,
    shared: Fetcher,
) -> StrictRun {
    let limits = Limits {
        max_root_size: limits.max_root_size,
        max_timestamp_size: limits.max_timestamp_size,
        max_snapshot_size: limits.max_snapshot_size,
        max_targets_size: limits.max_targets_size,
        max_root_rotations: limits.max_root_updates,
        max_delegations: MAX_ROLES,
    };
    let result = async {
        let mut client = Client::in_memory(root, metadata_url, limits, net, at)?.sharing(shared);
        client.refresh().await?;
        client.load_all_delegations().await?;
        Ok(client.into_trusted())
    }
    .await;
    let (verdict, error, trusted) = match result {
        Ok(t) => (EngineVerdict::Accepted, None, Some(t)),
        // The network or the file system: no verdict on the repository.
        Err(e @ (ClientError::NotFound(_) | ClientError::Fetch(..) | ClientError::Io(..))) => {
            (EngineVerdict::Unfinished, Some(e), None)
        }
        Err(e) => (EngineVerdict::Rejected, Some(e), None),
    };
    StrictRun {
        outcome: EngineOutcome {
            engine: NAME.to_owned(),
            verdict,
            reason: error.as_ref().map(ToString::to_string),
        },
        error,
        trusted,
    }
}

/// A finding for why the strict engine did not accept: its code, the role and the file.
pub fn finding(e: &ClientError, metadata_url: &Url) -> crate::report::Finding {
    use super::trusted::Refusal;
    use crate::report::{Code, Finding};
    let message = format!("the strict engine rejects the metadata: {e}");
    match e {
        ClientError::Refused(file, why) => {
            let code = match why {
                Refusal::Malformed(_) => Code::Malformed,
                Refusal::Signatures(_) => Code::SignatureThreshold,
                Refusal::Version(_) => Code::VersionMismatch,
                Refusal::SameTimestamp => Code::VersionReused,
                Refusal::Expired(_) => Code::Expired,
                Refusal::LengthOrHash(_) => Code::HashMismatch,
                Refusal::Sequence(_) => Code::Rejected,
            };
            let mut f = Finding::error(code, message);
            if let Ok(url) = metadata_url.join(file) {
                f.role = crate::source::state::role_of_url(&url);
                f.url = Some(url.to_string());
            }
            f
        }
        ClientError::NotFound(url) | ClientError::Fetch(url, _) => {
            let code = match e {
                ClientError::NotFound(_) => Code::NotFound,
                _ => Code::Unreachable,
            };
            let mut f = Finding::error(code, message).url(url);
            f.role = Url::parse(url)
                .ok()
                .and_then(|u| crate::source::state::role_of_url(&u));
            f
        }
        ClientError::Io(..)
        | ClientError::NoTarget(_)
        | ClientError::Argument(_)
        | ClientError::OutsideBase(..) => Finding::error(Code::Rejected, message),
    }
}
