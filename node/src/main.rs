//! The `parley` binary; everything lives in the library's `cli` module.

/// The node's allocator. A channel update allocates and frees many small buffers (messages,
/// states, records, events) on several threads at once; with glibc's allocator that was about
/// a tenth of the CPU time of 100 channels paying at once, and mimalloc made the same run about
/// 15% faster (`parley bench channels --scenario concurrent`, ARCHITECTURE.md, #15). Plugins
/// keep their own allocator: everything that crosses the plugin boundary is freed by the side
/// that allocated it (abi_stable's types carry their deallocator).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    parley_node::cli::main()
}
