//! The Ethereum ABI of the Perun contracts (DESIGN §8): how Parley's model maps onto the Solidity
//! structs, the ids and digests the contracts compute, and the call data of every function the
//! plugin sends. Pure functions, no I/O.
//!
//! Mapping of the chain-agnostic model:
//! - a [`Participant`] is 20 bytes, the `ethAddress`; `ccAddress` is empty;
//! - `Params.nonce` (32 bytes) is the big-endian `uint256 nonce`; `app: None` is `address(0)`;
//! - an [`Asset`] is `Asset(chainID, ethHolder = holder, ccHolder = "")`;
//! - `Allocation.backends` has one entry [`ETHEREUM_BACKEND`] per asset (the model has one
//!   backend per chain instance);
//! - every amount is a `uint256`.

use ethers_core::abi::{self, ParamType, Token};
use ethers_core::types::{H160, U256};
use parley_plugin_api::model::{
    Address, Allocation, Amount, Asset, ChannelId, Params, Participant, SignedState, State,
    SubAlloc,
};
use parley_plugin_api::{PluginError, PluginResult};
use tiny_keccak::{Hasher, Keccak};

/// The backend id written into `Allocation.backends` for every asset (go-perun's number for
/// Ethereum).
pub const ETHEREUM_BACKEND: u64 = 1;

/// `Participant(address ethAddress, bytes ccAddress)`.
pub const PARTICIPANT: &str = "(address,bytes)";
/// `Params(uint256 challengeDuration, uint256 nonce, Participant[] participants, address app,
/// bool ledgerChannel, bool virtualChannel)`.
pub const PARAMS: &str = "(uint256,uint256,(address,bytes)[],address,bool,bool)";
/// `State(bytes32 channelID, uint64 version, Allocation outcome, bytes appData, bool isFinal)`
/// with `Allocation(Asset[] assets, uint256[] backends, uint256[][] balances, SubAlloc[]
/// locked)`, `Asset(uint256 chainID, address ethHolder, bytes ccHolder)` and `SubAlloc(bytes32
/// ID, uint256[] balances, uint16[] indexMap)`.
pub const STATE: &str = "(bytes32,uint64,((uint256,address,bytes)[],uint256[],uint256[][],(bytes32,uint256[],uint16[])[]),bytes,bool)";

/// Keccak-256 of the concatenation of `parts`.
pub fn keccak256(parts: &[&[u8]]) -> [u8; 32] {
    let mut hasher = Keccak::v256();
    for part in parts {
        hasher.update(part);
    }
    let mut out = [0u8; 32];
    hasher.finalize(&mut out);
    out
}

/// The 4-byte selector of a function (or the topic of an event, all 32 bytes) from its
/// canonical signature.
pub fn selector(signature: &str) -> [u8; 4] {
    let hash = keccak256(&[signature.as_bytes()]);
    [hash[0], hash[1], hash[2], hash[3]]
}

/// `SignedState(Params params, State state, bytes[] sigs)`.
fn signed_state_type() -> String {
    format!("({PARAMS},{STATE},bytes[])")
}

/// The canonical signatures of the functions the plugin calls.
pub mod functions {
    use super::{PARAMS, PARTICIPANT, STATE};

    /// `Adjudicator.register(SignedState channel, SignedState[] subChannels)`.
    pub fn register() -> String {
        let signed = super::signed_state_type();
        format!("register({signed},{signed}[])")
    }
    /// `Adjudicator.progress(Params, State stateOld, State state, uint256 actorIdx, bytes sig)`.
    pub fn progress() -> String {
        format!("progress({PARAMS},{STATE},{STATE},uint256,bytes)")
    }
    /// `Adjudicator.conclude(Params, State, State[] subStates)`.
    pub fn conclude() -> String {
        format!("conclude({PARAMS},{STATE},{STATE}[])")
    }
    /// `Adjudicator.concludeFinal(Params, State, bytes[] sigs)`.
    pub fn conclude_final() -> String {
        format!("concludeFinal({PARAMS},{STATE},bytes[])")
    }
    /// `Adjudicator.disputes(bytes32)`.
    pub const DISPUTES: &str = "disputes(bytes32)";
    /// `AssetHolder.setOutcome(bytes32 channelID, Participant[] parts, uint256[] newBals)`,
    /// which only the Adjudicator calls (Perun v1.0.0: Participant structs, selector
    /// 0x295482ce; before v1.0.0 `address[]`). The plugin never sends it; it checks that a
    /// configured deployment speaks it.
    pub fn set_outcome() -> String {
        format!("setOutcome(bytes32,{PARTICIPANT}[],uint256[])")
    }
    /// `AssetHolder.deposit(bytes32 fundingID, uint256 amount)`.
    pub const DEPOSIT: &str = "deposit(bytes32,uint256)";
    /// `AssetHolder.holdings(bytes32 fundingID)`.
    pub const HOLDINGS: &str = "holdings(bytes32)";
    /// `AssetHolder.withdraw(WithdrawalAuth, bytes sig)` with `WithdrawalAuth(bytes32 channelID,
    /// Participant participant, address receiver, uint256 amount)`.
    pub fn withdraw() -> String {
        format!("withdraw((bytes32,{PARTICIPANT},address,uint256),bytes)")
    }
    /// `ERC20.approve(address spender, uint256 amount)`.
    pub const APPROVE: &str = "approve(address,uint256)";
    /// `ERC20.balanceOf(address)`.
    pub const BALANCE_OF: &str = "balanceOf(address)";
    /// `ERC20.allowance(address owner, address spender)`.
    pub const ALLOWANCE: &str = "allowance(address,address)";
}

/// The canonical signatures of the events the plugin follows.
pub mod events {
    /// `ChannelUpdate(bytes32 indexed channelID, uint64 version, uint8 phase, uint64 timeout)`.
    pub const CHANNEL_UPDATE: &str = "ChannelUpdate(bytes32,uint64,uint8,uint64)";
    /// `Deposited(bytes32 indexed fundingID, uint256 amount)`.
    pub const DEPOSITED: &str = "Deposited(bytes32,uint256)";
}

/// Call data: the selector of `signature` followed by the encoded `args`.
pub fn call_data(signature: &str, args: &[Token]) -> Vec<u8> {
    let mut data = selector(signature).to_vec();
    data.extend(abi::encode(args));
    data
}

/// A 20-byte address from opaque bytes, or `InvalidArgument` naming `what`.
pub fn eth_address(bytes: &[u8], what: &str) -> PluginResult<H160> {
    if bytes.len() != 20 {
        return Err(PluginError::invalid(format!(
            "{what} 0x{} is not an Ethereum address (20 bytes, got {})",
            hex::encode(bytes),
            bytes.len()
        )));
    }
    Ok(H160::from_slice(bytes))
}

/// An amount as ethers' `U256`.
pub fn u256(amount: &Amount) -> U256 {
    U256::from_big_endian(&amount.to_be_bytes())
}

/// An ethers `U256` as an amount.
pub fn amount(value: U256) -> Amount {
    let mut bytes = [0u8; 32];
    value.to_big_endian(&mut bytes);
    Amount::from_be_bytes(bytes)
}

fn uint(value: u64) -> Token {
    Token::Uint(U256::from(value))
}

fn participant_token(participant: &Participant) -> PluginResult<Token> {
    Ok(Token::Tuple(vec![
        Token::Address(eth_address(participant.as_bytes(), "participant")?),
        Token::Bytes(Vec::new()),
    ]))
}

/// `Params` as its Solidity struct.
pub fn params_token(params: &Params) -> PluginResult<Token> {
    let participants = params
        .participants
        .iter()
        .map(participant_token)
        .collect::<PluginResult<Vec<_>>>()?;
    let app = match &params.app {
        Some(app) => eth_address(app.as_bytes(), "app")?,
        None => H160::zero(),
    };
    Ok(Token::Tuple(vec![
        uint(params.challenge_duration),
        Token::Uint(U256::from_big_endian(&params.nonce)),
        Token::Array(participants),
        Token::Address(app),
        Token::Bool(params.ledger_channel),
        Token::Bool(params.virtual_channel),
    ]))
}

fn asset_token(asset: &Asset) -> PluginResult<Token> {
    Ok(Token::Tuple(vec![
        uint(asset.chain_id),
        Token::Address(eth_address(asset.holder.as_bytes(), "asset holder")?),
        Token::Bytes(Vec::new()),
    ]))
}

fn amounts_token(amounts: &[Amount]) -> Token {
    Token::Array(amounts.iter().map(|a| Token::Uint(u256(a))).collect())
}

fn sub_alloc_token(sub: &SubAlloc) -> Token {
    Token::Tuple(vec![
        Token::FixedBytes(sub.id.0.to_vec()),
        amounts_token(&sub.balances),
        Token::Array(
            sub.index_map
                .iter()
                .map(|&i| Token::Uint(U256::from(i)))
                .collect(),
        ),
    ])
}

fn allocation_token(allocation: &Allocation) -> PluginResult<Token> {
    Ok(Token::Tuple(vec![
        Token::Array(
            allocation
                .assets
                .iter()
                .map(asset_token)
                .collect::<PluginResult<Vec<_>>>()?,
        ),
        Token::Array(vec![uint(ETHEREUM_BACKEND); allocation.assets.len()]),
        Token::Array(
            allocation
                .balances
                .iter()
                .map(|row| amounts_token(row))
                .collect(),
        ),
        Token::Array(allocation.locked.iter().map(sub_alloc_token).collect()),
    ]))
}

/// `State` as its Solidity struct.
pub fn state_token(state: &State) -> PluginResult<Token> {
    Ok(Token::Tuple(vec![
        Token::FixedBytes(state.channel_id.0.to_vec()),
        uint(state.version),
        allocation_token(&state.allocation)?,
        Token::Bytes(state.app_data.0.clone()),
        Token::Bool(state.is_final),
    ]))
}

/// `SignedState` as its Solidity struct.
pub fn signed_state_token(signed: &SignedState) -> PluginResult<Token> {
    Ok(Token::Tuple(vec![
        params_token(&signed.params)?,
        state_token(&signed.state)?,
        Token::Array(
            signed
                .sigs
                .iter()
                .map(|sig| Token::Bytes(sig.0.clone()))
                .collect(),
        ),
    ]))
}

/// The channel id: keccak256(abi.encode(params)).
pub fn channel_id(params: &Params) -> PluginResult<ChannelId> {
    Ok(ChannelId(keccak256(&[&abi::encode(&[params_token(
        params,
    )?])])))
}

/// keccak256(abi.encode(state)): what a state signature covers (before the message prefix).
pub fn state_hash(state: &State) -> PluginResult<[u8; 32]> {
    Ok(keccak256(&[&abi::encode(&[state_token(state)?])]))
}

/// The funding id: keccak256(abi.encode(channelID, participant address)).
pub fn funding_id(channel: &ChannelId, participant: &Participant) -> PluginResult<[u8; 32]> {
    let address = eth_address(participant.as_bytes(), "participant")?;
    Ok(keccak256(&[&abi::encode(&[
        Token::FixedBytes(channel.0.to_vec()),
        Token::Address(address),
    ])]))
}

/// The asset holders' `WithdrawalAuth(bytes32 channelID, Participant participant, address
/// receiver, uint256 amount)`.
pub fn withdrawal_auth_token(
    channel: &ChannelId,
    participant: &Participant,
    receiver: &Participant,
    amount: &Amount,
) -> PluginResult<Token> {
    Ok(Token::Tuple(vec![
        Token::FixedBytes(channel.0.to_vec()),
        participant_token(participant)?,
        Token::Address(eth_address(receiver.as_bytes(), "receiver")?),
        Token::Uint(u256(amount)),
    ]))
}

/// keccak256(abi.encode(auth)): what a withdrawal signature covers (before the prefix).
pub fn withdrawal_auth_hash(auth: &Token) -> [u8; 32] {
    keccak256(&[&abi::encode(std::slice::from_ref(auth))])
}

/// The Adjudicator's dispute record as returned by `disputes(bytes32)`: Perun v1.0.0's
/// `Dispute` struct, whose public getter returns six words in this order: `uint64 timeout,
/// uint64 challengeDuration, uint64 version, uint8 phase, bytes32 stateHash, bool hasApp`.
/// (Perun's contracts before 2022-11 returned `hasApp` before `phase`; decoding them in that
/// order misreads every record of a v1.0.0 deployment.)
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DisputeRecord {
    /// Chain time at which the current phase ends.
    pub timeout: u64,
    /// The channel's challenge duration.
    pub challenge_duration: u64,
    /// The registered version.
    pub version: u64,
    /// 0 dispute, 1 force-execution, 2 concluded.
    pub phase: u8,
    /// Hash of the registered state; zero when nothing was ever registered.
    pub state_hash: [u8; 32],
    /// Whether the channel has an app.
    pub has_app: bool,
}

/// The types of the words `disputes(bytes32)` returns, in order (see [`DisputeRecord`]).
pub const DISPUTE_FIELDS: [ParamType; 6] = [
    ParamType::Uint(64),
    ParamType::Uint(64),
    ParamType::Uint(64),
    ParamType::Uint(8),
    ParamType::FixedBytes(32),
    ParamType::Bool,
];

impl DisputeRecord {
    /// Decodes the return data of `disputes(bytes32)`. A word out of its type's range (a
    /// phase above 255, a flag other than 0 or 1, ...) means the contract is not a Perun
    /// v1.0.0 Adjudicator, and is an error rather than a misread record.
    pub fn decode(data: &[u8]) -> PluginResult<DisputeRecord> {
        let bad = |why: String| {
            PluginError::internal(format!(
                "the adjudicator's `disputes` answered something else than a Perun v1.0.0 \
                 Dispute record (timeout, challengeDuration, version, phase, stateHash, hasApp): \
                 {why}; is `adjudicator` the right contract?"
            ))
        };
        if data.len() != 32 * DISPUTE_FIELDS.len() {
            return Err(bad(format!(
                "{} bytes instead of {}",
                data.len(),
                32 * DISPUTE_FIELDS.len()
            )));
        }
        let tokens = abi::decode_whole(&DISPUTE_FIELDS, data).map_err(|e| bad(e.to_string()))?;
        let uint = |i: usize, bits: u32, name: &str| -> PluginResult<u64> {
            match &tokens[i] {
                Token::Uint(v) if v.bits() <= bits as usize => Ok(v.low_u64()),
                other => Err(bad(format!("{name} is {other:?}, not a uint{bits}"))),
            }
        };
        let timeout = uint(0, 64, "timeout")?;
        let challenge_duration = uint(1, 64, "challengeDuration")?;
        let version = uint(2, 64, "version")?;
        let phase = uint(3, 8, "phase")? as u8;
        let Token::FixedBytes(hash) = &tokens[4] else {
            return Err(bad("stateHash is not a bytes32".into()));
        };
        let mut state_hash = [0u8; 32];
        state_hash.copy_from_slice(hash);
        // ethers reads any non-zero word as `true`: the strict check is on the raw word.
        let has_app = match U256::from_big_endian(&data[5 * 32..6 * 32]) {
            v if v.is_zero() => false,
            v if v == U256::one() => true,
            other => return Err(bad(format!("hasApp is {other}, not a bool"))),
        };
        Ok(DisputeRecord {
            timeout,
            challenge_duration,
            version,
            phase,
            state_hash,
            has_app,
        })
    }

    /// Whether the record exists: something was registered or concluded.
    pub fn exists(&self) -> bool {
        self.state_hash != [0; 32] || self.timeout != 0
    }
}

/// The reason of a revert from its return data: `Error(string)` gives the string, `Panic(uint256)`
/// the panic code, a custom error its selector.
pub fn revert_reason(data: &[u8]) -> Option<String> {
    if data.len() < 4 {
        return None;
    }
    let (head, body) = data.split_at(4);
    if head == selector("Error(string)") {
        abi::decode(&[ParamType::String], body)
            .ok()
            .and_then(|t| t.into_iter().next())
            .and_then(Token::into_string)
    } else if head == selector("Panic(uint256)") {
        let code = abi::decode(&[ParamType::Uint(256)], body)
            .ok()
            .and_then(|t| t.into_iter().next())
            .and_then(Token::into_uint)?;
        Some(format!("panic 0x{code:x}"))
    } else {
        Some(format!("custom error 0x{}", hex::encode(head)))
    }
}

/// Whether EVM `code` contains `PUSH4 selector` as an instruction (not inside another push's
/// data).
pub fn pushes_selector(code: &[u8], selector: [u8; 4]) -> bool {
    const PUSH1: u8 = 0x60;
    const PUSH4: u8 = 0x63;
    const PUSH32: u8 = 0x7f;
    let mut at = 0;
    while at < code.len() {
        let op = code[at];
        if op == PUSH4 && code.get(at + 1..at + 5) == Some(&selector[..]) {
            return true;
        }
        at += 1;
        if (PUSH1..=PUSH32).contains(&op) {
            at += usize::from(op - PUSH1 + 1);
        }
    }
    false
}

/// A 20-byte address as our model's [`Address`].
pub fn model_address(address: H160) -> Address {
    Address(address.as_bytes().to_vec())
}

#[cfg(test)]
#[path = "abi_tests.rs"]
mod tests;
