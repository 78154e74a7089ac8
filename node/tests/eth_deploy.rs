//! `parley eth deploy` against a real anvil (from contracts/node_modules): the printed `[chain]`
//! table and `[[apps]]` entries name contracts that exist, a node.toml made of them loads the
//! Ethereum plugin as-is
//! (`parley chain info|accounts|balance`), the token went to the right accounts; and the
//! failures an operator meets (unreachable node, exposed or malformed key file, unfunded
//! deployer, a constructor that reverts) are explained, with nothing on stdout.
//!
//! Needs `cargo build --workspace` first (the plugin library next to the `parley` binary).

mod common;
use common::plugin;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
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

/// A port nothing listens on (bound, then released).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running anvil with its dev accounts; killed on drop.
struct Anvil {
    child: Child,
    url: String,
    /// Account addresses, as anvil prints them.
    accounts: Vec<String>,
    /// Their secret keys, 0x and 64 hex digits.
    keys: Vec<String>,
}

impl Drop for Anvil {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Anvil {
    fn start() -> Anvil {
        let port = free_port();
        let mut child = Command::new(anvil_binary())
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--accounts", "3"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("cannot start anvil");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let (mut accounts, mut keys) = (Vec::new(), Vec::new());
        for line in lines.by_ref() {
            let line = line.unwrap();
            // "(0) 0xf39F... (10000.000000000000000000 ETH)" and "(0) 0xac09...ff80".
            let mut words = line.split_whitespace();
            if let (Some(index), Some(value)) = (words.next(), words.next()) {
                if index.starts_with('(') && value.starts_with("0x") {
                    match value.len() {
                        42 => accounts.push(value.to_owned()),
                        66 => keys.push(value.to_owned()),
                        _ => {}
                    }
                }
            }
            if line.contains("Listening on") {
                break;
            }
        }
        // Keep reading what anvil logs, so that its writes never fail.
        std::thread::spawn(move || lines.for_each(drop));
        assert_eq!((accounts.len(), keys.len()), (3, 3), "anvil's dev accounts");
        Anvil {
            child,
            url: format!("http://127.0.0.1:{port}"),
            accounts,
            keys,
        }
    }

    /// One JSON-RPC call; the result.
    fn rpc(&self, method: &str, params: Value) -> Value {
        let addr = self.url.trim_start_matches("http://");
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let body = body.to_string();
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        write!(
            stream,
            "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let (_, body) = response.split_once("\r\n\r\n").expect("an HTTP response");
        let value: Value = serde_json::from_str(body).expect("a JSON-RPC response");
        value["result"].clone()
    }

    fn has_code(&self, address: &str) -> bool {
        let code = self.rpc("eth_getCode", json!([address, "latest"]));
        code.as_str().is_some_and(|c| c.len() > 2)
    }
}

/// Writes `text` to `path` with `mode`.
fn write_file(path: &Path, text: &str, mode: u32) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Runs `parley` in `dir`.
fn parley(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_parley"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("cannot run parley")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The command succeeded; its stdout.
fn success(output: &Output) -> String {
    assert!(
        output.status.success(),
        "parley failed: {}{}",
        text(&output.stderr),
        text(&output.stdout)
    );
    text(&output.stdout)
}

/// The command failed with nothing on stdout; its stderr.
fn failure(output: &Output) -> String {
    assert!(
        !output.status.success(),
        "parley succeeded: {}",
        text(&output.stdout)
    );
    assert_eq!(text(&output.stdout), "", "stdout must stay empty on errors");
    text(&output.stderr)
}

#[test]
fn the_printed_table_loads_the_plugin_and_the_token_is_minted() {
    plugin("libparley_ethereum.so");
    let anvil = Anvil::start();
    let dir = tempfile::tempdir().unwrap();
    let deployer_key = &anvil.keys[0];
    write_file(&dir.path().join("deployer.key"), deployer_key, 0o600);
    // The node's own account (anvil's second) is not the deployer.
    write_file(&dir.path().join("node.key"), &anvil.keys[1], 0o600);

    let output = parley(
        dir.path(),
        &[
            "eth",
            "deploy",
            "--rpc",
            &anvil.url,
            "--key",
            "deployer.key",
            "--token-name",
            "TOK",
            "--token-supply-to",
            &anvil.accounts[1],
            "--token-amount",
            "5000000",
            "--node-key-file",
            "node.key",
        ],
    );
    let stdout = success(&output);
    let stderr = text(&output.stderr);
    assert!(!stdout.contains(&deployer_key[2..]) && !stderr.contains(&deployer_key[2..]));

    // One progress line per contract, in deployment order, with its gas.
    let progress: Vec<&str> = stderr.lines().filter(|l| l.contains("gas used")).collect();
    let names: Vec<&str> = progress
        .iter()
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "Adjudicator",
            "AssetHolderETH",
            "PerunToken",
            "AssetHolderERC20",
            "TicTacToeApp",
            "HashLockApp"
        ],
        "{stderr}"
    );
    for line in &progress {
        println!("{line}");
    }

    let parsed: toml::Table = toml::from_str(&stdout).expect("the table is TOML");
    let chain = parsed["chain"].as_table().expect("a [chain] table");
    assert_eq!(chain["plugin"].as_str(), Some("ethereum"));
    assert_eq!(chain["rpc_url"].as_str(), Some(anvil.url.as_str()));
    assert_eq!(chain["chain_id"].as_integer(), Some(31337));
    assert_eq!(chain["key_file"].as_str(), Some("node.key"));
    assert_eq!(chain["confirmations"].as_integer(), Some(1));
    let tokens = chain["erc20"].as_array().expect("[[chain.erc20]]");
    assert_eq!(tokens.len(), 1);
    assert_eq!(tokens[0]["name"].as_str(), Some("TOK"));
    assert_eq!(tokens[0]["decimals"].as_integer(), Some(18));
    // After the table, one [[apps]] entry per app contract, its address under the chain id.
    let apps = parsed["apps"].as_array().expect("[[apps]] entries");
    let app = |index: usize, plugin: &str| {
        assert_eq!(apps[index]["plugin"].as_str(), Some(plugin), "{stdout}");
        let addresses = apps[index]["addresses"].as_table().unwrap();
        assert_eq!(addresses.len(), 1, "{stdout}");
        addresses["31337"].as_str().expect("an address string")
    };
    assert_eq!(apps.len(), 2, "{stdout}");
    let addresses = [
        chain["adjudicator"].as_str().unwrap(),
        chain["eth_holder"].as_str().unwrap(),
        tokens[0]["token"].as_str().unwrap(),
        tokens[0]["holder"].as_str().unwrap(),
        app(0, "tictactoe"),
        app(1, "hashlock"),
    ];
    assert_eq!(addresses.len(), progress.len());
    for (address, line) in addresses.iter().zip(&progress) {
        assert!(anvil.has_code(address), "no code at {address}");
        assert!(line.contains(address), "{line} does not name {address}");
    }

    // node.toml = a [node] section and the output exactly as printed (table and apps).
    let config = format!("[node]\ndata_dir = \"data\"\nlog_level = \"warn\"\n\n{stdout}");
    std::fs::write(dir.path().join("node.toml"), config).unwrap();
    let config = ["--config", "node.toml"];

    let info = success(&parley(
        dir.path(),
        &[&["chain", "info"], &config[..]].concat(),
    ));
    assert!(info.contains("chain 31337"), "{info}");
    assert!(info.contains("ETH") && info.contains("TOK"), "{info}");

    let accounts = success(&parley(
        dir.path(),
        &[&["chain", "accounts", "--json"], &config[..]].concat(),
    ));
    let accounts: Value = serde_json::from_str(&accounts).unwrap();
    let accounts = accounts.as_array().unwrap();
    assert_eq!(accounts.len(), 1, "{accounts:?}");
    assert!(
        accounts[0]["address"]
            .as_str()
            .unwrap()
            .eq_ignore_ascii_case(&anvil.accounts[1]),
        "the node's account is its own key's: {accounts:?}"
    );
    assert_eq!(accounts[0]["balances"]["TOK"], "5000000");

    // People read whole units (TOK has 18 decimals); --json keeps base units.
    let text = [&["chain", "balance", "--asset", "TOK"], &config[..]].concat();
    assert_eq!(
        success(&parley(dir.path(), &text)).trim(),
        "0.000000000005 TOK"
    );
    let balance = |extra: &[&str]| {
        let args = [
            &["chain", "balance", "--asset", "TOK", "--json"],
            extra,
            &config[..],
        ]
        .concat();
        let answer: Value = serde_json::from_str(&success(&parley(dir.path(), &args))).unwrap();
        answer["amount"].as_str().unwrap_or_default().to_owned()
    };
    assert_eq!(balance(&[]), "5000000");
    assert_eq!(balance(&["--address", &anvil.accounts[0]]), "5000000");
    assert_eq!(balance(&["--address", &anvil.accounts[2]]), "0");
}

#[test]
fn json_states_the_same_facts_and_the_contracts() {
    let anvil = Anvil::start();
    let dir = tempfile::tempdir().unwrap();
    write_file(&dir.path().join("deployer.key"), &anvil.keys[2], 0o600);
    let stdout = success(&parley(
        dir.path(),
        &[
            "eth",
            "deploy",
            "--rpc",
            &anvil.url,
            "--key",
            "deployer.key",
            "--json",
        ],
    ));
    let report: Value = serde_json::from_str(&stdout).expect("one JSON document");
    let chain = &report["chain"];
    assert_eq!(chain["plugin"], "ethereum");
    assert_eq!(chain["chain_id"], 31337);
    assert_eq!(chain["key_file"], Value::Null);
    assert_eq!(chain["erc20"][0]["name"], "PRN");
    assert!(report["deployer"]
        .as_str()
        .unwrap()
        .eq_ignore_ascii_case(&anvil.accounts[2]));
    let contracts = report["contracts"].as_array().unwrap();
    let expected = [
        ("Adjudicator", &chain["adjudicator"]),
        ("AssetHolderETH", &chain["eth_holder"]),
        ("PerunToken", &chain["erc20"][0]["token"]),
        ("AssetHolderERC20", &chain["erc20"][0]["holder"]),
        ("TicTacToeApp", &report["apps"][0]["address"]),
        ("HashLockApp", &report["apps"][1]["address"]),
    ];
    let apps = report["apps"].as_array().unwrap();
    assert_eq!(apps.len(), 2, "{stdout}");
    assert_eq!(apps[0]["name"], "TicTacToeApp");
    assert_eq!(apps[0]["plugin"], "tictactoe");
    assert_eq!(apps[1]["name"], "HashLockApp");
    assert_eq!(apps[1]["plugin"], "hashlock");
    assert_eq!(contracts.len(), expected.len());
    for (contract, (name, address)) in contracts.iter().zip(expected) {
        assert_eq!(contract["name"], name);
        assert_eq!(&contract["address"], address);
        assert!(contract["gas_used"].as_u64().unwrap() > 21_000);
        assert!(anvil.has_code(address.as_str().unwrap()));
    }
    assert_eq!(
        report["token_supply"]["accounts"].as_array().unwrap().len(),
        1
    );
}

#[test]
fn an_unreachable_rpc_is_explained() {
    let dir = tempfile::tempdir().unwrap();
    write_file(&dir.path().join("deployer.key"), &"ab".repeat(32), 0o600);
    let url = format!("http://127.0.0.1:{}", free_port());
    let stderr = failure(&parley(
        dir.path(),
        &["eth", "deploy", "--rpc", &url, "--key", "deployer.key"],
    ));
    assert!(
        stderr.contains(&format!("cannot reach the Ethereum node at {url}")),
        "{stderr}"
    );
    assert!(stderr.contains("--rpc"), "{stderr}");

    let stderr = failure(&parley(
        dir.path(),
        &[
            "eth",
            "deploy",
            "--rpc",
            "https://example.invalid",
            "--key",
            "deployer.key",
        ],
    ));
    assert!(stderr.contains("plain HTTP only"), "{stderr}");
}

#[test]
fn key_files_others_can_read_or_that_hold_no_key_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let secret = "ab".repeat(32);
    // The key is checked before anything is sent: no chain is needed.
    let url = format!("http://127.0.0.1:{}", free_port());
    let deploy = |key: &str| {
        failure(&parley(
            dir.path(),
            &["eth", "deploy", "--rpc", &url, "--key", key],
        ))
    };
    for mode in [0o644, 0o640, 0o604] {
        write_file(&dir.path().join("open.key"), &secret, mode);
        let stderr = deploy("open.key");
        assert!(stderr.contains("can be read by other users"), "{stderr}");
        assert!(stderr.contains("chmod 600 open.key"), "{stderr}");
        assert!(!stderr.contains(&secret[..16]), "{stderr}");
    }
    let stderr = deploy("missing.key");
    assert!(
        stderr.contains("--key missing.key: cannot read it"),
        "{stderr}"
    );
    write_file(&dir.path().join("bad.key"), "0x12zz-not-a-key", 0o600);
    let stderr = deploy("bad.key");
    assert!(stderr.contains("64 hex digits"), "{stderr}");
    assert!(!stderr.contains("not-a-key"), "{stderr}");
}

#[test]
fn an_unfunded_deployer_is_told_to_fund_the_account() {
    let anvil = Anvil::start();
    let dir = tempfile::tempdir().unwrap();
    write_file(&dir.path().join("poor.key"), &"11".repeat(32), 0o600);
    let stderr = failure(&parley(
        dir.path(),
        &["eth", "deploy", "--rpc", &anvil.url, "--key", "poor.key"],
    ));
    assert!(stderr.contains("has 0 wei on chain 31337"), "{stderr}");
    assert!(stderr.contains("deploying Adjudicator"), "{stderr}");
    assert!(stderr.contains("send it ether"), "{stderr}");
    assert!(stderr.contains("nothing was deployed"), "{stderr}");
}

#[test]
fn a_reverting_constructor_names_the_contract_and_what_is_on_chain() {
    let anvil = Anvil::start();
    let dir = tempfile::tempdir().unwrap();
    write_file(&dir.path().join("deployer.key"), &anvil.keys[0], 0o600);
    // Two accounts of 2^255 each overflow PerunToken's total supply: its constructor reverts.
    let half = "57896044618658097711785492504343953926634992332820282019728792003956564819968";
    let stderr = failure(&parley(
        dir.path(),
        &[
            "eth",
            "deploy",
            "--rpc",
            &anvil.url,
            "--key",
            "deployer.key",
            "--token-supply-to",
            &anvil.accounts[1],
            "--token-amount",
            half,
        ],
    ));
    let error = stderr.lines().last().unwrap();
    assert!(error.contains("deploying PerunToken would fail"), "{error}");
    assert!(error.contains("revert"), "{error}");
    assert!(
        error.contains("Adjudicator at 0x") && error.contains("AssetHolderETH at 0x"),
        "{error}"
    );
    assert!(!error.contains("AssetHolderERC20"), "{error}");
}
