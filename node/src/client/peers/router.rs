//! Splits the plugins' one event stream by section, so that the peer manager gets the wire
//! transport's events and the rest of the node gets everything else.

use crate::host::SectionEvent;
use parley_plugin_api::model::{PluginEvent, TransportEvent};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};

/// Forwards, on a task of its own, the transport events of section `wire_section` (usually
/// `"wire"`) to the first receiver and every other event to the second, each in arrival
/// order. The task ends when `events` closes, or when both receivers are dropped. Must be
/// called inside a tokio runtime.
pub fn split_transport_events(
    mut events: UnboundedReceiver<SectionEvent>,
    wire_section: &str,
) -> (
    UnboundedReceiver<TransportEvent>,
    UnboundedReceiver<SectionEvent>,
) {
    let (transport_tx, transport_rx) = unbounded_channel();
    let (other_tx, other_rx) = unbounded_channel();
    let wire_section = wire_section.to_string();
    tokio::spawn(async move {
        while let Some(event) = events.recv().await {
            match event {
                SectionEvent {
                    section,
                    event: PluginEvent::Transport(transport_event),
                } if section == wire_section => {
                    // A dropped receiver only means nobody listens for these any more.
                    let _ = transport_tx.send(transport_event);
                }
                other => {
                    let _ = other_tx.send(other);
                }
            }
            if transport_tx.is_closed() && other_tx.is_closed() {
                return;
            }
        }
    });
    (transport_rx, other_rx)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transport(section: &str, connection: u64) -> SectionEvent {
        SectionEvent {
            section: section.into(),
            event: PluginEvent::Transport(TransportEvent::Closed {
                connection,
                reason: "test".into(),
            }),
        }
    }

    #[tokio::test]
    async fn wire_transport_events_are_split_from_the_rest_in_order() {
        let (sender, receiver) = unbounded_channel();
        let (mut wire, mut rest) = split_transport_events(receiver, "wire");
        sender.send(transport("wire", 1)).unwrap();
        sender.send(transport("second-wire", 2)).unwrap();
        sender.send(transport("wire", 3)).unwrap();
        sender.send(transport("third-wire", 4)).unwrap();
        drop(sender);
        let mut ids = vec![];
        while let Some(TransportEvent::Closed { connection, .. }) = wire.recv().await {
            ids.push(connection);
        }
        assert_eq!(ids, vec![1, 3]);
        let sections: Vec<String> = std::iter::from_fn(|| rest.try_recv().ok())
            .map(|event| event.section)
            .collect();
        assert_eq!(sections, vec!["second-wire", "third-wire"]);
    }
}
