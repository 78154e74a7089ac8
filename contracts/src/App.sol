// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Channel} from "./Channel.sol";

/// @title App: the rules of an app channel
/// @notice The Adjudicator asks the channel's App whether an on-chain move (progress) is valid.
/// It has already checked everything app-independent: the old state is the registered one and
/// not final, the new state has version + 1, the same assets and locked funds, conserved totals,
/// and the actor's signature.
interface App {
    /// @notice Reverts, with a reason, unless participant `actorIdx` may move the channel from
    /// `from` to `to`; returns nothing when the move is valid (as in Perun).
    /// @param params The channel's parameters.
    /// @param from The registered state.
    /// @param to The proposed next state.
    /// @param actorIdx The index in `params.participants` of who moves.
    function validTransition(
        Channel.Params calldata params,
        Channel.State calldata from,
        Channel.State calldata to,
        uint256 actorIdx
    ) external view;
}
