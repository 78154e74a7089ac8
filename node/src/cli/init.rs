//! `parley init <dir>`: a new node directory with a commented `node.toml`, an owner-only data
//! directory, the node key and the API token.
//!
//! The config is composed in memory and validated with [`NodeConfig::parse`] before anything is
//! written, so a bad `--listen` changes nothing. An existing key and token are kept (they are
//! loaded, never replaced): `--force` only rewrites `node.toml`. The key and the token are
//! never printed; the node id is public and is what peers need.

use super::run::create_private_dir;
use super::{CliError, CliResult};
use crate::api::{load_or_create_token, token_path};
use crate::config::{ApiSection, NodeConfig};
use crate::wire::NodeKey;
use clap::Args;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The config file's name inside the node directory.
pub const CONFIG_FILE: &str = "node.toml";

/// Parley's default port for peers (QUIC over UDP), written by `parley init` when it is free.
pub const DEFAULT_PEER_PORT: u16 = 9740;

/// The host `parley init` listens on when `--listen` is not given.
const DEFAULT_PEER_HOST: &str = "127.0.0.1";

/// The listen address to write for `listen`: as given when it has a port (0 included); a
/// bare host gets `preferred` if a UDP socket can bind it there now, else a port the OS finds
/// free. The port is fixed in `node.toml` from then on, so the node keeps its address across
/// restarts (it is only checked free here: another program may still take it before the
/// node starts, which `parley run` then reports).
pub fn concrete_listen(listen: &str, preferred: u16) -> Result<String, CliError> {
    let bare = listen.trim_start_matches('[').trim_end_matches(']');
    let Ok(ip) = bare.parse::<std::net::IpAddr>() else {
        // With a port (or a form only the transport judges): written as given.
        return Ok(listen.to_owned());
    };
    let bound = std::net::UdpSocket::bind((ip, preferred))
        .or_else(|_| std::net::UdpSocket::bind((ip, 0)))
        .and_then(|socket| socket.local_addr())
        .map_err(|e| CliError::new(format!("cannot find a free port on {ip}: {e}")))?;
    Ok(bound.to_string())
}

/// Arguments of `parley init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The node directory to create (it gets `node.toml` and `data/`).
    dir: PathBuf,
    /// Rewrite an existing `node.toml` (the key and token in the data dir are kept).
    #[arg(long)]
    force: bool,
    /// Share the sim chain's ledger with other nodes on this machine: a directory path.
    #[arg(long, value_name = "PATH")]
    ledger: Option<PathBuf>,
    /// Where the node accepts peers. Without a port (the default, `127.0.0.1`) init writes
    /// a fixed one: 9740 if it is free now, else a free one; port 0 picks a new free port at
    /// every start (then peers cannot find the node after a restart).
    #[arg(long, value_name = "ADDR", default_value = DEFAULT_PEER_HOST)]
    listen: String,
    /// Where the JSON-RPC API listens (loopback; port 0 picks a free port).
    #[arg(long, value_name = "ADDR", default_value = ApiSection::DEFAULT_LISTEN)]
    api_listen: String,
    /// Print `{node_id, config, data_dir}` as JSON.
    #[arg(long)]
    json: bool,
}

/// What `init` made: the public facts only.
#[derive(Debug, Serialize)]
pub struct Initialized {
    /// The node's id (its public key), as peers will know it.
    pub node_id: String,
    /// The written config file.
    pub config: PathBuf,
    /// The data directory.
    pub data_dir: PathBuf,
    /// Where the node will accept peers (`[wire] listen`).
    pub listen: String,
}

pub fn run(args: InitArgs) -> CliResult {
    let json = args.json;
    let done = init(&args)?;
    if json {
        let text = serde_json::to_string_pretty(&done)
            .map_err(|e| CliError::new(format!("cannot encode the result: {e}")))?;
        println!("{text}");
    } else {
        println!(
            "initialized a Parley node in {}",
            done.config.parent().unwrap_or(Path::new("")).display()
        );
        println!("  node id:  {}", done.node_id);
        println!("  listen:   {}", done.listen);
        println!("  config:   {}", done.config.display());
        println!("  data dir: {}", done.data_dir.display());
        println!();
        println!("next: parley run --config {}", done.config.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// Creates the node directory; see the module doc.
pub fn init(args: &InitArgs) -> Result<Initialized, CliError> {
    let cwd = std::env::current_dir()
        .map_err(|e| CliError::new(format!("cannot read the current directory: {e}")))?;
    let dir = cwd.join(&args.dir);
    let file = dir.join(CONFIG_FILE);
    if !args.force && has_content(&file)? {
        return Err(CliError::new(format!(
            "{} already exists; refusing to overwrite it (pass --force to rewrite the config; \
             the node key and API token are kept)",
            file.display()
        )));
    }
    let ledger = args.ledger.as_ref().map(|l| cwd.join(l));
    let listen = concrete_listen(&args.listen, DEFAULT_PEER_PORT)?;
    let text = config_text(&listen, &args.api_listen, ledger.as_deref());
    let config = NodeConfig::parse(&text, &file)?;

    std::fs::create_dir_all(&dir).map_err(|e| {
        CliError::new(format!(
            "cannot create the node directory {}: {e}",
            dir.display()
        ))
    })?;
    create_private_dir(&config.node.data_dir)?;
    let key = NodeKey::load_or_create(&config.node.key_file).map_err(|e| {
        CliError::new(format!(
            "cannot create the node key {}: {e}",
            config.node.key_file.display()
        ))
    })?;
    load_or_create_token(&token_path(&config.node.data_dir)).map_err(CliError::new)?;
    std::fs::write(&file, &text)
        .map_err(|e| CliError::new(format!("cannot write {}: {e}", file.display())))?;
    Ok(Initialized {
        node_id: key.node_id().to_string(),
        config: file,
        data_dir: config.node.data_dir,
        listen,
    })
}

/// Whether `file` exists with something in it (an empty file may be replaced).
fn has_content(file: &Path) -> Result<bool, CliError> {
    match std::fs::read_to_string(file) {
        Ok(text) => Ok(!text.trim().is_empty()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(CliError::new(format!(
            "cannot read {}: {e}",
            file.display()
        ))),
    }
}

/// A TOML string literal (quoted and escaped).
fn quoted(value: &str) -> String {
    toml::Value::String(value.to_owned()).to_string()
}

/// The commented config. Never a `[testing]` section: what `init` writes is a real node.
fn config_text(listen: &str, api_listen: &str, ledger: Option<&Path>) -> String {
    let ledger = match ledger {
        Some(path) => format!(
            "ledger = {}  # shared with the other nodes on this machine that name it\n",
            quoted(&path.display().to_string())
        ),
        None => {
            "# ledger = \"/path/to/ledger\"  # share one ledger between nodes on this machine\n"
                .to_owned()
        }
    };
    format!(
        r#"# A Parley node, written by `parley init`. Relative paths are relative to this file.
# Start it with: parley run --config <this file>
#
# Every section that names a plugin takes `plugin = "<name or path>"`: a bare name like "lmdb"
# loads libparley_lmdb.so from the directory of the `parley` binary (or $PARLEY_PLUGIN_DIR); a
# path loads that library. The section's other keys are the plugin's own settings.

[node]
data_dir = "data"        # the key, the API token, the store; owner-only (0700)
# key_file = "data/node.key"  # the node's identity key (default <data_dir>/node.key, mode 0600)
log_level = "info"       # or "debug", or directives like "parley=debug,warn"
log_format = "text"      # or "json"
# log_file = "data/node.log"  # also append the log lines to this file (created 0600)

[api]
# The JSON-RPC API that the `parley` CLI talks to; every call needs the token in
# data/api.token, and the running node writes the address it bound to data/api.addr.
listen = {api_listen}   # loopback only; port 0 picks a free port
allow_non_loopback = false

[policy]
# How this node answers peers on its own. Proposals it does not accept by itself wait for
# `parley proposal accept|reject <id>` until they expire. The peer's updates are answered by
# the node ("accept"/"reject") or wait for `parley channel accept|reject <id>` ("ask") for
# update_timeout_seconds, then are rejected as not answered in time. The final state of a
# cooperative settle is always accepted.
auto_accept_from = []          # peers (aliases or node ids) whose proposals are accepted; ["*"]: any
max_auto_deposit = "0"         # the most this node deposits per asset into such a channel (base units)
proposal_timeout_seconds = 120 # how long proposals wait for an answer, both ways
challenge_seconds = 600        # the challenge duration `channel open` proposes by default
funding_timeout_seconds = 300  # how long funding may take before the open fails
update_timeout_seconds = 30    # how long a payment waits for the peer's answer, and you for yours ("ask")
incoming_payments = "accept"   # updates that only pay this node: "accept" or "ask"
incoming_moves = "accept"      # the peer's moves in app channels (the app's rules checked): "accept" or "ask"
incoming_other = "reject"      # any other update of the peer (one that pays it, ...): "reject" or "ask"
peer_conclude_timeout_seconds = 120 # settling: how long the accepting side waits for the proposer to conclude on chain

[hub]
# Whether this node carries virtual channels between its peers (it is their intermediary: each
# one locks as much of this node's funds as it holds, in its ledger channel with each end, until
# it closes; the node comes out even whatever the ends do, but the funds are tied up till then).
serve = false                  # true: carry the virtual channels peers propose through this node
# max_lock = "1000000"         # the most one virtual channel may hold per asset (base units)
pending_per_peer = 16          # one peer's virtual channels being opened through this node at once
hold_seconds = 10              # how long one end's lock waits for the other end's before it is declined
fee_base = "0"                 # what carrying one virtual channel costs its proposer (base units of its first asset)
fee_ppm = 0                    # plus these millionths of the virtual channel's total of that asset

[limits]
# What one peer may make this node hold or do. A peer over any of them is disconnected with a
# goodbye naming the limit; it may reconnect, and its channels re-synchronise.
handshake_frame_bytes = 4096   # largest frame before the peer has proven who it is
frames_per_second = 10000      # a peer's frame rate (bursts of up to one second's worth)
frames_in_flight = 4096        # a peer's frames received and not yet handled
bytes_in_flight = 16777216     # their bytes (at least 1048576, the largest frame a node takes)
open_proposals = 16            # a peer's channel proposals waiting for an answer
pending_handshakes = 64        # inbound connections in their handshake at once, from anyone

[chain]
plugin = "sim-chain"     # a simulated ledger with the rules of the Perun contracts
chain_id = 1337
block_time = 1           # chain time advances in steps of this many seconds
{ledger}
[wire]
plugin = "quic"          # QUIC with a self-signed certificate kept in the data dir
listen = {listen}   # where this node accepts peers; keep the port fixed so peers find it after a restart (0 picks a new one at every start)
max_connections = 1024   # connections open at once (and handshakes under way); more are refused

[store]
plugin = "lmdb"          # every channel step is committed durably before it is revealed
map_size_mib = 1024
{apps}"#,
        api_listen = quoted(api_listen),
        listen = quoted(listen),
        apps = apps_text(),
    )
}

/// The built-in apps, as `[[apps]]` entries for the sim chain (chain id 1337).
fn apps_text() -> String {
    let mut text = String::from(
        "
# The apps channels can run (`parley channel open --app NAME`, then `parley channel move`):
# each names its plugin and where its contract lives on each chain (chain id = address). On
# the sim chain an app's address is a name, not a contract: the chain asks this node's apps for
# the rules (`parley eth deploy` prints the entries for an Ethereum chain).
",
    );
    for name in BUILT_IN_APPS {
        text.push_str(&format!(
            "[[apps]]\nplugin = \"{name}\"\n[apps.addresses]\n{SIM_CHAIN_ID} = \"{}\"\n",
            sim_app_address(name)
        ));
    }
    text
}

/// The app plugins that come with Parley.
const BUILT_IN_APPS: [&str; 2] = ["tictactoe", "hashlock"];

/// The sim chain's id in the config `init` writes.
const SIM_CHAIN_ID: u64 = 1337;

/// The address app `name` has on the sim chain: the first 20 bytes of
/// keccak256("parley-sim-app:" ‖ name), the derivation the sim chain gives its own built-in
/// apps, so that every node that runs `init` names an app by the same address.
fn sim_app_address(name: &str) -> String {
    let hash = crate::hash::keccak256(&[b"parley-sim-app:", name.as_bytes()]);
    format!("0x{}", hex::encode(&hash[..20]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::PluginRef;
    use std::os::unix::fs::PermissionsExt;

    fn args(dir: &Path) -> InitArgs {
        InitArgs {
            dir: dir.to_path_buf(),
            force: false,
            ledger: None,
            listen: "127.0.0.1:0".into(),
            api_listen: ApiSection::DEFAULT_LISTEN.into(),
            json: false,
        }
    }

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn the_config_lists_the_built_in_apps_at_their_sim_chain_addresses() {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path().join("n");
        init(&args(&dir)).unwrap();
        let config = NodeConfig::load(&dir.join("node.toml")).unwrap();
        let apps: Vec<_> = config.apps.iter().map(|a| a.plugin.clone()).collect();
        assert_eq!(
            apps,
            [
                PluginRef::Name("tictactoe".into()),
                PluginRef::Name("hashlock".into())
            ]
        );
        for (app, name) in config.apps.iter().zip(BUILT_IN_APPS) {
            let address = &app.addresses[&SIM_CHAIN_ID];
            assert_eq!(address.to_string(), sim_app_address(name));
            assert_eq!(address.0.len(), 20);
        }
        assert_ne!(config.apps[0].addresses, config.apps[1].addresses);
    }

    #[test]
    fn a_bare_host_gets_the_preferred_port_if_free_else_another_fixed_one() {
        assert_eq!(concrete_listen("127.0.0.1:0", 1).unwrap(), "127.0.0.1:0");
        assert_eq!(
            concrete_listen("127.0.0.1:9100", 1).unwrap(),
            "127.0.0.1:9100"
        );
        assert_eq!(concrete_listen("[::1]:9100", 1).unwrap(), "[::1]:9100");
        // A port we hold is taken: init finds another one, and writes it.
        let held = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = held.local_addr().unwrap().port();
        let chosen: std::net::SocketAddr =
            concrete_listen("127.0.0.1", port).unwrap().parse().unwrap();
        assert_ne!(chosen.port(), port);
        assert_ne!(chosen.port(), 0);
        // Freed, it is the one init writes.
        drop(held);
        assert_eq!(
            concrete_listen("127.0.0.1", port).unwrap(),
            format!("127.0.0.1:{port}")
        );
    }

    #[test]
    fn writes_a_config_that_loads_with_private_key_and_token() {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path().join("alice");
        let ledger = temp.path().join("ledger");
        let mut a = args(&dir);
        a.ledger = Some(ledger.clone());
        a.listen = "127.0.0.1:9100".into();
        let done = init(&a).unwrap();

        let config = NodeConfig::load(&done.config).unwrap();
        assert_eq!(config.node.data_dir, dir.join("data"));
        assert_eq!(done.data_dir, config.node.data_dir);
        assert_eq!(config.wire.listen, "127.0.0.1:9100");
        assert_eq!(config.api.listen, "127.0.0.1:0".parse().unwrap());
        assert!(config.chain.table.contains(&ledger.display().to_string()));
        // The limits written out are the defaults, so the comments tell the truth.
        assert_eq!(config.limits, crate::config::LimitsSection::default());
        let text = std::fs::read_to_string(&done.config).unwrap();
        assert!(!text.contains("[testing]"));

        assert_eq!(mode(&config.node.data_dir), 0o700);
        assert_eq!(mode(&config.node.key_file), 0o600);
        assert_eq!(mode(&token_path(&config.node.data_dir)), 0o600);
        let key = NodeKey::load(&config.node.key_file).unwrap();
        assert_eq!(key.node_id().to_string(), done.node_id);

        // The public summary never carries the token or the key.
        let token = std::fs::read_to_string(token_path(&config.node.data_dir)).unwrap();
        let secret = std::fs::read_to_string(&config.node.key_file).unwrap();
        let json = serde_json::to_string(&done).unwrap();
        assert!(!json.contains(token.trim()));
        assert!(!json.contains(secret.trim().trim_start_matches("0x")));
    }

    #[test]
    fn without_a_ledger_the_key_is_left_as_a_comment() {
        let temp = tempfile::tempdir().unwrap();
        let done = init(&args(temp.path())).unwrap();
        let config = NodeConfig::load(&done.config).unwrap();
        assert!(
            !config.chain.table.contains("ledger"),
            "{}",
            config.chain.table
        );
    }

    #[test]
    fn refuses_to_overwrite_unless_forced_and_keeps_the_key() {
        let temp = tempfile::tempdir().unwrap();
        let first = init(&args(temp.path())).unwrap();
        let before = std::fs::read_to_string(&first.config).unwrap();

        let mut again = args(temp.path());
        again.listen = "127.0.0.1:9200".into();
        let error = init(&again).unwrap_err().to_string();
        assert!(error.contains("already exists"), "{error}");
        assert!(error.contains("--force"), "{error}");
        assert_eq!(std::fs::read_to_string(&first.config).unwrap(), before);

        again.force = true;
        let second = init(&again).unwrap();
        assert_eq!(second.node_id, first.node_id, "--force must keep the key");
        assert_eq!(
            NodeConfig::load(&second.config).unwrap().wire.listen,
            "127.0.0.1:9200"
        );
    }

    #[test]
    fn an_empty_config_file_may_be_replaced() {
        let temp = tempfile::tempdir().unwrap();
        std::fs::write(temp.path().join(CONFIG_FILE), "\n").unwrap();
        init(&args(temp.path())).unwrap();
    }

    #[test]
    fn a_bad_api_address_changes_nothing() {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path().join("node");
        let mut a = args(&dir);
        a.api_listen = "0.0.0.0:7150".into();
        let error = init(&a).unwrap_err().to_string();
        assert!(error.contains("api.listen"), "{error}");
        assert!(!dir.exists());
    }

    #[test]
    fn odd_characters_in_paths_are_escaped() {
        let temp = tempfile::tempdir().unwrap();
        let ledger = temp.path().join("led\"ger\\x");
        let mut a = args(&temp.path().join("n"));
        a.ledger = Some(ledger.clone());
        let done = init(&a).unwrap();
        let config = NodeConfig::load(&done.config).unwrap();
        let table: toml::Table = toml::from_str(&config.chain.table).unwrap();
        assert_eq!(
            table["ledger"].as_str().unwrap(),
            ledger.display().to_string()
        );
    }
}
