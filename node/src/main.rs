//! The `parley` binary; everything lives in the library's `cli` module.

fn main() -> std::process::ExitCode {
    parley_node::cli::main()
}
