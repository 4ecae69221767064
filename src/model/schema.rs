//! The Arrow schemas of the canonical `samples` and `quarantine` tables, and the
//! conversions between [`Sample`]s and Arrow record batches. This is the only place that
//! knows column names and types; stages that add columns extend it here (SPEC §1).

use super::{Entity, QuarantineRecord, Relation, Sample, SourceFormat, Span, Unaligned};
use arrow_array::builder::{StringBuilder, StringDictionaryBuilder, UInt64Builder};
use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Int8Type, UInt32Type, UInt64Type};
use arrow_array::{
    Array, ArrayRef, FixedSizeListArray, Float32Array, ListArray, RecordBatch, StringArray, StructArray, UInt32Array,
};
use arrow_buffer::OffsetBuffer;
use arrow_schema::{ArrowError, DataType, Field, Fields, Schema, SchemaRef};
use std::sync::{Arc, LazyLock};

/// Version of the table layout, stored in the Parquet metadata; bump on incompatible change.
pub const TABLE_VERSION: &str = "1";

fn utf8(name: &str, nullable: bool) -> Field {
    Field::new(name, DataType::Utf8, nullable)
}

fn list_of(fields: Fields) -> DataType {
    DataType::List(Arc::new(Field::new("item", DataType::Struct(fields), false)))
}

/// Fields of one element of the `entities` list.
pub fn entity_fields() -> Fields {
    Fields::from(vec![
        Field::new("start", DataType::UInt32, false),
        Field::new("end", DataType::UInt32, false),
        utf8("label", false),
        utf8("text", false),
        utf8("archetype", true),
        utf8("identifier", true),
        utf8("layer", true),
    ])
}

/// Fields of one element of the `unaligned` list.
pub fn unaligned_fields() -> Fields {
    Fields::from(vec![utf8("label", false), utf8("text", false), utf8("reason", false)])
}

/// Fields of one element of the `relations` list.
pub fn relation_fields() -> Fields {
    Fields::from(vec![
        Field::new("head", DataType::UInt32, false),
        Field::new("tail", DataType::UInt32, false),
        utf8("label", false),
    ])
}

static SAMPLES_SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    Arc::new(Schema::new(vec![
        utf8("id", false),
        utf8("dataset", false),
        Field::new(
            "source_format",
            DataType::Dictionary(Box::new(DataType::Int8), Box::new(DataType::Utf8)),
            false,
        ),
        utf8("split", false),
        utf8("lang", false),
        utf8("text", false),
        Field::new("entities", list_of(entity_fields()), false),
        Field::new(
            "label_set",
            DataType::List(Arc::new(Field::new("item", DataType::Utf8, false))),
            false,
        ),
        Field::new("unaligned", list_of(unaligned_fields()), false),
        Field::new("relations", list_of(relation_fields()), false),
        utf8("meta", false),
    ]))
});

/// The schema of the canonical `samples` table.
pub fn samples_schema() -> SchemaRef {
    SAMPLES_SCHEMA.clone()
}

static QUARANTINE_SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    Arc::new(Schema::new(vec![
        utf8("file", false),
        Field::new("line", DataType::UInt64, true),
        Field::new("record", DataType::UInt64, true),
        utf8("reason", false),
        utf8("message", false),
        utf8("raw", false),
    ]))
});

/// The schema of the `quarantine` table (records that could not be read).
pub fn quarantine_schema() -> SchemaRef {
    QUARANTINE_SCHEMA.clone()
}

/// A list-of-structs column from its struct fields' columns and the list offsets.
fn struct_list(fields: Fields, columns: Vec<ArrayRef>, offsets: OffsetBuffer<i32>) -> Result<ArrayRef, ArrowError> {
    let values = StructArray::try_new(fields.clone(), columns, None)?;
    let item = Arc::new(Field::new("item", DataType::Struct(fields), false));
    Ok(Arc::new(ListArray::try_new(item, offsets, Arc::new(values), None)?))
}

/// The offsets of a list column whose list in each sample has `len` items; a batch of
/// over 2³¹ items in all is refused.
fn offsets_by(samples: &[Sample], len: impl Fn(&Sample) -> usize) -> Result<OffsetBuffer<i32>, ArrowError> {
    let total: usize = samples.iter().map(&len).sum();
    if i32::try_from(total).is_err() {
        return Err(invalid(format!("a batch holds {total} list items, more than 2^31")));
    }
    Ok(OffsetBuffer::from_lengths(samples.iter().map(len)))
}

/// A string column of `values`, its size known up front (count and bytes): no regrowth.
fn strings<'a>(values: impl Iterator<Item = &'a str> + Clone) -> ArrayRef {
    let mut b = StringBuilder::with_capacity(values.clone().count(), values.clone().map(str::len).sum());
    values.for_each(|v| b.append_value(v));
    Arc::new(b.finish())
}

/// The `entities` column of `samples`. Entities lie apart (a vector per sample), so they
/// are visited twice in all: once to size the columns, once to fill them. Most readers set
/// no archetype, identifier or layer: those columns are then all nulls, built as such.
fn entities_column(samples: &[Sample]) -> Result<ArrayRef, ArrowError> {
    let all = || samples.iter().flat_map(|s| &s.entities);
    let (n, label_bytes, text_bytes, optional) = all().fold((0, 0, 0, false), |(n, label, text, optional), e| {
        let has_optional = e.archetype.is_some() || e.identifier.is_some() || e.layer.is_some();
        (n + 1, label + e.label.len(), text + e.text.len(), optional || has_optional)
    });
    let (mut start, mut end) = (Vec::with_capacity(n), Vec::with_capacity(n));
    let (mut label, mut text) = (StringBuilder::with_capacity(n, label_bytes), StringBuilder::with_capacity(n, text_bytes));
    for e in all() {
        start.push(e.span.start());
        end.push(e.span.end());
        label.append_value(&e.label);
        text.append_value(&e.text);
    }
    let optional_column = |value: fn(&Entity) -> Option<&str>| -> ArrayRef {
        if optional { Arc::new(StringArray::from_iter(all().map(value))) } else { Arc::new(StringArray::new_null(n)) }
    };
    let columns: Vec<ArrayRef> = vec![
        Arc::new(UInt32Array::from(start)),
        Arc::new(UInt32Array::from(end)),
        Arc::new(label.finish()),
        Arc::new(text.finish()),
        optional_column(|e| e.archetype.as_deref()),
        optional_column(|e| e.identifier.as_deref()),
        optional_column(|e| e.layer.as_deref()),
    ];
    struct_list(entity_fields(), columns, offsets_by(samples, |s| s.entities.len())?)
}

/// The `unaligned` column of `samples`.
fn unaligned_column(samples: &[Sample]) -> Result<ArrayRef, ArrowError> {
    let all = || samples.iter().flat_map(|s| &s.unaligned);
    let columns = vec![
        strings(all().map(|u| u.label.as_str())),
        strings(all().map(|u| u.text.as_str())),
        strings(all().map(|u| u.reason.as_str())),
    ];
    struct_list(unaligned_fields(), columns, offsets_by(samples, |s| s.unaligned.len())?)
}

/// The `relations` column of `samples`.
fn relations_column(samples: &[Sample]) -> Result<ArrayRef, ArrowError> {
    let all = || samples.iter().flat_map(|s| &s.relations);
    let columns: Vec<ArrayRef> = vec![
        Arc::new(UInt32Array::from_iter_values(all().map(|r| r.head))),
        Arc::new(UInt32Array::from_iter_values(all().map(|r| r.tail))),
        strings(all().map(|r| r.label.as_str())),
    ];
    struct_list(relation_fields(), columns, offsets_by(samples, |s| s.relations.len())?)
}

/// The `label_set` column of `samples`.
fn label_set_column(samples: &[Sample]) -> Result<ArrayRef, ArrowError> {
    let labels = strings(samples.iter().flat_map(|s| &s.label_set).map(String::as_str));
    let item = Arc::new(Field::new("item", DataType::Utf8, false));
    Ok(Arc::new(ListArray::try_new(item, offsets_by(samples, |s| s.label_set.len())?, labels, None)?))
}

/// The `meta` column of `samples`: each sample's meta serialised as a JSON object.
fn meta_column(samples: &[Sample]) -> Result<ArrayRef, ArrowError> {
    let mut meta = StringBuilder::with_capacity(samples.len(), 2 * samples.len());
    // Each sample's meta is serialised here, not through a copy of it.
    let mut json = Vec::new();
    for s in samples {
        json.clear();
        serde_json::to_writer(&mut json, &s.meta).map_err(|e| invalid(format!("sample {}: meta: {e}", s.id)))?;
        meta.append_value(std::str::from_utf8(&json).map_err(|e| invalid(e.to_string()))?);
    }
    Ok(Arc::new(meta.finish()))
}

/// Converts samples to one record batch of [`samples_schema`]. Every column is built with
/// its size known, straight from the samples.
pub fn samples_to_batch(samples: &[Sample]) -> Result<RecordBatch, ArrowError> {
    let column = |value: fn(&Sample) -> &str| strings(samples.iter().map(value));
    let mut format = StringDictionaryBuilder::<Int8Type>::with_capacity(samples.len(), 8, 64);
    samples.iter().for_each(|s| format.append_value(s.source_format.as_str()));
    let columns: Vec<ArrayRef> = vec![
        column(|s| &s.id),
        column(|s| &s.dataset),
        Arc::new(format.finish()),
        column(|s| &s.split),
        column(|s| &s.lang),
        column(|s| &s.text),
        entities_column(samples)?,
        label_set_column(samples)?,
        unaligned_column(samples)?,
        relations_column(samples)?,
        meta_column(samples)?,
    ];
    RecordBatch::try_new(samples_schema(), columns)
}

fn invalid(msg: impl Into<String>) -> ArrowError {
    ArrowError::InvalidArgumentError(msg.into())
}

fn column<'a>(batch: &'a RecordBatch, name: &str) -> Result<&'a ArrayRef, ArrowError> {
    batch.column_by_name(name).ok_or_else(|| invalid(format!("samples table has no `{name}` column")))
}

fn string_column<'a>(batch: &'a RecordBatch, name: &str) -> Result<&'a StringArray, ArrowError> {
    column(batch, name)?
        .as_string_opt::<i32>()
        .ok_or_else(|| invalid(format!("column `{name}` is not utf8")))
}

fn list_column<'a>(batch: &'a RecordBatch, name: &str) -> Result<Option<&'a ListArray>, ArrowError> {
    match batch.column_by_name(name) {
        None => Ok(None),
        Some(c) => c.as_list_opt::<i32>().map(Some).ok_or_else(|| invalid(format!("column `{name}` is not a list"))),
    }
}

/// Reads the `source_format` column whether it is dictionary-encoded or plain utf8.
fn format_column(batch: &RecordBatch) -> Result<Vec<SourceFormat>, ArrowError> {
    let col = column(batch, "source_format")?;
    let parse = |s: &str| s.parse::<SourceFormat>().map_err(invalid);
    if let Some(dict) = col.as_dictionary_opt::<Int8Type>() {
        let values = dict.values().as_string_opt::<i32>().ok_or_else(|| invalid("source_format values are not utf8"))?;
        let formats = (0..values.len()).map(|i| parse(values.value(i))).collect::<Result<Vec<_>, _>>()?;
        return Ok(dict.keys().values().iter().map(|&k| formats[k as usize]).collect());
    }
    let plain = col.as_string_opt::<i32>().ok_or_else(|| invalid("source_format is neither dictionary nor utf8"))?;
    (0..plain.len()).map(|i| parse(plain.value(i))).collect()
}

fn struct_str<'a>(s: &'a StructArray, name: &str) -> Result<Option<&'a StringArray>, ArrowError> {
    match s.column_by_name(name) {
        None => Ok(None),
        Some(c) => c.as_string_opt::<i32>().map(Some).ok_or_else(|| invalid(format!("field `{name}` is not utf8"))),
    }
}

fn required<T>(v: Option<T>, name: &str) -> Result<T, ArrowError> {
    v.ok_or_else(|| invalid(format!("struct field `{name}` is missing")))
}

fn struct_u32<'a>(s: &'a StructArray, name: &str) -> Result<&'a arrow_array::UInt32Array, ArrowError> {
    s.column_by_name(name)
        .and_then(|c| c.as_primitive_opt::<UInt32Type>())
        .ok_or_else(|| invalid(format!("struct field `{name}` is missing or not u32")))
}

fn opt_value(a: Option<&StringArray>, i: usize) -> Option<String> {
    a.filter(|a| a.is_valid(i)).map(|a| a.value(i).to_string())
}

fn list_range(list: &ListArray, row: usize) -> std::ops::Range<usize> {
    let offsets = list.value_offsets();
    offsets[row] as usize..offsets[row + 1] as usize
}

/// Converts a record batch of the samples table back into samples, failing on the first row
/// that is not a valid sample (see [`batch_to_sample_rows`] to keep the others).
pub fn batch_to_samples(batch: &RecordBatch) -> Result<Vec<Sample>, ArrowError> {
    batch_to_sample_rows(batch)?
        .into_iter()
        .enumerate()
        .map(|(row, r)| r.map_err(|e| invalid(format!("row {row}: {}", e.message))))
        .collect()
}

/// Why one row of a samples table is not a valid sample.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// Reason code for the quarantine table (`invalid_span`, `span_text_mismatch`, …).
    pub reason: &'static str,
    /// What is wrong.
    pub message: String,
}

impl RowError {
    fn new(reason: &'static str, message: impl Into<String>) -> RowError {
        RowError { reason, message: message.into() }
    }
}

impl From<super::SampleError> for RowError {
    fn from(e: super::SampleError) -> RowError {
        let reason = match e {
            super::SampleError::SpanOutOfRange { .. } => "span_out_of_range",
            super::SampleError::TextMismatch { .. } => "span_text_mismatch",
            super::SampleError::BadRelation { .. } => "bad_relation",
        };
        RowError::new(reason, e.to_string())
    }
}

/// Converts a record batch of the samples table into one result per row: a column of the
/// wrong shape fails the batch, a row that breaks the invariants ([`Sample::check`], a null
/// key, a span with start after end, a `meta` that is not a JSON object) fails only itself.
/// Columns added after version 1 (`relations`, `archetype`, `identifier`, `layer`) may be absent and
/// default to empty; columns nerprep does not know are ignored here (`map` passes them on).
pub fn batch_to_sample_rows(batch: &RecordBatch) -> Result<Vec<Result<Sample, RowError>>, ArrowError> {
    let id = string_column(batch, "id")?;
    let dataset = string_column(batch, "dataset")?;
    let formats = format_column(batch)?;
    let split = string_column(batch, "split")?;
    let lang = string_column(batch, "lang")?;
    let text = string_column(batch, "text")?;
    let meta = string_column(batch, "meta")?;
    let entities = required(list_column(batch, "entities")?, "entities")?;
    let label_set = required(list_column(batch, "label_set")?, "label_set")?;
    let unaligned = list_column(batch, "unaligned")?;
    let relations = list_column(batch, "relations")?;

    let ent = struct_items(entities, "entities")?;
    let (e_start, e_end) = (struct_u32(ent, "start")?, struct_u32(ent, "end")?);
    let e_label = required(struct_str(ent, "label")?, "label")?;
    let e_text = required(struct_str(ent, "text")?, "text")?;
    let e_arch = struct_str(ent, "archetype")?;
    let e_ident = struct_str(ent, "identifier")?;
    let e_layer = struct_str(ent, "layer")?;
    let labels = label_set.values().as_string_opt::<i32>().ok_or_else(|| invalid("label_set items are not utf8"))?;
    let unaligned = match unaligned {
        Some(un) => {
            let st = struct_items(un, "unaligned")?;
            let cols = (
                required(struct_str(st, "label")?, "label")?,
                required(struct_str(st, "text")?, "text")?,
                required(struct_str(st, "reason")?, "reason")?,
            );
            Some((un, cols))
        }
        None => None,
    };
    let relations = match relations {
        Some(rel) => {
            let st = struct_items(rel, "relations")?;
            Some((rel, struct_u32(st, "head")?, struct_u32(st, "tail")?, required(struct_str(st, "label")?, "label")?))
        }
        None => None,
    };

    let mut out = Vec::with_capacity(batch.num_rows());
    for row in 0..batch.num_rows() {
        let build = || -> Result<Sample, RowError> {
            for (name, col) in [("id", id), ("dataset", dataset), ("text", text), ("meta", meta)] {
                if col.is_null(row) {
                    return Err(RowError::new("null_value", format!("column `{name}` is null")));
                }
            }
            let mut s = Sample::new(
                id.value(row),
                dataset.value(row),
                formats[row],
                split.value(row),
                lang.value(row),
                text.value(row),
            );
            for i in list_range(entities, row) {
                let span = Span::new(e_start.value(i), e_end.value(i))
                    .map_err(|e| RowError::new("invalid_span", format!("sample {}: {e}", s.id)))?;
                let mut e = Entity::new(span, e_label.value(i), e_text.value(i));
                e.archetype = opt_value(e_arch, i);
                e.identifier = opt_value(e_ident, i);
                e.layer = opt_value(e_layer, i);
                s.entities.push(e);
            }
            s.label_set = list_range(label_set, row).map(|i| labels.value(i).to_string()).collect();
            if let Some((un, (l, t, r))) = unaligned {
                s.unaligned = list_range(un, row)
                    .map(|i| Unaligned { label: l.value(i).into(), text: t.value(i).into(), reason: r.value(i).into() })
                    .collect();
            }
            if let Some((rel, h, t, l)) = relations {
                s.relations = list_range(rel, row)
                    .map(|i| Relation { head: h.value(i), tail: t.value(i), label: l.value(i).into() })
                    .collect();
            }
            s.meta = match serde_json::from_str(meta.value(row)) {
                Ok(serde_json::Value::Object(m)) => m,
                _ => return Err(RowError::new("invalid_meta", format!("sample {}: meta is not a JSON object", s.id))),
            };
            s.check()?;
            Ok(s)
        };
        out.push(build());
    }
    Ok(out)
}

/// The struct items of a list column, or an error naming the column (never a panic).
fn struct_items<'a>(list: &'a ListArray, name: &str) -> Result<&'a StructArray, ArrowError> {
    list.values().as_struct_opt().ok_or_else(|| invalid(format!("column `{name}` is not a list of structs")))
}

/// A short spelling of an Arrow type for messages: `list<struct<start,end,label,text>>`.
pub fn short_type(t: &DataType) -> String {
    match t {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "utf8".into(),
        DataType::UInt32 => "u32".into(),
        DataType::UInt64 => "u64".into(),
        DataType::List(f) | DataType::LargeList(f) => format!("list<{}>", short_type(f.data_type())),
        DataType::Struct(fields) => {
            let names: Vec<&str> = fields.iter().map(|f| f.name().as_str()).collect();
            format!("struct<{}>", names.join(","))
        }
        DataType::Dictionary(_, v) => format!("dictionary<{}>", short_type(v)),
        other => other.to_string().to_lowercase(),
    }
}

/// How a type of the canonical schema is spelt in messages: required struct fields are
/// listed, optional ones stand for `…`.
fn expected_type(t: &DataType) -> String {
    match t {
        DataType::List(f) => format!("list<{}>", expected_type(f.data_type())),
        DataType::Struct(fields) => {
            let mut names: Vec<&str> = fields.iter().filter(|f| !f.is_nullable()).map(|f| f.name().as_str()).collect();
            if fields.iter().any(|f| f.is_nullable()) {
                names.push("…");
            }
            format!("struct<{}>", names.join(","))
        }
        DataType::Dictionary(_, v) => format!("{} or dictionary<{}>", short_type(v), short_type(v)),
        other => short_type(other),
    }
}

/// Whether data of type `found` can be read as the canonical `expected`: the same shape,
/// struct fields matched by name, optional (nullable) struct fields allowed to be absent.
fn compatible(found: &DataType, expected: &DataType) -> bool {
    match (found, expected) {
        (DataType::List(f), DataType::List(e)) => compatible(f.data_type(), e.data_type()),
        (DataType::Struct(f), DataType::Struct(e)) => e.iter().all(|ef| match f.find(ef.name()) {
            Some((_, ff)) => compatible(ff.data_type(), ef.data_type()),
            None => ef.is_nullable(),
        }),
        (DataType::Utf8, DataType::Dictionary(_, v)) => **v == DataType::Utf8,
        (DataType::Dictionary(fk, fv), DataType::Dictionary(ek, ev)) => fk == ek && fv == ev,
        (f, e) => f == e,
    }
}

/// Columns a samples table may lack (added after version 1); they read as empty.
const OPTIONAL_COLUMNS: [&str; 2] = ["unaligned", "relations"];

/// Checks that a table's (normalised, see [`reading_schema`]) schema can be read as samples:
/// every canonical column present (or optional) with a compatible type. The error names the
/// column, what it is and what was expected.
pub fn check_samples_schema(found: &Schema) -> Result<(), String> {
    for expected in samples_schema().fields() {
        match found.field_with_name(expected.name()) {
            Ok(f) if compatible(f.data_type(), expected.data_type()) => {}
            Ok(f) => {
                return Err(format!(
                    "column '{}' is {}, expected {}",
                    expected.name(),
                    short_type(f.data_type()),
                    expected_type(expected.data_type())
                ));
            }
            Err(_) if OPTIONAL_COLUMNS.contains(&expected.name().as_str()) => {}
            Err(_) => {
                return Err(format!("column '{}' is missing (expected {})", expected.name(), expected_type(expected.data_type())));
            }
        }
    }
    Ok(())
}

/// The schema to read a file with: the file's own, with the wide or view variants other
/// writers use (`large_string`, `large_list`, string views, dictionaries with other key types,
/// as Polars and pyarrow write them) mapped to the ones nerprep reads. Unknown columns keep
/// their types, so they can be passed through.
pub fn reading_schema(file: &Schema) -> Schema {
    let fields: Vec<Field> = file.fields().iter().map(|f| normalise_field(f)).collect();
    Schema::new_with_metadata(fields, file.metadata().clone())
}

fn normalise_field(f: &Field) -> Field {
    f.clone().with_data_type(normalise_type(f.data_type()))
}

fn normalise_type(t: &DataType) -> DataType {
    match t {
        DataType::LargeUtf8 | DataType::Utf8View => DataType::Utf8,
        DataType::LargeList(item) | DataType::List(item) => DataType::List(Arc::new(normalise_field(item))),
        DataType::Struct(fields) => DataType::Struct(fields.iter().map(|f| normalise_field(f)).collect()),
        DataType::Dictionary(k, v) if **k == DataType::Int8 && **v == DataType::Utf8 => t.clone(),
        DataType::Dictionary(_, v) if matches!(**v, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View) => DataType::Utf8,
        other => other.clone(),
    }
}

/// Converts quarantine records to one record batch of [`quarantine_schema`].
pub fn quarantine_to_batch(records: &[QuarantineRecord]) -> Result<RecordBatch, ArrowError> {
    let mut file = StringBuilder::new();
    let mut line = UInt64Builder::new();
    let mut record = UInt64Builder::new();
    let mut reason = StringBuilder::new();
    let mut message = StringBuilder::new();
    let mut raw = StringBuilder::new();
    for q in records {
        file.append_value(&q.file);
        line.append_option(q.line);
        record.append_option(q.record);
        reason.append_value(&q.reason);
        message.append_value(&q.message);
        raw.append_value(&q.raw);
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(file.finish()),
        Arc::new(line.finish()),
        Arc::new(record.finish()),
        Arc::new(reason.finish()),
        Arc::new(message.finish()),
        Arc::new(raw.finish()),
    ];
    RecordBatch::try_new(quarantine_schema(), columns)
}

/// Converts a record batch of the quarantine table back into records.
pub fn batch_to_quarantine(batch: &RecordBatch) -> Result<Vec<QuarantineRecord>, ArrowError> {
    let u64_col = |name: &str| {
        column(batch, name)?
            .as_primitive_opt::<UInt64Type>()
            .ok_or_else(|| invalid(format!("column `{name}` is not u64")))
    };
    let (file, reason, message, raw) = (
        string_column(batch, "file")?,
        string_column(batch, "reason")?,
        string_column(batch, "message")?,
        string_column(batch, "raw")?,
    );
    let (line, record) = (u64_col("line")?, u64_col("record")?);
    Ok((0..batch.num_rows())
        .map(|i| QuarantineRecord {
            file: file.value(i).into(),
            line: line.is_valid(i).then(|| line.value(i)),
            record: record.is_valid(i).then(|| record.value(i)),
            reason: reason.value(i).into(),
            message: message.value(i).into(),
            raw: raw.value(i).into(),
        })
        .collect())
}

/// Which key columns beside `id` an embeddings side table has: those its unit has (SPEC §1,
/// issue 12). Text units have `dataset` and `sample_id`; mentions `dataset`, `label`,
/// `sample_id` and `entity`; types `dataset` (unless grouped over all datasets) and `label`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EmbeddingKeys {
    /// A `dataset` column (utf8).
    pub dataset: bool,
    /// A `label` column (utf8).
    pub label: bool,
    /// A `sample_id` column (utf8).
    pub sample_id: bool,
    /// An `entity` column (u32, the entity's index in its sample).
    pub entity: bool,
}

/// The key of one embeddings row: its `id` and the other key columns it has values for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EmbeddingKey {
    /// The row id (a sample id, `{sample id}@{entity}`, `{dataset}/{label}` or a label).
    pub id: String,
    /// The dataset of the unit.
    pub dataset: Option<String>,
    /// The entity label of the unit.
    pub label: Option<String>,
    /// The sample the unit comes from.
    pub sample_id: Option<String>,
    /// The entity's index in its sample.
    pub entity: Option<u32>,
}

/// The schema of an embeddings side table: `id`, the key columns `keys` names (in the order
/// `dataset`, `label`, `sample_id`, `entity`), and a `dim`-long `embedding` (fixed-size
/// list<float32>). No column is nullable.
pub fn embedding_schema(dim: usize, keys: EmbeddingKeys) -> Result<SchemaRef, ArrowError> {
    let dim = i32::try_from(dim).map_err(|_| invalid(format!("embedding dimension {dim} is too large")))?;
    let item = Arc::new(Field::new("item", DataType::Float32, false));
    let mut fields = vec![utf8("id", false)];
    let optional = [("dataset", keys.dataset), ("label", keys.label), ("sample_id", keys.sample_id)];
    fields.extend(optional.iter().filter(|(_, on)| *on).map(|(name, _)| utf8(name, false)));
    if keys.entity {
        fields.push(Field::new("entity", DataType::UInt32, false));
    }
    fields.push(Field::new("embedding", DataType::FixedSizeList(item, dim), false));
    Ok(Arc::new(Schema::new(fields)))
}

/// One record batch of [`embedding_schema`] from row keys and their row-major vectors
/// (`rows.len() * dim` values). Every row must have a value for every column of `keys`.
pub fn embeddings_to_batch(
    rows: &[EmbeddingKey],
    keys: EmbeddingKeys,
    dim: usize,
    values: &[f32],
) -> Result<RecordBatch, ArrowError> {
    if values.len() != rows.len() * dim {
        return Err(invalid(format!("{} ids but {} values of dimension {dim}", rows.len(), values.len())));
    }
    let schema = embedding_schema(dim, keys)?;
    let mut columns: Vec<ArrayRef> = vec![Arc::new(rows.iter().map(|r| Some(r.id.as_str())).collect::<StringArray>())];
    if keys.dataset {
        columns.push(key_column(rows, "dataset", |r| r.dataset.as_deref())?);
    }
    if keys.label {
        columns.push(key_column(rows, "label", |r| r.label.as_deref())?);
    }
    if keys.sample_id {
        columns.push(key_column(rows, "sample_id", |r| r.sample_id.as_deref())?);
    }
    if keys.entity {
        let values: Option<Vec<u32>> = rows.iter().map(|r| r.entity).collect();
        let values = values.ok_or_else(|| invalid("an embeddings row has no `entity`"))?;
        columns.push(Arc::new(arrow_array::UInt32Array::from(values)));
    }
    let DataType::FixedSizeList(item, size) = schema.fields().last().map(|f| f.data_type().clone()).unwrap_or(DataType::Null) else {
        return Err(invalid("embedding column is not a fixed-size list"));
    };
    columns.push(Arc::new(FixedSizeListArray::try_new(item, size, Arc::new(Float32Array::from(values.to_vec())), None)?));
    RecordBatch::try_new(schema, columns)
}

/// The utf8 key column `name` of `rows`; every row must have a value.
fn key_column(rows: &[EmbeddingKey], name: &str, get: impl Fn(&EmbeddingKey) -> Option<&str>) -> Result<ArrayRef, ArrowError> {
    let values: Option<Vec<&str>> = rows.iter().map(get).collect();
    let values = values.ok_or_else(|| invalid(format!("an embeddings row has no `{name}`")))?;
    Ok(Arc::new(StringArray::from(values)))
}

/// One record batch of an embeddings table read back: row keys, which key columns the table
/// has (any may be missing in a table from before issue 12), the dimension and the row-major
/// vectors. A column of the wrong type or holding nulls is an error, never a panic.
pub fn batch_to_embeddings(batch: &RecordBatch) -> Result<(Vec<EmbeddingKey>, EmbeddingKeys, usize, Vec<f32>), ArrowError> {
    let id = embedding_text_column(batch, "id")?.ok_or_else(|| invalid("embeddings table has no `id` column"))?;
    let dataset = embedding_text_column(batch, "dataset")?;
    let label = embedding_text_column(batch, "label")?;
    let sample_id = embedding_text_column(batch, "sample_id")?;
    let entity = match batch.column_by_name("entity") {
        None => None,
        Some(c) => {
            let c = c.as_primitive_opt::<UInt32Type>().ok_or_else(|| invalid("column `entity` is not u32"))?;
            if c.null_count() > 0 {
                return Err(invalid("column `entity` holds nulls"));
            }
            Some(c)
        }
    };
    let keys = EmbeddingKeys { dataset: dataset.is_some(), label: label.is_some(), sample_id: sample_id.is_some(), entity: entity.is_some() };
    let rows = (0..batch.num_rows())
        .map(|i| EmbeddingKey {
            id: id.value(i).to_string(),
            dataset: dataset.map(|c| c.value(i).to_string()),
            label: label.map(|c| c.value(i).to_string()),
            sample_id: sample_id.map(|c| c.value(i).to_string()),
            entity: entity.map(|c| c.value(i)),
        })
        .collect();
    let (dim, floats) = embedding_vectors(batch)?;
    Ok((rows, keys, dim, floats))
}

/// A utf8 key column of an embeddings table without nulls, or `None` when it is absent.
fn embedding_text_column<'a>(batch: &'a RecordBatch, name: &str) -> Result<Option<&'a StringArray>, ArrowError> {
    let Some(c) = batch.column_by_name(name) else { return Ok(None) };
    let c = c.as_string_opt::<i32>().ok_or_else(|| invalid(format!("column `{name}` is not utf8")))?;
    if c.null_count() > 0 {
        return Err(invalid(format!("column `{name}` holds nulls")));
    }
    Ok(Some(c))
}

/// The dimension and row-major values of the `embedding` column.
fn embedding_vectors(batch: &RecordBatch) -> Result<(usize, Vec<f32>), ArrowError> {
    let list = batch
        .column_by_name("embedding")
        .ok_or_else(|| invalid("embeddings table has no `embedding` column"))?
        .as_fixed_size_list_opt()
        .ok_or_else(|| invalid("column `embedding` is not a fixed-size list"))?;
    let values = list
        .values()
        .as_primitive_opt::<Float32Type>()
        .ok_or_else(|| invalid("embedding values are not float32"))?;
    if list.null_count() > 0 || values.null_count() > 0 {
        return Err(invalid("embedding column holds nulls"));
    }
    let dim = list.value_length() as usize;
    let start = list.offset() * dim;
    let floats = values.values().get(start..start + list.len() * dim).ok_or_else(|| invalid("embedding column is shorter than its rows"))?;
    Ok((dim, floats.to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rich_sample() -> Sample {
        let mut s = Sample::new("d/train/f:3#1", "d", SourceFormat::Xmi, "train", "zh", "青岛海牛队 beat 😀 Spain");
        let mut e = Entity::new(Span::new(0, 5).unwrap(), "组织机构", "青岛海牛队");
        e.archetype = Some("Organization".into());
        s.entities.push(e);
        let mut e2 = Entity::new(Span::new(13, 18).unwrap(), "location", "Spain");
        e2.identifier = Some("http://www.wikidata.org/entity/Q29".into());
        e2.layer = Some("Content".into());
        s.entities.push(e2);
        s.label_set = vec!["组织机构".into(), "location".into(), "person".into()];
        s.unaligned.push(Unaligned { label: "person".into(), text: "Bob".into(), reason: "not_found".into() });
        s.relations.push(Relation { head: 0, tail: 1, label: "plays_in".into() });
        s.meta.insert("uri".into(), serde_json::json!("doc.xmi"));
        s
    }

    #[test]
    fn samples_round_trip_through_a_batch() {
        let samples = vec![rich_sample(), Sample::new("e", "e", SourceFormat::Crossner, "dev", "en", "")];
        let batch = samples_to_batch(&samples).unwrap();
        assert_eq!(batch.schema(), samples_schema());
        assert_eq!(batch_to_samples(&batch).unwrap(), samples);
    }

    #[test]
    fn embeddings_round_trip_through_a_batch_with_their_key_columns() {
        let key = |id: &str, e: u32| EmbeddingKey {
            id: id.into(),
            dataset: Some("d".into()),
            label: Some("person".into()),
            sample_id: Some("d/train/f:0".into()),
            entity: Some(e),
        };
        let rows = [key("d/train/f:0@0", 0), key("d/train/f:0@1", 1)];
        let values = [0.6, 0.8, 1.0, 0.0];
        let all = EmbeddingKeys { dataset: true, label: true, sample_id: true, entity: true };
        let batch = embeddings_to_batch(&rows, all, 2, &values).unwrap();
        assert_eq!(batch.schema(), embedding_schema(2, all).unwrap());
        let names: Vec<&str> = batch.schema_ref().fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(names, ["id", "dataset", "label", "sample_id", "entity", "embedding"]);
        assert_eq!(batch_to_embeddings(&batch).unwrap(), (rows.to_vec(), all, 2, values.to_vec()));
        assert!(embeddings_to_batch(&rows, all, 3, &values).is_err());

        let bare = [EmbeddingKey { id: "a".into(), ..EmbeddingKey::default() }];
        assert!(embeddings_to_batch(&bare, all, 2, &values[..2]).is_err(), "a row without a key value of the table");
        let batch = embeddings_to_batch(&bare, EmbeddingKeys::default(), 2, &values[..2]).unwrap();
        assert_eq!(batch_to_embeddings(&batch).unwrap().1, EmbeddingKeys::default());
    }

    #[test]
    fn a_foreign_embeddings_batch_is_an_error_not_a_panic() {
        let schema = Arc::new(Schema::new(vec![utf8("id", false), Field::new("entity", DataType::Utf8, false)]));
        let batch = RecordBatch::try_new(
            schema,
            vec![Arc::new(StringArray::from(vec!["a"])), Arc::new(StringArray::from(vec!["0"]))],
        )
        .unwrap();
        assert!(batch_to_embeddings(&batch).unwrap_err().to_string().contains("`entity` is not u32"));
    }

    #[test]
    fn quarantine_round_trips_through_a_batch() {
        let q = vec![
            QuarantineRecord::new("a.txt", Some(3), None, "bad_field_count", "expected 2 fields", "x\ty\tz"),
            QuarantineRecord::new("b.json", None, Some(7), "json_syntax", "eof", "{"),
        ];
        assert_eq!(batch_to_quarantine(&quarantine_to_batch(&q).unwrap()).unwrap(), q);
    }
}
