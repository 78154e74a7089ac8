//! Chain time: the timestamp of the latest simulated block.
//!
//! `chain time = genesis + floor(elapsed wall time / block_time) * block_time + advanced`,
//! where `advanced` is the total of every `advance_time` on the ledger. With `block_time = 0`
//! the first term is dropped and time moves only when advanced: deterministic for tests.

use super::Genesis;
use parley_plugin_api::model::ChainTime;
use std::time::{SystemTime, UNIX_EPOCH};

/// Wall-clock Unix time in whole seconds.
pub fn wall_clock() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or(0)
}

/// Chain time at wall-clock time `wall` on a ledger created at `genesis` and advanced by
/// `advanced` seconds. A wall clock set back before genesis counts as no time elapsed.
pub fn chain_time(genesis: &Genesis, advanced: u64, wall: u64) -> ChainTime {
    let blocks = match genesis.block_time {
        0 => 0,
        block_time => wall.saturating_sub(genesis.time) / block_time * block_time,
    };
    genesis.time.saturating_add(blocks).saturating_add(advanced)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn genesis(block_time: u64) -> Genesis {
        Genesis {
            chain_id: 1,
            block_time,
            time: 1_000,
        }
    }

    #[test]
    fn time_moves_in_whole_blocks() {
        assert_eq!(chain_time(&genesis(1), 0, 1_007), 1_007);
        assert_eq!(chain_time(&genesis(5), 0, 1_007), 1_005);
        assert_eq!(chain_time(&genesis(5), 60, 1_010), 1_070);
    }

    #[test]
    fn block_time_zero_moves_only_when_advanced() {
        assert_eq!(chain_time(&genesis(0), 0, 9_999), 1_000);
        assert_eq!(chain_time(&genesis(0), 42, 9_999), 1_042);
    }

    #[test]
    fn a_clock_set_back_does_not_go_before_genesis() {
        assert_eq!(chain_time(&genesis(1), 0, 10), 1_000);
    }
}
