//! Parquet I/O for the canonical tables: a streaming, atomic batch writer and a batch reader.
//!
//! Rows are buffered into Arrow record batches of [`BATCH_ROWS`] and written as zstd Parquet
//! to a temporary file, renamed into place on [`TableWriter::finish`]. Readers stream the
//! file back batch by batch, so memory stays bounded by one batch whatever the file size.
//! Stage counts and provenance travel in the Parquet key-value metadata.

pub mod side;
pub mod vectors;

use crate::io::{AtomicFile, IoError};
use crate::provenance::{HashingWriter, Provenance, PROVENANCE_KEY};
use crate::model::schema::{
    batch_to_quarantine, batch_to_sample_rows, batch_to_samples, check_samples_schema, quarantine_schema,
    quarantine_to_batch, reading_schema, samples_schema, samples_to_batch, RowError, TABLE_VERSION,
};
use crate::model::{QuarantineRecord, Sample};
use crate::report::Counts;
use arrow_array::RecordBatch;
use arrow_schema::{ArrowError, SchemaRef};
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::errors::ParquetError;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use parquet::schema::types::ColumnPath;
use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;

/// Rows per Arrow batch handed to the Parquet writer.
pub const BATCH_ROWS: usize = 8192;
/// Rows per Parquet row group: large enough to compress well, small enough to stream.
const ROW_GROUP_ROWS: usize = 128 * 1024;
/// The most bytes of fixed-width values (vectors) one row group holds: the writer buffers a
/// whole group in memory, and 128Ki rows of 384-dimensional vectors would be 192 MiB.
const ROW_GROUP_FIXED_BYTES: usize = 16 << 20;
/// Metadata key holding the JSON [`Counts`] of the stage that wrote the file.
pub const COUNTS_KEY: &str = "nerprep.counts";
/// Metadata key holding the table layout version.
pub const VERSION_KEY: &str = "nerprep.table_version";

/// Reading or writing a table failed.
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    /// The file could not be opened, created or renamed.
    #[error(transparent)]
    Io(#[from] IoError),
    /// The Parquet layer failed (corrupt file, not Parquet, …).
    #[error("{path}: {source}")]
    Parquet {
        /// The file.
        path: PathBuf,
        /// The Parquet error.
        #[source]
        source: ParquetError,
    },
    /// The file is Parquet but its columns do not fit the table it is read as.
    #[error("{path}: {message}")]
    Layout {
        /// The file.
        path: PathBuf,
        /// Which column is wrong and what was expected.
        message: String,
    },
    /// The table was written by a newer nerprep with a layout this one does not know.
    #[error("{path}: table version {found} is newer than this nerprep reads (up to {supported}); upgrade nerprep")]
    FutureVersion {
        /// The file.
        path: PathBuf,
        /// The version stored in the file.
        found: String,
        /// The newest version this build reads.
        supported: &'static str,
    },
    /// A row is not a valid record of the table (read through the plain iterator, which
    /// cannot quarantine it; stages that can use [`TableReader::next_checked`]).
    #[error("{path}: row {row}: {message}")]
    InvalidRow {
        /// The file.
        path: PathBuf,
        /// The 0-based row.
        row: u64,
        /// What is wrong.
        message: String,
    },
    /// The file is Parquet but not a table of the expected shape.
    #[error("{path}: not a nerprep table: {source}")]
    Schema {
        /// The file.
        path: PathBuf,
        /// What did not fit.
        #[source]
        source: ArrowError,
    },
}

/// A kind of row that has a table of its own.
pub trait TableRow: Sized + Send + 'static {
    /// The table's Arrow schema.
    fn schema() -> SchemaRef;
    /// Rows to one record batch.
    fn to_batch(rows: &[Self]) -> Result<RecordBatch, ArrowError>;
    /// One record batch back to rows.
    fn from_batch(batch: &RecordBatch) -> Result<Vec<Self>, ArrowError>;
    /// One record batch back to one result per row, so that a bad row can be quarantined
    /// while the others are read; a batch of the wrong shape is an error for all of it.
    fn from_batch_rows(batch: &RecordBatch) -> Result<Vec<Result<Self, RowError>>, ArrowError> {
        Ok(Self::from_batch(batch)?.into_iter().map(Ok).collect())
    }
    /// Checks a file's (normalised) schema before any row is read; the message names the
    /// column and what was expected.
    fn check_schema(_schema: &arrow_schema::Schema) -> Result<(), String> {
        Ok(())
    }
    /// Columns (Parquet paths, dotted for nested ones) whose values are (nearly) all
    /// distinct: dictionary encoding only costs time there, so they are written plain.
    fn distinct_columns() -> &'static [&'static str] {
        &[]
    }
}

impl TableRow for Sample {
    fn schema() -> SchemaRef {
        samples_schema()
    }
    fn to_batch(rows: &[Self]) -> Result<RecordBatch, ArrowError> {
        samples_to_batch(rows)
    }
    fn from_batch(batch: &RecordBatch) -> Result<Vec<Self>, ArrowError> {
        batch_to_samples(batch)
    }
    fn from_batch_rows(batch: &RecordBatch) -> Result<Vec<Result<Self, RowError>>, ArrowError> {
        batch_to_sample_rows(batch)
    }
    fn check_schema(schema: &arrow_schema::Schema) -> Result<(), String> {
        check_samples_schema(schema)
    }
    fn distinct_columns() -> &'static [&'static str] {
        // A mention's offsets and text repeat too rarely for a dictionary to pay: without
        // one the CrossNER bench's table was 7 % smaller and written with 2 % fewer
        // instructions.
        &["id", "text", "meta", "entities.list.item.start", "entities.list.item.end", "entities.list.item.text"]
    }
}

impl TableRow for QuarantineRecord {
    fn schema() -> SchemaRef {
        quarantine_schema()
    }
    fn to_batch(rows: &[Self]) -> Result<RecordBatch, ArrowError> {
        quarantine_to_batch(rows)
    }
    fn from_batch(batch: &RecordBatch) -> Result<Vec<Self>, ArrowError> {
        batch_to_quarantine(batch)
    }
}

/// The file a table is encoded into: hashed as it is written, so that the data's digest is
/// known when the footer (which records it) is written.
type Sink = HashingWriter<File>;

/// A table whose bytes are all written, waiting to be renamed into place (see
/// [`commit_all`], which renames several outputs of one stage together).
#[derive(Debug)]
pub struct ClosedTable {
    file: AtomicFile,
    provenance: Provenance,
    rows: u64,
}

impl ClosedTable {
    /// Renames the table into place; returns its provenance (with the output digest).
    pub fn commit(self) -> Result<Provenance, IoError> {
        self.file.commit()?;
        Ok(self.provenance)
    }

    /// Rows in the table.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// The provenance the table carries.
    pub fn provenance(&self) -> &Provenance {
        &self.provenance
    }
}

/// Renames every closed table into place, only once all of them were written: a stage's
/// outputs appear together or (when any failed before this point) not at all.
pub fn commit_all(tables: Vec<ClosedTable>) -> Result<Vec<Provenance>, IoError> {
    tables.into_iter().map(ClosedTable::commit).collect()
}

/// Flushes the last row group, records `provenance` (with the digest of every byte so far)
/// and the counts in the metadata and writes the footer.
fn close_writer(
    mut writer: ArrowWriter<Sink>,
    mut provenance: Provenance,
    path: &Path,
) -> Result<Provenance, TableError> {
    let parquet = |e| TableError::Parquet { path: path.to_path_buf(), source: e };
    writer.flush().map_err(parquet)?;
    writer.sync().map_err(|e| IoError::new(path, e))?;
    provenance.output = Some(writer.inner().digest());
    provenance.output_size = Some(writer.bytes_written() as u64);
    if let Some(c) = &provenance.counts {
        let json = serde_json::to_string(c).unwrap_or_default();
        writer.append_key_value_metadata(KeyValue::new(COUNTS_KEY.into(), json));
    }
    writer.append_key_value_metadata(KeyValue::new(PROVENANCE_KEY.into(), provenance.to_json()));
    writer.close().map_err(parquet)?;
    Ok(provenance)
}

/// The provenance of a table nerprep wrote and nobody rewrote since (written by this Parquet
/// library), with the length of the data its digest covers (up to the end of the last column
/// chunk, where the page indexes and the footer begin).
pub fn own_table_provenance(path: &Path) -> Option<(Provenance, u64)> {
    let file = File::open(path).ok()?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).ok()?;
    let meta = builder.metadata();
    let file_meta = meta.file_metadata();
    if !file_meta.created_by().is_some_and(|c| c.starts_with("parquet-rs")) {
        return None;
    }
    let json = file_meta.key_value_metadata()?.iter().find(|k| k.key == PROVENANCE_KEY)?.value.clone()?;
    let provenance: Provenance = serde_json::from_str(&json).ok()?;
    let data_end = meta
        .row_groups()
        .iter()
        .flat_map(|rg| rg.columns())
        .map(|c| {
            let (start, len) = c.byte_range();
            start + len
        })
        .max()
        .unwrap_or(4); // an empty table holds only the leading magic bytes
    Some((provenance, data_end))
}

/// Streams rows into a Parquet file that appears at its path only when finished.
///
/// Encoding runs on a background thread, so the producer (a reader, say) keeps parsing
/// while the previous batch is converted to Arrow and compressed.
///
/// # Example
/// ```
/// use nerprep::model::{Sample, SourceFormat};
/// use nerprep::provenance::Provenance;
/// use nerprep::table::{read_all, TableWriter};
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("samples.parquet");
/// let mut w = TableWriter::<Sample>::create(&path).unwrap();
/// w.push(Sample::new("d/train/f:0", "d", SourceFormat::Crossner, "train", "en", "Hi")).unwrap();
/// w.finish(Provenance::new("example", serde_json::json!({}))).unwrap();
/// assert_eq!(read_all::<Sample>(&path).unwrap().len(), 1);
/// ```
pub struct TableWriter<T: TableRow> {
    sender: Option<SyncSender<Pending<T>>>,
    worker: Option<JoinHandle<Result<ArrowWriter<Sink>, TableError>>>,
    file: AtomicFile,
    buffer: Vec<T>,
    rows: u64,
}

/// What the encoder thread of a [`TableWriter`] is handed.
enum Pending<T> {
    /// Rows to convert to Arrow first.
    Rows(Vec<T>),
    /// Rows a producer converted already ([`TableWriter::push_batch`]).
    Batch(RecordBatch),
}

/// Converts and writes batches until the channel closes; returns the writer to close.
fn encode_batches<T: TableRow>(
    mut writer: ArrowWriter<Sink>,
    batches: Receiver<Pending<T>>,
    path: PathBuf,
) -> Result<ArrowWriter<Sink>, TableError> {
    for pending in batches {
        let batch = match pending {
            Pending::Rows(rows) => T::to_batch(&rows).map_err(|e| TableError::Schema { path: path.clone(), source: e })?,
            Pending::Batch(batch) => batch,
        };
        writer.write(&batch).map_err(|e| TableError::Parquet { path: path.clone(), source: e })?;
    }
    Ok(writer)
}

impl<T: TableRow> TableWriter<T> {
    /// Starts a table that will replace `path` when finished.
    pub fn create(path: impl AsRef<Path>) -> Result<Self, TableError> {
        Self::with_queue(path, 2)
    }

    /// [`TableWriter::create`], letting `queue` batches wait for the encoder before a push
    /// blocks: a producer that hands over many small batches at once (ingest, a unit's
    /// batch each) then goes back to parsing instead of waiting for them to be encoded.
    pub fn with_queue(path: impl AsRef<Path>, queue: usize) -> Result<Self, TableError> {
        let file = AtomicFile::create(path)?;
        let schema = T::schema();
        let props = writer_properties(&schema, &BTreeMap::new(), T::distinct_columns());
        let path = file.path().to_path_buf();
        let writer = ArrowWriter::try_new(HashingWriter::new(file.file()?), schema, Some(props))
            .map_err(|e| TableError::Parquet { path: path.clone(), source: e })?;
        let (sender, receiver) = sync_channel(queue.max(1));
        let worker = std::thread::Builder::new()
            .name("parquet-writer".into())
            .spawn(move || encode_batches(writer, receiver, path))
            .map_err(|e| IoError::new(file.path(), e))?;
        Ok(TableWriter { sender: Some(sender), worker: Some(worker), file, buffer: Vec::with_capacity(BATCH_ROWS), rows: 0 })
    }

    /// Adds one row; rows are encoded a batch at a time.
    pub fn push(&mut self, row: T) -> Result<(), TableError> {
        self.buffer.push(row);
        if self.buffer.len() >= BATCH_ROWS {
            self.send_batch()?;
        }
        Ok(())
    }

    /// Adds rows that the caller converted to a batch of `T`'s schema already (on a thread
    /// of its own, say), after the rows pushed before.
    pub fn push_batch(&mut self, batch: RecordBatch) -> Result<(), TableError> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        self.send_batch()?;
        self.rows += batch.num_rows() as u64;
        self.send(Pending::Batch(batch))
    }

    /// Rows pushed so far.
    pub fn rows(&self) -> u64 {
        self.rows + self.buffer.len() as u64
    }

    fn send_batch(&mut self) -> Result<(), TableError> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let rows = std::mem::replace(&mut self.buffer, Vec::with_capacity(BATCH_ROWS));
        self.rows += rows.len() as u64;
        self.send(Pending::Rows(rows))
    }

    /// Hands work to the encoder; its error if it has stopped.
    fn send(&mut self, pending: Pending<T>) -> Result<(), TableError> {
        let sent = self.sender.as_ref().map(|s| s.send(pending).is_ok()).unwrap_or(false);
        if sent { Ok(()) } else { self.join().map(drop) }
    }

    /// Waits for the encoder; its error if it failed.
    fn join(&mut self) -> Result<ArrowWriter<Sink>, TableError> {
        self.sender = None;
        let worker = self.worker.take().expect("the encoder is joined once");
        match worker.join() {
            Ok(result) => result,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }

    /// Writes the remaining rows and `provenance` (its counts too) into the file, without
    /// renaming it into place yet: see [`commit_all`].
    pub fn close(mut self, provenance: Provenance) -> Result<ClosedTable, TableError> {
        self.send_batch()?;
        let writer = self.join()?;
        let provenance = close_writer(writer, provenance, self.file.path())?;
        let TableWriter { file, rows, .. } = self;
        Ok(ClosedTable { file, provenance, rows })
    }

    /// Closes the table and renames it into place; returns its provenance.
    pub fn finish(self, provenance: Provenance) -> Result<Provenance, TableError> {
        Ok(self.close(provenance)?.commit()?)
    }
}

/// The writer settings of every table: zstd, the row-group size of `schema`
/// ([`row_group_rows`]), the layout version plus `metadata` as key-value pairs, and no
/// dictionary for the `distinct` columns.
fn writer_properties(schema: &arrow_schema::Schema, metadata: &BTreeMap<String, String>, distinct: &[&str]) -> WriterProperties {
    let mut kv = vec![KeyValue::new(VERSION_KEY.into(), TABLE_VERSION.to_string())];
    kv.extend(metadata.iter().map(|(k, v)| KeyValue::new(k.clone(), v.clone())));
    let mut props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(3).expect("valid zstd level")))
        .set_max_row_group_row_count(Some(row_group_rows(schema)))
        .set_key_value_metadata(Some(kv));
    for column in distinct {
        let path = ColumnPath::new(column.split('.').map(str::to_string).collect());
        props = props.set_column_dictionary_enabled(path, false);
    }
    props.build()
}

/// Rows per row group for `schema`: [`ROW_GROUP_ROWS`], fewer when its fixed-size lists
/// (vectors) would make a group hold more than [`ROW_GROUP_FIXED_BYTES`].
fn row_group_rows(schema: &arrow_schema::Schema) -> usize {
    let fixed: usize = schema
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            arrow_schema::DataType::FixedSizeList(item, n) => item.data_type().primitive_width().unwrap_or(0) * usize::try_from(*n).unwrap_or(0),
            _ => 0,
        })
        .sum();
    (ROW_GROUP_FIXED_BYTES / fixed.max(1)).clamp(BATCH_ROWS, ROW_GROUP_ROWS)
}

/// Streams record batches whose schema is known only at run time (an embeddings side table
/// is as wide as its model's vectors) into a Parquet file that appears at its path only
/// when finished, with stage metadata; the counterpart of [`TableWriter`] for such tables.
pub struct BatchWriter {
    writer: ArrowWriter<Sink>,
    file: AtomicFile,
    rows: u64,
}

impl BatchWriter {
    /// Starts a table of `schema` that will replace `path`, carrying `metadata`.
    pub fn create(
        path: impl AsRef<Path>,
        schema: SchemaRef,
        metadata: &BTreeMap<String, String>,
    ) -> Result<Self, TableError> {
        Self::create_with_distinct(path, schema, metadata, &[])
    }

    /// [`BatchWriter::create`], with no dictionary for the `distinct` columns (Parquet
    /// paths, as in [`TableRow::distinct_columns`]): their values (nearly) never repeat.
    pub fn create_with_distinct(
        path: impl AsRef<Path>,
        schema: SchemaRef,
        metadata: &BTreeMap<String, String>,
        distinct: &[&str],
    ) -> Result<Self, TableError> {
        let props = writer_properties(&schema, metadata, distinct);
        Self::with_properties(path, schema, props)
    }

    /// Starts a table of `T` rows that will replace `path`, for stages that pass record
    /// batches of `T`'s schema through (filtered, say) instead of rows; written as
    /// [`TableWriter`] writes them.
    pub fn for_rows<T: TableRow>(path: impl AsRef<Path>) -> Result<Self, TableError> {
        let schema = T::schema();
        let props = writer_properties(&schema, &BTreeMap::new(), T::distinct_columns());
        Self::with_properties(path, schema, props)
    }

    fn with_properties(path: impl AsRef<Path>, schema: SchemaRef, props: WriterProperties) -> Result<Self, TableError> {
        let file = AtomicFile::create(path)?;
        let writer = ArrowWriter::try_new(HashingWriter::new(file.file()?), schema, Some(props))
            .map_err(|e| TableError::Parquet { path: file.path().to_path_buf(), source: e })?;
        Ok(BatchWriter { writer, file, rows: 0 })
    }

    /// Appends one batch.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<(), TableError> {
        self.writer.write(batch).map_err(|e| TableError::Parquet { path: self.file.path().to_path_buf(), source: e })?;
        self.rows += batch.num_rows() as u64;
        Ok(())
    }

    /// Writes `provenance` (its counts too) into the file, without renaming it into place
    /// yet: see [`commit_all`].
    pub fn close(self, provenance: Provenance) -> Result<ClosedTable, TableError> {
        let BatchWriter { writer, file, rows } = self;
        let provenance = close_writer(writer, provenance, file.path())?;
        Ok(ClosedTable { file, provenance, rows })
    }

    /// Closes the table and renames it into place; returns its provenance.
    pub fn finish(self, provenance: Provenance) -> Result<Provenance, TableError> {
        Ok(self.close(provenance)?.commit()?)
    }
}

/// Reads every record batch of a Parquet file whose schema is known only at run time.
pub fn read_batches(path: impl AsRef<Path>) -> Result<Vec<RecordBatch>, TableError> {
    let path = path.as_ref();
    let reader = open_batches(path)?
        .with_batch_size(BATCH_ROWS)
        .build()
        .map_err(|e| TableError::Parquet { path: path.to_path_buf(), source: e })?;
    reader
        .map(|b| b.map_err(|e| TableError::Schema { path: path.to_path_buf(), source: e }))
        .collect()
}

/// Opens a Parquet file for batch reading with the schema nerprep reads it as
/// ([`reading_schema`]: other writers' wide string and list types mapped to ours), after
/// checking that the table version, if recorded, is one this build knows.
pub fn open_batches(path: &Path) -> Result<ParquetRecordBatchReaderBuilder<File>, TableError> {
    use parquet::arrow::arrow_reader::ArrowReaderOptions;
    let parquet = |e| TableError::Parquet { path: path.to_path_buf(), source: e };
    let open = || File::open(path).map_err(|e| IoError::new(path, e));
    let builder = ParquetRecordBatchReaderBuilder::try_new(open()?).map_err(parquet)?;
    check_version(path, builder.metadata().file_metadata().key_value_metadata())?;
    let wanted = reading_schema(builder.schema());
    if wanted.fields() == builder.schema().fields() {
        return Ok(builder);
    }
    let options = ArrowReaderOptions::new().with_schema(Arc::new(wanted));
    ParquetRecordBatchReaderBuilder::try_new_with_options(open()?, options).map_err(parquet)
}

/// Refuses a table whose recorded layout version is newer than [`TABLE_VERSION`] (or not a
/// version at all); a table with none (written by another tool) is read on its schema alone.
fn check_version(path: &Path, kv: Option<&Vec<KeyValue>>) -> Result<(), TableError> {
    let Some(found) = kv.and_then(|kv| kv.iter().find(|k| k.key == VERSION_KEY)).and_then(|k| k.value.clone()) else {
        return Ok(());
    };
    let newer = match (found.trim().parse::<u64>(), TABLE_VERSION.parse::<u64>()) {
        (Ok(f), Ok(ours)) => f > ours,
        _ => true,
    };
    if newer {
        return Err(TableError::FutureVersion { path: path.to_path_buf(), found, supported: TABLE_VERSION });
    }
    Ok(())
}

/// One batch of rows read with [`TableReader::next_checked`]: the valid rows, and the rows
/// that are not valid records as quarantine records (file, row, reason, message).
#[derive(Debug)]
pub struct CheckedBatch<T> {
    /// The valid rows, in table order.
    pub rows: Vec<T>,
    /// The invalid rows, in table order, ready for the stage's quarantine.
    pub rejected: Vec<QuarantineRecord>,
}

/// Streams the rows of a table back, one record batch at a time. Opening checks the table
/// version and the schema (a foreign or edited Parquet gets an error naming the column, not
/// a panic); every row is checked as it is read.
pub struct TableReader<T: TableRow> {
    inner: ParquetRecordBatchReader,
    path: PathBuf,
    next_row: u64,
    _rows: std::marker::PhantomData<T>,
}

impl<T: TableRow> TableReader<T> {
    /// Opens `path`; fails if it is not Parquet, is from a newer nerprep, or its columns do
    /// not fit `T`'s table.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, TableError> {
        let path = path.as_ref().to_path_buf();
        let builder = open_batches(&path)?;
        T::check_schema(builder.schema()).map_err(|message| TableError::Layout { path: path.clone(), message })?;
        let inner = builder
            .with_batch_size(BATCH_ROWS)
            .build()
            .map_err(|e| TableError::Parquet { path: path.clone(), source: e })?;
        Ok(TableReader { inner, path, next_row: 0, _rows: std::marker::PhantomData })
    }

    /// The next batch, with invalid rows set apart instead of failing the read.
    pub fn next_checked(&mut self) -> Option<Result<CheckedBatch<T>, TableError>> {
        let batch = match self.inner.next()? {
            Ok(b) => b,
            Err(e) => return Some(Err(TableError::Schema { path: self.path.clone(), source: e })),
        };
        let rows = match T::from_batch_rows(&batch) {
            Ok(rows) => rows,
            Err(e) => return Some(Err(TableError::Schema { path: self.path.clone(), source: e })),
        };
        let mut out = CheckedBatch { rows: Vec::with_capacity(rows.len()), rejected: Vec::new() };
        let file = self.path.display().to_string();
        for (i, row) in rows.into_iter().enumerate() {
            match row {
                Ok(r) => out.rows.push(r),
                Err(e) => {
                    let index = self.next_row + i as u64;
                    out.rejected.push(QuarantineRecord::new(&file, None, Some(index), e.reason, e.message, ""));
                }
            }
        }
        self.next_row += batch.num_rows() as u64;
        Some(Ok(out))
    }
}

impl<T: TableRow> Iterator for TableReader<T> {
    type Item = Result<Vec<T>, TableError>;

    /// The next batch; an invalid row is an error ([`TableError::InvalidRow`]).
    fn next(&mut self) -> Option<Self::Item> {
        let checked = match self.next_checked()? {
            Ok(c) => c,
            Err(e) => return Some(Err(e)),
        };
        match checked.rejected.into_iter().next() {
            Some(q) => Some(Err(TableError::InvalidRow { path: self.path.clone(), row: q.record.unwrap_or(0), message: q.message })),
            None => Some(Ok(checked.rows)),
        }
    }
}

/// Reads a whole table into memory (for small tables and tests).
pub fn read_all<T: TableRow>(path: impl AsRef<Path>) -> Result<Vec<T>, TableError> {
    let mut out = Vec::new();
    for batch in TableReader::<T>::open(path)? {
        out.extend(batch?);
    }
    Ok(out)
}

/// The key-value metadata of a Parquet file.
pub fn read_metadata(path: impl AsRef<Path>) -> Result<BTreeMap<String, String>, TableError> {
    let path = path.as_ref();
    let file = File::open(path).map_err(|e| IoError::new(path, e))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| TableError::Parquet { path: path.to_path_buf(), source: e })?;
    let kv = builder.metadata().file_metadata().key_value_metadata().cloned().unwrap_or_default();
    Ok(kv.into_iter().filter_map(|k| Some((k.key, k.value?))).collect())
}

/// The provenance stored in a table's metadata, if nerprep wrote it.
pub fn read_provenance(path: impl AsRef<Path>) -> Result<Option<Provenance>, TableError> {
    Ok(read_metadata(path)?.get(PROVENANCE_KEY).and_then(|json| serde_json::from_str(json).ok()))
}

/// The stage counts stored in a table's metadata, if the stage that wrote it recorded any.
pub fn read_counts(path: impl AsRef<Path>) -> Result<Option<Counts>, TableError> {
    Ok(read_metadata(path)?.get(COUNTS_KEY).and_then(|json| serde_json::from_str(json).ok()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SourceFormat;

    #[test]
    fn row_groups_of_vector_tables_hold_at_most_16_mib_of_vectors() {
        use crate::model::schema::{embedding_schema, EmbeddingKeys};
        let rows = |dim| row_group_rows(&embedding_schema(dim, EmbeddingKeys::default()).unwrap());
        assert_eq!(rows(384), (16 << 20) / (384 * 4));
        assert_eq!(rows(8), ROW_GROUP_ROWS, "narrow vectors keep the usual group");
        assert_eq!(rows(100_000), BATCH_ROWS, "a group holds at least one batch");
        assert_eq!(row_group_rows(&Sample::schema()), ROW_GROUP_ROWS, "no vectors, the usual group");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("e.parquet");
        let n = rows(384) + 7;
        let mut w = BatchWriter::create(&path, embedding_schema(384, EmbeddingKeys::default()).unwrap(), &BTreeMap::new()).unwrap();
        let keys: Vec<_> = (0..n).map(|i| crate::model::schema::EmbeddingKey { id: i.to_string(), ..Default::default() }).collect();
        let batch = crate::model::schema::embeddings_to_batch(&keys, EmbeddingKeys::default(), 384, &vec![0.5; n * 384]).unwrap();
        w.write(&batch).unwrap();
        w.finish(Provenance::new("test", serde_json::json!({}))).unwrap();
        let file = parquet::file::reader::SerializedFileReader::new(std::fs::File::open(&path).unwrap()).unwrap();
        use parquet::file::reader::FileReader;
        assert_eq!(file.metadata().num_row_groups(), 2);
    }

    #[test]
    fn writer_streams_many_batches_and_records_counts() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.parquet");
        let mut w = TableWriter::<Sample>::create(&path).unwrap();
        let n = BATCH_ROWS * 2 + 5;
        for i in 0..n {
            w.push(Sample::new(format!("d/train/f:{i}"), "d", SourceFormat::B2nerd, "train", "en", "t")).unwrap();
        }
        let mut counts = Counts::new("ingest");
        counts.read = n as u64;
        counts.written = n as u64;
        let mut prov = Provenance::new("ingest", serde_json::json!({}));
        prov.counts = Some(counts.clone());
        let done = w.finish(prov).unwrap();
        let (recorded, data_len) = own_table_provenance(&path).unwrap();
        assert_eq!(recorded, done);
        assert_eq!(done.output_size, Some(data_len));
        let back = read_all::<Sample>(&path).unwrap();
        assert_eq!(back.len(), n);
        assert_eq!(back[n - 1].id, format!("d/train/f:{}", n - 1));
        assert_eq!(read_counts(&path).unwrap(), Some(counts));
    }

    #[test]
    fn reading_a_non_parquet_file_names_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.parquet");
        std::fs::write(&path, b"not parquet").unwrap();
        let err = TableReader::<Sample>::open(&path).err().unwrap();
        assert!(err.to_string().contains("x.parquet"), "{err}");
    }
}
