// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AssetHolder} from "./AssetHolder.sol";

/// @title AssetHolderETH: the asset holder for ether
/// @notice deposit takes the ether sent with the call (msg.value must equal the amount);
/// withdraw sends ether to the receiver.
contract AssetHolderETH is AssetHolder {
    /// @param adjudicator_ The Adjudicator allowed to set outcomes.
    constructor(address adjudicator_) AssetHolder(adjudicator_) {}

    /// @dev The ether comes with the call.
    function pull(uint256 amount) internal view override {
        require(msg.value == amount, "msg.value must equal the amount");
    }

    /// @dev Sends with all remaining gas so that contract wallets can receive; the holding is
    /// already reduced, so a re-entering receiver finds nothing more to take.
    function push(address receiver, uint256 amount) internal override {
        (bool ok,) = payable(receiver).call{value: amount}("");
        require(ok, "ether transfer to the receiver failed");
    }
}
