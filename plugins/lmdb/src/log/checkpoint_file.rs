//! `log-checkpoint`: the number of the newest batch LMDB is known to hold, so that opening the
//! store replays only the log's later batches.
//!
//! It only ever lags: it is written after the LMDB commit it names is durable, and a segment is
//! reused only once this file names its last batch. A file that is missing or unreadable makes
//! the store replay the log's newest unbroken run of batches, which is also correct: every
//! batch puts whole values or deletes keys, so applying again batches LMDB already holds, in
//! order and up to the newest, leaves what the newest left.

use super::crc::crc32c;
use super::segments::{io_error, open_owner_only};
use parley_plugin_api::{PluginError, PluginResult};
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// The file's contents: the number, little-endian, then its CRC-32C, then four zero bytes.
const LENGTH: usize = 16;

/// The open checkpoint file.
pub struct CheckpointFile {
    file: File,
    path: PathBuf,
}

impl CheckpointFile {
    /// Opens (or creates) the file in `dir` and reads the number in it (`None`: a new file, or
    /// one that does not hold a valid number).
    pub fn open(dir: &Path) -> PluginResult<(CheckpointFile, Option<u64>)> {
        let path = dir.join("log-checkpoint");
        let file = open_owner_only(&path, "open the commit log's checkpoint")?;
        if !lock_exclusively(&file)
            .map_err(|e| io_error("lock the commit log's checkpoint", &path, &e))?
        {
            return Err(PluginError::config(format!(
                "the LMDB store at {} is open in another process, and its commit log has one \
                 writer: give each node its own store path",
                dir.display()
            )));
        }
        let mut bytes = [0u8; LENGTH];
        let seq = match file.read_exact_at(&mut bytes, 0) {
            Ok(()) => decode(&bytes),
            Err(_) => None,
        };
        Ok((CheckpointFile { file, path }, seq))
    }

    /// Records that LMDB holds every batch up to `seq`.
    pub fn write(&self, seq: u64) -> PluginResult<()> {
        self.file
            .write_all_at(&encode(seq), 0)
            .and_then(|()| self.file.sync_data())
            .map_err(|e| io_error("write the commit log's checkpoint", &self.path, &e))
    }
}

/// `flock(2)`'s operations, the same numbers on Linux and the BSDs.
const LOCK_EX: i32 = 2;
const LOCK_NB: i32 = 4;

extern "C" {
    /// `flock(2)`, from the C library the standard library links anyway (`File::try_lock`
    /// does the same from Rust 1.89; the workspace's minimum is 1.85).
    fn flock(fd: i32, operation: i32) -> i32;
}

/// Locks `file` for this open file description, without waiting: `Ok(false)` if another
/// holds it. The lock ends when the file is closed.
fn lock_exclusively(file: &File) -> io::Result<bool> {
    // SAFETY: flock(2) takes a descriptor we own for the duration of the call and an integer;
    // it touches no memory of ours.
    if unsafe { flock(file.as_raw_fd(), LOCK_EX | LOCK_NB) } == 0 {
        return Ok(true);
    }
    let error = io::Error::last_os_error();
    match error.kind() {
        io::ErrorKind::WouldBlock => Ok(false),
        _ => Err(error),
    }
}

fn encode(seq: u64) -> [u8; LENGTH] {
    let mut bytes = [0u8; LENGTH];
    bytes[..8].copy_from_slice(&seq.to_le_bytes());
    let crc = crc32c(&[&bytes[..8]]);
    bytes[8..12].copy_from_slice(&crc.to_le_bytes());
    bytes
}

fn decode(bytes: &[u8; LENGTH]) -> Option<u64> {
    let seq = &bytes[..8];
    let crc = u32::from_le_bytes(bytes[8..12].try_into().ok()?);
    (crc32c(&[seq]) == crc).then(|| u64::from_le_bytes(seq.try_into().expect("8 bytes")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_written_number_reads_back_and_a_damaged_one_reads_as_none() {
        let bytes = encode(123_456);
        assert_eq!(decode(&bytes), Some(123_456));
        let mut damaged = bytes;
        damaged[3] ^= 0x10;
        assert_eq!(decode(&damaged), None);
        assert_eq!(decode(&[0u8; LENGTH]), None);
    }

    #[test]
    fn a_second_opener_is_refused_while_the_first_holds_it() {
        let dir = tempfile::tempdir().unwrap();
        let first = CheckpointFile::open(dir.path()).unwrap();
        let error = match CheckpointFile::open(dir.path()) {
            Err(error) => error,
            Ok(_) => panic!("two writers of one commit log"),
        };
        assert!(
            error.message().contains("open in another process"),
            "{error}"
        );
        drop(first);
        CheckpointFile::open(dir.path()).unwrap();
    }

    #[test]
    fn a_new_file_reads_none_then_what_was_written() {
        let dir = tempfile::tempdir().unwrap();
        let (file, seq) = CheckpointFile::open(dir.path()).unwrap();
        assert_eq!(seq, None);
        file.write(42).unwrap();
        drop(file);
        assert_eq!(CheckpointFile::open(dir.path()).unwrap().1, Some(42));
    }
}
