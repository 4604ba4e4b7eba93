//! The `nrnn` command-line program: parses arguments and calls the library.
//!
//! Exit status: 0 on success, 1 on an error (printed as `error: ...` on standard error,
//! each cause once). When the reader of standard output goes away (`nrnn ... | head -1`)
//! the program stops and exits with 0 quietly, like a command whose output was cut short
//! on purpose (see [`nrnn::cli::StdoutClosed`]).

use clap::Parser;
use std::io::Write;

/// The allocator: mimalloc keeps freed large blocks for reuse, where the system allocator
/// returns every block above 32 MB to the kernel on free. A training step frees and
/// reallocates its tape (hundreds of MB at the paper's shape) every step; with the system
/// allocator each step faulted its tape in afresh (most of a run's system time).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay` (position 15 of `mi_option_e` in mimalloc 2's
/// `mimalloc.h`; the Rust bindings do not name it).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Keep freed memory committed instead of returning it to the kernel 10 ms after a free
/// (mimalloc's default): a training step frees its tape and allocates it again within the
/// next step, and each purge would fault it in afresh. The resident set stays at the peak
/// of the run.
fn keep_freed_memory() {
    // SAFETY: sets one global option of the allocator before any thread is started.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
}

fn main() {
    keep_freed_memory();
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
