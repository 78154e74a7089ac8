//! [`HashLockApp`]: the rules of [`crate::rules`] behind the [`App`] interface, with the JSON
//! people move with.

use crate::json::{parse_bytes32, single_member, to_hex, Value};
use crate::layout::{keccak256, malformed, refuse, Bytes32, HashLock, Status};
use crate::rules;
use parley_plugin_api::model::{Amount, Params, State};
use parley_plugin_api::{App, AppSamples, Host, PluginError, PluginResult, SampleMove};

/// The form of the setup, for errors.
const SETUP_FORM: &str = r#"the setup is {"lock": "0x<64 hex digits>"}: the payee's hash lock, keccak256 of its 32-byte preimage"#;

/// The form of an action, for errors.
const ACTION_FORM: &str = r#"an action is {"claim": "0x<64 hex digits>"} (the payee reveals the 32-byte preimage of the lock) or {"release": true} (the payee gives the payment up)"#;

/// The hash-locked conditional payment app. It keeps no state: every answer is a function of
/// the call's arguments.
#[derive(Clone, Copy, Debug, Default)]
pub struct HashLockApp;

impl HashLockApp {
    /// The constructor `export_plugin!` calls. The app takes no settings: a table with any key
    /// is refused (`InvalidConfig`), so that a misspelt setting of another plugin is not
    /// silently ignored here.
    pub fn new(table: &str, _host: Host) -> PluginResult<HashLockApp> {
        let has_keys = table.lines().any(|line| {
            let line = line.trim();
            !line.is_empty() && !line.starts_with('#')
        });
        if has_keys {
            return Err(PluginError::config(
                "the hashlock app takes no settings; remove the keys from its table",
            ));
        }
        Ok(HashLockApp)
    }
}

/// What the payee does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Action {
    /// Reveal the preimage and take the payment.
    Claim(Bytes32),
    /// Give the payment up.
    Release,
}

fn parse_action(text: &str) -> PluginResult<Action> {
    match single_member(text) {
        Some(("claim", Value::Str(hex))) => {
            parse_bytes32(hex).map(Action::Claim).ok_or_else(|| {
                malformed(&format!(
                    "a claim's preimage is 32 bytes as 64 hex digits; {ACTION_FORM}"
                ))
            })
        }
        Some(("release", Value::Bool(true))) => Ok(Action::Release),
        _ => Err(malformed(ACTION_FORM)),
    }
}

fn parse_setup(text: &str) -> PluginResult<Bytes32> {
    match single_member(text) {
        Some(("lock", Value::Str(hex))) => parse_bytes32(hex),
        _ => None,
    }
    .ok_or_else(|| malformed(SETUP_FORM))
}

impl App for HashLockApp {
    /// An open payment locked with the setup's lock (33 bytes, status open).
    fn init(&self, _params: &Params, setup: &str) -> PluginResult<Vec<u8>> {
        Ok(HashLock::open(parse_setup(setup)?).encode())
    }

    /// See [`rules::valid_init`]: two participants, an open payment, not final, nothing
    /// locked; the balances are free.
    fn valid_init(&self, params: &Params, state: &State) -> PluginResult<()> {
        rules::valid_init(params, state)
    }

    /// `HashLockApp.validTransition`, see [`rules::valid_transition`].
    fn valid_transition(
        &self,
        params: &Params,
        from: &State,
        to: &State,
        actor: u16,
    ) -> PluginResult<()> {
        rules::valid_transition(params, from, to, actor)
    }

    /// `{"lock": "0x…", "status": "open"|"claimed"|"released", "preimage": null|"0x…"}`.
    fn describe(&self, _params: &Params, state: &State) -> PluginResult<String> {
        let data = HashLock::decode(&state.app_data.0)?;
        let preimage = match &data.preimage {
            Some(preimage) => format!("\"{}\"", to_hex(preimage)),
            None => "null".into(),
        };
        Ok(format!(
            r#"{{"lock":"{}","status":"{}","preimage":{preimage}}}"#,
            to_hex(&data.lock),
            data.status.name()
        ))
    }

    /// The payee's claim or release of an open payment; the result is checked with
    /// [`rules::valid_transition`] before it is returned, so a wrong preimage is refused with
    /// the contract's reason.
    fn apply(
        &self,
        params: &Params,
        state: &State,
        action: &str,
        actor: u16,
    ) -> PluginResult<State> {
        let action = parse_action(action)?;
        let lock = rules::open_lock(params, state, actor)?;
        let mut next = state.clone();
        next.version = state
            .version
            .checked_add(1)
            .ok_or_else(|| refuse("the channel's version cannot grow any more"))?;
        next.is_final = true;
        let data = match action {
            Action::Claim(preimage) => {
                next.allocation.balances = rules::claimed_balances(&state.allocation.balances)?;
                HashLock {
                    lock,
                    status: Status::Claimed,
                    preimage: Some(preimage),
                }
            }
            Action::Release => HashLock {
                lock,
                status: Status::Released,
                preimage: None,
            },
        };
        next.app_data.0 = data.encode();
        rules::valid_transition(params, state, &next, actor)?;
        Ok(next)
    }

    /// The payer stakes 7 against the payee's 3; the payee claims with the preimage. Refused:
    /// the payer claiming or releasing, a wrong preimage, JSON that does not parse.
    fn samples(&self) -> PluginResult<AppSamples> {
        let preimage = sample_preimage();
        let claim = |preimage: &Bytes32| format!(r#"{{"claim": "{}"}}"#, to_hex(preimage));
        let refused = [
            (0, claim(&preimage)),
            (0, r#"{"release": true}"#.to_string()),
            (1, claim(&keccak256(b"a guess"))),
            (1, r#"{"claim": "#.to_string()),
        ];
        Ok(AppSamples {
            setup: format!(r#"{{"lock": "{}"}}"#, to_hex(&keccak256(&preimage))),
            balances: vec![Amount::from(7u64), Amount::from(3u64)],
            moves: vec![SampleMove {
                actor: 1,
                action: claim(&preimage),
            }],
            refused: refused
                .into_iter()
                .map(|(actor, action)| SampleMove { actor, action })
                .collect(),
        })
    }
}

/// The sample game's preimage, the one `contracts/test/HashLock.t.sol` uses:
/// keccak256("parley hash-lock test preimage").
pub fn sample_preimage() -> Bytes32 {
    keccak256(b"parley hash-lock test preimage")
}
