//! The strict engine: a TUF client that follows the specification's detailed client workflow
//! (version 1.0.x, section 5) to the letter, independent of tough. tough is what Bottlerocket
//! hosts run; this engine is what the specification says, so that where the two disagree
//! tufwatch can say so.
//!
//! - `metadata`: the roles of section 4, parsed strictly.
//! - `keys`: ed25519, ecdsa-sha2-nistp256 and rsassa-pss-sha256 keys and signatures.
//! - `trusted`: the checks of 5.3 to 5.6, without I/O.
//! - `client`: the update cycle with its I/O, and target search and download (5.7).

pub mod client;
pub mod keys;
pub mod metadata;
pub mod trusted;
pub mod verify;
