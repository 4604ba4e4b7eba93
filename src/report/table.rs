//! Tidy CSV tables: one header row, then one observation per row, cells mixing text and
//! numbers. Tables are built in memory and written with [`crate::report::write_atomic`],
//! and can be read back (for `--replot`).
//!
//! Numbers are written so that they read back exactly: integers as integers, floats in
//! Rust's shortest round-trip form that always marks them as floats (`1.0`, `2.5e-7`,
//! `NaN`, `inf`, `-inf`).

use crate::error::{Error, Result};
use std::path::Path;

/// One CSV cell.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    /// Text.
    Str(String),
    /// An integer (counts, seeds, epochs).
    Int(i64),
    /// A floating-point number, possibly NaN or infinite.
    Num(f64),
}

impl Cell {
    /// The cell as an `f64`: numbers as they are, text parsed if it is a number.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Cell::Num(v) => Some(*v),
            Cell::Int(i) => Some(*i as f64),
            Cell::Str(s) => s.trim().parse().ok(),
        }
    }

    /// The cell as an `i64`: integers, floats with no fractional part, or integer text.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Cell::Int(i) => Some(*i),
            Cell::Num(v) if v.fract() == 0.0 && v.abs() < 9.0e15 => Some(*v as i64),
            Cell::Num(_) => None,
            Cell::Str(s) => s.trim().parse().ok(),
        }
    }

    /// The text the cell is written as in the CSV file.
    pub fn to_field(&self) -> String {
        match self {
            Cell::Str(s) => s.clone(),
            Cell::Int(i) => i.to_string(),
            Cell::Num(v) => format_f64(*v),
        }
    }

    /// Parse a CSV field: an integer if it parses as `i64`, else a float if it parses as
    /// `f64` (including `NaN`, `inf`), else text.
    pub fn parse(field: &str) -> Cell {
        if let Ok(i) = field.parse::<i64>() {
            Cell::Int(i)
        } else if let Ok(v) = field.parse::<f64>() {
            Cell::Num(v)
        } else {
            Cell::Str(field.to_string())
        }
    }
}

/// Format a float so that it parses back to the same bits and never looks like an
/// integer: `1.0`, `0.1`, `2.5e-7`, `NaN`, `inf`, `-inf`.
pub fn format_f64(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_string()
    } else if v.is_infinite() {
        if v > 0.0 { "inf" } else { "-inf" }.to_string()
    } else {
        format!("{v:?}")
    }
}

impl std::fmt::Display for Cell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_field())
    }
}

/// `impl From<$t> for Cell` for each listed type: the value, named `$v`, becomes the
/// cell `$cell`.
macro_rules! cell_from {
    ($($t:ty => |$v:ident| $cell:expr),* $(,)?) => {$(
        impl From<$t> for Cell {
            fn from($v: $t) -> Self {
                $cell
            }
        }
    )*};
}
cell_from! {
    &str => |s| Cell::Str(s.to_string()),
    String => |s| Cell::Str(s),
    &String => |s| Cell::Str(s.clone()),
    f64 => |v| Cell::Num(v),
    f32 => |v| Cell::Num(v as f64),
    bool => |v| Cell::Str(v.to_string()),
}
/// `From` for each listed integer type: the cell `Cell::Int(v as i64)`.
macro_rules! int_cell {
    ($($t:ty),*) => {
        cell_from!($($t => |v| Cell::Int(v as i64)),*);
    };
}
int_cell!(i8, i16, i32, i64, u8, u16, u32, u64, usize, isize);

/// Build a `Vec<Cell>` from values of mixed types, each converted with `Cell::from`.
///
/// ```
/// use nrnn::report::table::Cell;
/// let row = nrnn::table_row!["sde", 3, 0.25];
/// assert_eq!(row, vec![Cell::Str("sde".into()), Cell::Int(3), Cell::Num(0.25)]);
/// ```
#[macro_export]
macro_rules! table_row {
    ($($v:expr),* $(,)?) => {
        vec![$($crate::report::table::Cell::from($v)),*]
    };
}

/// A tidy table: a header and rows of the same length.
///
/// ```
/// use nrnn::report::table::Table;
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("t.csv");
/// let mut t = Table::new(&["method", "seed", "accuracy"]);
/// t.push(nrnn::table_row!["noisy", 0, 0.975]).unwrap();
/// t.push(nrnn::table_row!["deterministic", 0, 0.961]).unwrap();
/// t.write(&path).unwrap();
/// let back = Table::read(&path).unwrap();
/// assert_eq!(back, t);
/// assert_eq!(back.column_f64("accuracy").unwrap(), vec![0.975, 0.961]);
/// ```
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Table {
    /// Column names.
    pub header: Vec<String>,
    /// Rows; each has `header.len()` cells.
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    /// An empty table with the given column names.
    pub fn new(header: &[&str]) -> Self {
        Table {
            header: header.iter().map(|s| s.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    /// A table of numeric columns of equal length, e.g. `[("x", &xs), ("y", &ys)]`.
    pub fn from_columns(columns: &[(&str, &[f64])]) -> Result<Self> {
        let n = columns.first().map_or(0, |c| c.1.len());
        for (name, col) in columns {
            if col.len() != n {
                return Err(Error::param(
                    &format!("column `{name}` length"),
                    col.len(),
                    &format!("{n}, the length of the first column"),
                ));
            }
        }
        let mut t = Table::new(&columns.iter().map(|c| c.0).collect::<Vec<_>>());
        for i in 0..n {
            t.rows
                .push(columns.iter().map(|c| Cell::Num(c.1[i])).collect());
        }
        Ok(t)
    }

    /// The numeric columns `names`, in order ([`Table::column_f64`] of each).
    pub fn columns_f64<const N: usize>(&self, names: [&str; N]) -> Result<[Vec<f64>; N]> {
        let mut out: [Vec<f64>; N] = std::array::from_fn(|_| Vec::new());
        for (o, name) in out.iter_mut().zip(names) {
            *o = self.column_f64(name)?;
        }
        Ok(out)
    }

    /// A table of the given column names and rows (the first error among the rows is
    /// returned, as is a row of the wrong length).
    pub fn from_rows(
        header: &[&str],
        rows: impl IntoIterator<Item = Result<Vec<Cell>>>,
    ) -> Result<Self> {
        let mut t = Table::new(header);
        for r in rows {
            t.push(r?)?;
        }
        Ok(t)
    }

    /// Append a row; its length must match the header.
    pub fn push(&mut self, row: Vec<Cell>) -> Result<()> {
        if row.len() != self.header.len() {
            return Err(Error::param(
                "table row length",
                row.len(),
                &format!(
                    "{} cells, one per column {:?}",
                    self.header.len(),
                    self.header
                ),
            ));
        }
        self.rows.push(row);
        Ok(())
    }

    /// Number of data rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True when the table has no data rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Index of the column called `name`.
    pub fn column_index(&self, name: &str) -> Result<usize> {
        self.header
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| Error::param("column", name, &format!("one of {:?}", self.header)))
    }

    /// The cells of column `name`.
    pub fn column(&self, name: &str) -> Result<Vec<&Cell>> {
        let j = self.column_index(name)?;
        Ok(self.rows.iter().map(|r| &r[j]).collect())
    }

    /// Column `name` as numbers; an error names the first cell that is not a number.
    pub fn column_f64(&self, name: &str) -> Result<Vec<f64>> {
        let j = self.column_index(name)?;
        self.rows
            .iter()
            .enumerate()
            .map(|(i, r)| {
                r[j].as_f64().ok_or_else(|| {
                    Error::param(&format!("column `{name}`, row {i}"), &r[j], "a number")
                })
            })
            .collect()
    }

    /// Column `name` as text (numbers formatted as in the file).
    pub fn column_str(&self, name: &str) -> Result<Vec<String>> {
        Ok(self.column(name)?.into_iter().map(Cell::to_field).collect())
    }

    /// The rows whose cell in column `name` is written as `value` (e.g. one method's rows).
    pub fn filter_eq(&self, name: &str, value: &str) -> Result<Table> {
        let j = self.column_index(name)?;
        Ok(Table {
            header: self.header.clone(),
            rows: self
                .rows
                .iter()
                .filter(|r| r[j].to_field() == value)
                .cloned()
                .collect(),
        })
    }

    /// The distinct values of column `name`, as text, in order of first appearance.
    pub fn distinct(&self, name: &str) -> Result<Vec<String>> {
        let mut out: Vec<String> = Vec::new();
        for v in self.column_str(name)? {
            if !out.contains(&v) {
                out.push(v);
            }
        }
        Ok(out)
    }

    /// The table as CSV text (header line first, `\n` line ends).
    pub fn to_csv_bytes(&self) -> Result<Vec<u8>> {
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::Any(b'\n'))
            .from_writer(Vec::new());
        let err = |e: csv::Error| Error::Other(format!("csv: {e}"));
        w.write_record(&self.header).map_err(err)?;
        for (i, row) in self.rows.iter().enumerate() {
            if row.len() != self.header.len() {
                return Err(Error::param(
                    &format!("table row {i} length"),
                    row.len(),
                    &format!("{}", self.header.len()),
                ));
            }
            w.write_record(row.iter().map(Cell::to_field))
                .map_err(err)?;
        }
        w.into_inner()
            .map_err(|e| Error::Other(format!("csv: {}", e.error())))
    }

    /// Write the table atomically to `path` (parent directories are created).
    pub fn write(&self, path: &Path) -> Result<()> {
        crate::io::write_atomic(path, &self.to_csv_bytes()?)
    }

    /// Parse CSV text with a header line. Cell types are inferred per cell (see
    /// [`Cell::parse`]).
    pub fn from_csv_bytes(bytes: &[u8], origin: &str) -> Result<Table> {
        let fmt = |message: String| Error::Format {
            path: origin.to_string(),
            message,
        };
        let mut r = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(false)
            .from_reader(bytes);
        let header: Vec<String> = r
            .headers()
            .map_err(|e| fmt(e.to_string()))?
            .iter()
            .map(str::to_string)
            .collect();
        let mut rows = Vec::new();
        for rec in r.records() {
            let rec = rec.map_err(|e| fmt(e.to_string()))?;
            rows.push(rec.iter().map(Cell::parse).collect());
        }
        Ok(Table { header, rows })
    }

    /// Read a CSV file written by [`Table::write`] (or any CSV with a header line).
    pub fn read(path: &Path) -> Result<Table> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Self::from_csv_bytes(&bytes, &path.display().to_string())
    }
}
