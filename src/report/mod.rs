//! Reports: CSV tables, JSON manifests, plots and the figure index. The atomic file writes
//! they share live in [`crate::io`] (re-exported here under their old paths).

pub mod fonts;
pub mod index;
pub mod manifest;
pub mod plot;
pub mod png;
pub mod table;

pub use crate::io::{create_dir_all, write_atomic, write_json_atomic, STALE_TEMP, TEMP_INFIX};
