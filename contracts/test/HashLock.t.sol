// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.0;

import "./Base.sol";

/// The App interface, in the tests' ABI types (Base.sol), to ask HashLockApp directly.
interface IApp {
    function validTransition(Params calldata params, State calldata from, State calldata to, uint256 actorIdx)
        external
        view;
}

/// HashLockApp: the payee's claim and release are the only moves, each refusal names its rule,
/// and the Adjudicator force-executes the payment (claimed, or paid back when the payee vanishes).
///
/// The channel: alice (0) is the payer, bob (1) the payee, two assets. Opening balances:
/// ETH alice 5, bob 2; token alice 3, bob 0. So the payment at stake is 5 ETH and 3 tokens.
contract HashLockTest is TestBase {
    bytes32 internal constant PREIMAGE = keccak256("parley hash-lock test preimage");
    bytes32 internal constant LOCK = keccak256(abi.encodePacked(PREIMAGE));
    uint8 internal constant OPEN = 0;
    uint8 internal constant CLAIMED = 1;
    uint8 internal constant RELEASED = 2;
    uint256 internal constant PAYER = 0;
    uint256 internal constant PAYEE = 1;

    bytes internal hEnc;
    bytes internal openEnc;

    function setUp() public override {
        super.setUp();
        Chan memory h = _chan(_keys2(ALICE_KEY, BOB_KEY), hashLock, true, false);
        hEnc = abi.encode(h);
        State memory open = _state(h, 1, _alloc2(_bals(5, 2), _bals(3, 0)), false);
        open.appData = _lockData(LOCK, OPEN);
        openEnc = abi.encode(open);
    }

    // ---- helpers ----

    function _h() internal view returns (Chan memory) {
        return abi.decode(hEnc, (Chan));
    }

    function _open() internal view returns (State memory) {
        return abi.decode(openEnc, (State));
    }

    /// Two assets, ETH then the token, one balance row each, nothing locked.
    function _alloc2(uint256[] memory ethBals, uint256[] memory tokenBals)
        internal
        view
        returns (Allocation memory a)
    {
        a.assets = new Asset[](2);
        a.assets[0] = _asset(ethHolder);
        a.assets[1] = _asset(tokenHolder);
        a.backends = new uint256[](2);
        a.backends[0] = 1;
        a.backends[1] = 1;
        a.balances = new uint256[][](2);
        a.balances[0] = ethBals;
        a.balances[1] = tokenBals;
        a.locked = new SubAlloc[](0);
    }

    /// The payee's valid claim from `from`: the preimage revealed, final, and in every asset the
    /// payer's balance moved to the payee.
    function _claim(State memory from) internal pure returns (State memory to) {
        to = _copy(from);
        to.version = from.version + 1;
        to.appData = _claimData(LOCK, PREIMAGE);
        to.isFinal = true;
        for (uint256 a = 0; a < to.outcome.balances.length; a++) {
            to.outcome.balances[a][PAYEE] = from.outcome.balances[a][PAYER] + from.outcome.balances[a][PAYEE];
            to.outcome.balances[a][PAYER] = 0;
        }
    }

    /// The payee's valid release from `from`: status released, final, balances unchanged.
    function _release(State memory from) internal pure returns (State memory to) {
        to = _copy(from);
        to.version = from.version + 1;
        to.appData = _lockData(LOCK, RELEASED);
        to.isFinal = true;
    }

    /// Asks the app directly.
    function _valid(State memory from, State memory to, uint256 actorIdx) internal view {
        IApp(hashLock).validTransition(_h().params, from, to, actorIdx);
    }

    /// Expects the app to refuse `from` -> `to` by `actorIdx` with exactly `reason`.
    function _refused(State memory from, State memory to, uint256 actorIdx, string memory reason) internal {
        Params memory params = _h().params;
        vm.expectRevert(bytes(reason));
        IApp(hashLock).validTransition(params, from, to, actorIdx);
    }

    /// Funds the channel as the opening state says and registers the open state.
    function _fundAndRegister() internal {
        Chan memory h = _h();
        _depositETH(h.id, alice, 5);
        _depositETH(h.id, bob, 2);
        _depositToken(h.id, alice, 3);
        _register(h, _open());
    }

    function _holdings(IAssetHolder holder, address who) internal view returns (uint256) {
        return holder.holdings(_fid(_h().id, who));
    }

    // ---- the valid moves ----

    function test_hashLock_claimWithThePreimageAccepted() public view {
        State memory open = _open();
        _valid(open, _claim(open), PAYEE);
    }

    function test_hashLock_releaseAccepted() public view {
        State memory open = _open();
        _valid(open, _release(open), PAYEE);
    }

    /// The payee's own balance stays the payee's in a claim: it takes the sum, not just the
    /// payer's part (here the payee already held 2 ETH).
    function test_hashLock_claimKeepsThePayeesOwnBalance() public view {
        State memory claim = _claim(_open());
        assertEq(claim.outcome.balances[0][PAYEE], 7, "payee's ETH after the claim");
        assertEq(claim.outcome.balances[1][PAYEE], 3, "payee's token after the claim");
        _valid(_open(), claim, PAYEE);
    }

    // ---- who moves ----

    function test_hashLock_payerCannotClaim() public {
        State memory open = _open();
        _refused(open, _claim(open), PAYER, "hash-lock: only the payee moves");
    }

    function test_hashLock_payerCannotRelease() public {
        State memory open = _open();
        _refused(open, _release(open), PAYER, "hash-lock: only the payee moves");
    }

    function test_hashLock_threeParticipantsRefused() public {
        uint256[] memory keys = new uint256[](3);
        keys[0] = ALICE_KEY;
        keys[1] = BOB_KEY;
        keys[2] = CAROL_KEY;
        Chan memory c = _chan(keys, hashLock, true, false);
        State memory open = _open();
        State memory claim = _claim(open);
        vm.expectRevert(bytes("hash-lock: two participants, payer and payee"));
        IApp(hashLock).validTransition(c.params, open, claim, PAYEE);
    }

    // ---- the claim ----

    function test_hashLock_wrongPreimageRefused() public {
        State memory open = _open();
        State memory claim = _claim(open);
        claim.appData = _claimData(LOCK, keccak256("not the preimage"));
        _refused(open, claim, PAYEE, "hash-lock: the preimage does not match the lock");
    }

    /// Revealing the lock itself (rather than its preimage) is no claim either.
    function test_hashLock_theLockAsPreimageRefused() public {
        State memory open = _open();
        State memory claim = _claim(open);
        claim.appData = _claimData(LOCK, LOCK);
        _refused(open, claim, PAYEE, "hash-lock: the preimage does not match the lock");
    }

    /// A payee who knows some other preimage cannot swap the lock for that preimage's hash.
    function test_hashLock_lockChangedInAClaimRefused() public {
        State memory open = _open();
        State memory claim = _claim(open);
        bytes32 other = keccak256("another preimage");
        claim.appData = _claimData(keccak256(abi.encodePacked(other)), other);
        _refused(open, claim, PAYEE, "hash-lock: the hash lock must not change");
    }

    function test_hashLock_lockChangedInAReleaseRefused() public {
        State memory open = _open();
        State memory release = _release(open);
        release.appData[31] = bytes1(uint8(release.appData[31]) ^ 1);
        _refused(open, release, PAYEE, "hash-lock: the hash lock must not change");
    }

    function test_hashLock_nonFinalClaimRefused() public {
        State memory open = _open();
        State memory claim = _claim(open);
        claim.isFinal = false;
        _refused(open, claim, PAYEE, "hash-lock: a claim must be final");
    }

    /// Right in ETH, but the payer keeps its tokens.
    function test_hashLock_claimShortInOneAssetRefused() public {
        State memory open = _open();
        State memory claim = _claim(open);
        claim.outcome.balances[1][PAYER] = 3;
        claim.outcome.balances[1][PAYEE] = 0;
        _refused(open, claim, PAYEE, "hash-lock: a claim pays the payee the payer's whole balance");
    }

    /// The payee may not take less than the payer's whole balance either (total kept).
    function test_hashLock_partialClaimRefused() public {
        State memory open = _open();
        State memory claim = _claim(open);
        claim.outcome.balances[0][PAYER] = 1;
        claim.outcome.balances[0][PAYEE] = 6;
        _refused(open, claim, PAYEE, "hash-lock: a claim pays the payee the payer's whole balance");
    }

    /// The payer must end with nothing: a claim that pays the payee and leaves the payer its
    /// balance creates money. (The Adjudicator refuses it for the totals already; the app does
    /// on its own, for a node that asks it off chain.)
    function test_hashLock_claimLeavingThePayerItsBalanceRefused() public {
        State memory open = _open();
        State memory claim = _claim(open);
        claim.outcome.balances[0][PAYER] = 5;
        _refused(open, claim, PAYEE, "hash-lock: a claim pays the payee the payer's whole balance");
    }

    function test_hashLock_claimWithAMissingAssetRowRefused() public {
        State memory open = _open();
        State memory claim = _claim(open);
        uint256[][] memory oneRow = new uint256[][](1);
        oneRow[0] = claim.outcome.balances[0];
        claim.outcome.balances = oneRow;
        _refused(open, claim, PAYEE, "hash-lock: one balance row per asset");
    }

    // ---- the release ----

    function test_hashLock_nonFinalReleaseRefused() public {
        State memory open = _open();
        State memory release = _release(open);
        release.isFinal = false;
        _refused(open, release, PAYEE, "hash-lock: a release must be final");
    }

    function test_hashLock_releaseMovingFundsRefused() public {
        State memory open = _open();
        State memory release = _release(open);
        release.outcome.balances[1][PAYER] = 2;
        release.outcome.balances[1][PAYEE] = 1;
        _refused(open, release, PAYEE, "hash-lock: a release leaves the balances unchanged");
    }

    // ---- no other move ----

    function test_hashLock_stayingOpenRefused() public {
        State memory open = _open();
        State memory same = _copy(open);
        same.version = open.version + 1;
        _refused(open, same, PAYEE, "hash-lock: a move claims or releases");
        same.isFinal = true; // an open state is never final
        _refused(open, same, PAYEE, "hash-lock: a move claims or releases");
    }

    function test_hashLock_unknownStatusRefused() public {
        State memory open = _open();
        State memory next = _release(open);
        next.appData = _lockData(LOCK, 3);
        _refused(open, next, PAYEE, "hash-lock: invalid status byte");

        State memory badFrom = _copy(open);
        badFrom.appData = _lockData(LOCK, 3);
        _refused(badFrom, _release(badFrom), PAYEE, "hash-lock: invalid status byte");
    }

    // ---- after the end ----

    function test_hashLock_noMoveAfterAClaim() public {
        State memory claimed = _claim(_open());
        State memory release = _release(claimed);
        _refused(claimed, release, PAYEE, "hash-lock: the payment is already claimed or released");
        _refused(claimed, _claim(claimed), PAYEE, "hash-lock: the payment is already claimed or released");
    }

    function test_hashLock_noMoveAfterARelease() public {
        State memory released = _release(_open());
        _refused(released, _claim(released), PAYEE, "hash-lock: the payment is already claimed or released");
        _refused(released, _release(released), PAYEE, "hash-lock: the payment is already claimed or released");
    }

    // ---- appData lengths ----

    function test_hashLock_openStateOfWrongLengthRefused() public {
        State memory open = _open();
        State memory longer = _copy(open);
        longer.appData = abi.encodePacked(LOCK, OPEN, uint8(0));
        _refused(longer, _claim(longer), PAYEE, "hash-lock: an open state's appData is 33 bytes");

        State memory shorter = _copy(open);
        shorter.appData = abi.encodePacked(LOCK);
        _refused(shorter, _claim(shorter), PAYEE, "hash-lock: appData holds at least the lock and the status");
    }

    function test_hashLock_claimOfWrongLengthRefused() public {
        State memory open = _open();
        State memory claim = _claim(open);
        claim.appData = abi.encodePacked(LOCK, CLAIMED, PREIMAGE, uint8(0)); // 66 bytes
        _refused(open, claim, PAYEE, "hash-lock: a claim's appData is 65 bytes");
        claim.appData = abi.encodePacked(LOCK, CLAIMED, bytes31(PREIMAGE)); // 64 bytes
        _refused(open, claim, PAYEE, "hash-lock: a claim's appData is 65 bytes");
        claim.appData = _lockData(LOCK, CLAIMED); // no preimage at all
        _refused(open, claim, PAYEE, "hash-lock: a claim's appData is 65 bytes");
    }

    function test_hashLock_releaseOfWrongLengthRefused() public {
        State memory open = _open();
        State memory release = _release(open);
        release.appData = abi.encodePacked(LOCK, RELEASED, PREIMAGE); // 65 bytes
        _refused(open, release, PAYEE, "hash-lock: a release's appData is 33 bytes");
    }

    function test_hashLock_nextStateTooShortRefused() public {
        State memory open = _open();
        State memory next = _release(open);
        next.appData = "";
        _refused(open, next, PAYEE, "hash-lock: appData holds at least the lock and the status");
    }

    // ---- on chain, through the Adjudicator ----

    /// The payee claims by force-execution: alice registers the open state (she wants her money
    /// back), the dispute runs out, bob progresses with the preimage, the final claim is
    /// concludable at once and pays bob the payment in both assets.
    function test_hashLock_onChainClaimPaysThePayee() public {
        Chan memory h = _h();
        State memory open = _open();
        _fundAndRegister();
        State memory claim = _claim(open);
        bytes memory bobSig = _sign(BOB_KEY, claim);

        // No progress while the registered state can still be refuted.
        vm.warp(START + DURATION - 1);
        vm.expectRevert(bytes("progress: dispute still refutable"));
        adj.progress(h.params, open, claim, PAYEE, bobSig);

        vm.warp(START + DURATION);
        adj.progress(h.params, open, claim, PAYEE, bobSig);
        (uint64 timeout, uint64 version, uint8 phase, bytes32 stateHash) = _dispute(h.id);
        assertEq(version, 2, "version");
        assertEq(phase, PHASE_FORCEEXEC, "phase");
        assertEq(stateHash, _hash(claim), "the claim is on record");
        assertEq(timeout, START + DURATION, "a final claim ends force-execution at once");

        // Nothing moves after the claim, not even a release by the payee: the final claim
        // closed the force-execution window.
        State memory release = _release(claim);
        bytes memory releaseSig = _sign(BOB_KEY, release);
        vm.expectRevert(bytes("progress: force-execution over"));
        adj.progress(h.params, claim, release, PAYEE, releaseSig);

        adj.conclude(h.params, claim, _noSubStates());
        assertEq(_phase(h.id), PHASE_CONCLUDED, "concluded");
        assertEq(_holdings(ethHolder, alice), 0, "payer's ETH");
        assertEq(_holdings(ethHolder, bob), 7, "payee's ETH: its own 2 and the payer's 5");
        assertEq(_holdings(tokenHolder, alice), 0, "payer's token");
        assertEq(_holdings(tokenHolder, bob), 3, "payee's token");
    }

    /// The Adjudicator passes the app's refusals on: the payer cannot release to herself, and
    /// a wrong preimage does not unlock the payment; the record stays the open state.
    function test_hashLock_onChainRefusalsKeepTheOpenState() public {
        Chan memory h = _h();
        State memory open = _open();
        _fundAndRegister();
        vm.warp(START + DURATION);

        State memory release = _release(open);
        bytes memory aliceSig = _sign(ALICE_KEY, release);
        vm.expectRevert(bytes("hash-lock: only the payee moves"));
        adj.progress(h.params, open, release, PAYER, aliceSig);

        State memory wrong = _claim(open);
        wrong.appData = _claimData(LOCK, keccak256("a guess"));
        bytes memory bobSig = _sign(BOB_KEY, wrong);
        vm.expectRevert(bytes("hash-lock: the preimage does not match the lock"));
        adj.progress(h.params, open, wrong, PAYEE, bobSig);

        (, uint64 version, uint8 phase, bytes32 stateHash) = _dispute(h.id);
        assertEq(version, 1, "version kept");
        assertEq(phase, PHASE_DISPUTE, "phase kept");
        assertEq(stateHash, _hash(open), "the open state is still on record");
    }

    /// The payee vanishes: the challenge duration is its deadline. alice registers the open
    /// state; after the dispute and the unused force-execution window she concludes and gets
    /// her payment back; bob's claim comes too late.
    function test_hashLock_payeeVanishesThePayerIsPaidBack() public {
        Chan memory h = _h();
        State memory open = _open();
        _fundAndRegister();

        // The payee still has the force-execution window to claim: not concludable yet.
        vm.warp(START + 2 * DURATION - 1);
        vm.expectRevert(bytes("conclude: timeout not passed"));
        adj.conclude(h.params, open, _noSubStates());

        vm.warp(START + 2 * DURATION);
        vm.prank(alice);
        adj.conclude(h.params, open, _noSubStates());
        assertEq(_phase(h.id), PHASE_CONCLUDED, "concluded");
        assertEq(_holdings(ethHolder, alice), 5, "payer's ETH back");
        assertEq(_holdings(ethHolder, bob), 2, "payee keeps only its own ETH");
        assertEq(_holdings(tokenHolder, alice), 3, "payer's token back");
        assertEq(_holdings(tokenHolder, bob), 0, "payee's token");

        State memory late = _claim(open);
        bytes memory bobSig = _sign(BOB_KEY, late);
        vm.expectRevert(bytes("progress: channel concluded"));
        adj.progress(h.params, open, late, PAYEE, bobSig);
    }
}
