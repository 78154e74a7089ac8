// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.0;

import "./Base.sol";

/// The ledgerChannel / virtualChannel flags (Perun's rules): only a ledger channel is registered
/// on its own, concluded or concluded with a final state; a virtual channel is funded by locking
/// funds in ledger channels, so it appears only as a sub-channel, without locked funds of its
/// own. It may run an app (tic-tac-toe here): both parents pay out the one state on record,
/// also one reached by progress.
contract VirtualChannelsTest is TestBase {
    bytes internal lEnc; // ledger channel of alice (0) and bob (1); bob is the intermediary
    bytes internal vEnc; // virtual channel of alice (0) and carol (1), funded through l

    function setUp() public override {
        super.setUp();
        Chan memory l = _ledger();
        lEnc = abi.encode(l);
        Chan memory v = _chan(_keys2(ALICE_KEY, CAROL_KEY), address(0), false, true);
        vEnc = abi.encode(v);
        _depositETH(l.id, alice, 5);
        _depositETH(l.id, bob, 5);
    }

    /// l's state locking 4 in v; in l, bob stands in for carol (indexMap [0, 1]).
    function _ledgerState(uint64 version) internal view returns (State memory s) {
        Chan memory l = abi.decode(lEnc, (Chan));
        Chan memory v = abi.decode(vEnc, (Chan));
        s = _ethState(l, version, 3, 3, false);
        _lockV(s, v.id);
    }

    /// Makes `s` lock 4 in virtual channel `vid`, each of its participants standing for the
    /// virtual channel's participant of the same index (indexMap [0, 1]).
    function _lockV(State memory s, bytes32 vid) internal pure {
        uint256[] memory amounts = new uint256[](1);
        amounts[0] = 4;
        uint16[] memory indexMap = new uint16[](2);
        indexMap[0] = 0;
        indexMap[1] = 1;
        s.outcome.locked = new SubAlloc[](1);
        s.outcome.locked[0] = SubAlloc(vid, amounts, indexMap);
    }

    function _one(SignedState memory x) internal pure returns (SignedState[] memory a) {
        a = new SignedState[](1);
        a[0] = x;
    }

    function _oneState(State memory x) internal pure returns (State[] memory a) {
        a = new State[](1);
        a[0] = x;
    }

    function test_virtual_registeredAsASubChannelAndFoldedIntoTheLedger() public {
        Chan memory l = abi.decode(lEnc, (Chan));
        Chan memory v = abi.decode(vEnc, (Chan));
        State memory ls = _ledgerState(1);
        State memory vs = _ethState(v, 7, 1, 3, false); // alice 1, carol 3
        adj.register(_signed(l, ls), _one(_signed(v, vs)));
        assertEq(_version(v.id), 7, "virtual channel registered");

        vm.warp(START + DURATION);
        adj.conclude(l.params, ls, _oneState(vs));
        assertEq(_phase(v.id), PHASE_CONCLUDED, "virtual channel concluded with its ledger");
        assertEq(ethHolder.holdings(_fid(l.id, alice)), 3 + 1, "alice");
        assertEq(ethHolder.holdings(_fid(l.id, bob)), 3 + 3, "bob, carol's stand-in in this ledger");
        assertEq(ethHolder.holdings(_fid(l.id, carol)), 0, "carol is not in this ledger");
    }

    function test_virtual_cannotBeRegisteredOnItsOwn() public {
        Chan memory v = abi.decode(vEnc, (Chan));
        SignedState memory vss = _signed(v, _ethState(v, 1, 1, 3, false));
        vm.expectRevert();
        adj.register(vss, _noSubs());
        assertEq(_version(v.id), 0, "not registered");
    }

    function test_virtual_nonLedgerRootRefusedToo() public {
        Chan memory sub = _chan(_keys2(ALICE_KEY, BOB_KEY), address(0), false, false);
        SignedState memory ss = _signed(sub, _ethState(sub, 1, 1, 3, false));
        vm.expectRevert();
        adj.register(ss, _noSubs());
    }

    function test_virtual_cannotBeConcludedDirectly() public {
        Chan memory l = abi.decode(lEnc, (Chan));
        Chan memory v = abi.decode(vEnc, (Chan));
        State memory ls = _ledgerState(1);
        State memory vs = _ethState(v, 1, 1, 3, false);
        adj.register(_signed(l, ls), _one(_signed(v, vs)));
        vm.warp(START + DURATION);
        vm.expectRevert();
        adj.conclude(v.params, vs, _noSubStates());
        assertEq(_phase(v.id), PHASE_DISPUTE, "still disputed");
    }

    function test_virtual_cannotBeConcludedFinal() public {
        Chan memory v = abi.decode(vEnc, (Chan));
        State memory fin = _ethState(v, 3, 1, 3, true);
        bytes[] memory sigs = _sigs(v, fin);
        vm.expectRevert();
        adj.concludeFinal(v.params, fin, sigs);
        assertEq(_version(v.id), 0, "not recorded");
    }

    function test_virtual_withLockedFundsRefused() public {
        Chan memory l = abi.decode(lEnc, (Chan));
        Chan memory v = abi.decode(vEnc, (Chan));
        // l locks 4 in v; v itself locks 1 of them in a further sub-channel w.
        Chan memory w = _chan(_keys2(ALICE_KEY, CAROL_KEY), address(0), false, false);
        State memory ls = _ledgerState(1);
        State memory vs = _ethState(v, 1, 1, 2, false);
        uint256[] memory one = new uint256[](1);
        one[0] = 1;
        uint16[] memory indexMap = new uint16[](2);
        indexMap[1] = 1;
        vs.outcome.locked = new SubAlloc[](1);
        vs.outcome.locked[0] = SubAlloc(w.id, one, indexMap);
        State memory ws = _ethState(w, 1, 1, 0, false);
        SignedState memory lss = _signed(l, ls);
        SignedState[] memory subs = new SignedState[](2);
        subs[0] = _signed(v, vs);
        subs[1] = _signed(w, ws);
        vm.expectRevert();
        adj.register(lss, subs);
    }

    /// A second ledger channel of bob (0, standing in for alice) and carol (1), locking 4 in v
    /// too: v is funded through bob, the intermediary, in both of his ledger channels.
    function _secondParent(bytes32 vid) internal returns (Chan memory l2, State memory s) {
        l2 = _chan(_keys2(BOB_KEY, CAROL_KEY), address(0), true, false);
        _depositETH(l2.id, bob, 5);
        _depositETH(l2.id, carol, 5);
        s = _ethState(l2, 1, 3, 3, false);
        _lockV(s, vid);
    }

    function test_virtual_bothParentsConclude_theSecondFoldsTheConcludedState() public {
        Chan memory l = abi.decode(lEnc, (Chan));
        Chan memory v = abi.decode(vEnc, (Chan));
        (Chan memory l2, State memory l2s) = _secondParent(v.id);
        State memory ls = _ledgerState(1);
        State memory vs = _ethState(v, 7, 1, 3, false); // alice 1, carol 3
        adj.register(_signed(l, ls), _one(_signed(v, vs)));
        adj.register(_signed(l2, l2s), _one(_signed(v, vs)));

        vm.warp(START + DURATION);
        adj.conclude(l.params, ls, _oneState(vs));
        assertEq(_phase(v.id), PHASE_CONCLUDED, "v concluded with its first parent");
        adj.conclude(l2.params, l2s, _oneState(vs));
        assertEq(_phase(l2.id), PHASE_CONCLUDED, "the second parent concludes too");
        assertEq(ethHolder.holdings(_fid(l.id, alice)), 3 + 1, "alice: her share of v in l");
        assertEq(ethHolder.holdings(_fid(l.id, bob)), 3 + 3, "bob in l: carol's share of v");
        assertEq(ethHolder.holdings(_fid(l2.id, bob)), 3 + 1, "bob in l2: alice's share of v");
        assertEq(ethHolder.holdings(_fid(l2.id, carol)), 3 + 3, "carol: her share of v in l2");
    }

    function test_virtual_secondParentCannotFoldAnotherState() public {
        Chan memory l = abi.decode(lEnc, (Chan));
        Chan memory v = abi.decode(vEnc, (Chan));
        (Chan memory l2, State memory l2s) = _secondParent(v.id);
        State memory ls = _ledgerState(1);
        State memory vs = _ethState(v, 7, 1, 3, false);
        adj.register(_signed(l, ls), _one(_signed(v, vs)));
        adj.register(_signed(l2, l2s), _one(_signed(v, vs)));
        vm.warp(START + DURATION);
        adj.conclude(l.params, ls, _oneState(vs));
        // Another split of v's 4, never on record: refused.
        State memory other = _ethState(v, 7, 0, 4, false);
        vm.expectRevert(bytes("conclude: not the state on record"));
        adj.conclude(l2.params, l2s, _oneState(other));
        assertEq(_phase(l2.id), PHASE_DISPUTE, "l2 still disputed");
    }

    // ---- a virtual channel running tic-tac-toe ----

    /// A virtual tic-tac-toe channel of alice (0) and carol (1) and its opening state: each
    /// stakes 2 (the 4 both parents lock), alice to move on an empty grid.
    function _virtualGame() internal returns (Chan memory g, State memory s) {
        g = _chan(_keys2(ALICE_KEY, CAROL_KEY), ttt, false, true);
        s = _ethState(g, 1, 2, 2, false);
        s.appData = _tttData(0, _emptyGrid());
    }

    /// l's state locking 4 in the game `gid` (bob stands in for carol).
    function _ledgerLocking(bytes32 gid) internal view returns (State memory s) {
        Chan memory l = abi.decode(lEnc, (Chan));
        s = _ethState(l, 1, 3, 3, false);
        _lockV(s, gid);
    }

    /// `from` with participant `actor` marking `cell` (0..8) and the turn passed on.
    function _move(State memory from, uint8 actor, uint256 cell) internal pure returns (State memory to) {
        to = _copy(from);
        to.version = from.version + 1;
        to.appData[0] = bytes1(1 - actor);
        to.appData[1 + cell] = bytes1(actor + 1);
    }

    /// Plays `cells` on chain from `s`, alice first, each move signed by its mover alone;
    /// returns the last state.
    function _play(Chan memory g, State memory s, uint8[] memory cells) internal returns (State memory) {
        for (uint256 i = 0; i < cells.length; i++) {
            uint8 actor = uint8(i % 2);
            State memory next = _move(s, actor, cells[i]);
            adj.progress(g.params, s, next, actor, _sign(actor == 0 ? ALICE_KEY : CAROL_KEY, next));
            s = next;
        }
        return s;
    }

    function _cells(uint8 a, uint8 b, uint8 c, uint8 d) internal pure returns (uint8[] memory m) {
        m = new uint8[](4);
        (m[0], m[1], m[2], m[3]) = (a, b, c, d);
    }

    /// The state on record, presented as a sub-channel state with no signatures at all: a state
    /// reached by progress carries only its mover's.
    function _unsigned(Chan memory c, State memory s) internal pure returns (SignedState memory) {
        return SignedState(c.params, s, new bytes[](0));
    }

    /// Alice wins the virtual game on chain. The second parent is registered only after the
    /// moves, with the progressed state on record; both parents pay out the won game, and bob,
    /// the intermediary, gets back exactly his 10.
    function test_virtualApp_progressedGamePaysOutInBothParents() public {
        Chan memory l = abi.decode(lEnc, (Chan));
        (Chan memory g, State memory s1) = _virtualGame();
        (Chan memory l2, State memory l2s) = _secondParent(g.id);
        State memory ls = _ledgerLocking(g.id);
        adj.register(_signed(l, ls), _one(_signed(g, s1)));

        vm.warp(START + DURATION);
        // alice: 0, 1, then 2 (top row); carol: 3, 4.
        State memory s = _play(g, s1, _cells(0, 3, 1, 4));
        State memory win = _move(s, 0, 2);
        win.isFinal = true;
        win.outcome.balances[0][0] = 4;
        win.outcome.balances[0][1] = 0;
        adj.progress(g.params, s, win, 0, _sign(ALICE_KEY, win));

        // The fully signed opening state is past refuting; the state on record is accepted.
        SignedState memory opening = _signed(g, s1);
        SignedState memory l2ss = _signed(l2, l2s);
        vm.expectRevert(bytes("register: not in the dispute phase"));
        adj.register(l2ss, _one(opening));
        adj.register(l2ss, _one(_unsigned(g, win)));
        assertEq(_version(g.id), 6, "the won game stays on record");

        adj.conclude(l.params, ls, _oneState(win));
        assertEq(_phase(g.id), PHASE_CONCLUDED, "the game concluded with its first parent");
        vm.warp(START + 2 * DURATION);
        adj.conclude(l2.params, l2s, _oneState(win));
        assertEq(ethHolder.holdings(_fid(l.id, alice)), 3 + 4, "alice wins carol's stake in l");
        assertEq(ethHolder.holdings(_fid(l.id, bob)), 3, "bob pays carol's loss in l");
        assertEq(ethHolder.holdings(_fid(l2.id, bob)), 3 + 4, "bob gets alice's win back in l2");
        assertEq(ethHolder.holdings(_fid(l2.id, carol)), 3, "carol loses her stake in l2");
    }

    /// Both parents registered the opening state; the game is moved on chain and concluded with
    /// the first parent after the force-execution timeout. It cannot move again, and the second
    /// parent, concluding later, pays the same progressed state and no other.
    function test_virtualApp_secondParentPaysTheProgressedState() public {
        Chan memory l = abi.decode(lEnc, (Chan));
        (Chan memory g, State memory s1) = _virtualGame();
        (Chan memory l2, State memory l2s) = _secondParent(g.id);
        State memory ls = _ledgerLocking(g.id);
        adj.register(_signed(l, ls), _one(_signed(g, s1)));
        adj.register(_signed(l2, l2s), _one(_signed(g, s1)));

        vm.warp(START + DURATION);
        State memory s = _play(g, s1, _cells(4, 0, 8, 2));
        vm.expectRevert(bytes("conclude: timeout not passed"));
        adj.conclude(l.params, ls, _oneState(s));
        vm.warp(START + 2 * DURATION);
        adj.conclude(l.params, ls, _oneState(s));

        State memory late = _move(s, 0, 1);
        bytes memory lateSig = _sign(ALICE_KEY, late);
        vm.expectRevert(bytes("progress: channel concluded"));
        adj.progress(g.params, s, late, 0, lateSig);
        vm.expectRevert(bytes("conclude: not the state on record"));
        adj.conclude(l2.params, l2s, _oneState(s1));

        vm.warp(START + 5 * DURATION);
        adj.conclude(l2.params, l2s, _oneState(s));
        assertEq(_version(g.id), 5, "the game concluded at its last move");
        assertEq(ethHolder.holdings(_fid(l.id, alice)), 3 + 2, "alice keeps her stake");
        assertEq(ethHolder.holdings(_fid(l.id, bob)), 3 + 2, "bob in l: carol's stake");
        assertEq(ethHolder.holdings(_fid(l2.id, bob)), 3 + 2, "bob in l2: alice's stake");
        assertEq(ethHolder.holdings(_fid(l2.id, carol)), 3 + 2, "carol keeps her stake");
    }

    /// A virtual game nobody moves waits out the unused force-execution window, as any app
    /// channel does, and then pays its registered state.
    function test_virtualApp_neverMovedWaitsOutTheForceExecutionWindow() public {
        Chan memory l = abi.decode(lEnc, (Chan));
        (Chan memory g, State memory s1) = _virtualGame();
        State memory ls = _ledgerLocking(g.id);
        adj.register(_signed(l, ls), _one(_signed(g, s1)));
        vm.warp(START + 2 * DURATION - 1);
        vm.expectRevert(bytes("conclude: timeout not passed"));
        adj.conclude(l.params, ls, _oneState(s1));
        vm.warp(START + 2 * DURATION);
        adj.conclude(l.params, ls, _oneState(s1));
        assertEq(ethHolder.holdings(_fid(l.id, alice)), 3 + 2, "alice");
        assertEq(ethHolder.holdings(_fid(l.id, bob)), 3 + 2, "bob, carol's stand-in");
    }

    /// Presenting the state on record needs no signatures; any other state still needs all.
    function test_virtualApp_anUnsignedStateOtherThanTheRecordedOneRefused() public {
        Chan memory l = abi.decode(lEnc, (Chan));
        (Chan memory g, State memory s1) = _virtualGame();
        adj.register(_signed(l, _ledgerLocking(g.id)), _one(_signed(g, s1)));
        (Chan memory l2, State memory l2s) = _secondParent(g.id);
        State memory newer = _copy(s1);
        newer.version = 2;
        SignedState memory l2ss = _signed(l2, l2s);
        vm.expectRevert(bytes("one signature per participant"));
        adj.register(l2ss, _one(_unsigned(g, newer)));
        adj.register(l2ss, _one(_unsigned(g, s1)));
        assertEq(_version(g.id), 1, "the opening state stays on record");
    }
}
