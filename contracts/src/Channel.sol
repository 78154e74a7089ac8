// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title Channel: the data model of a Perun state channel and its encodings
/// @notice The structs keep the layout of the Perun Ethereum contracts (v1.0.0), so channel ids,
/// state hashes and signatures agree with any Perun client. Everything here is pure: the
/// Adjudicator, the asset holders and the apps share these definitions and rules.
library Channel {
    /// @notice What every participant agreed on when the channel was opened.
    /// @dev The channel id is keccak256(abi.encode(params)), so changing any field is a new channel.
    struct Params {
        /// Seconds a registered state can be refuted (and, for app channels, progressed).
        uint256 challengeDuration;
        /// Makes the id unique among channels with the same participants.
        uint256 nonce;
        /// Two or more; a participant's index is its column in every balance row.
        Participant[] participants;
        /// The App contract that judges on-chain moves, or address(0) for a payment channel.
        address app;
        /// Whether the channel is funded by deposits (only such a channel can be registered on
        /// its own or concluded).
        bool ledgerChannel;
        /// Whether the channel is funded by locking funds in other channels.
        bool virtualChannel;
    }

    /// @notice A participant: its Ethereum address signs states and withdrawals.
    struct Participant {
        address ethAddress;
        /// The participant's address on other backends (cross-chain); unused by these contracts.
        bytes ccAddress;
    }

    /// @notice One version of a channel, as signed off-chain.
    struct State {
        bytes32 channelID;
        /// Strictly increases with every update.
        uint64 version;
        Allocation outcome;
        /// Opaque to everything but the channel's App.
        bytes appData;
        /// A final state is never updated again; concludeFinal accepts only final states.
        bool isFinal;
    }

    /// @notice A token and where it is held.
    struct Asset {
        /// The chain the holder lives on; only assets of this chain are paid out here.
        uint256 chainID;
        /// The AssetHolder contract that holds the deposits.
        address ethHolder;
        /// The holder on another backend (cross-chain); unused by these contracts.
        bytes ccHolder;
    }

    /// @notice Who gets what. Invariant of every update: per asset, the free balances plus the
    /// locked amounts add up to the same total.
    struct Allocation {
        Asset[] assets;
        /// The backend of each asset (cross-chain); unused by these contracts.
        uint256[] backends;
        /// balances[asset][participant].
        uint256[][] balances;
        /// Funds locked in sub-channels (app or virtual channels funded by this one).
        SubAlloc[] locked;
    }

    /// @notice Funds locked in one sub-channel.
    struct SubAlloc {
        /// The sub-channel's id.
        bytes32 ID;
        /// What the sub-channel holds in total, per asset of the parent.
        uint256[] balances;
        /// indexMap[i] is the parent's index of the sub-channel's participant i.
        uint16[] indexMap;
    }

    /// @notice A state with its parameters and one signature per participant, in order.
    struct SignedState {
        Params params;
        State state;
        bytes[] sigs;
    }

    /// @dev secp256k1n / 2: a signature with a larger s has a twin (n - s) that is equally valid;
    /// accepting only the lower one makes every signature unique.
    uint256 private constant HALF_CURVE_ORDER =
        0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0;

    /// @notice The channel id of `params`.
    function channelID(Params memory params) internal pure returns (bytes32) {
        return keccak256(abi.encode(params));
    }

    /// @notice The hash the Adjudicator stores for a registered state.
    function hashState(State memory state) internal pure returns (bytes32) {
        return keccak256(abi.encode(state));
    }

    /// @notice The digest every participant signs for `state`.
    function stateDigest(State memory state) internal pure returns (bytes32) {
        return ethSignedDigest(hashState(state));
    }

    /// @notice Where a participant's deposits for a channel are held: keccak256(abi.encode(
    /// channel id, participant address)).
    function fundingID(bytes32 channel, address participant) internal pure returns (bytes32) {
        return keccak256(abi.encode(channel, participant));
    }

    /// @notice The digest of `hash` under the "Ethereum Signed Message" prefix (eth_sign).
    function ethSignedDigest(bytes32 hash) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked("\x19Ethereum Signed Message:\n32", hash));
    }

    /// @notice Whether `sig` (65 bytes r ‖ s ‖ v, v 27 or 28, low s) is `signer`'s signature
    /// on `digest`. A malformed signature, or a zero `signer`, never verifies.
    function isSignedBy(bytes32 digest, bytes memory sig, address signer)
        internal
        pure
        returns (bool)
    {
        if (signer == address(0) || sig.length != 65) {
            return false;
        }
        bytes32 r;
        bytes32 s;
        uint8 v;
        assembly ("memory-safe") {
            r := mload(add(sig, 32))
            s := mload(add(sig, 64))
            v := byte(0, mload(add(sig, 96)))
        }
        if (uint256(s) > HALF_CURVE_ORDER || (v != 27 && v != 28)) {
            return false;
        }
        return ecrecover(digest, v, r, s) == signer;
    }

    /// @notice Reverts unless `params` describe a channel these contracts can enforce: two or
    /// more participants and a challenge duration that fits the Adjudicator's 64-bit times. A
    /// virtual channel may run an app: both of its parents fold the one state on record, however
    /// it was reached (registered or progressed), so the intermediary stays even.
    function requireValidParams(Params memory params) internal pure {
        require(params.participants.length >= 2, "a channel needs two participants");
        require(params.challengeDuration <= type(uint64).max, "challenge duration too long");
    }

    /// @notice Reverts unless `sigs` holds, in participant order, every participant's signature
    /// on the state whose hash (hashState) is `stateHash`.
    function requireHashSignedByAll(Params memory params, bytes32 stateHash, bytes[] memory sigs)
        internal
        pure
    {
        require(sigs.length == params.participants.length, "one signature per participant");
        bytes32 digest = ethSignedDigest(stateHash);
        for (uint256 i = 0; i < sigs.length; ++i) {
            require(
                isSignedBy(digest, sigs[i], params.participants[i].ethAddress),
                "invalid signature"
            );
        }
    }

    /// @notice Reverts unless `alloc` is well formed for `parties` participants: at least one
    /// asset, no asset twice, one balance row per asset with one balance per participant, and
    /// sub-allocations with one amount per asset and indices into the participants. Returns
    /// the totals per asset (free plus locked), reverting if one overflows.
    function requireValidAllocation(Allocation memory alloc, uint256 parties)
        internal
        pure
        returns (uint256[] memory totals)
    {
        uint256 assetCount = alloc.assets.length;
        require(assetCount > 0, "allocation without assets");
        require(alloc.balances.length == assetCount, "one balance row per asset");
        for (uint256 a = 0; a < assetCount; ++a) {
            bytes32 asset = keccak256(abi.encode(alloc.assets[a]));
            for (uint256 b = 0; b < a; ++b) {
                require(asset != keccak256(abi.encode(alloc.assets[b])), "asset appears twice");
            }
            require(alloc.balances[a].length == parties, "one balance per participant");
        }
        for (uint256 i = 0; i < alloc.locked.length; ++i) {
            SubAlloc memory sub = alloc.locked[i];
            require(sub.balances.length == assetCount, "one locked amount per asset");
            for (uint256 p = 0; p < sub.indexMap.length; ++p) {
                require(sub.indexMap[p] < parties, "index map names no participant");
            }
        }
        return totalsOf(alloc);
    }

    /// @notice Per asset, the free balances plus the locked amounts: what the channel holds.
    /// Reverts (overflow) if a total does not fit in 256 bits.
    function totalsOf(Allocation memory alloc) internal pure returns (uint256[] memory totals) {
        totals = new uint256[](alloc.assets.length);
        for (uint256 a = 0; a < totals.length; ++a) {
            uint256[] memory row = alloc.balances[a];
            for (uint256 p = 0; p < row.length; ++p) {
                totals[a] += row[p];
            }
            for (uint256 i = 0; i < alloc.locked.length; ++i) {
                totals[a] += alloc.locked[i].balances[a];
            }
        }
    }
}
