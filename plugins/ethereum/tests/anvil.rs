//! The plugin against a real local chain: anvil (from contracts/node_modules) with the
//! committed contract artifacts deployed. Runs the plugin-api chain conformance suite (directly
//! and through the plugin boundary's FFI wrappers, the path `parley plugin check` takes), checks
//! the Rust encoding against the contracts' own `channelID`/`hashState`, prints the gas of
//! each operation, and sends contract creations through the one transaction path (`tx`), the
//! way `parley eth deploy` does.
//!
//! Skipped, with a message, only when the contract artifacts have not been built yet.

use ethers_core::abi::{Abi, Token};
use ethers_core::types::{Address as H160, TransactionRequest, U256};
use ethers_providers::{Http, Middleware, Provider};
use k256::ecdsa::SigningKey;
use parley_ethereum::abi::{self as eth_abi, functions, selector};
use parley_ethereum::crypto::account_address;
use parley_ethereum::rpc::Rpc;
use parley_ethereum::tx::{Call, GasPricing, Sender, TxSettings};
use parley_ethereum::{Ethereum, RpcError};
use parley_plugin_api::conformance::{chain, TestHost};
use parley_plugin_api::model::{
    Allocation, Amount, Asset, ChannelId, ConcludeFinalRequest, ConcludeRequest, DepositRequest,
    DisputePhase, Params, Participant, RegisterRequest, SignedState, State, WithdrawRequest,
};
use parley_plugin_api::{ChainBackend, ChainLedger, ChainSigner, ErrorKind, Host, TestClock};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn artifact(name: &str) -> Option<serde_json::Value> {
    let path = repo_root().join(format!("contracts/artifacts/{name}.json"));
    let text = std::fs::read_to_string(path).ok()?;
    Some(serde_json::from_str(&text).expect("an artifact is not JSON"))
}

/// An artifact's bytecode followed by the ABI-encoded constructor `args`.
fn creation_code(name: &str, args: &[Token]) -> Vec<u8> {
    let artifact = artifact(name).unwrap();
    let code = artifact["bytecode"].as_str().unwrap();
    let mut data = hex::decode(code.trim_start_matches("0x")).unwrap();
    data.extend(ethers_core::abi::encode(args));
    data
}

fn artifacts_present() -> bool {
    let present = [
        "Adjudicator",
        "AssetHolderETH",
        "AssetHolderERC20",
        "PerunToken",
    ]
    .iter()
    .all(|name| artifact(name).is_some());
    if !present {
        eprintln!(
            "SKIPPED: contracts/artifacts/*.json are not built yet (run contracts/scripts/compile.mjs)"
        );
    }
    present
}

fn anvil_binary() -> PathBuf {
    let contracts = repo_root().join("contracts");
    let binary = contracts.join("node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil");
    if !binary.exists() {
        let status = Command::new("bash")
            .arg(contracts.join("scripts/install.sh"))
            .current_dir(&contracts)
            .status()
            .expect("cannot run contracts/scripts/install.sh");
        assert!(status.success(), "contracts/scripts/install.sh failed");
    }
    assert!(binary.exists(), "no anvil at {}", binary.display());
    binary
}

/// A running anvil with the contracts deployed; killed on drop.
struct Anvil {
    child: Child,
    url: String,
    keys: Vec<String>,
    adjudicator: H160,
    eth_holder: H160,
    token: H160,
    token_holder: H160,
    runtime: tokio::runtime::Runtime,
    provider: Provider<Http>,
}

impl Drop for Anvil {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Anvil {
    fn start(extra: &[&str]) -> Anvil {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = Command::new(anvil_binary())
            .args([
                "--host",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--accounts",
                "3",
            ])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("cannot start anvil");
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let mut keys = Vec::new();
        for line in stdout.lines() {
            let line = line.unwrap();
            if line.starts_with('(')
                && line.contains(") 0x")
                && line.len() > 60
                && !line.contains("ETH")
            {
                keys.push(line.split_whitespace().nth(1).unwrap().to_string());
            }
            if line.contains("Listening on") {
                break;
            }
        }
        assert!(keys.len() >= 2, "anvil printed {} private keys", keys.len());
        let url = format!("http://127.0.0.1:{port}");
        let provider = Provider::<Http>::try_from(url.as_str()).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let mut anvil = Anvil {
            child,
            url,
            keys,
            adjudicator: H160::zero(),
            eth_holder: H160::zero(),
            token: H160::zero(),
            token_holder: H160::zero(),
            runtime,
            provider,
        };
        anvil.deploy_all();
        anvil
    }

    fn accounts(&self) -> Vec<H160> {
        self.runtime.block_on(self.provider.get_accounts()).unwrap()
    }

    /// Deploys one artifact from anvil's first (unlocked) account, mining explicitly so that
    /// it works with `--no-mining` too.
    fn deploy(&self, name: &str, args: &[Token]) -> H160 {
        let from = self.accounts()[0];
        let tx = TransactionRequest::new()
            .from(from)
            .data(creation_code(name, args))
            .gas(15_000_000u64);
        let hash = self
            .runtime
            .block_on(self.provider.send_transaction(tx, None))
            .unwrap()
            .tx_hash();
        self.mine();
        let receipt = self
            .runtime
            .block_on(self.provider.get_transaction_receipt(hash))
            .unwrap()
            .expect("no receipt for a deployment");
        assert_eq!(receipt.status, Some(1u64.into()), "deploying {name} failed");
        receipt.contract_address.unwrap()
    }

    fn mine(&self) {
        let _: serde_json::Value = self
            .runtime
            .block_on(self.provider.request("evm_mine", Vec::<u8>::new()))
            .unwrap();
    }

    fn deploy_all(&mut self) {
        let accounts = self.accounts();
        self.adjudicator = self.deploy("Adjudicator", &[]);
        self.eth_holder = self.deploy("AssetHolderETH", &[Token::Address(self.adjudicator)]);
        let supply = U256::exp10(24);
        self.token = self.deploy(
            "PerunToken",
            &[
                Token::Array(accounts[..2].iter().map(|a| Token::Address(*a)).collect()),
                Token::Uint(supply),
            ],
        );
        self.token_holder = self.deploy(
            "AssetHolderERC20",
            &[Token::Address(self.adjudicator), Token::Address(self.token)],
        );
    }

    /// The plugin's table with key files for the first two accounts, written under `dir`.
    fn table(&self, dir: &Path, extra: &str) -> String {
        let mut files = Vec::new();
        for (i, key) in self.keys[..2].iter().enumerate() {
            let path = dir.join(format!("key-{i}"));
            std::fs::write(&path, key).unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
            files.push(format!("\"{}\"", path.display()));
        }
        format!(
            "rpc_url = \"{}\"\nchain_id = 31337\nadjudicator = \"{:?}\"\neth_holder = \"{:?}\"\n\
             key_files = [{}]\npoll_interval_ms = 50\n{extra}\n\
             [[erc20]]\nname = \"PRN\"\ntoken = \"{:?}\"\nholder = \"{:?}\"\n",
            self.url,
            self.adjudicator,
            self.eth_holder,
            files.join(", "),
            self.token,
            self.token_holder
        )
    }

    fn call(&self, to: H160, data: Vec<u8>) -> Vec<u8> {
        let tx = TransactionRequest::new().to(to).data(data).into();
        self.runtime
            .block_on(self.provider.call(&tx, None))
            .unwrap()
            .to_vec()
    }
}

#[test]
fn conformance_suite_passes_on_anvil() {
    if !artifacts_present() {
        return;
    }
    let anvil = Anvil::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let table = anvil.table(dir.path(), "");
    let report = chain::run(&|context| {
        Ok(Box::new(Ethereum::new(&table, Host::new(context))?) as Box<dyn ChainBackend>)
    });
    report.assert_passed(15);
}

#[test]
fn conformance_suite_passes_through_the_ffi_wrappers() {
    if !artifacts_present() {
        return;
    }
    let anvil = Anvil::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let table = anvil.table(dir.path(), "");
    let report = chain::run(&|context| {
        let host = Host::new(context);
        let chain = Ethereum::new(&table, host.clone())?;
        let exported = parley_plugin_api::chain::export_chain(chain, host);
        Ok(Box::new(parley_plugin_api::LoadedChain::new(exported)) as Box<dyn ChainBackend>)
    });
    report.assert_passed(15);
}

#[test]
fn the_selectors_match_the_artifacts_abi() {
    if !artifacts_present() {
        return;
    }
    let selectors = |name: &str| -> Vec<[u8; 4]> {
        let abi: Abi = serde_json::from_value(artifact(name).unwrap()["abi"].clone()).unwrap();
        abi.functions().map(|f| f.short_signature()).collect()
    };
    let adjudicator = selectors("Adjudicator");
    for signature in [
        functions::register(),
        functions::progress(),
        functions::conclude(),
        functions::conclude_final(),
        functions::DISPUTES.to_string(),
    ] {
        assert!(
            adjudicator.contains(&selector(&signature)),
            "the Adjudicator has no {signature}"
        );
    }
    for holder in ["AssetHolderETH", "AssetHolderERC20"] {
        let found = selectors(holder);
        for signature in [
            functions::DEPOSIT.to_string(),
            functions::HOLDINGS.to_string(),
            functions::withdraw(),
        ] {
            assert!(
                found.contains(&selector(&signature)),
                "{holder} has no {signature}"
            );
        }
    }
}

/// Two parties, one asset: the plugin's ids and digests equal the contracts' own.
#[test]
fn channel_id_and_state_hash_equal_the_contracts() {
    if !artifacts_present() {
        return;
    }
    let anvil = Anvil::start(&[]);
    let (params, state) = sample(&anvil.accounts(), anvil.eth_holder, [1; 32]);
    let id = anvil.call(
        anvil.adjudicator,
        eth_abi::call_data(
            "channelID((uint256,uint256,(address,bytes)[],address,bool,bool))",
            &[eth_abi::params_token(&params).unwrap()],
        ),
    );
    assert_eq!(id, eth_abi::channel_id(&params).unwrap().0.to_vec());
    let hash = anvil.call(
        anvil.adjudicator,
        eth_abi::call_data(
            &format!("hashState({})", eth_abi::STATE),
            &[eth_abi::state_token(&state).unwrap()],
        ),
    );
    assert_eq!(hash, eth_abi::state_hash(&state).unwrap().to_vec());
}

fn sample(accounts: &[H160], holder: H160, nonce: [u8; 32]) -> (Params, State) {
    let params = Params {
        participants: accounts[..2]
            .iter()
            .map(|a| Participant(a.as_bytes().to_vec()))
            .collect(),
        challenge_duration: 60,
        nonce,
        app: None,
        ledger_channel: true,
        virtual_channel: false,
    };
    let state = State {
        channel_id: eth_abi::channel_id(&params).unwrap(),
        version: 0,
        allocation: Allocation {
            assets: vec![Asset {
                chain_id: 31337,
                holder: eth_abi::model_address(holder),
            }],
            balances: vec![vec![Amount::from(100u64), Amount::from(200u64)]],
            locked: vec![],
        },
        app_data: Default::default(),
        is_final: false,
    };
    (params, state)
}

fn signed(chain: &Ethereum, params: &Params, state: &State) -> SignedState {
    SignedState {
        params: params.clone(),
        state: state.clone(),
        sigs: params
            .participants
            .iter()
            .map(|p| chain.sign_state(p, state).unwrap())
            .collect(),
    }
}

/// deposit, register, conclude, withdraw and conclude_final by hand, printing the gas of each.
#[test]
fn a_dispute_and_a_cooperative_close_with_gas_figures() {
    if !artifacts_present() {
        return;
    }
    let anvil = Anvil::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let host = TestHost::new("chain");
    let chain = Ethereum::new(&anvil.table(dir.path(), ""), Host::new(host.context())).unwrap();
    let [a, b]: [Participant; 2] = chain.accounts().unwrap().try_into().unwrap();
    let info = chain.info().unwrap();
    let (eth, prn) = (info.assets[0].asset.clone(), info.assets[1].asset.clone());

    // Channel 1: deposits, a dispute, conclude after the timeout, withdrawals.
    let (params, mut state) = sample(&anvil.accounts(), anvil.eth_holder, [7; 32]);
    assert_eq!(chain.channel_id(&params).unwrap(), state.channel_id);
    let deposit = |from: &Participant, asset: &Asset, value: u64, channel: ChannelId| {
        chain
            .deposit(&DepositRequest {
                from: from.clone(),
                channel_id: channel,
                participant: from.clone(),
                asset: asset.clone(),
                amount: Amount::from(value),
            })
            .unwrap()
    };
    let eth_deposit = deposit(&a, &eth, 100, state.channel_id);
    deposit(&b, &eth, 200, state.channel_id);
    state.version = 1;
    state.allocation.balances[0] = vec![Amount::from(120u64), Amount::from(180u64)];
    let register = chain
        .register(&RegisterRequest {
            from: a.clone(),
            channel: signed(&chain, &params, &state),
            sub_channels: vec![],
        })
        .unwrap();
    let dispute = chain.dispute(&state.channel_id).unwrap().unwrap();
    assert_eq!((dispute.version, dispute.phase), (1, DisputePhase::Dispute));
    let early = chain
        .conclude(&ConcludeRequest {
            from: a.clone(),
            params: params.clone(),
            state: state.clone(),
            sub_states: vec![],
        })
        .unwrap_err();
    assert_eq!(early.kind, ErrorKind::Rejected, "{early}");
    println!("conclude before the timeout: {early}");
    chain.advance_time(61).unwrap();
    let conclude = chain
        .conclude(&ConcludeRequest {
            from: a.clone(),
            params: params.clone(),
            state: state.clone(),
            sub_states: vec![],
        })
        .unwrap();
    let withdraw = chain
        .withdraw(&WithdrawRequest {
            from: a.clone(),
            channel_id: state.channel_id,
            participant: a.clone(),
            receiver: a.clone(),
            assets: vec![eth.clone()],
        })
        .unwrap();
    assert_eq!(withdraw.amounts, vec![Amount::from(120u64)]);

    // Channel 2: ETH and the token, closed cooperatively.
    let (params2, mut state2) = sample(&anvil.accounts(), anvil.eth_holder, [8; 32]);
    state2.allocation.assets.push(prn.clone());
    state2
        .allocation
        .balances
        .push(vec![Amount::from(5u64), Amount::from(0u64)]);
    deposit(&a, &eth, 100, state2.channel_id);
    deposit(&b, &eth, 200, state2.channel_id);
    let token_deposit = deposit(&a, &prn, 5, state2.channel_id);
    state2.version = 1;
    state2.is_final = true;
    let conclude_final = chain
        .conclude_final(&ConcludeFinalRequest {
            from: b.clone(),
            channel: signed(&chain, &params2, &state2),
        })
        .unwrap();
    let token_withdraw = chain
        .withdraw(&WithdrawRequest {
            from: a.clone(),
            channel_id: state2.channel_id,
            participant: a.clone(),
            receiver: a.clone(),
            assets: vec![eth.clone(), prn.clone()],
        })
        .unwrap();
    assert_eq!(
        token_withdraw.amounts,
        vec![Amount::from(100u64), Amount::from(5u64)]
    );

    println!("gas: deposit ETH        {}", eth_deposit.fee_units);
    println!("gas: approve+deposit ERC20 {}", token_deposit.fee_units);
    println!("gas: register           {}", register.fee_units);
    println!("gas: conclude           {}", conclude.fee_units);
    println!("gas: withdraw ETH       {}", withdraw.fee_units);
    println!("gas: conclude_final     {}", conclude_final.fee_units);
    println!("gas: withdraw ETH+ERC20 {}", token_withdraw.fee_units);
    for receipt in [
        &eth_deposit,
        &register,
        &conclude,
        &withdraw,
        &conclude_final,
    ] {
        assert!(receipt.fee_units > 21_000, "{receipt:?}");
        assert_eq!(receipt.tx_id.0.len(), 32);
    }
}

#[test]
fn an_unmined_transaction_is_a_timeout_and_a_dead_node_is_unavailable() {
    if !artifacts_present() {
        return;
    }
    let anvil = Anvil::start(&["--no-mining"]);
    let dir = tempfile::tempdir().unwrap();
    let host = TestHost::new("chain");
    let chain = Ethereum::new(
        &anvil.table(dir.path(), "tx_timeout_seconds = 1"),
        Host::new(host.context()),
    )
    .unwrap();
    let a = chain.accounts().unwrap()[0].clone();
    let error = chain
        .deposit(&DepositRequest {
            from: a.clone(),
            channel_id: ChannelId([3; 32]),
            participant: a,
            asset: chain.info().unwrap().assets[0].asset.clone(),
            amount: Amount::from(1u64),
        })
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::Timeout, "{error}");
    assert!(error.message().contains("may still be included"), "{error}");

    let table = anvil
        .table(dir.path(), "")
        .replace(&anvil.url, "http://127.0.0.1:9");
    let error = Ethereum::new(&table, Host::new(host.context()))
        .err()
        .unwrap();
    assert_eq!(error.kind, ErrorKind::Unavailable, "{error}");
}

/// A deployment whose Adjudicator or holder does not speak Perun v1.0.0's `setOutcome` could
/// never pay a concluded channel out: the plugin refuses it by name before anything is
/// deposited. (The token contract stands in for a contract with code but another ABI.)
#[test]
fn a_contract_without_the_v1_set_outcome_is_refused_by_name() {
    if !artifacts_present() {
        return;
    }
    let anvil = Anvil::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let host = TestHost::new("chain");
    let good = anvil.table(dir.path(), "");
    Ethereum::new(&good, Host::new(host.context())).expect("the project's deployment is v1.0.0");
    let token = format!("{:?}", anvil.token);
    for (key, address) in [
        ("eth_holder", anvil.eth_holder),
        ("adjudicator", anvil.adjudicator),
    ] {
        let table = good.replace(
            &format!("{key} = \"{address:?}\""),
            &format!("{key} = \"{token}\""),
        );
        assert_ne!(table, good, "{key} not replaced");
        let error = Ethereum::new(&table, Host::new(host.context()))
            .err()
            .unwrap();
        assert_eq!(error.kind, ErrorKind::InvalidConfig, "{error}");
        let message = error.message();
        assert!(message.contains(&token), "{message}");
        assert!(
            message.contains("setOutcome(bytes32,(address,bytes)[],uint256[])"),
            "{message}"
        );
        assert!(message.contains("0x295482ce"), "{message}");
    }
}

/// The path `parley eth deploy` takes: a contract creation is estimated, priced (EIP-1559 as
/// anvil offers, or legacy at the node's gas price), signed, sent and confirmed, and the new
/// address holds code; a creation whose constructor reverts is refused before anything is
/// sent, and a sender without ether is refused by the node.
#[test]
fn creations_go_through_the_one_send_path() {
    if !artifacts_present() {
        return;
    }
    let anvil = Anvil::start(&[]);
    let rpc = Arc::new(Rpc::connect(&anvil.url, 1, || {}).unwrap());
    assert_eq!(rpc.chain_id(), 31337);
    let offered = GasPricing::offered_by(&rpc).unwrap();
    assert_eq!(offered.to_string(), "EIP-1559 fees");
    let sender = |gas| {
        let settings = TxSettings {
            gas,
            gas_limit_multiplier: 1.2,
            timeout: Duration::from_secs(30),
            poll_interval: Duration::from_millis(50),
        };
        Sender::new(Arc::clone(&rpc), settings)
    };
    let key = SigningKey::from_slice(&hex::decode(&anvil.keys[0][2..]).unwrap()).unwrap();
    let from = account_address(key.verifying_key());
    let create = |from, data| Call {
        from,
        to: None,
        data,
        value: U256::zero(),
    };
    let holder = creation_code("AssetHolderETH", &[Token::Address(anvil.adjudicator)]);
    for gas in [offered, GasPricing::Legacy(None)] {
        let sender = sender(gas.clone());
        let prepared = sender
            .prepare(create(from, holder.clone()), "deploying")
            .unwrap();
        assert!(prepared.max_cost() > prepared.gas_limit(), "{gas:?}");
        let sent = sender.send_prepared(&key, prepared, "deploying").unwrap();
        let address = sent.contract.expect("a creation names its contract");
        assert!(!rpc.code(address).unwrap().is_empty(), "{gas:?}");
        assert!(sent.gas_used > 21_000 && sent.block > 0, "{sent:?}");
    }

    let sender = sender(GasPricing::offered_by(&rpc).unwrap());
    // Two accounts of 2^255 tokens each overflow PerunToken's total supply.
    let accounts = anvil.accounts();
    let overflow = creation_code(
        "PerunToken",
        &[
            Token::Array(vec![
                Token::Address(accounts[0]),
                Token::Address(accounts[1]),
            ]),
            Token::Uint(U256::one() << 255),
        ],
    );
    let error = sender
        .prepare(create(from, overflow), "deploying PerunToken")
        .unwrap_err();
    assert!(
        matches!(&error, RpcError::Reverts { reason, .. } if reason == "panic 0x11"),
        "{error:?}"
    );

    let poor = SigningKey::from_slice(&[0x11; 32]).unwrap();
    let error = sender
        .send(
            &poor,
            create(account_address(poor.verifying_key()), holder),
            "deploying",
        )
        .unwrap_err();
    assert!(matches!(error, RpcError::CannotPay { .. }), "{error:?}");
}
