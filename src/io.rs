//! File-system helpers shared by every stage: atomic outputs and path naming.
//!
//! Every output is written to a temporary file in the destination directory and renamed
//! into place only when complete, so a crash or a bad input never leaves half a file behind.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// An I/O failure, with the path it happened on.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {source}")]
pub struct IoError {
    /// The file or directory involved.
    pub path: PathBuf,
    /// What the operating system said.
    #[source]
    pub source: io::Error,
}

impl IoError {
    /// Wraps an `io::Error` with the path it concerns.
    pub fn new(path: impl Into<PathBuf>, source: io::Error) -> Self {
        IoError { path: path.into(), source }
    }
}

/// The directory `path` will be in (`.` for a bare name), created if missing.
fn parent_dir(path: &Path) -> Result<PathBuf, IoError> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(|e| IoError::new(&dir, e))?;
    Ok(dir)
}

/// Temporary files and directories are hidden `.nerprep-*.tmp` siblings of the output.
fn temp_builder() -> tempfile::Builder<'static, 'static> {
    let mut b = tempfile::Builder::new();
    b.prefix(".nerprep-").suffix(".tmp");
    b
}

/// The prefix of the temporary files of output `path`: `.nerprep-NAME.`.
fn temp_prefix(path: &Path) -> String {
    format!(".nerprep-{}.", path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default())
}

/// Removes temporary files of the same output that a killed run left in `dir`: those no
/// live writer holds the lock of (a writer locks its temporary file for as long as it lives,
/// and the lock dies with its process). Best effort: a file that cannot be opened is left.
fn remove_stale_temps(dir: &Path, prefix: &str, ours: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path == ours || !name.starts_with(prefix) || !name.ends_with(".tmp") {
            continue;
        }
        let Ok(file) = File::open(&path) else { continue };
        if file.try_lock().is_ok() {
            let _ = if path.is_dir() { std::fs::remove_dir_all(&path) } else { std::fs::remove_file(&path) };
        }
    }
}

/// A file being written in place of `path`; it appears there only on [`AtomicFile::commit`].
/// Dropping it without committing removes the temporary file.
///
/// A `path` that is a symbolic link is followed: the link's target is replaced and the link
/// kept. A `path` that is a device, pipe or socket (`/dev/null`, `-o /dev/stdout`) is written
/// through directly: renaming a file over it would replace the device.
#[derive(Debug)]
pub struct AtomicFile {
    inner: Inner,
    path: PathBuf,
}

#[derive(Debug)]
enum Inner {
    Temp(tempfile::NamedTempFile),
    Direct(File),
}

/// Where the bytes for `path` really go: the final target of a chain of symbolic links
/// (which may not exist yet), or `path` itself.
fn resolve_links(path: &Path) -> Result<PathBuf, IoError> {
    let mut current = path.to_path_buf();
    for _ in 0..40 {
        match std::fs::symlink_metadata(&current) {
            Ok(m) if m.file_type().is_symlink() => {
                let target = std::fs::read_link(&current).map_err(|e| IoError::new(&current, e))?;
                current = match current.parent() {
                    Some(dir) if target.is_relative() => dir.join(target),
                    _ => target,
                };
            }
            _ => return Ok(current),
        }
    }
    Err(IoError::new(path, io::Error::other("too many levels of symbolic links")))
}

impl AtomicFile {
    /// Starts writing a file that will replace `path`, creating parent directories.
    pub fn create(path: impl AsRef<Path>) -> Result<AtomicFile, IoError> {
        let shown = path.as_ref().to_path_buf();
        let path = resolve_links(&shown)?;
        if let Ok(meta) = std::fs::metadata(&path) {
            if meta.is_dir() {
                return Err(IoError::new(&shown, io::Error::new(io::ErrorKind::IsADirectory, "is a directory; expected a file to write")));
            }
            if !meta.is_file() {
                let file = std::fs::OpenOptions::new().write(true).open(&path).map_err(|e| IoError::new(&shown, e))?;
                return Ok(AtomicFile { inner: Inner::Direct(file), path: shown });
            }
        }
        let dir = parent_dir(&path)?;
        let prefix = temp_prefix(&path);
        let temp = temp_builder().prefix(&prefix).tempfile_in(&dir).map_err(|e| IoError::new(&dir, e))?;
        temp.as_file().lock().map_err(|e| IoError::new(temp.path(), e))?;
        remove_stale_temps(&dir, &prefix, temp.path());
        Ok(AtomicFile { inner: Inner::Temp(temp), path })
    }

    /// The final path the file will have (a link's target, when the path given was a link).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A second handle on the file being written, for writers that want to own a `File`.
    pub fn file(&self) -> Result<File, IoError> {
        match &self.inner {
            Inner::Temp(t) => t.reopen().map_err(|e| IoError::new(t.path(), e)),
            Inner::Direct(f) => f.try_clone().map_err(|e| IoError::new(&self.path, e)),
        }
    }

    /// Flushes the data to disk and renames the temporary file into place. The file gets
    /// ordinary permissions (0644 on Unix), not the private ones temporary files start with.
    /// A device or pipe is only flushed.
    pub fn commit(self) -> Result<(), IoError> {
        let AtomicFile { inner, path } = self;
        let temp = match inner {
            Inner::Direct(mut f) => return f.flush().map_err(|e| IoError::new(&path, e)),
            Inner::Temp(t) => t,
        };
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let perms = std::fs::Permissions::from_mode(0o644);
            temp.as_file().set_permissions(perms).map_err(|e| IoError::new(&path, e))?;
        }
        temp.as_file().sync_all().map_err(|e| IoError::new(&path, e))?;
        temp.persist(&path).map_err(|e| IoError::new(&path, e.error))?;
        Ok(())
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.inner {
            Inner::Temp(t) => t.write(buf),
            Inner::Direct(f) => f.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.inner {
            Inner::Temp(t) => t.flush(),
            Inner::Direct(f) => f.flush(),
        }
    }
}

/// What makes a file itself whatever path reaches it: device and inode on Unix, the
/// canonical path elsewhere.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FileIdentity {
    /// Device and inode numbers.
    Inode(u64, u64),
    /// The canonical path (where inodes are not available).
    Path(PathBuf),
}

/// The identity of the file at `path` (links followed).
pub fn file_identity(path: &Path) -> std::io::Result<FileIdentity> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::metadata(path)?;
        Ok(FileIdentity::Inode(meta.dev(), meta.ino()))
    }
    #[cfg(not(unix))]
    {
        Ok(FileIdentity::Path(std::fs::canonicalize(path)?))
    }
}

/// What a directory walk passed over (see [`walk_files`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Walked {
    /// Links to a directory above them, not followed again.
    pub loops: u64,
    /// Files reached a second time through a link, listed once.
    pub duplicates: u64,
}

/// Every file under `dir`, recursively and sorted by path. Links are followed, but a link
/// back to a directory above it is not, and a file reached twice is listed once, at its
/// first path: no walk loops, and no file is read twice.
pub fn walk_files(dir: &Path) -> Result<(Vec<PathBuf>, Walked), IoError> {
    let mut seen = std::collections::HashSet::new();
    let mut walked = Walked::default();
    let mut out = Vec::new();
    for entry in walkdir::WalkDir::new(dir).follow_links(true).sort_by_file_name() {
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) if e.loop_ancestor().is_some() => {
                walked.loops += 1;
                continue;
            }
            Err(e) => {
                let path = e.path().unwrap_or(dir).to_path_buf();
                return Err(IoError::new(path, e.into_io_error().unwrap_or_else(|| io::Error::other("cannot walk the directory"))));
            }
        };
        if entry.file_type().is_dir() {
            continue;
        }
        if !seen.insert(file_identity(entry.path()).map_err(|e| IoError::new(entry.path(), e))?) {
            walked.duplicates += 1;
            continue;
        }
        out.push(entry.into_path());
    }
    Ok((out, walked))
}

/// Whether `a` and `b` name the same file (see [`FileIdentity`]).
pub fn same_file(a: &Path, b: &Path) -> bool {
    matches!((file_identity(a), file_identity(b)), (Ok(x), Ok(y)) if x == y)
}

/// The input among `inputs` that `output` would overwrite, if any.
pub fn input_overwritten_by<'a>(inputs: &[&'a Path], output: &Path) -> Option<&'a Path> {
    inputs.iter().copied().find(|i| same_file(i, output))
}

/// A directory being filled in place of `path`; it replaces `path` only on
/// [`AtomicDir::commit`]. Dropping it without committing removes what was written.
#[derive(Debug)]
pub struct AtomicDir {
    temp: tempfile::TempDir,
    path: PathBuf,
    /// The temporary directory opened and locked, so the next run of the same output can
    /// tell a live one from one a killed run left.
    _lock: File,
}

impl AtomicDir {
    /// Starts a directory that will replace `path`, creating parent directories.
    pub fn create(path: impl AsRef<Path>) -> Result<AtomicDir, IoError> {
        let path = path.as_ref().to_path_buf();
        let dir = parent_dir(&path)?;
        let prefix = temp_prefix(&path);
        let temp = temp_builder().prefix(&prefix).tempdir_in(&dir).map_err(|e| IoError::new(&dir, e))?;
        let lock = File::open(temp.path()).map_err(|e| IoError::new(temp.path(), e))?;
        lock.lock().map_err(|e| IoError::new(temp.path(), e))?;
        remove_stale_temps(&dir, &prefix, temp.path());
        Ok(AtomicDir { temp, path, _lock: lock })
    }

    /// The temporary directory to write into.
    pub fn path(&self) -> &Path {
        self.temp.path()
    }

    /// Moves the directory into place with ordinary permissions (0755 on Unix); an existing
    /// directory at the path is replaced (moved aside first, removed after), anything else
    /// there is an error.
    pub fn commit(self) -> Result<(), IoError> {
        let AtomicDir { temp, path, _lock } = self;
        if path.exists() && !path.is_dir() {
            let err = io::Error::new(io::ErrorKind::AlreadyExists, "exists and is not a directory");
            return Err(IoError::new(&path, err));
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let perms = std::fs::Permissions::from_mode(0o755);
            std::fs::set_permissions(temp.path(), perms).map_err(|e| IoError::new(&path, e))?;
        }
        let old = temp.path().with_extension("old");
        // Only a directory nerprep wrote may be replaced whole; callers check that.
        if path.exists() {
            std::fs::rename(&path, &old).map_err(|e| IoError::new(&path, e))?;
        }
        let new = temp.keep();
        if let Err(e) = std::fs::rename(&new, &path) {
            let _ = std::fs::remove_dir_all(&new);
            return Err(IoError::new(&path, e));
        }
        if old.exists() {
            std::fs::remove_dir_all(&old).map_err(|e| IoError::new(&old, e))?;
        }
        Ok(())
    }
}

/// Several files that appear together: each is written in full to its temporary file
/// first, and only then are all renamed into place, so a failure before
/// [`FileSet::commit`] leaves every old file as it was.
#[derive(Debug, Default)]
pub struct FileSet {
    files: Vec<AtomicFile>,
}

impl FileSet {
    /// An empty set.
    pub fn new() -> FileSet {
        FileSet::default()
    }

    /// Writes `bytes` to a temporary file that will replace `path`.
    pub fn add(&mut self, path: impl AsRef<Path>, bytes: &[u8]) -> Result<(), IoError> {
        let mut f = AtomicFile::create(path)?;
        f.write_all(bytes).map_err(|e| IoError::new(f.path().to_path_buf(), e))?;
        self.files.push(f);
        Ok(())
    }

    /// Renames every file into place.
    pub fn commit(self) -> Result<Vec<PathBuf>, IoError> {
        let paths = self.files.iter().map(|f| f.path().to_path_buf()).collect();
        for f in self.files {
            f.commit()?;
        }
        Ok(paths)
    }
}

impl AtomicDir {
    /// Moves every file written into the directory at `path`, replacing files of the same
    /// name and keeping every other file there (an existing directory the user filled is
    /// never removed). Creates `path` when it does not exist.
    pub fn commit_into(self) -> Result<(), IoError> {
        let AtomicDir { temp, path, _lock } = self;
        if !path.exists() {
            return AtomicDir { temp, path, _lock }.commit();
        }
        if !path.is_dir() {
            return Err(IoError::new(&path, io::Error::new(io::ErrorKind::AlreadyExists, "exists and is not a directory")));
        }
        for entry in std::fs::read_dir(temp.path()).map_err(|e| IoError::new(temp.path(), e))? {
            let entry = entry.map_err(|e| IoError::new(temp.path(), e))?;
            let target = path.join(entry.file_name());
            if target.is_dir() {
                return Err(IoError::new(&target, io::Error::new(io::ErrorKind::AlreadyExists, "is a directory; nerprep writes a file there")));
            }
            std::fs::rename(entry.path(), &target).map_err(|e| IoError::new(&target, e))?;
        }
        Ok(())
    }
}

/// Writes `bytes` to `path` atomically.
pub fn write_atomic(path: impl AsRef<Path>, bytes: &[u8]) -> Result<(), IoError> {
    let mut f = AtomicFile::create(path)?;
    f.write_all(bytes).map_err(|e| IoError::new(f.path().to_path_buf(), e))?;
    f.commit()
}

/// Streams text to `path` atomically through a buffered writer built by `fill`.
pub fn write_atomic_with<E: From<IoError>>(
    path: impl AsRef<Path>,
    fill: impl FnOnce(&mut BufWriter<&mut AtomicFile>) -> Result<(), E>,
) -> Result<(), E> {
    let mut f = AtomicFile::create(path)?;
    {
        let mut w = BufWriter::with_capacity(1 << 20, &mut f);
        fill(&mut w)?;
        let p = w.get_ref().path().to_path_buf();
        w.flush().map_err(|e| IoError::new(p, e))?;
    }
    f.commit()?;
    Ok(())
}

/// Calls `each` with the 1-based number and text of every non-blank line of the JSON Lines
/// file `path` (a byte-order mark and surrounding whitespace removed), in order, streaming.
/// A line that is not UTF-8 is handed over as the error, with its number, so the caller
/// quarantines that line and reads on.
pub fn for_each_json_line<E: From<IoError>>(
    path: &Path,
    mut each: impl FnMut(u64, Result<&str, std::str::Utf8Error>) -> Result<(), E>,
) -> Result<(), E> {
    use std::io::BufRead;
    let file = File::open(path).map_err(|e| IoError::new(path, e))?;
    let mut reader = io::BufReader::with_capacity(1 << 20, file);
    let mut buf = Vec::new();
    let mut line_no = 0u64;
    loop {
        buf.clear();
        if reader.read_until(b'\n', &mut buf).map_err(|e| IoError::new(path, e))? == 0 {
            return Ok(());
        }
        line_no += 1;
        match std::str::from_utf8(&buf) {
            Ok(line) => {
                let trimmed = line.trim_start_matches('\u{feff}').trim();
                if !trimmed.is_empty() {
                    each(line_no, Ok(trimmed))?;
                }
            }
            Err(e) => each(line_no, Err(e))?,
        }
    }
}

/// The path of a side file of `output`: `data/x.parquet` + `quarantine` → `data/x.quarantine.parquet`.
pub fn side_path(output: &Path, tag: &str) -> PathBuf {
    let stem = output.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let ext = output.extension().map(|e| e.to_string_lossy().into_owned());
    let name = match ext {
        Some(ext) => format!("{stem}.{tag}.{ext}"),
        None => format!("{stem}.{tag}"),
    };
    output.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_file_appears_only_on_commit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/out.txt");
        let mut f = AtomicFile::create(&path).unwrap();
        f.write_all(b"hello").unwrap();
        assert!(!path.exists());
        f.commit().unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "hello");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o644);
        }
    }

    #[test]
    fn regression_output_to_a_device_writes_through_and_a_link_keeps_its_link() {
        let dir = tempfile::tempdir().unwrap();
        let f = AtomicFile::create("/dev/null").unwrap();
        f.commit().unwrap();
        let meta = std::fs::metadata("/dev/null").unwrap();
        assert!(!meta.is_file(), "/dev/null is still a device");
        let target = dir.path().join("real.txt");
        std::fs::write(&target, "old").unwrap();
        let link = dir.path().join("link.txt");
        std::os::unix::fs::symlink("real.txt", &link).unwrap();
        write_atomic(&link, b"new").unwrap();
        assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink(), "the link stays a link");
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "new");
        assert!(AtomicFile::create(dir.path()).is_err(), "a directory is not a file to write");
    }

    #[test]
    fn regression_input_equal_to_output_is_found_through_other_spellings() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.txt");
        std::fs::write(&a, "x").unwrap();
        let other = dir.path().join("sub/../a.txt");
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        assert_eq!(input_overwritten_by(&[&a], &other), Some(a.as_path()));
        assert_eq!(input_overwritten_by(&[&a], &dir.path().join("b.txt")), None);
    }

    #[test]
    fn stale_temporaries_of_the_same_output_are_removed_live_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.txt");
        let stale = dir.path().join(".nerprep-out.txt.abc123.tmp");
        std::fs::write(&stale, "left by a killed run").unwrap();
        let other = dir.path().join(".nerprep-other.txt.abc123.tmp");
        std::fs::write(&other, "another output's").unwrap();
        let live = AtomicFile::create(&path).unwrap();
        assert!(!stale.exists(), "an unlocked temporary of the same output is stale");
        assert!(other.exists(), "another output's temporary is not ours to remove");
        let second = AtomicFile::create(&path).unwrap();
        let Inner::Temp(t) = &live.inner else { panic!("a regular file is written through a temporary") };
        assert!(t.path().exists(), "a temporary a live writer holds is kept");
        drop((live, second));
    }

    #[test]
    fn dropped_atomic_file_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.txt");
        drop(AtomicFile::create(&path).unwrap());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn atomic_dir_replaces_the_old_directory_only_on_commit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out");
        std::fs::create_dir(&path).unwrap();
        std::fs::write(path.join("stale.txt"), "old").unwrap();
        let d = AtomicDir::create(&path).unwrap();
        std::fs::write(d.path().join("new.txt"), "new").unwrap();
        assert!(path.join("stale.txt").exists());
        d.commit().unwrap();
        assert!(!path.join("stale.txt").exists());
        assert_eq!(std::fs::read_to_string(path.join("new.txt")).unwrap(), "new");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "no temporary left behind");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o755);
        }
    }

    #[test]
    fn side_path_inserts_the_tag_before_the_extension() {
        assert_eq!(side_path(Path::new("data/x.parquet"), "quarantine"), PathBuf::from("data/x.quarantine.parquet"));
        assert_eq!(side_path(Path::new("x"), "q"), PathBuf::from("x.q"));
    }
}
