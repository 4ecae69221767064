//! A parallel reader for one column of float vectors (an embeddings table's `embedding`).
//!
//! At corpus scale the vectors are most of the bytes a stage reads: 1.4M × 384 floats is
//! 2 GB. The Arrow reader decodes a column chunk on one thread and copies the values three
//! times on the way to a list array. Here the Parquet pages of the column are read in
//! order and decoded in parallel, each straight into its place in one row-major buffer.
//! A page's place is known before it is decoded: every row holds `dim` values and none is
//! null, so a page's first value is the sum of the value counts of the pages before it.
//! Whatever the page layout (dictionary or plain, data page v1 or v2, even a row split
//! over two pages, which the writers tried here never do), each page's levels are checked
//! against that shape, so a null, an empty vector or one of another length is an error
//! naming its row, never a shifted vector.

use super::TableError;
use crate::io::IoError;
use parquet::basic::Type as PhysicalType;
use parquet::column::page::{Page, PageMetadata, PageReader};
use parquet::column::reader::ColumnReaderImpl;
use parquet::data_type::FloatType;
use parquet::errors::ParquetError;
use parquet::file::reader::FileReader;
use parquet::file::serialized_reader::SerializedFileReader;
use parquet::schema::types::{ColumnDescPtr, SchemaDescriptor};
use rayon::prelude::*;
use std::fs::File;
use std::path::Path;

/// Decoded bytes gathered before a window of pages is decoded: enough pages for every
/// thread, little memory beside the output.
const WINDOW_BYTES: usize = 32 << 20;

/// The vectors of `column` in every row of the Parquet file `path`, concatenated in row
/// order: `rows × dim` floats. The column must be a list of floats (a fixed-size list as
/// nerprep and pyarrow write it, or a plain list) with exactly `dim` non-null values in
/// every row; anything else is a [`TableError::Layout`] naming the row.
pub fn read_float_vectors(path: &Path, column: &str, dim: usize) -> Result<Vec<f32>, TableError> {
    read_float_vectors_with(path, column, dim, &|_, decoded, out| {
        out.copy_from_slice(decoded);
        true
    })
}

/// What [`read_float_vectors_with`] does with each vector: `finish(row, decoded, out)` writes
/// the vector of file row `row` into `out`, transformed as the caller wants it, or returns
/// false to have it copied as it is.
pub type FinishRow<'a> = dyn Fn(usize, &[f32], &mut [f32]) -> bool + Sync + 'a;

/// [`read_float_vectors`], with each vector passed through `finish` on its way into the
/// output, on the decoding threads, while its page is still in the cache: a transformation
/// every vector needs (scaling to unit length) then costs no pass over memory of its own.
/// A vector that a page boundary cuts (no known writer does that) is finished when its
/// row group has been read.
pub fn read_float_vectors_with(path: &Path, column: &str, dim: usize, finish: &FinishRow<'_>) -> Result<Vec<f32>, TableError> {
    let parquet = |source| TableError::Parquet { path: path.to_path_buf(), source };
    let layout = |message: String| TableError::Layout { path: path.to_path_buf(), message };
    if dim == 0 {
        return Err(layout("vectors of length 0 asked for".into()));
    }
    let file = File::open(path).map_err(|e| IoError::new(path, e))?;
    let reader = SerializedFileReader::new(file).map_err(parquet)?;
    let metadata = reader.metadata();
    let leaf = vector_leaf(metadata.file_metadata().schema_descr(), column).map_err(layout)?;
    let descr = metadata.file_metadata().schema_descr().column(leaf);
    let rows = usize::try_from(metadata.file_metadata().num_rows()).map_err(|_| layout("negative row count".into()))?;
    let total = rows.checked_mul(dim).ok_or_else(|| layout(format!("{rows} rows × {dim} values do not fit in memory")))?;
    let mut out = vec![0f32; total];
    let mut rest = out.as_mut_slice();
    let mut first_row = 0;
    for group in 0..metadata.num_row_groups() {
        let group_rows = usize::try_from(metadata.row_group(group).num_rows()).unwrap_or(usize::MAX);
        let values = group_rows.checked_mul(dim).filter(|&v| v <= rest.len());
        let Some(values) = values else { return Err(layout(format!("row group {group} holds more rows than the file"))) };
        let (chunk, tail) = std::mem::take(&mut rest).split_at_mut(values);
        rest = tail;
        let pages = reader.get_row_group(group).and_then(|g| g.get_column_page_reader(leaf)).map_err(parquet)?;
        let shape = Shape { descr: &descr, column, dim, first_row, finish };
        read_chunk(pages, &shape, chunk).map_err(|e| match e {
            ChunkError::Parquet(source) => parquet(source),
            ChunkError::Shape(message) => layout(message),
        })?;
        first_row += group_rows;
    }
    if !rest.is_empty() {
        return Err(layout(format!("the row groups hold fewer rows than the file's {rows}")));
    }
    Ok(out)
}

/// The index of the one leaf under the top-level `column`, which must be a list of floats.
fn vector_leaf(schema: &SchemaDescriptor, column: &str) -> Result<usize, String> {
    let leaves: Vec<usize> = (0..schema.num_columns()).filter(|&i| schema.column(i).path().parts()[0] == column).collect();
    let [leaf] = leaves[..] else {
        return Err(match leaves.len() {
            0 => format!("no `{column}` column"),
            n => format!("column `{column}` has {n} leaves, expected a list of float32"),
        });
    };
    let descr = schema.column(leaf);
    if descr.physical_type() != PhysicalType::FLOAT || descr.max_rep_level() != 1 {
        return Err(format!("column `{column}` is not a list of float32"));
    }
    Ok(leaf)
}

/// What every page of a column chunk must hold: `dim` values per row, none null.
struct Shape<'a> {
    descr: &'a ColumnDescPtr,
    column: &'a str,
    dim: usize,
    /// The file row of the chunk's first row.
    first_row: usize,
    /// What to do with each vector on its way into the output.
    finish: &'a FinishRow<'a>,
}

impl Shape<'_> {
    /// Writes the vector of file row `row` into `out` through the caller's hook, or as it
    /// was decoded when the hook refuses it.
    fn finish_row(&self, row: usize, decoded: &[f32], out: &mut [f32]) {
        if !(self.finish)(row, decoded, out) {
            out.copy_from_slice(decoded);
        }
    }

    /// A message about the row holding the chunk's value `value`.
    fn at(&self, value: usize, what: &str) -> ChunkError {
        ChunkError::Shape(format!("column `{}`, row {}: {what}", self.column, self.first_row + value / self.dim))
    }
}

enum ChunkError {
    Parquet(ParquetError),
    Shape(String),
}

impl From<ParquetError> for ChunkError {
    fn from(e: ParquetError) -> Self {
        ChunkError::Parquet(e)
    }
}

/// One data page to decode into `out`, which starts at the chunk's value `start`.
struct PageJob<'a> {
    dictionary: Option<Page>,
    page: Page,
    start: usize,
    out: &'a mut [f32],
}

/// Fills `chunk` from the pages of one column chunk: a window of pages is read while the
/// previous one is decoded.
fn read_chunk(mut pages: Box<dyn PageReader>, shape: &Shape<'_>, chunk: &mut [f32]) -> Result<(), ChunkError> {
    let mut next = Window { dictionary: None, start: 0, rest: chunk, cut_rows: Vec::new() };
    let mut window = next.read(&mut *pages, shape)?;
    while !window.is_empty() {
        let (decoded, read) = rayon::join(
            || window.into_par_iter().try_for_each(|job| decode_page(job, shape)),
            || next.read(&mut *pages, shape),
        );
        decoded?;
        window = read?;
    }
    if !next.rest.is_empty() {
        return Err(shape.at(next.start, &format!("the column chunk ends {} values short", next.rest.len())));
    }
    let cut_rows = std::mem::take(&mut next.cut_rows);
    drop(next);
    finish_cut_rows(chunk, &cut_rows, shape);
    Ok(())
}

/// Finishes the rows of `chunk` that page boundaries cut, which the pages copied as they
/// were.
fn finish_cut_rows(chunk: &mut [f32], cut_rows: &[usize], shape: &Shape<'_>) {
    let dim = shape.dim;
    let mut decoded = Vec::with_capacity(dim);
    for (k, &row) in cut_rows.iter().enumerate() {
        if k > 0 && cut_rows[k - 1] == row {
            continue;
        }
        let out = &mut chunk[row * dim..(row + 1) * dim];
        decoded.clear();
        decoded.extend_from_slice(out);
        shape.finish_row(shape.first_row + row, &decoded, out);
    }
}

/// Where the next window of pages goes.
struct Window<'a> {
    dictionary: Option<Page>,
    /// The chunk value the next page starts at.
    start: usize,
    /// The part of the chunk no page has claimed yet.
    rest: &'a mut [f32],
    /// Rows of the chunk that a page starts inside, in order.
    cut_rows: Vec<usize>,
}

impl<'a> Window<'a> {
    /// The next data pages, up to [`WINDOW_BYTES`], each with its slice of the output.
    fn read(&mut self, pages: &mut dyn PageReader, shape: &Shape<'_>) -> Result<Vec<PageJob<'a>>, ChunkError> {
        let mut jobs = Vec::new();
        let mut bytes = 0;
        while bytes < WINDOW_BYTES {
            let Some(page) = pages.get_next_page()? else { break };
            if let Page::DictionaryPage { .. } = page {
                self.dictionary = Some(page);
                continue;
            }
            let levels = page.num_values() as usize;
            if levels > self.rest.len() {
                return Err(shape.at(self.start, "the column chunk holds more values than its rows have room for"));
            }
            let (out, rest) = std::mem::take(&mut self.rest).split_at_mut(levels);
            self.rest = rest;
            if !self.start.is_multiple_of(shape.dim) {
                self.cut_rows.push(self.start / shape.dim);
            }
            bytes += page.buffer().len();
            jobs.push(PageJob { dictionary: self.dictionary.clone(), page, start: self.start, out });
            self.start += levels;
        }
        Ok(jobs)
    }
}

/// Decodes one data page into its slice, checking that its levels are those of whole,
/// non-null vectors of `dim` values laid end to end.
fn decode_page(job: PageJob<'_>, shape: &Shape<'_>) -> Result<(), ChunkError> {
    DECODED.with_borrow_mut(|decoded| {
        let n = job.out.len();
        let pages: Vec<Page> = job.dictionary.into_iter().chain([job.page]).collect();
        let mut reader = ColumnReaderImpl::<FloatType>::new(shape.descr.clone(), Box::new(Pages(pages.into_iter())));
        let Decoded { def, rep, values } = decoded;
        def.clear();
        rep.clear();
        values.clear();
        let (_, _, levels) = reader.read_records(usize::MAX, Some(def), Some(rep), values)?;
        if levels != n {
            return Err(shape.at(job.start, &format!("a page declares {n} values but holds {levels}")));
        }
        let max_def = shape.descr.max_def_level();
        if let Some(j) = def.iter().position(|&d| d != max_def) {
            return Err(shape.at(job.start + j, "a null, empty or partly null vector"));
        }
        check_row_starts(rep, job.start, shape)?;
        finish_rows(values, job.out, job.start, shape);
        Ok(())
    })
}

/// Writes a page's `decoded` values into `out`, which starts at the chunk's value `start`:
/// each whole row through the caller's `finish`, the ends of rows the page shares with its
/// neighbours as they are (see [`finish_cut_rows`]).
fn finish_rows(decoded: &[f32], out: &mut [f32], start: usize, shape: &Shape<'_>) {
    let dim = shape.dim;
    let head = ((dim - start % dim) % dim).min(out.len());
    let whole = (out.len() - head) / dim * dim;
    let first_row = shape.first_row + (start + head) / dim;
    out[..head].copy_from_slice(&decoded[..head]);
    let rows = decoded[head..head + whole].chunks_exact(dim).zip(out[head..head + whole].chunks_exact_mut(dim));
    for (k, (decoded, out)) in rows.enumerate() {
        shape.finish_row(first_row + k, decoded, out);
    }
    out[head + whole..].copy_from_slice(&decoded[head + whole..]);
}

/// A thread's decode buffers, kept from page to page: fresh megabyte buffers for every
/// page would each be mapped, faulted in page by page, and unmapped again.
#[derive(Default)]
struct Decoded {
    def: Vec<i16>,
    rep: Vec<i16>,
    values: Vec<f32>,
}

thread_local! {
    static DECODED: std::cell::RefCell<Decoded> = std::cell::RefCell::new(Decoded::default());
}

/// Repetition level 0 starts a row: it must fall on every `dim`-th value of the chunk and
/// nowhere else. A row start too early names the short row; a missing one, the long row
/// before it.
fn check_row_starts(rep: &[i16], start: usize, shape: &Shape<'_>) -> Result<(), ChunkError> {
    let dim = shape.dim;
    let wrong = |value: usize| shape.at(value, &format!("a vector of another length than {dim}"));
    let first_start = (dim - start % dim) % dim;
    if let Some(j) = rep[..first_start.min(rep.len())].iter().position(|&r| r == 0) {
        return Err(wrong(start + j));
    }
    for (k, row) in rep.get(first_start..).unwrap_or_default().chunks(dim).enumerate() {
        let base = first_start + k * dim;
        if row[0] != 0 {
            return Err(wrong((start + base).saturating_sub(1)));
        }
        if let Some(j) = row[1..].iter().position(|&r| r == 0) {
            return Err(wrong(start + base + 1 + j));
        }
    }
    Ok(())
}

/// The pages of one decode job, as the column reader wants them.
struct Pages(std::vec::IntoIter<Page>);

impl Iterator for Pages {
    type Item = Result<Page, ParquetError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.0.next().map(Ok)
    }
}

impl PageReader for Pages {
    fn get_next_page(&mut self) -> Result<Option<Page>, ParquetError> {
        Ok(self.0.next())
    }

    fn peek_next_page(&mut self) -> Result<Option<PageMetadata>, ParquetError> {
        Ok(self.0.as_slice().first().map(|page| match page {
            Page::DataPage { num_values, .. } => {
                PageMetadata { num_rows: None, num_levels: Some(*num_values as usize), is_dict: false }
            }
            Page::DataPageV2 { num_values, num_rows, .. } => {
                PageMetadata { num_rows: Some(*num_rows as usize), num_levels: Some(*num_values as usize), is_dict: false }
            }
            Page::DictionaryPage { .. } => PageMetadata { num_rows: None, num_levels: None, is_dict: true },
        }))
    }

    fn skip_next_page(&mut self) -> Result<(), ParquetError> {
        self.0.next();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::builder::{FixedSizeListBuilder, Float32Builder, ListBuilder};
    use arrow_array::{ArrayRef, RecordBatch};
    use parquet::arrow::ArrowWriter;
    use parquet::file::properties::WriterProperties;
    use std::sync::Arc;

    /// Writes `column` as the `embedding` column of a Parquet file with small pages and row
    /// groups, so that every row group has several pages. (arrow-rs ends pages at row
    /// boundaries, so a row spanning two pages is not among the cases.)
    fn write(dir: &Path, name: &str, column: ArrayRef, dictionary: bool) -> std::path::PathBuf {
        let path = dir.join(name);
        let batch = RecordBatch::try_from_iter([("embedding", column)]).unwrap();
        let props = WriterProperties::builder()
            .set_data_page_size_limit(64)
            .set_data_page_row_count_limit(2)
            .set_write_batch_size(7)
            .set_dictionary_enabled(dictionary)
            .set_max_row_group_row_count(Some(5))
            .build();
        let mut w = ArrowWriter::try_new(File::create(&path).unwrap(), batch.schema(), Some(props)).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        path
    }

    fn values(rows: usize, dim: usize) -> Vec<f32> {
        (0..rows * dim).map(|i| (i % 13) as f32 * 0.5 - i as f32).collect()
    }

    fn fixed(rows: usize, dim: usize, nullable_item: bool) -> ArrayRef {
        let field = Arc::new(arrow_schema::Field::new("item", arrow_schema::DataType::Float32, nullable_item));
        let mut b = FixedSizeListBuilder::new(Float32Builder::new(), dim as i32).with_field(field);
        for row in values(rows, dim).chunks(dim) {
            b.values().append_slice(row);
            b.append(true);
        }
        Arc::new(b.finish())
    }

    /// Pages cut at any value: every row is finished exactly once, the whole ones by their
    /// page and the cut ones after the chunk, each with its file row.
    #[test]
    fn every_row_is_finished_once_wherever_the_pages_cut_it() {
        let schema = parquet::schema::parser::parse_message_type(
            "message m { required group embedding (LIST) { repeated group list { required float element; } } }",
        )
        .unwrap();
        let descr = SchemaDescriptor::new(Arc::new(schema)).column(0);
        let (dim, rows, first_row) = (3, 6, 10);
        let decoded: Vec<f32> = (0..rows * dim).map(|v| v as f32).collect();
        for cuts in [vec![0, 18], vec![0, 4, 9, 18], vec![0, 1, 2, 3, 18], vec![0, 6, 7, 8, 12, 17, 18]] {
            let seen = std::sync::Mutex::new(Vec::new());
            let finish = |row: usize, decoded: &[f32], out: &mut [f32]| {
                seen.lock().unwrap().push(row);
                out.iter_mut().zip(decoded).for_each(|(o, d)| *o = d * 2.0);
                row != 12
            };
            let shape = Shape { descr: &descr, column: "embedding", dim, first_row, finish: &finish };
            let mut chunk = vec![0.0; rows * dim];
            let mut cut_rows = Vec::new();
            for w in cuts.windows(2) {
                finish_rows(&decoded[w[0]..w[1]], &mut chunk[w[0]..w[1]], w[0], &shape);
                if w[0] % dim != 0 {
                    cut_rows.push(w[0] / dim);
                }
            }
            finish_cut_rows(&mut chunk, &cut_rows, &shape);
            let mut seen = seen.into_inner().unwrap();
            seen.sort_unstable();
            assert_eq!(seen, (first_row..first_row + rows).collect::<Vec<_>>(), "pages cut at {cuts:?}");
            let want: Vec<f32> = decoded.iter().enumerate().map(|(v, d)| if v / dim == 2 { *d } else { d * 2.0 }).collect();
            assert_eq!(chunk, want, "a refused row is copied as it is; pages cut at {cuts:?}");
        }
    }

    #[test]
    fn vectors_come_back_in_row_order_across_pages_row_groups_and_encodings() {
        let dir = tempfile::tempdir().unwrap();
        for (dictionary, nullable) in [(false, false), (true, false), (true, true), (false, true)] {
            let path = write(dir.path(), "v.parquet", fixed(23, 6, nullable), dictionary);
            let reader = SerializedFileReader::new(File::open(&path).unwrap()).unwrap();
            assert!(reader.metadata().num_row_groups() > 1);
            let pages = reader.get_row_group(0).unwrap().get_column_page_reader(0).unwrap();
            let sizes: Vec<u32> = pages.map(Result::unwrap).filter(|p| !matches!(p, Page::DictionaryPage { .. })).map(|p| p.num_values()).collect();
            assert!(sizes.len() > 1, "pages of {sizes:?} values: the chunk has several pages");
            assert_eq!(read_float_vectors(&path, "embedding", 6).unwrap(), values(23, 6), "{dictionary} {nullable}");
        }
    }

    #[test]
    fn a_plain_list_of_the_right_length_is_read_and_a_wrong_length_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let rows: Vec<Vec<f32>> = values(9, 4).chunks(4).map(<[f32]>::to_vec).collect();
        let list = |rows: &[Vec<f32>]| {
            let mut b = ListBuilder::new(Float32Builder::new());
            for r in rows {
                b.values().append_slice(r);
                b.append(true);
            }
            Arc::new(b.finish()) as ArrayRef
        };
        let good = write(dir.path(), "good.parquet", list(&rows), false);
        assert_eq!(read_float_vectors(&good, "embedding", 4).unwrap(), values(9, 4));
        let mut short = rows.clone();
        short[7].push(1.0);
        short[8].pop();
        let bad = write(dir.path(), "bad.parquet", list(&short), false);
        let message = read_float_vectors(&bad, "embedding", 4).unwrap_err().to_string();
        assert!(message.contains("row 7: a vector of another length than 4"), "{message}");
    }

    #[test]
    fn a_null_vector_or_a_missing_column_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut b = FixedSizeListBuilder::new(Float32Builder::new(), 3);
        for row in 0..8 {
            b.values().append_slice(&[1.0, 2.0, 3.0]);
            b.append(row != 6);
        }
        let path = write(dir.path(), "null.parquet", Arc::new(b.finish()), false);
        let message = read_float_vectors(&path, "embedding", 3).unwrap_err().to_string();
        assert!(message.contains("row 6: a null"), "{message}");
        let message = read_float_vectors(&path, "vector", 3).unwrap_err().to_string();
        assert!(message.contains("no `vector` column"), "{message}");
        let message = read_float_vectors(&path, "embedding", 4).unwrap_err().to_string();
        assert!(message.contains("another length than 4") || message.contains("more values"), "{message}");
    }
}
