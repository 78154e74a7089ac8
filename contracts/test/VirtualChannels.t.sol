// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.0;

import "./Base.sol";

/// The ledgerChannel / virtualChannel flags (Perun's rules): only a ledger channel is registered
/// on its own, concluded or concluded with a final state; a virtual channel is funded by locking
/// funds in ledger channels, so it appears only as a sub-channel, without an app and without
/// locked funds of its own.
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

    function test_virtual_withAnAppRefused() public {
        Chan memory l = abi.decode(lEnc, (Chan));
        Chan memory va = _chan(_keys2(ALICE_KEY, CAROL_KEY), ttt, false, true);
        State memory ls = _ethState(l, 1, 3, 3, false);
        uint256[] memory amounts = new uint256[](1);
        amounts[0] = 4;
        uint16[] memory indexMap = new uint16[](2);
        indexMap[1] = 1;
        ls.outcome.locked = new SubAlloc[](1);
        ls.outcome.locked[0] = SubAlloc(va.id, amounts, indexMap);
        State memory vs = _ethState(va, 1, 1, 3, false);
        vs.appData = _tttData(0, _emptyGrid());
        SignedState memory lss = _signed(l, ls);
        SignedState[] memory subs = _one(_signed(va, vs));
        vm.expectRevert();
        adj.register(lss, subs);
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
    function _secondParent() internal returns (Chan memory l2, State memory s) {
        Chan memory v = abi.decode(vEnc, (Chan));
        l2 = _chan(_keys2(BOB_KEY, CAROL_KEY), address(0), true, false);
        _depositETH(l2.id, bob, 5);
        _depositETH(l2.id, carol, 5);
        s = _ethState(l2, 1, 3, 3, false);
        _lockV(s, v.id);
    }

    function test_virtual_bothParentsConclude_theSecondFoldsTheConcludedState() public {
        Chan memory l = abi.decode(lEnc, (Chan));
        Chan memory v = abi.decode(vEnc, (Chan));
        (Chan memory l2, State memory l2s) = _secondParent();
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
        (Chan memory l2, State memory l2s) = _secondParent();
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
}
