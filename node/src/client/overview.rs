//! Reading channels: one by id, or all open or all closed, as [`ChannelOverview`]s; and
//! waiting for a channel to reach a phase.

use super::channel_task::ChannelHandle;
use super::driver::Driver;
use super::error::Error;
use super::registry::{wait_for_status, ChannelStatus, DamagedChannel};
use crate::protocol::{ChannelSnapshot, Phase};
use crate::store::ArchivedChannel;
use crate::wire::NodeId;
use parley_plugin_api::model::{Address, ChainTime, ChannelId, Dispute, Params, State};
use std::time::Duration;

/// A channel with what the node says about it: running, damaged or closed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelOverview {
    /// The channel.
    pub id: ChannelId,
    /// The other participant; `None` if this node lost its record of the peer.
    pub peer: Option<NodeId>,
    /// The peer's alias, if it is a known peer.
    pub peer_alias: Option<String>,
    /// Everything durable about the channel; `None` if its stored record is damaged.
    pub snapshot: Option<ChannelSnapshot>,
    /// What the node is doing on chain for the channel, or what is wrong with it.
    pub status: Option<String>,
    /// The channel's on-chain record as last read, and the chain time of that reading.
    pub dispute: Option<(Dispute, ChainTime)>,
    /// The app the channel runs, with its newest state as the app describes it; `None` for a
    /// payment channel.
    pub app: Option<AppView>,
}

/// An app channel's app and state, for people.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppView {
    /// The app's contract address (from the channel's parameters).
    pub address: Address,
    /// What this node calls it; `None` if the node does not have the app.
    pub name: Option<String>,
    /// The newest state as the app describes it (JSON), or why it cannot; `None` without the
    /// app.
    pub state: Option<Result<String, String>>,
    /// In a dispute, the state on record on chain (its version, and as the app describes it),
    /// when it differs from the newest state above: moves on chain advanced it. `None`
    /// otherwise.
    pub on_record: Option<(u64, Result<String, String>)>,
}

impl Driver {
    /// The channel `id`: read from its task, or the damaged record, or the archive of closed
    /// channels.
    pub async fn channel(&self, id: ChannelId) -> Result<ChannelOverview, Error> {
        if let Some((handle, peer)) = self.registry.handle_and_peer(&id) {
            // A task that ends meanwhile has just archived its channel.
            if let Some(overview) = self.running(&handle, peer).await {
                return Ok(overview);
            }
        }
        if let Some(damaged) = self.registry.damaged(&id) {
            return Ok(self.damaged(id, damaged));
        }
        match self.store.archived(&id) {
            Ok(Some(archived)) => Ok(self.archived(archived)),
            Ok(None) => Err(no_channel(id)),
            Err(error) => Err(Error::internal(format!(
                "cannot read the archive of closed channels: {error}"
            ))),
        }
    }

    /// Every open channel (those that cannot be used too, with why in their status), or with
    /// `closed` every closed one, in id order.
    pub async fn channels(&self, closed: bool) -> Result<Vec<ChannelOverview>, Error> {
        let mut overviews = Vec::new();
        if closed {
            let archived = self.store.archived_all().map_err(|e| {
                Error::internal(format!("cannot read the archive of closed channels: {e}"))
            })?;
            for archived in archived {
                match archived {
                    Ok(archived) => overviews.push(self.archived(archived)),
                    Err(error) => tracing::error!("{error}"),
                }
            }
        } else {
            for (handle, peer) in self.registry.all() {
                if let Some(overview) = self.running(&handle, peer).await {
                    overviews.push(overview);
                }
            }
            for (id, damaged) in self.registry.all_damaged() {
                overviews.push(self.damaged(id, damaged));
            }
        }
        overviews.sort_by_key(|overview| overview.id);
        Ok(overviews)
    }

    /// A running channel as its task shows it, with its status; `None` if the task ended.
    async fn running(
        &self,
        handle: &ChannelHandle,
        peer: Option<NodeId>,
    ) -> Option<ChannelOverview> {
        let snapshot = handle.snapshot().await.ok()?.snapshot;
        let id = snapshot.channel.channel_id;
        let (status, dispute, on_record) = match self.registry.status(&id) {
            Some(status) => (status.describe(), status.dispute, status.on_record),
            None => (None, None, None),
        };
        Some(ChannelOverview {
            id,
            peer,
            peer_alias: self.alias(peer),
            app: self.app_view(&snapshot, on_record.as_ref()),
            snapshot: Some(snapshot),
            status,
            dispute,
        })
    }

    /// A channel whose stored record is damaged: only its id, peer, problem and on-chain
    /// record are known.
    fn damaged(&self, id: ChannelId, damaged: DamagedChannel) -> ChannelOverview {
        ChannelOverview {
            id,
            peer: damaged.peer,
            peer_alias: self.alias(damaged.peer),
            snapshot: None,
            status: Some(damaged.problem),
            dispute: damaged.dispute,
            app: None,
        }
    }

    /// A closed channel from the archive.
    fn archived(&self, archived: ArchivedChannel) -> ChannelOverview {
        ChannelOverview {
            id: archived.snapshot.channel.channel_id,
            peer: archived.peer,
            peer_alias: self.alias(archived.peer),
            app: self.app_view(&archived.snapshot, None),
            snapshot: Some(archived.snapshot),
            status: archived.note,
            dispute: archived.dispute,
        }
    }

    /// The app of `snapshot`'s channel and its newest state (and the state `on_record` on
    /// chain, if it differs), as this node's apps describe them.
    fn app_view(&self, snapshot: &ChannelSnapshot, on_record: Option<&State>) -> Option<AppView> {
        self.describe_app_with(&snapshot.channel.params, &snapshot.latest.state, on_record)
    }

    /// The app of the channel of `params` and `state` as this node's apps describe it; `None`
    /// for a payment channel.
    pub(super) fn describe_app(&self, params: &Params, state: &State) -> Option<AppView> {
        self.describe_app_with(params, state, None)
    }

    /// [`Driver::describe_app`], with the state `on_record` on chain if it differs.
    fn describe_app_with(
        &self,
        params: &Params,
        state: &State,
        on_record: Option<&State>,
    ) -> Option<AppView> {
        let address = params.app.clone()?;
        let known = self.apps.by_address(&address);
        let on_record = on_record
            .filter(|recorded| *recorded != state)
            .and_then(|recorded| {
                let described = known?
                    .app
                    .describe(params, recorded)
                    .map_err(|e| e.message().to_string());
                Some((recorded.version, described))
            });
        Some(AppView {
            on_record,
            name: known.map(|k| k.name.clone()),
            state: known.map(|k| {
                k.app
                    .describe(params, state)
                    .map_err(|e| e.message().to_string())
            }),
            address,
        })
    }

    fn alias(&self, peer: Option<NodeId>) -> Option<String> {
        peer.and_then(|peer| self.book.alias_of(&peer))
    }

    /// The task handle and peer of running channel `id`.
    pub(super) fn entry(&self, id: ChannelId) -> Result<(ChannelHandle, Option<NodeId>), Error> {
        self.registry
            .handle_and_peer(&id)
            .ok_or_else(|| no_channel(id))
    }

    /// Waits until channel `id` reaches `phase` (or a later one), or its chain side fails;
    /// returns the status reached.
    pub(super) async fn wait_for_phase(
        &self,
        id: ChannelId,
        phase: Phase,
        limit: Duration,
    ) -> Result<ChannelStatus, Error> {
        let Some(status) = self.registry.subscribe(&id) else {
            // Gone from the registry: it closed and was archived meanwhile.
            return match self.store.archived(&id) {
                Ok(Some(_)) => Ok(ChannelStatus::new(Phase::Closed)),
                _ => Err(Error::internal(format!("channel {id} vanished"))),
            };
        };
        // A failed step of a dispute does not end the wait: the dispute driver tries it again,
        // and the channel's status shows it meanwhile. Any other problem (funding, the
        // cooperative close) does.
        let waiting = wait_for_status(status, |s| s.phase >= phase, |s| s.phase != Phase::Disputed);
        match tokio::time::timeout(limit, waiting).await {
            Ok(Ok(status)) => Ok(status),
            Ok(Err(problem)) => Err(Error::unavailable(format!("channel {id}: {problem}"))),
            Err(_) => Err(Error::unavailable(format!(
                "channel {id} did not become {phase} within {} s; it goes on in the background (see `parley channel show {id}`)",
                limit.as_secs()
            ))),
        }
    }
}

/// The error for a channel id this node does not run.
pub(super) fn no_channel(id: ChannelId) -> Error {
    Error::not_found(format!(
        "no open channel {id} on this node; `parley channel list` shows them (`--closed` the closed ones)"
    ))
}
