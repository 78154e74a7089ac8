//! The payments' progress on stderr: a bar redrawn in place when stderr is a terminal, else one
//! plain line per tenth done, so logs and CI output never see control characters. Stdout is
//! untouched either way (it carries the report, or the `--json` document).

use crate::lab::demo::Meter;
use crate::lab::figures::per_second;
use std::io::Write;
use std::time::Duration;

/// Moves to the start of the line and erases it.
const CLEAR_LINE: &str = "\r\x1b[2K";

/// The bar's width in characters.
const WIDTH: usize = 30;

/// Draws progress to `out`.
pub struct Progress<W: Write> {
    out: W,
    terminal: bool,
    total: u64,
    /// Tenths reported so far (plain mode).
    tenths: u64,
    /// Whether a bar is on screen, to be erased.
    drawn: bool,
}

impl Progress<std::io::Stderr> {
    /// Progress towards `total` on stderr, as a bar if it is a terminal.
    pub fn stderr(total: u64) -> Self {
        use std::io::IsTerminal;
        let err = std::io::stderr();
        let terminal = err.is_terminal();
        Progress::new(err, terminal, total)
    }
}

impl<W: Write> Progress<W> {
    /// Progress towards `total` on `out`; `terminal` chooses the bar over plain lines.
    pub fn new(out: W, terminal: bool, total: u64) -> Self {
        Progress {
            out,
            terminal,
            total,
            tenths: 0,
            drawn: false,
        }
    }

    /// Shows that `done` of the total are done after `elapsed`. Output errors only lose a
    /// frame; the payments go on.
    pub fn update(&mut self, done: u64, elapsed: Duration) {
        let rate = per_second(done, elapsed);
        if self.terminal {
            let _ = write!(self.out, "{CLEAR_LINE}{}", bar(done, self.total, rate));
            self.drawn = true;
        } else {
            let now = tenths(done, self.total);
            if now > self.tenths {
                self.tenths = now;
                let _ = writeln!(
                    self.out,
                    "payments: {}% ({done}/{}), {rate:.0} updates/s",
                    now * 10,
                    self.total
                );
            }
        }
        let _ = self.out.flush();
    }

    /// Erases the bar, if one is drawn.
    pub fn clear(&mut self) {
        if self.drawn {
            let _ = write!(self.out, "{CLEAR_LINE}");
            let _ = self.out.flush();
            self.drawn = false;
        }
    }
}

impl<W: Write> Meter for Progress<W> {
    fn update(&mut self, done: u64, elapsed: Duration) {
        Progress::update(self, done, elapsed);
    }
}

impl<W: Write> Drop for Progress<W> {
    /// The bar goes when the payments end; an interrupted demo leaves no half bar under its
    /// last message.
    fn drop(&mut self) {
        self.clear();
    }
}

/// Whole tenths of `total` that `done` reached.
fn tenths(done: u64, total: u64) -> u64 {
    (done.min(total) * 10).checked_div(total).unwrap_or(10)
}

/// `[#########---------------------]  600/2000  30%  1480 updates/s`.
fn bar(done: u64, total: u64, rate: f64) -> String {
    let done = done.min(total);
    let filled = if total == 0 {
        WIDTH
    } else {
        (done as u128 * WIDTH as u128 / total as u128) as usize
    };
    let percent = (done * 100).checked_div(total).unwrap_or(100);
    format!(
        "[{}{}] {done:>w$}/{total}  {percent:>3}%  {rate:.0} updates/s",
        "#".repeat(filled),
        "-".repeat(WIDTH - filled),
        w = total.to_string().len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bar_fills_in_proportion() {
        assert_eq!(
            bar(0, 2000, 0.0),
            format!("[{}]    0/2000    0%  0 updates/s", "-".repeat(30))
        );
        assert_eq!(
            bar(600, 2000, 1480.4),
            format!(
                "[{}{}]  600/2000   30%  1480 updates/s",
                "#".repeat(9),
                "-".repeat(21)
            )
        );
        assert!(bar(2000, 2000, 1.0).starts_with(&format!("[{}]", "#".repeat(30))));
        // More than the total (never expected) does not overflow the bar.
        assert!(bar(2500, 2000, 1.0).contains("2000/2000  100%"));
    }

    #[test]
    fn plain_output_is_one_line_per_tenth() {
        let mut out = Vec::new();
        {
            let mut progress = Progress::new(&mut out, false, 200);
            for done in [5, 19, 20, 21, 45, 199, 200, 200] {
                progress.update(done, Duration::from_secs(1));
            }
        }
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            [
                "payments: 10% (20/200), 20 updates/s",
                "payments: 20% (45/200), 45 updates/s",
                "payments: 90% (199/200), 199 updates/s",
                "payments: 100% (200/200), 200 updates/s",
            ]
        );
        assert!(!text.contains('\x1b'));
    }

    #[test]
    fn the_terminal_bar_is_redrawn_in_place_and_erased() {
        let mut out = Vec::new();
        {
            let mut progress = Progress::new(&mut out, true, 10);
            progress.update(5, Duration::from_secs(1));
        }
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with(CLEAR_LINE), "{text:?}");
        assert!(text.contains("5/10   50%"), "{text:?}");
        assert!(text.ends_with(CLEAR_LINE), "{text:?}");
        assert!(!text.contains('\n'));
    }
}
