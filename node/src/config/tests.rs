use super::*;

fn parse(text: &str) -> Result<NodeConfig, ConfigError> {
    NodeConfig::parse(text, Path::new("/etc/parley/node.toml"))
}

#[test]
fn empty_config_gets_the_builtin_defaults() {
    let config = parse("").unwrap();
    assert_eq!(config.node.data_dir, Path::new("/etc/parley/data"));
    assert_eq!(config.node.key_file, Path::new("/etc/parley/data/node.key"));
    assert_eq!(config.chain.plugin, PluginRef::Name("sim-chain".into()));
    assert_eq!(config.wire.plugin.plugin, PluginRef::Name("quic".into()));
    assert_eq!(config.store.plugin, PluginRef::Name("lmdb".into()));
    assert_eq!(config.wire.listen, "127.0.0.1:0");
    assert_eq!(config.node.log_format, LogFormat::Text);
}

#[test]
fn plugin_table_is_passed_on_without_node_keys() {
    let config = parse(
        "[wire]\nplugin = \"quic\"\nlisten = \"127.0.0.1:9000\"\nmax_frame_size = 1024\n\
         [store]\nplugin = \"./libs/libmine.so\"\nmap_size_mib = 64\n",
    )
    .unwrap();
    assert_eq!(config.wire.listen, "127.0.0.1:9000");
    assert_eq!(config.wire.plugin.table.trim(), "max_frame_size = 1024");
    assert_eq!(
        config.store.plugin,
        PluginRef::Path("/etc/parley/./libs/libmine.so".into())
    );
    assert_eq!(config.store.table.trim(), "map_size_mib = 64");
}

#[test]
fn misspelled_node_key_is_named() {
    let error = parse("[node]\ndata_dri = \"x\"\n").unwrap_err();
    assert_eq!(error.key, "node.data_dri");
    assert!(
        error.to_string().contains("/etc/parley/node.toml"),
        "{error}"
    );
    assert!(error.message.contains("`data_dir`"), "{error}");
    let config = parse("[node]\nkey_file = \"keys/id.key\"\n").unwrap();
    assert_eq!(config.node.key_file, Path::new("/etc/parley/keys/id.key"));
}

#[test]
fn unknown_section_is_named() {
    let error = parse("[chian]\nplugin = \"sim-chain\"\n").unwrap_err();
    assert_eq!(error.key, "chian");
    assert!(error.message.contains("`chain`"), "{error}");
}

#[test]
fn wrong_types_are_named() {
    let error = parse("[store]\nplugin = 5\n").unwrap_err();
    assert_eq!(error.key, "store.plugin");
    assert!(error.message.contains("expected a string"), "{error}");
    let error = parse("node = 3\n").unwrap_err();
    assert_eq!(error.key, "node");
}

#[test]
fn bad_values_are_explained() {
    let error = parse("[node]\nlog_format = \"xml\"\n").unwrap_err();
    assert_eq!(error.key, "node.log_format");
    let error = parse("[chain]\nplugin = \"\"\n").unwrap_err();
    assert_eq!(error.key, "chain.plugin");
    let error = parse("[chain]\nplugin = \"sim chain\"\n").unwrap_err();
    assert_eq!(error.key, "chain.plugin");
}

#[test]
fn invalid_toml_gives_the_line() {
    let error = parse("[node]\ndata_dir = \n").unwrap_err();
    assert!(error.message.contains("line 2"), "{error}");
}

#[test]
fn api_defaults_to_loopback_with_a_free_port() {
    let config = parse("").unwrap();
    assert_eq!(config.api.listen, "127.0.0.1:0".parse().unwrap());
    assert!(!config.api.allow_non_loopback);
    let config = parse("[api]\nlisten = \"[::1]:7150\"\n").unwrap();
    assert_eq!(config.api.listen, "[::1]:7150".parse().unwrap());
}

#[test]
fn api_listen_must_be_an_address_and_port() {
    for bad in ["localhost:7150", "127.0.0.1", "127.0.0.1:99999", ""] {
        let error = parse(&format!("[api]\nlisten = \"{bad}\"\n")).unwrap_err();
        assert_eq!(error.key, "api.listen", "{bad}: {error}");
        assert!(error.message.contains("IP address and port"), "{error}");
        assert!(error.to_string().contains("/etc/parley/node.toml"));
    }
    let error = parse("[api]\nlisten = 7150\n").unwrap_err();
    assert_eq!(error.key, "api.listen");
    assert!(error.message.contains("expected a string"), "{error}");
}

#[test]
fn api_non_loopback_needs_explicit_permission() {
    let error = parse("[api]\nlisten = \"0.0.0.0:7150\"\n").unwrap_err();
    assert_eq!(error.key, "api.listen");
    assert!(error.message.contains("not a loopback address"), "{error}");
    assert!(error.message.contains("allow_non_loopback"), "{error}");
    let config = parse("[api]\nlisten = \"0.0.0.0:7150\"\nallow_non_loopback = true\n").unwrap();
    assert!(config.api.allow_non_loopback);
    assert_eq!(config.api.server_config().listen, config.api.listen);
}

#[test]
fn api_bad_keys_and_types_are_named() {
    let error = parse("[api]\nlsiten = \"127.0.0.1:0\"\n").unwrap_err();
    assert_eq!(error.key, "api.lsiten");
    assert!(error.message.contains("`listen`"), "{error}");
    let error = parse("[api]\nallow_non_loopback = \"yes\"\n").unwrap_err();
    assert_eq!(error.key, "api.allow_non_loopback");
    assert!(error.message.contains("true or false"), "{error}");
}

#[test]
fn policy_defaults_and_values() {
    let config = parse("").unwrap();
    assert_eq!(config.policy, PolicySection::default());
    assert!(!config.policy.auto_accepts(Some("bob"), "0x02"));
    let config = parse(
        "[policy]\nauto_accept_from = [\"bob\"]\nmax_auto_deposit = \"1000\"\n\
         proposal_timeout_seconds = 5\nchallenge_seconds = 30\n",
    )
    .unwrap();
    assert!(config.policy.auto_accepts(Some("bob"), "0x02"));
    assert!(!config.policy.auto_accepts(Some("carol"), "0x03"));
    assert_eq!(
        config.policy.max_auto_deposit,
        parley_plugin_api::model::Amount::from(1000u64)
    );
    assert_eq!(config.policy.proposal_timeout.as_secs(), 5);
    assert_eq!(config.policy.challenge_seconds, 30);
    let any = parse("[policy]\nauto_accept_from = [\"*\"]\n").unwrap();
    assert!(any.policy.auto_accepts(None, "0x04"));
}

#[test]
fn incoming_updates_are_answered_by_the_node_unless_the_user_is_asked() {
    let default = parse("").unwrap();
    assert_eq!(default.policy.incoming, IncomingUpdates::default());
    assert_eq!(default.policy.incoming.payments, Answerer::Node);
    let by_node = "[policy]\nincoming_payments = \"accept\"\nincoming_moves = \"accept\"\nincoming_other = \"reject\"\n";
    assert_eq!(
        parse(by_node).unwrap().policy.incoming,
        IncomingUpdates::default()
    );
    let asking = parse("[policy]\nincoming_moves = \"ask\"\nincoming_other = \"ask\"\n").unwrap();
    assert_eq!(
        asking.policy.incoming,
        IncomingUpdates {
            payments: Answerer::Node,
            moves: Answerer::User,
            other: Answerer::User,
        }
    );
    let error = parse("[policy]\nincoming_other = \"accept\"\n").unwrap_err();
    assert!(error.message.contains("\"reject\""), "{error}");
    assert!(error.message.contains("\"ask\""), "{error}");
}

#[test]
fn policy_errors_name_the_key() {
    for (text, key) in [
        ("[policy]\nauto_accept = []\n", "policy.auto_accept"),
        (
            "[policy]\nauto_accept_from = \"bob\"\n",
            "policy.auto_accept_from",
        ),
        (
            "[policy]\nauto_accept_from = [1]\n",
            "policy.auto_accept_from",
        ),
        (
            "[policy]\nmax_auto_deposit = \"lots\"\n",
            "policy.max_auto_deposit",
        ),
        (
            "[policy]\nmax_auto_deposit = -1\n",
            "policy.max_auto_deposit",
        ),
        (
            "[policy]\nchallenge_seconds = 0\n",
            "policy.challenge_seconds",
        ),
        (
            "[policy]\nchallenge_seconds = 99999999999\n",
            "policy.challenge_seconds",
        ),
        (
            "[policy]\nupdate_timeout_seconds = \"5\"\n",
            "policy.update_timeout_seconds",
        ),
        (
            "[policy]\npeer_conclude_timeout_seconds = 0\n",
            "policy.peer_conclude_timeout_seconds",
        ),
        (
            "[policy]\nincoming_payments = \"reject\"\n",
            "policy.incoming_payments",
        ),
        ("[policy]\nincoming_moves = true\n", "policy.incoming_moves"),
        (
            "[policy]\nincoming_other = \"accept\"\n",
            "policy.incoming_other",
        ),
    ] {
        let error = parse(text).unwrap_err();
        assert_eq!(error.key, key, "{text}: {error}");
    }
}

#[test]
fn timeouts_the_clock_cannot_reach_are_refused() {
    // The node adds each timeout to the current time, and `Instant::now() +
    // 9223372036854775807 s` overflows: the proposal dispatcher panicked when a peer's
    // proposal arrived. The config fuzz target checks every accepted timeout for this.
    for key in [
        "proposal_timeout_seconds",
        "funding_timeout_seconds",
        "update_timeout_seconds",
    ] {
        let error = parse(&format!("[policy]\n{key} = 9223372036854775807\n")).unwrap_err();
        assert_eq!(error.key, format!("policy.{key}"), "{error}");
        assert!(error.message.contains("one year"), "{error}");
        let year = parse(&format!("[policy]\n{key} = {MAX_TIMEOUT_SECONDS}\n")).unwrap();
        let longest = year
            .policy
            .proposal_timeout
            .max(year.policy.funding_timeout);
        let longest = longest.max(year.policy.update_timeout);
        assert_eq!(longest.as_secs(), MAX_TIMEOUT_SECONDS);
        assert!(std::time::Instant::now().checked_add(longest).is_some());
    }
}

#[test]
fn the_shipped_node_toml_parses() {
    let text = include_str!("../../../node.toml");
    let config = parse(text).unwrap();
    assert!(config.policy.auto_accept_from.is_empty());
    assert_eq!(config.limits, LimitsSection::default());
}

#[test]
fn testing_is_off_unless_the_master_switch_is_on() {
    let config = parse("").unwrap();
    assert_eq!(config.testing, TestingSection::default());
    assert!(!config.testing.allow_misbehaviour);
    let config = parse("[testing]\nallow_misbehaviour = true\nwithhold_deposits = true\n").unwrap();
    assert!(config.testing.allow_misbehaviour && config.testing.withhold_deposits);
    let config =
        parse("[testing]\nallow_misbehaviour = true\nwithhold_conclude_final = true\n").unwrap();
    assert!(config.testing.withhold_conclude_final && !config.testing.withhold_deposits);
    for (text, key) in [
        (
            "[testing]\nwithhold_deposits = true\n",
            "testing.withhold_deposits",
        ),
        (
            "[testing]\nwithhold_conclude_final = true\n",
            "testing.withhold_conclude_final",
        ),
        (
            "[testing]\nallow_misbehavior = true\n",
            "testing.allow_misbehavior",
        ),
        (
            "[testing]\nallow_misbehaviour = \"yes\"\n",
            "testing.allow_misbehaviour",
        ),
    ] {
        let error = parse(text).unwrap_err().to_string();
        assert!(error.contains(key), "{text}: {error}");
    }
    let error = parse("[testing]\nwithhold_deposits = true\n")
        .unwrap_err()
        .to_string();
    assert!(error.contains("allow_misbehaviour = true"), "{error}");
}

#[test]
fn an_unknown_log_level_is_refused_with_the_levels() {
    // EnvFilter alone reads a bare word as a target to log at every level, and so silences
    // everything else: "loud" must be an error, not a silent node.
    for bad in ["loud", "verbose", "info,chatty", "parley=loud", ""] {
        let error = parse(&format!("[node]\nlog_level = \"{bad}\"\n")).unwrap_err();
        assert_eq!(error.key, "node.log_level", "{bad}: {error}");
        assert!(
            error
                .message
                .contains("trace, debug, info, warn, error, off"),
            "{bad}: {error}"
        );
        assert!(
            error.to_string().contains("/etc/parley/node.toml"),
            "{error}"
        );
    }
    for good in ["debug", "parley=debug,warn", "warn,parley::client=trace"] {
        let config = parse(&format!("[node]\nlog_level = \"{good}\"\n")).unwrap();
        assert_eq!(config.node.log_level, good);
    }
}

#[test]
fn a_bad_log_format_is_refused_with_the_formats() {
    for bad in ["\"xml\"", "\"JSON\"", "1"] {
        let error = parse(&format!("[node]\nlog_format = {bad}\n")).unwrap_err();
        assert_eq!(error.key, "node.log_format", "{bad}: {error}");
    }
    let error = parse("[node]\nlog_format = \"xml\"\n").unwrap_err();
    assert!(error.message.contains("\"text\" or \"json\""), "{error}");
    let config = parse("[node]\nlog_format = \"json\"\n").unwrap();
    assert_eq!(config.node.log_format, LogFormat::Json);
}

#[test]
fn every_misbehaviour_switch_needs_the_master_switch() {
    let switches = [
        "withhold_deposits",
        "propose_app",
        "propose_locked",
        "propose_virtual",
        "update_app_data",
        "update_locked",
        "fork_on_sync",
        "withhold_conclude_final",
        "silent_race_winner",
    ];
    for key in switches {
        let error = parse(&format!("[testing]\n{key} = true\n"))
            .unwrap_err()
            .to_string();
        assert!(error.contains(&format!("testing.{key}")), "{error}");
        assert!(error.contains("allow_misbehaviour = true"), "{error}");
        let allowed = parse(&format!(
            "[testing]\nallow_misbehaviour = true\n{key} = true\n"
        ))
        .unwrap();
        assert_eq!(allowed.testing.misbehaviours(), vec![key], "{key}");
    }
    let off = parse("[testing]\nallow_misbehaviour = true\nfork_on_sync = false\n").unwrap();
    assert!(off.testing.misbehaviours().is_empty());
}

#[test]
fn limits_default_without_the_section_and_take_each_key() {
    assert_eq!(parse("").unwrap().limits, LimitsSection::default());
    let config = parse(
        "[limits]\nhandshake_frame_bytes = 1024\nframes_per_second = 50\n\
         frames_in_flight = 64\nbytes_in_flight = 2097152\nopen_proposals = 2\n\
         pending_handshakes = 8\n",
    )
    .unwrap();
    assert_eq!(
        config.limits,
        LimitsSection {
            handshake_frame_bytes: 1024,
            frames_per_second: 50,
            frames_in_flight: 64,
            bytes_in_flight: 2 << 20,
            open_proposals: 2,
            pending_handshakes: 8,
        }
    );
}

#[test]
fn every_bad_limit_is_refused_by_name() {
    for (text, key) in [
        (
            "handshake_frame_bytes = 100",
            "limits.handshake_frame_bytes",
        ),
        (
            "handshake_frame_bytes = 2097152",
            "limits.handshake_frame_bytes",
        ),
        ("frames_per_second = 0", "limits.frames_per_second"),
        ("frames_per_second = -5", "limits.frames_per_second"),
        ("frames_per_second = \"fast\"", "limits.frames_per_second"),
        ("frames_in_flight = 1", "limits.frames_in_flight"),
        ("frames_in_flight = 1.5", "limits.frames_in_flight"),
        ("bytes_in_flight = 1000", "limits.bytes_in_flight"),
        ("open_proposals = 0", "limits.open_proposals"),
        ("open_proposals = true", "limits.open_proposals"),
        ("pending_handshakes = 0", "limits.pending_handshakes"),
        ("frames_per_secnd = 5", "limits.frames_per_secnd"),
    ] {
        let error = parse(&format!("[limits]\n{text}\n")).unwrap_err();
        assert_eq!(error.key, key, "{text}: {error}");
        assert!(
            error.message.contains("expected"),
            "{text}: the message says what is expected: {error}"
        );
    }
    let error = parse("limits = 5\n").unwrap_err();
    assert_eq!(error.key, "limits");
}

#[test]
fn the_hub_serves_nothing_unless_turned_on() {
    assert_eq!(parse("").unwrap().hub, HubSection::default());
    assert!(!HubSection::default().serve);
    let config = parse(
        "[hub]\nserve = true\nmax_lock = \"5000\"\npending_per_peer = 3\nhold_seconds = 30\n\
         fee_base = \"5\"\nfee_ppm = 1000\n",
    )
    .unwrap();
    use parley_plugin_api::model::Amount;
    assert_eq!(
        config.hub,
        HubSection {
            serve: true,
            max_lock: Some(Amount::from(5000u64)),
            pending_per_peer: 3,
            hold: std::time::Duration::from_secs(30),
            fee_base: Amount::from(5u64),
            fee_ppm: 1000,
        }
    );
    // 5 plus a thousandth of the total, rounded up.
    assert_eq!(
        config.hub.fee_for(Amount::from(3000u64)),
        Some(Amount::from(8u64))
    );
    assert_eq!(
        config.hub.fee_for(Amount::from(3001u64)),
        Some(Amount::from(9u64))
    );
    assert_eq!(
        HubSection::default().fee_for(Amount::from(3000u64)),
        Some(Amount::ZERO)
    );
    for (text, key) in [
        ("serve = \"yes\"", "hub.serve"),
        ("max_lock = \"lots\"", "hub.max_lock"),
        ("max_lock = -1", "hub.max_lock"),
        ("pending_per_peer = 0", "hub.pending_per_peer"),
        ("hold_seconds = 0", "hub.hold_seconds"),
        ("fee = 1", "hub.fee"),
        ("fee_base = \"free\"", "hub.fee_base"),
        ("fee_ppm = 1000001", "hub.fee_ppm"),
        ("fee_ppm = \"1\"", "hub.fee_ppm"),
    ] {
        let error = parse(&format!("[hub]\n{text}\n")).unwrap_err();
        assert_eq!(error.key, key, "{text}: {error}");
        assert!(
            error.message.contains("expected"),
            "{text}: the message says what is expected: {error}"
        );
    }
}
