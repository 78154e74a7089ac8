//! Test-only behaviour: everything that makes a node misbehave on purpose, so that multi-node
//! tests can play the cheating, vanishing or careless peer against an honest node.
//!
//! **A real node must never have any of this on.** Every such switch is defined here and
//! nowhere else, all of them are off unless `node.toml` has a `[testing]` section with
//! `allow_misbehaviour = true` (which `parley init` never writes), and every use logs a warning
//! starting with `[testing]`:
//!
//! - [`section`]: the `[testing]` section, its switches and the master switch they all need.
//! - [`tamper`]: what a misbehaving node changes in the proposals, updates and
//!   re-synchronisation answers it sends (and signs, so only the rule it breaks refuses them).
//! - [`hooks`]: the one call each place of the node makes where a switch changes what it does:
//!   at start ([`TestingSection::announce`]), in the channel tasks
//!   ([`ChannelMisbehaviour::from_testing`], [`TestingSection::keeps_signed_history`]), when
//!   funding ([`TestingSection::withholds_deposit`]), when concluding
//!   ([`TestingSection::withholds_conclude_final`]), when proposing ([`tamper_proposal`]), and
//!   in the `misbehave_register` API method ([`TestingSection::allow_cheating`],
//!   [`registered_old_state`]).
//!
//! Not here, because they are not switches of the node under test: `parley misbehave` (the CLI
//! side of `misbehave_register`), `parley hostile` (a separate process playing a hostile peer),
//! and the test doubles of unit tests, which are compiled into tests only.

pub mod hooks;
pub mod section;
pub mod tamper;

pub use hooks::{registered_old_state, withheld_conclude_final, MisbehaviourDisabled};
pub use section::TestingSection;
pub use tamper::{tamper_proposal, ChannelMisbehaviour};
