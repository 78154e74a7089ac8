//! `node.toml` as a user (or a tool) writes it: any text through the node's one parse-and-
//! validate path, `NodeConfig::parse`.
//!
//! Properties: parsing never panics; an error names the file and says something; a config that
//! is accepted hands each plugin a table that is itself valid TOML without the node's keys, and
//! its timeouts can be used as deadlines (the node adds them to the current time).
#![no_main]

use libfuzzer_sys::fuzz_target;
use parley_node::config::NodeConfig;
use std::path::Path;
use std::time::{Instant, SystemTime};

fuzz_target!(|bytes: &[u8]| {
    // A file that is not UTF-8 is refused before parsing (`read_to_string`).
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    let file = Path::new("/fuzz/node.toml");
    match NodeConfig::parse(text, file) {
        Ok(config) => {
            assert!(config.node.data_dir.is_absolute() && config.node.key_file.is_absolute());
            let policy = &config.policy;
            for timeout in [
                policy.proposal_timeout,
                policy.funding_timeout,
                policy.update_timeout,
            ] {
                assert!(
                    Instant::now().checked_add(timeout).is_some()
                        && SystemTime::now().checked_add(timeout).is_some(),
                    "an accepted timeout of {timeout:?} cannot be a deadline"
                );
            }
            for section in config.plugin_sections() {
                let table: toml::Table = match toml::from_str(&section.table) {
                    Ok(table) => table,
                    Err(error) => panic!(
                        "[{}] is handed to its plugin as invalid TOML ({error}): {:?}",
                        section.section, section.table
                    ),
                };
                assert!(
                    !table.contains_key("plugin"),
                    "[{}] keeps `plugin`",
                    section.section
                );
            }
        }
        Err(error) => {
            assert_eq!(error.file, file);
            assert!(
                !error.message.trim().is_empty(),
                "an error without a message"
            );
            let _ = error.to_string();
        }
    }
});
