//! Progress on standard error for the commands that can take more than a few seconds
//! (`regularizer`, `hessian`, `margin`, `lyapunov`, `stability`; `train` has its own bar):
//! a bar over the command's phases with the current one named, a spinner and the elapsed
//! time, redrawn while a phase runs. Drawn only when standard error is a terminal:
//! redirected, piped or under the tests it is hidden and writes nothing, so no output
//! changes.

use indicatif::{ProgressBar, ProgressStyle};
use std::time::Duration;

/// How often the spinner of a running phase is redrawn.
const TICK: Duration = Duration::from_millis(150);

/// Whether progress is drawn: standard error is a terminal.
pub fn visible() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal()
}

/// A bar over `phases` named steps of the command `what`; hidden unless [`visible`].
/// Cleared from the terminal when dropped.
pub struct Phases {
    bar: ProgressBar,
}

impl Phases {
    /// A bar for `phases` steps of `what` (for example `"hessian"`).
    ///
    /// ```
    /// // Under the tests standard error is not a terminal: the bar is hidden.
    /// let mut p = nrnn::cli::progress::Phases::new("hessian", 2);
    /// p.phase("Lanczos");
    /// p.phase("trace");
    /// assert!(p.is_hidden() || nrnn::cli::progress::visible());
    /// ```
    pub fn new(what: &str, phases: u64) -> Phases {
        if !visible() {
            return Phases {
                bar: ProgressBar::hidden(),
            };
        }
        let bar = ProgressBar::new(phases);
        if let Ok(style) = ProgressStyle::with_template(
            "{spinner} {prefix} [{bar:20}] {pos}/{len} {msg} ({elapsed})",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_prefix(what.to_string());
        bar.enable_steady_tick(TICK);
        Phases { bar }
    }

    /// Start the next phase, named `name` (the previous one is counted as done).
    pub fn phase(&mut self, name: &str) {
        if self.bar.message().is_empty() {
            self.bar.set_message(name.to_string());
        } else {
            self.bar.inc(1);
            self.bar.set_message(name.to_string());
        }
    }

    /// Whether nothing is drawn.
    pub fn is_hidden(&self) -> bool {
        self.bar.is_hidden()
    }
}

impl Drop for Phases {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}
