//! Where a repository is and what anchors trust in it: locations, Bottlerocket's layout, pinned
//! roots, the transport that fetches (and records) bytes, and the state kept between runs.

pub mod bottlerocket;
pub mod location;
pub mod pins;
pub mod state;
pub mod transport;
