//! # parley-plugin-memory-wire
//!
//! A transport plugin for nodes that run in one process: a frame sent on a connection is
//! handed to the other node's event sink at once, with no socket, no thread and no copy
//! beyond the event's own. Listen addresses are `host:port` names in a table this library
//! keeps for the process (`127.0.0.1:0` gets the next free port number); a node in another
//! process cannot dial them.
//!
//! It keeps the whole [`Transport`] contract: whole frames in
//! order, `Connected` before frames and at most one `Closed`, per-connection frame limits that
//! hold back larger frames until raised, a bounded outbox for what is held, and connections
//! that end when an instance is dropped. It is what `parley bench channels --in-memory` runs
//! on (the setting other state channel implementations are measured in: two clients in one
//! process, nothing persisted) and it is a real plugin, loaded through the ABI like `quic`.
//!
//! Configuration is the `[wire]` table of `node.toml`; see [`WireSettings`] for the keys.

mod network;
mod settings;

pub use settings::WireSettings;

use network::EndpointId;
use parley_plugin_api::model::ConnectionId;
use parley_plugin_api::{Host, PluginResult, Transport};

/// One node's endpoint in this process's in-memory network.
pub struct MemoryWire {
    endpoint: EndpointId,
    settings: WireSettings,
}

impl MemoryWire {
    /// Joins the process's network with the settings of the `[wire]` table `config`.
    pub fn new(config: &str, host: Host) -> PluginResult<MemoryWire> {
        let settings = WireSettings::from_table(config, &host)?;
        Ok(MemoryWire {
            endpoint: network::join(host, settings),
            settings,
        })
    }
}

impl Drop for MemoryWire {
    fn drop(&mut self) {
        network::leave(self.endpoint);
    }
}

impl Transport for MemoryWire {
    fn listen(&self, addr: &str) -> PluginResult<String> {
        network::listen(self.endpoint, addr)
    }

    fn dial(&self, addr: &str) -> PluginResult<ConnectionId> {
        network::dial(self.endpoint, addr)
    }

    fn send(&self, connection: ConnectionId, frame: &[u8]) -> PluginResult<()> {
        network::send(self.endpoint, connection, frame)
    }

    fn close(&self, connection: ConnectionId) -> PluginResult<()> {
        network::close(self.endpoint, connection)
    }

    fn max_frame_size(&self) -> usize {
        self.settings.max_frame_size
    }

    fn set_initial_frame_limit(&self, max_frame: usize) -> PluginResult<()> {
        self.settings.check_limit(max_frame)?;
        network::set_initial_frame_limit(self.endpoint, max_frame);
        Ok(())
    }

    fn set_frame_limit(&self, connection: ConnectionId, max_frame: usize) -> PluginResult<()> {
        self.settings.check_limit(max_frame)?;
        network::set_frame_limit(self.endpoint, connection, max_frame)
    }
}

parley_plugin_api::export_plugin! {
    kind: Transport,
    name: "memory-wire",
    description: "Frames between nodes in one process, through memory (benchmarks, tests)",
    check_config: "",
    new: MemoryWire::new,
}

#[cfg(test)]
mod tests;
