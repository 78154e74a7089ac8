//! `[testing]` of `node.toml`: the switches that make a node misbehave, so that multi-node
//! tests can play the cheating or unreliable peer. `parley init` never writes this section, and
//! every switch needs `allow_misbehaviour = true` beside it, so a real node cannot cheat by one
//! mistyped key. [`crate::config`] parses the file and hands this section to [`parse`].

use crate::config::{list, ConfigError, ErrFn};

/// `[testing]` of `node.toml`. The default (no section) allows nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TestingSection {
    /// The master switch: without it no other key may be set, and the API's `misbehave_*`
    /// methods are refused.
    pub allow_misbehaviour: bool,
    /// Accept channels but never deposit into them (a peer whose funding never comes).
    pub withhold_deposits: bool,
    /// The channel proposals this node sends name an app (with app data).
    pub propose_app: bool,
    /// The channel proposals this node sends lock the proposer's deposit in a sub-channel.
    pub propose_locked: bool,
    /// The channel proposals this node sends are for a virtual channel.
    pub propose_virtual: bool,
    /// The updates this node proposes change the app data (signed, so only the rule refuses
    /// them).
    pub update_app_data: bool,
    /// The updates this node proposes lock its balance in a sub-channel (signed, totals kept).
    pub update_locked: bool,
    /// This node answers the peer's re-synchronisation request with a forked state: its newest
    /// version with every coin moved to itself, signed by itself, next to the peer's signature
    /// on the real state (which does not verify on the fork).
    pub fork_on_sync: bool,
    /// Never send `concludeFinal`, but withdraw once the peer did (a peer that vanishes right
    /// after signing the final state).
    pub withhold_conclude_final: bool,
    /// After winning a race of concurrent proposals, never propose the update again (the
    /// loser waits for it: a peer that stalls the channel without proving any fault).
    pub silent_race_winner: bool,
}

/// Every key, the master switch first; each other one makes the node misbehave.
const TESTING_KEYS: &[&str] = &[
    "allow_misbehaviour",
    "withhold_deposits",
    "propose_app",
    "propose_locked",
    "propose_virtual",
    "update_app_data",
    "update_locked",
    "fork_on_sync",
    "withhold_conclude_final",
    "silent_race_winner",
];

impl TestingSection {
    /// The slot of `key`, if it is one of [`TESTING_KEYS`].
    fn slot(&mut self, key: &str) -> Option<&mut bool> {
        Some(match key {
            "allow_misbehaviour" => &mut self.allow_misbehaviour,
            "withhold_deposits" => &mut self.withhold_deposits,
            "propose_app" => &mut self.propose_app,
            "propose_locked" => &mut self.propose_locked,
            "propose_virtual" => &mut self.propose_virtual,
            "update_app_data" => &mut self.update_app_data,
            "update_locked" => &mut self.update_locked,
            "fork_on_sync" => &mut self.fork_on_sync,
            "withhold_conclude_final" => &mut self.withhold_conclude_final,
            "silent_race_winner" => &mut self.silent_race_winner,
            _ => return None,
        })
    }

    /// The misbehaviour switches that are on, in [`TESTING_KEYS`] order (for the warning at
    /// start and for the error when the master switch is off).
    pub fn misbehaviours(&self) -> Vec<&'static str> {
        let mut copy = self.clone();
        TESTING_KEYS[1..]
            .iter()
            .copied()
            .filter(|key| copy.slot(key).is_some_and(|on| *on))
            .collect()
    }
}

/// Parses `[testing]` (absent: nothing allowed).
pub(crate) fn parse(table: &toml::Table, err: &ErrFn<'_>) -> Result<TestingSection, ConfigError> {
    let mut section = TestingSection::default();
    for (key, value) in table {
        let Some(slot) = section.slot(key) else {
            return Err(err(
                &format!("testing.{key}"),
                format!("unknown key; expected one of {}", list(TESTING_KEYS)),
            ));
        };
        *slot = value.as_bool().ok_or_else(|| {
            err(
                &format!("testing.{key}"),
                format!("expected true or false, found {}", value.type_str()),
            )
        })?;
    }
    if let Some(key) = section
        .misbehaviours()
        .first()
        .filter(|_| !section.allow_misbehaviour)
    {
        return Err(err(
            &format!("testing.{key}"),
            "makes the node misbehave, which needs `allow_misbehaviour = true` in [testing] \
             too (for test nodes only: never on a node with real funds)"
                .to_string(),
        ));
    }
    Ok(section)
}
