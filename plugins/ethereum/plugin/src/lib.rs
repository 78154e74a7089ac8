//! # parley-plugin-ethereum
//!
//! The `ethereum` chain plugin, `libparley_ethereum.so`: the [`Ethereum`] backend of the library
//! `parley-ethereum` (plugins/ethereum/, where its configuration is documented) behind the
//! plugin ABI. Nothing else is here: the node links the library itself for `parley eth deploy`,
//! and must not link the plugin's fixed `#[no_mangle]` symbols.

// The library's crate name equals this crate's (the file name node.toml's `plugin = "ethereum"`
// loads), so paths into it are spelled with a leading `::`.
use ::parley_ethereum::Ethereum;

parley_plugin_api::export_plugin! {
    kind: Chain,
    name: "ethereum",
    description: "Ethereum over JSON-RPC (ethers) with the Perun-compatible contracts of contracts/",
    new: Ethereum::new,
}
