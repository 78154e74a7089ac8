// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {App} from "./App.sol";
import {Channel} from "./Channel.sol";

/// @title TicTacToeApp: two-party tic-tac-toe as a Perun app
/// @notice appData is exactly 10 bytes:
///  - byte 0: the index (0 or 1) of the participant whose turn it is;
///  - bytes 1..9: the grid, row by row (byte 1 top left, byte 9 bottom right); each cell is
///    0 (empty), 1 (participant 0's mark) or 2 (participant 1's mark).
/// A move puts the mover's mark in one empty cell and hands the turn to the other player. The
/// move that completes a row, column or diagonal wins: that state must be final and give the
/// winner, in every asset, both players' balances. The move that fills the grid without a
/// winner is a draw: final, balances unchanged. Any other move leaves the balances unchanged and
/// the state not final. Stakes are whatever the players' balances hold when the game starts.
contract TicTacToeApp is App {
    uint256 private constant DATA_LENGTH = 10;
    uint8 private constant EMPTY = 0;

    /// @notice Reverts with the reason unless `to` is a valid move by `actorIdx` from `from`.
    /// @param params The channel's parameters (exactly two participants).
    /// @param from The state before the move.
    /// @param to The state after the move.
    /// @param actorIdx Who moves (0 or 1).
    function validTransition(
        Channel.Params calldata params,
        Channel.State calldata from,
        Channel.State calldata to,
        uint256 actorIdx
    ) external pure override {
        require(params.participants.length == 2, "tic-tac-toe: two players");
        bytes calldata before = from.appData;
        bytes calldata next = to.appData;
        require(
            before.length == DATA_LENGTH && next.length == DATA_LENGTH, "tic-tac-toe: appData is 10 bytes"
        );
        uint8 turn = uint8(before[0]);
        require(turn <= 1, "tic-tac-toe: invalid turn byte");
        require(actorIdx == turn, "tic-tac-toe: not the actor's turn");
        require(uint8(next[0]) == 1 - turn, "tic-tac-toe: the turn must pass to the other player");
        require(winner(before) == EMPTY && !isFull(before), "tic-tac-toe: game already over");

        uint8 mark = turn + 1;
        uint256 changed;
        for (uint256 cell = 1; cell < DATA_LENGTH; ++cell) {
            uint8 oldCell = uint8(before[cell]);
            uint8 newCell = uint8(next[cell]);
            require(oldCell <= 2 && newCell <= 2, "tic-tac-toe: invalid cell value");
            if (oldCell != newCell) {
                require(oldCell == EMPTY && newCell == mark, "tic-tac-toe: a move marks one empty cell");
                ++changed;
            }
        }
        require(changed == 1, "tic-tac-toe: a move marks exactly one cell");

        uint8 won = winner(next);
        if (won != EMPTY) {
            require(to.isFinal, "tic-tac-toe: a won game must be final");
            requireWinnerTakesAll(from.outcome.balances, to.outcome.balances, won - 1);
        } else {
            require(to.isFinal == isFull(next), "tic-tac-toe: final exactly when the grid is full");
            require(
                keccak256(abi.encode(to.outcome.balances)) == keccak256(abi.encode(from.outcome.balances)),
                "tic-tac-toe: only a win moves funds"
            );
        }
    }

    /// @dev The mark (1 or 2) that fills a line of `data`'s grid, or EMPTY.
    function winner(bytes calldata data) private pure returns (uint8) {
        // The eight lines, as cell offsets 1..9, three cells each.
        uint8[24] memory lines = [1, 2, 3, 4, 5, 6, 7, 8, 9, 1, 4, 7, 2, 5, 8, 3, 6, 9, 1, 5, 9, 3, 5, 7];
        for (uint256 l = 0; l < 24; l += 3) {
            uint8 first = uint8(data[lines[l]]);
            if (
                first != EMPTY && first == uint8(data[lines[l + 1]]) && first == uint8(data[lines[l + 2]])
            ) {
                return first;
            }
        }
        return EMPTY;
    }

    /// @dev Whether no cell of `data`'s grid is empty.
    function isFull(bytes calldata data) private pure returns (bool) {
        for (uint256 cell = 1; cell < DATA_LENGTH; ++cell) {
            if (uint8(data[cell]) == EMPTY) {
                return false;
            }
        }
        return true;
    }

    /// @dev Reverts unless, in every asset, `winnerIdx` gets both players' balances of `from`.
    function requireWinnerTakesAll(uint256[][] calldata from, uint256[][] calldata to, uint256 winnerIdx)
        private
        pure
    {
        require(from.length == to.length, "tic-tac-toe: one balance row per asset");
        for (uint256 a = 0; a < from.length; ++a) {
            require(to[a].length == 2, "tic-tac-toe: one balance per player");
            require(
                to[a][winnerIdx] == from[a][0] + from[a][1] && to[a][1 - winnerIdx] == 0,
                "tic-tac-toe: the winner takes all"
            );
        }
    }
}
