//! Opening LMDB environments, at most once per directory in this process.
//!
//! LMDB forbids opening one environment twice in a process (closing the second handle would
//! drop the first one's file locks), and heed refuses it. Two store instances configured with the
//! same directory therefore share one [`Environment`] through a process-wide registry keyed by
//! canonical path, provided they ask for the same settings; different settings are a
//! configuration error. Instances on different directories are independent.
//!
//! The registry only sees this copy of the library: loading the plugin twice from two file
//! paths gives each copy its own registry, and pointing both at one directory is unsupported.

use crate::config::Settings;
use crate::error::{io_kind, open_error, path_hint};
use crate::log::CommitLog;
use heed::types::Bytes;
use heed::{CommitOrAbort, Database, Env, EnvFlags, EnvOpenOptions, WithoutTls};
use parley_plugin_api::model::WriteOp;
use parley_plugin_api::{PluginError, PluginResult};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, LazyLock, Mutex, MutexGuard};

/// An open LMDB environment and its one (unnamed) database of raw bytes.
pub struct Environment {
    /// The commit log, when commits go through it (`durable` and `commit_log`). Declared
    /// first so that it is dropped first: its fold thread writes what is left into LMDB
    /// before the environment closes.
    pub log: Option<CommitLog>,
    /// Read transactions are not tied to threads (no TLS), so reads from many host threads do
    /// not each pin a reader slot for the thread's lifetime.
    pub env: Env<WithoutTls>,
    /// Keys and values are the node's bytes; LMDB orders keys lexicographically.
    pub db: Database<'static, Bytes, Bytes>,
    /// The settings it was opened with, to refuse a second opener that wants others.
    pub settings: Settings,
    /// The canonical directory, the registry key.
    pub path: PathBuf,
}

/// Every environment open in this process, by canonical path. Arcs to an environment are
/// created and dropped only while this lock is held, so the strong count tells exactly how
/// many [`EnvironmentHandle`]s exist.
static OPEN: LazyLock<Mutex<HashMap<PathBuf, Arc<Environment>>>> = LazyLock::new(Default::default);

fn registry() -> MutexGuard<'static, HashMap<PathBuf, Arc<Environment>>> {
    // The map stays consistent even if a holder panicked: every change is a single insert or
    // remove.
    OPEN.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A store instance's share of an environment. The environment closes when the last handle
/// is dropped, before that drop returns, so the directory can be reopened right after.
pub struct EnvironmentHandle {
    shared: Option<Arc<Environment>>,
}

impl std::ops::Deref for EnvironmentHandle {
    type Target = Environment;

    fn deref(&self) -> &Environment {
        self.shared
            .as_ref()
            .expect("an environment handle is only emptied by its drop")
    }
}

impl Drop for EnvironmentHandle {
    fn drop(&mut self) {
        let mut open = registry();
        if let Some(shared) = self.shared.take() {
            // This handle and the registry's entry: the last user is leaving.
            if Arc::strong_count(&shared) == 2 {
                open.remove(&shared.path);
            }
            // Dropped under the lock, so a concurrent open of the same directory waits until
            // LMDB has really closed it.
            drop(shared);
        }
    }
}

/// Opens (or joins) the environment described by `settings`, creating its directory.
pub fn open(settings: &Settings) -> PluginResult<EnvironmentHandle> {
    let configured = &settings.path;
    std::fs::create_dir_all(configured).map_err(|error| {
        PluginError::new(
            io_kind(error.kind()),
            format!(
                "cannot create the LMDB store directory {}: {error}{}",
                configured.display(),
                path_hint(error.kind(), &settings.section)
            ),
        )
    })?;
    let path = configured.canonicalize().map_err(|error| {
        PluginError::new(
            io_kind(error.kind()),
            format!(
                "cannot resolve the LMDB store directory {}: {error}",
                configured.display()
            ),
        )
    })?;

    let mut open = registry();
    if let Some(shared) = open.get(&path) {
        if !same_options(&shared.settings, settings) {
            return Err(PluginError::config(format!(
                "the LMDB store at {} is already open in this process with map_size_mib = {}, \
                 durable = {}, commit_log = {}, max_readers = {}; a second instance on the same \
                 path must use the same settings (or set another path in [{}])",
                path.display(),
                shared.settings.map_size_mib(),
                shared.settings.durable,
                shared.settings.commit_log,
                shared
                    .settings
                    .max_readers
                    .map_or("default".to_string(), |n| n.to_string()),
                settings.section
            )));
        }
        return Ok(EnvironmentHandle {
            shared: Some(Arc::clone(shared)),
        });
    }

    let shared = Arc::new(open_new(settings, path.clone())?);
    open.insert(path, Arc::clone(&shared));
    Ok(EnvironmentHandle {
        shared: Some(shared),
    })
}

/// Applies one write of a batch in `wtxn` (a commit, or a replay of the commit log).
pub fn apply(
    db: Database<'static, Bytes, Bytes>,
    wtxn: &mut heed::RwTxn<'_>,
    op: &WriteOp,
) -> heed::Result<()> {
    match op {
        WriteOp::Put { key, value } => db.put(wtxn, key, value),
        WriteOp::Delete { key } => db.delete(wtxn, key).map(drop),
    }
}

/// Whether two configurations may share one open environment.
fn same_options(a: &Settings, b: &Settings) -> bool {
    a.map_size == b.map_size
        && a.durable == b.durable
        && a.max_readers == b.max_readers
        && a.commit_log == b.commit_log
}

/// Opens an environment no handle in this process has open. Called with the registry locked.
fn open_new(settings: &Settings, path: PathBuf) -> PluginResult<Environment> {
    let mut options = EnvOpenOptions::new().read_txn_without_tls();
    options.map_size(settings.map_size);
    if let Some(readers) = settings.max_readers {
        options.max_readers(readers);
    }
    if !settings.durable {
        // SAFETY: NO_SYNC only drops the fsync after each commit. LMDB still writes pages
        // copy-on-write and flips the meta page last, so a crash loses recent commits but
        // leaves a consistent older snapshot (see `StoreConfig::durable`).
        unsafe {
            options.flags(EnvFlags::NO_SYNC);
        }
    }
    // SAFETY: the memory map is only unsafe if the files are modified behind LMDB's back. This
    // process opens each directory once (the registry above), other processes coordinate
    // through LMDB's lock file, and nothing in Parley touches data.mdb except through LMDB.
    let env = unsafe { options.open(&path) }.map_err(|e| open_error(settings, &path, e))?;

    let rtxn = env.read_txn().map_err(|e| open_error(settings, &path, e))?;
    let db = env
        .open_databases_and_commit(rtxn, |opener, rtxn| {
            opener
                .open_database::<Bytes, Bytes>(rtxn, None)
                .map(CommitOrAbort::<_, ()>::Commit)
        })
        .map_err(|e: heed::Error| open_error(settings, &path, e))?
        .commit()
        .flatten()
        .ok_or_else(|| {
            PluginError::internal(format!(
                "LMDB did not provide the unnamed database of {}",
                path.display()
            ))
        })?;

    let log = if settings.durable && settings.commit_log {
        Some(CommitLog::open(&env, db, &path, settings)?)
    } else {
        None
    };
    Ok(Environment {
        log,
        env,
        db,
        settings: settings.clone(),
        path,
    })
}
