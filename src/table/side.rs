//! Side tables: what later stages derive per sample or per entity, kept beside the samples
//! table instead of rewriting it (SPEC §1).
//!
//! The convention, for embeddings, prune decisions, cluster assignments and screening
//! findings alike:
//! - **Naming**: the side table of `data/x.parquet` of kind `emb` is `data/x.emb.parquet`
//!   ([`side_table_path`]); a stage given an explicit `-o` writes there instead.
//! - **Key**: the first column is [`KEY`] (`id`, utf8, never null, unique in the table). For a
//!   per-sample table it is the sample's id; for a per-entity table it is
//!   `{sample id}@{entity index}` ([`entity_key`]) and the table also has `sample_id` and
//!   `entity` (u32) columns so it joins either way.
//! - **Provenance**: written with [`super::BatchWriter`] or [`super::TableWriter`] and a
//!   [`crate::provenance::Provenance`] whose inputs include the samples table, like every output.
//! - **Joining**: [`index_by_id`] maps ids to rows and refuses duplicates; a join reports the
//!   ids missing on either side rather than dropping them.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The key column of every side table.
pub const KEY: &str = "id";
/// The sample-id column of a per-entity side table.
pub const SAMPLE_ID: &str = "sample_id";
/// The entity-index column of a per-entity side table.
pub const ENTITY: &str = "entity";

/// The side table of kind `kind` of the samples table `samples`:
/// `data/x.parquet` + `emb` → `data/x.emb.parquet`.
pub fn side_table_path(samples: &Path, kind: &str) -> PathBuf {
    crate::io::side_path(samples, kind)
}

/// The key of entity `index` of sample `sample_id`: `{sample_id}@{index}`.
pub fn entity_key(sample_id: &str, index: usize) -> String {
    format!("{sample_id}@{index}")
}

/// The sample id and entity index of an entity key; `None` for a per-sample key.
pub fn split_entity_key(key: &str) -> Option<(&str, usize)> {
    let (sample, index) = key.rsplit_once('@')?;
    Some((sample, index.parse().ok()?))
}

/// The same id twice in a table meant to be keyed by it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{table}: id `{id}` appears in rows {first} and {second}; a side table holds each id once")]
pub struct DuplicateId {
    /// The table.
    pub table: PathBuf,
    /// The repeated id.
    pub id: String,
    /// The first row (0-based) holding it.
    pub first: usize,
    /// The next row holding it.
    pub second: usize,
}

/// Ids to rows. Hashed with foldhash: with SipHash, the standard one, the two indexes and
/// the join of a prune run on 200,000 ids took about 5 % of its CPU time in a profile, and
/// the ids are not chosen by an adversary who could flood the map.
pub type IdIndex<'a> = HashMap<&'a str, usize, foldhash::fast::FixedState>;

/// Maps each id to its row, refusing a repeated id.
pub fn index_by_id<'a, S: AsRef<str> + 'a>(
    table: &Path,
    ids: impl IntoIterator<Item = &'a S>,
) -> Result<IdIndex<'a>, DuplicateId> {
    let ids = ids.into_iter();
    let mut index = IdIndex::with_capacity_and_hasher(ids.size_hint().0, Default::default());
    for (row, id) in ids.enumerate() {
        if let Some(first) = index.insert(id.as_ref(), row) {
            return Err(DuplicateId { table: table.to_path_buf(), id: id.as_ref().to_string(), first, second: row });
        }
    }
    Ok(index)
}

/// The result of joining keys against a side table's index: the row of each key that has
/// one, and the keys that have none (which the caller must report or count, never drop).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Join {
    /// For each key, in order, its row in the side table, if any.
    pub rows: Vec<Option<usize>>,
    /// The keys with no row, in order.
    pub missing: Vec<String>,
}

/// Looks every key up in `index`.
pub fn join<'a>(index: &IdIndex<'_>, keys: impl IntoIterator<Item = &'a str>) -> Join {
    let mut out = Join::default();
    for key in keys {
        let row = index.get(key).copied();
        if row.is_none() {
            out.missing.push(key.to_string());
        }
        out.rows.push(row);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entity_keys_round_trip_and_ids_with_at_signs_survive() {
        let key = entity_key("a@b/train/f:3", 2);
        assert_eq!(split_entity_key(&key), Some(("a@b/train/f:3", 2)));
        assert_eq!(split_entity_key("d/train/f:3"), None);
    }

    #[test]
    fn duplicate_ids_are_refused_and_missing_keys_reported() {
        let ids = vec!["a".to_string(), "b".to_string(), "a".to_string()];
        let err = index_by_id(Path::new("t.parquet"), &ids).unwrap_err();
        assert_eq!((err.first, err.second), (0, 2));
        let ids = vec!["a".to_string(), "b".to_string()];
        let index = index_by_id(Path::new("t.parquet"), &ids).unwrap();
        let j = join(&index, ["b", "c"]);
        assert_eq!(j.rows, vec![Some(1), None]);
        assert_eq!(j.missing, vec!["c".to_string()]);
    }
}
