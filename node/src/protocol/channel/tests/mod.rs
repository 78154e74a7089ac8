//! Tests that drive channels against each other through their effects.

pub(crate) mod harness;

mod app_channels;
mod concurrent;
mod dispute;
mod faults;
mod lifecycle;
mod malicious;
mod sub_channels;
mod sync;
mod three_party;
mod versions;
