// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.0;

import "./Base.sol";

/// progress: on-chain moves of an app channel (TicTacToeApp) after the dispute timeout.
contract ProgressTest is TestBase {
    bytes internal gEnc;
    bytes internal s1Enc;

    function setUp() public override {
        super.setUp();
        Chan memory g = _chan(_keys2(ALICE_KEY, BOB_KEY), ttt, true, false);
        gEnc = abi.encode(g);
        _depositETH(g.id, alice, 5);
        _depositETH(g.id, bob, 5);
        State memory s = _ethState(g, 1, 5, 5, false);
        s.appData = _tttData(0, _emptyGrid());
        s1Enc = abi.encode(s);
        _register(g, s);
    }

    /// `from` with participant `actor` marking `cell` (0..8) and the turn passed on.
    function _move(State memory from, uint8 actor, uint256 cell) internal pure returns (State memory to) {
        to = _copy(from);
        to.version = from.version + 1;
        to.appData[0] = bytes1(1 - actor);
        to.appData[1 + cell] = bytes1(actor + 1);
    }

    function _progress(State memory from, State memory to, uint256 actorIdx, uint256 key) internal {
        Chan memory g = abi.decode(gEnc, (Chan));
        adj.progress(g.params, from, to, actorIdx, _sign(key, to));
    }

    function test_progress_validMoveAccepted() public {
        Chan memory g = abi.decode(gEnc, (Chan));
        State memory s1 = abi.decode(s1Enc, (State));
        vm.warp(START + DURATION);
        State memory s2 = _move(s1, 0, 4);
        bytes memory sig = _sign(ALICE_KEY, s2);
        vm.expectEmit(true, false, false, true, address(adj));
        emit IAdjudicator.ChannelUpdate(g.id, 2, PHASE_FORCEEXEC, uint64(START + 2 * DURATION));
        adj.progress(g.params, s1, s2, 0, sig);
        (uint64 timeout, uint64 version, uint8 phase, bytes32 stateHash) = _dispute(g.id);
        assertEq(version, 2, "version");
        assertEq(phase, PHASE_FORCEEXEC, "phase");
        assertEq(stateHash, _hash(s2), "stateHash");
        assertEq(timeout, START + 2 * DURATION, "force-execution timeout");
    }

    function test_progress_beforeTheDisputeTimeoutRefused() public {
        Chan memory g = abi.decode(gEnc, (Chan));
        State memory s1 = abi.decode(s1Enc, (State));
        vm.warp(START + DURATION - 1);
        State memory s2 = _move(s1, 0, 4);
        bytes memory sig = _sign(ALICE_KEY, s2);
        vm.expectRevert();
        adj.progress(g.params, s1, s2, 0, sig);
    }

    function test_progress_movesInTurnUntilTheTimeout() public {
        Chan memory g = abi.decode(gEnc, (Chan));
        State memory s1 = abi.decode(s1Enc, (State));
        vm.warp(START + DURATION);
        State memory s2 = _move(s1, 0, 4);
        _progress(s1, s2, 0, ALICE_KEY);
        vm.warp(START + DURATION + 30);
        State memory s3 = _move(s2, 1, 0);
        _progress(s2, s3, 1, BOB_KEY);
        assertEq(_version(g.id), 3, "version");
        assertEq(_timeout(g.id), START + DURATION + 30 + DURATION, "timeout restarts with each move");

        vm.warp(START + 2 * DURATION + 30);
        State memory s4 = _move(s3, 0, 8);
        bytes memory sig = _sign(ALICE_KEY, s4);
        vm.expectRevert();
        adj.progress(g.params, s3, s4, 0, sig);

        adj.conclude(g.params, s3, _noSubStates());
        assertEq(_phase(g.id), PHASE_CONCLUDED, "phase");
        assertEq(ethHolder.holdings(_fid(g.id, alice)), 5, "alice");
        assertEq(ethHolder.holdings(_fid(g.id, bob)), 5, "bob");
    }

    function test_progress_wrongTurnRefused() public {
        Chan memory g = abi.decode(gEnc, (Chan));
        State memory s1 = abi.decode(s1Enc, (State));
        vm.warp(START + DURATION);
        State memory s2 = _move(s1, 1, 4); // bob moves, but it is alice's turn
        bytes memory sig = _sign(BOB_KEY, s2);
        vm.expectRevert();
        adj.progress(g.params, s1, s2, 1, sig);
        assertEq(_version(g.id), 1, "version kept");
    }

    function test_progress_movingForTheOtherPlayerRefused() public {
        Chan memory g = abi.decode(gEnc, (Chan));
        State memory s1 = abi.decode(s1Enc, (State));
        vm.warp(START + DURATION);
        State memory s2 = _move(s1, 0, 4); // a valid move of alice's ...
        bytes memory sig = _sign(BOB_KEY, s2); // ... made and signed by bob
        vm.expectRevert();
        adj.progress(g.params, s1, s2, 1, sig);
        assertEq(_version(g.id), 1, "version kept");
    }

    function test_progress_twoMovesInARowRefused() public {
        Chan memory g = abi.decode(gEnc, (Chan));
        State memory s1 = abi.decode(s1Enc, (State));
        vm.warp(START + DURATION);
        State memory s2 = _move(s1, 0, 4);
        _progress(s1, s2, 0, ALICE_KEY);
        State memory s3 = _move(s2, 0, 5);
        s3.appData[0] = bytes1(uint8(1));
        bytes memory sig = _sign(ALICE_KEY, s3);
        vm.expectRevert();
        adj.progress(g.params, s2, s3, 0, sig);
    }

    function test_progress_signatureOfAnotherParticipantRefused() public {
        Chan memory g = abi.decode(gEnc, (Chan));
        State memory s1 = abi.decode(s1Enc, (State));
        vm.warp(START + DURATION);
        State memory s2 = _move(s1, 0, 4);
        bytes memory sig = _sign(BOB_KEY, s2); // actorIdx 0 is alice
        vm.expectRevert();
        adj.progress(g.params, s1, s2, 0, sig);
    }

    function test_progress_occupiedCellRefused() public {
        Chan memory g = abi.decode(gEnc, (Chan));
        State memory s1 = abi.decode(s1Enc, (State));
        vm.warp(START + DURATION);
        State memory s2 = _move(s1, 0, 4);
        _progress(s1, s2, 0, ALICE_KEY);
        State memory s3 = _move(s2, 1, 4); // bob overwrites alice's mark
        bytes memory sig = _sign(BOB_KEY, s3);
        vm.expectRevert();
        adj.progress(g.params, s2, s3, 1, sig);
        assertEq(_version(g.id), 2, "version kept");
    }

    function test_progress_twoCellsAtOnceRefused() public {
        Chan memory g = abi.decode(gEnc, (Chan));
        State memory s1 = abi.decode(s1Enc, (State));
        vm.warp(START + DURATION);
        State memory s2 = _move(s1, 0, 4);
        s2.appData[1 + 5] = bytes1(uint8(1));
        bytes memory sig = _sign(ALICE_KEY, s2);
        vm.expectRevert();
        adj.progress(g.params, s1, s2, 0, sig);
    }

    function test_progress_balancesShiftedDuringTheGameRefused() public {
        Chan memory g = abi.decode(gEnc, (Chan));
        State memory s1 = abi.decode(s1Enc, (State));
        vm.warp(START + DURATION);
        State memory s2 = _move(s1, 0, 4);
        s2.outcome.balances[0][0] = 6; // total kept, but nobody has won
        s2.outcome.balances[0][1] = 4;
        bytes memory sig = _sign(ALICE_KEY, s2);
        vm.expectRevert();
        adj.progress(g.params, s1, s2, 0, sig);
    }

    function test_progress_totalChangedRefused() public {
        Chan memory g = abi.decode(gEnc, (Chan));
        State memory s1 = abi.decode(s1Enc, (State));
        vm.warp(START + DURATION);
        State memory s2 = _move(s1, 0, 4);
        s2.outcome.balances[0][0] = 6; // creates money
        bytes memory sig = _sign(ALICE_KEY, s2);
        vm.expectRevert();
        adj.progress(g.params, s1, s2, 0, sig);
    }

    function test_progress_versionSkipRefused() public {
        Chan memory g = abi.decode(gEnc, (Chan));
        State memory s1 = abi.decode(s1Enc, (State));
        vm.warp(START + DURATION);
        State memory s2 = _move(s1, 0, 4);
        s2.version = 3;
        bytes memory sig = _sign(ALICE_KEY, s2);
        vm.expectRevert();
        adj.progress(g.params, s1, s2, 0, sig);
    }

    function test_progress_fromAStateOtherThanTheRegisteredOneRefused() public {
        Chan memory g = abi.decode(gEnc, (Chan));
        State memory s1 = abi.decode(s1Enc, (State));
        vm.warp(START + DURATION);
        State memory fake = _copy(s1);
        fake.appData = _tttData(0, [1, 1, 0, 2, 2, 0, 0, 0, 0]);
        State memory s2 = _move(fake, 0, 2);
        bytes memory sig = _sign(ALICE_KEY, s2);
        vm.expectRevert();
        adj.progress(g.params, fake, s2, 0, sig);
    }

    function test_progress_withoutAppRefused() public {
        Chan memory c = _ledger();
        State memory p1 = _ethState(c, 1, 5, 5, false);
        _register(c, p1);
        vm.warp(START + DURATION);
        State memory p2 = _ethState(c, 2, 6, 4, false);
        bytes memory sig = _sign(ALICE_KEY, p2);
        vm.expectRevert();
        adj.progress(c.params, p1, p2, 0, sig);
    }

    function test_progress_winningLineEndsTheGame() public {
        Chan memory g = abi.decode(gEnc, (Chan));
        State memory s1 = abi.decode(s1Enc, (State));
        // alice: 0, 1, 2 (top row); bob: 3, 4.
        vm.warp(START + DURATION);
        State memory s = s1;
        uint8[5] memory cells = [0, 3, 1, 4, 2];
        for (uint256 i = 0; i < 4; i++) {
            uint8 actor = uint8(i % 2);
            State memory next = _move(s, actor, cells[i]);
            _progress(s, next, actor, actor == 0 ? ALICE_KEY : BOB_KEY);
            s = next;
        }
        State memory win = _move(s, 0, 2);
        win.isFinal = true;
        win.outcome.balances[0][0] = 10;
        win.outcome.balances[0][1] = 0;

        // The winning move must end the game: a non-final winning state is refused.
        State memory notFinal = _copy(win);
        notFinal.isFinal = false;
        bytes memory sigNF = _sign(ALICE_KEY, notFinal);
        vm.expectRevert();
        adj.progress(g.params, s, notFinal, 0, sigNF);

        // Nor may the winner leave the loser's stake with the loser.
        State memory stingy = _copy(win);
        stingy.outcome.balances[0][0] = 5;
        stingy.outcome.balances[0][1] = 5;
        bytes memory sigS = _sign(ALICE_KEY, stingy);
        vm.expectRevert();
        adj.progress(g.params, s, stingy, 0, sigS);

        _progress(s, win, 0, ALICE_KEY);
        // A final state is concludable at once.
        adj.conclude(g.params, win, _noSubStates());
        assertEq(ethHolder.holdings(_fid(g.id, alice)), 10, "the winner takes the stakes");
        assertEq(ethHolder.holdings(_fid(g.id, bob)), 0, "the loser");
    }

    /// A final state registered for an app channel ends the dispute at once: it cannot be
    /// progressed, so waiting out a force-execution window would only delay the payout.
    function test_conclude_aRegisteredFinalAppStateConcludesAtOnce() public {
        Chan memory h = _chan(_keys2(ALICE_KEY, BOB_KEY), ttt, true, false);
        _depositETH(h.id, alice, 5);
        _depositETH(h.id, bob, 5);
        State memory fin = _ethState(h, 4, 10, 0, true);
        _register(h, fin);
        adj.conclude(h.params, fin, _noSubStates());
        assertEq(_phase(h.id), PHASE_CONCLUDED, "concluded without a force-execution window");
        assertEq(ethHolder.holdings(_fid(h.id, alice)), 10, "alice's payout");
    }
}
