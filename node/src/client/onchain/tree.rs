//! The chain side of a sub-channel, which never sends a transaction of its own: it is funded
//! by a lock in its parent's state and closed by a merge into it (both off-chain updates of
//! the parent), and in a dispute its states go on chain with its root's registration.
//!
//! - **Funding** ([`fund_by_parent`]): the child hands its fully signed opening state to the
//!   parent's task; participant 0 of the child proposes the parent's lock update, the others
//!   wait for it (their parent accepts it only once it holds that same opening state, so a
//!   lock that arrives first is refused and proposed again shortly). The child is funded once
//!   the parent's newest fully signed state locks it.
//! - **Closing** ([`merge_into_parent`]): once the child's final state is fully signed, the
//!   same with the merge; the child is closed once the parent's newest state no longer locks
//!   it. No chain call, no withdrawal: the funds are back in the parent.
//! - **Dispute** ([`dispute_round`]): the child stops its parent (and so, up the tree, the
//!   root), whose owner registers the whole tree; the child waits until the chain concluded
//!   it with the root (the root's withdrawal pays out what the tree says).
//!
//! A virtual channel at one of its ends is handled the same way with its one parent here (our
//! ledger channel with the intermediary), except that its state also goes to the intermediary
//! (which checks it and holds it before it signs) and that each end proposes the lock and the
//! merge in its own parent. In a dispute it goes on chain with that parent's tree.
//!
//! Every step reads the parent afresh and is safe to repeat after a restart.

use super::failure::ChainFailure;
use super::life::Outcome;
use super::{Acting, ChainSide};
use crate::client::channel_task::ChannelHandle;
use crate::protocol::{Funding, Phase, VirtualTerms};
use parley_plugin_api::model::{ChannelId, DisputePhase, SignedState, State};
use parley_plugin_api::ErrorKind;
use std::time::Duration;

/// How soon a child looks at its parent again while a lock or merge is under way.
const STEP: Duration = Duration::from_millis(5);

/// The parent's task (`None` once the parent is closed and archived), its phase, and whether
/// its newest state locks `child`.
async fn parent_locks(
    side: &ChainSide,
    parent: ChannelId,
    child: ChannelId,
) -> Result<(Option<ChannelHandle>, Phase, bool), ChainFailure> {
    let Some(running) = side.registry.get(&parent) else {
        let archived = side.store.archived(&parent).map_err(|e| {
            ChainFailure::new(
                ErrorKind::Unavailable,
                format!("reading the archive for the parent channel {parent} failed: {e}"),
            )
        })?;
        return match archived {
            Some(closed) => {
                let locks = locks(&closed.snapshot.latest.state, child);
                Ok((None, Phase::Closed, locks))
            }
            // Transient: after a restart the parent's task may not be running yet.
            None => Err(ChainFailure::new(
                ErrorKind::Unavailable,
                format!("the parent channel {parent} is not running on this node"),
            )),
        };
    };
    let view = running.handle.snapshot().await.map_err(|e| {
        ChainFailure::channel(format!("reading the parent channel {parent} failed"), &e)
    })?;
    let locks = locks(&view.snapshot.latest.state, child);
    Ok((Some(running.handle), view.snapshot.phase, locks))
}

/// Whether `state` locks the funds of `child`.
fn locks(state: &State, child: ChannelId) -> bool {
    state.allocation.locked.iter().any(|sub| sub.id == child)
}

/// Our running channels whose newest state locks `child`, each with its snapshot.
pub async fn channels_locking(
    registry: &crate::client::registry::Registry,
    child: ChannelId,
) -> Vec<(ChannelHandle, crate::protocol::ChannelSnapshot)> {
    let mut found = Vec::new();
    for (handle, _) in registry.all() {
        if let Ok(view) = handle.snapshot().await {
            if locks(&view.snapshot.latest.state, child) {
                found.push((handle, view.snapshot));
            }
        }
    }
    found
}

/// One step of funding sub-channel `id` from `parent` (module documentation).
pub async fn fund_by_parent(
    side: &ChainSide,
    id: ChannelId,
    parent: ChannelId,
    acting: Acting,
) -> Result<Outcome, ChainFailure> {
    let (parent_handle, parent_phase, locked) = parent_locks(side, parent, id).await?;
    if locked && parent_handle.is_some() {
        acting.handle.funded().await.map_err(|e| {
            ChainFailure::channel("the parent locks it, but the channel refused", &e)
        })?;
        tracing::info!(channel = %id, %parent, "sub-channel funded by its parent's lock");
        return Ok(Outcome::Done);
    }
    let Some(parent_handle) = parent_handle.filter(|_| parent_phase == Phase::Active) else {
        return Err(ChainFailure::new(
            ErrorKind::Rejected,
            format!(
                "the parent channel {parent} is {parent_phase}, so it cannot lock this \
                 sub-channel's funds"
            ),
        ));
    };
    let Some(opening) = acting.snapshot.signed_latest() else {
        return Ok(Outcome::Later(STEP));
    };
    hand_over(
        side,
        id,
        parent,
        &acting,
        &parent_handle,
        opening,
        Change::Lock,
    )
    .await
}

/// One step of closing sub-channel `id` into `parent` (module documentation).
pub async fn merge_into_parent(
    side: &ChainSide,
    id: ChannelId,
    parent: ChannelId,
    acting: Acting,
) -> Result<Outcome, ChainFailure> {
    let (parent_handle, parent_phase, locked) = parent_locks(side, parent, id).await?;
    let Some(parent_handle) = parent_handle else {
        // The parent closed: with a final state, which locks nothing (so this child was
        // merged), or through a dispute that paid out the whole tree.
        let note = if locked {
            format!("closed on chain with its parent {parent}'s tree")
        } else {
            format!("closed: its final outcome is merged back into parent {parent}")
        };
        return close_child(side, id, &acting, note).await;
    };
    if !locked {
        let note = format!("closed: its final outcome is merged back into parent {parent}");
        return close_child(side, id, &acting, note).await;
    }
    if parent_phase == Phase::Disputed {
        // The tree is on chain: this child's final state goes there with its root.
        return side
            .stop_for_dispute(id, "cannot stop the sub-channel for its parent's dispute")
            .await;
    }
    let Some(last) = acting.snapshot.signed_latest().filter(|s| s.state.is_final) else {
        return Ok(Outcome::Later(STEP));
    };
    hand_over(
        side,
        id,
        parent,
        &acting,
        &parent_handle,
        last,
        Change::Merge,
    )
    .await
}

/// What a child asks of its parent.
#[derive(Clone, Copy, Debug)]
enum Change {
    /// Lock its funds (the child's opening state goes along).
    Lock,
    /// Merge its final outcome back (the child's final state goes along).
    Merge,
}

/// Hands the parent the child's fully signed `state`; participant 0 of the child then asks
/// for the `change` (the other waits for it). A refusal is tried again shortly: the other
/// side's parent may not hold the child's state yet.
async fn hand_over(
    side: &ChainSide,
    id: ChannelId,
    parent: ChannelId,
    acting: &Acting,
    parent_handle: &ChannelHandle,
    state: SignedState,
    change: Change,
) -> Result<Outcome, ChainFailure> {
    let (doing, waiting) = match change {
        Change::Lock => (
            "funding: locking the funds in",
            "funding: waiting for the peer to lock the funds in",
        ),
        Change::Merge => (
            "closing: merging the outcome into",
            "closing: waiting for the peer to merge the outcome into",
        ),
    };
    // A virtual channel's parent is our ledger channel with its intermediary, which must hold
    // the state before it signs; each end proposes the change in its own parent, the proposer
    // paying the intermediaries' fee with its lock.
    let virtual_child = matches!(acting.snapshot.funding, Funding::Virtual { .. });
    let handed = match (virtual_child, change) {
        (true, Change::Lock) => {
            let terms = VirtualTerms {
                map: None,
                fee: side.registry.lock_fee(&id),
            };
            parent_handle.know_virtual_child(state, terms, true)
        }
        (true, Change::Merge) => parent_handle.share_child(state),
        (false, _) => parent_handle.know_child(state),
    };
    handed.map_err(|e| ChainFailure::channel("handing the parent this sub-channel failed", &e))?;
    if !virtual_child && acting.snapshot.channel.my_index != 0 {
        side.registry
            .set_note(&id, format!("{waiting} parent {parent}"));
        return Ok(Outcome::Later(STEP));
    }
    side.registry
        .set_note(&id, format!("{doing} parent {parent}"));
    let done = match change {
        Change::Lock => parent_handle.lock_child(id).await,
        Change::Merge => parent_handle.merge_child(id).await,
    };
    match done {
        Ok(version) => {
            tracing::info!(channel = %id, %parent, version, ?change, "the parent took the sub-channel's change");
            Ok(Outcome::Again)
        }
        Err(error) => {
            tracing::debug!(channel = %id, ?change, "the parent's change did not complete yet: {error}");
            Ok(Outcome::Later(STEP))
        }
    }
}

/// Closes sub-channel `id` (its funds are back in its parent, or paid out on chain with its
/// tree), keeping `note` as how it ended.
async fn close_child(
    side: &ChainSide,
    id: ChannelId,
    acting: &Acting,
    note: String,
) -> Result<Outcome, ChainFailure> {
    side.registry.set_note(&id, note.clone());
    let mut ending = side.registry.ending(&id);
    ending.note = Some(note);
    acting
        .handle
        .concluded(ending)
        .await
        .map_err(|e| ChainFailure::channel("the sub-channel refused to close", &e))?;
    tracing::info!(channel = %id, "sub-channel closed");
    Ok(Outcome::Done)
}

/// One round of a disputed sub-channel `id` of `parent` (module documentation).
pub async fn dispute_round(
    side: &ChainSide,
    id: ChannelId,
    parent: ChannelId,
    acting: Acting,
) -> Result<Outcome, ChainFailure> {
    if let Some(running) = side.registry.get(&parent) {
        if running.phase < Phase::Disputed {
            side.stop_for_dispute(parent, "cannot stop the parent channel for the dispute")
                .await?;
        }
    }
    let chain = side.chain.ledger.clone();
    let record =
        super::failure::chain_step("reading the sub-channel's record on chain", move || {
            chain.dispute(&id)
        })
        .await?;
    if record.as_ref().map(|r| r.phase) == Some(DisputePhase::Concluded) {
        let note = format!(
            "closed on chain with its tree: its outcome is paid out through the root of parent \
             {parent}"
        );
        return close_child(side, id, &acting, note).await;
    }
    side.registry.set_note(
        &id,
        format!(
            "dispute: this sub-channel goes on chain with its tree, registered from its root \
             (through parent {parent})"
        ),
    );
    Ok(Outcome::Later(super::dispute::POLL))
}

/// The fully signed newest states of every sub-channel `state` locks, depth first (each child
/// followed by its own sub-channels), as `register` and `conclude` take them; each one still
/// updating is stopped first (moved to `Disputed`), since the tree goes on chain as it stands.
pub async fn descendants(
    side: &ChainSide,
    state: &parley_plugin_api::model::State,
) -> Result<Vec<SignedState>, ChainFailure> {
    let mut out = Vec::new();
    let mut stack: Vec<ChannelId> = state.allocation.locked.iter().rev().map(|s| s.id).collect();
    while let Some(child) = stack.pop() {
        let Some(running) = side.registry.get(&child) else {
            // Not running here: a virtual channel that closed (on chain, through its other
            // parent), or one this node only carries as its intermediary.
            let signed = held_state(side, child)?;
            stack.extend(signed.state.allocation.locked.iter().rev().map(|s| s.id));
            out.push(signed);
            continue;
        };
        if running.phase < Phase::Disputed {
            let _ = side
                .stop_for_dispute(child, "cannot stop a sub-channel for its root's dispute")
                .await;
        }
        let signed = match running.handle.snapshot().await {
            Ok(view) => view.snapshot.signed_latest().ok_or_else(|| {
                ChainFailure::internal(format!(
                    "sub-channel {child}'s newest state lacks a signature"
                ))
            })?,
            // Its task ended meanwhile: it closed, and the archive holds its newest state.
            Err(error) => held_state(side, child).map_err(|_| {
                ChainFailure::channel(format!("reading sub-channel {child} failed"), &error)
            })?,
        };
        stack.extend(signed.state.allocation.locked.iter().rev().map(|s| s.id));
        out.push(signed);
    }
    Ok(out)
}

/// The newest fully signed state of `child`, which is locked in a tree of ours but does not run
/// on this node: from the archive if it closed here, else the state we keep of a virtual
/// channel we carry as its intermediary.
fn held_state(side: &ChainSide, child: ChannelId) -> Result<SignedState, ChainFailure> {
    let unreadable = |e: crate::store::StoreError| {
        ChainFailure::new(
            ErrorKind::Unavailable,
            format!("reading the state of sub-channel {child} failed: {e}"),
        )
    };
    if let Some(closed) = side.store.archived(&child).map_err(unreadable)? {
        if let Some(signed) = closed.snapshot.signed_latest() {
            return Ok(signed);
        }
    }
    side.store
        .carried(&child)
        .map_err(unreadable)?
        .ok_or_else(|| {
            ChainFailure::new(
                ErrorKind::NotFound,
                format!(
                "sub-channel {child} is locked in the tree but this node holds no signed state \
                 of it; its state cannot go on chain"
            ),
            )
        })
}

/// After our ledger channel `id` concluded on chain with `state`, every other channel of ours
/// that still locks one of the virtual channels `state` locked and this node carries as their
/// intermediary goes on chain too: the virtual channel's outcome is fixed on chain now, and the
/// other end may never merge it, so only that channel's own registration pays our share of it
/// out. (An end of the virtual channel does the same for its side by itself.)
pub async fn release_carried(side: &ChainSide, id: ChannelId, state: &State) {
    for locked in &state.allocation.locked {
        let child = locked.id;
        if side.registry.contains(&child) || !matches!(side.store.carried(&child), Ok(Some(_))) {
            continue;
        }
        for (handle, snapshot) in channels_locking(&side.registry, child).await {
            let other = handle.id();
            if other == id || snapshot.phase >= Phase::Disputed {
                continue;
            }
            tracing::info!(channel = %other, virtual_channel = %child, concluded = %id, "the virtual channel concluded on chain through our other ledger channel: this one goes on chain too");
            side.registry.set_note(
                &other,
                format!(
                    "dispute: virtual channel {child} concluded on chain through our ledger \
                     channel {id}; this channel goes on chain to pay out our share of it"
                ),
            );
            let _ = side
                .stop_for_dispute(
                    other,
                    "cannot stop the other ledger channel of a virtual channel",
                )
                .await;
        }
    }
}

/// What the chain holds for each sub-channel of a tree in dispute (in the order of
/// [`descendants`]), read as for any channel in dispute; the state on record is read for an
/// app sub-channel, and for a virtual one (whose record another parent's registration may have
/// moved past the state we hold).
pub async fn sub_records(
    side: &std::sync::Arc<ChainSide>,
    subs: &[SignedState],
) -> Result<Vec<super::on_record::OnChain>, ChainFailure> {
    let mut records = Vec::with_capacity(subs.len());
    for sub in subs {
        let read_state = sub.params.app.is_some() || sub.params.virtual_channel;
        records.push(super::on_record::read(side, sub.state.channel_id, read_state).await?);
    }
    Ok(records)
}

/// The sub-channel states to register a tree with: ours, except where the chain already holds
/// a later one we cannot better (a virtual channel concluded through its other parent, or
/// registered there with a newer state than the one we hold as its intermediary). Then the
/// state on record goes along unsigned: the Adjudicator takes exactly its recorded state
/// without the signatures it checked when it recorded it.
pub fn registrable_subs(
    subs: &[SignedState],
    records: &[super::on_record::OnChain],
) -> Vec<SignedState> {
    subs.iter()
        .zip(records)
        .map(|(sub, chain)| {
            let (Some(record), Some(state)) = (&chain.record, &chain.state) else {
                return sub.clone();
            };
            let past_ours =
                record.phase == DisputePhase::Concluded || record.version > sub.state.version;
            if past_ours && state.channel_id == sub.state.channel_id {
                SignedState {
                    params: sub.params.clone(),
                    state: state.clone(),
                    sigs: Vec::new(),
                }
            } else {
                sub.clone()
            }
        })
        .collect()
}

/// The sub-channels registered with an older state than our newest while their record can
/// still be refuted: `(id, registered version, our version)`.
pub fn stale_subs(
    subs: &[SignedState],
    records: &[super::on_record::OnChain],
    now: parley_plugin_api::model::ChainTime,
) -> Vec<(ChannelId, u64, u64)> {
    subs.iter()
        .zip(records)
        .filter_map(|(sub, chain)| {
            let r = chain.record.as_ref()?;
            (r.phase == DisputePhase::Dispute && r.version < sub.state.version && now < r.timeout)
                .then_some((sub.state.channel_id, r.version, sub.state.version))
        })
        .collect()
}

/// The root's next step (`action`, decided for the root alone) adjusted for its tree: a
/// sub-channel registered with an older state than ours is refuted (registering the tree
/// again: the root's own record, unchanged, is left as it is) while its record can still be
/// refuted, and the tree concludes only once every sub-channel can (an app sub-channel in its
/// dispute phase gets the force-execution window after its timeout, as the Adjudicator
/// requires). Pure: `subs` are our newest states, `records` what the chain holds of each.
pub fn decide_tree(
    action: super::decide::Action,
    subs: &[SignedState],
    records: &[super::on_record::OnChain],
    refute: bool,
    now: parley_plugin_api::model::ChainTime,
) -> super::decide::Action {
    use super::decide::Action;
    if !matches!(action, Action::Wait { .. } | Action::Conclude { .. }) {
        return action;
    }
    if refute && !stale_subs(subs, records, now).is_empty() {
        return Action::Register;
    }
    if let Action::Conclude { .. } = action {
        let ready = subs
            .iter()
            .zip(records)
            .filter_map(|(sub, chain)| {
                let record = chain.record.as_ref()?;
                let final_on_record = chain.state.as_ref().map_or(
                    sub.state.is_final && record.version == sub.state.version,
                    |s| s.is_final,
                );
                let window = sub.params.app.is_some()
                    && record.phase == DisputePhase::Dispute
                    && !final_on_record;
                Some(if window {
                    record.timeout.saturating_add(sub.params.challenge_duration)
                } else {
                    record.timeout
                })
            })
            .max();
        if let Some(until) = ready.filter(|until| *until > now) {
            return Action::Wait { until };
        }
    }
    action
}

/// The root of the tree `id` belongs to (`id` itself for a ledger channel), and the newest
/// fully signed states of the root and of every sub-channel below it, depth first, as this
/// node's tasks hold them now (nothing is stopped). For a test node that registers an old
/// state of one sub-channel (`misbehave register`).
pub async fn newest_tree(
    registry: &crate::client::registry::Registry,
    id: ChannelId,
) -> Result<(SignedState, Vec<SignedState>), String> {
    let read = |id: ChannelId| async move {
        let running = registry
            .get(&id)
            .ok_or_else(|| format!("channel {id} is not running on this node"))?;
        let view = running
            .handle
            .snapshot()
            .await
            .map_err(|e| format!("channel {id} cannot be read: {e}"))?;
        Ok::<_, String>(view.snapshot)
    };
    let mut root = read(id).await?;
    while let Some(parent) = root.funding.in_parent() {
        root = read(parent).await?;
    }
    let root_signed = root
        .signed_latest()
        .ok_or_else(|| "the root's newest state lacks a signature".to_string())?;
    let mut out = Vec::new();
    let mut stack: Vec<ChannelId> = root
        .latest
        .state
        .allocation
        .locked
        .iter()
        .rev()
        .map(|s| s.id)
        .collect();
    while let Some(child) = stack.pop() {
        let snapshot = read(child).await?;
        let signed = snapshot
            .signed_latest()
            .ok_or_else(|| format!("sub-channel {child}'s newest state lacks a signature"))?;
        stack.extend(signed.state.allocation.locked.iter().rev().map(|s| s.id));
        out.push(signed);
    }
    Ok((root_signed, out))
}

#[cfg(test)]
mod tests {
    use super::super::decide::Action;
    use super::super::on_record::OnChain;
    use super::*;
    use parley_plugin_api::model::{Address, Allocation, Dispute, Params, Participant, Sig, State};

    fn sub(version: u64, app: bool) -> SignedState {
        SignedState {
            params: Params {
                participants: vec![Participant(vec![1; 20]), Participant(vec![2; 20])],
                challenge_duration: 100,
                nonce: [7; 32],
                app: app.then(|| Address(vec![9; 20])),
                ledger_channel: false,
                virtual_channel: false,
            },
            state: State {
                channel_id: ChannelId([5; 32]),
                version,
                allocation: Allocation::default(),
                app_data: Default::default(),
                is_final: false,
            },
            sigs: vec![Sig(vec![1; 65]), Sig(vec![2; 65])],
        }
    }

    fn chain(version: u64, phase: DisputePhase, timeout: u64) -> OnChain {
        OnChain {
            record: Some(Dispute {
                channel_id: ChannelId([5; 32]),
                version,
                phase,
                timeout,
            }),
            now: 0,
            state: None,
            unreadable: None,
        }
    }

    const CONCLUDE: Action = Action::Conclude {
        version: 3,
        refutation_missed: false,
    };

    #[test]
    fn a_stale_sub_channel_is_refuted_while_its_record_can_be() {
        let subs = [sub(5, false)];
        let stale = [chain(2, DisputePhase::Dispute, 200)];
        let wait = Action::Wait { until: 200 };
        assert_eq!(
            decide_tree(wait, &subs, &stale, true, 100),
            Action::Register
        );
        assert_eq!(
            stale_subs(&subs, &stale, 100),
            vec![(ChannelId([5; 32]), 2, 5)]
        );
        // A cheater does not refute its own registration; after the timeout nobody can.
        assert_eq!(decide_tree(wait, &subs, &stale, false, 100), wait);
        assert!(stale_subs(&subs, &stale, 200).is_empty());
        // Our own state on record is nothing to refute.
        let current = [chain(5, DisputePhase::Dispute, 200)];
        assert_eq!(decide_tree(wait, &subs, &current, true, 100), wait);
    }

    #[test]
    fn a_sub_channel_the_chain_holds_a_later_state_of_goes_on_chain_as_recorded() {
        let ours = sub(0, false);
        let mut recorded = ours.state.clone();
        recorded.version = 4;
        let with_state = |phase, version| OnChain {
            state: Some(State {
                version,
                ..recorded.clone()
            }),
            ..chain(version, phase, 200)
        };
        // Concluded through another parent: exactly the concluded state, unsigned.
        let subs = registrable_subs(
            std::slice::from_ref(&ours),
            &[with_state(DisputePhase::Concluded, 4)],
        );
        assert_eq!(subs[0].state, recorded);
        assert!(subs[0].sigs.is_empty());
        // Registered with a newer state than ours, still in dispute: the same.
        let subs = registrable_subs(
            std::slice::from_ref(&ours),
            &[with_state(DisputePhase::Dispute, 4)],
        );
        assert_eq!(subs[0].state.version, 4);
        // Ours is newer, or the state on record is unknown: ours, signed.
        let newer = sub(6, false);
        let subs = registrable_subs(
            std::slice::from_ref(&newer),
            &[with_state(DisputePhase::Dispute, 4)],
        );
        assert_eq!(subs[0], newer);
        let unknown = chain(4, DisputePhase::Concluded, 200);
        assert_eq!(
            registrable_subs(std::slice::from_ref(&ours), &[unknown])[0],
            ours
        );
    }

    #[test]
    fn the_tree_concludes_once_every_sub_channel_can() {
        let payment = [sub(5, false)];
        let registered = [chain(5, DisputePhase::Dispute, 200)];
        assert_eq!(
            decide_tree(CONCLUDE, &payment, &registered, true, 200),
            CONCLUDE
        );
        // An app sub-channel in its dispute phase gets the force-execution window.
        let game = [sub(5, true)];
        assert_eq!(
            decide_tree(CONCLUDE, &game, &registered, true, 200),
            Action::Wait { until: 300 }
        );
        assert_eq!(
            decide_tree(CONCLUDE, &game, &registered, true, 300),
            CONCLUDE
        );
        // Moved on chain: its own timeout counts.
        let forced = [chain(6, DisputePhase::ForceExec, 250)];
        assert_eq!(
            decide_tree(CONCLUDE, &game, &forced, true, 200),
            Action::Wait { until: 250 }
        );
        // Other steps are the root's alone.
        assert_eq!(
            decide_tree(Action::Withdraw, &game, &registered, true, 0),
            Action::Withdraw
        );
    }
}
