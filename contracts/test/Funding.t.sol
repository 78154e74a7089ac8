// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.0;

import "./Base.sol";

/// Deposits and the outcome the Adjudicator sets at the asset holders: exactly funded,
/// under-funded (everybody keeps its deposit) and over-funded (the outcome is paid, the excess
/// stays in the holder), in ETH and an ERC20 token.
contract FundingTest is TestBase {
    bytes internal cEnc;

    function setUp() public override {
        super.setUp();
        Chan memory c = _ledger();
        cEnc = abi.encode(c);
    }

    function _c() internal view returns (Chan memory) {
        return abi.decode(cEnc, (Chan));
    }

    function _concludeFinal(Chan memory c, State memory fin) internal {
        adj.concludeFinal(c.params, fin, _sigs(c, fin));
    }

    function test_deposit_ethCreditsTheFundingID() public {
        Chan memory c = _c();
        bytes32 fid = _fid(c.id, alice);
        vm.deal(alice, 3);
        vm.expectEmit(true, false, false, true, address(ethHolder));
        emit IAssetHolder.Deposited(fid, 3);
        vm.prank(alice);
        ethHolder.deposit{value: 3}(fid, 3);
        _depositETH(c.id, alice, 2); // anybody may top up anybody's holding
        assertEq(ethHolder.holdings(fid), 5, "holding");
        assertEq(address(ethHolder).balance, 5, "ether held");
    }

    function test_deposit_ethValueMustMatchTheAmount() public {
        Chan memory c = _c();
        bytes32 fid = _fid(c.id, alice);
        vm.deal(alice, 10);
        vm.prank(alice);
        vm.expectRevert();
        ethHolder.deposit{value: 3}(fid, 4);
        vm.prank(alice);
        vm.expectRevert();
        ethHolder.deposit{value: 4}(fid, 3);
        assertEq(ethHolder.holdings(fid), 0, "nothing credited");
    }

    function test_deposit_tokenPullsTheApprovedAmount() public {
        Chan memory c = _c();
        _depositToken(c.id, alice, 7);
        assertEq(tokenHolder.holdings(_fid(c.id, alice)), 7, "holding");
        assertEq(token.balanceOf(address(tokenHolder)), 7, "tokens held");
        assertEq(token.balanceOf(alice), TOKEN_SUPPLY - 7, "alice's tokens");
    }

    function test_deposit_tokenWithoutApprovalOrWithEtherRefused() public {
        Chan memory c = _c();
        bytes32 fid = _fid(c.id, alice);
        vm.prank(alice);
        vm.expectRevert();
        tokenHolder.deposit(fid, 7);

        vm.prank(alice);
        token.approve(address(tokenHolder), 7);
        vm.deal(alice, 1);
        vm.prank(alice);
        vm.expectRevert();
        tokenHolder.deposit{value: 1}(fid, 7);
        assertEq(tokenHolder.holdings(fid), 0, "nothing credited");
    }

    function test_outcome_exactlyFunded() public {
        Chan memory c = _c();
        _depositETH(c.id, alice, 5);
        _depositETH(c.id, bob, 5);
        vm.expectEmit(true, false, false, true, address(ethHolder));
        emit IAssetHolder.OutcomeSet(c.id);
        _concludeFinal(c, _ethState(c, 1, 2, 8, true));
        assertEq(ethHolder.holdings(_fid(c.id, alice)), 2, "alice");
        assertEq(ethHolder.holdings(_fid(c.id, bob)), 8, "bob");
    }

    function test_outcome_underFundedEverybodyKeepsItsDeposit() public {
        Chan memory c = _c();
        _depositETH(c.id, alice, 5);
        _depositETH(c.id, bob, 2); // the outcome needs 10
        _concludeFinal(c, _ethState(c, 1, 1, 9, true));
        assertTrue(ethHolder.settled(c.id), "settled");
        assertEq(ethHolder.holdings(_fid(c.id, alice)), 5, "alice gets her deposit back");
        assertEq(ethHolder.holdings(_fid(c.id, bob)), 2, "bob gets his deposit back");

        address payable out = payable(address(0xA1));
        WithdrawalAuth memory a = _auth(c.id, alice, out, 5);
        bytes memory sig = _signAuth(ALICE_KEY, a);
        ethHolder.withdraw(a, sig);
        assertEq(out.balance, 5, "alice withdrew her deposit");
    }

    function test_outcome_overFundedPaysTheOutcomeAndKeepsTheExcess() public {
        Chan memory c = _c();
        _depositETH(c.id, alice, 6);
        _depositETH(c.id, bob, 6); // the outcome needs 10
        _concludeFinal(c, _ethState(c, 1, 7, 3, true));
        assertEq(ethHolder.holdings(_fid(c.id, alice)), 7, "alice");
        assertEq(ethHolder.holdings(_fid(c.id, bob)), 3, "bob");

        WithdrawalAuth memory greedy = _auth(c.id, bob, bob, 6);
        bytes memory greedySig = _signAuth(BOB_KEY, greedy);
        vm.expectRevert();
        ethHolder.withdraw(greedy, greedySig);

        WithdrawalAuth memory a = _auth(c.id, alice, alice, 7);
        WithdrawalAuth memory b = _auth(c.id, bob, bob, 3);
        ethHolder.withdraw(a, _signAuth(ALICE_KEY, a));
        ethHolder.withdraw(b, _signAuth(BOB_KEY, b));
        assertEq(alice.balance, 7, "alice paid");
        assertEq(bob.balance, 3, "bob paid");
        assertEq(address(ethHolder).balance, 2, "the excess stays in the holder");
    }

    function test_outcome_twoAssetsSettleIndependently() public {
        Chan memory c = _c();
        _depositETH(c.id, alice, 5);
        _depositETH(c.id, bob, 5);
        _depositToken(c.id, alice, 20); // tokens under-funded: the outcome needs 30

        Allocation memory alloc;
        alloc.assets = new Asset[](2);
        alloc.assets[0] = _asset(ethHolder);
        alloc.assets[1] = _asset(tokenHolder);
        alloc.backends = new uint256[](2);
        alloc.backends[0] = 1;
        alloc.backends[1] = 1;
        alloc.balances = new uint256[][](2);
        alloc.balances[0] = _bals(4, 6);
        alloc.balances[1] = _bals(10, 20);
        alloc.locked = new SubAlloc[](0);
        _concludeFinal(c, _state(c, 1, alloc, true));

        assertEq(ethHolder.holdings(_fid(c.id, alice)), 4, "alice's ether");
        assertEq(ethHolder.holdings(_fid(c.id, bob)), 6, "bob's ether");
        assertTrue(tokenHolder.settled(c.id), "token outcome set");
        assertEq(tokenHolder.holdings(_fid(c.id, alice)), 20, "alice's tokens: her deposit back");
        assertEq(tokenHolder.holdings(_fid(c.id, bob)), 0, "bob's tokens: he deposited none");
    }

    function test_outcome_assetOfAnotherChainIsNotPaidHere() public {
        Chan memory c = _c();
        _depositETH(c.id, alice, 5);
        _depositETH(c.id, bob, 5);
        _depositToken(c.id, alice, 5);
        Allocation memory alloc;
        alloc.assets = new Asset[](2);
        alloc.assets[0] = _asset(ethHolder);
        alloc.assets[1] = Asset(block.chainid + 1, address(tokenHolder), "");
        alloc.backends = new uint256[](2);
        alloc.balances = new uint256[][](2);
        alloc.balances[0] = _bals(5, 5);
        alloc.balances[1] = _bals(0, 5);
        alloc.locked = new SubAlloc[](0);
        _concludeFinal(c, _state(c, 1, alloc, true));
        assertTrue(ethHolder.settled(c.id), "this chain's asset settled");
        assertTrue(!tokenHolder.settled(c.id), "the other chain's asset untouched");
        assertEq(tokenHolder.holdings(_fid(c.id, alice)), 5, "alice's tokens untouched");
    }
}
