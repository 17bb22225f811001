//! The `flowprobe` binary: parse the command line and hand over to the
//! library.

use clap::Parser;

fn main() -> std::process::ExitCode {
    flowprobe::cli::main(flowprobe::cli::Cli::parse())
}
