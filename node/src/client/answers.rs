//! The peer's updates that `[policy]` leaves to the user (`incoming_payments`,
//! `incoming_moves`, `incoming_other` = `"ask"`): which ones wait, what each would change, and
//! the user's accept or reject. The waiting itself, with its deadline, is the channel task's
//! (see `channel_task::asked`); the driver only reads it and hands it the answer.

use super::channel_task::{AnswerError, ChannelHandle, CommandError};
use super::driver::Driver;
use super::error::Error;
use super::overview::{no_channel, AppView, ChannelOverview};
use crate::wire::NodeId;
use parley_plugin_api::model::{ChannelId, State};

/// The reason told to the peer when the user rejects without giving one.
pub const REJECTED_BY_USER: &str = "rejected by the peer's user";

/// One update of the peer that waits for our answer, as the user sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WaitingUpdate {
    /// The channel.
    pub channel: ChannelId,
    /// The peer, if this node knows it.
    pub peer: Option<NodeId>,
    /// The peer's alias, if it is a known peer.
    pub peer_alias: Option<String>,
    /// Our participant index.
    pub me: usize,
    /// Who proposed it (the app's actor); `None` when the channel has more than two
    /// participants, which the node does not open yet.
    pub proposer: Option<usize>,
    /// The channel's newest fully signed state.
    pub current: State,
    /// The state the peer proposes (it passed every rule of the protocol and the app).
    pub proposed: State,
    /// When the node declines it unanswered, in Unix seconds; `None` if the user was not
    /// asked about it (the node is answering it by itself).
    pub answer_by: Option<u64>,
    /// For an app channel: the app, describing the current state.
    pub app_current: Option<AppView>,
    /// For an app channel: the app, describing the proposed state.
    pub app_proposed: Option<AppView>,
}

/// The user's answer to the peer's update.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Sign it.
    Accept,
    /// Decline it, telling the peer why (or [`REJECTED_BY_USER`]).
    Reject(Option<String>),
}

impl Driver {
    /// The peer's updates waiting for our answer: in channel `id` (an error if it is not an
    /// open channel of this node), or in every open channel, in channel order.
    pub async fn waiting_updates(
        &self,
        id: Option<ChannelId>,
    ) -> Result<Vec<WaitingUpdate>, Error> {
        let channels = match id {
            Some(id) => vec![self.entry(id)?],
            None => self.registry.all(),
        };
        let mut waiting = Vec::new();
        for (handle, peer) in channels {
            if let Some(update) = self.waiting_in(&handle, peer).await {
                waiting.push(update);
            }
        }
        waiting.sort_by_key(|update| update.channel);
        Ok(waiting)
    }

    /// The update waiting in the channel of `handle`, if one does (and the task still runs).
    async fn waiting_in(
        &self,
        handle: &ChannelHandle,
        peer: Option<NodeId>,
    ) -> Option<WaitingUpdate> {
        let view = handle.snapshot().await.ok()?;
        let proposed = view.awaiting_decision?;
        let snapshot = view.snapshot;
        let params = &snapshot.channel.params;
        let me = usize::from(snapshot.channel.my_index);
        // Only two-party channels open today: the proposer is the one other participant.
        let proposer = (params.participants.len() == 2).then(|| 1 - me.min(1));
        let current = snapshot.latest.state.clone();
        Some(WaitingUpdate {
            channel: snapshot.channel.channel_id,
            peer,
            peer_alias: peer.and_then(|p| self.book.alias_of(&p)),
            me,
            proposer,
            app_current: self.describe_app(params, &current),
            app_proposed: self.describe_app(params, &proposed),
            current,
            proposed,
            answer_by: view.answer_by,
        })
    }

    /// Answers the peer's update waiting in channel `id` (only the update to `version`, if
    /// given); returns the channel as it is after the answer (for an accept, the new state is
    /// signed and durable).
    pub async fn answer_update(
        &self,
        id: ChannelId,
        version: Option<u64>,
        verdict: Verdict,
    ) -> Result<ChannelOverview, Error> {
        let (handle, _) = self.entry(id)?;
        let result = match verdict {
            Verdict::Accept => handle.accept(version).await,
            Verdict::Reject(reason) => {
                let reason = reason.unwrap_or_else(|| REJECTED_BY_USER.to_string());
                handle.reject(version, reason).await
            }
        };
        result.map_err(|error| answer_error(id, error))?;
        self.channel(id).await
    }
}

/// A failed answer, said with where it failed and how to go on.
fn answer_error(id: ChannelId, error: CommandError) -> Error {
    match error {
        CommandError::Answer(AnswerError::NothingAwaits) => Error::not_found(format!(
            "channel {id}: no update of the peer awaits an answer (it was answered, or declined \
             when [policy] update_timeout_seconds ran out, or the peer withdrew it); \
             `parley channel pending` lists the updates that wait"
        )),
        CommandError::Answer(answer) => Error::conflict(format!(
            "channel {id}: {answer}; `parley channel pending {id}` shows what awaits an answer now"
        )),
        CommandError::Stopped => no_channel(id),
        other => Error::from(other),
    }
}
