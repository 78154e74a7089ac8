// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title IERC20: the part of the ERC20 token standard (EIP-20) these contracts use and provide
interface IERC20 {
    /// @notice Emitted when `value` tokens move from `from` to `to` (from zero when minted).
    event Transfer(address indexed from, address indexed to, uint256 value);

    /// @notice Emitted when `owner` allows `spender` to spend `value` of its tokens.
    event Approval(address indexed owner, address indexed spender, uint256 value);

    /// @notice All tokens in existence.
    function totalSupply() external view returns (uint256);

    /// @notice The tokens `owner` has.
    function balanceOf(address owner) external view returns (uint256);

    /// @notice How many of `owner`'s tokens `spender` may still transfer.
    function allowance(address owner, address spender) external view returns (uint256);

    /// @notice Moves `value` of the caller's tokens to `to`.
    function transfer(address to, uint256 value) external returns (bool);

    /// @notice Allows `spender` to transfer up to `value` of the caller's tokens.
    function approve(address spender, uint256 value) external returns (bool);

    /// @notice Moves `value` of `from`'s tokens to `to`, spending the caller's allowance.
    function transferFrom(address from, address to, uint256 value) external returns (bool);
}
