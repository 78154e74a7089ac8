//! The state on record, read back from the call data of the transaction that put it there.
//!
//! The Adjudicator keeps only a hash of the state on record (`stateHash`) and its event
//! `ChannelUpdate` carries no state, but every call that changes a record names the whole
//! state in its call data: `register` (the channel's signed state, or one of its
//! sub-channels'), `progress` (the new state), `conclude` and `concludeFinal`. This module
//! decodes those call data with the ABI of [`crate::abi`] and picks the state whose hash is the
//! record's, so what it returns is exactly the state the chain committed to (or nothing).
//! Pure functions, no I/O.

use crate::abi::{self, functions, selector, PARAMS, STATE};
use ethers_core::abi::{decode, HumanReadableParser, ParamType, Token};
use ethers_core::types::U256;
use parley_plugin_api::codec::Bytes;
use parley_plugin_api::model::{Address, Allocation, Amount, Asset, ChannelId, State, SubAlloc};
use parley_plugin_api::{PluginError, PluginResult};

fn malformed(what: &str) -> PluginError {
    PluginError::internal(format!(
        "the call data of the transaction behind the record is not a Perun v1.0.0 call: {what}"
    ))
}

fn parse(kind: &str) -> PluginResult<ParamType> {
    HumanReadableParser::parse_type(kind).map_err(|e| malformed(&e.to_string()))
}

fn tuple(token: &Token, fields: usize, what: &str) -> PluginResult<Vec<Token>> {
    match token {
        Token::Tuple(items) if items.len() == fields => Ok(items.clone()),
        _ => Err(malformed(&format!("{what} is not a tuple of {fields}"))),
    }
}

fn array<'a>(token: &'a Token, what: &str) -> PluginResult<&'a [Token]> {
    match token {
        Token::Array(items) => Ok(items),
        _ => Err(malformed(&format!("{what} is not an array"))),
    }
}

fn uint(token: &Token, bits: usize, what: &str) -> PluginResult<U256> {
    match token {
        Token::Uint(value) if value.bits() <= bits => Ok(*value),
        _ => Err(malformed(&format!("{what} is not a uint{bits}"))),
    }
}

fn word32(token: &Token, what: &str) -> PluginResult<[u8; 32]> {
    match token {
        Token::FixedBytes(bytes) if bytes.len() == 32 => {
            let mut out = [0u8; 32];
            out.copy_from_slice(bytes);
            Ok(out)
        }
        _ => Err(malformed(&format!("{what} is not a bytes32"))),
    }
}

fn amounts(token: &Token, what: &str) -> PluginResult<Vec<Amount>> {
    array(token, what)?
        .iter()
        .map(|t| uint(t, 256, what).map(abi::amount))
        .collect()
}

fn asset(token: &Token) -> PluginResult<Asset> {
    let fields = tuple(token, 3, "an asset")?;
    let Token::Address(holder) = &fields[1] else {
        return Err(malformed("an asset's holder is not an address"));
    };
    Ok(Asset {
        chain_id: uint(&fields[0], 64, "an asset's chain id")?.low_u64(),
        holder: Address(holder.as_bytes().to_vec()),
    })
}

fn sub_alloc(token: &Token) -> PluginResult<SubAlloc> {
    let fields = tuple(token, 3, "a sub-allocation")?;
    let index_map = array(&fields[2], "an index map")?
        .iter()
        .map(|t| uint(t, 16, "an index").map(|i| i.low_u64() as u16))
        .collect::<PluginResult<Vec<_>>>()?;
    Ok(SubAlloc {
        id: ChannelId(word32(&fields[0], "a sub-channel id")?),
        balances: amounts(&fields[1], "a sub-channel's balances")?,
        index_map,
    })
}

/// A `State` from its Solidity struct (the inverse of [`abi::state_token`]; the `backends`
/// column, which the model does not keep, is dropped).
pub fn state_from_token(token: &Token) -> PluginResult<State> {
    let fields = tuple(token, 5, "a state")?;
    let outcome = tuple(&fields[2], 4, "an allocation")?;
    let assets = array(&outcome[0], "the assets")?
        .iter()
        .map(asset)
        .collect::<PluginResult<Vec<_>>>()?;
    let balances = array(&outcome[2], "the balances")?
        .iter()
        .map(|row| amounts(row, "a row of balances"))
        .collect::<PluginResult<Vec<_>>>()?;
    let locked = array(&outcome[3], "the locked parts")?
        .iter()
        .map(sub_alloc)
        .collect::<PluginResult<Vec<_>>>()?;
    let Token::Bytes(app_data) = &fields[3] else {
        return Err(malformed("appData is not bytes"));
    };
    let Token::Bool(is_final) = fields[4] else {
        return Err(malformed("isFinal is not a bool"));
    };
    Ok(State {
        channel_id: ChannelId(word32(&fields[0], "the channel id")?),
        version: uint(&fields[1], 64, "the version")?.low_u64(),
        allocation: Allocation {
            assets,
            balances,
            locked,
        },
        app_data: Bytes(app_data.clone()),
        is_final,
    })
}

/// Every state the call data `data` names, if it is a call of the Adjudicator that writes a
/// record (`register`: the channel's and its sub-channels'; `progress`: the new one;
/// `conclude` and `concludeFinal`: the one concluded with). Empty for any other call.
pub fn states_in_call(data: &[u8]) -> PluginResult<Vec<State>> {
    if data.len() < 4 {
        return Ok(Vec::new());
    }
    let (head, args) = data.split_at(4);
    let signed = format!("({PARAMS},{STATE},bytes[])");
    // (the function, the types of its arguments, which arguments hold states)
    let register = functions::register();
    let progress = functions::progress();
    let conclude = functions::conclude();
    let conclude_final = functions::conclude_final();
    let decoded = if head == selector(&register) {
        let tokens = decode(&[parse(&signed)?, parse(&format!("{signed}[]"))?], args)
            .map_err(|e| malformed(&e.to_string()))?;
        let mut states = vec![state_from_token(
            &tuple(&tokens[0], 3, "a signed state")?[1],
        )?];
        for sub in array(&tokens[1], "the sub-channels")? {
            states.push(state_from_token(&tuple(sub, 3, "a signed state")?[1])?);
        }
        states
    } else if head == selector(&progress) {
        let kinds = [
            parse(PARAMS)?,
            parse(STATE)?,
            parse(STATE)?,
            ParamType::Uint(256),
            ParamType::Bytes,
        ];
        let tokens = decode(&kinds, args).map_err(|e| malformed(&e.to_string()))?;
        vec![state_from_token(&tokens[2])?]
    } else if head == selector(&conclude) || head == selector(&conclude_final) {
        let last = if head == selector(&conclude) {
            parse(&format!("{STATE}[]"))?
        } else {
            ParamType::Array(Box::new(ParamType::Bytes))
        };
        let tokens = decode(&[parse(PARAMS)?, parse(STATE)?, last], args)
            .map_err(|e| malformed(&e.to_string()))?;
        let mut states = vec![state_from_token(&tokens[1])?];
        if head == selector(&conclude) {
            // A conclusion writes its sub-channels' records too (a virtual channel concluded
            // through one parent has its newest update there).
            for sub in array(&tokens[2], "the sub-channel states")? {
                states.push(state_from_token(sub)?);
            }
        }
        states
    } else {
        Vec::new()
    };
    Ok(decoded)
}

/// The state of channel `channel` whose hash is `state_hash` (the record's commitment) among
/// those the call data `data` names, if there is one.
pub fn state_on_record(
    data: &[u8],
    channel: &ChannelId,
    state_hash: &[u8; 32],
) -> PluginResult<Option<State>> {
    for state in states_in_call(data)? {
        if &state.channel_id == channel && &abi::state_hash(&state)? == state_hash {
            return Ok(Some(state));
        }
    }
    Ok(None)
}

#[cfg(test)]
#[path = "calldata_tests.rs"]
mod tests;
