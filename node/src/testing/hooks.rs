//! Where a `[testing]` switch changes what the node does: one call from each such place, which
//! decides and logs, so that the node's own code reads the same with the switches on or off.

use super::TestingSection;
use parley_plugin_api::model::ChannelId;
use thiserror::Error;

/// `misbehave_register` on a node whose `[testing]` does not allow misbehaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error(
    "misbehaviour is disabled on this node; a test node enables it with \
     `allow_misbehaviour = true` in a [testing] section of node.toml (never on a node with real \
     funds)"
)]
pub struct MisbehaviourDisabled;

impl TestingSection {
    /// At start: warns, naming the switches that are on, if this node can be made to cheat.
    pub fn announce(&self) {
        if self.allow_misbehaviour {
            tracing::warn!(
                misbehaviours = ?self.misbehaviours(),
                "[testing] allow_misbehaviour is on: this node can be made to cheat; never use it with real funds"
            );
        }
    }

    /// Whether channel tasks keep every fully signed state in memory, so that
    /// `misbehave_register` can register an old one. Off on real nodes: they only need the
    /// newest.
    pub fn keeps_signed_history(&self) -> bool {
        self.allow_misbehaviour
    }

    /// Whether this node keeps its share out of `channel`'s funding (`withhold_deposits`);
    /// logged when it does.
    pub fn withholds_deposit(&self, channel: ChannelId) -> bool {
        if self.withhold_deposits {
            tracing::warn!(channel = %channel, "[testing] withhold_deposits: not depositing our share");
        }
        self.withhold_deposits
    }

    /// Whether this node, about to send `concludeFinal` for `channel`, keeps it back
    /// (`withhold_conclude_final`); logged when it does.
    pub fn withholds_conclude_final(&self, channel: ChannelId) -> bool {
        if self.withhold_conclude_final {
            withheld_conclude_final(channel);
        }
        self.withhold_conclude_final
    }

    /// Whether `misbehave_register` may run: only with `allow_misbehaviour`.
    pub fn allow_cheating(&self) -> Result<(), MisbehaviourDisabled> {
        if self.allow_misbehaviour {
            Ok(())
        } else {
            Err(MisbehaviourDisabled)
        }
    }
}

/// Logs that this node did not send `concludeFinal` for `channel` (`withhold_conclude_final`),
/// for a caller that decided so earlier from [`TestingSection::withhold_conclude_final`].
pub fn withheld_conclude_final(channel: ChannelId) {
    tracing::warn!(channel = %channel, "[testing] withhold_conclude_final: not concluding the channel on chain");
}

/// Logs that this node registered the old `version` of `channel` on chain to cheat, and
/// returns the note the channel shows for it.
pub fn registered_old_state(channel: ChannelId, version: u64) -> String {
    tracing::warn!(channel = %channel, version, "[testing] MISBEHAVING: registered an old state on chain");
    format!("[testing] this node registered the old version {version} to cheat")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_hook_is_off_without_the_section() {
        let honest = TestingSection::default();
        let channel = ChannelId([1; 32]);
        assert!(!honest.keeps_signed_history());
        assert!(!honest.withholds_deposit(channel));
        assert!(!honest.withholds_conclude_final(channel));
        assert_eq!(honest.allow_cheating(), Err(MisbehaviourDisabled));
        assert_eq!(
            super::super::ChannelMisbehaviour::from_testing(&honest),
            super::super::ChannelMisbehaviour::default()
        );
    }

    #[test]
    fn each_hook_follows_its_switch() {
        let channel = ChannelId([1; 32]);
        let testing = TestingSection {
            allow_misbehaviour: true,
            withhold_deposits: true,
            withhold_conclude_final: true,
            ..TestingSection::default()
        };
        assert!(testing.keeps_signed_history());
        assert!(testing.withholds_deposit(channel));
        assert!(testing.withholds_conclude_final(channel));
        assert_eq!(testing.allow_cheating(), Ok(()));
        assert_eq!(
            registered_old_state(channel, 3),
            "[testing] this node registered the old version 3 to cheat"
        );
    }
}
