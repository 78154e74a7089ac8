use super::*;
use crate::api::error::ErrorCategory;
use crate::wire::NodeKey;
use parley_plugin_api::model::{Amount, ChannelId};

fn node_id_hex() -> String {
    NodeKey::from_secret_bytes(&[5; 32])
        .unwrap()
        .node_id()
        .to_string()
}

fn channel_hex() -> String {
    ChannelId([0xab; 32]).to_string()
}

/// Asserts an invalid_argument error that names `param` in the message and the details.
fn assert_names(error: ApiError, param: &str) {
    assert_eq!(error.category, ErrorCategory::InvalidArgument, "{error}");
    assert!(
        error.message.contains(&format!("`{param}`")),
        "message does not name `{param}`: {}",
        error.message
    );
    assert_eq!(error.details.unwrap()["param"], param);
}

#[test]
fn named_and_positional_forms_agree() {
    let named = format!(r#"{{"id":"{}","amount":"25"}}"#, channel_hex());
    let positional = format!(r#"["{}","25"]"#, channel_hex());
    let a: ChannelPayRequest = parse_params(Some(&named)).unwrap();
    let b: ChannelPayRequest = parse_params(Some(&positional)).unwrap();
    assert_eq!(a, b);
    assert_eq!(a.id, ChannelId([0xab; 32]));
    assert_eq!(a.amount, Amount::from(25u64));
    assert_eq!(a.asset, None);
}

#[test]
fn missing_param_is_named_with_what_is_expected() {
    let error = parse_params::<ChannelPayRequest>(Some(r#"{"amount":"1"}"#)).unwrap_err();
    assert_names(error.clone(), "id");
    assert!(error.message.contains("missing"), "{}", error.message);
    assert!(error.message.contains("channel id"), "{}", error.message);
}

#[test]
fn wrong_type_is_named() {
    for amount in ["true", r#""1.5""#, r#""-5""#, "[1]"] {
        let raw = format!(r#"{{"id":"{}","amount":{amount}}}"#, channel_hex());
        let error = parse_params::<ChannelPayRequest>(Some(&raw)).unwrap_err();
        assert_names(error.clone(), "amount");
        assert!(
            error.message.contains("decimal string"),
            "{}",
            error.message
        );
    }
}

#[test]
fn malformed_id_is_named() {
    let error = parse_params::<ChannelRef>(Some(r#"{"id":"0x1234"}"#)).unwrap_err();
    assert_names(error, "id");
    let error = parse_params::<ProposalAcceptRequest>(Some(r#"["zz"]"#)).unwrap_err();
    assert_names(error, "id");
}

#[test]
fn unknown_param_is_refused() {
    let raw = format!(
        r#"{{"id":"{}","amount":"1","assset":"ETH"}}"#,
        channel_hex()
    );
    let error = parse_params::<ChannelPayRequest>(Some(&raw)).unwrap_err();
    assert_names(error, "assset");
}

#[test]
fn too_many_positional_params_are_refused() {
    let error = parse_params::<()>(Some(r#"[1]"#)).unwrap_err();
    assert_names(error, "params");
    assert!(parse_params::<()>(None).is_ok());
    assert!(parse_params::<()>(Some("[]")).is_ok());
    assert!(parse_params::<()>(Some("null")).is_ok());
}

#[test]
fn params_must_be_object_or_array() {
    let error = parse_params::<ChannelRef>(Some(r#""0xab""#)).unwrap_err();
    assert_names(error.clone(), "params");
    assert!(error.message.contains("a string"), "{}", error.message);
}

#[test]
fn zero_payment_is_refused() {
    let raw = format!(r#"["{}","0"]"#, channel_hex());
    assert_names(
        parse_params::<ChannelPayRequest>(Some(&raw)).unwrap_err(),
        "amount",
    );
}

#[test]
fn channel_open_checks_amounts_and_challenge() {
    let ok: ChannelOpenRequest = parse_params(Some(
        r#"{"peer":"bob","mine":"100","theirs":"0","challenge_seconds":60}"#,
    ))
    .unwrap();
    assert_eq!(ok.mine, Amount::from(100u64));
    assert_eq!(ok.challenge_seconds, Some(60));
    let zero = parse_params::<ChannelOpenRequest>(Some(r#"["bob","0","0"]"#)).unwrap_err();
    assert_names(zero, "mine");
    let no_challenge =
        parse_params::<ChannelOpenRequest>(Some(r#"["bob","1","0",null,0]"#)).unwrap_err();
    assert_names(no_challenge, "challenge_seconds");
    let negative =
        parse_params::<ChannelOpenRequest>(Some(r#"["bob","1","0",null,-5]"#)).unwrap_err();
    assert_names(negative, "challenge_seconds");
    let empty_peer = parse_params::<ChannelOpenRequest>(Some(r#"[" ","1","0"]"#)).unwrap_err();
    assert_names(empty_peer, "peer");
}

#[test]
fn peer_add_checks_alias_and_node_id() {
    let raw = format!(r#"["bob","{}","127.0.0.1:4000"]"#, node_id_hex());
    let ok: PeerAddRequest = parse_params(Some(&raw)).unwrap();
    assert_eq!(ok.alias, "bob");
    let spaced = format!(r#"["b b","{}","127.0.0.1:4000"]"#, node_id_hex());
    assert_names(
        parse_params::<PeerAddRequest>(Some(&spaced)).unwrap_err(),
        "alias",
    );
    let hexy = format!(r#"["0xbob","{}","127.0.0.1:4000"]"#, node_id_hex());
    assert_names(
        parse_params::<PeerAddRequest>(Some(&hexy)).unwrap_err(),
        "alias",
    );
    // 33 bytes that are not a curve point.
    let bad_key = format!(r#"["bob","0x04{}","127.0.0.1:4000"]"#, "00".repeat(32));
    assert_names(
        parse_params::<PeerAddRequest>(Some(&bad_key)).unwrap_err(),
        "node_id",
    );
}

#[test]
fn long_reason_is_refused() {
    let long = "x".repeat(MAX_TEXT_LEN + 1);
    let raw = format!(r#"["{}","{long}"]"#, ChannelId([1; 32]));
    assert_names(
        parse_params::<ProposalRejectRequest>(Some(&raw)).unwrap_err(),
        "reason",
    );
    let raw = format!(r#"["{}"]"#, ChannelId([1; 32]));
    let ok: ProposalRejectRequest = parse_params(Some(&raw)).unwrap();
    assert_eq!(ok.reason, None);
}

#[test]
fn balance_asset_is_optional() {
    let all: BalanceRequest = parse_params(None).unwrap();
    assert_eq!(all.asset, None);
    let one: BalanceRequest = parse_params(Some(r#"{"asset":"ETH"}"#)).unwrap();
    assert_eq!(one.asset.as_deref(), Some("ETH"));
    assert_names(
        parse_params::<BalanceRequest>(Some(r#"{"asset":7}"#)).unwrap_err(),
        "asset",
    );
}

#[test]
fn amounts_as_json_numbers_are_refused() {
    // 2^53 + 1: a double would already have turned it into 2^53.
    let raw = format!(r#"{{"id":"{}","amount":9007199254740993}}"#, channel_hex());
    let error = parse_params::<ChannelPayRequest>(Some(&raw)).unwrap_err();
    assert_names(error.clone(), "amount");
    assert!(
        error.message.contains("decimal strings"),
        "{}",
        error.message
    );
    assert!(error.message.contains("2^53"), "{}", error.message);
    // Small numbers too: the rule is learnt before it costs money.
    let raw = format!(r#"["{}",25]"#, channel_hex());
    assert_names(
        parse_params::<ChannelPayRequest>(Some(&raw)).unwrap_err(),
        "amount",
    );
    for (raw, param) in [
        (r#"{"peer":"bob","mine":100,"theirs":"0"}"#, "mine"),
        (r#"{"peer":"bob","mine":"100","theirs":0}"#, "theirs"),
        (
            r#"{"peer":"bob","mine":"1","theirs":"0","more_assets":[{"asset":"TOK","mine":5,"theirs":"0"}]}"#,
            "more_assets[0].mine",
        ),
        (
            r#"{"peer":"bob","mine":"1","theirs":"0","more_assets":[{"asset":"TOK","mine":"5","theirs":"1"},{"asset":"X","mine":"5","theirs":1.0}]}"#,
            "more_assets[1].theirs",
        ),
    ] {
        let error = parse_params::<ChannelOpenRequest>(Some(raw)).unwrap_err();
        assert_names(error.clone(), param);
        assert!(
            error.message.contains("decimal strings"),
            "{}",
            error.message
        );
    }
}

#[test]
fn more_assets_entries_are_checked_by_name() {
    let ok: ChannelOpenRequest = parse_params(Some(
        r#"{"peer":"bob","mine":"0","theirs":"0","more_assets":[{"asset":"TOK","mine":"5","theirs":"1"}]}"#,
    ))
    .unwrap();
    assert_eq!(ok.more_assets[0].asset, "TOK");
    assert_eq!(ok.more_assets[0].mine, Amount::from(5u64));
    for (raw, param) in [
        (
            r#"{"peer":"bob","mine":"1","theirs":"0","more_assets":[{"asset":"TOK","mine":"5","theirs":"1","mien":"2"}]}"#,
            "more_assets[0].mien",
        ),
        (
            r#"{"peer":"bob","mine":"1","theirs":"0","more_assets":[{"mine":"5","theirs":"1"}]}"#,
            "more_assets[0].asset",
        ),
        (
            r#"{"peer":"bob","mine":"1","theirs":"0","more_assets":["TOK"]}"#,
            "more_assets[0]",
        ),
        (
            r#"{"peer":"bob","mine":"1","theirs":"0","more_assets":[{"asset":" ","mine":"5","theirs":"1"}]}"#,
            "more_assets[0].asset",
        ),
    ] {
        assert_names(
            parse_params::<ChannelOpenRequest>(Some(raw)).unwrap_err(),
            param,
        );
    }
}

#[test]
fn peer_add_needs_a_host_and_port_to_dial() {
    for (address, says) in [
        ("not an address", "has no port"),
        ("127.0.0.1:0", "port 0"),
        ("127.0.0.1", "has no port"),
        ("127.0.0.1:65536", "not a port"),
        ("bob smith:4000", "neither an IP address"),
    ] {
        let raw = format!(r#"["bob","{}","{address}"]"#, node_id_hex());
        let error = parse_params::<PeerAddRequest>(Some(&raw)).unwrap_err();
        assert_names(error.clone(), "transport_address");
        assert!(error.message.contains(says), "{address}: {}", error.message);
        assert!(error.message.contains("host:port"), "{}", error.message);
    }
    for address in ["[::1]:4000", "peer.example.org:4000", "10.0.0.7:65535"] {
        let raw = format!(r#"["bob","{}","{address}"]"#, node_id_hex());
        let ok: PeerAddRequest = parse_params(Some(&raw)).unwrap();
        assert_eq!(ok.transport_address.as_deref(), Some(address));
    }
}

#[test]
fn an_answer_names_its_channel_and_only_a_rejection_carries_a_reason() {
    let id = channel_hex();
    let raw = format!(r#"{{"id":"{id}","version":3,"accept":false,"reason":"not now"}}"#);
    let reject: ChannelAnswerRequest = parse_params(Some(&raw)).unwrap();
    assert_eq!(
        (reject.version, reject.accept, reject.reason.as_deref()),
        (Some(3), false, Some("not now"))
    );
    let accept: ChannelAnswerRequest =
        parse_params(Some(&format!(r#"["{id}",null,true]"#))).unwrap();
    assert_eq!((accept.version, accept.accept), (None, true));
    let raw = format!(r#"{{"id":"{id}","accept":true,"reason":"why not"}}"#);
    assert_names(
        parse_params::<ChannelAnswerRequest>(Some(&raw)).unwrap_err(),
        "reason",
    );
    let raw = format!(r#"{{"id":"{id}"}}"#);
    assert_names(
        parse_params::<ChannelAnswerRequest>(Some(&raw)).unwrap_err(),
        "accept",
    );
    let all: ChannelPendingRequest = parse_params(None).unwrap();
    assert_eq!(all.id, None);
}
