// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {App} from "./App.sol";
import {Channel} from "./Channel.sol";

/// @title HashLockApp: a two-party hash-locked conditional payment as a Perun app
/// @notice Participant 0 is the payer, participant 1 the payee. The amount at stake is whatever
/// the payer's balances hold, in every asset, when the channel opens.
///
/// appData:
///  - bytes 0..31: the hash lock H = keccak256(preimage), fixed when the channel opens;
///  - byte 32: the status, 0 open, 1 claimed, 2 released;
///  - bytes 33..64, only when claimed: the 32-byte preimage.
/// So appData is 33 bytes while open or released and 65 bytes when claimed.
///
/// Only the payee moves, and only from an open state, with one of two final moves:
///  - claim: status 1 with a preimage p such that keccak256(p) == H; in every asset the payee
///    receives the payer's whole balance (payer 0, payee the sum of both);
///  - release: status 2, balances unchanged (the payee gives up; the payer keeps its money).
/// A state is final exactly when it is claimed or released, so nothing moves after either. The
/// payer has no move and H never changes.
///
/// The challenge duration is the payee's deadline. If the payee never claims, the payer
/// registers the open state and, once the dispute and the force-execution window (one challenge
/// duration each) have passed, concludes it: the open state's balances pay the payer back.
/// Until the channel is concluded the payee can still claim on chain with `progress`, which
/// reveals the preimage to everybody.
contract HashLockApp is App {
    uint256 private constant OPEN_LENGTH = 33;
    uint256 private constant CLAIMED_LENGTH = 65;
    uint256 private constant STATUS_BYTE = 32;
    uint8 private constant OPEN = 0;
    uint8 private constant CLAIMED = 1;
    uint8 private constant RELEASED = 2;
    uint256 private constant PAYER = 0;
    uint256 private constant PAYEE = 1;

    /// @notice Reverts with the reason unless `to` is a valid move by `actorIdx` from `from`.
    /// @param params The channel's parameters (exactly two participants: payer, payee).
    /// @param from The state before the move (must be open).
    /// @param to The state after the move (a claim or a release).
    /// @param actorIdx Who moves (only the payee, 1, may).
    function validTransition(
        Channel.Params calldata params,
        Channel.State calldata from,
        Channel.State calldata to,
        uint256 actorIdx
    ) external pure override {
        require(params.participants.length == 2, "hash-lock: two participants, payer and payee");
        bytes calldata before = from.appData;
        bytes calldata next = to.appData;

        // The state moved from: open, and exactly the lock and the status.
        require(before.length >= OPEN_LENGTH, "hash-lock: appData holds at least the lock and the status");
        uint8 status = uint8(before[STATUS_BYTE]);
        require(status <= RELEASED, "hash-lock: invalid status byte");
        require(status == OPEN, "hash-lock: the payment is already claimed or released");
        require(before.length == OPEN_LENGTH, "hash-lock: an open state's appData is 33 bytes");

        require(actorIdx == PAYEE, "hash-lock: only the payee moves");

        // The state moved to: the same lock, then a claim or a release.
        require(next.length >= OPEN_LENGTH, "hash-lock: appData holds at least the lock and the status");
        bytes32 lock = bytes32(before[0:32]);
        require(bytes32(next[0:32]) == lock, "hash-lock: the hash lock must not change");
        uint8 nextStatus = uint8(next[STATUS_BYTE]);
        if (nextStatus == CLAIMED) {
            require(next.length == CLAIMED_LENGTH, "hash-lock: a claim's appData is 65 bytes");
            require(
                keccak256(next[OPEN_LENGTH:CLAIMED_LENGTH]) == lock,
                "hash-lock: the preimage does not match the lock"
            );
            require(to.isFinal, "hash-lock: a claim must be final");
            requirePayeeTakesAll(from.outcome.balances, to.outcome.balances);
        } else if (nextStatus == RELEASED) {
            require(next.length == OPEN_LENGTH, "hash-lock: a release's appData is 33 bytes");
            require(to.isFinal, "hash-lock: a release must be final");
            require(
                keccak256(abi.encode(to.outcome.balances)) == keccak256(abi.encode(from.outcome.balances)),
                "hash-lock: a release leaves the balances unchanged"
            );
        } else if (nextStatus == OPEN) {
            // Staying open is no move: the payee either claims or releases.
            revert("hash-lock: a move claims or releases");
        } else {
            revert("hash-lock: invalid status byte");
        }
    }

    /// @dev Reverts unless, in every asset, the payee gets both balances of `from` and the payer
    /// nothing. (The Adjudicator has checked that totals are conserved, so the sum cannot
    /// overflow for a state it accepted.)
    function requirePayeeTakesAll(uint256[][] calldata from, uint256[][] calldata to) private pure {
        require(from.length == to.length, "hash-lock: one balance row per asset");
        for (uint256 a = 0; a < from.length; ++a) {
            require(from[a].length == 2 && to[a].length == 2, "hash-lock: one balance per participant");
            require(
                to[a][PAYEE] == from[a][PAYER] + from[a][PAYEE] && to[a][PAYER] == 0,
                "hash-lock: a claim pays the payee the payer's whole balance"
            );
        }
    }
}
