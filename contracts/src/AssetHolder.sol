// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Channel} from "./Channel.sol";

/// @title AssetHolder: holds the deposits of channels in one asset and pays out outcomes
/// @notice Participants deposit into funding ids (one per channel and participant). When the
/// Adjudicator concludes a channel it sets the outcome here; each participant then withdraws
/// its share with a signed authorisation. Derived contracts say how the asset moves (ETH or an
/// ERC20 token).
abstract contract AssetHolder {
    /// @notice A participant's permission to pay `amount` of its holding in a concluded
    /// channel to `receiver`. Each authorisation is accepted once.
    struct WithdrawalAuth {
        bytes32 channelID;
        /// Whose holding is paid out; its ethAddress signs the authorisation.
        Channel.Participant participant;
        address receiver;
        uint256 amount;
    }

    /// @notice Emitted for every deposit.
    /// @param fundingID Where the deposit went.
    /// @param amount How much was deposited (not the new holding).
    event Deposited(bytes32 indexed fundingID, uint256 amount);

    /// @notice Emitted when the Adjudicator set a channel's outcome.
    /// @param channelID The concluded channel.
    event OutcomeSet(bytes32 indexed channelID);

    /// @notice Emitted for every withdrawal.
    /// @param fundingID The holding paid from.
    /// @param amount How much was paid.
    /// @param receiver Who was paid.
    event Withdrawn(bytes32 indexed fundingID, uint256 amount, address receiver);

    /// @notice The only contract allowed to set outcomes.
    address public immutable adjudicator;

    /// @notice What each funding id holds: deposits before the outcome, the payout after.
    mapping(bytes32 => uint256) public holdings;

    /// @notice Whether a channel's outcome is set (withdrawals are allowed from then on).
    mapping(bytes32 => bool) public settled;

    /// @dev keccak256(abi.encode(authorisation)) of every authorisation already paid out, so
    /// that nobody can replay a signed authorisation to drain the rest of a holding.
    mapping(bytes32 => bool) private spentAuthorisations;

    /// @param adjudicator_ The Adjudicator that concludes the channels this holder pays out.
    constructor(address adjudicator_) {
        require(adjudicator_ != address(0), "adjudicator is the zero address");
        adjudicator = adjudicator_;
    }

    /// @notice Deposits `amount` into `fundingID` (keccak256(abi.encode(channelID, participant
    /// address))). Anybody may deposit for anybody.
    /// @param fundingID The holding to increase.
    /// @param amount How much; for ETH it must equal msg.value, for a token it is pulled with
    /// transferFrom (approve first) and msg.value must be zero.
    function deposit(bytes32 fundingID, uint256 amount) external payable {
        pull(amount);
        holdings[fundingID] += amount;
        emit Deposited(fundingID, amount);
    }

    /// @notice Sets the outcome of a concluded channel; only the Adjudicator may call it, once
    /// per channel. If the deposits (the participants', plus any made to the channel id itself)
    /// cover the outcome, each holding becomes that participant's payout (whoever over-funded
    /// loses the excess); if they do not (an under-funded channel), every holding stays as
    /// deposited, so everybody gets back what it put in.
    /// The signature is Perun v1.0.0's, `setOutcome(bytes32,(address,bytes)[],uint256[])`
    /// (selector 0x295482ce), so that either Adjudicator can drive either holder.
    /// @param channelID The concluded channel.
    /// @param parts The participants, in channel order; each one's `ethAddress` owns its
    /// holding (`ccAddress` is not used on this chain).
    /// @param newBals Each participant's payout in this asset, sub-channels folded in.
    function setOutcome(
        bytes32 channelID,
        Channel.Participant[] calldata parts,
        uint256[] calldata newBals
    ) external {
        require(msg.sender == adjudicator, "only the adjudicator sets outcomes");
        require(parts.length == newBals.length, "one payout per participant");
        require(!settled[channelID], "outcome already set");

        bytes32[] memory ids = new bytes32[](parts.length);
        // A deposit made to the channel id itself (as Perun allows) funds the whole channel.
        uint256 held = holdings[channelID];
        uint256 owed;
        for (uint256 i = 0; i < parts.length; ++i) {
            ids[i] = Channel.fundingID(channelID, parts[i].ethAddress);
            // A participant listed twice has one holding: count it once.
            if (!seenBefore(ids, i)) {
                held += holdings[ids[i]];
            }
            owed += newBals[i];
        }
        if (owed <= held) {
            holdings[channelID] = 0;
            for (uint256 i = 0; i < ids.length; ++i) {
                holdings[ids[i]] = 0;
            }
            for (uint256 i = 0; i < ids.length; ++i) {
                holdings[ids[i]] += newBals[i];
            }
        }
        settled[channelID] = true;
        emit OutcomeSet(channelID);
    }

    /// @notice Pays `authorization.amount` of the participant's holding in a concluded channel
    /// to `authorization.receiver`. Each authorisation is accepted once: to withdraw in parts,
    /// sign one authorisation per part (they differ in amount or receiver).
    /// @param authorization What to pay, from whose holding, to whom.
    /// @param signature The participant's signature (65 bytes, eth_sign style) on
    /// keccak256(abi.encode(authorization)).
    function withdraw(WithdrawalAuth calldata authorization, bytes calldata signature) external {
        require(settled[authorization.channelID], "channel not concluded");
        bytes32 authHash = keccak256(abi.encode(authorization));
        require(
            Channel.isSignedBy(
                Channel.ethSignedDigest(authHash), signature, authorization.participant.ethAddress
            ),
            "not signed by the participant"
        );
        require(!spentAuthorisations[authHash], "authorisation already used");
        bytes32 id = Channel.fundingID(authorization.channelID, authorization.participant.ethAddress);
        uint256 holding = holdings[id];
        require(holding >= authorization.amount, "holding too small");

        spentAuthorisations[authHash] = true;
        holdings[id] = holding - authorization.amount;
        emit Withdrawn(id, authorization.amount, authorization.receiver);
        push(authorization.receiver, authorization.amount);
    }

    /// @dev Takes `amount` of the asset from the depositor (msg.sender); reverts if it cannot.
    function pull(uint256 amount) internal virtual;

    /// @dev Pays `amount` of the asset to `receiver`; reverts if it cannot.
    function push(address receiver, uint256 amount) internal virtual;

    /// @dev Whether ids[i] appears among ids[0..i).
    function seenBefore(bytes32[] memory ids, uint256 i) private pure returns (bool) {
        for (uint256 j = 0; j < i; ++j) {
            if (ids[j] == ids[i]) {
                return true;
            }
        }
        return false;
    }
}
