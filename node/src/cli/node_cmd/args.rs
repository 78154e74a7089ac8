//! Value parsers for the node commands' arguments: each checks one argument locally and says
//! what was wrong and the expected form, so bad input never reaches the node.
//!
//! They are the CLI's copy of the form checks the API does in `api/params.rs` (the node keeps
//! checking: other clients exist). Ids must carry the `0x` prefix `parley` itself prints, so a
//! pasted id that lost a character or its prefix is caught here, with its length.

use crate::api::params::{check_transport_address, MAX_TEXT_LEN};
use crate::units::{AmountText, HOW_TO_WRITE};
use crate::wire::NodeId;
use parley_plugin_api::model::{Amount, AssetInfo, ChannelId};

/// Hex digits in a channel or proposal id (32 bytes).
const ID_DIGITS: usize = 64;
/// Hex digits in a node id (a 33-byte compressed public key).
const NODE_ID_DIGITS: usize = 66;

/// An amount as a person writes it (`1.5ETH`, `1.5 ETH`, `10wei`, `1000base`, or a bare whole
/// number of base units), zero allowed (one side of a channel may deposit nothing). Only its
/// form is checked here: the decimals its unit means are the node's chain's (`units.rs`).
pub fn amount(text: &str) -> Result<AmountText, String> {
    text.parse()
}

/// `value`, if it is more than zero.
fn positive(value: AmountText) -> Result<AmountText, String> {
    if value.is_zero() {
        return Err(format!(
            "the amount must be more than zero (e.g. 0.01ETH, or 1000 base units); {HOW_TO_WRITE}"
        ));
    }
    Ok(value)
}

/// `channel pay`'s amount: as [`amount`] reads it, more than zero, except that a number with
/// a decimal point may wait for its unit in the next word (`1.5 TOK`).
pub fn payment_amount(text: &str) -> Result<AmountText, String> {
    positive(AmountText::number_alone(text)?)
}

/// A challenge duration in seconds: at least 1.
pub fn challenge_seconds(text: &str) -> Result<u64, String> {
    match text.parse::<u64>() {
        Ok(0) => Err("the challenge duration must be at least 1 second".into()),
        Ok(seconds) => Ok(seconds),
        Err(_) => Err(format!(
            "`{text}` is not a number of seconds: expected a whole number of at least 1 (e.g. 3600)"
        )),
    }
}

/// Checks that `text` is `0x` and `digits` hex digits, naming `what` in the error.
fn hex_form(text: &str, what: &str, digits: usize) -> Result<(), String> {
    let expected = format!("expected {what}: 0x followed by {digits} hex digits");
    let Some(hex) = text.strip_prefix("0x") else {
        return Err(format!("`{text}` does not start with 0x; {expected}"));
    };
    if let Some(bad) = hex.chars().find(|c| !c.is_ascii_hexdigit()) {
        return Err(format!(
            "`{text}` contains `{bad}`, which is not a hex digit; {expected}"
        ));
    }
    if hex.len() != digits {
        return Err(format!("`{text}` has {} hex digits; {expected}", hex.len()));
    }
    Ok(())
}

/// A channel id as `parley channel list` prints it.
pub fn channel_id(text: &str) -> Result<ChannelId, String> {
    hex_form(text, "a channel id", ID_DIGITS)?;
    text.parse()
}

/// A node id as `parley info` prints it.
pub fn node_id(text: &str) -> Result<NodeId, String> {
    hex_form(text, "a node id", NODE_ID_DIGITS)?;
    text.parse()
        .map_err(|e| format!("`{text}` is not a node id: {e}"))
}

/// A peer's node id, alone or as `<node id>@<host:port>` (what `parley info` prints as its
/// `address`).
pub fn node_address(text: &str) -> Result<(NodeId, Option<String>), String> {
    match text.split_once('@') {
        Some((id, address)) => Ok((node_id(id)?, Some(transport_address(address)?))),
        None => Ok((node_id(text)?, None)),
    }
}

/// A short human text (reason, asset name): not blank, not too long.
pub fn text(text: &str) -> Result<String, String> {
    if text.trim().is_empty() {
        return Err("must not be empty".into());
    }
    if text.len() > MAX_TEXT_LEN {
        return Err(format!(
            "{} bytes long; at most {MAX_TEXT_LEN} are accepted",
            text.len()
        ));
    }
    Ok(text.to_owned())
}

/// A JSON value (`channel move`'s action): whatever the channel's app takes.
pub fn json_value(text: &str) -> Result<serde_json::Value, String> {
    serde_json::from_str(text).map_err(|e| {
        format!("`{text}` is not JSON ({e}); quote it for the shell, e.g. '{{\"cell\": 4}}'")
    })
}

/// A JSON object (`channel open --app-setup`).
pub fn json_object(text: &str) -> Result<serde_json::Value, String> {
    let value = json_value(text)?;
    if value.is_object() {
        Ok(value)
    } else {
        Err(format!(
            "`{text}` is not a JSON object; an app's setup looks like '{{\"first\": 1}}'"
        ))
    }
}

/// A peer's transport address: `host:port` with a port from 1 to 65535, by the same check
/// `peer_add` makes.
pub fn transport_address(value: &str) -> Result<String, String> {
    let value = text(value)?;
    check_transport_address(&value)?;
    Ok(value)
}

/// A peer alias: a short word that cannot be mistaken for a node id, since `channel open`
/// takes either.
pub fn alias(value: &str) -> Result<String, String> {
    let value = text(value)?;
    if value.chars().any(char::is_whitespace) {
        return Err(format!(
            "`{value}` contains a space; an alias is one word (e.g. bob)"
        ));
    }
    if value.starts_with("0x") {
        return Err(format!(
            "`{value}` starts with 0x, which is kept for node ids; an alias is a name (e.g. bob)"
        ));
    }
    Ok(value)
}

/// A peer for `channel open`: its node id (`0x...`) or its alias.
pub fn peer(value: &str) -> Result<String, String> {
    if value.starts_with("0x") {
        node_id(value).map(|id| id.to_string())
    } else {
        alias(value)
    }
}

/// Why a channel cannot open with no funds at all.
const UNFUNDED: &str =
    "--mine and --theirs are both zero; a channel needs funds from at least one side";

/// Checks what clap cannot see argument by argument: a channel needs funds from someone.
pub fn check_deposits(
    mine: &Amount,
    theirs: &Amount,
    more: &[crate::api::types::AssetDeposit],
) -> Result<(), String> {
    let unfunded = |m: &Amount, t: &Amount| m.is_zero() && t.is_zero();
    if unfunded(mine, theirs) && more.iter().all(|d| unfunded(&d.mine, &d.theirs)) {
        return Err(UNFUNDED.into());
    }
    Ok(())
}

/// [`check_deposits`] on the amounts as written, before the node is asked what their units
/// mean: zero is zero in any unit.
pub fn check_written_deposits(
    mine: &AmountText,
    theirs: &AmountText,
    more: &[DepositText],
) -> Result<(), String> {
    let unfunded = |m: &AmountText, t: &AmountText| m.is_zero() && t.is_zero();
    if unfunded(mine, theirs) && more.iter().all(|d| unfunded(&d.mine, &d.theirs)) {
        return Err(UNFUNDED.into());
    }
    Ok(())
}

/// `--with NAME:MINE:THEIRS` as written: one more asset of a channel being opened, its amounts
/// not yet in base units.
#[derive(Clone, Debug, PartialEq)]
pub struct DepositText {
    /// The asset's name.
    pub asset: String,
    /// What this node deposits.
    pub mine: AmountText,
    /// What the peer deposits.
    pub theirs: AmountText,
}

impl DepositText {
    /// The deposit in base units on a chain with `assets`; an amount's unit, if it names an
    /// asset, must name this one.
    pub fn resolve(&self, assets: &[AssetInfo]) -> Result<crate::api::types::AssetDeposit, String> {
        let mine = self.mine.resolve(assets)?;
        let theirs = self.theirs.resolve(assets)?;
        for (text, amount) in [(&self.mine, &mine), (&self.theirs, &theirs)] {
            match &amount.asset {
                Some(named) if !named.eq_ignore_ascii_case(&self.asset) => {
                    return Err(format!(
                        "--with {}:{}:{}: `{text}` is an amount of {named}, not of {}",
                        self.asset, self.mine, self.theirs, self.asset
                    ))
                }
                _ => {}
            }
        }
        Ok(crate::api::types::AssetDeposit {
            asset: self.asset.clone(),
            mine: mine.amount,
            theirs: theirs.amount,
        })
    }
}

/// The asset a command's amounts are of: the one `--asset` names, else the one their units
/// name (`1.5TOK`), else none (the node's default). `named` pairs each amount as written
/// (`--mine 1.5TOK`) with the asset its unit names; they must not contradict each other.
pub fn one_asset(
    flag: Option<&str>,
    named: &[(String, Option<String>)],
) -> Result<Option<String>, String> {
    let mut chosen: Option<(String, String)> =
        flag.map(|name| (format!("--asset {name}"), name.to_owned()));
    for (written, asset) in named {
        let Some(asset) = asset else { continue };
        match &chosen {
            Some((first, name)) if !name.eq_ignore_ascii_case(asset) => {
                return Err(format!(
                    "`{written}` is an amount of {asset}, but `{first}` is of {name}; write \
                     both in the same asset"
                ))
            }
            Some(_) => {}
            None => chosen = Some((written.clone(), asset.clone())),
        }
    }
    Ok(chosen.map(|(_, name)| name))
}

/// `--with NAME:MINE:THEIRS`: one more asset of a channel being opened.
pub fn asset_deposit(value: &str) -> Result<DepositText, String> {
    let parts: Vec<&str> = value.split(':').collect();
    let [name, mine, theirs] = parts.as_slice() else {
        return Err(format!(
            "`{value}` is not NAME:MINE:THEIRS; expected an asset name and two amounts, e.g. \
             TOK:2TOK:1TOK (whole units) or TOK:200:100 (base units)"
        ));
    };
    Ok(DepositText {
        asset: text(name)?,
        mine: amount(mine)?,
        theirs: amount(theirs)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NODE: &str = "0x0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798";

    fn chain() -> Vec<AssetInfo> {
        let asset = |name: &str, decimals| AssetInfo {
            name: name.into(),
            decimals,
            asset: Default::default(),
        };
        vec![asset("ETH", 18), asset("TOK", 6)]
    }

    #[test]
    fn more_assets_are_name_mine_theirs() {
        let deposit = asset_deposit("TOK:200:100")
            .unwrap()
            .resolve(&chain())
            .unwrap();
        assert_eq!(deposit.asset, "TOK");
        assert_eq!(deposit.mine, Amount::from(200u64));
        assert_eq!(deposit.theirs, Amount::from(100u64));
        let whole = asset_deposit("TOK:1.5TOK:0.25 tok").unwrap();
        let whole = whole.resolve(&chain()).unwrap();
        assert_eq!(whole.mine, Amount::from(1_500_000u64));
        assert_eq!(whole.theirs, Amount::from(250_000u64));
        let error = asset_deposit("TOK:1ETH:0")
            .unwrap()
            .resolve(&chain())
            .unwrap_err();
        assert!(
            error.contains("`1ETH` is an amount of ETH, not of TOK"),
            "{error}"
        );
        for bad in [
            "TOK",
            "TOK:1",
            "TOK:1:2:3",
            ":1:2",
            "TOK:x:2",
            "TOK:1:-2",
            "TOK:1.5:2",
        ] {
            assert!(asset_deposit(bad).is_err(), "{bad} was accepted");
        }
        let more = [deposit];
        assert!(check_deposits(&Amount::ZERO, &Amount::ZERO, &more).is_ok());
        assert!(check_deposits(&Amount::ZERO, &Amount::ZERO, &[]).is_err());
    }

    #[test]
    fn amounts_have_a_unit_or_are_whole_base_units() {
        let base = |text: &str| amount(text).unwrap().resolve(&chain()).unwrap().amount;
        assert_eq!(base("1000"), Amount::from(1000u64));
        assert_eq!(base("0"), Amount::ZERO);
        assert_eq!(base("0.5TOK"), Amount::from(500_000u64));
        for bad in ["abc", "-5", "1.5", "", "x10", "ETH", "1 ETH!"] {
            let error = amount(bad).unwrap_err();
            assert!(error.contains("e.g. 1.5ETH"), "{bad}: {error}");
        }
        // A number with a unit this chain does not have passes the form, not the chain.
        let error = amount("1e3").unwrap().resolve(&chain()).unwrap_err();
        assert!(
            error.contains("`e3` is not a unit of this chain"),
            "{error}"
        );
        // A payment's unit may follow as a word of its own.
        let alone = payment_amount("1.5").unwrap();
        assert_eq!(alone.with_unit(Some("TOK")), amount("1.5TOK"));
        assert!(alone
            .with_unit(None)
            .unwrap_err()
            .contains("without a unit"));
        assert!(payment_amount("0.0")
            .unwrap_err()
            .contains("more than zero"));
        for zero in ["0", "0.0ETH", "0wei"] {
            let error = payment_amount(zero).unwrap_err();
            assert!(error.contains("more than zero"), "{zero}: {error}");
        }
        assert_eq!(payment_amount("7").unwrap(), amount("7").unwrap());
    }

    #[test]
    fn the_units_of_a_command_name_one_asset() {
        let named =
            |written: &str, asset: Option<&str>| (written.to_owned(), asset.map(str::to_owned));
        assert_eq!(one_asset(None, &[]), Ok(None));
        assert_eq!(
            one_asset(Some("ETH"), &[named("1", None)]),
            Ok(Some("ETH".into()))
        );
        assert_eq!(
            one_asset(
                None,
                &[named("--mine 1", None), named("--theirs 1TOK", Some("TOK"))]
            ),
            Ok(Some("TOK".into()))
        );
        assert_eq!(
            one_asset(Some("eth"), &[named("1ETH", Some("ETH"))]),
            Ok(Some("eth".into()))
        );
        let error = one_asset(Some("ETH"), &[named("1TOK", Some("TOK"))]).unwrap_err();
        assert!(
            error.contains("`1TOK` is an amount of TOK, but `--asset ETH` is of ETH"),
            "{error}"
        );
        let error = one_asset(
            None,
            &[
                named("--mine 1ETH", Some("ETH")),
                named("--theirs 1TOK", Some("TOK")),
            ],
        )
        .unwrap_err();
        assert!(error.contains("but `--mine 1ETH` is of ETH"), "{error}");
    }

    #[test]
    fn challenge_is_at_least_one_second() {
        assert_eq!(challenge_seconds("60").unwrap(), 60);
        assert!(challenge_seconds("0")
            .unwrap_err()
            .contains("at least 1 second"));
        assert!(challenge_seconds("-1")
            .unwrap_err()
            .contains("not a number of seconds"));
        assert!(challenge_seconds("1h")
            .unwrap_err()
            .contains("not a number of seconds"));
    }

    #[test]
    fn ids_need_the_prefix_and_the_right_length() {
        let good = format!("0x{}", "ab".repeat(32));
        assert_eq!(channel_id(&good).unwrap(), ChannelId([0xab; 32]));

        let error = channel_id(&"ab".repeat(32)).unwrap_err();
        assert!(error.contains("does not start with 0x"), "{error}");
        let error = channel_id("0xabc").unwrap_err();
        assert!(error.contains("has 3 hex digits"), "{error}");
        assert!(error.contains("0x followed by 64 hex digits"), "{error}");
    }

    #[test]
    fn node_ids_are_public_keys() {
        assert_eq!(node_id(NODE).unwrap().to_string(), NODE);
        let error = node_id(&NODE[..66]).unwrap_err();
        assert!(error.contains("has 64 hex digits"), "{error}");
        // The right length but not a point on the curve.
        let error = node_id(&format!("0x05{}", "00".repeat(32))).unwrap_err();
        assert!(error.contains("not a node id"), "{error}");
    }

    #[test]
    fn aliases_are_single_words_that_are_not_ids() {
        assert_eq!(alias("bob").unwrap(), "bob");
        assert!(alias("").unwrap_err().contains("must not be empty"));
        assert!(alias("  ").unwrap_err().contains("must not be empty"));
        assert!(alias("bob smith").unwrap_err().contains("contains a space"));
        assert!(alias("0xbob").unwrap_err().contains("starts with 0x"));
        assert!(alias(&"a".repeat(MAX_TEXT_LEN + 1))
            .unwrap_err()
            .contains("at most 256"));
    }

    #[test]
    fn transport_addresses_are_host_and_port() {
        for good in [
            "127.0.0.1:4000",
            "[::1]:4000",
            "bob.example.org:7000",
            "localhost:1",
        ] {
            assert_eq!(transport_address(good).unwrap(), good);
        }
        for (bad, says) in [
            ("not an address", "has no port"),
            ("not an address:4000", "neither an IP address"),
            ("127.0.0.1:0", "port 0"),
            ("127.0.0.1", "has no port"),
            ("127.0.0.1:99999", "not a port"),
            ("::1:4000", "neither an IP address"),
            ("", "must not be empty"),
        ] {
            let error = transport_address(bad).unwrap_err();
            assert!(error.contains(says), "{bad}: {error}");
        }
    }

    #[test]
    fn a_peer_is_an_alias_or_a_valid_node_id() {
        assert_eq!(peer("bob").unwrap(), "bob");
        assert_eq!(peer(NODE).unwrap(), NODE);
        assert!(peer("0x1234").unwrap_err().contains("a node id"));
    }

    #[test]
    fn a_channel_needs_funds() {
        let zero = Amount::ZERO;
        let one = Amount::from(1u64);
        assert!(check_deposits(&zero, &zero, &[])
            .unwrap_err()
            .contains("both zero"));
        assert!(check_deposits(&one, &zero, &[]).is_ok());
        assert!(check_deposits(&zero, &one, &[]).is_ok());
    }
}
