//! What the user reads when a call fails: one sentence with the API's category and code
//! (`insufficient_funds (1003): ...`), or, when the node could not be asked at all, how to
//! start it.

use crate::api::client::ClientError;
use crate::api::{token_path, ApiError, ErrorCategory};
use crate::cli::CliError;
use crate::config::NodeConfig;

/// The sentence for an error the node returned: `<category> (<code>): <message>`, plus a hint
/// where the CLI knows more than the node (which token file it sent).
pub fn api_error(error: &ApiError, config: &NodeConfig) -> String {
    let mut text = format!(
        "{} ({}): {}",
        error.category,
        error.category.code(),
        error.message
    );
    if error.category == ErrorCategory::Unauthorized {
        text.push_str(&format!(
            "; this CLI sent the token in {}: check that --config {} is the config of the \
             running node",
            token_path(&config.node.data_dir).display(),
            config.file.display()
        ));
    }
    text
}

/// The [`CliError`] for a failed call to the node `config` describes.
pub fn client_error(error: ClientError, config: &NodeConfig) -> CliError {
    match error {
        ClientError::Api(api) => CliError::from_node(
            api_error(&api, config),
            api.category.to_string(),
            i64::from(api.category.code()),
        ),
        // The client's own text cannot name the config file here; this one can.
        ClientError::Connect { addr, source } => CliError::new(format!(
            "cannot reach the node's API at {addr} ({source}): the node is not running (it \
             stopped without removing its address file); start it with `parley run --config {}`",
            config.file.display()
        )),
        ClientError::Rpc { code, message } => CliError::new(format!(
            "the node does not understand this request (JSON-RPC error {code}: {message}); \
             are the node and this CLI the same version? (this CLI is {})",
            env!("CARGO_PKG_VERSION")
        )),
        other => CliError::new(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn config() -> NodeConfig {
        NodeConfig::parse(
            "[node]\ndata_dir = \"data\"\n",
            Path::new("/nodes/alice/node.toml"),
        )
        .unwrap()
    }

    #[test]
    fn api_errors_carry_category_and_code() {
        let error = ApiError::new(ErrorCategory::InsufficientFunds, "you hold 5 ETH, not 7");
        assert_eq!(
            client_error(ClientError::Api(error), &config()).to_string(),
            "insufficient_funds (1003): you hold 5 ETH, not 7"
        );
    }

    #[test]
    fn unauthorized_names_the_token_file_and_the_config() {
        let text = client_error(ClientError::Api(ApiError::unauthorized()), &config()).to_string();
        assert!(text.starts_with("unauthorized (1000): "), "{text}");
        assert!(text.contains("/nodes/alice/data/api.token"), "{text}");
        assert!(text.contains("--config /nodes/alice/node.toml"), "{text}");
        assert_eq!(text.lines().count(), 1, "{text}");
    }

    #[test]
    fn an_unreachable_node_says_how_to_start_it() {
        let error = ClientError::Connect {
            addr: "127.0.0.1:7150".parse().unwrap(),
            source: std::io::Error::from(std::io::ErrorKind::ConnectionRefused),
        };
        let text = client_error(error, &config()).to_string();
        assert!(
            text.contains("cannot reach the node's API at 127.0.0.1:7150"),
            "{text}"
        );
        assert!(
            text.contains("start it with `parley run --config /nodes/alice/node.toml`"),
            "{text}"
        );
        let error = ClientError::NotRunning {
            path: "/nodes/alice/data/api.addr".into(),
            config: "/nodes/alice/node.toml".into(),
        };
        let text = client_error(error, &config()).to_string();
        assert!(
            text.contains("start it with `parley run --config /nodes/alice/node.toml`"),
            "{text}"
        );
    }
}
