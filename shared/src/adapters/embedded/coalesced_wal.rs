//! The writer connection's WAL writes, coalesced: one `pwrite` per commit instead of two per page.
//!
//! SQLite appends a commit to the WAL one frame at a time, each frame as two writes (its 24-byte
//! header, then the page). At intake rates that was ~60 `pwrite64` calls per accepted message on
//! the writer thread and most of its CPU was the kernel's per-call work (measured with `perf`:
//! ~80% of the writer's samples in the kernel, `README` → Intake). This VFS sits over the
//! platform's default one and only changes how the WAL file is written: a run of frames that
//! are appended one after the other is kept in memory and written with ONE call when its commit
//! frame is complete (the frame whose header carries the database size, SQLite's commit mark).
//!
//! **Durability is unchanged.** The run is in the OS (the same place an unbuffered write puts it)
//! before SQLite's commit moves on to publish the frames in the WAL index, so a COMMIT that
//! returned survives the process dying exactly as before; a crash in the middle of the write
//! leaves a torn tail, which SQLite's frame checksums reject as they always did.
//!
//! **What is not buffered** (written through as it comes, after whatever is buffered): anything
//! that does not continue the run — a page written again in place (a transaction that spilled
//! its cache), the frame headers SQLite rewrites with fresh checksums at such a commit, a commit
//! frame that starts a run on its own (a one-page commit: nothing to coalesce). Every other call
//! on the file (read, size, sync, truncate, close, file control) writes the run out first, so
//! SQLite never sees the file other than as if each write had gone straight through.
//!
//! Only the table's and queue's writer connections open their files through it (by name,
//! [`name`]); readers and the checkpoint thread use the default VFS.

use std::ffi::{CStr, c_int, c_void};
use std::ptr;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicPtr, Ordering};

use rusqlite::ffi;

const NAME: &CStr = c"miping-coalesced-wal";

/// A frame header's size (SQLite's `WAL_FRAME_HDRSIZE`); the WAL file's own header is 32 bytes.
const FRAME_HEADER: usize = 24;
const WAL_HEADER: usize = 32;

/// A run is written out at this size at the latest (a large transaction; memory stays bounded).
const MAX_RUN: usize = 1 << 20;

/// The most one call to the base file writes: the unix VFS writes `amount & 0x1ffff` bytes per
/// system call (its buffers are never larger), so a larger amount would lose its high bits.
const MAX_WRITE: usize = 0x1f000;

/// The VFS this one delegates to (set once, when it is registered).
static BASE: AtomicPtr<ffi::sqlite3_vfs> = AtomicPtr::new(ptr::null_mut());
static REGISTERED: OnceLock<c_int> = OnceLock::new();

/// Registers the VFS (once per process) and returns the name to open a connection with.
pub fn name() -> rusqlite::Result<&'static str> {
    // SAFETY: registration runs once; `register` only reads the default VFS and leaks its copy.
    let rc = *REGISTERED.get_or_init(|| unsafe { register() });
    if rc != ffi::SQLITE_OK {
        return Err(rusqlite::Error::SqliteFailure(
            ffi::Error::new(rc),
            Some("cannot register the coalesced-WAL VFS".into()),
        ));
    }
    Ok(NAME.to_str().expect("the name is ASCII"))
}

unsafe fn register() -> c_int {
    // SAFETY (whole body): the default VFS outlives the process; its copy is leaked on purpose
    // (SQLite keeps a pointer to a registered VFS for good).
    unsafe {
        let base = ffi::sqlite3_vfs_find(ptr::null());
        if base.is_null() {
            return ffi::SQLITE_ERROR;
        }
        BASE.store(base, Ordering::Release);
        // Every other method is the default VFS's own, with its app data (the unix VFS finds its
        // locking style there); only opening a file changes, and the room a file takes.
        let mut vfs: ffi::sqlite3_vfs = *base;
        vfs.szOsFile = (HEADER + (*base).szOsFile as usize) as c_int;
        vfs.zName = NAME.as_ptr();
        vfs.pNext = ptr::null_mut();
        vfs.xOpen = Some(open);
        ffi::sqlite3_vfs_register(Box::into_raw(Box::new(vfs)), 0)
    }
}

/// A WAL file opened through this VFS. SQLite allocates `szOsFile` bytes for every file: this
/// struct, then (at [`HEADER`]) the default VFS's own file, which does the I/O.
#[repr(C)]
struct WalFile {
    base: ffi::sqlite3_file,
    inner: *mut ffi::sqlite3_file,
    /// The buffered run: bytes for the file from offset `start` on.
    run: Vec<u8>,
    start: i64,
    /// Where the page of a buffered commit frame goes: the run is written once it arrives.
    commit_page_at: i64,
}

const HEADER: usize = (size_of::<WalFile>() + 7) & !7;

static METHODS: ffi::sqlite3_io_methods = ffi::sqlite3_io_methods {
    iVersion: 1,
    xClose: Some(close),
    xRead: Some(read),
    xWrite: Some(write),
    xTruncate: Some(truncate),
    xSync: Some(sync),
    xFileSize: Some(file_size),
    xLock: Some(lock),
    xUnlock: Some(unlock),
    xCheckReservedLock: Some(check_reserved_lock),
    xFileControl: Some(file_control),
    xSectorSize: Some(sector_size),
    xDeviceCharacteristics: Some(device_characteristics),
    xShmMap: None,
    xShmLock: None,
    xShmBarrier: None,
    xShmUnmap: None,
    xFetch: None,
    xUnfetch: None,
};

unsafe extern "C" fn open(
    _vfs: *mut ffi::sqlite3_vfs,
    name: ffi::sqlite3_filename,
    file: *mut ffi::sqlite3_file,
    flags: c_int,
    out_flags: *mut c_int,
) -> c_int {
    // SAFETY: `file` has room for `HEADER` + the base VFS's file (`szOsFile` above).
    unsafe {
        let base = BASE.load(Ordering::Acquire);
        let base_open = (*base).xOpen.expect("a VFS opens files");
        #[cfg(test)]
        if flags & ffi::SQLITE_OPEN_SUBJOURNAL != 0 {
            counts::SUBJOURNAL_FILES.with(|c| c.set(c.get() + 1));
        }
        if flags & ffi::SQLITE_OPEN_WAL == 0 {
            // The database file itself (and anything else): the base VFS's file, unchanged.
            return base_open(base, name, file, flags, out_flags);
        }
        let inner = file.cast::<u8>().add(HEADER).cast::<ffi::sqlite3_file>();
        let rc = base_open(base, name, inner, flags, out_flags);
        if rc != ffi::SQLITE_OK {
            (*file).pMethods = ptr::null();
            return rc;
        }
        ptr::write(
            file.cast::<WalFile>(),
            WalFile {
                base: ffi::sqlite3_file { pMethods: &METHODS },
                inner,
                run: Vec::new(),
                start: 0,
                commit_page_at: -1,
            },
        );
        rc
    }
}

/// The WAL file behind SQLite's pointer, and its base VFS file's methods.
unsafe fn parts<'a>(file: *mut ffi::sqlite3_file) -> (&'a mut WalFile, &'a ffi::sqlite3_io_methods) {
    // SAFETY: only files opened by `open` above carry `METHODS`.
    unsafe {
        let f = &mut *file.cast::<WalFile>();
        let m = &*(*f.inner).pMethods;
        (f, m)
    }
}

/// One write on the base file (the only place that writes it).
unsafe fn base_write(f: &WalFile, m: &ffi::sqlite3_io_methods, bytes: &[u8], offset: i64) -> c_int {
    #[cfg(test)]
    counts::INNER_WRITES.with(|c| c.set(c.get() + 1));
    // SAFETY: the base file's own write, with `bytes` alive through the call.
    unsafe { m.xWrite.expect("xWrite")(f.inner, bytes.as_ptr().cast(), bytes.len() as c_int, offset) }
}

/// Writes the buffered run, if any: one call per [`MAX_WRITE`] bytes.
unsafe fn write_run(f: &mut WalFile, m: &ffi::sqlite3_io_methods) -> c_int {
    let mut rc = ffi::SQLITE_OK;
    let mut at = f.start;
    for chunk in f.run.chunks(MAX_WRITE) {
        // SAFETY: a buffer that lives through the call.
        rc = unsafe { base_write(f, m, chunk, at) };
        if rc != ffi::SQLITE_OK {
            break;
        }
        at += chunk.len() as i64;
    }
    f.run.clear();
    f.commit_page_at = -1;
    rc
}

/// A frame header's commit mark: the database size in pages after a commit, 0 on other frames.
fn commit_mark(header: &[u8]) -> u32 {
    u32::from_be_bytes([header[4], header[5], header[6], header[7]])
}

unsafe extern "C" fn write(file: *mut ffi::sqlite3_file, data: *const c_void, amt: c_int, offset: i64) -> c_int {
    // SAFETY: SQLite passes `amt` readable bytes at `data`.
    unsafe {
        let (f, m) = parts(file);
        let bytes = std::slice::from_raw_parts(data.cast::<u8>(), amt as usize);
        #[cfg(test)]
        counts::WRITES.with(|c| c.set(c.get() + 1));
        if !f.run.is_empty() && offset != f.start + f.run.len() as i64 {
            let rc = write_run(f, m);
            if rc != ffi::SQLITE_OK {
                return rc;
            }
        }
        let is_commit_header = bytes.len() == FRAME_HEADER && commit_mark(bytes) != 0;
        if f.run.is_empty() {
            // A run starts with the WAL's header or a frame's header that is not a commit's:
            // a commit frame on its own, a page rewritten in place and a rewritten header have
            // nothing to coalesce with and go straight through.
            let starts_run =
                (bytes.len() == FRAME_HEADER && !is_commit_header) || (offset == 0 && bytes.len() == WAL_HEADER);
            if !starts_run {
                return base_write(f, m, bytes, offset);
            }
            f.start = offset;
        }
        f.run.extend_from_slice(bytes);
        if is_commit_header {
            f.commit_page_at = offset + FRAME_HEADER as i64;
        } else if offset == f.commit_page_at || f.run.len() >= MAX_RUN {
            return write_run(f, m);
        }
        ffi::SQLITE_OK
    }
}

/// Methods that look at or change the file: the run goes out first.
macro_rules! after_run {
    ($name:ident ( $($arg:ident : $ty:ty),* ) => $method:ident) => {
        unsafe extern "C" fn $name(file: *mut ffi::sqlite3_file $(, $arg: $ty)*) -> c_int {
            // SAFETY: a file opened by `open`; the arguments go to the base file unchanged.
            unsafe {
                let (f, m) = parts(file);
                let rc = write_run(f, m);
                if rc != ffi::SQLITE_OK {
                    return rc;
                }
                m.$method.expect(stringify!($method))(f.inner $(, $arg)*)
            }
        }
    };
}

/// Methods that neither look at nor change the file's content: straight to the base file.
macro_rules! through {
    ($name:ident ( $($arg:ident : $ty:ty),* ) -> $ret:ty => $method:ident) => {
        unsafe extern "C" fn $name(file: *mut ffi::sqlite3_file $(, $arg: $ty)*) -> $ret {
            // SAFETY: a file opened by `open`; the arguments go to the base file unchanged.
            unsafe {
                let (f, m) = parts(file);
                m.$method.expect(stringify!($method))(f.inner $(, $arg)*)
            }
        }
    };
}

after_run!(read(data: *mut c_void, amt: c_int, offset: i64) => xRead);
after_run!(truncate(size: i64) => xTruncate);
after_run!(sync(flags: c_int) => xSync);
after_run!(file_size(size: *mut i64) => xFileSize);
after_run!(file_control(op: c_int, arg: *mut c_void) => xFileControl);
through!(lock(level: c_int) -> c_int => xLock);
through!(unlock(level: c_int) -> c_int => xUnlock);
through!(check_reserved_lock(out: *mut c_int) -> c_int => xCheckReservedLock);
through!(sector_size() -> c_int => xSectorSize);
through!(device_characteristics() -> c_int => xDeviceCharacteristics);

unsafe extern "C" fn close(file: *mut ffi::sqlite3_file) -> c_int {
    // SAFETY: a file opened by `open`; SQLite calls close once and never uses the file again.
    unsafe {
        let (f, m) = parts(file);
        let written = write_run(f, m);
        let closed = m.xClose.expect("xClose")(f.inner);
        ptr::drop_in_place(&mut f.run);
        if written != ffi::SQLITE_OK { written } else { closed }
    }
}

/// Writes SQLite asked for and writes that reached the base file, and statement journals that
/// became files, on this thread (tests only).
#[cfg(test)]
pub(crate) mod counts {
    use std::cell::Cell;

    thread_local! {
        pub(crate) static WRITES: Cell<u64> = const { Cell::new(0) };
        pub(crate) static INNER_WRITES: Cell<u64> = const { Cell::new(0) };
        pub(crate) static SUBJOURNAL_FILES: Cell<u64> = const { Cell::new(0) };
    }

    /// (asked, written) since the thread started.
    pub(crate) fn get() -> (u64, u64) {
        (WRITES.with(Cell::get), INNER_WRITES.with(Cell::get))
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use rusqlite::{Connection, OpenFlags, params};

    use super::*;

    fn writer(path: &Path) -> Connection {
        let conn = Connection::open_with_flags_and_vfs(path, OpenFlags::default(), name().unwrap()).unwrap();
        conn.pragma_update(None, "journal_mode", "WAL").unwrap();
        conn.pragma_update(None, "synchronous", "NORMAL").unwrap();
        // Nothing leaves the WAL: what a reader finds there is what the writer wrote to it.
        conn.pragma_update(None, "wal_autocheckpoint", 0).unwrap();
        conn.execute_batch("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL); CREATE INDEX t_v ON t (v);")
            .unwrap();
        conn
    }

    /// The database and its WAL copied elsewhere while the writer still has them open, as a
    /// process killed at this moment would leave them: SQLite recovers from the WAL alone.
    fn as_left_by_a_crash(path: &Path, to: &Path) -> Connection {
        std::fs::copy(path, to).unwrap();
        std::fs::copy(path.with_extension("db-wal"), to.with_extension("db-wal")).unwrap();
        let conn = Connection::open(to).unwrap();
        let ok: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
        assert_eq!(ok, "ok");
        conn
    }

    fn rows(conn: &Connection) -> Vec<(i64, String)> {
        let mut q = conn.prepare("SELECT k, v FROM t ORDER BY k").unwrap();
        q.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect()
    }

    #[test]
    fn a_commit_of_many_pages_is_one_write_and_survives_a_crash() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.db");
        let mut conn = writer(&path);
        let (asked, written) = counts::get();
        let tx = conn.transaction().unwrap();
        for k in 0..400 {
            tx.execute("INSERT INTO t (k, v) VALUES (?1, ?2)", params![k, format!("{k:0>200}")]).unwrap();
        }
        tx.commit().unwrap();
        let (asked, written) = (counts::get().0 - asked, counts::get().1 - written);
        // ~45 pages of table and index (~185 KB), each two writes SQLite asked for; two calls
        // (of at most `MAX_WRITE` bytes each) reached the file.
        assert!(asked >= 80, "SQLite asked for {asked} writes");
        assert_eq!(written, 2, "{asked} writes asked for, {written} made");

        let copy = as_left_by_a_crash(&path, &dir.path().join("copy.db"));
        assert_eq!(rows(&copy).len(), 400);
        assert_eq!(rows(&copy), rows(&conn));
    }

    #[test]
    fn spilled_and_rewritten_pages_and_a_rolled_back_spill_leave_exactly_the_commits() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.db");
        let mut conn = writer(&path);
        // A cache of a few pages: a larger transaction writes frames before its commit (a spill),
        // then writes pages it changed again over their frames and rewrites the checksums.
        conn.pragma_update(None, "cache_size", 8).unwrap();
        let tx = conn.transaction().unwrap();
        for round in 0..3 {
            for k in 0..300 {
                tx.execute(
                    "INSERT INTO t (k, v) VALUES (?1, ?2) ON CONFLICT (k) DO UPDATE SET v = excluded.v",
                    params![k, format!("{round}-{k:0>150}")],
                )
                .unwrap();
            }
        }
        tx.commit().unwrap();
        let copy = as_left_by_a_crash(&path, &dir.path().join("spilled.db"));
        assert_eq!(rows(&copy), rows(&conn));
        assert_eq!(rows(&copy).len(), 300);
        // A spilled transaction rolled back: its frames are in the file, never committed.
        let tx = conn.transaction().unwrap();
        for k in 1000..1300 {
            tx.execute("INSERT INTO t (k, v) VALUES (?1, ?2)", params![k, format!("{k:0>150}")]).unwrap();
        }
        tx.rollback().unwrap();
        // Then small commits after it (a one-page commit goes straight through).
        conn.execute("UPDATE t SET v = 'changed' WHERE k = 7", []).unwrap();
        conn.execute("INSERT INTO t (k, v) VALUES (2000, 'last')", []).unwrap();

        let copy = as_left_by_a_crash(&path, &dir.path().join("copy.db"));
        let got = rows(&copy);
        assert_eq!(got.len(), 301);
        assert_eq!(got[7], (7, "changed".to_owned()));
        assert_eq!(got[299], (299, format!("2-{:0>150}", 299)));
        assert_eq!(got[300], (2000, "last".to_owned()));
        assert_eq!(got, rows(&conn));
    }

    #[test]
    fn a_reader_on_the_default_vfs_sees_each_commit_when_it_returns() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.db");
        let conn = writer(&path);
        let reader = Connection::open(&path).unwrap();
        for k in 0..50 {
            conn.execute("INSERT INTO t (k, v) VALUES (?1, ?2)", params![k, "x".repeat(1000)]).unwrap();
            let n: i64 = reader.query_row("SELECT count(*) FROM t", [], |r| r.get(0)).unwrap();
            assert_eq!(n, k + 1);
        }
        drop(conn);
        // Closed: the last connection checkpoints and the database file holds everything.
        let n: i64 = reader.query_row("SELECT count(*) FROM t", [], |r| r.get(0)).unwrap();
        assert_eq!(n, 50);
    }
}
