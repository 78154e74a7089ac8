//! The command lines: what clap accepts and refuses, and that the parameters each command
//! sends are the ones the server reads (`api/params.rs`), so the CLI and the node agree.

use super::*;
use crate::api::params::{parse_params, FromParams};
use crate::api::types::{
    BalanceRequest, ChannelAnswerRequest, ChannelOpenRequest, ChannelPayRequest,
    ChannelPendingRequest, ChannelRef, ChannelSettleRequest, MisbehaveRegisterRequest,
    PeerAddRequest, ProposalAcceptRequest, ProposalRejectRequest,
};
use crate::cli::{Cli, Command};
use crate::protocol::ProposalId;
use clap::error::ErrorKind;
use clap::Parser;
use parley_plugin_api::model::{Amount, AssetInfo, ChannelId};
use std::fmt::Debug;

const NODE: &str = "0x0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798";

fn id(byte: &str) -> String {
    format!("0x{}", byte.repeat(32))
}

fn parse(line: &[&str]) -> Result<Command, clap::Error> {
    let mut words = vec!["parley"];
    words.extend_from_slice(line);
    Cli::try_parse_from(words).map(|cli| cli.command)
}

/// The call a command line makes, or the error the CLI gives before calling.
fn call(line: &[&str]) -> Result<Call, String> {
    let command = parse(line).map_err(|e| e.to_string())?;
    let result = match command {
        Command::Info(_) => Ok(Call::bare("node_info")),
        Command::Peer(args) => args.call(),
        Command::Channel(args) => args.call(&assets()),
        Command::Proposal(args) => args.call(),
        Command::Balance(args) => args.call(),
        Command::Misbehave(args) => args.call(),
        other => panic!("not a node command: {other:?}"),
    };
    result.map_err(|e| e.to_string())
}

/// The chain's assets, as the node names them: what the amounts' units mean.
fn assets() -> Vec<AssetInfo> {
    let asset = |name: &str, decimals| AssetInfo {
        name: name.into(),
        decimals,
        asset: Default::default(),
    };
    vec![asset("ETH", 18), asset("TOK", 6)]
}

/// The request the server parses from the call's parameters.
fn server_reads<T: FromParams>(call: &Call) -> T {
    parse_params::<T>(Some(&call.params.to_string()))
        .unwrap_or_else(|e| panic!("the server refuses {}: {e}", call.params))
}

/// Asserts `line` is refused by clap as a bad value, with `words` in the message.
fn refused(line: &[&str], words: &[&str]) {
    let error = parse(line).expect_err("accepted a bad command line");
    let text = error.to_string();
    assert_eq!(error.kind(), ErrorKind::ValueValidation, "{text}");
    for word in words {
        assert!(text.contains(word), "{line:?}: `{word}` not in:\n{text}");
    }
}

fn assert_reads<T: FromParams + PartialEq + Debug>(line: &[&str], method: &str, expected: T) {
    let call = call(line).unwrap();
    assert_eq!(call.method, method, "{line:?}");
    assert_eq!(server_reads::<T>(&call), expected, "{line:?}");
}

#[test]
fn every_call_is_parsed_by_the_server_as_meant() {
    assert_reads(
        &["peer", "add", "bob", NODE, "127.0.0.1:4000"],
        "peer_add",
        PeerAddRequest {
            alias: "bob".into(),
            node_id: NODE.parse().unwrap(),
            transport_address: Some("127.0.0.1:4000".into()),
        },
    );
    assert_reads(
        &["peer", "add", "bob", NODE],
        "peer_add",
        PeerAddRequest {
            alias: "bob".into(),
            node_id: NODE.parse().unwrap(),
            transport_address: None,
        },
    );
    assert_reads(
        &["channel", "open", "bob", "--mine", "1000", "--theirs", "0"],
        "channel_open",
        ChannelOpenRequest::payment("bob", Amount::from(1000u64), Amount::ZERO),
    );
    assert_reads(
        &[
            "channel",
            "open",
            NODE,
            "--mine",
            "1",
            "--theirs",
            "2",
            "--asset",
            "TOK",
            "--challenge",
            "600",
        ],
        "channel_open",
        ChannelOpenRequest {
            asset: Some("TOK".into()),
            challenge_seconds: Some(600),
            ..ChannelOpenRequest::payment(NODE, Amount::from(1u64), Amount::from(2u64))
        },
    );
    assert_reads(
        &["channel", "show", &id("ab")],
        "channel_get",
        ChannelRef {
            id: ChannelId([0xab; 32]),
        },
    );
    assert_reads(
        &["channel", "pay", &id("ab"), "250", "--asset", "ETH"],
        "channel_pay",
        ChannelPayRequest {
            id: ChannelId([0xab; 32]),
            amount: Amount::from(250u64),
            asset: Some("ETH".into()),
            payment: None,
        },
    );
    // A unit names the asset and the decimals; base units stay whole numbers.
    for (line, amount, asset) in [
        (
            &["channel", "pay", &id("ab"), "0.01ETH"][..],
            "10000000000000000",
            Some("ETH"),
        ),
        (
            &["channel", "pay", &id("ab"), "0.01 ETH"],
            "10000000000000000",
            Some("ETH"),
        ),
        (
            &["channel", "pay", &id("ab"), "1.5", "TOK"],
            "1500000",
            Some("TOK"),
        ),
        (&["channel", "pay", &id("ab"), "10wei"], "10", Some("ETH")),
        (&["channel", "pay", &id("ab"), "10base"], "10", None),
        (&["channel", "pay", &id("ab"), "10"], "10", None),
        (
            &["channel", "pay", &id("ab"), "2TOK", "--asset", "tok"],
            "2000000",
            Some("tok"),
        ),
    ] {
        assert_reads(
            line,
            "channel_pay",
            ChannelPayRequest {
                id: ChannelId([0xab; 32]),
                amount: amount.parse().unwrap(),
                asset: asset.map(str::to_owned),
                payment: None,
            },
        );
    }
    assert_reads(
        &[
            "channel",
            "open",
            "bob",
            "--mine",
            "1ETH",
            "--theirs",
            "0.5 eth",
            "--with",
            "TOK:2TOK:100",
        ],
        "channel_open",
        ChannelOpenRequest {
            asset: Some("ETH".into()),
            more_assets: vec![crate::api::types::AssetDeposit {
                asset: "TOK".into(),
                mine: Amount::from(2_000_000u64),
                theirs: Amount::from(100u64),
            }],
            ..ChannelOpenRequest::payment(
                "bob",
                "1000000000000000000".parse().unwrap(),
                "500000000000000000".parse().unwrap(),
            )
        },
    );
    assert_reads(
        &["channel", "settle", &id("ab")],
        "channel_settle",
        ChannelSettleRequest {
            id: ChannelId([0xab; 32]),
            force: false,
        },
    );
    assert_reads(
        &["channel", "settle", &id("ab"), "--force"],
        "channel_settle",
        ChannelSettleRequest {
            id: ChannelId([0xab; 32]),
            force: true,
        },
    );
    assert_reads(
        &["channel", "pending", &id("ab")],
        "channel_pending",
        ChannelPendingRequest {
            id: Some(ChannelId([0xab; 32])),
        },
    );
    assert_reads(
        &["channel", "pending"],
        "channel_pending",
        ChannelPendingRequest { id: None },
    );
    assert_reads(
        &["channel", "accept", &id("ab"), "--version", "3"],
        "channel_answer",
        ChannelAnswerRequest {
            id: ChannelId([0xab; 32]),
            version: Some(3),
            accept: true,
            reason: None,
        },
    );
    assert_reads(
        &["channel", "reject", &id("ab"), "--reason", "not now"],
        "channel_answer",
        ChannelAnswerRequest {
            id: ChannelId([0xab; 32]),
            version: None,
            accept: false,
            reason: Some("not now".into()),
        },
    );
    assert_reads(
        &["misbehave", "register", &id("ab"), "--version", "3"],
        "misbehave_register",
        MisbehaveRegisterRequest {
            id: ChannelId([0xab; 32]),
            version: 3,
        },
    );
    assert_reads(
        &["proposal", "accept", &id("cd")],
        "proposal_accept",
        ProposalAcceptRequest {
            id: ProposalId([0xcd; 32]),
        },
    );
    assert_reads(
        &["proposal", "reject", &id("cd"), "--reason", "too large"],
        "proposal_reject",
        ProposalRejectRequest {
            id: ProposalId([0xcd; 32]),
            reason: Some("too large".into()),
        },
    );
    assert_reads(
        &["balance", "--asset", "ETH"],
        "balance",
        BalanceRequest {
            asset: Some("ETH".into()),
        },
    );
    assert_reads(&["balance"], "balance", BalanceRequest { asset: None });
    for (line, method) in [
        (&["info"][..], "node_info"),
        (&["peer", "list"], "peer_list"),
        (&["channel", "list"], "channel_list"),
        (&["proposal", "list"], "proposal_list"),
    ] {
        let call = call(line).unwrap();
        assert_eq!(call.method, method);
        server_reads::<()>(&call);
    }
}

#[test]
fn only_calls_that_wait_on_the_chain_show_a_spinner() {
    let open = call(&["channel", "open", "bob", "--mine", "1", "--theirs", "1"]).unwrap();
    assert_eq!(
        open.wait.as_deref(),
        Some("opening a channel with bob: waiting for the peer and the chain")
    );
    let settle = call(&["channel", "settle", &id("ab")]).unwrap();
    assert_eq!(
        settle.wait.as_deref(),
        Some("settling 0xabababab…: waiting for the chain to pay out")
    );
    assert!(call(&["proposal", "accept", &id("cd")])
        .unwrap()
        .wait
        .is_some());
    for line in [
        &["channel", "pay", &id("ab"), "1"][..],
        &["channel", "show", &id("ab")],
        &["peer", "list"],
        &["balance"],
    ] {
        assert_eq!(call(line).unwrap().wait, None, "{line:?}");
    }
}

#[test]
fn config_and_json_go_anywhere_on_the_line() {
    for line in [
        &["peer", "--config", "a/node.toml", "--json", "list"][..],
        &["peer", "list", "--json", "-c", "a/node.toml"],
    ] {
        let Command::Peer(args) = parse(line).unwrap() else {
            panic!("not peer")
        };
        assert_eq!(
            args.options.config,
            PathBuf::from("a/node.toml"),
            "{line:?}"
        );
        assert!(args.options.json, "{line:?}");
    }
    let Command::Info(args) = parse(&["info"]).unwrap() else {
        panic!("not info")
    };
    assert_eq!(args.options.config, default_config());
    assert!(!args.options.json);
}

#[test]
fn bad_amounts_are_refused_with_the_expected_form() {
    refused(
        &["channel", "pay", &id("ab"), "ten"],
        &["`ten` is not an amount", "1.5ETH", "1000wei"],
    );
    let error = call(&["channel", "pay", &id("ab"), "1.5"]).unwrap_err();
    assert!(error.contains("is not an amount without a unit"), "{error}");
    assert!(error.contains("1.5ETH"), "{error}");
    refused(&["channel", "pay", &id("ab"), "0"], &["more than zero"]);
    // Negative numbers reach the parser, which says why they are wrong, instead of clap
    // reading them as unknown flags.
    refused(
        &["channel", "pay", &id("ab"), "-5"],
        &["`-5` is not an amount"],
    );
    refused(
        &["channel", "open", "bob", "--mine", "-1", "--theirs", "1"],
        &["`-1` is not an amount"],
    );
    refused(
        &[
            "channel",
            "open",
            "bob",
            "--mine",
            "1",
            "--theirs",
            "1",
            "--challenge",
            "-1",
        ],
        &["not a number of seconds"],
    );
    refused(
        &["channel", "open", "bob", "--mine", "1.5", "--theirs", "1"],
        &["--mine <AMOUNT>", "`1.5` is not an amount without a unit"],
    );
    refused(
        &[
            "channel",
            "open",
            "bob",
            "--mine",
            "1",
            "--theirs",
            "1",
            "--challenge",
            "0",
        ],
        &["--challenge <SECONDS>", "at least 1 second"],
    );
    let error = call(&["channel", "open", "bob", "--mine", "0", "--theirs", "0"]).unwrap_err();
    assert!(error.contains("both zero"), "{error}");
    // What only the chain's assets can tell: units that contradict, or that it does not have.
    for (line, says) in [
        (
            &[
                "channel", "open", "bob", "--mine", "1ETH", "--theirs", "1TOK",
            ][..],
            "`--theirs 1TOK` is an amount of TOK, but `--mine 1ETH` is of ETH",
        ),
        (
            &["channel", "pay", &id("ab"), "1TOK", "--asset", "ETH"],
            "`1TOK` is an amount of TOK, but `--asset ETH` is of ETH",
        ),
        (
            &["channel", "pay", &id("ab"), "1", "DOGE"],
            "`DOGE` is not a unit of this chain",
        ),
        (
            &["channel", "pay", &id("ab"), "1ETH", "TOK"],
            "the amount has a unit already",
        ),
        (
            &["channel", "pay", &id("ab"), "0.0000001TOK"],
            "only 6 decimals",
        ),
    ] {
        let error = call(line).unwrap_err();
        assert!(error.contains(says), "{line:?}: {error}");
    }
}

#[test]
fn bad_ids_are_refused_with_the_expected_form() {
    refused(
        &["channel", "show", "0x123"],
        &[
            "too short to name a channel (3 hex digits)",
            "0x and 64 hex digits), or its first 4 or more digits",
        ],
    );
    refused(
        &["channel", "settle", &format!("{}a", id("ab"))],
        &["has 65 hex digits"],
    );
    refused(
        &["proposal", "accept", "0xab"],
        &["too short to name a proposal"],
    );
    refused(
        &["proposal", "accept", &id("zz")],
        &["not a hex digit", "a proposal id"],
    );
    refused(
        &["peer", "add", "bob", &id("ab"), "127.0.0.1:1"],
        &[
            "has 64 hex digits",
            "a node id: 0x followed by 66 hex digits",
        ],
    );
    refused(
        &["peer", "add", "0xbob", NODE, "127.0.0.1:1"],
        &["kept for node ids"],
    );
    refused(&["peer", "add", "bob", NODE, ""], &["must not be empty"]);
    refused(
        &["channel", "open", "0x12", "--mine", "1", "--theirs", "1"],
        &["a node id"],
    );
}

#[test]
fn missing_and_unknown_arguments_are_usage_errors() {
    let error = parse(&["channel", "open", "bob", "--mine", "1"]).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::MissingRequiredArgument);
    assert!(error.to_string().contains("--theirs <AMOUNT>"), "{error}");
    let error = parse(&["channel", "frobnicate"]).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidSubcommand);
    let error = parse(&["peer", "list", "--bogus"]).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::UnknownArgument);
}

#[test]
fn every_command_has_help_with_an_example() {
    use clap::CommandFactory;
    let mut cli = Cli::command();
    cli.build();
    let mut leaves = Vec::new();
    for top in [
        "info",
        "peer",
        "channel",
        "proposal",
        "balance",
        "payments",
        "payment",
        "invoice",
        "pay",
        "misbehave",
        "stop",
    ] {
        let command = cli.find_subcommand(top).expect("registered");
        if command.has_subcommands() {
            // `help` is clap's own.
            for sub in command.get_subcommands().filter(|s| s.get_name() != "help") {
                leaves.push((format!("{top} {}", sub.get_name()), sub.clone()));
            }
        } else {
            leaves.push((top.to_owned(), command.clone()));
        }
    }
    assert_eq!(
        leaves.len(),
        24,
        "{:?}",
        leaves.iter().map(|l| &l.0).collect::<Vec<_>>()
    );
    for (name, mut command) in leaves {
        let help = command.render_long_help().to_string();
        assert!(help.contains("Example"), "{name}:\n{help}");
        assert!(help.contains(&format!("parley {name}")), "{name}:\n{help}");
        assert!(help.contains("--config <FILE>"), "{name}:\n{help}");
        assert!(help.contains("--json"), "{name}:\n{help}");
    }
}

#[test]
fn short_ids_keep_aliases_whole() {
    assert_eq!(short_id(&"bob"), "bob");
    assert_eq!(short_id(&"a-rather-long-alias"), "a-rather-long-alias");
    assert_eq!(short_id(&id("ab")), "0xabababab…");
}
