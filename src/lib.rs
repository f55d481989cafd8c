#![forbid(unsafe_code)]
#![deny(missing_docs)]
//! tufwatch: tells a Bottlerocket operator, with cryptographic evidence, whether their update
//! repository can be trusted.
//!
//! The flow: [`source`] resolves where a repository is and what anchors trust in it;
//! [`engine`] verifies it with tough and checks further where tough is weaker than the TUF
//! specification; [`report`] holds the result as plain data with presenters and the exit code;
//! [`cli`] is the command line over all of it.

pub mod alert;
pub mod atomic;
pub mod aws;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod digest;
pub mod engine;
pub mod error;
pub mod evidence;
pub mod exit;
pub mod fleet;
pub mod job;
pub mod pem;
pub mod present;
pub mod releases;
pub mod report;
pub mod settings;
pub mod source;
pub mod ssm;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod text;
pub mod waiver;
