// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.0;

import "./Base.sol";

/// The ABI of Perun v1.0.0 as seen from outside: the raw words of the `disputes` getter, the
/// selector the Adjudicator uses to call `setOutcome`, and every selector and event topic a
/// client (the Ethereum plugin) relies on. Each value is written out in hex, so that a change
/// of a signature or a field order fails here even when the test interfaces change with it.
contract PerunV1AbiTest is TestBase {
    /// `setOutcome(bytes32,(address,bytes)[],uint256[])`: Perun v1.0.0 passes Participant structs.
    bytes4 internal constant SET_OUTCOME_V1 = 0x295482ce;
    /// `setOutcome(bytes32,address[],uint256[])`: the layout before v1.0.0, which a v1.0.0
    /// Adjudicator cannot call.
    bytes4 internal constant SET_OUTCOME_OLD = 0xfc79a66d;

    /// The six words `disputes(id)` returns, read without any interface declaration.
    function _rawDispute(bytes32 id) internal view returns (uint256[6] memory words) {
        (bool ok, bytes memory answer) = address(adj).staticcall(abi.encodeWithSelector(bytes4(0x11be1997), id));
        assertTrue(ok, "disputes(bytes32) answers");
        assertEq(answer.length, 6 * 32, "disputes returns six words");
        words = abi.decode(answer, (uint256[6]));
    }

    function test_disputes_returnsTimeoutDurationVersionPhaseStateHashHasAppInThatOrder() public {
        // An app channel in the dispute phase: hasApp 1, phase 0.
        Chan memory g = _chan(_keys2(ALICE_KEY, BOB_KEY), ttt, true, false);
        State memory s = _ethState(g, 3, 5, 5, false);
        s.appData = _tttData(0, _emptyGrid());
        _register(g, s);
        uint256[6] memory w = _rawDispute(g.id);
        assertEq(w[0], START + DURATION, "word 0: timeout");
        assertEq(w[1], DURATION, "word 1: challengeDuration");
        assertEq(w[2], 3, "word 2: version");
        assertEq(w[3], PHASE_DISPUTE, "word 3: phase");
        assertEq(bytes32(w[4]), _hash(s), "word 4: stateHash");
        assertEq(w[5], 1, "word 5: hasApp");

        // A channel without app, concluded: phase 2, hasApp 0.
        Chan memory c = _ledger();
        State memory fin = _ethState(c, 9, 0, 0, true);
        adj.concludeFinal(c.params, fin, _sigs(c, fin));
        w = _rawDispute(c.id);
        assertEq(w[0], START, "word 0: timeout (concluded at once)");
        assertEq(w[2], 9, "word 2: version");
        assertEq(w[3], PHASE_CONCLUDED, "word 3: phase");
        assertEq(bytes32(w[4]), _hash(fin), "word 4: stateHash");
        assertEq(w[5], 0, "word 5: hasApp");
    }

    function test_disputes_ofAnUnknownChannelIsSixZeroWords() public view {
        uint256[6] memory w = _rawDispute(keccak256("never registered"));
        for (uint256 i = 0; i < 6; i++) {
            assertEq(w[i], 0, "an unknown channel's record is all zero");
        }
    }

    function test_adjudicatorCallsSetOutcomeWithTheV1Selector() public {
        Chan memory c = _ledger();
        _depositETH(c.id, alice, 4);
        _depositETH(c.id, bob, 6);
        State memory fin = _ethState(c, 2, 7, 3, true);
        vm.expectCall(
            address(ethHolder), abi.encodeWithSelector(SET_OUTCOME_V1, c.id, c.params.participants, _bals(7, 3))
        );
        adj.concludeFinal(c.params, fin, _sigs(c, fin));
        assertEq(ethHolder.holdings(_fid(c.id, alice)), 7, "alice's payout");
        assertEq(ethHolder.holdings(_fid(c.id, bob)), 3, "bob's payout");
    }

    function test_setOutcome_answersTheV1SelectorOnly() public {
        assertTrue(IAssetHolder.setOutcome.selector == SET_OUTCOME_V1, "IAssetHolder.setOutcome is v1.0.0's");
        Chan memory c = _ledger();
        _depositETH(c.id, alice, 5);
        _depositETH(c.id, bob, 5);
        address[] memory addresses = new address[](2);
        addresses[0] = alice;
        addresses[1] = bob;

        vm.prank(address(adj));
        (bool old,) = address(ethHolder).call(abi.encodeWithSelector(SET_OUTCOME_OLD, c.id, addresses, _bals(1, 9)));
        assertTrue(!old, "the pre-v1.0.0 setOutcome(bytes32,address[],uint256[]) is not a function");
        assertTrue(!ethHolder.settled(c.id), "nothing settled by the old selector");

        vm.prank(address(adj));
        (bool v1,) = address(ethHolder).call(
            abi.encodeWithSelector(SET_OUTCOME_V1, c.id, c.params.participants, _bals(1, 9))
        );
        assertTrue(v1, "setOutcome(bytes32,(address,bytes)[],uint256[]) from the adjudicator");
        assertTrue(ethHolder.settled(c.id), "settled");
        assertEq(ethHolder.holdings(_fid(c.id, alice)), 1, "alice's payout");
        assertEq(ethHolder.holdings(_fid(c.id, bob)), 9, "bob's payout");
    }

    function test_theSelectorsAndTopicsAClientUsesArePerunV1s() public pure {
        assertTrue(IAdjudicator.register.selector == bytes4(0xe9aa7e02), "register");
        assertTrue(IAdjudicator.progress.selector == bytes4(0x4c8a2c90), "progress");
        assertTrue(IAdjudicator.conclude.selector == bytes4(0xe7c01d05), "conclude");
        assertTrue(IAdjudicator.concludeFinal.selector == bytes4(0x75a87223), "concludeFinal");
        assertTrue(IAdjudicator.disputes.selector == bytes4(0x11be1997), "disputes");
        assertTrue(IAssetHolder.deposit.selector == bytes4(0x1de26e16), "deposit");
        assertTrue(IAssetHolder.withdraw.selector == bytes4(0xfca0f778), "withdraw");
        assertTrue(IAssetHolder.holdings.selector == bytes4(0xae9ee18c), "holdings");
        assertTrue(IAssetHolder.settled.selector == bytes4(0xd945af1d), "settled");
        assertEq(
            IAdjudicator.ChannelUpdate.selector,
            0x895ef5a5fc3efd313a300b006d6ce97ff0670dfe04f6eea90417edf924fa786b,
            "ChannelUpdate topic"
        );
        assertEq(
            IAssetHolder.Deposited.selector,
            0xcd2fe07293de5928c5df9505b65a8d6506f8668dfe81af09090920687edc48a9,
            "Deposited topic"
        );
        assertEq(
            IAssetHolder.OutcomeSet.selector,
            0xef898d6cd3395b6dfe67a3c1923e5c726c1b154e979fb0a25a9c41d0093168b8,
            "OutcomeSet topic"
        );
        assertEq(
            IAssetHolder.Withdrawn.selector,
            0xd0b6e7d0170f56c62f87de6a8a47a0ccf41c86ffb5084d399d8eb62e823f2a81,
            "Withdrawn topic"
        );
    }
}
