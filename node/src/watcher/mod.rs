//! The watchtower (DESIGN §4, Watch): every channel is watched on chain from the moment it is
//! funded (from `Funding` on, in fact, so that a peer recovering its deposit is seen too), and
//! again after every restart.
//!
//! - [`events`] routes the chain backend's events: a registration for an active channel moves
//!   it to `Disputed` (no more updates); for a disputed one it wakes its driver.
//! - [`driver`] runs one task per disputed channel: it reads the on-chain record and the chain's
//!   time, asks [`decide`](decide::decide) what to do, and does it: register our newest state
//!   (to start a dispute or refute an older one), wait for the timeout, conclude, withdraw.
//! - [`decide`] is that decision, pure and unit-tested: no I/O, no clock.
//! - [`conclude_final`] decides which side sends `concludeFinal` with a final state, and when
//!   (pure too): in a cooperative close and in a dispute alike, only one side pays for it.
//!
//! The chain side of funding and of the cooperative close is `client::lifecycle`; it hands a
//! channel to the driver when it enters `Disputed` (a registration seen, `channel settle
//! --force`, a cooperative settle the peer does not answer, or a funding that timed out).

pub mod conclude_final;
pub mod decide;
pub mod driver;
pub mod events;
