//! `parley bench channels --in-memory`, small, through the binary: go-perun's setting, two
//! nodes in one process on the in-memory transport and store plugins (loaded through the ABI
//! like any other). Checks that the run names those plugins, measures every payment and ends
//! with both nodes agreeing (the bench itself fails otherwise); never how fast. And the restore
//! run, small, durable.

use std::process::Command;

/// Runs `parley bench channels` with `args` on a minimal config of the built-in plugins;
/// returns what it printed on standard output and standard error, failing the test if it failed.
fn bench_channels(prefix: &str, args: &[&str]) -> (String, String) {
    let dir = tempfile::Builder::new().prefix(prefix).tempdir().unwrap();
    let config = dir.path().join("node.toml");
    std::fs::write(
        &config,
        "[chain]\nplugin = \"sim-chain\"\n[wire]\nplugin = \"quic\"\n[store]\nplugin = \"lmdb\"\n",
    )
    .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_parley"))
        .args(["bench", "channels"])
        .args(args)
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{stdout}\n{stderr}");
    (stdout, stderr)
}

#[test]
fn the_in_memory_bench_runs_on_the_memory_plugins() {
    // The config's own wire and store are replaced by the in-memory ones.
    let (stdout, stderr) = bench_channels(
        "parley-in-memory-bench-",
        &[
            "--in-memory",
            "--scenario",
            "single",
            "--payments",
            "30",
            "--warmup",
            "3",
        ],
    );
    assert!(stdout.contains("[wire] memory-wire"), "{stdout}");
    assert!(
        stdout.contains("[store] memory-store NOT durable"),
        "{stdout}"
    );
    assert!(stdout.contains("(30 in "), "{stdout}");
    assert!(
        stdout.contains("both nodes agree on every channel's version and balances"),
        "{stdout}"
    );
    assert!(stderr.contains("kept in memory only"), "{stderr}");
}

/// The restore run, small and durable: node a restarts with its channels, then pays on them
/// twice over (the first payment on each since the restart, then the second), and every
/// figure it prints is there, with both nodes agreeing after each round.
#[test]
fn the_restore_bench_pays_twice_over_the_restored_channels() {
    let (stdout, _) = bench_channels(
        "parley-restore-bench-",
        &[
            "--scenario",
            "restore",
            "--channels",
            "12",
            "--payments",
            "12",
        ],
    );
    assert!(
        stdout.contains("started with every channel restored in"),
        "{stdout}"
    );
    assert!(stdout.contains("every channel re-synchronised"), "{stdout}");
    assert!(
        stdout.contains("(the first on each since the restart)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("each one's second since the restart"),
        "{stdout}"
    );
    assert_eq!(stdout.matches("(12 in ").count(), 2, "{stdout}");
    assert_eq!(
        stdout
            .matches("both nodes agree on every channel's version and balances")
            .count(),
        2,
        "{stdout}"
    );
    assert!(stdout.contains(" ms each)"), "{stdout}");
}
