//! CPU time of this process's threads, from Linux's `/proc/self/task/<tid>/schedstat` (the
//! first field is nanoseconds spent running). Read before and after a run, the difference says
//! which threads (tokio workers, the store committer, the transport's runtime, the blocking
//! pool) used the machine. Threads that ended during the run are not counted, so the total is
//! a lower bound; on other systems the figures are simply absent.

use std::collections::BTreeMap;
use std::fs;
use std::time::Duration;

/// CPU time per live thread at one moment.
#[derive(Clone, Debug, Default)]
pub struct ThreadTimes {
    /// Thread id -> (thread name, nanoseconds run).
    threads: BTreeMap<u32, (String, u64)>,
}

impl ThreadTimes {
    /// Reads every thread of this process; empty where `/proc` is not available.
    pub fn now() -> ThreadTimes {
        let mut threads = BTreeMap::new();
        let Ok(entries) = fs::read_dir("/proc/self/task") else {
            return ThreadTimes { threads };
        };
        for entry in entries.flatten() {
            let Some(tid) = entry.file_name().to_str().and_then(|s| s.parse().ok()) else {
                continue;
            };
            let path = entry.path();
            let run = fs::read_to_string(path.join("schedstat"))
                .ok()
                .and_then(|text| text.split_whitespace().next()?.parse().ok());
            let name = fs::read_to_string(path.join("comm")).unwrap_or_default();
            if let Some(run) = run {
                threads.insert(tid, (name.trim().to_string(), run));
            }
        }
        ThreadTimes { threads }
    }

    /// CPU used since `earlier`, per thread name (threads of one name added up), most first.
    pub fn since(&self, earlier: &ThreadTimes) -> CpuUse {
        let mut by_name: BTreeMap<&str, u64> = BTreeMap::new();
        for (tid, (name, run)) in &self.threads {
            let before = earlier.threads.get(tid).map_or(0, |(_, run)| *run);
            *by_name.entry(group_name(name)).or_default() += run.saturating_sub(before);
        }
        let mut groups: Vec<(String, Duration)> = by_name
            .into_iter()
            .filter(|(_, ns)| *ns > 0)
            .map(|(name, ns)| (name.to_string(), Duration::from_nanos(ns)))
            .collect();
        groups.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        CpuUse { groups }
    }
}

/// Threads that differ only by a trailing number (`tokio-runtime-w-3`) are one group.
fn group_name(name: &str) -> &str {
    let trimmed = name.trim_end_matches(|c: char| c.is_ascii_digit());
    let trimmed = trimmed.trim_end_matches(['-', '_', '#', ' ']);
    if trimmed.is_empty() {
        name
    } else {
        trimmed
    }
}

/// CPU used during a run, by thread group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CpuUse {
    /// (thread group, CPU time), most first.
    pub groups: Vec<(String, Duration)>,
}

impl CpuUse {
    /// All groups together.
    pub fn total(&self) -> Duration {
        self.groups.iter().map(|(_, d)| *d).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn times(threads: &[(u32, &str, u64)]) -> ThreadTimes {
        ThreadTimes {
            threads: threads
                .iter()
                .map(|(tid, name, ns)| (*tid, (name.to_string(), *ns)))
                .collect(),
        }
    }

    #[test]
    fn numbered_threads_are_grouped() {
        assert_eq!(group_name("tokio-runtime-w"), "tokio-runtime-w");
        assert_eq!(group_name("worker-12"), "worker");
        assert_eq!(group_name("parley-store-co"), "parley-store-co");
        assert_eq!(group_name("42"), "42");
    }

    #[test]
    fn use_is_the_difference_per_group_and_new_threads_count_from_zero() {
        let before = times(&[(1, "main", 100), (2, "worker-1", 1_000), (3, "worker-2", 0)]);
        let after = times(&[
            (1, "main", 150),
            (2, "worker-1", 3_000),
            (3, "worker-2", 500),
            (4, "commit", 700),
        ]);
        let used = after.since(&before);
        assert_eq!(
            used.groups,
            vec![
                ("worker".to_string(), Duration::from_nanos(2_500)),
                ("commit".to_string(), Duration::from_nanos(700)),
                ("main".to_string(), Duration::from_nanos(50)),
            ]
        );
        assert_eq!(used.total(), Duration::from_nanos(3_250));
    }

    #[test]
    fn this_process_has_at_least_the_current_thread_on_linux() {
        if cfg!(target_os = "linux") {
            assert!(!ThreadTimes::now().threads.is_empty());
        }
    }
}
