//! The `nrnn` command-line program: parses arguments and calls the library.

use clap::Parser;

fn main() {
    let cli = nrnn::cli::Cli::parse();
    if let Err(e) = nrnn::cli::run(cli) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
