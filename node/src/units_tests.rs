use super::*;
use parley_plugin_api::model::Asset;
use proptest::prelude::*;

fn amount(text: &str) -> Amount {
    text.parse().unwrap()
}

fn asset(name: &str, decimals: u8) -> AssetInfo {
    AssetInfo {
        name: name.into(),
        decimals,
        asset: Asset {
            chain_id: 1337,
            holder: Default::default(),
        },
    }
}

fn chain() -> Vec<AssetInfo> {
    vec![asset("ETH", 18), asset("TOK", 6)]
}

fn resolve(text: &str) -> Result<Resolved, String> {
    text.parse::<AmountText>()?.resolve(&chain())
}

fn resolved(amount: &str, asset: Option<&str>) -> Resolved {
    Resolved {
        amount: self::amount(amount),
        asset: asset.map(str::to_owned),
    }
}

#[test]
fn amounts_read_in_whole_units_without_trailing_zeros() {
    assert_eq!(format_units(&amount("1000000000000000000000"), 18), "1000");
    assert_eq!(format_units(&amount("3000000000000000"), 18), "0.003");
    assert_eq!(format_units(&amount("10"), 18), "0.00000000000000001");
    assert_eq!(
        format_units(&amount("999999999999999999945"), 18),
        "999.999999999999999945"
    );
    assert_eq!(format_units(&amount("0"), 18), "0");
    assert_eq!(format_units(&amount("1500"), 3), "1.5");
    assert_eq!(format_units(&amount("42"), 0), "42");
    assert_eq!(
        show(&amount("10000000000000000"), &asset("ETH", 18)),
        "0.01 ETH"
    );
}

#[test]
fn whole_units_are_read_exactly() {
    assert_eq!(parse_units("0.01", 18), Ok(amount("10000000000000000")));
    assert_eq!(parse_units("1.5", 6), Ok(amount("1500000")));
    assert_eq!(parse_units(".5", 1), Ok(amount("5")));
    assert_eq!(parse_units("2.", 2), Ok(amount("200")));
    assert_eq!(parse_units("1_000.250", 2), Ok(amount("100025")));
    assert_eq!(parse_units("0.000", 0), Ok(Amount::ZERO));
    assert_eq!(
        parse_units("0.0000001", 6),
        Err(UnitsError::TooPrecise {
            number: "0.0000001".into(),
            digits: 7,
            decimals: 6
        })
    );
    for bad in ["", ".", "1.2.3", "-1", "1e3", "0x10", "1 000", "+1"] {
        assert_eq!(
            parse_units(bad, 18),
            Err(UnitsError::NotANumber(bad.into())),
            "{bad}"
        );
    }
    let too_large = format!("1{}", "0".repeat(60));
    assert_eq!(
        parse_units(&too_large, 18),
        Err(UnitsError::TooLarge(too_large.clone()))
    );
}

#[test]
fn a_unit_says_which_asset_and_how_many_decimals() {
    let ether = Some("ETH");
    assert_eq!(resolve("0.01ETH"), Ok(resolved("10000000000000000", ether)));
    assert_eq!(
        resolve("0.01 ETH"),
        Ok(resolved("10000000000000000", ether))
    );
    assert_eq!(
        resolve(" 0.01 eth "),
        Ok(resolved("10000000000000000", ether))
    );
    assert_eq!(resolve("1.5 TOK"), Ok(resolved("1500000", Some("TOK"))));
    assert_eq!(resolve("10wei"), Ok(resolved("10", ether)));
    assert_eq!(resolve("2 gwei"), Ok(resolved("2000000000", ether)));
    assert_eq!(resolve("0.5gwei"), Ok(resolved("500000000", ether)));
    assert_eq!(resolve("10base"), Ok(resolved("10", None)));
    assert_eq!(resolve("1000"), Ok(resolved("1000", None)));
    assert_eq!(resolve("0"), Ok(resolved("0", None)));
}

#[test]
fn an_unclear_amount_is_refused_with_how_to_write_it() {
    let error = resolve("1.5").unwrap_err();
    assert!(error.contains("is not an amount without a unit"), "{error}");
    assert!(error.contains("1.5ETH"), "{error}");
    let error = resolve("1.5base").unwrap_err();
    assert!(error.contains("base units are whole"), "{error}");
    let error = resolve("0.5wei").unwrap_err();
    assert!(error.contains("finer than one wei"), "{error}");
    let error = resolve("0.0000001TOK").unwrap_err();
    assert!(error.contains("only 6 decimals"), "{error}");
    let error = resolve("3 DOGE").unwrap_err();
    assert!(
        error.contains("`DOGE` is not a unit of this chain"),
        "{error}"
    );
    assert!(error.contains("ETH, TOK"), "{error}");
    for bad in ["ETH", "", "abc", "1..2ETH", "-5", "1e3", "0x10", "1 ETH!"] {
        assert!(resolve(bad).is_err(), "{bad} was accepted");
    }
    let error = resolve(&format!("1{}", "0".repeat(80))).unwrap_err();
    assert!(error.contains("below 2^256"), "{error}");
    // wei belongs to an 18-decimal ETH only.
    let other = vec![asset("ETH", 6)];
    assert!("1wei"
        .parse::<AmountText>()
        .unwrap()
        .resolve(&other)
        .is_err());
}

fn any_amount() -> impl Strategy<Value = Amount> {
    prop_oneof![
        any::<[u8; 32]>().prop_map(Amount::from_be_bytes),
        any::<u64>().prop_map(Amount::from),
        Just(Amount::from_be_bytes([0xff; 32])),
        Just(Amount::ZERO),
    ]
}

proptest! {
    #[test]
    fn every_amount_reads_back_as_itself(amount in any_amount(), decimals in 0u8..=36) {
        let text = format_units(&amount, decimals);
        prop_assert_eq!(parse_units(&text, decimals), Ok(amount));
        prop_assert!(!text.ends_with('0') || !text.contains('.'), "{}", text);
        prop_assert!(!text.ends_with('.'), "{}", text);
        // And through the whole path a person takes: the unit named after the amount.
        let named = vec![asset("TOK", decimals)];
        let written: AmountText = format!("{text} TOK").parse().unwrap();
        prop_assert_eq!(written.resolve(&named).unwrap().amount, amount);
    }

    #[test]
    fn base_units_read_back_as_themselves(amount in any_amount()) {
        let written: AmountText = amount.to_string().parse().unwrap();
        prop_assert_eq!(written.resolve(&chain()).unwrap(), Resolved { amount, asset: None });
    }
}
