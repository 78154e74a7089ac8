//! The node's route for its plugins' events: the wire transport's events go straight into the
//! peers' [`Intake`] on the transport's own thread (so that what a peer sends is admitted
//! against its budget before anything is queued), everything else to the rest of the node.

use super::intake::Intake;
use crate::host::{EventRoute, SectionEvent};
use parley_plugin_api::model::PluginEvent;
use std::sync::Arc;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

/// Routes plugin events by section; see the module doc.
pub struct PluginEventRoute {
    wire_section: String,
    intake: Intake,
    others: UnboundedSender<SectionEvent>,
}

/// The route for a node whose transport is configured in `wire_section` (usually `"wire"`):
/// its transport events go to `intake`, every other event, in emission order, to the
/// receiver returned (chain events, for the watcher).
pub fn route_plugin_events(
    wire_section: &str,
    intake: Intake,
) -> (Arc<PluginEventRoute>, UnboundedReceiver<SectionEvent>) {
    let (others, receiver) = unbounded_channel();
    let route = PluginEventRoute {
        wire_section: wire_section.to_string(),
        intake,
        others,
    };
    (Arc::new(route), receiver)
}

impl EventRoute for PluginEventRoute {
    fn route(&self, event: SectionEvent) {
        match event {
            SectionEvent {
                section,
                event: PluginEvent::Transport(transport_event),
            } if section == self.wire_section => self.intake.admit(transport_event),
            other => {
                // A dropped receiver only means nobody listens for these any more.
                let _ = self.others.send(other);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::peers::intake::Inbound;
    use crate::client::peers::PeerLimits;
    use parley_plugin_api::model::TransportEvent;

    fn transport(section: &str, connection: u64) -> SectionEvent {
        SectionEvent {
            section: section.into(),
            event: PluginEvent::Transport(TransportEvent::Closed {
                connection,
                reason: "test".into(),
            }),
        }
    }

    #[test]
    fn wire_transport_events_are_split_from_the_rest_in_order() {
        let (intake, mut wire) = Intake::new(PeerLimits::default());
        let (route, mut rest) = route_plugin_events("wire", intake);
        route.route(transport("wire", 1));
        route.route(transport("second-wire", 2));
        route.route(transport("wire", 3));
        route.route(transport("third-wire", 4));
        let ids: Vec<u64> = std::iter::from_fn(|| wire.try_recv().ok())
            .map(|inbound| match inbound {
                Inbound::Closed { connection, .. } => connection,
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        assert_eq!(ids, vec![1, 3]);
        let sections: Vec<String> = std::iter::from_fn(|| rest.try_recv().ok())
            .map(|event| event.section)
            .collect();
        assert_eq!(sections, vec!["second-wire", "third-wire"]);
    }
}
