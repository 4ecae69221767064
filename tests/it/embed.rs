//! `nerprep embed` and the embedding backends over real fixture sentences: parity with
//! sentence-transformers, paraphrase ranking, the hash snapshot, cache accounting.
//!
//! The MiniLM tests need `make model` (models/ in the repository); they fail, not skip,
//! when it has not been run.

use crate::common::{fixture, ingest, nerprep_ok};
use nerprep::embed::candle::CandleEmbedder;
use nerprep::embed::hash::HashEmbedder;
use nerprep::embed::stage::{
    embed_units, read_embeddings, TypePatterns, Unit, BACKEND_KEY, MODEL_KEY, POOLING_KEY, TYPES_BY_KEY, WHAT_KEY,
};
use nerprep::embed::onnx::{runtime_library, OnnxEmbedder};
use nerprep::embed::{
    cosine, load_embedder, Backend, Cache, Device, EmbedConfig, Embedder, Embeddings, ModelSpec, Pooling, TypesBy,
};
use nerprep::model::Sample;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Largest allowed difference from the sentence-transformers reference, per value.
const PARITY: f32 = 1e-4;

fn models_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("models")
}

fn minilm_dir() -> PathBuf {
    let dir = models_dir().join("all-MiniLM-L6-v2");
    assert!(dir.join("model.safetensors").is_file(), "{} is not installed: run `make model`", dir.display());
    dir
}

struct Reference {
    sentences: Vec<String>,
    vectors: Vec<Vec<f32>>,
}

fn reference() -> Reference {
    let raw = std::fs::read_to_string(fixture("embed/all-MiniLM-L6-v2-reference.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&raw).unwrap();
    let sentences = v["sentences"].as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_string()).collect();
    let vectors = v["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row.as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect())
        .collect();
    Reference { sentences, vectors }
}

/// Embeds through the stage driver (length-sorted batches), as `nerprep embed` does.
fn embed_all(embedder: &mut dyn Embedder, texts: &[String], batch: usize) -> Embeddings {
    let units: Vec<Unit> =
        texts.iter().enumerate().map(|(i, t)| Unit::new(i.to_string(), t.clone())).collect();
    let mut cache = Cache::in_memory(embedder.dim());
    embed_units(&units, embedder, &mut cache, batch, &nerprep::progress::NoProgress).unwrap().0
}

fn assert_parity(embedder: &mut dyn Embedder, what: &str) {
    let r = reference();
    assert!(r.sentences.len() >= 20);
    for batch in [64, 7] {
        let m = embed_all(embedder, &r.sentences, batch);
        let mut worst = 0.0f32;
        for (i, want) in r.vectors.iter().enumerate() {
            assert_eq!(m.row(i).len(), want.len());
            for (got, want) in m.row(i).iter().zip(want) {
                worst = worst.max((got - want).abs());
            }
        }
        eprintln!("{what}, batch {batch}: max difference {worst:e} from sentence-transformers");
        assert!(worst <= PARITY, "{what}, batch {batch}: max difference {worst} from sentence-transformers");
    }
}

#[test]
fn reference_sentences_are_the_first_politics_fixture_texts() {
    let dir = tempfile::tempdir().unwrap();
    let (table, _) = ingest(dir.path(), "politics", "crossner", &[fixture("crossner/politics_train.txt")], 0);
    let samples = nerprep::table::read_all::<Sample>(&table).unwrap();
    let texts: Vec<&str> = samples.iter().take(40).map(|s| s.text.as_str()).collect();
    assert_eq!(texts, reference().sentences);
}

#[test]
fn candle_matches_sentence_transformers() {
    let mut e = CandleEmbedder::load(&minilm_dir(), None, Device::Cpu).unwrap();
    assert_eq!((e.dim(), e.info().pooling, e.info().max_length), (384, Some(Pooling::Mean), Some(256)));
    assert!(e.model_id().starts_with("all-MiniLM-L6-v2@53aa51172d14"), "{}", e.model_id());
    assert_parity(&mut e, "candle");
}

fn onnx(dir: &Path) -> OnnxEmbedder {
    assert!(dir.join("model.onnx").is_file(), "{}/model.onnx is not installed: run `make model`", dir.display());
    OnnxEmbedder::load(dir, None, &runtime_library(&models_dir()).unwrap()).unwrap()
}

#[test]
fn the_default_backend_is_onnx_and_matches_sentence_transformers() {
    let config = EmbedConfig { models_dir: models_dir(), ..EmbedConfig::new(ModelSpec::Named("minilm".into())) };
    let mut e = load_embedder(&config).unwrap();
    assert_eq!(e.info().backend, Backend::Onnx);
    // The export `make model` writes from the safetensors weights (scripts/export_onnx.py).
    assert!(e.model_id().starts_with("all-MiniLM-L6-v2@aa14321af604"), "{}", e.model_id());
    assert_parity(e.as_mut(), "onnx");
}

#[test]
fn candle_and_onnx_agree_on_fixture_sentences() {
    let dir = minilm_dir();
    let texts: Vec<String> = crossner_texts().into_iter().take(300).collect();
    let a = embed_all(&mut onnx(&dir), &texts, 64);
    let b = embed_all(&mut CandleEmbedder::load(&dir, None, Device::Cpu).unwrap(), &texts, 64);
    let worst = a.as_slice().iter().zip(b.as_slice()).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max);
    assert!(worst <= PARITY, "candle and onnx differ by {worst} on {} sentences", texts.len());
}

/// Our export against the torch export kept in `../shared/models` (a cross-check only: it is
/// never a source for `make model`).
#[test]
fn our_onnx_export_agrees_with_the_torch_export() {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/models/all-MiniLM-L6-v2-onnx/model.onnx");
    if !shared.is_file() {
        eprintln!("{} not found: cross-check skipped", shared.display());
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for f in ["config.json", "tokenizer.json", "sentence_bert_config.json", "1_Pooling"] {
        let from = minilm_dir().join(f);
        if from.is_dir() {
            std::fs::create_dir(dir.path().join(f)).unwrap();
            std::fs::copy(from.join("config.json"), dir.path().join(f).join("config.json")).unwrap();
        } else {
            std::fs::copy(from, dir.path().join(f)).unwrap();
        }
    }
    std::os::unix::fs::symlink(&shared, dir.path().join("model.onnx")).unwrap();
    let texts: Vec<String> = crossner_texts().into_iter().take(200).collect();
    let ours = embed_all(&mut onnx(&minilm_dir()), &texts, 32);
    let torch = embed_all(&mut onnx(dir.path()), &texts, 32);
    let worst = ours.as_slice().iter().zip(torch.as_slice()).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max);
    assert!(worst <= 1e-5, "the exports differ by {worst}");
}

/// Distinct sample texts of every CrossNER fixture, in file order.
fn crossner_texts() -> Vec<String> {
    let mut seen = std::collections::BTreeSet::new();
    let mut texts = Vec::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(fixture("crossner")).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    for path in files.iter().filter(|p| p.extension().is_some_and(|x| x == "txt")) {
        for sentence in std::fs::read_to_string(path).unwrap().split("\n\n") {
            let words: Vec<&str> = sentence.lines().filter_map(|l| l.split_whitespace().next()).collect();
            let text = words.join(" ");
            if !text.is_empty() && seen.insert(text.clone()) {
                texts.push(text);
            }
        }
    }
    texts
}

#[test]
fn long_inputs_are_truncated_at_256_tokens_not_at_the_shipped_128() {
    let dir = minilm_dir();
    let long = reference().sentences[..12].join(" ");
    // Cut the text after its first n word pieces, with the plain tokenizer (no padding, no
    // truncation; the shipped tokenizer.json would truncate at 128).
    let mut plain = tokenizers::Tokenizer::from_file(dir.join("tokenizer.json")).unwrap();
    plain.with_padding(None);
    plain.with_truncation(None).unwrap();
    let enc = plain.encode(long.as_str(), false).unwrap();
    assert!(enc.len() > 300, "{} word pieces", enc.len());
    let cut = |n: usize| &long[..enc.get_offsets()[n - 1].1];

    let mut e = CandleEmbedder::load(&dir, None, Device::Cpu).unwrap();
    let m = e.embed(&[&long, cut(254), cut(126)]).unwrap();
    let (at_256, at_128) = (cosine(m.row(0), m.row(1)), cosine(m.row(0), m.row(2)));
    assert!(at_256 > 0.99999, "long vs first 254 pieces: {at_256}");
    assert!(at_128 < 0.9999, "long vs first 126 pieces: {at_128}");
}

#[derive(serde::Deserialize)]
struct Triple {
    anchor: String,
    paraphrase: String,
    unrelated: String,
}

#[test]
fn paraphrases_score_higher_than_unrelated_sentences() {
    let raw = std::fs::read_to_string(fixture("embed/paraphrases.json")).unwrap();
    let triples: Vec<Triple> = serde_json::from_str(&raw).unwrap();
    let mut e = CandleEmbedder::load(&minilm_dir(), None, Device::Cpu).unwrap();
    for t in &triples {
        let m = e.embed(&[&t.anchor, &t.paraphrase, &t.unrelated]).unwrap();
        let (para, other) = (cosine(m.row(0), m.row(1)), cosine(m.row(0), m.row(2)));
        assert!(para > 0.7 && para > other + 0.3, "{}: paraphrase {para}, unrelated {other}", t.anchor);
    }
}

#[test]
fn cls_pooling_differs_from_mean_pooling() {
    let mut mean = CandleEmbedder::load(&minilm_dir(), None, Device::Cpu).unwrap();
    let mut cls = CandleEmbedder::load(&minilm_dir(), Some(Pooling::Cls), Device::Cpu).unwrap();
    let s = &reference().sentences[0];
    let (a, b) = (mean.embed(&[s]).unwrap(), cls.embed(&[s]).unwrap());
    assert_eq!(cls.info().pooling, Some(Pooling::Cls));
    let norm: f32 = b.row(0).iter().map(|x| x * x).sum::<f32>().sqrt();
    assert!((norm - 1.0).abs() < 1e-5);
    assert!(cosine(a.row(0), b.row(0)) < 0.999);
}

#[test]
fn hash_vectors_match_the_snapshot() {
    let path = fixture("embed/hash_snapshot.json");
    let texts: Vec<String> = reference().sentences.into_iter().take(5).chain(["".to_string(), "青岛海牛队".to_string()]).collect();
    let mut e = HashEmbedder::new(32);
    let m = embed_all(&mut e, &texts, 64);
    let rows: Vec<serde_json::Value> =
        texts.iter().zip(m.rows()).map(|(t, v)| serde_json::json!({"text": t, "vector": v})).collect();
    let now = serde_json::json!({"model_id": e.model_id(), "rows": rows});
    if std::env::var_os("NERPREP_UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, serde_json::to_string_pretty(&now).unwrap() + "\n").unwrap();
    }
    let saved: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    // Compared as f32: JSON text round-trips f32 values exactly, f64 parsing need not.
    let as_f32 = |v: &serde_json::Value| -> Vec<(String, Vec<f32>)> {
        v["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                let vector = r["vector"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect();
                (r["text"].as_str().unwrap().to_string(), vector)
            })
            .collect()
    };
    assert_eq!(now["model_id"], saved["model_id"]);
    assert_eq!(as_f32(&now), as_f32(&saved), "hash vectors changed; if intended, rerun with NERPREP_UPDATE_SNAPSHOTS=1");
}

/// Runs `nerprep embed` on `table`, expecting exit `code`; returns stderr.
fn embed_cli(table: &Path, out: &Path, extra: &[&str], code: i32) -> String {
    let mut args = vec!["embed", table.to_str().unwrap(), "-o", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    nerprep_ok(&args, code)
}

fn note(stderr: &str, name: &str) -> u64 {
    let notes = stderr.lines().find(|l| l.trim_start().starts_with("notes:")).unwrap_or_else(|| panic!("{stderr}"));
    notes
        .split([':', ','])
        .filter_map(|p| p.trim().strip_prefix(name).and_then(|n| n.trim().parse().ok()))
        .next()
        .unwrap_or(0)
}

#[test]
fn cli_counts_cache_hits_on_a_rerun() {
    let dir = tempfile::tempdir().unwrap();
    let (table, _) = ingest(dir.path(), "music", "crossner", &[fixture("crossner/music_dev.txt")], 0);
    let cache = dir.path().join("cache");
    let cache_s = cache.to_str().unwrap();
    let args = ["--model", "hash", "--what", "mentions", "--cache", cache_s];

    let first = embed_cli(&table, &dir.path().join("a.parquet"), &args, 0);
    let mentions: usize = nerprep::table::read_all::<Sample>(&table).unwrap().iter().map(|s| s.entities.len()).sum();
    assert!(first.contains(&format!("read {mentions} = written {mentions}")), "{first}");
    let (embedded, repeated) = (note(&first, "embedded"), note(&first, "repeated_text"));
    assert_eq!(note(&first, "cache_hit"), 0);
    assert!(repeated > 0, "music mentions repeat: {first}");
    assert_eq!(embedded + repeated, mentions as u64);

    let second = embed_cli(&table, &dir.path().join("b.parquet"), &args, 0);
    assert_eq!((note(&second, "cache_hit"), note(&second, "embedded")), (embedded, 0), "{second}");

    let (a, b) = (read_embeddings(&dir.path().join("a.parquet")).unwrap(), read_embeddings(&dir.path().join("b.parquet")).unwrap());
    assert_eq!((a.ids.clone(), a.vectors.clone()), (b.ids, b.vectors));
    assert_eq!(a.ids.len(), mentions);
    assert!(a.ids[0].ends_with("@0"), "{}", a.ids[0]);
    assert_eq!(a.metadata[MODEL_KEY], "hash-char-ngram-1-4@v1-d384");
    assert_eq!((a.metadata[BACKEND_KEY].as_str(), a.metadata[POOLING_KEY].as_str()), ("hash", "none"));
    assert_eq!(a.metadata[WHAT_KEY], "mentions");
}

#[test]
fn cli_embeds_texts_in_sample_order_and_deterministically() {
    let dir = tempfile::tempdir().unwrap();
    let (table, _) = ingest(dir.path(), "politics", "crossner", &[fixture("crossner/politics_train.txt")], 0);
    let (a, b) = (dir.path().join("a.parquet"), dir.path().join("b.parquet"));
    embed_cli(&table, &a, &["--model", "hash:64", "--no-cache", "--batch-size", "7"], 0);
    embed_cli(&table, &b, &["--model", "hash:64", "--no-cache"], 0);
    let (emb, other) = (read_embeddings(&a).unwrap(), read_embeddings(&b).unwrap());
    assert_eq!((&emb.ids, &emb.vectors, &emb.dataset), (&other.ids, &other.vectors, &other.dataset), "batching changes no vector");
    let params = |p: &Path| nerprep::table::read_provenance(p).unwrap().unwrap().params;
    assert_ne!(params(&a), params(&b), "batch_size is a parameter (it can move the last bits of transformer vectors)");
    let again = dir.path().join("again.parquet");
    embed_cli(&table, &again, &["--model", "hash:64", "--no-cache", "--batch-size", "7"], 0);
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&again).unwrap(), "the same run twice gives the same bytes");
    let samples = nerprep::table::read_all::<Sample>(&table).unwrap();
    assert_eq!(emb.ids, samples.iter().map(|s| s.id.clone()).collect::<Vec<_>>());
    let direct = HashEmbedder::new(64).embed(&[&samples[17].text]).unwrap();
    assert_eq!(emb.vectors.row(17), direct.row(0));
}

#[test]
fn cli_embeds_types_with_minilm_and_records_the_model() {
    let dir = tempfile::tempdir().unwrap();
    let (table, _) = ingest(dir.path(), "politics", "crossner", &[fixture("crossner/politics_train.txt")], 0);
    let defs = dir.path().join("defs.yaml");
    std::fs::write(&defs, "politician: a person active in party politics\n").unwrap();
    let out = dir.path().join("types.parquet");
    let models = models_dir();
    let (defs_s, models_s) = (defs.to_str().unwrap(), models.to_str().unwrap());
    let args = ["--model", "minilm", "--backend", "candle", "--what", "types", "--definitions", defs_s, "--models", models_s];
    let stderr = embed_cli(&table, &out, &[&args[..], &["--no-cache"][..]].concat(), 0);
    let emb = read_embeddings(&out).unwrap();

    // The same type patterns, embedded directly, give the same vectors.
    let mut patterns = TypePatterns::default();
    nerprep::table::read_all::<Sample>(&table).unwrap().iter().for_each(|s| patterns.add(s));
    let definitions = BTreeMap::from([("politician".to_string(), "a person active in party politics".to_string())]);
    let units = patterns.units(&definitions, 5);
    assert!(units.iter().any(|u| u.text.starts_with("politician: a person active in party politics. Examples: ")));
    assert_eq!(emb.ids, units.iter().map(|u| u.id().to_string()).collect::<Vec<_>>(), "{stderr}");
    let mut e = CandleEmbedder::load(&minilm_dir(), None, Device::Cpu).unwrap();
    for (i, u) in units.iter().enumerate() {
        let want = e.embed(&[&u.text]).unwrap();
        assert!(cosine(emb.vectors.row(i), want.row(0)) > 0.99999, "{}", u.id());
    }
    assert!(emb.metadata[MODEL_KEY].starts_with("all-MiniLM-L6-v2@53aa51172d14"));
    assert_eq!((emb.metadata[BACKEND_KEY].as_str(), emb.metadata[POOLING_KEY].as_str()), ("candle", "mean"));
}

#[test]
fn cli_reports_missing_models_and_unbuilt_devices() {
    let dir = tempfile::tempdir().unwrap();
    let (table, _) = ingest(dir.path(), "music", "crossner", &[fixture("crossner/music_train.txt")], 0);
    let out = dir.path().join("x.parquet");
    let empty = dir.path().join("no-models");
    let stderr = embed_cli(&table, &out, &["--model", "minilm", "--models", empty.to_str().unwrap()], 1);
    assert!(stderr.contains("make model"), "{stderr}");
    let stderr = embed_cli(&table, &out, &["--model", "hash", "--backend", "onnx"], 2);
    assert!(stderr.contains("--backend applies to transformer models, not to the hash model"), "{stderr}");
    let stderr = embed_cli(&table, &out, &["--model", "hash:99999999", "--batch-size", "0"], 2);
    assert!(stderr.contains("--model hash:99999999 is too large") && stderr.contains("--batch-size must be at least 1"), "{stderr}");
    if !cfg!(feature = "cuda") {
        let models = models_dir();
        let stderr =
            embed_cli(&table, &out, &["--model", "minilm", "--device", "cuda", "--models", models.to_str().unwrap()], 2);
        assert!(stderr.contains("--features cuda"), "{stderr}");
    }
    assert!(!out.exists());
}

#[test]
fn minilm_output_does_not_depend_on_the_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let (table, _) = ingest(dir.path(), "music", "crossner", &[fixture("crossner/music_train.txt")], 0);
    let models = models_dir();
    let run = |backend: &str, threads: &str, out: &Path| {
        let status = std::process::Command::new(env!("CARGO_BIN_EXE_nerprep"))
            .args(["--quiet", "embed", table.to_str().unwrap(), "--model", "minilm", "--backend", backend])
            .args(["--what", "types", "--no-cache", "--models", models.to_str().unwrap(), "-o", out.to_str().unwrap()])
            .env("RAYON_NUM_THREADS", threads)
            .status()
            .unwrap();
        assert!(status.success());
        std::fs::read(out).unwrap()
    };
    for backend in ["candle", "onnx"] {
        let one = run(backend, "1", &dir.path().join("one.parquet"));
        assert_eq!(one, run(backend, "3", &dir.path().join("three.parquet")), "{backend}");
    }
}

#[test]
fn cli_takes_type_definitions_from_a_taxonomy_mapping() {
    let dir = tempfile::tempdir().unwrap();
    let (table, _) = ingest(dir.path(), "politics", "crossner", &[fixture("crossner/politics_train.txt")], 0);
    let out = dir.path().join("types.parquet");
    let mapping_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("mappings/crossner.yaml");
    let args = ["--model", "hash", "--what", "types", "--no-cache", "--definitions", mapping_path.to_str().unwrap()];
    embed_cli(&table, &out, &args, 0);
    let emb = read_embeddings(&out).unwrap();

    let mapping = nerprep::taxonomy::Mapping::load(&mapping_path).unwrap();
    let mut patterns = TypePatterns::new(TypesBy::DatasetLabel);
    nerprep::table::read_all::<Sample>(&table).unwrap().iter().for_each(|s| patterns.add(s));
    let definitions: BTreeMap<String, String> = emb
        .label
        .as_ref()
        .unwrap()
        .iter()
        .map(|label| (label.clone(), mapping.definition_of(label).unwrap().to_string()))
        .collect();
    let units = patterns.units(&definitions, 5);
    let politician = units.iter().find(|u| u.key.label.as_deref() == Some("politician")).unwrap();
    assert_eq!(politician.id(), format!("{}/politician", politician.key.dataset.as_deref().unwrap()));
    assert!(politician.text.contains("political office"), "{}", politician.text);
    let want = HashEmbedder::new(384).embed(&units.iter().map(|u| u.text.as_str()).collect::<Vec<_>>()).unwrap();
    assert_eq!(emb.vectors, want);
}

/// A table of all three CrossNER fixture files: two datasets (music, politics) sharing labels.
fn crossner_table(dir: &Path) -> (PathBuf, Vec<Sample>) {
    let (table, _) = ingest(dir, "crossner", "crossner", &[fixture("crossner")], 0);
    let samples = nerprep::table::read_all::<Sample>(&table).unwrap();
    (table, samples)
}

#[test]
fn text_and_mention_tables_carry_their_key_columns() {
    let dir = tempfile::tempdir().unwrap();
    let (table, samples) = crossner_table(dir.path());
    let text = dir.path().join("text.parquet");
    embed_cli(&table, &text, &["--model", "hash:16", "--no-cache"], 0);
    let emb = read_embeddings(&text).unwrap();
    assert_eq!(emb.dataset, Some(samples.iter().map(|s| s.dataset.clone()).collect()));
    assert_eq!(emb.sample_id.as_ref(), Some(&emb.ids));
    assert_eq!((emb.label, emb.entity), (None, None));

    let mentions = dir.path().join("mentions.parquet");
    embed_cli(&table, &mentions, &["--model", "hash:16", "--no-cache", "--what", "mentions"], 0);
    let emb = read_embeddings(&mentions).unwrap();
    let want: Vec<(String, String, String, String, u32)> = samples
        .iter()
        .flat_map(|s| s.entities.iter().enumerate().map(move |(i, e)| {
            (format!("{}@{i}", s.id), s.dataset.clone(), e.label.clone(), s.id.clone(), i as u32)
        }))
        .collect();
    assert!(want.len() > 100, "{} mentions", want.len());
    let (dataset, label, sample_id, entity) = (emb.dataset.unwrap(), emb.label.unwrap(), emb.sample_id.unwrap(), emb.entity.unwrap());
    let got: Vec<(String, String, String, String, u32)> = (0..emb.ids.len())
        .map(|i| (emb.ids[i].clone(), dataset[i].clone(), label[i].clone(), sample_id[i].clone(), entity[i]))
        .collect();
    assert_eq!(got, want);
    for (id, sample, index) in got.iter().map(|g| (&g.0, &g.3, g.4)) {
        assert_eq!(nerprep::table::side::split_entity_key(id), Some((sample.as_str(), index as usize)));
    }
}

#[test]
fn types_are_one_row_per_dataset_and_label_with_unique_ids() {
    let dir = tempfile::tempdir().unwrap();
    let (table, samples) = crossner_table(dir.path());
    let out = dir.path().join("types.parquet");
    embed_cli(&table, &out, &["--model", "hash:16", "--no-cache", "--what", "types"], 0);
    let emb = read_embeddings(&out).unwrap();
    let pairs: std::collections::BTreeSet<(String, String)> =
        samples.iter().flat_map(|s| s.entities.iter().map(|e| (s.dataset.clone(), e.label.clone()))).collect();
    let datasets: std::collections::BTreeSet<&String> = pairs.iter().map(|(d, _)| d).collect();
    assert!(datasets.len() >= 2, "{datasets:?}");
    let got: Vec<(String, String)> = emb.dataset.clone().unwrap().into_iter().zip(emb.label.clone().unwrap()).collect();
    assert_eq!(got, pairs.iter().cloned().collect::<Vec<_>>(), "one row per (dataset, label), sorted");
    let ids: Vec<String> = pairs.iter().map(|(d, l)| format!("{d}/{l}")).collect();
    assert_eq!(emb.ids, ids);
    nerprep::table::side::index_by_id(&out, &emb.ids).expect("ids are unique");
    assert_eq!((emb.sample_id.as_ref(), emb.entity.as_ref()), (None, None));
    assert_eq!(emb.metadata[TYPES_BY_KEY], "dataset-label");

    // A label shared by both datasets gets two different vectors (different mentions).
    let shared = pairs.iter().map(|(_, l)| l).find(|l| pairs.iter().filter(|(_, m)| m == *l).count() > 1).expect("a shared label");
    let rows: Vec<usize> = got.iter().enumerate().filter(|(_, (_, l))| l == shared).map(|(i, _)| i).collect();
    assert_ne!(emb.vectors.row(rows[0]), emb.vectors.row(rows[1]), "{shared}");

    let by_label = dir.path().join("labels.parquet");
    embed_cli(&table, &by_label, &["--model", "hash:16", "--no-cache", "--what", "types", "--types-by", "label"], 0);
    let emb = read_embeddings(&by_label).unwrap();
    let labels: std::collections::BTreeSet<String> = pairs.iter().map(|(_, l)| l.clone()).collect();
    assert_eq!(emb.ids, labels.iter().cloned().collect::<Vec<_>>());
    assert_eq!((emb.label.as_ref(), emb.dataset), (Some(&emb.ids), None));
}

#[test]
fn provenance_records_params_the_table_and_the_definitions_file() {
    let dir = tempfile::tempdir().unwrap();
    let (table, _) = ingest(dir.path(), "politics", "crossner", &[fixture("crossner/politics_train.txt")], 0);
    let mapping = Path::new(env!("CARGO_MANIFEST_DIR")).join("mappings/crossner.yaml");
    let out = dir.path().join("types.parquet");
    embed_cli(&table, &out, &["--model", "hash:16", "--no-cache", "--what", "types", "--definitions", mapping.to_str().unwrap()], 0);
    let p = nerprep::table::read_provenance(&out).unwrap().expect("provenance");
    assert_eq!(p.stage, "embed");
    assert_eq!((p.params["model"].as_str(), p.params["what"].as_str(), p.params["batch_size"].as_u64()), (Some("hash:16"), Some("types"), Some(64)));
    assert!(p.params.get("cache").is_none() && p.params.get("models").is_none(), "environment is not a parameter");
    let table_digest = nerprep::table::read_provenance(&table).unwrap().unwrap().output;
    assert_eq!(p.inputs.len(), 2);
    assert_eq!(Some(p.inputs[0].sha256.clone()), table_digest, "the table by the digest recorded in it");
    assert_eq!(p.inputs[1].sha256, nerprep::provenance::sha256_file(&mapping).unwrap());
    assert_eq!(p.counts.unwrap().written as usize, read_embeddings(&out).unwrap().ids.len());
}

#[test]
fn a_broken_definitions_file_is_reported_with_its_line_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let (table, _) = ingest(dir.path(), "politics", "crossner", &[fixture("crossner/politics_train.txt")], 0);
    let defs = dir.path().join("defs.yaml");
    std::fs::write(&defs, "politician: a person in politics
party:
  - not a string
").unwrap();
    let out = dir.path().join("types.parquet");
    let stderr = embed_cli(&table, &out, &["--model", "hash", "--no-cache", "--what", "types", "--definitions", defs.to_str().unwrap()], 1);
    assert!(stderr.contains(&format!("{}:2: label \"party\"", defs.display())), "{stderr}");
    assert!(!out.exists());
}

fn named(name: &str) -> Box<dyn Embedder> {
    let config = EmbedConfig { models_dir: models_dir(), ..EmbedConfig::new(ModelSpec::Named(name.into())) };
    load_embedder(&config).unwrap_or_else(|e| panic!("--model {name}: {e}"))
}

#[test]
fn int8_vectors_are_within_cosine_0_99_of_fp32_on_every_fixture_sentence() {
    let texts = crossner_texts();
    let fp32 = embed_all(named("minilm").as_mut(), &texts, 64);
    let mut int8 = named("minilm-int8");
    assert_eq!(int8.info().backend, Backend::Onnx);
    let q = embed_all(int8.as_mut(), &texts, 64);
    let cosines: Vec<f32> = (0..texts.len()).map(|i| cosine(fp32.row(i), q.row(i))).collect();
    let (worst, at) = cosines.iter().zip(0..).fold((1.0f32, 0), |(w, a), (&c, i)| if c < w { (c, i) } else { (w, a) });
    let mean = cosines.iter().sum::<f32>() / cosines.len() as f32;
    eprintln!("minilm-int8 vs fp32 on {} sentences: mean cosine {mean:.5}, min {worst:.5}", texts.len());
    assert!(worst >= 0.99, "cosine {worst} on {:?}", texts[at]);
}

/// Pairs `(i, j)`, `i != j`, drawn from `n` items by a fixed linear congruential stream.
fn seeded_pairs(n: usize, count: usize) -> Vec<(usize, usize)> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) as usize % n
    };
    let mut pairs = Vec::with_capacity(count);
    while pairs.len() < count {
        let (i, j) = (next(), next());
        if i != j {
            pairs.push((i, j));
        }
    }
    pairs
}

/// Ranks with ties sharing their mean rank.
fn ranks(values: &[f32]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut out = vec![0.0; values.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && values[order[j + 1]] == values[order[i]] {
            j += 1;
        }
        let rank = (i + j) as f64 / 2.0;
        order[i..=j].iter().for_each(|&k| out[k] = rank);
        i = j + 1;
    }
    out
}

/// Spearman correlation: Pearson's of the ranks.
fn spearman(a: &[f32], b: &[f32]) -> f64 {
    let (ra, rb) = (ranks(a), ranks(b));
    let n = ra.len() as f64;
    let (ma, mb) = (ra.iter().sum::<f64>() / n, rb.iter().sum::<f64>() / n);
    let cov: f64 = ra.iter().zip(&rb).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = ra.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = rb.iter().map(|y| (y - mb).powi(2)).sum();
    cov / (va * vb).sqrt()
}

#[test]
fn spearman_of_identical_and_reversed_orders() {
    assert!((spearman(&[1.0, 2.0, 3.0], &[10.0, 20.0, 30.0]) - 1.0).abs() < 1e-12);
    assert!((spearman(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]) + 1.0).abs() < 1e-12);
    assert_eq!(ranks(&[5.0, 1.0, 5.0]), vec![1.5, 0.0, 1.5]);
}

/// The measured quality of `minilm-static` (README): how well the pairwise cosines of 5,000
/// fixture sentence pairs keep MiniLM's order, next to `hash`.
#[test]
fn static_model_orders_sentence_pairs_like_minilm_better_than_hash() {
    let texts = crossner_texts();
    let pairs = seeded_pairs(texts.len(), 5_000);
    let cosines = |m: &Embeddings| -> Vec<f32> { pairs.iter().map(|&(i, j)| cosine(m.row(i), m.row(j))).collect() };
    let minilm = cosines(&embed_all(named("minilm").as_mut(), &texts, 64));
    let stat = cosines(&embed_all(named("minilm-static").as_mut(), &texts, 64));
    let hash = cosines(&embed_all(&mut HashEmbedder::new(384), &texts, 64));
    let (rho_static, rho_hash) = (spearman(&minilm, &stat), spearman(&minilm, &hash));
    eprintln!("Spearman with MiniLM on {} pairs of {} sentences: minilm-static {rho_static:.3}, hash {rho_hash:.3}", pairs.len(), texts.len());
    assert!(rho_static > rho_hash, "static {rho_static} <= hash {rho_hash}");
}

#[test]
fn static_vectors_do_not_depend_on_the_thread_count() {
    let texts = crossner_texts();
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| embed_all(named("minilm-static").as_mut(), &texts, 64))
    };
    let (one, two) = (run(1), run(2));
    assert_eq!(one.dim(), 256);
    assert!(one.as_slice().iter().zip(two.as_slice()).all(|(a, b)| a.to_bits() == b.to_bits()));
}

/// The static model `make model` installed is byte-identical to a second distillation
/// (`scripts/distill_static.py` run again in `.venv-model`).
#[test]
fn static_model_is_byte_identical_when_distilled_again() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let python = root.join(".venv-model/bin/python");
    assert!(python.is_file(), "{} is missing: run `make model`", python.display());
    let out = tempfile::tempdir().unwrap();
    let minilm = minilm_dir();
    let status = std::process::Command::new(python)
        .arg(root.join("scripts/distill_static.py"))
        .args([&minilm, &minilm.join("model.onnx"), &out.path().join("static")])
        .status()
        .unwrap();
    assert!(status.success());
    let installed = std::fs::read(models_dir().join("all-MiniLM-L6-v2-static/embeddings.safetensors")).unwrap();
    assert!(std::fs::read(out.path().join("static/embeddings.safetensors")).unwrap() == installed, "a second distillation gave other bytes");
}

#[test]
fn cli_cache_stats_and_compact_report_models_entries_and_segments() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let cache_s = cache.to_str().unwrap();
    for (name, file) in [("music", "music_train.txt"), ("dev", "music_dev.txt")] {
        let (table, _) = ingest(dir.path(), name, "crossner", &[fixture(&format!("crossner/{file}"))], 0);
        let out = dir.path().join(format!("{name}.emb.parquet"));
        nerprep_ok(&["--quiet", "embed", table.to_str().unwrap(), "--model", "hash:16", "--cache", cache_s, "-o", out.to_str().unwrap()], 0);
    }
    let stats = crate::common::nerprep(&["cache", "stats", "--cache", cache_s]);
    let text = String::from_utf8_lossy(&stats.stdout).into_owned();
    assert!(text.contains("in 2 segments") && text.contains("model=hash-char-ngram-1-4@v1-d16"), "{text}");
    assert!(text.contains("total: 1 models"), "{text}");
    let compact = crate::common::nerprep(&["cache", "compact", "--cache", cache_s]);
    let after = String::from_utf8_lossy(&compact.stdout).into_owned();
    assert!(after.contains("in 1 segments"), "{after}");
    let entries = |t: &str| t.split(" entries").next().unwrap().rsplit(' ').next().unwrap().to_string();
    assert_eq!(entries(&text), entries(&after), "compaction keeps every entry");
}

/// The GPU path (`scripts/gpu-check.sh` runs it; needs `--features cuda` and a GPU): candle on
/// CUDA gives the sentence-transformers vectors and the CPU backend's within 1e-4.
#[cfg(feature = "cuda")]
#[test]
fn cuda_matches_sentence_transformers_and_the_cpu() {
    let mut gpu = CandleEmbedder::load(&minilm_dir(), None, Device::Cuda(0)).unwrap();
    assert_parity(&mut gpu, "candle cuda");
    let texts = crossner_texts();
    let a = embed_all(&mut gpu, &texts, 256);
    let b = embed_all(named("minilm").as_mut(), &texts, 256);
    let worst = a.as_slice().iter().zip(b.as_slice()).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max);
    eprintln!("cuda vs cpu on {} sentences: max difference {worst:e}", texts.len());
    assert!(worst <= PARITY, "cuda and cpu differ by {worst}");
}
