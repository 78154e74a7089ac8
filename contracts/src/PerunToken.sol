// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "./IERC20.sol";

/// @title PerunToken: a minimal ERC20 token for tests and local chains
/// @notice Every account given to the constructor starts with the same balance; nothing is
/// minted later. An allowance of type(uint256).max is never spent down (unlimited approval).
contract PerunToken is IERC20 {
    /// @notice The token's name.
    string public constant name = "PerunToken";
    /// @notice The token's symbol.
    string public constant symbol = "PRN";
    /// @notice Balances are in units of 10^-18 tokens.
    uint8 public constant decimals = 18;

    /// @inheritdoc IERC20
    uint256 public totalSupply;
    /// @inheritdoc IERC20
    mapping(address => uint256) public balanceOf;
    /// @inheritdoc IERC20
    mapping(address => mapping(address => uint256)) public allowance;

    /// @param accounts Who starts with tokens.
    /// @param initBalance How many tokens each of them starts with.
    constructor(address[] memory accounts, uint256 initBalance) {
        for (uint256 i = 0; i < accounts.length; ++i) {
            balanceOf[accounts[i]] += initBalance;
            totalSupply += initBalance;
            emit Transfer(address(0), accounts[i], initBalance);
        }
    }

    /// @inheritdoc IERC20
    function transfer(address to, uint256 value) external returns (bool) {
        move(msg.sender, to, value);
        return true;
    }

    /// @inheritdoc IERC20
    function approve(address spender, uint256 value) external returns (bool) {
        allowance[msg.sender][spender] = value;
        emit Approval(msg.sender, spender, value);
        return true;
    }

    /// @inheritdoc IERC20
    function transferFrom(address from, address to, uint256 value) external returns (bool) {
        uint256 allowed = allowance[from][msg.sender];
        if (allowed != type(uint256).max) {
            require(allowed >= value, "allowance too small");
            allowance[from][msg.sender] = allowed - value;
        }
        move(from, to, value);
        return true;
    }

    /// @dev Moves tokens; burning by sending to the zero address is refused.
    function move(address from, address to, uint256 value) private {
        require(to != address(0), "transfer to the zero address");
        uint256 balance = balanceOf[from];
        require(balance >= value, "balance too small");
        balanceOf[from] = balance - value;
        balanceOf[to] += value;
        emit Transfer(from, to, value);
    }
}
