//! The log's two segment files, `log-0` and `log-1` in the store's directory: one is written,
//! the other waits until everything in it is also in LMDB, then the writer wraps to it.
//!
//! A frame is written where the file already has bytes (frames of an earlier lap, or zeros
//! written ahead of the frames a mebibyte at a time), so appending one changes no file
//! metadata and one `fdatasync` makes it durable: one device flush per commit, where an LMDB
//! commit takes two (its pages, then its meta page).

use super::frame::{self, Frame};
use crate::error::io_kind;
use parley_plugin_api::{PluginError, PluginResult};
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// A segment this full is left for the other one as soon as the other is all in LMDB. A batch
/// larger than this still goes whole into one segment, which then grows.
pub const SEGMENT_BYTES: u64 = 8 << 20;

/// How far ahead of the frames a segment is filled with zeros.
const ZERO_AHEAD: u64 = 1 << 20;

/// The segments open for appending, positioned after the newest frame.
pub struct Segments {
    files: [File; 2],
    paths: [PathBuf; 2],
    active: usize,
    position: u64,
    /// Each file's length: everything below it has been written (frames or zeros).
    lengths: [u64; 2],
    /// The highest batch number in each segment's current lap (0: none).
    last_seq: [u64; 2],
    next_seq: u64,
    frame: Vec<u8>,
}

/// The segments, and the batches in them that LMDB may not hold yet, oldest first.
pub struct Opened {
    /// Ready to append the batch after the newest one.
    pub segments: Segments,
    /// Every batch numbered above the checkpoint, as `(number, encoded batch)`.
    pub replay: Vec<(u64, Vec<u8>)>,
}

/// Opens (creating them if missing) the segments in `dir`. `checkpointed` is the number of the
/// newest batch LMDB is known to hold, when the checkpoint file says; every later one must be
/// in the log, in an unbroken run. Without it, the newest unbroken run is replayed whole.
pub fn open(dir: &Path, checkpointed: Option<u64>) -> PluginResult<Opened> {
    let paths = [dir.join("log-0"), dir.join("log-1")];
    let mut created = false;
    let mut files = Vec::with_capacity(2);
    let mut contents = Vec::with_capacity(2);
    for path in &paths {
        created |= !path.exists();
        let file = open_owner_only(path, "open the commit log segment")?;
        let mut bytes = Vec::new();
        let length = file
            .metadata()
            .map_err(|e| io_error("read the commit log segment", path, &e))?
            .len();
        bytes.resize(length as usize, 0);
        file.read_exact_at(&mut bytes, 0)
            .map_err(|e| io_error("read the commit log segment", path, &e))?;
        files.push(file);
        contents.push(bytes);
    }
    if created {
        // The new files' directory entries must survive a power loss before a frame in them
        // is acknowledged.
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| io_error("sync the store directory", dir, &e))?;
    }

    let runs: Vec<(Vec<Frame<'_>>, usize)> = contents.iter().map(|c| frame::read_run(c)).collect();
    let last_seq = [0, 1].map(|i| runs[i].0.last().map_or(0, |f| f.seq));
    let active = if last_seq[1] > last_seq[0] { 1 } else { 0 };
    let mut frames: Vec<&Frame<'_>> = runs.iter().flat_map(|(frames, _)| frames).collect();
    frames.sort_by_key(|f| f.seq);
    let replay = to_replay(&frames, checkpointed).map_err(|missing| {
        PluginError::unavailable(format!(
            "the commit log in {} lacks batch {missing}, which LMDB does not hold either \
             (the checkpoint says LMDB holds every batch up to {}): the log was damaged or a \
             segment was removed; restore the store directory from a backup",
            dir.display(),
            missing - 1
        ))
    })?;
    let replay = replay.iter().map(|f| (f.seq, f.payload.to_vec())).collect();
    let checkpointed = checkpointed.unwrap_or(0);
    let newest = last_seq[0].max(last_seq[1]).max(checkpointed);
    let segments = Segments {
        position: runs[active].1 as u64,
        lengths: [contents[0].len() as u64, contents[1].len() as u64],
        files: files.try_into().expect("two segments"),
        paths,
        active,
        last_seq,
        next_seq: newest + 1,
        frame: Vec::new(),
    };
    Ok(Opened { segments, replay })
}

impl Segments {
    /// The number the next batch gets.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Appends `payload` as the next batch and syncs it; returns its number. `checkpointed`
    /// is the newest batch LMDB holds, which says whether the other segment may be reused.
    /// On an error nothing is acknowledged: the next call writes the same number at the same
    /// place again.
    pub fn append(&mut self, payload: &[u8], checkpointed: u64) -> io::Result<u64> {
        let other = 1 - self.active;
        if self.position >= SEGMENT_BYTES && self.last_seq[other] <= checkpointed {
            self.active = other;
            self.position = 0;
        }
        let seq = self.next_seq;
        self.frame.clear();
        frame::encode(seq, payload, &mut self.frame);
        let end = self.position + self.frame.len() as u64;
        let file = &self.files[self.active];
        if end > self.lengths[self.active] {
            let zeroed = end.div_ceil(ZERO_AHEAD) * ZERO_AHEAD + ZERO_AHEAD;
            let start = self.lengths[self.active];
            write_zeros(file, start, zeroed - start)?;
            self.lengths[self.active] = zeroed;
        }
        file.write_all_at(&self.frame, self.position)?;
        file.sync_data()?;
        self.position = end;
        self.last_seq[self.active] = seq;
        self.next_seq = seq + 1;
        Ok(seq)
    }

    /// The path of the segment being written, for messages.
    pub fn active_path(&self) -> &Path {
        &self.paths[self.active]
    }
}

/// The frames LMDB may not hold, oldest first (`frames` sorted by number): with a
/// checkpoint, every one above it, which must follow it without a gap (`Err`: the first
/// missing number); without one, the newest unbroken run.
fn to_replay<'f, 'a>(
    frames: &'f [&'f Frame<'a>],
    checkpointed: Option<u64>,
) -> Result<&'f [&'f Frame<'a>], u64> {
    match checkpointed {
        Some(checkpointed) => {
            let first = frames.partition_point(|f| f.seq <= checkpointed);
            let later = &frames[first..];
            for (expected, frame) in (checkpointed + 1..).zip(later) {
                if frame.seq != expected {
                    return Err(expected);
                }
            }
            Ok(later)
        }
        None => {
            let mut first = frames.len().saturating_sub(1);
            while first > 0 && frames[first - 1].seq + 1 == frames[first].seq {
                first -= 1;
            }
            Ok(&frames[first..])
        }
    }
}

/// Writes `len` zero bytes at `offset`, a mebibyte at a time.
fn write_zeros(file: &File, offset: u64, len: u64) -> io::Result<()> {
    let zeros = vec![0u8; ZERO_AHEAD.min(len) as usize];
    let mut written = 0;
    while written < len {
        let chunk = (len - written).min(zeros.len() as u64) as usize;
        file.write_all_at(&zeros[..chunk], offset + written)?;
        written += chunk as u64;
    }
    Ok(())
}

/// Opens `path` for reading and writing, creating it readable by its owner only if missing;
/// `what` names the step in the error.
pub fn open_owner_only(path: &Path, what: &str) -> PluginResult<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
        .map_err(|e| io_error(what, path, &e))
}

/// A file-system failure of `what` at `path`.
pub fn io_error(what: &str, path: &Path, error: &io::Error) -> PluginError {
    PluginError::new(
        io_kind(error.kind()),
        format!("cannot {what} {}: {error}", path.display()),
    )
}
