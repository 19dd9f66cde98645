//! The lock that lets one delivery worker at a time send from a database.
//!
//! The worker keeps its claims in memory, so a second worker on the same database would
//! claim the same deliveries. The lock is an advisory lock (`flock`) on a file beside
//! the database, which the operating system releases when the process ends.

use std::fs::{File, OpenOptions, TryLockError};
use std::io;
use std::path::{Path, PathBuf};

/// Held lock on a database's worker lock file. Dropping it releases the lock.
#[derive(Debug)]
pub struct WorkerLock {
    _file: File,
}

impl WorkerLock {
    /// Returns the lock file of the database at `database`: its path with
    /// `.worker-lock` appended.
    pub fn path_for(database: &Path) -> PathBuf {
        let mut path = database.as_os_str().to_owned();
        path.push(".worker-lock");
        PathBuf::from(path)
    }

    /// Takes the lock at `path`, creating the file when missing. Returns `None` while
    /// another worker, in this process or another one, has it.
    pub fn try_acquire(path: &Path) -> io::Result<Option<Self>> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)?;
        match file.try_lock() {
            Ok(()) => Ok(Some(Self { _file: file })),
            Err(TryLockError::WouldBlock) => Ok(None),
            Err(TryLockError::Error(error)) => Err(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_holder_waits_until_first_drops() {
        let directory = tempfile::tempdir().unwrap();
        let path = WorkerLock::path_for(&directory.path().join("connector.sqlite3"));

        let first = WorkerLock::try_acquire(&path).unwrap();
        assert!(first.is_some());
        assert!(WorkerLock::try_acquire(&path).unwrap().is_none());

        drop(first);
        assert!(WorkerLock::try_acquire(&path).unwrap().is_some());
    }

    #[test]
    fn lock_file_sits_beside_database() {
        let path = WorkerLock::path_for(Path::new("/var/lib/connector/connector.sqlite3"));

        assert_eq!(
            path,
            Path::new("/var/lib/connector/connector.sqlite3.worker-lock")
        );
    }
}
