// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AssetHolder} from "./AssetHolder.sol";
import {IERC20} from "./IERC20.sol";

/// @title AssetHolderERC20: the asset holder for one ERC20 token
/// @notice To deposit, first approve this contract for the amount on the token, then call
/// deposit (without ether): it pulls the tokens with transferFrom. withdraw transfers tokens to
/// the receiver.
contract AssetHolderERC20 is AssetHolder {
    /// @notice The token this holder holds.
    IERC20 public immutable token;

    /// @param adjudicator_ The Adjudicator allowed to set outcomes.
    /// @param token_ The ERC20 token contract.
    constructor(address adjudicator_, address token_) AssetHolder(adjudicator_) {
        require(token_.code.length > 0, "token is not a contract");
        token = IERC20(token_);
    }

    /// @dev Pulls the tokens the depositor approved.
    function pull(uint256 amount) internal override {
        require(msg.value == 0, "no ether for a token deposit");
        callToken(abi.encodeCall(IERC20.transferFrom, (msg.sender, address(this), amount)));
    }

    /// @dev Transfers the tokens to the receiver.
    function push(address receiver, uint256 amount) internal override {
        callToken(abi.encodeCall(IERC20.transfer, (receiver, amount)));
    }

    /// @dev Calls the token and reverts unless it succeeded and returned true or nothing (some
    /// deployed tokens return no value).
    function callToken(bytes memory data) private {
        (bool ok, bytes memory result) = address(token).call(data);
        require(ok && (result.length == 0 || abi.decode(result, (bool))), "token transfer failed");
    }
}
