//! AWS read live: the clients every service shares ([`client`]: credentials, retries, counts,
//! caps) and the fleet from EC2 itself ([`ec2`]: instances and the AMIs they and SSM name,
//! across regions and accounts), and evidence signed with a KMS key ([`kms`]). What they read becomes plain data; judging it is
//! [`crate::fleet`]'s.

pub mod client;
pub mod ec2;
pub mod groups;
pub mod kms;
pub mod model;
