//! Where a repository is and what anchors trust in it: locations, Bottlerocket's layout, pinned
//! roots, the transport that fetches (and records) bytes, and the state kept between runs.

pub mod bottlerocket;
pub mod location;
pub mod pins;
pub mod state;
pub mod transport;

/// A per-user directory: `$<var>/tufwatch/<leaf>` (an XDG base directory), or
/// `$HOME/<home_rel>/tufwatch/<leaf>` when the variable is unset or empty.
pub fn user_dir(var: &str, home_rel: &str, leaf: &str) -> Option<std::path::PathBuf> {
    use std::path::PathBuf;
    let base = std::env::var_os(var)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| PathBuf::from(h).join(home_rel))
        })?;
    Some(base.join("tufwatch").join(leaf))
}
