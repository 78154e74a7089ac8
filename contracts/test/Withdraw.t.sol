// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.0;

import "./Base.sol";

/// Withdrawals from a concluded channel, in ETH and an ERC20 token: exact amounts, the
/// participant's signature required, and no authorisation usable twice.
contract WithdrawTest is TestBase {
    bytes internal cEnc;
    address payable internal constant RECEIVER = payable(address(0xBEEF));

    function setUp() public override {
        super.setUp();
        Chan memory c = _ledger();
        cEnc = abi.encode(c);
        _depositETH(c.id, alice, 5);
        _depositETH(c.id, bob, 5);
        _depositToken(c.id, alice, 50);
        _depositToken(c.id, bob, 50);
    }

    function _c() internal view returns (Chan memory) {
        return abi.decode(cEnc, (Chan));
    }

    /// Concludes the channel: ETH 4 / 6, tokens 30 / 70.
    function _settle(Chan memory c) internal {
        Allocation memory alloc;
        alloc.assets = new Asset[](2);
        alloc.assets[0] = _asset(ethHolder);
        alloc.assets[1] = _asset(tokenHolder);
        alloc.backends = new uint256[](2);
        alloc.balances = new uint256[][](2);
        alloc.balances[0] = _bals(4, 6);
        alloc.balances[1] = _bals(30, 70);
        alloc.locked = new SubAlloc[](0);
        State memory fin = _state(c, 1, alloc, true);
        adj.concludeFinal(c.params, fin, _sigs(c, fin));
    }

    // ---- ETH ----

    function test_withdrawEth_paysTheExactAmountToTheReceiver() public {
        Chan memory c = _c();
        _settle(c);
        WithdrawalAuth memory a = _auth(c.id, alice, RECEIVER, 3);
        bytes memory sig = _signAuth(ALICE_KEY, a);
        vm.expectEmit(true, false, false, true, address(ethHolder));
        emit IAssetHolder.Withdrawn(_fid(c.id, alice), 3, RECEIVER);
        vm.prank(mallory); // anybody may submit a signed authorisation
        ethHolder.withdraw(a, sig);
        assertEq(RECEIVER.balance, 3, "receiver paid");
        assertEq(mallory.balance, 0, "the submitter gets nothing");
        assertEq(ethHolder.holdings(_fid(c.id, alice)), 1, "alice's rest");
        assertEq(address(ethHolder).balance, 7, "ether left in the holder");
    }

    function test_withdrawEth_beforeConclusionRefused() public {
        Chan memory c = _c();
        WithdrawalAuth memory a = _auth(c.id, alice, alice, 5);
        bytes memory sig = _signAuth(ALICE_KEY, a);
        vm.expectRevert();
        ethHolder.withdraw(a, sig);
        assertEq(alice.balance, 0, "nothing paid");
    }

    function test_withdrawEth_needsTheParticipantsSignature() public {
        Chan memory c = _c();
        _settle(c);
        WithdrawalAuth memory a = _auth(c.id, bob, mallory, 6);
        bytes memory bySomeoneElse = _signAuth(MALLORY_KEY, a);
        vm.expectRevert();
        ethHolder.withdraw(a, bySomeoneElse);

        bytes memory byAlice = _signAuth(ALICE_KEY, a); // a co-participant cannot either
        vm.expectRevert();
        ethHolder.withdraw(a, byAlice);

        // Bob's signature on a different receiver does not authorise this one.
        WithdrawalAuth memory own = _auth(c.id, bob, bob, 6);
        bytes memory bobsOwn = _signAuth(BOB_KEY, own);
        vm.expectRevert();
        ethHolder.withdraw(a, bobsOwn);

        assertEq(mallory.balance, 0, "nothing paid");
        assertEq(ethHolder.holdings(_fid(c.id, bob)), 6, "bob's holding intact");
    }

    function test_withdrawEth_moreThanTheHoldingRefused() public {
        Chan memory c = _c();
        _settle(c);
        WithdrawalAuth memory a = _auth(c.id, alice, alice, 5);
        bytes memory sig = _signAuth(ALICE_KEY, a);
        vm.expectRevert();
        ethHolder.withdraw(a, sig);
        assertEq(ethHolder.holdings(_fid(c.id, alice)), 4, "holding intact");
    }

    function test_withdrawEth_authorisationCannotBeReplayed() public {
        Chan memory c = _c();
        _settle(c);
        WithdrawalAuth memory a = _auth(c.id, bob, RECEIVER, 2);
        bytes memory sig = _signAuth(BOB_KEY, a);
        ethHolder.withdraw(a, sig);
        vm.expectRevert();
        ethHolder.withdraw(a, sig);
        vm.prank(bob);
        vm.expectRevert();
        ethHolder.withdraw(a, sig);
        assertEq(RECEIVER.balance, 2, "paid once");
        assertEq(ethHolder.holdings(_fid(c.id, bob)), 4, "the rest of bob's holding stays");
    }

    function test_withdrawEth_inPartsWithSeparateAuthorisations() public {
        Chan memory c = _c();
        _settle(c);
        WithdrawalAuth memory a1 = _auth(c.id, bob, bob, 2);
        WithdrawalAuth memory a2 = _auth(c.id, bob, bob, 4);
        ethHolder.withdraw(a1, _signAuth(BOB_KEY, a1));
        ethHolder.withdraw(a2, _signAuth(BOB_KEY, a2));
        assertEq(bob.balance, 6, "bob paid in full");
        assertEq(ethHolder.holdings(_fid(c.id, bob)), 0, "holding empty");
    }

    function test_withdrawEth_authorisationOfAnotherChannelRefused() public {
        Chan memory c = _c();
        _settle(c);
        Chan memory d = _ledger();
        _depositETH(d.id, alice, 1);
        WithdrawalAuth memory a = _auth(d.id, alice, alice, 1); // d is not concluded
        bytes memory sig = _signAuth(ALICE_KEY, a);
        vm.expectRevert();
        ethHolder.withdraw(a, sig);
    }

    // ---- ERC20 ----

    function test_withdrawToken_paysTheExactAmountToTheReceiver() public {
        Chan memory c = _c();
        _settle(c);
        WithdrawalAuth memory a = _auth(c.id, bob, RECEIVER, 70);
        bytes memory sig = _signAuth(BOB_KEY, a);
        vm.expectEmit(true, false, false, true, address(tokenHolder));
        emit IAssetHolder.Withdrawn(_fid(c.id, bob), 70, RECEIVER);
        tokenHolder.withdraw(a, sig);
        assertEq(token.balanceOf(RECEIVER), 70, "receiver paid");
        assertEq(tokenHolder.holdings(_fid(c.id, bob)), 0, "bob's holding");
        assertEq(token.balanceOf(address(tokenHolder)), 30, "tokens left in the holder");
    }

    function test_withdrawToken_needsTheParticipantsSignature() public {
        Chan memory c = _c();
        _settle(c);
        WithdrawalAuth memory a = _auth(c.id, alice, mallory, 30);
        bytes memory sig = _signAuth(MALLORY_KEY, a);
        vm.expectRevert();
        tokenHolder.withdraw(a, sig);
        assertEq(token.balanceOf(mallory), 0, "nothing paid");
    }

    function test_withdrawToken_authorisationCannotBeReplayed() public {
        Chan memory c = _c();
        _settle(c);
        WithdrawalAuth memory a = _auth(c.id, bob, RECEIVER, 30);
        bytes memory sig = _signAuth(BOB_KEY, a);
        tokenHolder.withdraw(a, sig);
        vm.expectRevert();
        tokenHolder.withdraw(a, sig);
        assertEq(token.balanceOf(RECEIVER), 30, "paid once");
        assertEq(tokenHolder.holdings(_fid(c.id, bob)), 40, "the rest of bob's holding stays");
    }

    function test_withdrawToken_moreThanTheHoldingRefused() public {
        Chan memory c = _c();
        _settle(c);
        WithdrawalAuth memory a = _auth(c.id, alice, alice, 31);
        bytes memory sig = _signAuth(ALICE_KEY, a);
        vm.expectRevert();
        tokenHolder.withdraw(a, sig);
        assertEq(tokenHolder.holdings(_fid(c.id, alice)), 30, "holding intact");
    }
}
