//! Accounting shared by every stage: `read = written + quarantined + skipped`, by reason.
//!
//! Each stage fills one [`Counts`], prints its summary line, and stores it in its outputs'
//! metadata so `stats` and the build manifest can show where every record went.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// Where the records a stage read went. Reason maps are sorted so output is deterministic.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Which stage produced these counts (`ingest`, `export`, …).
    pub stage: String,
    /// Records read (sentences, array elements, lines…, as the format defines a record).
    pub read: u64,
    /// Rows written to the main output.
    pub written: u64,
    /// Records sent to quarantine, by reason code.
    pub quarantined: BTreeMap<String, u64>,
    /// Records deliberately not written, by reason (`skipped_task:RE`, `merged`…).
    pub skipped: BTreeMap<String, u64>,
    /// Things tolerated or repaired without losing a record (`repaired_bio`, `bom`…).
    pub notes: BTreeMap<String, u64>,
}

/// Counts that do not add up: a record went missing or was counted twice.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{stage}: read {read} != written {written} + quarantined {quarantined} + skipped {skipped}")]
pub struct UnbalancedCounts {
    /// The stage whose counts are off.
    pub stage: String,
    /// Records read.
    pub read: u64,
    /// Rows written.
    pub written: u64,
    /// Records quarantined.
    pub quarantined: u64,
    /// Records skipped.
    pub skipped: u64,
}

impl Counts {
    /// Empty counts for `stage`.
    pub fn new(stage: impl Into<String>) -> Counts {
        Counts { stage: stage.into(), ..Counts::default() }
    }

    /// Records quarantined, all reasons together.
    pub fn quarantined_total(&self) -> u64 {
        self.quarantined.values().sum()
    }

    /// Records skipped, all reasons together.
    pub fn skipped_total(&self) -> u64 {
        self.skipped.values().sum()
    }

    /// Counts one quarantined record under `reason`.
    pub fn quarantine(&mut self, reason: &str) {
        bump(&mut self.quarantined, reason, 1);
    }

    /// Counts `n` skipped records under `reason`.
    pub fn skip(&mut self, reason: &str, n: u64) {
        bump(&mut self.skipped, reason, n);
    }

    /// Counts `n` tolerated events under `what`.
    pub fn note(&mut self, what: &str, n: u64) {
        bump(&mut self.notes, what, n);
    }

    /// Adds another stage's (or file's) counts into these.
    pub fn absorb(&mut self, other: &Counts) {
        self.read += other.read;
        self.written += other.written;
        for (dst, src) in [
            (&mut self.quarantined, &other.quarantined),
            (&mut self.skipped, &other.skipped),
            (&mut self.notes, &other.notes),
        ] {
            for (k, v) in src {
                *dst.entry(k.clone()).or_default() += v;
            }
        }
    }

    /// Checks `read = written + quarantined + skipped`.
    pub fn check(&self) -> Result<(), UnbalancedCounts> {
        let (q, s) = (self.quarantined_total(), self.skipped_total());
        if self.read == self.written + q + s {
            Ok(())
        } else {
            Err(UnbalancedCounts {
                stage: self.stage.clone(),
                read: self.read,
                written: self.written,
                quarantined: q,
                skipped: s,
            })
        }
    }
}

/// Adds `n` to `map[key]` without allocating when the key exists (called per line).
fn bump(map: &mut BTreeMap<String, u64>, key: &str, n: u64) {
    if n == 0 {
        return;
    }
    match map.get_mut(key) {
        Some(v) => *v += n,
        None => {
            map.insert(key.to_string(), n);
        }
    }
}

fn reasons(map: &BTreeMap<String, u64>) -> String {
    if map.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = map.iter().map(|(k, v)| format!("{k} {v}")).collect();
    format!(" ({})", parts.join(", "))
}

impl fmt::Display for Counts {
    /// One line `stage: read N = written N + quarantined N (…) + skipped N (…)`, and a
    /// second line of notes when there are any.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: read {} = written {} + quarantined {}{} + skipped {}{}",
            self.stage,
            self.read,
            self.written,
            self.quarantined_total(),
            reasons(&self.quarantined),
            self.skipped_total(),
            reasons(&self.skipped),
        )?;
        if !self.notes.is_empty() {
            let parts: Vec<String> = self.notes.iter().map(|(k, v)| format!("{k} {v}")).collect();
            write!(f, "\n  notes: {}", parts.join(", "))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn balanced_counts_pass_and_print_reasons() {
        let mut c = Counts::new("ingest");
        c.read = 5;
        c.written = 2;
        c.quarantine("bad_tag");
        c.quarantine("bad_tag");
        c.skip("skipped_task:RE", 1);
        c.note("repaired_bio", 3);
        assert!(c.check().is_ok());
        assert_eq!(
            c.to_string(),
            "ingest: read 5 = written 2 + quarantined 2 (bad_tag 2) + skipped 1 (skipped_task:RE 1)\n  notes: repaired_bio 3"
        );
    }

    #[test]
    fn unbalanced_counts_are_an_error() {
        let mut c = Counts::new("ingest");
        c.read = 3;
        c.written = 1;
        assert_eq!(c.check().unwrap_err().read, 3);
    }

    #[test]
    fn absorb_adds_everything() {
        let mut a = Counts::new("x");
        a.read = 1;
        a.written = 1;
        let mut b = Counts::new("x");
        b.read = 2;
        b.quarantine("r");
        b.skip("s", 1);
        a.absorb(&b);
        assert_eq!((a.read, a.written, a.quarantined_total(), a.skipped_total()), (3, 1, 1, 1));
        assert!(a.check().is_ok());
    }
}
