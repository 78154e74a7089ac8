// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.0;

import "./Base.sol";

/// conclude (after a dispute's timeout) and concludeFinal (a fully signed final state, at once).
contract ConcludeTest is TestBase {
    bytes internal cEnc;

    function setUp() public override {
        super.setUp();
        Chan memory c = _ledger();
        cEnc = abi.encode(c);
        _depositETH(c.id, alice, 5);
        _depositETH(c.id, bob, 5);
    }

    function _holding(address p) internal view returns (uint256) {
        Chan memory c = abi.decode(cEnc, (Chan));
        return ethHolder.holdings(_fid(c.id, p));
    }

    // ---- conclude ----

    function test_conclude_beforeTheTimeoutRefused() public {
        Chan memory c = abi.decode(cEnc, (Chan));
        State memory s = _ethState(c, 1, 3, 7, false);
        _register(c, s);
        vm.warp(START + DURATION - 1);
        vm.expectRevert();
        adj.conclude(c.params, s, _noSubStates());
        assertEq(_phase(c.id), PHASE_DISPUTE, "still disputed");
        assertTrue(!ethHolder.settled(c.id), "not settled");
        assertEq(_holding(alice), 5, "alice's deposit untouched");
    }

    function test_conclude_afterTheTimeoutPaysTheOutcome() public {
        Chan memory c = abi.decode(cEnc, (Chan));
        State memory s = _ethState(c, 1, 3, 7, false);
        _register(c, s);
        vm.warp(START + DURATION);
        vm.expectEmit(true, false, false, true, address(adj));
        emit IAdjudicator.ChannelUpdate(c.id, 1, PHASE_CONCLUDED, uint64(START + DURATION));
        adj.conclude(c.params, s, _noSubStates());
        assertEq(_phase(c.id), PHASE_CONCLUDED, "phase");
        assertTrue(ethHolder.settled(c.id), "settled");
        assertEq(_holding(alice), 3, "alice's outcome");
        assertEq(_holding(bob), 7, "bob's outcome");
    }

    function test_conclude_theRefutedStateWins() public {
        Chan memory c = abi.decode(cEnc, (Chan));
        _register(c, _ethState(c, 1, 3, 7, false));
        State memory s2 = _ethState(c, 2, 8, 2, false);
        _register(c, s2);
        vm.warp(START + DURATION);
        adj.conclude(c.params, s2, _noSubStates());
        assertEq(_holding(alice), 8, "alice's outcome");
        assertEq(_holding(bob), 2, "bob's outcome");
    }

    function test_conclude_aStateOtherThanTheRegisteredOneRefused() public {
        Chan memory c = abi.decode(cEnc, (Chan));
        _register(c, _ethState(c, 2, 3, 7, false));
        vm.warp(START + DURATION);
        State memory other = _ethState(c, 2, 10, 0, false);
        vm.expectRevert();
        adj.conclude(c.params, other, _noSubStates());
        State memory older = _ethState(c, 1, 10, 0, false);
        vm.expectRevert();
        adj.conclude(c.params, older, _noSubStates());
    }

    function test_conclude_unregisteredRefused() public {
        Chan memory c = abi.decode(cEnc, (Chan));
        State memory s = _ethState(c, 1, 3, 7, false);
        vm.expectRevert();
        adj.conclude(c.params, s, _noSubStates());
    }

    function test_conclude_twiceRefused() public {
        Chan memory c = abi.decode(cEnc, (Chan));
        State memory s = _ethState(c, 1, 3, 7, false);
        _register(c, s);
        vm.warp(START + DURATION);
        adj.conclude(c.params, s, _noSubStates());
        vm.expectRevert();
        adj.conclude(c.params, s, _noSubStates());
    }

    function test_conclude_withAnAppWaitsForTheForceExecutionPhase() public {
        Chan memory g = _chan(_keys2(ALICE_KEY, BOB_KEY), ttt, true, false);
        State memory s = _ethState(g, 1, 5, 5, false);
        s.appData = _tttData(0, _emptyGrid());
        _register(g, s);
        // Perun: with an app, the dispute phase is followed by one more challenge duration in
        // which the app may be progressed on chain.
        vm.warp(START + DURATION);
        vm.expectRevert();
        adj.conclude(g.params, s, _noSubStates());
        vm.warp(START + 2 * DURATION);
        adj.conclude(g.params, s, _noSubStates());
        assertEq(_phase(g.id), PHASE_CONCLUDED, "phase");
    }

    function test_conclude_outcomeSetOnlyByTheAdjudicator() public {
        Chan memory c = abi.decode(cEnc, (Chan));
        Participant[] memory parts = c.params.participants;
        uint256[] memory bals = _bals(0, 10);
        vm.prank(mallory);
        vm.expectRevert();
        ethHolder.setOutcome(c.id, parts, bals);
        assertTrue(!ethHolder.settled(c.id), "not settled");
        assertEq(_holding(bob), 5, "bob's deposit untouched");
    }

    // ---- concludeFinal ----

    function test_concludeFinal_concludesAtOnce() public {
        Chan memory c = abi.decode(cEnc, (Chan));
        State memory fin = _ethState(c, 4, 2, 8, true);
        bytes[] memory sigs = _sigs(c, fin);
        adj.concludeFinal(c.params, fin, sigs);
        (, uint64 version, uint8 phase, bytes32 stateHash) = _dispute(c.id);
        assertEq(phase, PHASE_CONCLUDED, "phase");
        assertEq(version, 4, "version");
        assertEq(stateHash, _hash(fin), "stateHash");
        assertTrue(ethHolder.settled(c.id), "settled");
        assertEq(_holding(alice), 2, "alice's outcome");
        assertEq(_holding(bob), 8, "bob's outcome");
    }

    function test_concludeFinal_overridesARunningDispute() public {
        Chan memory c = abi.decode(cEnc, (Chan));
        _register(c, _ethState(c, 1, 3, 7, false));
        vm.warp(START + 10);
        State memory fin = _ethState(c, 2, 6, 4, true);
        bytes[] memory sigs = _sigs(c, fin);
        adj.concludeFinal(c.params, fin, sigs);
        assertEq(_phase(c.id), PHASE_CONCLUDED, "phase");
        assertEq(_version(c.id), 2, "version");
        assertEq(_holding(alice), 6, "alice's outcome");
        assertEq(_holding(bob), 4, "bob's outcome");
    }

    function test_concludeFinal_nonFinalStateRefused() public {
        Chan memory c = abi.decode(cEnc, (Chan));
        State memory s = _ethState(c, 4, 2, 8, false);
        bytes[] memory sigs = _sigs(c, s);
        vm.expectRevert();
        adj.concludeFinal(c.params, s, sigs);
        assertTrue(!ethHolder.settled(c.id), "not settled");
    }

    function test_concludeFinal_missingOrBadSignatureRefused() public {
        Chan memory c = abi.decode(cEnc, (Chan));
        State memory fin = _ethState(c, 4, 0, 10, true);
        bytes[] memory sigs = _sigs(c, fin);
        sigs[0] = _sign(MALLORY_KEY, fin);
        vm.expectRevert();
        adj.concludeFinal(c.params, fin, sigs);

        bytes[] memory one = new bytes[](1);
        one[0] = _sign(BOB_KEY, fin);
        vm.expectRevert();
        adj.concludeFinal(c.params, fin, one);
        assertTrue(!ethHolder.settled(c.id), "not settled");
    }

    function test_concludeFinal_afterConcludeRefused() public {
        Chan memory c = abi.decode(cEnc, (Chan));
        State memory s = _ethState(c, 1, 3, 7, false);
        _register(c, s);
        vm.warp(START + DURATION);
        adj.conclude(c.params, s, _noSubStates());
        State memory fin = _ethState(c, 2, 10, 0, true);
        bytes[] memory sigs = _sigs(c, fin);
        vm.expectRevert();
        adj.concludeFinal(c.params, fin, sigs);
        assertEq(_holding(alice), 3, "alice keeps the concluded outcome");
    }

    function test_concludeFinal_withLockedFundsRefused() public {
        Chan memory c = abi.decode(cEnc, (Chan));
        Chan memory sub = _chan(_keys2(ALICE_KEY, BOB_KEY), address(0), false, false);
        State memory fin = _ethState(c, 2, 3, 3, true);
        fin.outcome.locked = new SubAlloc[](1);
        uint256[] memory lockedBals = new uint256[](1);
        lockedBals[0] = 4;
        uint16[] memory indexMap = new uint16[](2);
        indexMap[1] = 1;
        fin.outcome.locked[0] = SubAlloc(sub.id, lockedBals, indexMap);
        bytes[] memory sigs = _sigs(c, fin);
        vm.expectRevert();
        adj.concludeFinal(c.params, fin, sigs);
    }
}
