//! The ledger's storage: one LMDB environment (heed) per ledger directory.
//!
//! Every ledger transaction is one LMDB write transaction, so transactions from every thread
//! and every process using the directory are serialised by LMDB's own lock (its lock file
//! holds a process-shared mutex) and each sees the effects of the ones before it.
//!
//! The environment is opened with `NO_SYNC`: a commit reaches the operating system's page cache
//! but is not flushed to the disk. A simulated ledger survives its processes being killed, not a
//! power loss or an OS crash; that is the trade for commits of a few microseconds.
//!
//! LMDB must not be opened twice by one process, so the instances of one process that name the
//! same directory share one environment through a registry keyed by the canonical path. (That
//! registry lives in this library's statics: two *copies* of the plugin file loaded into one
//! process must not name the same ledger.)

mod clock;
mod tables;

pub use clock::{chain_time, wall_clock};
pub use tables::WriteView;

use crate::crypto::{keccak256, FundingId};
use crate::rules::{ChannelRecord, LedgerState};
use heed::{CommitOrAbort, EnvFlags, EnvOpenOptions, WithoutTls};
use parley_plugin_api::codec::Bytes;
use parley_plugin_api::codec::Encode;
use parley_plugin_api::model::{Amount, Asset, ChainEvent, ChainTime, ChannelId};
use parley_plugin_api::{PluginError, PluginResult};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};
use tables::{storage_error, Tables, TABLE_NAMES};

/// Virtual size of the memory map. LMDB only uses the disk it needs; the map merely bounds the
/// ledger's size (far beyond what a simulation writes).
const MAP_SIZE: usize = 1 << 30;

/// Where a ledger lives.
#[derive(Clone, Debug)]
pub enum Location {
    /// A directory shared by every process and instance that names it.
    Shared(PathBuf),
    /// A private ledger in a temporary directory, removed when the last user drops it.
    Embedded,
}

/// The parameters fixed when a ledger is created; every user of the ledger must agree on them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Genesis {
    /// The chain id.
    pub chain_id: u64,
    /// Seconds per block (0: time moves only when advanced).
    pub block_time: u64,
    /// Wall-clock Unix time when the ledger was created.
    pub time: u64,
}

/// An open ledger.
pub struct Ledger {
    env: heed::Env<WithoutTls>,
    tables: Tables,
    genesis: Genesis,
    place: String,
    // Declared last so the environment is closed before its temporary directory is removed.
    _temp: Option<tempfile::TempDir>,
}

/// The shared ledgers of this process by canonical path.
static SHARED: Mutex<BTreeMap<PathBuf, Weak<Ledger>>> = Mutex::new(BTreeMap::new());

impl Ledger {
    /// Opens (creating if needed) the ledger at `location` for a user configured with
    /// `chain_id` and `block_time`. Refused if an existing ledger was created with others.
    pub fn open(location: &Location, chain_id: u64, block_time: u64) -> PluginResult<Arc<Ledger>> {
        let ledger = match location {
            Location::Embedded => {
                let temp = tempfile::Builder::new()
                    .prefix("parley-sim-ledger-")
                    .tempdir()
                    .map_err(|e| {
                        PluginError::unavailable(format!(
                            "cannot create a temporary directory for the embedded sim-chain \
                             ledger: {e}"
                        ))
                    })?;
                let path = temp.path().to_path_buf();
                Arc::new(Self::create(&path, Some(temp), chain_id, block_time)?)
            }
            Location::Shared(path) => Self::open_shared(path, chain_id, block_time)?,
        };
        let genesis = ledger.genesis;
        if genesis.chain_id != chain_id || genesis.block_time != block_time {
            return Err(PluginError::config(format!(
                "the sim-chain ledger at {} was created with chain_id = {} and block_time = {}, \
                 but this [chain] table says chain_id = {chain_id} and block_time = {block_time}; \
                 every node sharing a ledger must use the same values",
                ledger.place, genesis.chain_id, genesis.block_time
            )));
        }
        Ok(ledger)
    }

    fn open_shared(path: &Path, chain_id: u64, block_time: u64) -> PluginResult<Arc<Ledger>> {
        std::fs::create_dir_all(path).map_err(|e| {
            PluginError::unavailable(format!(
                "cannot create the sim-chain ledger directory {}: {e}",
                path.display()
            ))
        })?;
        let canonical = path.canonicalize().map_err(|e| {
            PluginError::unavailable(format!("cannot resolve {}: {e}", path.display()))
        })?;
        let mut shared = SHARED.lock().unwrap_or_else(|poison| poison.into_inner());
        shared.retain(|_, ledger| ledger.strong_count() > 0);
        if let Some(ledger) = shared.get(&canonical).and_then(Weak::upgrade) {
            return Ok(ledger);
        }
        let ledger = Arc::new(Self::create(&canonical, None, chain_id, block_time)?);
        shared.insert(canonical, Arc::downgrade(&ledger));
        Ok(ledger)
    }

    fn create(
        path: &Path,
        temp: Option<tempfile::TempDir>,
        chain_id: u64,
        block_time: u64,
    ) -> PluginResult<Ledger> {
        let place = path.display().to_string();
        let failed = |e: heed::Error| {
            PluginError::unavailable(format!("cannot open the sim-chain ledger at {place}: {e}"))
        };
        let mut options = EnvOpenOptions::new().read_txn_without_tls();
        options.map_size(MAP_SIZE).max_dbs(TABLE_NAMES.len() as u32);
        // SAFETY: NO_SYNC only gives up durability against OS crashes (see the module doc);
        // the map is only ever modified through LMDB, which locks across processes.
        let env = unsafe {
            options.flags(EnvFlags::NO_SYNC);
            options.open(path)
        }
        .map_err(failed)?;
        // A process killed mid-read leaves a stale reader slot; free those of dead processes.
        env.clear_stale_readers().map_err(failed)?;
        let wtxn = env.write_txn().map_err(failed)?;
        let tables = env
            .create_databases_and_commit(wtxn, |opener, wtxn| -> Result<_, heed::Error> {
                let mut list = Vec::with_capacity(TABLE_NAMES.len());
                for name in TABLE_NAMES {
                    list.push(opener.create_database(wtxn, Some(name))?);
                }
                let Ok(array) = <[_; TABLE_NAMES.len()]>::try_from(list) else {
                    unreachable!("one table per name");
                };
                Ok(CommitOrAbort::<_, ()>::Commit(array))
            })
            .map_err(failed)?
            .unwrap_commit();
        let tables = Tables::from_list(tables);
        let genesis = init_genesis(&env, &tables, chain_id, block_time)?;
        Ok(Ledger {
            env,
            tables,
            genesis,
            place,
            _temp: temp,
        })
    }

    /// Where the ledger is, for messages.
    pub fn place(&self) -> &str {
        &self.place
    }

    /// Chain time now.
    pub fn now(&self) -> PluginResult<ChainTime> {
        let txn = self.env.read_txn().map_err(storage_error)?;
        self.time_in(&txn)
    }

    fn time_in(&self, txn: &heed::RoTxn) -> PluginResult<ChainTime> {
        let advanced = self.tables.meta(txn, "advanced")?.unwrap_or(0);
        Ok(chain_time(&self.genesis, advanced, wall_clock()))
    }

    /// Runs `body` as one ledger transaction and commits it if it succeeds (nothing it wrote
    /// survives an error). Returns its result and a transaction id.
    pub fn transact<T>(
        &self,
        body: impl FnOnce(&mut WriteView<'_>) -> PluginResult<T>,
    ) -> PluginResult<(T, Bytes)> {
        let txn = self.env.write_txn().map_err(storage_error)?;
        let now = self.time_in(&txn)?;
        let mut view = WriteView::new(txn, &self.tables, now, self.genesis.chain_id);
        let value = body(&mut view)?;
        let count = self.tables.meta(view.txn(), "tx_count")?.unwrap_or(0) + 1;
        self.tables.set_meta(view.txn(), "tx_count", count)?;
        view.commit()?;
        let tx_id = keccak256(&[b"parley-sim-tx:", &count.encode()]);
        Ok((value, Bytes(tx_id.to_vec())))
    }

    /// Moves chain time forward by `seconds` for every user of the ledger; returns the new time.
    pub fn advance_time(&self, seconds: u64) -> PluginResult<ChainTime> {
        let mut txn = self.env.write_txn().map_err(storage_error)?;
        let advanced = self.tables.meta(&txn, "advanced")?.unwrap_or(0);
        let advanced = advanced.checked_add(seconds).ok_or_else(|| {
            PluginError::invalid(format!("advancing chain time by {seconds} s overflows"))
        })?;
        self.tables.set_meta(&mut txn, "advanced", advanced)?;
        txn.commit().map_err(storage_error)?;
        Ok(chain_time(&self.genesis, advanced, wall_clock()))
    }

    /// Credits `amounts` to `account` unless the ledger has seen the account before. Returns
    /// whether it credited.
    pub fn prefund_once(&self, account: &[u8], amounts: &[(Asset, Amount)]) -> PluginResult<bool> {
        let mut txn = self.env.write_txn().map_err(storage_error)?;
        if self.tables.seen(&txn, account)? {
            return Ok(false);
        }
        let now = self.time_in(&txn)?;
        self.tables.set_seen(&mut txn, account)?;
        let mut view = WriteView::new(txn, &self.tables, now, self.genesis.chain_id);
        for (asset, amount) in amounts {
            let balance = view.balance(account, asset)?;
            let credited = balance.checked_add(*amount).ok_or_else(|| {
                PluginError::config(format!(
                    "prefund of {asset} overflows the account's balance"
                ))
            })?;
            view.set_balance(account, asset, credited)?;
        }
        view.commit()?;
        Ok(true)
    }

    /// `owner`'s balance of `asset`.
    pub fn balance(&self, owner: &[u8], asset: &Asset) -> PluginResult<Amount> {
        let txn = self.env.read_txn().map_err(storage_error)?;
        self.tables.balance(&txn, owner, asset)
    }

    /// Holdings of several (funding id, asset) pairs, read at one instant.
    pub fn holdings(&self, keys: &[(FundingId, &Asset)]) -> PluginResult<Vec<Amount>> {
        let txn = self.env.read_txn().map_err(storage_error)?;
        keys.iter()
            .map(|(funding, asset)| self.tables.holding(&txn, funding, asset))
            .collect()
    }

    /// The channel's record.
    pub fn record(&self, channel: &ChannelId) -> PluginResult<Option<ChannelRecord>> {
        let txn = self.env.read_txn().map_err(storage_error)?;
        self.tables.record(&txn, channel)
    }

    /// The channel's record and the next event number, read at one instant: a watcher that
    /// reports the record and then the events from that number on misses nothing and repeats
    /// nothing.
    pub fn record_and_next_seq(
        &self,
        channel: &ChannelId,
    ) -> PluginResult<(Option<ChannelRecord>, u64)> {
        let txn = self.env.read_txn().map_err(storage_error)?;
        Ok((
            self.tables.record(&txn, channel)?,
            self.tables.next_seq(&txn)?,
        ))
    }

    /// Up to `limit` events from number `first` on.
    pub fn events_from(&self, first: u64, limit: usize) -> PluginResult<Vec<(u64, ChainEvent)>> {
        let txn = self.env.read_txn().map_err(storage_error)?;
        self.tables.events_from(&txn, first, limit)
    }
}

/// Reads the genesis parameters, writing them if the ledger is new.
fn init_genesis(
    env: &heed::Env<WithoutTls>,
    tables: &Tables,
    chain_id: u64,
    block_time: u64,
) -> PluginResult<Genesis> {
    let mut txn = env.write_txn().map_err(storage_error)?;
    let stored = (
        tables.meta(&txn, "chain_id")?,
        tables.meta(&txn, "block_time")?,
        tables.meta(&txn, "genesis_time")?,
    );
    let genesis = match stored {
        (Some(chain_id), Some(block_time), Some(time)) => Genesis {
            chain_id,
            block_time,
            time,
        },
        _ => {
            let genesis = Genesis {
                chain_id,
                block_time,
                time: wall_clock(),
            };
            tables.set_meta(&mut txn, "chain_id", chain_id)?;
            tables.set_meta(&mut txn, "block_time", block_time)?;
            tables.set_meta(&mut txn, "genesis_time", genesis.time)?;
            genesis
        }
    };
    txn.commit().map_err(storage_error)?;
    Ok(genesis)
}
