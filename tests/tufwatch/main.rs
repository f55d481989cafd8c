//! The integration tests, one binary: a module per feature, the helpers (`common`) compiled once.
//! Each runs the built `tufwatch` binary against real parts: repositories on loopback HTTP or
//! `file://`, SSM from moto, Chromium, python-tuf.

mod common;

mod advisories;
mod client;
mod crash;
mod deploy;
mod docs;
mod ec2;
mod engines;
mod evidence;
mod evidence_auditors;
mod faults;
mod fixtures;
mod hostile_inputs;
mod html_browser;
mod human_report;
mod interop;
mod kubernetes;
mod local_environment;
mod nightly;
mod nodes;
mod releases;
mod report;
mod root_fetch;
mod ssm;
mod verify_attacks;
mod verify_basics;
mod verify_more;
mod verify_targets;
