// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.0;

import "./Base.sol";

/// Sub-channel trees: a ledger channel that locks funds in sub-channels; register takes the tree
/// (sub-channels depth first), conclude folds the sub-channels' outcomes into the parent's.
contract SubChannelsTest is TestBase {
    bytes internal lEnc;

    function setUp() public override {
        super.setUp();
        Chan memory l = _ledger();
        lEnc = abi.encode(l);
        _depositETH(l.id, alice, 5);
        _depositETH(l.id, bob, 5);
    }

    function _subChan(uint256 k0, uint256 k1) internal returns (Chan memory) {
        return _chan(_keys2(k0, k1), address(0), false, false);
    }

    function _map(uint16 a, uint16 b) internal pure returns (uint16[] memory m) {
        m = new uint16[](2);
        m[0] = a;
        m[1] = b;
    }

    /// `s` with one locked sub-allocation of `amount` (the only asset) for channel `id`.
    function _lock(State memory s, bytes32 id, uint256 amount, uint16[] memory indexMap)
        internal
        pure
        returns (State memory)
    {
        uint256[] memory amounts = new uint256[](1);
        amounts[0] = amount;
        s.outcome.locked = new SubAlloc[](1);
        s.outcome.locked[0] = SubAlloc(id, amounts, indexMap);
        return s;
    }

    function _one(SignedState memory x) internal pure returns (SignedState[] memory a) {
        a = new SignedState[](1);
        a[0] = x;
    }

    function _oneState(State memory x) internal pure returns (State[] memory a) {
        a = new State[](1);
        a[0] = x;
    }

    function _holding(address p) internal view returns (uint256) {
        Chan memory l = abi.decode(lEnc, (Chan));
        return ethHolder.holdings(_fid(l.id, p));
    }

    function test_subChannels_registerThenConcludeFoldsTheSubOutcome() public {
        Chan memory l = abi.decode(lEnc, (Chan));
        Chan memory s = _subChan(ALICE_KEY, BOB_KEY);
        State memory ls = _lock(_ethState(l, 1, 3, 3, false), s.id, 4, _map(0, 1));
        State memory ss = _ethState(s, 1, 1, 3, false);
        adj.register(_signed(l, ls), _one(_signed(s, ss)));

        (, uint64 subVersion, uint8 subPhase, bytes32 subHash) = _dispute(s.id);
        assertEq(subVersion, 1, "sub-channel registered");
        assertEq(subPhase, PHASE_DISPUTE, "sub-channel phase");
        assertEq(subHash, _hash(ss), "sub-channel state");

        vm.warp(START + DURATION);
        adj.conclude(l.params, ls, _oneState(ss));
        assertEq(_phase(l.id), PHASE_CONCLUDED, "parent concluded");
        assertEq(_phase(s.id), PHASE_CONCLUDED, "sub-channel concluded");
        assertEq(_holding(alice), 3 + 1, "alice: free plus her sub-channel share");
        assertEq(_holding(bob), 3 + 3, "bob: free plus his sub-channel share");
    }

    function test_subChannels_indexMapPlacesTheSubOutcome() public {
        Chan memory l = abi.decode(lEnc, (Chan));
        // The sub-channel lists bob first: its participant 0 is the parent's participant 1.
        Chan memory s = _subChan(BOB_KEY, ALICE_KEY);
        State memory ls = _lock(_ethState(l, 1, 3, 3, false), s.id, 4, _map(1, 0));
        State memory ss = _ethState(s, 1, 1, 3, false); // bob 1, alice 3
        adj.register(_signed(l, ls), _one(_signed(s, ss)));
        vm.warp(START + DURATION);
        adj.conclude(l.params, ls, _oneState(ss));
        assertEq(_holding(alice), 3 + 3, "alice");
        assertEq(_holding(bob), 3 + 1, "bob");
    }

    function test_subChannels_twoLevelTree() public {
        Chan memory l = abi.decode(lEnc, (Chan));
        Chan memory s1 = _subChan(ALICE_KEY, BOB_KEY);
        Chan memory s2 = _subChan(ALICE_KEY, BOB_KEY);
        State memory ls = _lock(_ethState(l, 1, 2, 2, false), s1.id, 6, _map(0, 1));
        State memory st1 = _lock(_ethState(s1, 1, 1, 1, false), s2.id, 4, _map(0, 1));
        State memory st2 = _ethState(s2, 1, 3, 1, false);
        SignedState[] memory subs = new SignedState[](2);
        subs[0] = _signed(s1, st1);
        subs[1] = _signed(s2, st2);
        adj.register(_signed(l, ls), subs);

        vm.warp(START + DURATION);
        State[] memory subStates = new State[](2);
        subStates[0] = st1;
        subStates[1] = st2;
        adj.conclude(l.params, ls, subStates);
        assertEq(_holding(alice), 2 + 1 + 3, "alice");
        assertEq(_holding(bob), 2 + 1 + 1, "bob");
        assertEq(_phase(s2.id), PHASE_CONCLUDED, "grandchild concluded");
    }

    function test_subChannels_lockedAmountMustMatchTheSubTotal() public {
        Chan memory l = abi.decode(lEnc, (Chan));
        Chan memory s = _subChan(ALICE_KEY, BOB_KEY);
        State memory ls = _lock(_ethState(l, 1, 3, 3, false), s.id, 4, _map(0, 1));
        SignedState memory lss = _signed(l, ls);
        SignedState[] memory subs = _one(_signed(s, _ethState(s, 1, 1, 4, false))); // holds 5, not 4
        vm.expectRevert();
        adj.register(lss, subs);
        assertEq(_version(l.id), 0, "parent not registered");
    }

    function test_subChannels_wrongSubChannelRefused() public {
        Chan memory l = abi.decode(lEnc, (Chan));
        Chan memory s = _subChan(ALICE_KEY, BOB_KEY);
        Chan memory other = _subChan(ALICE_KEY, BOB_KEY);
        State memory ls = _lock(_ethState(l, 1, 3, 3, false), s.id, 4, _map(0, 1));
        SignedState memory lss = _signed(l, ls);
        SignedState[] memory subs = _one(_signed(other, _ethState(other, 1, 1, 3, false)));
        vm.expectRevert();
        adj.register(lss, subs);
    }

    function test_subChannels_missingSubChannelRefused() public {
        Chan memory l = abi.decode(lEnc, (Chan));
        Chan memory s = _subChan(ALICE_KEY, BOB_KEY);
        State memory ls = _lock(_ethState(l, 1, 3, 3, false), s.id, 4, _map(0, 1));
        SignedState memory lss = _signed(l, ls);
        vm.expectRevert();
        adj.register(lss, _noSubs());
    }

    function test_subChannels_badlySignedSubStateRefused() public {
        Chan memory l = abi.decode(lEnc, (Chan));
        Chan memory s = _subChan(ALICE_KEY, BOB_KEY);
        State memory ls = _lock(_ethState(l, 1, 3, 3, false), s.id, 4, _map(0, 1));
        State memory ss = _ethState(s, 1, 0, 4, false);
        SignedState memory lss = _signed(l, ls);
        SignedState memory sss = _signed(s, ss);
        sss.sigs[0] = _sign(MALLORY_KEY, ss);
        SignedState[] memory subs = _one(sss);
        vm.expectRevert();
        adj.register(lss, subs);
    }

    function test_subChannels_concludeNeedsTheRegisteredSubStates() public {
        Chan memory l = abi.decode(lEnc, (Chan));
        Chan memory s = _subChan(ALICE_KEY, BOB_KEY);
        State memory ls = _lock(_ethState(l, 1, 3, 3, false), s.id, 4, _map(0, 1));
        State memory ss = _ethState(s, 1, 1, 3, false);
        adj.register(_signed(l, ls), _one(_signed(s, ss)));
        vm.warp(START + DURATION);

        State[] memory none = _noSubStates();
        vm.expectRevert();
        adj.conclude(l.params, ls, none);

        State[] memory forged = _oneState(_ethState(s, 1, 4, 0, false));
        vm.expectRevert();
        adj.conclude(l.params, ls, forged);

        assertTrue(!ethHolder.settled(l.id), "not settled");
        adj.conclude(l.params, ls, _oneState(ss));
        assertTrue(ethHolder.settled(l.id), "settled with the registered sub-state");
    }

    /// Perun: registering the tree again with the same parent state and a newer sub-channel state
    /// refutes the sub-channel (the parent, already registered with that state, is left alone).
    /// Sub-channel states change without the parent changing, so this is the only way to
    /// refute a stale sub-channel state.
    function test_subChannels_subChannelRefutableUnderTheSameParentState() public {
        Chan memory l = abi.decode(lEnc, (Chan));
        Chan memory s = _subChan(ALICE_KEY, BOB_KEY);
        State memory ls = _lock(_ethState(l, 1, 3, 3, false), s.id, 4, _map(0, 1));
        adj.register(_signed(l, ls), _one(_signed(s, _ethState(s, 1, 1, 3, false))));

        State memory newer = _ethState(s, 2, 3, 1, false);
        adj.register(_signed(l, ls), _one(_signed(s, newer)));
        assertEq(_version(s.id), 2, "sub-channel refuted");
        assertEq(_version(l.id), 1, "parent unchanged");

        vm.warp(START + DURATION);
        adj.conclude(l.params, ls, _oneState(newer));
        assertEq(_holding(alice), 3 + 3, "alice");
        assertEq(_holding(bob), 3 + 1, "bob");
    }

    function test_subChannels_subChannelCannotBeRegisteredAlone() public {
        Chan memory s = _subChan(ALICE_KEY, BOB_KEY);
        SignedState memory sss = _signed(s, _ethState(s, 1, 1, 3, false));
        vm.expectRevert();
        adj.register(sss, _noSubs());
    }
}
