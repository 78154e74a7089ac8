//! Runs plugin calls that wait (chain transactions, durable commits) off the async runtime, on
//! long-lived threads fed by a channel.
//!
//! tokio's `spawn_blocking` costs 35-80 µs per hop (STACK-NOTES), more than a signature, so the
//! node never puts one per update on the hot path. A `Worker` keeps its threads for the life of
//! the node; a job costs one channel send and one oneshot reply.

use std::sync::mpsc::{channel, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use tokio::sync::oneshot;

type Job = Box<dyn FnOnce() + Send + 'static>;

/// A fixed set of named threads that run blocking jobs in FIFO order.
pub struct Worker {
    jobs: Option<Sender<Job>>,
    threads: Vec<JoinHandle<()>>,
}

/// The worker stopped before the job ran (the node is shutting down).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the worker has stopped")]
pub struct WorkerStopped;

impl Worker {
    /// Starts `threads` threads named `<name>-<i>`.
    pub fn new(name: &str, threads: usize) -> Worker {
        let (jobs, receiver) = channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        let threads = (0..threads.max(1))
            .map(|i| {
                let receiver = Arc::clone(&receiver);
                std::thread::Builder::new()
                    .name(format!("{name}-{i}"))
                    .spawn(move || loop {
                        let job = match receiver.lock() {
                            Ok(receiver) => receiver.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    })
                    .expect("cannot start a worker thread")
            })
            .collect();
        Worker {
            jobs: Some(jobs),
            threads,
        }
    }

    /// Runs `job` on a worker thread and resolves with its result.
    pub async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, WorkerStopped> {
        let (reply, result) = oneshot::channel();
        let jobs = self.jobs.as_ref().ok_or(WorkerStopped)?;
        jobs.send(Box::new(move || {
            let _ = reply.send(job());
        }))
        .map_err(|_| WorkerStopped)?;
        result.await.map_err(|_| WorkerStopped)
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        // Closing the channel lets every thread finish its current job and exit.
        self.jobs.take();
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn runs_jobs_on_named_threads_and_returns_results() {
        let worker = Worker::new("test-worker", 2);
        let name = worker
            .run(|| std::thread::current().name().unwrap_or("").to_string())
            .await
            .unwrap();
        assert!(name.starts_with("test-worker-"), "{name}");
        let mut squares = Vec::new();
        for i in 0..5u64 {
            squares.push(worker.run(move || i * i).await.unwrap());
        }
        assert_eq!(squares, vec![0, 1, 4, 9, 16]);
    }
}
