//! The strict engine's verdict on a whole repository, beside tough's (`verify --engine both`):
//! from the anchor through every root, then timestamp, snapshot, targets and every delegated
//! role, at the reference time, keeping nothing.

use super::client::{Client, ClientError, Limits};
use crate::report::{EngineOutcome, EngineVerdict};
use crate::source::transport::{Fetcher, NetOptions};
use chrono::{DateTime, Utc};
use url::Url;

/// The engine's name in reports.
pub const NAME: &str = "strict";

/// Most delegated roles loaded when verifying a whole repository.
const MAX_ROLES: usize = 10_000;

/// Verify the repository at `metadata_url` from `root` as of `at`, fetching through `shared`
/// (which serves another engine running at the same time the same bytes).
pub async fn verify(
    root: &[u8],
    metadata_url: Url,
    at: DateTime<Utc>,
    limits: &tough::Limits,
    net: NetOptions,
    shared: Fetcher,
) -> EngineOutcome {
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
        client.load_all_delegations().await
    }
    .await;
    let (verdict, reason) = match result {
        Ok(()) => (EngineVerdict::Accepted, None),
        // The network or the file system: no verdict on the repository.
        Err(e @ (ClientError::Fetch(..) | ClientError::Io(..))) => {
            (EngineVerdict::Unfinished, Some(e.to_string()))
        }
        Err(e) => (EngineVerdict::Rejected, Some(e.to_string())),
    };
    EngineOutcome {
        engine: NAME.to_owned(),
        verdict,
        reason,
    }
}
