//! Errors and diagnostics of the taxonomy stage.

use crate::io::IoError;
use crate::table::TableError;
use serde::Serialize;
use std::fmt;
use std::path::PathBuf;

/// How serious a [`Diagnostic`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The file cannot be used as it is (`taxonomy check` exits 1, `map` refuses it).
    Error,
    /// Allowed, but worth a look (case variants the source really has, …).
    Warning,
    /// Information for reviewers (unreviewed draft entries, …).
    Note,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        })
    }
}

/// One finding about a taxonomy or mapping file, with the line it is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// How serious it is.
    pub severity: Severity,
    /// The file (as given, or `git:REV:path`).
    pub file: String,
    /// 1-based line of the offending entry, when it has one.
    pub line: Option<usize>,
    /// A short stable code (`duplicate_type`, `unknown_archetype`, …).
    pub code: &'static str,
    /// What is wrong and what was expected.
    pub message: String,
}

impl Diagnostic {
    /// A diagnostic of `severity` about `file:line`.
    pub fn new(
        severity: Severity,
        file: impl Into<String>,
        line: Option<usize>,
        code: &'static str,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic { severity, file: file.into(), line, code, message: message.into() }
    }

    /// `file:line` (or just `file`).
    pub fn location(&self) -> String {
        match self.line {
            Some(l) => format!("{}:{l}", self.file),
            None => self.file.clone(),
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {} [{}]", self.location(), self.severity, self.message, self.code)
    }
}

/// Why a taxonomy, mapping or mapped table could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TaxonomyError {
    /// A file could not be read or written.
    #[error(transparent)]
    Io(#[from] IoError),
    /// A samples table could not be read or written.
    #[error(transparent)]
    Table(#[from] TableError),
    /// The file is not valid YAML of the expected shape.
    #[error("{file}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
    Parse {
        /// The file.
        file: String,
        /// 1-based line, when the parser knows it.
        line: Option<usize>,
        /// What the parser expected.
        message: String,
    },
    /// The file parsed but breaks the rules `taxonomy check` enforces.
    #[error("{}", render_errors(.0))]
    Invalid(Vec<Diagnostic>),
    /// `git show` failed for a `git:REV:path` source.
    #[error("{spec}: git show failed: {message}")]
    Git {
        /// The source as given.
        spec: String,
        /// What git said.
        message: String,
    },
    /// A directory given as a taxonomy version holds no usable file, or too many.
    #[error("{path}: {message}")]
    Layout {
        /// The directory.
        path: PathBuf,
        /// What was expected.
        message: String,
    },
}

fn render_errors(diagnostics: &[Diagnostic]) -> String {
    let lines: Vec<String> = diagnostics.iter().map(|d| d.to_string()).collect();
    lines.join("\n")
}
