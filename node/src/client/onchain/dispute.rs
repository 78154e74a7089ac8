//! One round of a dispute (a channel in `Disputed`): read the channel (from its task) and the
//! chain (record and time), ask [`decide`] and carry out the answer. The owner runs rounds
//! until our share is withdrawn and the channel is `Closed`.
//!
//! Every step is safe to repeat, so a node killed at any point resumes the dispute where the
//! chain stands when it restarts: a `Disputed` channel's owner reads the record afresh.

use super::conclude_final::{final_step, FinalStep};
use super::decide::{decide, Action, OurSide};
use super::failure::{chain_step, ChainFailure};
use super::life::Outcome;
use super::on_record;
use super::ChainSide;
use crate::client::channel_task::ChannelHandle;
use crate::protocol::{ChannelSnapshot, Phase};
use crate::utc::chain_time;
use parley_plugin_api::model::{
    ChainTime, ChannelId, ConcludeFinalRequest, ConcludeRequest, Dispute, DisputePhase,
    Participant, RegisterRequest, SignedState, State, WithdrawRequest,
};
use parley_plugin_api::{ChainLedger, ErrorKind};
use std::sync::Arc;
use std::time::Duration;

/// How often the chain is read while a dispute waits for its timeout (chain time may also jump,
/// on test ledgers). A chain event about the channel ends the pause earlier.
pub const POLL: Duration = Duration::from_millis(500);

/// One round for channel `id`: read, decide, act. `waited` is how long this run has been
/// disputing it. `Done` once the channel is closed (or gone); `Again` after a step that changed
/// the chain; `Later` while chain time must move on.
pub async fn round(
    side: &Arc<ChainSide>,
    id: ChannelId,
    waited: Duration,
) -> Result<Outcome, ChainFailure> {
    let Some((handle, refute)) = side
        .registry
        .get(&id)
        .map(|running| (running.handle, running.refute))
    else {
        return Ok(Outcome::Done);
    };
    let Ok(view) = handle.snapshot().await else {
        return Ok(Outcome::Done);
    };
    let snapshot = view.snapshot;
    if snapshot.phase == Phase::Closed {
        return Ok(Outcome::Done);
    }
    if let Some(parent) = snapshot.funding.in_parent() {
        let acting = side.acting(id, "dispute").await?;
        return match acting {
            Some(acting) => super::tree::dispute_round(side, id, parent, acting).await,
            None => Ok(Outcome::Done),
        };
    }
    let params = &snapshot.channel.params;
    let app = params.app.is_some();
    let on_chain = on_record::read(side, id, app).await?;
    let now = on_chain.now;
    let record = on_chain.record.clone();
    // The tree below: stopped and read while it can still go on chain. Once the root concluded
    // only our withdrawal is left (and the sub-channels close by themselves).
    let concluded = record
        .as_ref()
        .is_some_and(|r| r.phase == DisputePhase::Concluded);
    let subs = if snapshot.latest.state.allocation.locked.is_empty() || concluded {
        Vec::new()
    } else {
        super::tree::descendants(side, &snapshot.latest.state).await?
    };
    let ours = OurSide {
        latest: snapshot.latest.state.version,
        latest_final: snapshot.latest.state.is_final,
        pending: snapshot.pending.as_ref().map(|p| p.state.version),
        refute,
        app_challenge: app.then_some(params.challenge_duration),
        record_final: on_chain.state_final().unwrap_or_else(|| {
            record
                .as_ref()
                .is_some_and(|r| r.version == snapshot.latest.state.version)
                && snapshot.latest.state.is_final
        }),
    };
    let me = side
        .chain
        .account()
        .map_err(|e| {
            ChainFailure::new(
                ErrorKind::InvalidConfig,
                format!("cannot act on chain: {e}"),
            )
        })?
        .clone();
    let sub_records = super::tree::sub_records(side, &subs).await?;
    let action = super::tree::decide_tree(
        decide(&ours, record.as_ref(), now),
        &subs,
        &sub_records,
        refute,
        now,
    );
    if action == Action::Register && refute {
        for (sub, registered, ours) in super::tree::stale_subs(&subs, &sub_records, now) {
            tracing::info!(channel = %id, sub_channel = %sub, refuted = registered, version = ours, "refuting a sub-channel's older registered state with the tree's newest");
            side.registry.set_note(
                &sub,
                format!("refuting the registered version {registered} with our newest, version {ours}, through the root {id}"),
            );
        }
    }
    let subs = super::tree::registrable_subs(&subs, &sub_records);
    let sub_on_record = sub_records.into_iter().map(|r| r.state).collect();
    let step = Step {
        side,
        id,
        handle: &handle,
        snapshot: &snapshot,
        me,
        subs,
        sub_on_record,
        on_record: on_chain.state.as_ref(),
    };
    match action {
        Action::Register => step.register(record.map(|r| r.version)).await,
        Action::ConcludeFinal => step.conclude_final(record.as_ref(), waited).await,
        Action::Wait { until } => {
            let mut note = match &record {
                Some(record) => wait_note(record, &ours, until, now),
                None => format!("dispute: waiting until chain time {}", chain_time(until)),
            };
            if let Some(why) = &on_chain.unreadable {
                note = format!("{note}; {why}");
            }
            if progress_due(waited) {
                // The operator's log shows the dispute moving, not only its start and end.
                tracing::info!(channel = %id, waited_s = waited.as_secs(), "{note}");
            }
            step.note(note);
            Ok(Outcome::Later(POLL))
        }
        Action::Conclude {
            version,
            refutation_missed,
        } => {
            if refutation_missed {
                tracing::error!(
                    channel = %id,
                    registered = version,
                    newest = ours.latest,
                    "the dispute ended before this node could refute an older state (was it \
                     down for the whole challenge duration?); the chain pays out version {version}"
                );
            }
            step.conclude(version).await
        }
        Action::Withdraw => step.withdraw().await,
    }
}

/// How often a waiting dispute says in the log where it stands.
const PROGRESS_EVERY: Duration = Duration::from_secs(30);

/// Whether the round of a dispute this run has waited `waited` for logs its progress: the
/// first round, then one round in each [`PROGRESS_EVERY`] (rounds come every [`POLL`]).
fn progress_due(waited: Duration) -> bool {
    waited < POLL || waited.as_millis() % PROGRESS_EVERY.as_millis() < POLL.as_millis()
}

/// What the status says while a dispute waits for chain time `until`.
fn wait_note(record: &Dispute, ours: &OurSide, until: ChainTime, now: ChainTime) -> String {
    let version = record.version;
    let left = until.saturating_sub(now);
    let (at, timeout) = (chain_time(until), chain_time(record.timeout));
    match (record.phase, ours.app_challenge) {
        (DisputePhase::ForceExec, _) => format!(
            "force execution: version {version} is on record after a move on chain; moves on \
             chain (`parley channel move`) are possible until chain time {at} ({left} s \
             from now), then the channel concludes with the state on record"
        ),
        (DisputePhase::Dispute, Some(_)) if until > record.timeout => {
            if now < record.timeout {
                format!(
                    "dispute: version {version} is registered on chain; refutable until chain \
                     time {timeout}, then moves on chain (`parley channel move`) are possible until \
                     chain time {at} ({left} s from now, when force execution ends and the \
                     channel concludes)"
                )
            } else {
                format!(
                    "force execution: version {version} is registered and the challenge is \
                     over; moves on chain (`parley channel move`) are possible until chain time \
                     {at} ({left} s from now), then the channel concludes"
                )
            }
        }
        _ => format!(
            "dispute: version {version} is registered on chain; the challenge ends at chain \
             time {at} ({left} s from now), then the channel concludes"
        ),
    }
}

/// The context of one action.
struct Step<'a> {
    side: &'a ChainSide,
    id: ChannelId,
    handle: &'a ChannelHandle,
    snapshot: &'a ChannelSnapshot,
    me: Participant,
    /// The newest states of the sub-channels our newest state locks, depth first.
    subs: Vec<SignedState>,
    /// For each of `subs`, the state on record on chain when it was read (app sub-channels,
    /// which moves on chain may have advanced).
    sub_on_record: Vec<Option<State>>,
    /// The state on record, as read from the chain (app channels).
    on_record: Option<&'a State>,
}

impl Step<'_> {
    fn chain(&self) -> Arc<dyn ChainLedger> {
        self.side.chain.ledger.clone()
    }

    fn note(&self, note: String) {
        self.side.registry.set_note(&self.id, note);
    }

    /// Our newest fully signed state with the parameters, as `register` needs it.
    fn newest(&self) -> Result<SignedState, ChainFailure> {
        self.snapshot.signed_latest().ok_or_else(|| {
            ChainFailure::internal("our newest state lacks a signature; nothing can be registered")
        })
    }

    /// Whether the chain says the channel concluded (after a call that may have lost a race).
    /// A failed read is an error, not a "no".
    async fn concluded(&self) -> Result<bool, ChainFailure> {
        let chain = self.chain();
        let id = self.id;
        chain_step(
            "reading the channel's record to see whether it concluded anyway",
            move || chain.dispute(&id),
        )
        .await
        .map(|record| record.is_some_and(|d| d.phase == DisputePhase::Concluded))
    }

    /// Whether the chain says the channel concluded after `call` failed with `error`: `Ok` if it
    /// did (the call lost a race, which is what we wanted), else the error.
    async fn concluded_anyway(&self, error: ChainFailure) -> Result<(), ChainFailure> {
        match self.concluded().await {
            Ok(true) => Ok(()),
            Ok(false) => Err(error),
            Err(read) => Err(read.context(error.message())),
        }
    }

    async fn register(&self, registered: Option<u64>) -> Result<Outcome, ChainFailure> {
        let signed = self.newest()?;
        let version = signed.state.version;
        let request = RegisterRequest {
            from: self.me.clone(),
            channel: signed,
            sub_channels: self.subs.clone(),
        };
        let chain = self.chain();
        chain_step(
            format!("registering version {version} on chain"),
            move || chain.register(&request),
        )
        .await?;
        match registered {
            Some(old) => {
                tracing::info!(channel = %self.id, refuted = old, version, "refuted an older registered state with our newest");
                self.note(format!(
                    "refuted the registered version {old} with our newest, version {version}"
                ));
            }
            None => {
                tracing::info!(channel = %self.id, version, "registered our newest state on chain");
                self.note(format!(
                    "registered our newest state, version {version}, on chain"
                ));
            }
        }
        Ok(Outcome::Again)
    }

    /// Concludes with our final state, if it is our turn (see `conclude_final`): without a
    /// record the peer may be concluding already, and we wait for it before sending ours.
    async fn conclude_final(
        &self,
        record: Option<&Dispute>,
        waited: Duration,
    ) -> Result<Outcome, ChainFailure> {
        let patience = self.side.policy.peer_conclude_timeout;
        match final_step(record, self.snapshot.channel.my_index, waited, patience) {
            FinalStep::Withdraw => return self.withdraw().await,
            FinalStep::AwaitPeer { within } => {
                self.note(format!(
                    "the peer (the channel's proposer) concludes the channel with the final state; \
                     waiting for its transaction, at most {} s more, before concluding ourselves \
                     ([policy] peer_conclude_timeout_seconds)",
                    within.as_secs_f64().ceil()
                ));
                return Ok(Outcome::Later(within.min(POLL)));
            }
            FinalStep::ConcludeFinal if self.side.testing.withholds_conclude_final(self.id) => {
                return Ok(Outcome::Later(POLL));
            }
            FinalStep::ConcludeFinal => {}
        }
        let request = ConcludeFinalRequest {
            from: self.me.clone(),
            channel: self.newest()?,
        };
        let chain = self.chain();
        if let Err(error) = chain_step("concluding with the final state", move || {
            chain.conclude_final(&request)
        })
        .await
        {
            self.concluded_anyway(error).await?;
        }
        Ok(Outcome::Again)
    }

    /// The state of `version`: our newest, our pending update, (test nodes) an older one, or
    /// the state on record read from the chain (after moves on chain, a state only its actor
    /// signed: fine for `conclude`, which takes the state the record commits to).
    async fn state_of(&self, version: u64) -> Result<Option<State>, ChainFailure> {
        if let Some(state) = self.on_record.filter(|s| s.version == version) {
            return Ok(Some(state.clone()));
        }
        if self.snapshot.latest.state.version == version {
            return Ok(Some(self.snapshot.latest.state.clone()));
        }
        if let Some(pending) = self
            .snapshot
            .pending
            .as_ref()
            .filter(|p| p.state.version == version)
        {
            return Ok(Some(pending.state.clone()));
        }
        let older = self
            .handle
            .signed_version(version)
            .await
            .map_err(|e| ChainFailure::channel("cannot read the channel", &e))?;
        Ok(older.map(|signed| signed.state))
    }

    /// The sub-channels' states to conclude `state` with: those of our tree when `state` is
    /// our newest (an older registered state locked other funds, or none).
    fn sub_states_for(&self, state: &State) -> Vec<State> {
        if state.allocation.locked.is_empty() {
            return Vec::new();
        }
        self.subs
            .iter()
            .zip(&self.sub_on_record)
            .map(|(sub, on_record)| on_record.clone().unwrap_or_else(|| sub.state.clone()))
            .collect()
    }

    async fn conclude(&self, version: u64) -> Result<Outcome, ChainFailure> {
        let Some(state) = self.state_of(version).await? else {
            // Only the peer can conclude it; the record tells when it did.
            self.note(format!(
                "dispute: version {version} is registered, a state this node does not hold; \
                 waiting for the peer to conclude"
            ));
            return Ok(Outcome::Later(POLL));
        };
        let request = ConcludeRequest {
            from: self.me.clone(),
            params: self.snapshot.channel.params.clone(),
            sub_states: self.sub_states_for(&state),
            state,
        };
        let chain = self.chain();
        if let Err(error) = chain_step(format!("concluding version {version}"), move || {
            chain.conclude(&request)
        })
        .await
        {
            self.concluded_anyway(error).await?;
        }
        tracing::info!(channel = %self.id, version, "the channel concluded on chain");
        Ok(Outcome::Again)
    }

    async fn withdraw(&self) -> Result<Outcome, ChainFailure> {
        let request = WithdrawRequest {
            from: self.me.clone(),
            channel_id: self.id,
            participant: self.me.clone(),
            receiver: self.me.clone(),
            assets: self.snapshot.latest.state.allocation.assets.clone(),
        };
        let chain = self.chain();
        let receipt = chain_step("withdrawing our share", move || chain.withdraw(&request)).await?;
        let assets = &self.snapshot.latest.state.allocation.assets;
        let amounts: Vec<String> = assets
            .iter()
            .zip(&receipt.amounts)
            .map(|(asset, amount)| self.side.chain.show(asset, amount))
            .collect();
        tracing::info!(channel = %self.id, amounts = ?amounts, "withdrew our share after the dispute");
        super::tree::release_carried(self.side, self.id, &self.snapshot.latest.state).await;
        self.note(format!(
            "the channel concluded on chain; withdrew our share ({})",
            amounts.join(", ")
        ));
        let ending = self.side.registry.ending(&self.id);
        self.handle
            .concluded(ending)
            .await
            .map_err(|e| ChainFailure::channel("withdrew, but the channel refused to close", &e))?;
        Ok(Outcome::Done)
    }
}

#[cfg(test)]
mod progress_tests {
    use super::*;

    #[test]
    fn a_waiting_dispute_logs_its_progress_about_every_thirty_seconds() {
        let logged = (0..240)
            .map(|round| Duration::from_millis(round * 500 + 120))
            .filter(|waited| progress_due(*waited))
            .count();
        // Rounds every 500 ms over 120 s: the first, then once per 30 s window.
        assert_eq!(logged, 4);
        assert!(progress_due(Duration::from_millis(10)));
        assert!(!progress_due(Duration::from_secs(10)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(phase: DisputePhase, timeout: ChainTime) -> Dispute {
        Dispute {
            channel_id: ChannelId([1; 32]),
            version: 7,
            phase,
            timeout,
        }
    }

    fn app() -> OurSide {
        OurSide {
            latest: 7,
            latest_final: false,
            pending: None,
            refute: true,
            app_challenge: Some(60),
            record_final: false,
        }
    }

    #[test]
    fn the_note_says_when_moves_on_chain_are_possible_and_when_force_execution_ends() {
        let registered = record(DisputePhase::Dispute, 200);
        let before = wait_note(&registered, &app(), 260, 150);
        assert!(
            before.contains("refutable until chain time 1970-01-01 00:03:20 UTC"),
            "{before}"
        );
        assert!(
            before.contains("possible until chain time 1970-01-01 00:04:20 UTC"),
            "{before}"
        );
        let after = wait_note(&registered, &app(), 260, 230);
        assert!(after.starts_with("force execution:"), "{after}");
        assert!(
            after.contains("until chain time 1970-01-01 00:04:20 UTC (30 s from now)"),
            "{after}"
        );
        let progressed = wait_note(&record(DisputePhase::ForceExec, 400), &app(), 400, 390);
        assert!(progressed.starts_with("force execution:"), "{progressed}");
        assert!(
            progressed.contains("chain time 1970-01-01 00:06:40 UTC (10 s from now)"),
            "{progressed}"
        );
        let payment = OurSide {
            app_challenge: None,
            ..app()
        };
        let plain = wait_note(&registered, &payment, 200, 150);
        assert!(
            plain.contains("the challenge ends at chain time 1970-01-01 00:03:20 UTC"),
            "{plain}"
        );
    }
}
