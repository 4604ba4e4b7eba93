//! The `nrnn` command-line program: parses arguments and calls the library.
//!
//! Exit status: 0 on success, 1 on an error (printed as `error: ...` on standard error,
//! each cause once). When the reader of standard output goes away (`nrnn ... | head -1`)
//! the program stops and exits with 0 quietly, like a command whose output was cut short
//! on purpose (see [`nrnn::cli::StdoutClosed`]).

use clap::Parser;
use std::io::Write;

fn main() {
    let cli = nrnn::cli::Cli::parse();
    let result = nrnn::cli::run(cli)
        .and_then(|()| std::io::stdout().flush().map_err(nrnn::cli::stdout_error));
    if let Err(e) = result {
        if e.downcast_ref::<nrnn::cli::StdoutClosed>().is_some() {
            std::process::exit(0);
        }
        eprintln!("error: {}", nrnn::error::chain_message(&e));
        std::process::exit(1);
    }
}
