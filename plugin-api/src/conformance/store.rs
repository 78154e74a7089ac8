//! The store suite: checks the contract written on [`Store`] (reads, ordering, prefix scans and
//! paging, batch order, atomicity under concurrent reads, durability across a reopen).
//!
//! Every check opens its own store on a fresh data directory, so checks do not see each
//! other's keys. Every check's store calls run on a worker thread with a deadline, so a store
//! that hangs fails its check instead of hanging `parley plugin check`. Keys are 1 to 64 bytes:
//! the contract leaves the empty key and very long keys to the implementation.

use super::{call, Factory, Report, TestHost};
use crate::ensure;
use crate::model::WriteOp;
use crate::Store;
use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The `node.toml` section the instances under test believe they are in.
const SECTION: &str = "store";

/// How long one phase of a check (all store calls between opening and dropping one instance)
/// may take. Generous: durable commits on a slow disk take milliseconds each.
const PHASE_LIMIT: Duration = Duration::from_secs(60);

/// How long the atomicity check keeps committing generations at most.
const ATOMICITY_BUDGET: Duration = Duration::from_secs(10);

type Pairs = Vec<(Vec<u8>, Vec<u8>)>;
type Model = BTreeMap<Vec<u8>, Vec<u8>>;

/// Runs every store check against instances made by `new`.
pub fn run(new: &Factory<'_, Box<dyn Store>>) -> Report {
    let mut report = Report::default();
    report.check("store: get of a missing key is None", || {
        with_store(new, missing_key)
    });
    report.check("store: a put is read back by get", || {
        with_store(new, put_then_get)
    });
    report.check("store: a put overwrites the old value", || {
        with_store(new, overwrite)
    });
    report.check(
        "store: delete removes a key; deleting a missing key is ok",
        || with_store(new, delete),
    );
    report.check("store: an empty and a 1 MiB value round-trip", || {
        with_store(new, value_sizes)
    });
    report.check("store: scan returns keys in ascending byte order", || {
        with_store(new, ascending_order)
    });
    report.check("store: scan honours prefix boundaries", || {
        with_store(new, prefix_boundaries)
    });
    report.check("store: after and limit page through a prefix", || {
        with_store(new, paging)
    });
    report.check("store: scan_all returns every pair under a prefix", || {
        with_store(new, scan_all_pages)
    });
    report.check("store: a batch is applied in order", || {
        with_store(new, batch_order)
    });
    report.check("store: a scan never sees half a commit", || {
        with_store(new, atomic_under_concurrent_scans)
    });
    report.check(
        "store: commits survive dropping and reopening the store",
        || survives_reopen(new),
    );
    report.check(
        "store: 200 small commits in a row all survive a reopen",
        || many_commits_survive_reopen(new),
    );
    report
}

// ---- harness -------------------------------------------------------------------------------

/// A store on a fresh data directory. The host owns the directory: keep it until the store is
/// dropped.
fn fresh(new: &Factory<'_, Box<dyn Store>>) -> Result<(TestHost, Box<dyn Store>), String> {
    let host = TestHost::new(SECTION);
    let store = call("creating the store", new(host.context()))?;
    Ok((host, store))
}

/// Runs `body` against `store` on a worker thread, then drops the store there (so that a
/// reopen after this returns finds it closed). Fails if that takes longer than `PHASE_LIMIT`;
/// the worker is then abandoned.
fn bounded<T: Send + 'static>(
    store: Box<dyn Store>,
    body: impl FnOnce(&dyn Store) -> Result<T, String> + Send + 'static,
) -> Result<T, String> {
    let (done, outcome) = mpsc::channel();
    std::thread::Builder::new()
        .name("store-check".into())
        .spawn(move || {
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let result = body(&*store);
                drop(store);
                result
            }))
            .unwrap_or_else(|payload| {
                Err(format!(
                    "the check panicked: {}",
                    crate::panic::panic_message(&payload)
                ))
            });
            let _ = done.send(result);
        })
        .map_err(|e| format!("cannot start a worker thread: {e}"))?;
    match outcome.recv_timeout(PHASE_LIMIT) {
        Ok(result) => result,
        Err(mpsc::RecvTimeoutError::Timeout) => Err(format!(
            "the store did not finish within {}s (a call blocked?)",
            PHASE_LIMIT.as_secs()
        )),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            Err("the worker thread ended without an answer".to_string())
        }
    }
}

/// A fresh store, `body` against it within the deadline, then the store and its directory
/// cleaned up.
fn with_store(
    new: &Factory<'_, Box<dyn Store>>,
    body: fn(&dyn Store) -> Result<(), String>,
) -> Result<(), String> {
    let (host, store) = fresh(new)?;
    let result = bounded(store, body);
    drop(host);
    result
}

/// A small deterministic generator (splitmix64): the suite must behave the same on every run,
/// and plugin-api has no random number crate.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i + 1));
        }
    }

    /// Between `min` and `max` bytes (inclusive), biased towards 0x00 and 0xff, where ordering
    /// and prefix bugs hide.
    fn key_bytes(&mut self, min: usize, max: usize) -> Vec<u8> {
        let len = min + self.below(max - min + 1);
        (0..len)
            .map(|_| match self.below(4) {
                0 => 0x00,
                1 => 0xff,
                _ => self.next() as u8,
            })
            .collect()
    }
}

/// What a correct `scan(prefix, after, limit)` returns for the contents `model`.
fn expected(model: &Model, prefix: &[u8], after: Option<&[u8]>, limit: usize) -> Pairs {
    let start = match after {
        Some(after) => Bound::Excluded(after.to_vec()),
        None => Bound::Unbounded,
    };
    model
        .range((start, Bound::Unbounded))
        .filter(|(key, _)| key.starts_with(prefix))
        .take(limit)
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Writes `model` in batches of `batch` puts, in the order of `keys`.
fn write_all(
    store: &dyn Store,
    model: &Model,
    keys: &[Vec<u8>],
    batch: usize,
) -> Result<(), String> {
    for chunk in keys.chunks(batch.max(1)) {
        let ops: Vec<WriteOp> = chunk
            .iter()
            .map(|key| WriteOp::put(key.clone(), model[key].clone()))
            .collect();
        call("commit", store.commit(&ops))?;
    }
    Ok(())
}

/// Shows keys in messages as hex.
fn hex_keys(pairs: &[(Vec<u8>, Vec<u8>)]) -> Vec<String> {
    pairs.iter().map(|(k, _)| hex::encode(k)).collect()
}

/// Compares a scan's answer with the model's, describing the first difference briefly (a full
/// listing of thousands of keys helps nobody).
fn same_pairs(what: &str, got: &Pairs, want: &Pairs) -> Result<(), String> {
    if got == want {
        return Ok(());
    }
    if got.len() <= 8 && want.len() <= 8 {
        let (got_keys, want_keys) = (hex_keys(got), hex_keys(want));
        if got_keys != want_keys {
            return Err(format!(
                "{what}: expected keys {want_keys:?}, got {got_keys:?}"
            ));
        }
    }
    let at = got.iter().zip(want).take_while(|(g, w)| g == w).count();
    let show = |pairs: &Pairs| match pairs.get(at) {
        Some((key, value)) => format!("key {} ({} value bytes)", hex::encode(key), value.len()),
        None => "nothing".to_string(),
    };
    Err(format!(
        "{what}: expected {} pairs, got {}; the first difference is at position {at}: expected \
         {}, got {}",
        want.len(),
        got.len(),
        show(want),
        show(got)
    ))
}

/// Fails with `problem` unless `get(key)` answers `want`.
fn expect_value(
    store: &dyn Store,
    key: &[u8],
    want: Option<&[u8]>,
    problem: &str,
) -> Result<(), String> {
    let got = call("get", store.get(key))?;
    ensure!(got.as_deref() == want, "{problem} (got {got:?})");
    Ok(())
}

// ---- basic reads and writes ----------------------------------------------------------------

fn missing_key(store: &dyn Store) -> Result<(), String> {
    let value = call("get", store.get(b"never written"))?;
    ensure!(
        value.is_none(),
        "get of a key never written returned {value:?}"
    );
    let pairs = call("scan", store.scan(b"", None, 10))?;
    ensure!(
        pairs.is_empty(),
        "scan of an empty store returned {:?}",
        hex_keys(&pairs)
    );
    Ok(())
}

fn put_then_get(store: &dyn Store) -> Result<(), String> {
    call(
        "commit",
        store.commit(&[
            WriteOp::put(b"channel/1", b"state one"),
            WriteOp::put(b"channel/2", b"state two"),
        ]),
    )?;
    let problem = "get after the commit did not return the value put";
    expect_value(store, b"channel/1", Some(b"state one"), problem)?;
    expect_value(store, b"channel/2", Some(b"state two"), problem)?;
    let problem = "a key never written has a value after an unrelated commit";
    expect_value(store, b"channel/3", None, problem)
}

fn overwrite(store: &dyn Store) -> Result<(), String> {
    call("commit", store.commit(&[WriteOp::put(b"k", b"old")]))?;
    call("commit", store.commit(&[WriteOp::put(b"k", b"new value")]))?;
    expect_value(store, b"k", Some(b"new value"), "get after an overwrite")?;
    let pairs = call("scan_all", store.scan_all(b"k"))?;
    ensure!(
        pairs.len() == 1,
        "after an overwrite scan returned {} pairs, not 1",
        pairs.len()
    );
    Ok(())
}

fn delete(store: &dyn Store) -> Result<(), String> {
    call(
        "commit",
        store.commit(&[WriteOp::put(b"a", b"1"), WriteOp::put(b"b", b"2")]),
    )?;
    call("commit of a delete", store.commit(&[WriteOp::delete(b"a")]))?;
    expect_value(store, b"a", None, "a deleted key still has a value")?;
    expect_value(store, b"b", Some(b"2"), "deleting one key changed another")?;
    call(
        "commit deleting a key that was already deleted",
        store.commit(&[WriteOp::delete(b"a")]),
    )?;
    call(
        "commit deleting a key never written, with a put",
        store.commit(&[WriteOp::delete(b"never"), WriteOp::put(b"c", b"3")]),
    )?;
    let problem = "a put in the same batch as a delete of a missing key was lost";
    expect_value(store, b"c", Some(b"3"), problem)?;
    let keys = hex_keys(&call("scan_all", store.scan_all(b""))?);
    ensure!(
        keys == [hex::encode("b"), hex::encode("c")],
        "after the deletes the store holds {keys:?}"
    );
    Ok(())
}

fn value_sizes(store: &dyn Store) -> Result<(), String> {
    let big: Vec<u8> = (0..1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    call(
        "commit",
        store.commit(&[
            WriteOp::put(b"empty", Vec::new()),
            WriteOp::put(b"large", big.clone()),
        ]),
    )?;
    let empty = call("get", store.get(b"empty"))?;
    ensure!(
        empty.as_deref() == Some(&[][..]),
        "an empty value came back as {empty:?} (it must be present and empty, not missing)"
    );
    let large = call("get", store.get(b"large"))?;
    ensure!(
        large.as_ref() == Some(&big),
        "the 1 MiB value came back as {:?} bytes that differ",
        large.map(|v| v.len())
    );
    let pairs = call("scan", store.scan(b"", None, 10))?;
    let want = vec![(b"empty".to_vec(), Vec::new()), (b"large".to_vec(), big)];
    same_pairs("scan over an empty and a 1 MiB value", &pairs, &want)
}

// ---- ordering, prefixes and paging ---------------------------------------------------------

fn ascending_order(store: &dyn Store) -> Result<(), String> {
    let mut rng = Rng(0x5EED_0001);
    let mut model = Model::new();
    while model.len() < 300 {
        let key = rng.key_bytes(1, 12);
        model.insert(key, rng.next().to_be_bytes().to_vec());
    }
    let mut keys: Vec<Vec<u8>> = model.keys().cloned().collect();
    rng.shuffle(&mut keys);
    write_all(store, &model, &keys, 7)?;
    let got = call("scan", store.scan(b"", None, 1000))?;
    same_pairs(
        "scan of keys inserted in random order",
        &got,
        &expected(&model, b"", None, 1000),
    )
}

/// Keys on both sides of every prefix boundary, including keys that are prefixes of each
/// other and runs of 0xff, where a computed "next prefix" overflows.
fn boundary_keys() -> Vec<Vec<u8>> {
    [
        &[0x00][..],
        &[0x00, 0xff],
        &[0x01],
        &[0x01, 0x00],
        &[0x01, 0x00, 0x00],
        &[0x01, 0x7f],
        &[0x01, 0xff],
        &[0x01, 0xff, 0x00],
        &[0x01, 0xff, 0xff],
        &[0x02],
        &[0x02, 0x00],
        &[0xfe, 0xff],
        &[0xfe, 0xff, 0xff],
        &[0xff],
        &[0xff, 0x00],
        &[0xff, 0xff],
        &[0xff, 0xff, 0x00],
        &[0xff, 0xff, 0xff],
        &[0xff, 0xff, 0xff, 0xff],
    ]
    .iter()
    .map(|k| k.to_vec())
    .collect()
}

fn prefix_boundaries(store: &dyn Store) -> Result<(), String> {
    let mut model = Model::new();
    for (i, key) in boundary_keys().into_iter().enumerate() {
        model.insert(key, vec![i as u8]);
    }
    let mut keys: Vec<Vec<u8>> = model.keys().cloned().collect();
    Rng(0x5EED_0002).shuffle(&mut keys);
    write_all(store, &model, &keys, 5)?;

    let prefixes: [&[u8]; 12] = [
        &[],
        &[0x00],
        &[0x01],
        &[0x01, 0x00],
        &[0x01, 0xff],
        &[0x02],
        &[0x03],
        &[0xfe],
        &[0xff],
        &[0xff, 0xff],
        &[0xff, 0xff, 0xff],
        &[0xff, 0xff, 0xff, 0xff, 0xff],
    ];
    for prefix in prefixes {
        let got = call("scan", store.scan(prefix, None, 100))?;
        same_pairs(
            &format!("scan of prefix {}", hex::encode(prefix)),
            &got,
            &expected(&model, prefix, None, 100),
        )?;
        let all = call("scan_all", store.scan_all(prefix))?;
        same_pairs(
            &format!("scan_all of prefix {}", hex::encode(prefix)),
            &all,
            &got,
        )?;
    }

    // Random queries against the model: prefixes and `after` keys cut from stored keys and
    // from random bytes, limits around the sizes of the answers.
    let mut rng = Rng(0x5EED_0003);
    for _ in 0..300 {
        let pick = |rng: &mut Rng| {
            let key = &keys[rng.below(keys.len())];
            key[..rng.below(key.len() + 1)].to_vec()
        };
        let prefix = if rng.below(3) == 0 {
            rng.key_bytes(0, 2)
        } else {
            pick(&mut rng)
        };
        let after = match rng.below(3) {
            0 => None,
            1 => Some(pick(&mut rng)),
            _ => Some(rng.key_bytes(1, 3)),
        };
        let limit = rng.below(8);
        let got = call("scan", store.scan(&prefix, after.as_deref(), limit))?;
        same_pairs(
            &format!(
                "scan(prefix {}, after {:?}, limit {limit})",
                hex::encode(&prefix),
                after.as_ref().map(hex::encode)
            ),
            &got,
            &expected(&model, &prefix, after.as_deref(), limit),
        )?;
    }
    Ok(())
}

fn paging(store: &dyn Store) -> Result<(), String> {
    let prefix = [0x10u8];
    let mut model = Model::new();
    for i in 0..100u16 {
        let mut key = prefix.to_vec();
        key.extend_from_slice(&(i * 2).to_be_bytes());
        model.insert(key, i.to_be_bytes().to_vec());
    }
    model.insert(prefix.to_vec(), b"the prefix itself".to_vec());
    for outside in [&[0x0f, 0xff][..], &[0x0f], &[0x11], &[0x11, 0x00]] {
        model.insert(outside.to_vec(), b"outside".to_vec());
    }
    let keys: Vec<Vec<u8>> = model.keys().rev().cloned().collect();
    write_all(store, &model, &keys, 16)?;

    // Page by hand with a limit that does not divide the count.
    let want = expected(&model, &prefix, None, usize::MAX);
    let mut got: Pairs = Vec::new();
    for round in 0.. {
        ensure!(round <= want.len(), "paging with limit 7 does not end");
        let after = got.last().map(|(k, _)| k.clone());
        let page = call("scan", store.scan(&prefix, after.as_deref(), 7))?;
        ensure!(
            page.len() <= 7,
            "a scan with limit 7 returned {} pairs",
            page.len()
        );
        let last_page = page.len() < 7;
        got.extend(page);
        if last_page {
            break;
        }
    }
    same_pairs("pages of 7 concatenated", &got, &want)?;

    let cases: [(&[u8], usize); 6] = [
        (&[0x10, 0x00, 0x31], 5),  // between two stored keys: not present
        (&[0x10, 0x00, 0x32], 5),  // a stored key: excluded
        (&[0x01], 3),              // before the prefix: from its first key
        (&[0x10], 2),              // the prefix key itself: excluded
        (&[0x10, 0x00, 0xc6], 10), // the last key: nothing after it
        (&[0x10, 0xff, 0xff, 0xff, 0xff], 10), // past every key of the prefix
    ];
    for (after, limit) in cases {
        let got = call("scan", store.scan(&prefix, Some(after), limit))?;
        same_pairs(
            &format!("scan after {} with limit {limit}", hex::encode(after)),
            &got,
            &expected(&model, &prefix, Some(after), limit),
        )?;
    }
    let none = call("scan", store.scan(&prefix, None, 0))?;
    ensure!(
        none.is_empty(),
        "a scan with limit 0 returned {} pairs",
        none.len()
    );
    Ok(())
}

fn scan_all_pages(store: &dyn Store) -> Result<(), String> {
    // More than two of scan_all's pages of 1024, and neighbours on both sides.
    let mut model = Model::new();
    for i in 0..2100u32 {
        let mut key = b"p/".to_vec();
        key.extend_from_slice(&i.to_be_bytes());
        model.insert(key, i.to_le_bytes().to_vec());
    }
    for outside in [&b"p."[..], b"p0", b"o/zzz", b"q"] {
        model.insert(outside.to_vec(), b"outside".to_vec());
    }
    let keys: Vec<Vec<u8>> = model.keys().cloned().collect();
    write_all(store, &model, &keys, 500)?;
    let got = call("scan_all", store.scan_all(b"p/"))?;
    same_pairs(
        "scan_all over 2100 keys",
        &got,
        &expected(&model, b"p/", None, usize::MAX),
    )
}

// ---- batches and atomicity -----------------------------------------------------------------

fn batch_order(store: &dyn Store) -> Result<(), String> {
    call("commit", store.commit(&[WriteOp::put(b"e", b"old")]))?;
    call(
        "commit",
        store.commit(&[
            WriteOp::put(b"a", b"1"),
            WriteOp::delete(b"a"),
            WriteOp::delete(b"b"),
            WriteOp::put(b"b", b"2"),
            WriteOp::put(b"c", b"1"),
            WriteOp::put(b"c", b"2"),
            WriteOp::put(b"c", b"3"),
            WriteOp::put(b"d", b"1"),
            WriteOp::delete(b"d"),
            WriteOp::put(b"d", b"4"),
            WriteOp::delete(b"e"),
            WriteOp::put(b"e", b"new"),
        ]),
    )?;
    expect_value(store, b"a", None, "put a then delete a left a present")?;
    expect_value(
        store,
        b"b",
        Some(b"2"),
        "delete b then put b did not leave b",
    )?;
    expect_value(
        store,
        b"c",
        Some(b"3"),
        "three puts of c did not leave the last",
    )?;
    expect_value(
        store,
        b"d",
        Some(b"4"),
        "put, delete, put of d did not leave the last",
    )?;
    expect_value(
        store,
        b"e",
        Some(b"new"),
        "delete and re-put of e did not leave the new value",
    )?;
    Ok(())
}

/// The value of every key in generation `generation`: the generation, then filler so that the
/// pages of one commit are really rewritten.
fn generation_value(generation: u64) -> Vec<u8> {
    let mut value = generation.to_be_bytes().to_vec();
    value.resize(48, (generation % 251) as u8);
    value
}

fn atomic_under_concurrent_scans(store: &dyn Store) -> Result<(), String> {
    const KEYS: usize = 64;
    const GENERATIONS: u64 = 150;
    let prefix = b"gen/";
    let key = |i: usize| {
        let mut key = prefix.to_vec();
        key.extend_from_slice(&(i as u32).to_be_bytes());
        key
    };
    let batch = |generation: u64, rng: &mut Rng| {
        let mut ops: Vec<WriteOp> = (0..KEYS)
            .map(|i| WriteOp::put(key(i), generation_value(generation)))
            .collect();
        rng.shuffle(&mut ops);
        ops
    };
    let mut rng = Rng(0x5EED_0004);
    call("commit of generation 0", store.commit(&batch(0, &mut rng)))?;

    let writing = AtomicBool::new(true);
    let started = Instant::now();
    let (written, scans) = std::thread::scope(|scope| {
        let reader = scope.spawn(|| -> Result<u64, String> {
            let mut scans = 0u64;
            let mut newest = 0u64;
            loop {
                // Read the flag first: a scan that starts after the writer finished must see
                // its last commit, and the final round below checks that.
                let last_round = !writing.load(Ordering::Acquire);
                let pairs = call("scan during commits", store.scan(prefix, None, KEYS + 10))?;
                scans += 1;
                ensure!(
                    pairs.len() == KEYS,
                    "a scan during commits saw {} keys, not {KEYS}",
                    pairs.len()
                );
                let generations: Vec<u64> = pairs
                    .iter()
                    .map(|(_, v)| {
                        v.get(..8)
                            .map(|b| u64::from_be_bytes(b.try_into().expect("8 bytes")))
                            .unwrap_or(u64::MAX)
                    })
                    .collect();
                let first = generations[0];
                ensure!(
                    generations.iter().all(|g| *g == first),
                    "one scan saw keys of different commits: generations {:?}",
                    {
                        let mut seen = generations.clone();
                        seen.dedup();
                        seen
                    }
                );
                ensure!(
                    first >= newest,
                    "a scan saw generation {first} after an earlier scan saw {newest}"
                );
                newest = first;
                if last_round {
                    return Ok(scans);
                }
            }
        });
        let mut written = 0u64;
        let mut failure = None;
        for generation in 1..=GENERATIONS {
            if started.elapsed() > ATOMICITY_BUDGET {
                break;
            }
            match store.commit(&batch(generation, &mut rng)) {
                Ok(()) => written = generation,
                Err(e) => {
                    failure = Some(format!("commit of generation {generation} failed: {e}"));
                    break;
                }
            }
        }
        writing.store(false, Ordering::Release);
        let scans = reader
            .join()
            .unwrap_or_else(|_| Err("the reader thread panicked".to_string()));
        match failure {
            Some(failure) => Err(failure),
            None => scans.map(|scans| (written, scans)),
        }
    })?;
    ensure!(
        written > 0,
        "no generation was committed within {}s",
        ATOMICITY_BUDGET.as_secs()
    );
    ensure!(scans > 0, "the reader finished no scan");
    let final_pairs = call(
        "scan after the commits",
        store.scan(prefix, None, KEYS + 10),
    )?;
    ensure!(
        final_pairs
            .iter()
            .all(|(_, v)| *v == generation_value(written)),
        "after the last commit returned, a scan did not see generation {written} everywhere"
    );
    Ok(())
}

// ---- durability ----------------------------------------------------------------------------

/// Writes with `write` in one instance, drops it, opens a new instance on the same data
/// directory and checks that it holds exactly `model`.
fn reopen_and_compare(
    new: &Factory<'_, Box<dyn Store>>,
    write: impl FnOnce(&dyn Store) -> Result<Model, String> + Send + 'static,
) -> Result<(), String> {
    let (first_host, first) = fresh(new)?;
    let model = bounded(first, write)?;
    let second_host = TestHost::in_dir(SECTION, first_host.data_dir());
    let second = call(
        "reopening the store on the same data directory",
        new(second_host.context()),
    )?;
    let result = bounded(second, move |store| {
        let got = call("scan_all after reopening", store.scan_all(b""))?;
        let want: Pairs = model.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        same_pairs("the reopened store", &got, &want)?;
        for (key, value) in &model {
            let got = call("get after reopening", store.get(key))?;
            ensure!(
                got.as_ref() == Some(value),
                "after reopening get({}) returned {got:?}",
                hex::encode(key)
            );
        }
        Ok(())
    });
    drop(second_host);
    drop(first_host);
    result
}

fn survives_reopen(new: &Factory<'_, Box<dyn Store>>) -> Result<(), String> {
    reopen_and_compare(new, |store| {
        let mut model = Model::new();
        let mut rng = Rng(0x5EED_0005);
        let mut keys: Vec<Vec<u8>> = (0..64u32).map(|i| i.to_be_bytes().to_vec()).collect();
        rng.shuffle(&mut keys);
        for chunk in keys.chunks(16) {
            let ops: Vec<WriteOp> = chunk
                .iter()
                .map(|k| WriteOp::put(k.clone(), rng.key_bytes(1, 40)))
                .collect();
            for op in &ops {
                if let WriteOp::Put { key, value } = op {
                    model.insert(key.to_vec(), value.to_vec());
                }
            }
            call("commit", store.commit(&ops))?;
        }
        // Overwrites and deletes must survive too, not only first writes.
        let mut ops = Vec::new();
        for key in keys.iter().take(10) {
            ops.push(WriteOp::delete(key.clone()));
            model.remove(key);
        }
        for key in keys.iter().skip(10).take(10) {
            ops.push(WriteOp::put(key.clone(), b"overwritten"));
            model.insert(key.clone(), b"overwritten".to_vec());
        }
        call("commit of deletes and overwrites", store.commit(&ops))?;
        Ok(model)
    })
}

fn many_commits_survive_reopen(new: &Factory<'_, Box<dyn Store>>) -> Result<(), String> {
    reopen_and_compare(new, |store| {
        let mut model = Model::new();
        for i in 0..200u32 {
            let key = format!("commit/{i:03}").into_bytes();
            let value = i.to_be_bytes().to_vec();
            call(
                &format!("commit {i} of 200"),
                store.commit(&[WriteOp::put(key.clone(), value.clone())]),
            )?;
            model.insert(key, value);
        }
        Ok(model)
    })
}
