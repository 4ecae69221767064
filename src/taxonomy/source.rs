//! Where taxonomy text comes from: a file, or a file at a git revision (`git:REV:path`),
//! so a reviewer can diff a branch's taxonomy against `main` without checking it out.

use super::TaxonomyError;
use crate::io::IoError;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A place to read one taxonomy or mapping file from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A file on disk.
    File(PathBuf),
    /// `path` as it is at git revision `rev` (read with `git show REV:path`; `path` is
    /// relative to the repository root, or to the current directory when it starts with `./`).
    Git {
        /// A revision git understands (`main`, `HEAD~1`, a hash).
        rev: String,
        /// The file inside the repository.
        path: String,
    },
}

impl Source {
    /// Parses `git:REV:path`, anything else is a file path.
    pub fn parse(spec: &str) -> Source {
        if let Some(rest) = spec.strip_prefix("git:")
            && let Some((rev, path)) = rest.split_once(':')
            && !rev.is_empty()
            && !path.is_empty()
        {
            return Source::Git { rev: rev.to_string(), path: path.to_string() };
        }
        Source::File(PathBuf::from(spec))
    }

    /// How messages name this source.
    pub fn display(&self) -> String {
        match self {
            Source::File(p) => p.display().to_string(),
            Source::Git { rev, path } => format!("git:{rev}:{path}"),
        }
    }

    /// Reads the whole text.
    pub fn read(&self) -> Result<String, TaxonomyError> {
        match self {
            Source::File(p) => read_file(p),
            Source::Git { rev, path } => git_show(rev, path, &self.display()),
        }
    }
}

/// Reads a UTF-8 file, naming it on failure.
pub(crate) fn read_file(path: &Path) -> Result<String, TaxonomyError> {
    std::fs::read_to_string(path).map_err(|e| IoError::new(path, e).into())
}

fn git_show(rev: &str, path: &str, spec: &str) -> Result<String, TaxonomyError> {
    let out = Command::new("git")
        .arg("show")
        .arg(format!("{rev}:{path}"))
        .output()
        .map_err(|e| TaxonomyError::Git { spec: spec.to_string(), message: e.to_string() })?;
    if !out.status.success() {
        let message = String::from_utf8_lossy(&out.stderr).trim().to_string();
        return Err(TaxonomyError::Git { spec: spec.to_string(), message });
    }
    String::from_utf8(out.stdout)
        .map_err(|e| TaxonomyError::Git { spec: spec.to_string(), message: format!("not UTF-8: {e}") })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_specs_and_paths_are_told_apart() {
        assert_eq!(
            Source::parse("git:main:mappings/iepile.yaml"),
            Source::Git { rev: "main".into(), path: "mappings/iepile.yaml".into() }
        );
        assert_eq!(Source::parse("mappings/iepile.yaml"), Source::File("mappings/iepile.yaml".into()));
        assert_eq!(Source::parse("git:nopath"), Source::File("git:nopath".into()));
    }
}
