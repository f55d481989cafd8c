//! tough's errors as findings: a stable code, the role or URL concerned, tough's own words.

use crate::report::{Code, Finding};
use crate::source::state::role_of_url;
use crate::source::transport::{describe_transport, error_chain, NetError, NetErrorKind};
use tough::error::Error as ToughError;
use tough::schema::Error as SchemaError;
use tough::TransportErrorKind;

/// The finding for a file that could not be fetched from `url`; no role or target named yet.
pub fn from_transport(url: &url::Url, e: &tough::TransportError) -> Finding {
    let file = url
        .path_segments()
        .and_then(|mut s| s.next_back())
        .unwrap_or("");
    let mut f = Finding::error(
        transport_code(e),
        format!("cannot fetch {file}: {}", describe_transport(e)),
    );
    f.url = Some(url.to_string());
    f
}

/// Where the fault a tough error reports lies.
pub enum Origin {
    /// This machine: tough could not write or read its datastore (a full disk, a read-only
    /// temporary directory). It says nothing about the repository: the run could not run.
    Local(crate::error::Error),
    /// The repository (or reaching it): a finding.
    Repository(ToughError),
}

/// Where the fault of a tough error lies.
pub fn origin(err: ToughError) -> Origin {
    let what = "tough's datastore";
    let write = |path, source| Origin::Local(crate::error::Error::Write { what, path, source });
    match err {
        // tough keeps each delegated role under its escaped name: a name too long for a file
        // name is the repository's, and tough on a host fails on it the same way.
        ToughError::DatastoreCreate { ref source, .. }
        | ToughError::DatastoreOpen { ref source, .. }
            if source.kind() == std::io::ErrorKind::InvalidFilename =>
        {
            Origin::Repository(err)
        }
        ToughError::DatastoreInit { source, .. } => write(std::env::temp_dir(), source),
        ToughError::DatastoreCreate { path, source, .. }
        | ToughError::DatastoreRemove { path, source, .. } => write(path, source),
        ToughError::DatastoreOpen { path, source, .. } => {
            Origin::Local(crate::error::Error::Read { what, path, source })
        }
        other => Origin::Repository(other),
    }
}

/// The finding for a failed tough load or target read, a fault of the repository (see
/// [`origin`]).
pub fn from_tough(err: &ToughError) -> Finding {
    if let ToughError::Transport { url, source, .. } = err {
        let mut f = from_transport(url, source);
        f.role = role_of_url(url);
        return f;
    }
    let message = format!("tough rejected the repository: {}", error_chain(err));
    let (code, role, url): (Code, Option<String>, Option<String>) = match err {
        ToughError::VerifyMetadata { role, source, .. } => {
            (schema_code(source), Some(role.to_string()), None)
        }
        ToughError::VerifyRoleMetadata { role, source, .. } => {
            (schema_code(source), Some(role.clone()), None)
        }
        ToughError::VerifyTrustedMetadata { source, .. } => {
            let code = match source {
                SchemaError::SignatureThreshold { .. } | SchemaError::DuplicateKeyId { .. } => {
                    Code::UntrustedRoot
                }
                _ => Code::Malformed,
            };
            (code, Some("root".into()), None)
        }
        ToughError::ParseTrustedMetadata { .. } => (Code::UntrustedRoot, Some("root".into()), None),
        ToughError::ParseMetadata { role, .. } => (Code::Malformed, Some(role.to_string()), None),
        ToughError::OlderMetadata { role, .. } => (Code::Rollback, Some(role.to_string()), None),
        ToughError::OlderSnapshotInTimestamp { .. } => {
            (Code::Rollback, Some("timestamp".into()), None)
        }
        ToughError::SnapshotRoleMissing { .. } | ToughError::SnapshotRoleRollback { .. } => {
            (Code::Rollback, Some("snapshot".into()), None)
        }
        ToughError::VersionMismatch { role, .. } => {
            (Code::VersionMismatch, Some(role.to_string()), None)
        }
        ToughError::ExpiredMetadata { role, .. } => (Code::Expired, Some(role.to_string()), None),
        ToughError::MaxSizeExceeded { .. } => (Code::LengthExceeded, None, None),
        ToughError::HashMismatch { .. } => (Code::HashMismatch, None, None),
        ToughError::TimestampMetaLength { .. } | ToughError::MissingSnapshotMeta { .. } => {
            (Code::Malformed, Some("timestamp".into()), None)
        }
        ToughError::SnapshotTargetsMetaMissing { .. } => {
            (Code::Malformed, Some("snapshot".into()), None)
        }
        ToughError::MetaMissing { role, .. } => (Code::Malformed, Some(role.to_string()), None),
        ToughError::UnsafeTargetNameDotDot { .. }
        | ToughError::UnsafeTargetNameEmpty { .. }
        | ToughError::UnsafeTargetNameSlash { .. }
        | ToughError::InvalidTargetName { .. }
        | ToughError::TargetNameResolve { .. } => (Code::UnsafeTargetName, None, None),
        _ => (Code::Rejected, None, None),
    };
    let mut f = Finding::error(code, message);
    f.role = role;
    f.url = url;
    f
}

fn schema_code(e: &SchemaError) -> Code {
    match e {
        SchemaError::DuplicateKeyId { .. } => Code::DuplicateSignature,
        SchemaError::SignatureThreshold { .. } | SchemaError::MissingRole { .. } => {
            Code::SignatureThreshold
        }
        _ => Code::Malformed,
    }
}

/// Classify a transport failure by what is inside it.
pub fn transport_code(e: &tough::TransportError) -> Code {
    if e.kind() == TransportErrorKind::FileNotFound {
        return Code::NotFound;
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(net) = s.downcast_ref::<NetError>() {
            return match net.kind {
                // A local file of a `file://` repository that cannot be read (permissions, a
                // name too long for the file system) was not reached; "not found" is only
                // what the transport says is absent.
                NetErrorKind::Unreachable | NetErrorKind::Status(_) | NetErrorKind::Io => {
                    Code::Unreachable
                }
                NetErrorKind::Slow => Code::SlowRetrieval,
                NetErrorKind::TooLong => Code::LengthExceeded,
            };
        }
        if let Some(t) = s.downcast_ref::<ToughError>() {
            match t {
                ToughError::MaxSizeExceeded { .. } => return Code::LengthExceeded,
                ToughError::HashMismatch { .. } => return Code::HashMismatch,
                _ => {}
            }
        }
        source = s.source();
    }
    if e.kind() == TransportErrorKind::UnsupportedUrlScheme {
        Code::Unreachable
    } else {
        Code::Rejected
    }
}
