//! A progress indicator for calls that wait on the chain (`channel open`, `channel settle`):
//! a spinner with the elapsed seconds on stderr, redrawn in place and erased when the call ends.
//!
//! It is drawn only when stderr is a terminal, so logs and scripts never see control
//! characters; stdout is untouched either way, which keeps `--json` output clean.

use std::future::Future;
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// How often the spinner turns.
const TICK: Duration = Duration::from_millis(120);

/// The spinner's frames: plain ASCII, which every terminal shows.
const FRAMES: [char; 4] = ['|', '/', '-', '\\'];

/// Moves to the start of the line and erases it.
const CLEAR_LINE: &str = "\r\x1b[2K";

/// One frame: `| opening a channel with bob (12s)`, drawn over the previous one.
pub fn frame(label: &str, tick: usize, elapsed: Duration) -> String {
    format!(
        "{CLEAR_LINE}{} {label} ({}s)",
        FRAMES[tick % FRAMES.len()],
        elapsed.as_secs()
    )
}

/// Awaits `future`, showing a spinner labelled `label` on stderr meanwhile if it is a terminal.
pub async fn while_waiting<F: Future>(label: &str, future: F) -> F::Output {
    let stderr = std::io::stderr();
    if stderr.is_terminal() {
        spin(label, future, stderr).await
    } else {
        future.await
    }
}

/// Awaits `future`, drawing frames to `out` until it completes, then erases the line.
async fn spin<F: Future, W: Write>(label: &str, future: F, mut out: W) -> F::Output {
    let start = Instant::now();
    let mut ticker = tokio::time::interval(TICK);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    tokio::pin!(future);
    let mut tick = 0;
    let output = loop {
        tokio::select! {
            // Checked first: a finished call is never delayed by one more frame.
            biased;
            output = &mut future => break output,
            _ = ticker.tick() => {
                // A failed write to the terminal only loses a frame; the call goes on.
                let _ = write!(out, "{}", frame(label, tick, start.elapsed()));
                let _ = out.flush();
                tick += 1;
            }
        }
    };
    let _ = write!(out, "{CLEAR_LINE}");
    let _ = out.flush();
    output
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_turn_and_show_whole_seconds() {
        let first = frame("settling", 0, Duration::from_millis(1900));
        assert_eq!(first, "\r\x1b[2K| settling (1s)");
        assert!(frame("settling", 1, Duration::ZERO).ends_with("/ settling (0s)"));
        assert!(frame("settling", 5, Duration::ZERO).contains("/ settling"));
    }

    #[tokio::test]
    async fn the_spinner_draws_while_waiting_and_erases_itself() {
        let mut out = Vec::new();
        // The sleep is pending at the first poll, and an interval's first tick is immediate,
        // so at least one frame is drawn whatever the machine's speed.
        let value = spin(
            "opening",
            async {
                tokio::time::sleep(Duration::from_millis(30)).await;
                42
            },
            &mut out,
        )
        .await;
        assert_eq!(value, 42);
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("\r\x1b[2K| opening (0s)"), "{text:?}");
        assert!(text.ends_with(CLEAR_LINE), "{text:?}");
    }

    #[tokio::test]
    async fn a_finished_call_draws_nothing() {
        let mut out = Vec::new();
        assert_eq!(spin("opening", async { 7 }, &mut out).await, 7);
        assert_eq!(String::from_utf8(out).unwrap(), CLEAR_LINE);
    }
}
