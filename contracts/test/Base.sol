// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.0;

// Shared scaffolding for the contract tests. forge-std is not available offline, so this file
// declares the cheatcodes the tests use, the Perun ABI types (DESIGN §8) and the interfaces the
// tests call. The tests talk to the contracts only through these interfaces, so they exercise
// the ABI that the Ethereum plugin uses, not the contracts' internal Solidity types.

import {Adjudicator} from "../src/Adjudicator.sol";
import {AssetHolderETH} from "../src/AssetHolderETH.sol";
import {AssetHolderERC20} from "../src/AssetHolderERC20.sol";
import {TicTacToeApp} from "../src/TicTacToeApp.sol";
import {HashLockApp} from "../src/HashLockApp.sol";
import {PerunToken} from "../src/PerunToken.sol";

/// The forge cheatcodes used by the tests (the subset of forge-std's Vm interface).
interface Vm {
    function warp(uint256 newTimestamp) external;
    function prank(address msgSender) external;
    function sign(uint256 privateKey, bytes32 digest) external pure returns (uint8 v, bytes32 r, bytes32 s);
    function addr(uint256 privateKey) external pure returns (address);
    function deal(address account, uint256 newBalance) external;
    function expectRevert() external;
    /// Expects the next call to revert with exactly this data; `bytes("reason")` matches a
    /// `require(..., "reason")`.
    function expectRevert(bytes calldata revertData) external;
    function expectEmit(bool checkTopic1, bool checkTopic2, bool checkTopic3, bool checkData, address emitter)
        external;
    function expectCall(address callee, bytes calldata data) external;
}

// ---- Perun ABI types (DESIGN §8), field order as in the Perun contracts ----

struct Participant {
    address ethAddress;
    bytes ccAddress;
}

struct Params {
    uint256 challengeDuration;
    uint256 nonce;
    Participant[] participants;
    address app;
    bool ledgerChannel;
    bool virtualChannel;
}

struct Asset {
    uint256 chainID;
    address ethHolder;
    bytes ccHolder;
}

struct SubAlloc {
    bytes32 ID;
    uint256[] balances;
    uint16[] indexMap;
}

struct Allocation {
    Asset[] assets;
    uint256[] backends;
    uint256[][] balances;
    SubAlloc[] locked;
}

struct State {
    bytes32 channelID;
    uint64 version;
    Allocation outcome;
    bytes appData;
    bool isFinal;
}

struct SignedState {
    Params params;
    State state;
    bytes[] sigs;
}

struct WithdrawalAuth {
    bytes32 channelID;
    Participant participant;
    address receiver;
    uint256 amount;
}

interface IAdjudicator {
    event ChannelUpdate(bytes32 indexed channelID, uint64 version, uint8 phase, uint64 timeout);

    function register(SignedState calldata channel, SignedState[] calldata subChannels) external;
    function progress(
        Params calldata params,
        State calldata stateOld,
        State calldata state,
        uint256 actorIdx,
        bytes calldata sig
    ) external;
    function conclude(Params calldata params, State calldata state, State[] calldata subStates) external;
    function concludeFinal(Params calldata params, State calldata state, bytes[] calldata sigs) external;
    function disputes(bytes32 channelID)
        external
        view
        returns (
            uint64 timeout,
            uint64 challengeDuration,
            uint64 version,
            uint8 phase,
            bytes32 stateHash,
            bool hasApp
        );
}

interface IAssetHolder {
    event Deposited(bytes32 indexed fundingID, uint256 amount);
    event OutcomeSet(bytes32 indexed channelID);
    event Withdrawn(bytes32 indexed fundingID, uint256 amount, address receiver);

    function deposit(bytes32 fundingID, uint256 amount) external payable;
    function withdraw(WithdrawalAuth calldata authorization, bytes calldata signature) external;
    function holdings(bytes32 fundingID) external view returns (uint256);
    function settled(bytes32 channelID) external view returns (bool);
    function setOutcome(bytes32 channelID, Participant[] calldata parts, uint256[] calldata newBals) external;
}

interface IERC20 {
    function balanceOf(address account) external view returns (uint256);
    function approve(address spender, uint256 amount) external returns (bool);
    function transfer(address to, uint256 amount) external returns (bool);
}

/// A channel under test: its parameters and the private keys of its participants (same order).
struct Chan {
    Params params;
    uint256[] keys;
    bytes32 id;
}

/// Base contract of every test: deploys the contracts, names the actors and builds, signs and
/// funds channel states.
abstract contract TestBase {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    uint8 internal constant PHASE_DISPUTE = 0;
    uint8 internal constant PHASE_FORCEEXEC = 1;
    uint8 internal constant PHASE_CONCLUDED = 2;
    uint256 internal constant DURATION = 60;
    uint256 internal constant START = 1_000_000;
    uint256 internal constant TOKEN_SUPPLY = 1_000 ether;

    uint256 internal constant ALICE_KEY = 0xA11CE;
    uint256 internal constant BOB_KEY = 0xB0B;
    uint256 internal constant CAROL_KEY = 0xCA201;
    uint256 internal constant MALLORY_KEY = 0xBAD;

    address internal alice;
    address internal bob;
    address internal carol;
    address internal mallory;

    IAdjudicator internal adj;
    IAssetHolder internal ethHolder;
    IAssetHolder internal tokenHolder;
    IERC20 internal token;
    address internal ttt;
    address internal hashLock;

    uint256 private nonceCounter;

    function setUp() public virtual {
        vm.warp(START);
        alice = vm.addr(ALICE_KEY);
        bob = vm.addr(BOB_KEY);
        carol = vm.addr(CAROL_KEY);
        mallory = vm.addr(MALLORY_KEY);

        adj = IAdjudicator(address(new Adjudicator()));
        ethHolder = IAssetHolder(address(new AssetHolderETH(address(adj))));
        address[] memory holders = new address[](3);
        holders[0] = alice;
        holders[1] = bob;
        holders[2] = carol;
        token = IERC20(address(new PerunToken(holders, TOKEN_SUPPLY)));
        tokenHolder = IAssetHolder(address(new AssetHolderERC20(address(adj), address(token))));
        ttt = address(new TicTacToeApp());
        hashLock = address(new HashLockApp());
    }

    // ---- assertions (forge treats a revert in a test function as a failure) ----

    function assertEq(uint256 a, uint256 b, string memory what) internal pure {
        if (a != b) revert(string.concat(what, ": got ", _str(a), ", want ", _str(b)));
    }

    function assertEq(bytes32 a, bytes32 b, string memory what) internal pure {
        if (a != b) revert(string.concat(what, ": bytes32 values differ"));
    }

    function assertTrue(bool c, string memory what) internal pure {
        if (!c) revert(what);
    }

    function _str(uint256 v) internal pure returns (string memory) {
        if (v == 0) return "0";
        uint256 len;
        for (uint256 t = v; t != 0; t /= 10) len++;
        bytes memory b = new bytes(len);
        for (; v != 0; v /= 10) b[--len] = bytes1(uint8(48 + (v % 10)));
        return string(b);
    }

    // ---- channels ----

    function _chan(uint256[] memory keys, address app, bool ledger, bool virt) internal returns (Chan memory c) {
        c.keys = keys;
        c.params.challengeDuration = DURATION;
        c.params.nonce = ++nonceCounter;
        c.params.participants = new Participant[](keys.length);
        for (uint256 i = 0; i < keys.length; i++) {
            c.params.participants[i] = Participant(vm.addr(keys[i]), "");
        }
        c.params.app = app;
        c.params.ledgerChannel = ledger;
        c.params.virtualChannel = virt;
        c.id = keccak256(abi.encode(c.params));
    }

    function _keys2(uint256 a, uint256 b) internal pure returns (uint256[] memory k) {
        k = new uint256[](2);
        k[0] = a;
        k[1] = b;
    }

    /// A two-party ledger channel of alice (index 0) and bob (index 1) without app.
    function _ledger() internal returns (Chan memory) {
        return _chan(_keys2(ALICE_KEY, BOB_KEY), address(0), true, false);
    }

    function _fid(bytes32 channelID, address participant) internal pure returns (bytes32) {
        return keccak256(abi.encode(channelID, participant));
    }

    // ---- allocations and states ----

    function _asset(IAssetHolder holder) internal view returns (Asset memory) {
        return Asset(block.chainid, address(holder), "");
    }

    /// One asset, one balance per participant, nothing locked.
    function _alloc(IAssetHolder holder, uint256[] memory bals) internal view returns (Allocation memory a) {
        a.assets = new Asset[](1);
        a.assets[0] = _asset(holder);
        a.backends = new uint256[](1);
        a.backends[0] = 1;
        a.balances = new uint256[][](1);
        a.balances[0] = bals;
        a.locked = new SubAlloc[](0);
    }

    function _bals(uint256 x, uint256 y) internal pure returns (uint256[] memory b) {
        b = new uint256[](2);
        b[0] = x;
        b[1] = y;
    }

    function _state(Chan memory c, uint64 version, Allocation memory outcome, bool isFinal)
        internal
        pure
        returns (State memory s)
    {
        s.channelID = c.id;
        s.version = version;
        s.outcome = outcome;
        s.appData = "";
        s.isFinal = isFinal;
    }

    /// ETH-only state of a two-party channel.
    function _ethState(Chan memory c, uint64 version, uint256 b0, uint256 b1, bool isFinal)
        internal
        view
        returns (State memory)
    {
        return _state(c, version, _alloc(ethHolder, _bals(b0, b1)), isFinal);
    }

    /// Deep copy, so that variants of a state do not alias the original.
    function _copy(State memory s) internal pure returns (State memory) {
        return abi.decode(abi.encode(s), (State));
    }

    function _hash(State memory s) internal pure returns (bytes32) {
        return keccak256(abi.encode(s));
    }

    // ---- signatures ----

    function _ethSigned(bytes32 h) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked("\x19Ethereum Signed Message:\n32", h));
    }

    function _signHash(uint256 key, bytes32 h) internal pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, _ethSigned(h));
        return abi.encodePacked(r, s, v);
    }

    function _sign(uint256 key, State memory s) internal pure returns (bytes memory) {
        return _signHash(key, _hash(s));
    }

    function _sigs(Chan memory c, State memory s) internal pure returns (bytes[] memory sigs) {
        sigs = new bytes[](c.keys.length);
        for (uint256 i = 0; i < c.keys.length; i++) sigs[i] = _sign(c.keys[i], s);
    }

    function _signed(Chan memory c, State memory s) internal pure returns (SignedState memory) {
        return SignedState(c.params, s, _sigs(c, s));
    }

    function _noSubs() internal pure returns (SignedState[] memory) {
        return new SignedState[](0);
    }

    function _noSubStates() internal pure returns (State[] memory) {
        return new State[](0);
    }

    // ---- adjudicator shortcuts ----

    function _register(Chan memory c, State memory s) internal {
        adj.register(_signed(c, s), _noSubs());
    }

    function _dispute(bytes32 id)
        internal
        view
        returns (uint64 timeout, uint64 version, uint8 phase, bytes32 stateHash)
    {
        (timeout,, version, phase, stateHash,) = adj.disputes(id);
    }

    function _phase(bytes32 id) internal view returns (uint8 phase) {
        (,, phase,) = _dispute(id);
    }

    function _version(bytes32 id) internal view returns (uint64 version) {
        (, version,,) = _dispute(id);
    }

    function _timeout(bytes32 id) internal view returns (uint64 timeout) {
        (timeout,,,) = _dispute(id);
    }

    // ---- funding ----

    function _depositETH(bytes32 channelID, address participant, uint256 amount) internal {
        address funder = address(uint160(uint256(keccak256(abi.encode("funder", participant)))));
        vm.deal(funder, amount);
        vm.prank(funder);
        ethHolder.deposit{value: amount}(_fid(channelID, participant), amount);
    }

    function _depositToken(bytes32 channelID, address participant, uint256 amount) internal {
        vm.prank(participant);
        token.approve(address(tokenHolder), amount);
        vm.prank(participant);
        tokenHolder.deposit(_fid(channelID, participant), amount);
    }

    // ---- tic-tac-toe ----

    /// TicTacToeApp appData: byte 0 is the index of the participant to move next, bytes 1..9 the
    /// cells row by row (0 empty, 1 marked by participant 0, 2 marked by participant 1).
    function _tttData(uint8 next, uint8[9] memory grid) internal pure returns (bytes memory d) {
        d = new bytes(10);
        d[0] = bytes1(next);
        for (uint256 i = 0; i < 9; i++) d[i + 1] = bytes1(grid[i]);
    }

    function _emptyGrid() internal pure returns (uint8[9] memory g) {}

    // ---- hash lock ----

    /// HashLockApp appData without a preimage (33 bytes): the lock, then the status (0 open,
    /// 2 released).
    function _lockData(bytes32 lock, uint8 status) internal pure returns (bytes memory) {
        return abi.encodePacked(lock, status);
    }

    /// HashLockApp appData of a claim (65 bytes): the lock, status 1, the preimage.
    function _claimData(bytes32 lock, bytes32 preimage) internal pure returns (bytes memory) {
        return abi.encodePacked(lock, uint8(1), preimage);
    }

    // ---- withdrawals ----

    function _auth(bytes32 channelID, address participant, address receiver, uint256 amount)
        internal
        pure
        returns (WithdrawalAuth memory)
    {
        return WithdrawalAuth(channelID, Participant(participant, ""), receiver, amount);
    }

    function _signAuth(uint256 key, WithdrawalAuth memory a) internal pure returns (bytes memory) {
        return _signHash(key, keccak256(abi.encode(a)));
    }
}
