//! The one table writer of the readable outputs: columns padded over the rows shown (not the
//! whole cluster), fitted to the terminal width by wrapping the widest cells, and coloured cells.
//! Without a width (stdout not a terminal) nothing wraps, so pipes and snapshots are stable.
//! Widths count characters: Kubernetes names and ports are ASCII.

use super::terminal;
use anstyle::Style;
use std::borrow::Cow;
use std::io::{self, Write};

/// Spaces between columns.
const GAP: usize = 2;
/// Left-aligned columns are not narrowed below this (or their natural width, if smaller) to fit
/// a terminal; right-aligned ones (numbers) are never narrowed.
const MIN_WIDTH: usize = 16;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

/// A column: its header and how its cells line up.
#[derive(Clone, Copy, Debug)]
pub struct Column<'a> {
    pub header: &'a str,
    pub align: Align,
}

impl<'a> Column<'a> {
    pub fn left(header: &'a str) -> Column<'a> {
        Column { header, align: Align::Left }
    }

    pub fn right(header: &'a str) -> Column<'a> {
        Column { header, align: Align::Right }
    }
}

/// A cell's text and the style it is painted in when colour is on.
#[derive(Clone, Debug)]
pub struct Cell<'a> {
    text: Cow<'a, str>,
    style: Style,
}

impl<'a> Cell<'a> {
    pub fn styled(text: impl Into<Cow<'a, str>>, style: Style) -> Cell<'a> {
        Cell { text: text.into(), style }
    }
}

impl<'a> From<&'a str> for Cell<'a> {
    fn from(text: &'a str) -> Cell<'a> {
        Cell { text: Cow::Borrowed(text), style: Style::new() }
    }
}

impl From<String> for Cell<'_> {
    fn from(text: String) -> Self {
        Cell { text: Cow::Owned(text), style: Style::new() }
    }
}

/// The widths a table's columns get, decided before any row is written. Streaming outputs (a
/// cluster's connections) build one from widths they computed over the rows they will show.
#[derive(Clone, Debug)]
pub struct Layout {
    indent: usize,
    aligns: Vec<Align>,
    widths: Vec<usize>,
    /// Whether cells longer than their column wrap (only with a terminal width).
    wrap: bool,
}

impl Layout {
    /// `natural`: per column, the widest cell of the rows shown (headers are counted here).
    /// With `max_width`, the widest columns are narrowed until the table fits (a table that
    /// cannot fit overflows), and a left-aligned last column gets whatever width is left.
    pub fn fit(columns: &[Column], natural: &[usize], indent: usize, max_width: Option<usize>) -> Layout {
        let mut widths: Vec<usize> =
            columns.iter().zip(natural).map(|(c, &n)| n.max(c.header.chars().count())).collect();
        if let Some(max) = max_width {
            let total = |w: &[usize]| indent + w.iter().sum::<usize>() + GAP * w.len().saturating_sub(1);
            let floors: Vec<usize> = columns
                .iter()
                .zip(&widths)
                .map(|(c, &w)| if c.align == Align::Right { w } else { w.min(MIN_WIDTH) })
                .collect();
            while total(&widths) > max {
                let widest = (0..widths.len()).filter(|&i| widths[i] > floors[i]).max_by_key(|&i| (widths[i], i));
                let Some(i) = widest else { break };
                widths[i] -= 1;
            }
            if let Some(last) = widths.len().checked_sub(1).filter(|&l| columns[l].align == Align::Left) {
                let used = total(&widths) - widths[last];
                widths[last] = widths[last].max(max.saturating_sub(used));
            }
        }
        Layout { indent, aligns: columns.iter().map(|c| c.align).collect(), widths, wrap: max_width.is_some() }
    }

    /// The header row, bold when colour is on.
    pub fn write_header(&self, columns: &[Column], out: &mut dyn Write) -> io::Result<()> {
        let cells: Vec<Cell> = columns.iter().map(|c| Cell::styled(c.header, terminal::styles::HEADER)).collect();
        self.write_row(&cells, out)
    }

    /// One row; with wrapping, a cell wider than its column continues on the next lines.
    /// Written piece by piece (no line is built): connection lists have millions of rows.
    pub fn write_row(&self, cells: &[Cell], out: &mut dyn Write) -> io::Result<()> {
        let fits = !self.wrap || cells.iter().zip(&self.widths).all(|(c, &w)| c.text.chars().count() <= w);
        if fits {
            let texts: Vec<&str> = cells.iter().map(|c| c.text.as_ref()).collect();
            return self.write_line(cells, &texts, out);
        }
        let lines: Vec<Vec<String>> = cells.iter().zip(&self.widths).map(|(c, &w)| wrap(&c.text, w)).collect();
        for k in 0..lines.iter().map(Vec::len).max().unwrap_or(1) {
            let texts: Vec<&str> = lines.iter().map(|l| l.get(k).map_or("", String::as_str)).collect();
            self.write_line(cells, &texts, out)?;
        }
        Ok(())
    }

    /// One printed line: `texts[i]` in cell `i`'s style, padded to its column; nothing after
    /// the last non-empty cell, so no line ends in spaces.
    fn write_line(&self, cells: &[Cell], texts: &[&str], out: &mut dyn Write) -> io::Result<()> {
        let Some(last) = texts.iter().rposition(|t| !t.is_empty()) else { return writeln!(out) };
        write!(out, "{:indent$}", "", indent = self.indent)?;
        for i in 0..=last {
            let pad = self.widths[i].saturating_sub(texts[i].chars().count());
            let (before, after) = match self.aligns[i] {
                Align::Right => (pad, 0),
                Align::Left if i == last => (0, 0),
                Align::Left => (0, pad),
            };
            write!(out, "{:before$}", "")?;
            if terminal::colour() && cells[i].style != Style::new() {
                let style = cells[i].style;
                write!(out, "{style}{}{style:#}", texts[i])?;
            } else {
                out.write_all(texts[i].as_bytes())?;
            }
            write!(out, "{:after$}", "")?;
            if i != last {
                write!(out, "{:GAP$}", "")?;
            }
        }
        writeln!(out)
    }
}

/// A table held whole, for outputs with few rows (namespaces, findings): widths come from the
/// rows themselves.
pub struct Table<'a> {
    columns: Vec<Column<'a>>,
    rows: Vec<Vec<Cell<'a>>>,
    indent: usize,
}

impl<'a> Table<'a> {
    pub fn new(columns: Vec<Column<'a>>) -> Table<'a> {
        Table { columns, rows: Vec::new(), indent: 0 }
    }

    /// Spaces before every line.
    pub fn indent(mut self, indent: usize) -> Table<'a> {
        self.indent = indent;
        self
    }

    pub fn row(&mut self, cells: impl IntoIterator<Item = impl Into<Cell<'a>>>) {
        self.rows.push(cells.into_iter().map(Into::into).collect());
    }

    /// Writes the header and the rows, fitted to the terminal width when there is one.
    pub fn write(&self, out: &mut dyn Write) -> io::Result<()> {
        let natural: Vec<usize> = (0..self.columns.len())
            .map(|i| self.rows.iter().filter_map(|r| r.get(i)).map(|c| c.text.chars().count()).max().unwrap_or(0))
            .collect();
        let layout = Layout::fit(&self.columns, &natural, self.indent, terminal::width());
        layout.write_header(&self.columns, out)?;
        for row in &self.rows {
            layout.write_row(row, out)?;
        }
        Ok(())
    }
}

/// `text` in lines of at most `width` characters, broken after spaces, commas or slashes where
/// possible and inside a word only when it is longer than the line.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut line_len = 0;
    for piece in pieces(text) {
        let len = piece.chars().count();
        if line_len + len > width && line_len > 0 {
            lines.push(std::mem::take(&mut line).trim_end().to_string());
            line_len = 0;
        }
        let piece = if line_len == 0 { piece.trim_start() } else { piece };
        for ch in piece.chars() {
            if line_len == width {
                lines.push(std::mem::take(&mut line));
                line_len = 0;
            }
            line.push(ch);
            line_len += 1;
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line.trim_end().to_string());
    }
    lines
}

/// `text` cut after each space, comma or slash (the pieces keep them).
fn pieces(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let end = rest.find([' ', ',', '/']).map_or(rest.len(), |i| i + 1);
        let (piece, tail) = rest.split_at(end);
        rest = tail;
        Some(piece)
    })
}

/// A paragraph wrapped to the terminal width after `indent` spaces (the first line too), or
/// written as one line when there is no width.
pub fn write_wrapped(indent: usize, text: &str, out: &mut dyn Write) -> io::Result<()> {
    let pad = " ".repeat(indent);
    match terminal::width() {
        Some(width) => {
            for line in wrap(text, width.saturating_sub(indent).max(MIN_WIDTH)) {
                writeln!(out, "{pad}{line}")?;
            }
            Ok(())
        }
        None => writeln!(out, "{pad}{text}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(layout: &Layout, columns: &[Column], rows: &[[&str; 3]]) -> String {
        let mut out = Vec::new();
        layout.write_header(columns, &mut out).unwrap();
        for r in rows {
            layout.write_row(&r.map(Cell::from), &mut out).unwrap();
        }
        String::from_utf8(out).unwrap()
    }

    const COLUMNS: [Column; 3] = [
        Column { header: "NAME", align: Align::Left },
        Column { header: "N", align: Align::Right },
        Column { header: "NOTE", align: Align::Left },
    ];

    #[test]
    fn without_a_width_columns_are_padded_to_their_widest_cell_and_nothing_wraps() {
        let rows = [["a", "1", "short"], ["shop/frontend", "100", "a rather long note that would wrap"]];
        let layout = Layout::fit(&COLUMNS, &[13, 3, 34], 0, None);
        assert_eq!(
            written(&layout, &COLUMNS, &rows),
            "NAME             N  NOTE\na                1  short\nshop/frontend  100  a rather long note that would wrap\n"
        );
    }

    #[test]
    fn a_narrow_terminal_narrows_the_widest_column_and_wraps_its_cells() {
        let rows = [["shop/frontend", "100", "a rather long note that would wrap"]];
        let layout = Layout::fit(&COLUMNS, &[13, 3, 34], 0, Some(40));
        let text = written(&layout, &COLUMNS, &rows);
        assert!(text.lines().all(|l| l.chars().count() <= 40), "{text}");
        assert_eq!(
            text,
            "NAME             N  NOTE\nshop/frontend  100  a rather long note\n                    that would wrap\n"
        );
    }

    #[test]
    fn wrap_breaks_after_spaces_commas_and_slashes_and_inside_overlong_words() {
        assert_eq!(wrap("TCP 80, TCP 443", 8), ["TCP 80,", "TCP 443"]);
        assert_eq!(wrap("shop/frontend-abcdef", 6), ["shop/", "fronte", "nd-abc", "def"]);
        assert_eq!(wrap("", 5), [""]);
    }

    #[test]
    fn columns_never_shrink_below_their_floor_and_numbers_never_shrink() {
        let layout = Layout::fit(&COLUMNS, &[30, 300, 30], 0, Some(10));
        assert_eq!(layout.widths, [MIN_WIDTH, 300, MIN_WIDTH]);
    }
}
