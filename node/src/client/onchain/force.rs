//! Moves on chain: force execution of an app channel in dispute (the Adjudicator's
//! `progress`).
//!
//! When the peer stops answering, a person still moves with `parley channel move`; in a
//! `Disputed` app channel the driver hands the move to the channel's owner ([`ForceMoves`]),
//! the only part that acts on chain for the channel, which carries it out between its dispute
//! rounds: it reads the record and the state on record, checks the Adjudicator's windows
//! ([`may_move`]), applies the move to the state on record with the app (our index as the
//! actor), checks it with the app's `valid_transition`, signs it and sends `progress`. The
//! next round reads the new record.

use super::decide::{may_move, NoMove};
use super::failure::{chain_step, ChainFailure};
use super::on_record;
use super::ChainSide;
use crate::client::error::{Error, ErrorKind};
use crate::utc::chain_time;
use parley_plugin_api::model::{ChannelId, ProgressRequest};
use parley_plugin_api::ErrorKind as PluginKind;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// A move on chain asked for by a person, on its way to the channel's owner.
#[derive(Debug)]
pub struct ForceMove {
    /// The channel.
    pub channel: ChannelId,
    /// The move (JSON, as the channel's app takes it).
    pub action: String,
    /// Where the version the move reached on chain (or why there is none) goes.
    pub reply: oneshot::Sender<Result<u64, Error>>,
}

/// The driver's way to the owners of the channels' chain side, for moves on chain.
#[derive(Clone, Debug)]
pub struct ForceMoves(mpsc::UnboundedSender<ForceMove>);

impl ForceMoves {
    /// The sender, and the receiver the router reads.
    pub fn channel() -> (ForceMoves, mpsc::UnboundedReceiver<ForceMove>) {
        let (sender, receiver) = mpsc::unbounded_channel();
        (ForceMoves(sender), receiver)
    }

    /// Makes `action` on chain in channel `channel`: returns the version it reached.
    pub async fn make(&self, channel: ChannelId, action: String) -> Result<u64, Error> {
        let (reply, answer) = oneshot::channel();
        let gone = || Error::unavailable("the node is shutting down; the move was not made");
        self.0
            .send(ForceMove {
                channel,
                action,
                reply,
            })
            .map_err(|_| gone())?;
        answer.await.map_err(|_| {
            Error::conflict(format!(
                "channel {channel} left its dispute before the move could be made on chain; \
                 `parley channel show {channel}` shows where it stands"
            ))
        })?
    }
}

/// The error for a move the Adjudicator would not take now.
fn refused(id: ChannelId, no: NoMove, now: u64) -> Error {
    Error::conflict(match no {
        NoMove::NotRegistered => format!(
            "channel {id} is in dispute but nothing is registered on chain yet; moves on chain \
             become possible after the registration's challenge"
        ),
        NoMove::TooEarly { from } => format!(
            "moves on chain in channel {id} become possible at chain time {} ({} s from \
             now), when the registered state can no longer be refuted",
            chain_time(from),
            from.saturating_sub(now)
        ),
        NoMove::Over { at } => format!(
            "force execution of channel {id} ended at chain time {}: the channel concludes \
             with the state on record",
            chain_time(at)
        ),
        NoMove::Final => format!(
            "the state on record of channel {id} is final: the app is over, and the channel \
             concludes"
        ),
        NoMove::Concluded => format!("channel {id} concluded on chain"),
    })
}

/// A failed chain step as the person's error: the chain down is transient, a refusal by the
/// ledger is a conflict with the state on chain, anything else the node's.
fn failed(failure: ChainFailure) -> Error {
    let kind = match failure.kind() {
        PluginKind::Unavailable | PluginKind::Timeout => ErrorKind::Unavailable,
        PluginKind::Rejected => ErrorKind::Conflict,
        _ => ErrorKind::Internal,
    };
    Error::new(kind, failure.to_string())
}

/// Makes `action` in channel `id` on chain: the move applied to the state on record, with us
/// as the actor, signed by us and sent as `progress`. The version reached, or why not.
pub async fn progress(side: &Arc<ChainSide>, id: ChannelId, action: &str) -> Result<u64, Error> {
    let running = side
        .registry
        .get(&id)
        .ok_or_else(|| Error::not_found(format!("no running channel {id}")))?;
    let snapshot = running
        .handle
        .snapshot()
        .await
        .map_err(|e| Error::unavailable(format!("cannot read channel {id}: {e}")))?
        .snapshot;
    let params = snapshot.channel.params.clone();
    let Some(address) = params.app.clone() else {
        return Err(Error::conflict(format!(
            "channel {id} is a payment channel: it takes no moves"
        )));
    };
    let app = side
        .apps
        .by_address(&address)
        .ok_or_else(|| {
            Error::conflict(format!(
                "channel {id} runs the app at {address}, which this node does not have \
                 ([[apps]] in node.toml)"
            ))
        })?
        .app
        .clone();
    let on_chain = on_record::read(side, id, true).await.map_err(failed)?;
    if let Some(why) = on_chain.unreadable {
        return Err(Error::unavailable(why));
    }
    let Some(from) = on_chain.state.clone() else {
        return Err(Error::unavailable(format!(
            "the state on record of channel {id} could not be read yet; try again"
        )));
    };
    may_move(
        on_chain.record.as_ref(),
        from.is_final,
        params.challenge_duration,
        on_chain.now,
    )
    .map_err(|no| refused(id, no, on_chain.now))?;
    let me = snapshot.channel.my_index;
    let refusal = |error: parley_plugin_api::PluginError| {
        Error::conflict(format!(
            "the app refuses the move on chain: {}",
            error.message()
        ))
    };
    let next = app.apply(&params, &from, action, me).map_err(refusal)?;
    app.valid_transition(&params, &from, &next, me)
        .map_err(refusal)?;
    let account = side
        .chain
        .account()
        .map_err(|e| Error::internal(format!("cannot move on chain: {e}")))?
        .clone();
    let sig = side
        .chain
        .signer
        .sign_state(&account, &next)
        .map_err(|e| Error::internal(format!("cannot sign the move: {}", e.message())))?;
    let version = next.version;
    let moved = next.clone();
    let request = ProgressRequest {
        from: account,
        params,
        old_state: from,
        new_state: next,
        actor: me,
        sig,
    };
    let chain = side.chain.ledger.clone();
    let receipt = chain_step(format!("moving to version {version} on chain"), move || {
        chain.progress(&request)
    })
    .await
    .map_err(failed)?;
    tracing::info!(channel = %id, version, gas = receipt.fee_units, "moved on chain (progress)");
    // The chain holds it now; reading the record again shows the move at once (the next
    // round reads it anyway, so a failed read is no failure of the move).
    side.registry.set_on_record(&id, Some(moved));
    let _ = on_record::read(side, id, true).await;
    let fee = match receipt.fee_units {
        0 => String::new(),
        units => format!(" ({units} fee units)"),
    };
    side.registry.set_note(
        &id,
        format!("force execution: our move reached version {version} on chain{fee}"),
    );
    Ok(version)
}
