//! One child process of a lab (a `parley run`), owned so that it cannot outlive the lab:
//! stopped politely (SIGTERM, a grace period, then SIGKILL) on the normal path, and killed
//! outright when the owner is dropped on any other path (an error, a panic, Ctrl-C).

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// How often a waiting loop looks at whether the child has exited.
const POLL: Duration = Duration::from_millis(20);

/// A child process with its output going to a log file.
#[derive(Debug)]
pub struct ChildProcess {
    name: &'static str,
    log: PathBuf,
    child: Child,
    /// Set once the child has been reaped; from then on its pid may belong to someone else,
    /// so nothing is ever signalled again.
    exit: Option<ExitStatus>,
}

/// How a child ended when asked to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// It had exited before it was asked.
    Already(ExitStatus),
    /// It exited after SIGTERM within the grace period.
    Terminated(ExitStatus),
    /// It ignored SIGTERM for the whole grace period and was killed.
    Killed,
}

impl ChildProcess {
    /// Starts `command` with stdin closed and stdout and stderr appended to `log`.
    pub fn spawn(name: &'static str, mut command: Command, log: &Path) -> io::Result<ChildProcess> {
        let file = File::create(log)?;
        command
            .stdin(Stdio::null())
            .stdout(Stdio::from(file.try_clone()?))
            .stderr(Stdio::from(file));
        let child = command.spawn()?;
        Ok(ChildProcess {
            name,
            log: log.to_path_buf(),
            child,
            exit: None,
        })
    }

    /// The name the lab gives this process (`alice`).
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The log file.
    pub fn log(&self) -> &Path {
        &self.log
    }

    /// The exit status if the child has exited (reaping it), `None` while it runs.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        if self.exit.is_none() {
            // An error here means there is no such child any more (it was reaped elsewhere);
            // treat it as running, the later kill then fails harmlessly.
            self.exit = self.child.try_wait().ok().flatten();
        }
        self.exit
    }

    /// Sends SIGTERM (the node's clean shutdown) if the child still runs.
    pub fn terminate(&mut self) {
        if self.exited().is_none() {
            // The child is not reaped, so its pid is still ours to signal. A failure means
            // it exited in between, which is what we wanted.
            let _ = os::send_signal(self.child.id(), os::SIGTERM);
        }
    }

    /// Kills the child with SIGKILL if it still runs, and reaps it.
    pub fn kill(&mut self) {
        if self.exited().is_none() {
            let _ = self.child.kill();
            self.exit = self.child.wait().ok();
        }
    }

    /// Asks the child to stop with SIGTERM and waits up to `grace`; kills it after that.
    pub async fn stop(&mut self, grace: Duration) -> Stopped {
        if let Some(status) = self.exited() {
            return Stopped::Already(status);
        }
        self.terminate();
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if let Some(status) = self.exited() {
                return Stopped::Terminated(status);
            }
            tokio::time::sleep(POLL).await;
        }
        self.kill();
        Stopped::Killed
    }

    /// The last `lines` lines of the log, for error messages.
    pub fn log_tail(&self, lines: usize) -> String {
        tail(&self.log, lines)
    }
}

impl Drop for ChildProcess {
    /// The last resort: whatever path left the lab, the node does not survive it.
    fn drop(&mut self) {
        self.kill();
    }
}

/// `exited with status 3` or `was killed by signal 9`.
pub fn describe_exit(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with status {code}"),
        (None, Some(signal)) => format!("was killed by signal {signal}"),
        (None, None) => format!("ended ({status})"),
    }
}

/// The last `lines` lines of `path` (read from its last 64 KiB), or a note why there are none.
pub fn tail(path: &Path, lines: usize) -> String {
    const WINDOW: u64 = 64 * 1024;
    let read = || -> io::Result<String> {
        let mut file = File::open(path)?;
        let len = file.metadata()?.len();
        file.seek(SeekFrom::Start(len.saturating_sub(WINDOW)))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    };
    match read() {
        Ok(text) if text.trim().is_empty() => "(the log is empty)".to_owned(),
        Ok(text) => {
            let all: Vec<&str> = text.lines().collect();
            all[all.len().saturating_sub(lines)..].join("\n")
        }
        Err(e) => format!("(cannot read {}: {e})", path.display()),
    }
}

/// SIGTERM, which the standard library cannot send (`Child::kill` is SIGKILL only).
mod os {
    use std::io;

    /// SIGTERM's number on Linux and the BSDs.
    pub const SIGTERM: i32 = 15;

    extern "C" {
        /// POSIX `kill(2)`, from the C library the standard library links anyway.
        fn kill(pid: i32, signal: i32) -> i32;
    }

    /// Sends `signal` to the process `pid`.
    pub fn send_signal(pid: u32, signal: i32) -> io::Result<()> {
        let pid = i32::try_from(pid)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "pid out of range"))?;
        // A pid <= 0 would signal a whole process group; a child's pid never is.
        if pid <= 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a child pid",
            ));
        }
        // SAFETY: kill(2) takes two integers and touches no memory of ours.
        let result = unsafe { kill(pid, signal) };
        if result == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn shell(script: &str) -> Command {
        let mut command = Command::new("sh");
        command.args(["-c", script]);
        command
    }

    async fn wait_exit(child: &mut ChildProcess) -> ExitStatus {
        loop {
            if let Some(status) = child.exited() {
                return status;
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Whether a process with this pid exists (signal 0 checks without signalling).
    fn alive(pid: u32) -> bool {
        os::send_signal(pid, 0).is_ok()
    }

    #[tokio::test]
    async fn sigterm_stops_a_child_that_honours_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut child =
            ChildProcess::spawn("sleeper", shell("exec sleep 60"), &dir.path().join("s.log"))
                .unwrap();
        assert!(child.exited().is_none());
        let stopped = child.stop(Duration::from_secs(30)).await;
        let Stopped::Terminated(status) = stopped else {
            panic!("expected a clean stop, got {stopped:?}")
        };
        assert_eq!(describe_exit(status), "was killed by signal 15");
    }

    #[tokio::test]
    async fn a_child_ignoring_sigterm_is_killed_after_the_grace_period() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("stubborn.log");
        // The child says when its trap is in place, so SIGTERM cannot arrive before it.
        let script = "trap '' TERM; echo ready; while :; do sleep 1; done";
        let mut child = ChildProcess::spawn("stubborn", shell(script), &log).unwrap();
        while !tail(&log, 1).contains("ready") {
            tokio::time::sleep(POLL).await;
        }
        assert_eq!(
            child.stop(Duration::from_millis(200)).await,
            Stopped::Killed
        );
        assert!(child.exited().is_some());
    }

    #[test]
    fn dropping_the_owner_kills_the_child() {
        let dir = tempfile::tempdir().unwrap();
        let child =
            ChildProcess::spawn("sleeper", shell("exec sleep 60"), &dir.path().join("s.log"))
                .unwrap();
        let pid = child.pid();
        assert!(alive(pid));
        drop(child);
        // Reaped by drop: the pid is gone (reuse within these microseconds is not a concern).
        assert!(!alive(pid));
    }

    #[tokio::test]
    async fn an_exit_is_reported_with_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("failing.log");
        let mut child =
            ChildProcess::spawn("failing", shell("echo first; echo boom >&2; exit 3"), &log)
                .unwrap();
        let status = wait_exit(&mut child).await;
        assert_eq!(describe_exit(status), "exited with status 3");
        assert_eq!(child.log_tail(1), "boom");
        assert_eq!(child.log_tail(10), "first\nboom");
        assert_eq!(child.stop(Duration::ZERO).await, Stopped::Already(status));
    }

    #[test]
    fn tail_reads_only_the_end_and_explains_an_empty_or_missing_log() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.log");
        let mut file = File::create(&path).unwrap();
        for i in 0..20_000 {
            writeln!(file, "line {i}").unwrap();
        }
        assert_eq!(tail(&path, 2), "line 19998\nline 19999");
        File::create(&path).unwrap();
        assert_eq!(tail(&path, 2), "(the log is empty)");
        assert!(tail(&dir.path().join("none"), 2).starts_with("(cannot read"));
    }
}
