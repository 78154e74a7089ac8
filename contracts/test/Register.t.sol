// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.0;

import "./Base.sol";

/// register and refutation: who may register which state, and when.
contract RegisterTest is TestBase {
    bytes internal cEnc;

    function setUp() public override {
        super.setUp();
        Chan memory c = _ledger();
        cEnc = abi.encode(c);
    }

    function test_register_storesTheDispute() public {
        Chan memory c = abi.decode(cEnc, (Chan));
        State memory s = _ethState(c, 1, 3, 7, false);
        SignedState memory ss = _signed(c, s);
        vm.expectEmit(true, false, false, true, address(adj));
        emit IAdjudicator.ChannelUpdate(c.id, 1, PHASE_DISPUTE, uint64(START + DURATION));
        adj.register(ss, _noSubs());

        (uint64 timeout, uint64 duration, uint64 version, uint8 phase, bytes32 stateHash, bool hasApp) =
            adj.disputes(c.id);
        assertEq(timeout, START + DURATION, "timeout");
        assertEq(duration, DURATION, "challengeDuration");
        assertEq(version, 1, "version");
        assertTrue(!hasApp, "hasApp must be false without an app");
        assertEq(phase, PHASE_DISPUTE, "phase");
        assertEq(stateHash, _hash(s), "stateHash");
    }

    function test_register_withAppRecordsHasApp() public {
        Chan memory g = _chan(_keys2(ALICE_KEY, BOB_KEY), ttt, true, false);
        State memory s = _ethState(g, 1, 5, 5, false);
        s.appData = _tttData(0, _emptyGrid());
        adj.register(_signed(g, s), _noSubs());
        (,,,,, bool hasApp) = adj.disputes(g.id);
        assertTrue(hasApp, "hasApp must be true with an app");
    }

    function test_register_refusesAMissingSignature() public {
        Chan memory c = abi.decode(cEnc, (Chan));
        State memory s = _ethState(c, 1, 3, 7, false);
        SignedState memory ss = _signed(c, s);
        bytes[] memory one = new bytes[](1);
        one[0] = ss.sigs[0];
        ss.sigs = one;
        vm.expectRevert();
        adj.register(ss, _noSubs());
        assertEq(_version(c.id), 0, "nothing registered");
    }

    function test_register_refusesASignatureByAnOutsider() public {
        Chan memory c = abi.decode(cEnc, (Chan));
        State memory s = _ethState(c, 1, 3, 7, false);
        SignedState memory ss = _signed(c, s);
        ss.sigs[1] = _sign(MALLORY_KEY, s);
        vm.expectRevert();
        adj.register(ss, _noSubs());
    }

    function test_register_refusesSignaturesInTheWrongOrder() public {
        Chan memory c = abi.decode(cEnc, (Chan));
        State memory s = _ethState(c, 1, 3, 7, false);
        SignedState memory ss = _signed(c, s);
        (ss.sigs[0], ss.sigs[1]) = (ss.sigs[1], ss.sigs[0]);
        vm.expectRevert();
        adj.register(ss, _noSubs());
    }

    function test_register_refusesASignatureOnAnotherState() public {
        Chan memory c = abi.decode(cEnc, (Chan));
        State memory s = _ethState(c, 1, 3, 7, false);
        State memory other = _ethState(c, 1, 9, 1, false);
        SignedState memory ss = _signed(c, s);
        ss.sigs[1] = _sign(BOB_KEY, other);
        vm.expectRevert();
        adj.register(ss, _noSubs());
    }

    function test_register_refusesAStateOfAnotherChannel() public {
        Chan memory c = abi.decode(cEnc, (Chan));
        Chan memory d = _ledger();
        State memory s = _ethState(c, 1, 3, 7, false);
        SignedState memory ss = _signed(c, s);
        ss.params = d.params; // params hash to another channel id than state.channelID
        vm.expectRevert();
        adj.register(ss, _noSubs());
    }

    // ---- refutation ----

    function test_refute_newerVersionReplacesTheDisputeAndKeepsTheTimeout() public {
        Chan memory c = abi.decode(cEnc, (Chan));
        _register(c, _ethState(c, 1, 3, 7, false));
        vm.warp(START + DURATION - 1);
        State memory s2 = _ethState(c, 2, 4, 6, false);
        _register(c, s2);
        (uint64 timeout, uint64 version, uint8 phase, bytes32 stateHash) = _dispute(c.id);
        assertEq(version, 2, "version after refutation");
        assertEq(stateHash, _hash(s2), "stateHash after refutation");
        assertEq(phase, PHASE_DISPUTE, "phase after refutation");
        assertEq(timeout, START + DURATION, "a refutation must not extend the timeout");
    }

    function test_refute_olderVersionRefused() public {
        Chan memory c = abi.decode(cEnc, (Chan));
        _register(c, _ethState(c, 5, 3, 7, false));
        SignedState memory old = _signed(c, _ethState(c, 4, 9, 1, false));
        vm.expectRevert();
        adj.register(old, _noSubs());
        assertEq(_version(c.id), 5, "version kept");
    }

    function test_refute_sameVersionOtherStateRefused() public {
        Chan memory c = abi.decode(cEnc, (Chan));
        _register(c, _ethState(c, 5, 3, 7, false));
        SignedState memory twin = _signed(c, _ethState(c, 5, 9, 1, false));
        vm.expectRevert();
        adj.register(twin, _noSubs());
    }

    function test_refute_afterTheTimeoutRefused() public {
        Chan memory c = abi.decode(cEnc, (Chan));
        _register(c, _ethState(c, 1, 3, 7, false));
        vm.warp(START + DURATION);
        SignedState memory s2 = _signed(c, _ethState(c, 2, 4, 6, false));
        vm.expectRevert();
        adj.register(s2, _noSubs());
        assertEq(_version(c.id), 1, "version kept");
    }

    function test_refute_badSignatureRefused() public {
        Chan memory c = abi.decode(cEnc, (Chan));
        _register(c, _ethState(c, 1, 3, 7, false));
        State memory s2 = _ethState(c, 2, 0, 10, false);
        SignedState memory ss = _signed(c, s2);
        ss.sigs[0] = _sign(MALLORY_KEY, s2); // alice's signature forged
        vm.expectRevert();
        adj.register(ss, _noSubs());
        assertEq(_version(c.id), 1, "version kept");
    }

    function test_refute_afterConcludeRefused() public {
        Chan memory c = abi.decode(cEnc, (Chan));
        State memory s1 = _ethState(c, 1, 3, 7, false);
        _register(c, s1);
        vm.warp(START + DURATION);
        adj.conclude(c.params, s1, _noSubStates());
        SignedState memory s2 = _signed(c, _ethState(c, 2, 4, 6, false));
        vm.expectRevert();
        adj.register(s2, _noSubs());
    }

    function test_refute_withAFinalStateEndsTheDisputeAtOnce() public {
        Chan memory c = abi.decode(cEnc, (Chan));
        _register(c, _ethState(c, 1, 3, 7, false));
        vm.warp(START + 10);
        State memory fin = _ethState(c, 2, 5, 5, true);
        _register(c, fin);
        assertEq(_timeout(c.id), START + 10, "a final state cannot be refuted: timeout is now");
        SignedState memory later = _signed(c, _ethState(c, 3, 0, 10, false));
        vm.expectRevert();
        adj.register(later, _noSubs());
        adj.conclude(c.params, fin, _noSubStates());
        assertEq(_phase(c.id), PHASE_CONCLUDED, "phase");
    }

    function test_register_finalStateIsConcludableAtOnce() public {
        Chan memory c = abi.decode(cEnc, (Chan));
        State memory fin = _ethState(c, 3, 3, 7, true);
        _register(c, fin);
        assertEq(_timeout(c.id), START, "a final state's timeout is now");
        adj.conclude(c.params, fin, _noSubStates());
        assertEq(_phase(c.id), PHASE_CONCLUDED, "phase");
    }
}
