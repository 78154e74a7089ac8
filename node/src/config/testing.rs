//! `[testing]`: switches that make a node misbehave, so that multi-node tests can play the
//! cheating or unreliable peer. `parley init` never writes this section, and every switch needs
//! `allow_misbehaviour = true` beside it, so a real node cannot cheat by one mistyped key.

use super::{list, ConfigError, ErrFn};

/// `[testing]` of `node.toml`. The default (no section) allows nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TestingSection {
    /// The master switch: without it no other key may be set, and the API's `misbehave_*`
    /// methods are refused.
    pub allow_misbehaviour: bool,
    /// Accept channels but never deposit into them (a peer whose funding never comes).
    pub withhold_deposits: bool,
    /// Never send `concludeFinal`, but withdraw once the peer did (a peer that vanishes right
    /// after signing the final state).
    pub withhold_conclude_final: bool,
}

const TESTING_KEYS: &[&str] = &[
    "allow_misbehaviour",
    "withhold_deposits",
    "withhold_conclude_final",
];

/// Parses `[testing]` (absent: nothing allowed).
pub(super) fn testing_section(
    table: &toml::Table,
    err: &ErrFn<'_>,
) -> Result<TestingSection, ConfigError> {
    let mut section = TestingSection::default();
    for (key, value) in table {
        let slot = match key.as_str() {
            "allow_misbehaviour" => &mut section.allow_misbehaviour,
            "withhold_deposits" => &mut section.withhold_deposits,
            "withhold_conclude_final" => &mut section.withhold_conclude_final,
            _ => {
                return Err(err(
                    &format!("testing.{key}"),
                    format!("unknown key; expected one of {}", list(TESTING_KEYS)),
                ))
            }
        };
        *slot = value.as_bool().ok_or_else(|| {
            err(
                &format!("testing.{key}"),
                format!("expected true or false, found {}", value.type_str()),
            )
        })?;
    }
    for (key, set) in [
        ("withhold_deposits", section.withhold_deposits),
        ("withhold_conclude_final", section.withhold_conclude_final),
    ] {
        if set && !section.allow_misbehaviour {
            return Err(err(
                &format!("testing.{key}"),
                "makes the node misbehave, which needs `allow_misbehaviour = true` in [testing] \
                 too (for test nodes only: never on a node with real funds)"
                    .to_string(),
            ));
        }
    }
    Ok(section)
}
