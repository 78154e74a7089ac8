//! The seed corpus of the fuzz targets in `fuzz/`: real encodings of every message kind, real
//! handshakes from both roles (signed, so the fuzzer starts past authentication), real
//! `node.toml` files and real JSON-RPC requests for every method.
//!
//! The seeds are committed under `fuzz/seeds/<target>/<name>` and this test checks that the
//! committed files are exactly what the generator makes, so a change to an encoding or to a
//! target's input layout cannot leave stale seeds behind. After such a change, rewrite them with
//!
//! ```sh
//! PARLEY_WRITE_FUZZ_SEEDS=1 cargo test -p parley-node --test fuzz_seeds
//! ```
//!
//! Inputs that once crashed a target are kept apart, in `fuzz/regressions/<target>/`, and are
//! not generated.

mod model;
mod text;
mod wire;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Seeds by target, then by file name.
type Corpus = BTreeMap<&'static str, BTreeMap<String, Vec<u8>>>;

/// The fuzz targets, as named in `fuzz/Cargo.toml`.
const TARGETS: [&str; 7] = [
    "frame",
    "channel_message",
    "codec",
    "handshake",
    "config",
    "api_params",
    "api_request",
];

#[test]
fn committed_seeds_are_what_the_generator_makes() {
    let corpus = corpus();
    assert_eq!(
        corpus.keys().copied().collect::<Vec<_>>(),
        {
            let mut targets = TARGETS.to_vec();
            targets.sort_unstable();
            targets
        },
        "every target has seeds"
    );
    let root = seeds_dir();
    if std::env::var_os("PARLEY_WRITE_FUZZ_SEEDS").is_some() {
        write(&root, &corpus);
    }
    for (target, seeds) in &corpus {
        let dir = root.join(target);
        let committed = read_dir(&dir);
        let names = |files: &BTreeMap<String, Vec<u8>>| files.keys().cloned().collect::<Vec<_>>();
        assert_eq!(
            names(&committed),
            names(seeds),
            "the seeds in {} differ from the generator's; rewrite them with \
             PARLEY_WRITE_FUZZ_SEEDS=1 cargo test -p parley-node --test fuzz_seeds",
            dir.display()
        );
        for (name, bytes) in seeds {
            assert!(
                committed[name] == *bytes,
                "{} differs from the generator's; rewrite the seeds with \
                 PARLEY_WRITE_FUZZ_SEEDS=1 cargo test -p parley-node --test fuzz_seeds",
                dir.join(name).display()
            );
        }
    }
}

fn seeds_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds")
}

fn read_dir(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return BTreeMap::new();
    };
    entries
        .map(|entry| {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_str().unwrap().to_owned();
            (name, std::fs::read(&path).unwrap())
        })
        .collect()
}

fn write(root: &Path, corpus: &Corpus) {
    for (target, seeds) in corpus {
        let dir = root.join(target);
        if dir.exists() {
            std::fs::remove_dir_all(&dir).unwrap();
        }
        std::fs::create_dir_all(&dir).unwrap();
        for (name, bytes) in seeds {
            std::fs::write(dir.join(name), bytes).unwrap();
        }
    }
}

fn corpus() -> Corpus {
    let mut corpus = Corpus::new();
    corpus.insert("channel_message", model::channel_message_seeds());
    corpus.insert("codec", model::codec_seeds());
    corpus.insert("frame", wire::frame_seeds());
    corpus.insert("handshake", wire::handshake_seeds());
    corpus.insert("config", text::config_seeds());
    corpus.insert("api_params", text::api_params_seeds());
    corpus.insert("api_request", text::api_request_seeds());
    corpus
}
