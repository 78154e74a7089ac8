// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Channel} from "./Channel.sol";
import {App} from "./App.sol";
import {AssetHolder} from "./AssetHolder.sol";

/// @title Adjudicator: enforces the newest fully signed state of a channel on chain
/// @notice A participant who cannot close a channel cooperatively registers its newest state
/// (with the states of the sub-channels it funds). Anybody holding a newer fully signed state
/// can refute until the timeout. An app channel can then be progressed move by move through its
/// App. After the timeouts the channel is concluded and the asset holders pay out the outcome.
/// A fully signed final state concludes at once (concludeFinal).
/// @dev The same rules, in Rust, are the sim-chain ledger's (plugins/sim-chain/src/rules); the
/// two are kept in step. Times are block timestamps in seconds.
contract Adjudicator {
    /// @notice The phases of a registered channel.
    enum DisputePhase {
        /// A state is registered; newer states refute it until the timeout.
        DISPUTE,
        /// An app channel is being progressed on chain, until the timeout.
        FORCEEXEC,
        /// The outcome is final (and, for the root channel, pushed to the asset holders).
        CONCLUDED
    }

    /// @notice A channel's on-chain record. The public getter `disputes(bytes32)` returns it in
    /// Perun v1.0.0's order (timeout, challengeDuration, version, phase, stateHash, hasApp);
    /// in storage `hasApp` sits before `phase`, so that the four small fields share one slot
    /// and a record takes two slots instead of three (one cold slot less, about 2,200 gas less
    /// on every register, progress, conclude and concludeFinal).
    struct Dispute {
        /// When the current phase ends.
        uint64 timeout;
        /// The channel's challenge duration in seconds.
        uint64 challengeDuration;
        /// The version of the registered state.
        uint64 version;
        /// Whether the channel has an app (which adds a force-execution window).
        bool hasApp;
        /// A DisputePhase.
        uint8 phase;
        /// keccak256(abi.encode(state)) of the registered state; zero for an unknown channel.
        bytes32 stateHash;
    }

    /// @dev The record of every channel ever registered or concluded, by channel id.
    mapping(bytes32 => Dispute) internal records;

    /// @notice Emitted whenever a channel's record changes: registered, refuted, progressed or
    /// concluded.
    /// @param channelID The channel.
    /// @param version The version of the state now on record.
    /// @param phase The phase now (a DisputePhase).
    /// @param timeout When this phase ends.
    event ChannelUpdate(bytes32 indexed channelID, uint64 version, uint8 phase, uint64 timeout);

    /// @notice Registers the fully signed state of a ledger channel, together with the fully
    /// signed states of the sub-channels it funds, or refutes an earlier registration.
    /// @dev `subChannels` lists, depth first, each locked sub-channel followed by its own
    /// sub-channels. Each channel in the tree is handled alike:
    ///  - no record yet: a dispute starts; it ends challengeDuration from now for the ledger
    ///    channel, and a sub-channel gets its parent's timeout, so the tree concludes together;
    ///  - a record with this very state: left as it is, whatever the phase and without
    ///    checking signatures again (this lets a participant refute a sub-channel under an
    ///    unchanged parent state, and register the second parent of a virtual channel whose
    ///    record holds a state reached by progress, which only its last mover signed);
    ///  - another record: a refutation, accepted only in the dispute phase, before the timeout,
    ///    with a strictly newer version; it keeps the timeout.
    /// A final state cannot be refuted, so its timeout is now (concludable at once).
    /// @param channel The ledger channel's parameters, state and signatures.
    /// @param subChannels The sub-channels' signed states, depth first.
    function register(Channel.SignedState memory channel, Channel.SignedState[] memory subChannels)
        external
    {
        require(channel.params.ledgerChannel, "register: not a ledger channel");
        uint64 timeout = registerOne(channel, deadline(channel.params.challengeDuration));
        uint256 next = registerSubChannels(channel.state, subChannels, 0, timeout);
        require(next == subChannels.length, "register: more sub-channel states than locked");
    }

    /// @notice Advances a registered app channel by one move of participant `actorIdx`, who
    /// alone signs the new state. The first move is allowed once the dispute timeout has passed
    /// and opens the force-execution phase; every move must come before the phase's timeout and
    /// sets it to challengeDuration from now (to now if the new state is final).
    /// @param params The channel's parameters.
    /// @param from The state on record.
    /// @param to The next state: version + 1, same assets and locked funds, same totals, and a
    /// valid move under the channel's App.
    /// @param actorIdx The index of the moving participant.
    /// @param sig The actor's signature on `to`.
    function progress(
        Channel.Params memory params,
        Channel.State memory from,
        Channel.State memory to,
        uint256 actorIdx,
        bytes memory sig
    ) external {
        Channel.requireValidParams(params);
        bytes32 id = Channel.channelID(params);
        require(from.channelID == id, "progress: state of another channel");
        require(params.app != address(0), "progress: channel has no app");
        Dispute memory record = requireRecord(id);
        require(record.stateHash == Channel.hashState(from), "progress: not the state on record");
        if (record.phase == uint8(DisputePhase.DISPUTE)) {
            require(block.timestamp >= record.timeout, "progress: dispute still refutable");
        } else if (record.phase == uint8(DisputePhase.FORCEEXEC)) {
            require(block.timestamp < record.timeout, "progress: force-execution over");
        } else {
            revert("progress: channel concluded");
        }
        require(actorIdx < params.participants.length, "progress: actor not a participant");
        requireTransition(id, params, from, to);
        require(
            Channel.isSignedBy(
                Channel.stateDigest(to), sig, params.participants[actorIdx].ethAddress
            ),
            "progress: not signed by the actor"
        );
        App(params.app).validTransition(params, from, to, actorIdx);
        // Every move gives the other participants a full challenge duration to answer; a final
        // state ends the game, so the channel can be concluded at once.
        uint64 timeout = to.isFinal ? uint64(block.timestamp) : deadline(params.challengeDuration);
        store(id, params, to, DisputePhase.FORCEEXEC, timeout);
    }

    /// @notice Concludes a registered ledger channel after its timeout (for an app channel never
    /// progressed: after one more challenge duration, the unused force-execution window). The
    /// outcome, with the sub-channels' registered states folded into the participants who own
    /// them, is pushed to the asset holders; the sub-channels are concluded with it. A
    /// sub-channel already concluded with another parent (a virtual channel, funded in two
    /// ledger channels of its intermediary) is folded with the state it was concluded with.
    /// @param params The channel's parameters.
    /// @param state The state on record.
    /// @param subStates The states on record of the sub-channels, depth first as in register.
    function conclude(
        Channel.Params memory params,
        Channel.State memory state,
        Channel.State[] memory subStates
    ) external {
        require(params.ledgerChannel, "conclude: not a ledger channel");
        bytes32 id = Channel.channelID(params);
        require(state.channelID == id, "conclude: state of another channel");
        Dispute memory record = requireRecord(id);
        uint64 concludedAt = requireConcludable(record, state);

        uint256[][] memory outcome = copy(state.outcome.balances);
        uint256[] memory toRoot = new uint256[](params.participants.length);
        for (uint256 p = 0; p < toRoot.length; ++p) {
            toRoot[p] = p;
        }
        uint256 next = foldSubChannels(state, toRoot, outcome, subStates, 0);
        require(next == subStates.length, "conclude: more sub-channel states than locked");

        markConcluded(id, record, concludedAt);
        pushOutcome(id, state.outcome.assets, params.participants, outcome);
    }

    /// @notice Concludes a ledger channel at once with a final state signed by every
    /// participant, also over a running dispute (a fully signed final state supersedes any
    /// registered state). Refused for a state with funds locked in sub-channels, and for a
    /// channel already concluded.
    /// @param params The channel's parameters.
    /// @param state The final state.
    /// @param sigs Every participant's signature on `state`, in participant order.
    function concludeFinal(Channel.Params memory params, Channel.State memory state, bytes[] memory sigs)
        external
    {
        require(params.ledgerChannel, "concludeFinal: not a ledger channel");
        require(state.isFinal, "concludeFinal: state not final");
        require(state.outcome.locked.length == 0, "concludeFinal: funds locked in sub-channels");
        bytes32 id = Channel.channelID(params);
        requireSignedState(Channel.SignedState(params, state, sigs), id, Channel.hashState(state));
        Dispute memory record = records[id];
        require(record.phase != uint8(DisputePhase.CONCLUDED), "concludeFinal: already concluded");
        uint64 now64 = uint64(block.timestamp);
        store(id, params, state, DisputePhase.CONCLUDED, now64);
        pushOutcome(id, state.outcome.assets, params.participants, state.outcome.balances);
    }

    /// @notice A channel's record, in Perun v1.0.0's order; all zero for a channel never
    /// registered or concluded.
    /// @param id The channel id.
    /// @return timeout When the current phase ends.
    /// @return challengeDuration The channel's challenge duration in seconds.
    /// @return version The version of the registered state.
    /// @return phase A DisputePhase.
    /// @return stateHash keccak256(abi.encode(state)) of the registered state.
    /// @return hasApp Whether the channel has an app.
    function disputes(bytes32 id)
        external
        view
        returns (
            uint64 timeout,
            uint64 challengeDuration,
            uint64 version,
            uint8 phase,
            bytes32 stateHash,
            bool hasApp
        )
    {
        Dispute storage record = records[id];
        return (
            record.timeout,
            record.challengeDuration,
            record.version,
            record.phase,
            record.stateHash,
            record.hasApp
        );
    }

    /// @notice The channel id of `params`: keccak256(abi.encode(params)).
    /// @param params The channel's parameters.
    /// @return The channel id.
    function channelID(Channel.Params memory params) public pure returns (bytes32) {
        return Channel.channelID(params);
    }

    /// @notice The hash under which a registered state is recorded: keccak256(abi.encode(state)).
    /// @param state The state.
    /// @return The state hash.
    function hashState(Channel.State memory state) public pure returns (bytes32) {
        return Channel.hashState(state);
    }

    /// @dev Checks a state signed by everybody (valid parameters for the state's channel, a
    /// well-formed allocation, a virtual channel without locked funds, every signature). `id`
    /// is the channel id of `signed.params` and `stateHash` the hash of `signed.state`, which
    /// the callers need too.
    function requireSignedState(Channel.SignedState memory signed, bytes32 id, bytes32 stateHash)
        internal
        pure
    {
        Channel.requireValidParams(signed.params);
        require(signed.state.channelID == id, "state of another channel");
        Channel.requireValidAllocation(signed.state.outcome, signed.params.participants.length);
        require(
            !signed.params.virtualChannel || signed.state.outcome.locked.length == 0,
            "virtual channel locks funds"
        );
        Channel.requireHashSignedByAll(signed.params, stateHash, signed.sigs);
    }

    /// @dev Registers one fully signed state (see register): stores it unless the record already
    /// holds it, and returns the channel's timeout. `fresh` is the timeout of a first
    /// registration.
    /// The state on record needs no signatures: it was checked when it was stored, and a state
    /// reached by progress carries only its mover's. Asking for all of them would make the
    /// second parent of a progressed virtual channel impossible to register, stranding the
    /// intermediary's funds there while the first parent paid out.
    function registerOne(Channel.SignedState memory signed, uint64 fresh)
        internal
        returns (uint64 timeout)
    {
        bytes32 id = Channel.channelID(signed.params);
        bytes32 stateHash = Channel.hashState(signed.state);
        Dispute memory record = records[id];
        if (record.stateHash == stateHash) {
            return record.timeout;
        }
        requireSignedState(signed, id, stateHash);
        if (record.stateHash == bytes32(0)) {
            timeout = fresh;
        } else {
            require(record.phase == uint8(DisputePhase.DISPUTE), "register: not in the dispute phase");
            require(block.timestamp < record.timeout, "register: refutation too late");
            require(signed.state.version > record.version, "register: refutation needs a newer version");
            timeout = record.timeout;
        }
        if (signed.state.isFinal) {
            timeout = uint64(block.timestamp);
        }
        store(id, signed.params, signed.state, DisputePhase.DISPUTE, timeout);
    }

    /// @dev Registers the sub-channels locked in `parent`, taking their signed states from
    /// `subs` starting at `next`; returns the index after the last one used. `timeout` is the
    /// parent's, given to sub-channels registered for the first time.
    function registerSubChannels(
        Channel.State memory parent,
        Channel.SignedState[] memory subs,
        uint256 next,
        uint64 timeout
    ) internal returns (uint256) {
        Channel.SubAlloc[] memory locked = parent.outcome.locked;
        for (uint256 i = 0; i < locked.length; ++i) {
            require(next < subs.length, "register: a sub-channel state is missing");
            Channel.SignedState memory sub = subs[next++];
            uint64 subTimeout = registerOne(sub, timeout);
            requireSubState(parent, locked[i], sub.state, sub.params.participants.length);
            next = registerSubChannels(sub.state, subs, next, subTimeout);
        }
        return next;
    }

    /// @dev Reverts unless `state` is the state of the sub-channel `sub` locked in `parent`:
    /// its id, the parent's assets in the parent's order, one index per sub-channel
    /// participant, and totals equal to what the parent locks.
    function requireSubState(
        Channel.State memory parent,
        Channel.SubAlloc memory sub,
        Channel.State memory state,
        uint256 parties
    ) internal pure {
        require(state.channelID == sub.ID, "sub-channel state of another channel");
        require(
            keccak256(abi.encode(state.outcome.assets)) == keccak256(abi.encode(parent.outcome.assets)),
            "sub-channel assets differ from the parent's"
        );
        require(sub.indexMap.length == parties, "one index per sub-channel participant");
        require(
            keccak256(abi.encode(Channel.totalsOf(state.outcome))) == keccak256(abi.encode(sub.balances)),
            "sub-channel totals differ from the locked amounts"
        );
    }

    /// @dev Reverts unless `to` may follow `from` in channel `id` whatever the app: same
    /// channel, `from` not final, version + 1, a well-formed allocation with the same assets and
    /// locked funds, and the same totals.
    function requireTransition(
        bytes32 id,
        Channel.Params memory params,
        Channel.State memory from,
        Channel.State memory to
    ) internal pure {
        require(to.channelID == id, "progress: new state of another channel");
        require(!from.isFinal, "progress: state on record is final");
        require(to.version == from.version + 1, "progress: version must increase by one");
        uint256[] memory totals = Channel.requireValidAllocation(to.outcome, params.participants.length);
        require(
            keccak256(abi.encode(to.outcome.assets)) == keccak256(abi.encode(from.outcome.assets))
                && keccak256(abi.encode(to.outcome.locked)) == keccak256(abi.encode(from.outcome.locked)),
            "progress: assets and locked funds must not change"
        );
        require(
            keccak256(abi.encode(totals)) == keccak256(abi.encode(Channel.totalsOf(from.outcome))),
            "progress: totals must be conserved"
        );
    }

    /// @dev The record of `id`, reverting if the channel was never registered.
    function requireRecord(bytes32 id) internal view returns (Dispute memory record) {
        record = records[id];
        require(record.stateHash != bytes32(0), "channel not registered");
    }

    /// @dev Reverts unless `record` holds exactly `state` and can be concluded now; returns when
    /// it became concludable. An app channel still in the dispute phase also waits out the
    /// force-execution window nobody used.
    function requireConcludable(Dispute memory record, Channel.State memory state)
        internal
        view
        returns (uint64 readyAt)
    {
        require(record.phase != uint8(DisputePhase.CONCLUDED), "conclude: already concluded");
        require(record.stateHash == Channel.hashState(state), "conclude: not the state on record");
        readyAt = record.timeout;
        // An app channel gets a force-execution window after the dispute, unless its state is
        // final: a final state cannot be progressed, so the window would only delay the payout.
        if (record.phase == uint8(DisputePhase.DISPUTE) && record.hasApp && !state.isFinal) {
            readyAt = addSeconds(readyAt, record.challengeDuration);
        }
        require(block.timestamp >= readyAt, "conclude: timeout not passed");
    }

    /// @dev Adds the registered states of the sub-channels locked in `parent` to `outcome`
    /// (indexed by the root channel's participants; `toRoot` maps `parent`'s participants
    /// there), depth first, and concludes those not concluded yet (a sub-channel shared with
    /// another parent may have been concluded with it). Returns the index after the last state
    /// used.
    function foldSubChannels(
        Channel.State memory parent,
        uint256[] memory toRoot,
        uint256[][] memory outcome,
        Channel.State[] memory subStates,
        uint256 next
    ) internal returns (uint256) {
        Channel.SubAlloc[] memory locked = parent.outcome.locked;
        for (uint256 i = 0; i < locked.length; ++i) {
            require(next < subStates.length, "conclude: a sub-channel state is missing");
            Channel.State memory state = subStates[next++];
            Channel.SubAlloc memory sub = locked[i];
            require(state.channelID == sub.ID, "conclude: sub-channel state of another channel");
            Dispute memory record = requireRecord(sub.ID);
            // A sub-channel locked in two parents (a virtual channel, in the ledger channels of
            // its intermediary) is concluded with the first parent; the second folds the same
            // state into its own outcome, also one reached by progress: a concluded record
            // never changes again, so the intermediary is paid one state on both sides. Each parent pays out only what it locked itself
            // (requireSubState: the state's totals equal this parent's locked amounts).
            bool concludedBefore = record.phase == uint8(DisputePhase.CONCLUDED);
            uint64 concludedAt = record.timeout;
            if (concludedBefore) {
                require(record.stateHash == Channel.hashState(state), "conclude: not the state on record");
            } else {
                concludedAt = requireConcludable(record, state);
            }
            // The registered state's rows have one entry per sub-channel participant.
            requireSubState(parent, sub, state, state.outcome.balances[0].length);

            uint256[] memory subToRoot = new uint256[](sub.indexMap.length);
            for (uint256 p = 0; p < subToRoot.length; ++p) {
                subToRoot[p] = toRoot[sub.indexMap[p]];
            }
            uint256[][] memory balances = state.outcome.balances;
            for (uint256 a = 0; a < balances.length; ++a) {
                for (uint256 p = 0; p < subToRoot.length; ++p) {
                    outcome[a][subToRoot[p]] += balances[a][p];
                }
            }
            next = foldSubChannels(state, subToRoot, outcome, subStates, next);
            if (!concludedBefore) {
                markConcluded(sub.ID, record, concludedAt);
            }
        }
        return next;
    }

    /// @dev Calls setOutcome on the holder of every asset of this chain, with the participants
    /// as Perun v1.0.0 passes them (Participant structs, not bare addresses).
    function pushOutcome(
        bytes32 id,
        Channel.Asset[] memory assets,
        Channel.Participant[] memory participants,
        uint256[][] memory outcome
    ) internal {
        for (uint256 a = 0; a < assets.length; ++a) {
            // Assets of other chains are paid out there; a zero holder has nothing to pay.
            if (assets[a].chainID == block.chainid && assets[a].ethHolder != address(0)) {
                AssetHolder(assets[a].ethHolder).setOutcome(id, participants, outcome[a]);
            }
        }
    }

    /// @dev Writes the record of `state` in `phase` until `timeout`, and tells the world.
    function store(
        bytes32 id,
        Channel.Params memory params,
        Channel.State memory state,
        DisputePhase phase,
        uint64 timeout
    ) internal {
        records[id] = Dispute({
            timeout: timeout,
            challengeDuration: uint64(params.challengeDuration),
            version: state.version,
            hasApp: params.app != address(0),
            phase: uint8(phase),
            stateHash: Channel.hashState(state)
        });
        emit ChannelUpdate(id, state.version, uint8(phase), timeout);
    }

    /// @dev Moves `record` to the concluded phase; its timeout becomes when it became
    /// concludable.
    function markConcluded(bytes32 id, Dispute memory record, uint64 concludedAt) internal {
        record.phase = uint8(DisputePhase.CONCLUDED);
        record.timeout = concludedAt;
        records[id] = record;
        emit ChannelUpdate(id, record.version, record.phase, concludedAt);
    }

    /// @dev Now plus `duration` seconds (the caller checked it fits 64 bits), saturating.
    function deadline(uint256 duration) internal view returns (uint64) {
        return addSeconds(uint64(block.timestamp), uint64(duration));
    }

    /// @dev `time + duration`, saturating at the largest 64-bit time instead of reverting, so
    /// that a huge challenge duration means "never" rather than a channel that cannot be
    /// registered.
    function addSeconds(uint64 time, uint64 duration) internal pure returns (uint64) {
        uint256 sum = uint256(time) + duration;
        return sum > type(uint64).max ? type(uint64).max : uint64(sum);
    }

    /// @dev A deep copy of a balance matrix, so that folding does not write into the state.
    function copy(uint256[][] memory rows) internal pure returns (uint256[][] memory out) {
        out = new uint256[][](rows.length);
        for (uint256 a = 0; a < rows.length; ++a) {
            out[a] = new uint256[](rows[a].length);
            for (uint256 p = 0; p < rows[a].length; ++p) {
                out[a][p] = rows[a][p];
            }
        }
    }
}
