//! Text inputs: `node.toml` files and JSON-RPC calls of every method.

use super::wire::{key, PEER_SECRET};
use std::collections::BTreeMap;

pub fn config_seeds() -> BTreeMap<String, Vec<u8>> {
    let repository_copy = include_str!("../../../node.toml");
    let scenario = "[node]\ndata_dir = \"alice/data\"\nlog_level = \"info\"\n\n\
                    [chain]\nplugin = \"sim-chain\"\nblock_time = 0\n\n\
                    [wire]\nplugin = \"quic\"\nlisten = \"127.0.0.1:0\"\n\n\
                    [store]\nplugin = \"lmdb\"\n";
    let everything = "[node]\ndata_dir = \"/var/lib/parley\"\nkey_file = \"keys/node.key\"\n\
                      log_level = \"parley=debug,warn\"\nlog_format = \"json\"\n\n\
                      [api]\nlisten = \"[::1]:7150\"\nallow_non_loopback = false\n\n\
                      [policy]\nauto_accept_from = [\"bob\", \"*\"]\nmax_auto_deposit = \"1_000\"\n\
                      proposal_timeout_seconds = 60\nchallenge_seconds = 3600\n\
                      funding_timeout_seconds = 120\nupdate_timeout_seconds = 10\n\n\
                      [testing]\nallow_misbehaviour = true\nwithhold_deposits = true\n\n\
                      [chain]\nplugin = \"sim-chain\"\nchain_id = 1337\nassets = [\"ETH\", \"TOK\"]\n\
                      prefund = [\"1000000\", \"5000\"]\nledger = \"../ledger\"\n\n\
                      [wire]\nplugin = \"./plugins/libparley_quic.so\"\nlisten = \"127.0.0.1:4100\"\n\
                      max_frame_size = 1048576\n\n\
                      [store]\nplugin = \"lmdb\"\nmap_size_mib = 64\ndurable = false\n";
    let ethereum = "[node]\ndata_dir = \"data\"\n\n\
                    [chain]\nplugin = \"ethereum\"\nrpc_url = \"http://127.0.0.1:8545\"\n\
                    chain_id = 31337\n\
                    adjudicator = \"0x5FbDB2315678afecb367f032d93F642f64180aa3\"\n\
                    eth_holder = \"0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512\"\n\
                    key_file = \"data/eth.key\"\nconfirmations = 1\n\
                    [[chain.erc20]]\nname = \"PRN\"\n\
                    token = \"0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0\"\n\
                    holder = \"0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9\"\ndecimals = 18\n";
    let seeds = [
        ("repository-node-toml", repository_copy),
        ("scenario-node-toml", scenario),
        ("every-section", everything),
        ("ethereum-chain", ethereum),
        ("empty", ""),
    ];
    seeds
        .into_iter()
        .map(|(name, text)| (name.to_owned(), text.as_bytes().to_vec()))
        .collect()
}

/// Every method with real parameters: `(method, params)`, `None` for a call without params.
fn api_calls() -> Vec<(&'static str, &'static str, Option<String>)> {
    let channel = format!("0x{}", "5c".repeat(32));
    let proposal = format!("0x{}", "9a".repeat(32));
    let node_id = key(PEER_SECRET[0]).node_id().to_string();
    vec![
        ("node_info", "node_info", None),
        ("peer_list", "peer_list", Some("[]".into())),
        ("proposal_list", "proposal_list", None),
        ("channel_list", "channel_list", Some("{}".into())),
        ("subscribe_events", "subscribe_events", None),
        (
            "peer_add",
            "peer_add",
            Some(format!(
                r#"{{"alias":"bob","node_id":"{node_id}","transport_address":"127.0.0.1:40123"}}"#
            )),
        ),
        (
            "peer_add-positional",
            "peer_add",
            Some(format!(r#"["bob","{node_id}","127.0.0.1:40123"]"#)),
        ),
        (
            "channel_open",
            "channel_open",
            Some(r#"{"peer":"bob","mine":"1000","theirs":"500"}"#.into()),
        ),
        (
            "channel_open-every-param",
            "channel_open",
            Some(format!(
                r#"{{"peer":"{node_id}","mine":"1000","theirs":"0","asset":"ETH","challenge_seconds":600,"more_assets":[{{"asset":"TOK","mine":"5","theirs":"7"}}]}}"#
            )),
        ),
        (
            "proposal_accept",
            "proposal_accept",
            Some(format!(r#"{{"id":"{proposal}"}}"#)),
        ),
        (
            "proposal_reject",
            "proposal_reject",
            Some(format!(r#"["{proposal}","too much"]"#)),
        ),
        (
            "channel_get",
            "channel_get",
            Some(format!(r#"{{"id":"{channel}"}}"#)),
        ),
        (
            "channel_pay",
            "channel_pay",
            Some(format!(
                r#"{{"id":"{channel}","amount":"30","asset":"ETH"}}"#
            )),
        ),
        (
            "channel_settle",
            "channel_settle",
            Some(format!(r#"{{"id":"{channel}","force":true}}"#)),
        ),
        (
            "channel_pending",
            "channel_pending",
            Some(format!(r#"{{"id":"{channel}"}}"#)),
        ),
        (
            "channel_answer",
            "channel_answer",
            Some(format!(
                r#"{{"id":"{channel}","version":4,"accept":false,"reason":"not now"}}"#
            )),
        ),
        (
            "misbehave_register",
            "misbehave_register",
            Some(format!(r#"{{"id":"{channel}","version":3}}"#)),
        ),
        ("balance", "balance", Some(r#"{"asset":"ETH"}"#.into())),
    ]
}

pub fn api_params_seeds() -> BTreeMap<String, Vec<u8>> {
    api_calls()
        .into_iter()
        .map(|(name, method, params)| {
            let input = match params {
                Some(params) => format!("{method}\n{params}"),
                None => method.to_owned(),
            };
            (name.to_owned(), input.into_bytes())
        })
        .collect()
}

pub fn api_request_seeds() -> BTreeMap<String, Vec<u8>> {
    let mut seeds: BTreeMap<String, Vec<u8>> = api_calls()
        .into_iter()
        .enumerate()
        .map(|(id, (name, method, params))| {
            let params = params
                .map(|p| format!(r#","params":{p}"#))
                .unwrap_or_default();
            let body = format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"{method}"{params}}}"#);
            (name.to_owned(), body.into_bytes())
        })
        .collect();
    seeds.insert(
        "unknown-method".into(),
        br#"{"jsonrpc":"2.0","id":"a","method":"channel_burn","params":[]}"#.to_vec(),
    );
    seeds.insert(
        "unsubscribe_events".into(),
        br#"{"jsonrpc":"2.0","id":9,"method":"unsubscribe_events","params":["1234"]}"#.to_vec(),
    );
    seeds
}
