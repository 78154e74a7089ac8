//! The human layouts, pinned from fixed API results given as the JSON the node sends.

use super::*;
use serde::de::DeserializeOwned;
use serde_json::json;

const ALICE: &str = "0x0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798";
const BOB: &str = "0x02c6047f9441ed7d6d3045406e95c07cd85c778e4b8cef3ca7abac09b95c709ee5";

fn from<T: DeserializeOwned>(value: Value) -> T {
    serde_json::from_value(value).expect("a valid API result")
}

fn id(byte: &str) -> String {
    format!("0x{}", byte.repeat(32))
}

/// The chain's assets: what the amounts' decimals are.
fn assets() -> Vec<AssetInfo> {
    let asset = |name: &str, decimals| AssetInfo {
        name: name.into(),
        decimals,
        asset: Default::default(),
    };
    vec![asset("ETH", 18), asset("TOK", 6), asset("USDC", 6)]
}

fn channel_json(peer_alias: Option<&str>) -> Value {
    json!({
        "id": id("ab"),
        "peer": BOB,
        "peer_alias": peer_alias,
        "phase": "active",
        "version": 3,
        "balances": [
            {"asset": "ETH", "mine": "700000000000000000", "theirs": "300000000000000000"},
            {"asset": "TOK", "mine": "5000000", "theirs": "0"},
        ],
    })
}

#[test]
fn info_shows_the_full_node_id_and_the_transport_address() {
    let info: NodeInfo = from(json!({
        "node_id": ALICE,
        "version": "0.1.0",
        "chain": {
            "chain_id": 1337,
            "backend": "sim-chain",
            "assets": [
                {"name": "ETH", "decimals": 18, "asset": {"chain_id": 1337, "holder": format!("0x{}", "01".repeat(20))}},
                {"name": "TOK", "decimals": 18, "asset": {"chain_id": 1337, "holder": format!("0x{}", "02".repeat(20))}},
            ],
        },
        "listen_address": "127.0.0.1:4000",
        "node_address": format!("{ALICE}@127.0.0.1:4000"),
        "channels": 2,
        "peers": 1,
        "api_address": "127.0.0.1:7150",
    }));
    assert_eq!(
        node_info(&info),
        format!(
            "node {ALICE}\n  \
             version    0.1.0\n  \
             chain      sim-chain (chain id 1337)\n  \
             assets     ETH, TOK\n  \
             transport  127.0.0.1:4000\n  \
             address    {ALICE}@127.0.0.1:4000\n  \
             account    none\n  \
             channels   2\n  \
             peers      1 connected\n  \
             api        127.0.0.1:7150\n  \
             dashboard  http://127.0.0.1:7150/dashboard/"
        )
    );
}

#[test]
fn peers_are_an_aligned_table() {
    let list: Vec<PeerInfo> = from(json!([
        {"alias": "bob", "node_id": BOB, "transport_address": "127.0.0.1:4999", "connected": true, "direction": "inbound"},
        {"alias": null, "node_id": ALICE, "transport_address": "10.0.0.7:4000", "connected": false},
    ]));
    let pad = " ".repeat(BOB.len() - "NODE ID".len());
    assert_eq!(
        peers(&list),
        format!(
            "ALIAS  NODE ID{pad}  TRANSPORT       CONNECTED  DIRECTION\n\
             bob    {BOB}  127.0.0.1:4999  yes        inbound\n\
             -      {ALICE}  10.0.0.7:4000   no         -"
        )
    );
    assert!(peers(&[]).starts_with("no peers; add one with `parley peer add"));
}

#[test]
fn an_added_peer_is_confirmed_with_its_details() {
    let peer: PeerInfo = from(json!(
        {"alias": "bob", "node_id": BOB, "transport_address": "127.0.0.1:4999", "connected": false}
    ));
    assert_eq!(
        peer_added(&peer),
        format!("added peer bob\n  node id    {BOB}\n  transport  127.0.0.1:4999\n  connected  no")
    );
    let failed: PeerInfo = from(json!(
        {"alias": "bob", "node_id": BOB, "transport_address": "127.0.0.1:4999", "connected": false,
         "connect_error": "cannot reach peer bob at 127.0.0.1:4999: timed out"}
    ));
    assert!(
        peer_added(&failed)
            .ends_with("connected  no: cannot reach peer bob at 127.0.0.1:4999: timed out"),
        "{}",
        peer_added(&failed)
    );
}

#[test]
fn a_channel_shows_mine_over_theirs_per_asset() {
    let info: ChannelInfo = from(channel_json(Some("bob")));
    assert_eq!(
        channel("", &info, &assets()),
        format!(
            "channel {}\n  \
             peer     bob ({BOB})\n  \
             phase    active\n  \
             version  3\n  \
             ETH      0.7 / 0.3 (mine / theirs)\n  \
             TOK      5 / 0 (mine / theirs)",
            id("ab")
        )
    );
    let info: ChannelInfo = from(channel_json(None));
    let text = channel("paid 0.01 ETH", &info, &assets());
    assert!(
        text.starts_with(&format!("paid 0.01 ETH\nchannel {}\n", id("ab"))),
        "{text}"
    );
    assert!(text.contains(&format!("  peer     {BOB}\n")), "{text}");
}

#[test]
fn channels_are_one_row_each_with_every_asset() {
    let list: Vec<ChannelInfo> = from(json!([channel_json(Some("bob")), channel_json(None)]));
    let text = channels(&list, &assets());
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    let id_pad = " ".repeat(id("ab").len() - "CHANNEL".len());
    let peer_pad = " ".repeat(BOB.len() - "PEER".len());
    assert_eq!(
        lines[0],
        format!("CHANNEL{id_pad}  PEER{peer_pad}  PHASE   VERSION  MINE / THEIRS")
    );
    let bob_pad = " ".repeat(BOB.len() - "bob".len());
    assert_eq!(
        lines[1],
        format!(
            "{}  bob{bob_pad}  active  3        ETH 0.7 / 0.3, TOK 5 / 0",
            id("ab")
        )
    );
    assert_eq!(
        lines[2],
        format!(
            "{}  {BOB}  active  3        ETH 0.7 / 0.3, TOK 5 / 0",
            id("ab")
        )
    );
    assert!(channels(&[], &assets()).starts_with("no channels; open one with `parley channel open"));
}

#[test]
fn proposals_show_who_what_and_when_they_lapse() {
    let plain = json!({
        "app": null,
        "app_data": "0x",
        "locked": [],
        "ledger_channel": true,
        "virtual_channel": false,
    });
    let with = |mut fields: serde_json::Value, terms: &serde_json::Value| {
        for (key, value) in terms.as_object().unwrap() {
            fields[key] = value.clone();
        }
        fields
    };
    let list: Vec<ProposalInfo> = from(json!([
        with(
            json!({
                "id": id("cd"),
                "proposer": BOB,
                "proposer_alias": "bob",
                "balances": [{"asset": "ETH", "mine": "0", "theirs": "500000000000000000000"}],
                "challenge_seconds": 60,
                "expires_at": 1_000_045,
            }),
            &plain
        ),
        with(
            json!({
                "id": id("ef"),
                "proposer": ALICE,
                "proposer_alias": null,
                "balances": [{"asset": "ETH", "mine": "1000000000000000000", "theirs": "1000000000000000000"}],
                "challenge_seconds": 3600,
                "expires_at": 999_999,
            }),
            &plain
        ),
    ]));
    let text = proposals(&list, 1_000_000, &assets());
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines[0].starts_with("PROPOSAL "), "{text}");
    assert!(
        lines[0].ends_with("MINE / THEIRS  CHALLENGE  KIND     EXPIRES"),
        "{text}"
    );
    assert!(
        lines[1].starts_with(&format!("{}  bob ", id("cd"))),
        "{text}"
    );
    assert!(
        lines[1].ends_with("ETH 0 / 500    60s        payment  in 45s"),
        "{text}"
    );
    assert!(
        lines[2].starts_with(&format!("{}  {ALICE}", id("ef"))),
        "{text}"
    );
    assert!(
        lines[2].ends_with("ETH 1 / 1      3600s      payment  expired"),
        "{text}"
    );
    assert_eq!(
        proposals(&[], 0, &assets()),
        "no proposals waiting for an answer"
    );
}

#[test]
fn a_proposal_that_is_no_plain_payment_channel_says_how() {
    let app = format!("0x{}", "12".repeat(20));
    let list: Vec<ProposalInfo> = from(json!([{
        "id": id("cd"),
        "proposer": BOB,
        "proposer_alias": "bob",
        "balances": [{"asset": "ETH", "mine": "0", "theirs": "500"}],
        "challenge_seconds": 60,
        "expires_at": 1_000_045,
        "app": app,
        "app_data": "0x0102",
        "locked": [{"id": id("ab"), "balances": ["5"], "index_map": [0, 1]}],
        "ledger_channel": false,
        "virtual_channel": true,
    }]));
    let text = proposals(&list, 1_000_000, &assets());
    assert!(
        text.lines().nth(1).unwrap().ends_with(&format!(
            "app {app}, 2 bytes of app data, 1 locked, virtual, not ledger  in 45s"
        )),
        "{text}"
    );
}

#[test]
fn balances_are_whole_units_lined_up_at_the_point() {
    let list: Vec<OnChainBalance> = from(json!([
        {"asset": "ETH", "amount": "1000500000000000000000"},
        {"asset": "USDC", "amount": "42"},
    ]));
    assert_eq!(
        balances(&list, &assets()),
        "ETH   1000.5\nUSDC     0.000042"
    );
}

#[test]
fn amounts_are_exact_whole_units_with_the_asset_name() {
    let assets = assets();
    let wei = Amount::from(10u64);
    assert_eq!(amount(&assets, "ETH", &wei), "0.00000000000000001 ETH");
    assert_eq!(
        amount(&assets, "TOK", &Amount::from(1_500_000u64)),
        "1.5 TOK"
    );
    // An asset the chain does not name keeps its base units, and says so.
    assert_eq!(amount(&assets, "XYZ", &wei), "10 base units of XYZ");
    let update: Vec<PendingUpdateInfo> = from(json!([{
        "id": id("ab"),
        "peer": BOB,
        "peer_alias": "bob",
        "current_version": 3,
        "version": 4,
        "kind": "payment",
        "is_final": false,
        "answer_by": null,
        "balances": [{
            "asset": "TOK",
            "mine_before": "1000000", "theirs_before": "0",
            "mine_after": "1500000", "theirs_after": "0",
        }],
    }]));
    let text = pending_updates(&update, 0, &assets);
    assert!(text.contains("\n  TOK  1 / 0  ->  1.5 / 0"), "{text}");
}

#[test]
fn json_is_the_result_as_is() {
    let result = json!({"node_id": ALICE, "nested": [1, "2"]});
    let text = json(&result);
    assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), result);
    assert_eq!(json(&Value::Null), "null");
}
