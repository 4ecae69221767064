//! The B2NER template (seed 002 §3.3, Appendix A.4, C.2): one record per sample, the
//! label-set instruction and the answer in the chosen format.
//!
//! Label set: the dataset's pool in its order; with `--dynamic-label-set`, the labels the
//! sample has entities of plus a random number of other pool labels (so the set size
//! varies up to `--max-labels`), shuffled — labels present always stay so the answer stays
//! right. `--label-dropout p` then drops each label with probability `p` from both the
//! instruction and the answer, keeping at least one (B2NER's random label dropout).

use super::prompts::{b2ner_instruction, Lang};
use crate::rng::Rng;
use super::{present_labels, render_answer, AnswerCheck, EmitConfig, Pools, Record, Rendered, Skip, Turn};
use crate::model::{Entity, Sample};

/// The labels a sample's instruction asks for, before dropout.
fn label_set(config: &EmitConfig, pools: &Pools, sample: &Sample, rng: &mut Rng) -> Vec<String> {
    let present = present_labels(&sample.entities);
    let pool = pools.dataset(&sample.dataset);
    let Some(max) = config.max_labels else {
        return pool.to_vec();
    };
    let others: Vec<String> = pool.iter().filter(|l| !present.contains(l)).cloned().collect();
    let room = max.saturating_sub(present.len()).min(others.len());
    let at_least = usize::from(present.is_empty() && room > 0);
    let extra = at_least + rng.below(room + 1 - at_least);
    let mut labels = present;
    labels.extend(rng.sample(&others, extra));
    rng.shuffle(&mut labels);
    labels
}

/// Drops each label with probability `p`, keeping at least one.
fn dropout(labels: Vec<String>, p: f64, rng: &mut Rng) -> (Vec<String>, usize) {
    if p == 0.0 || labels.is_empty() {
        return (labels, 0);
    }
    let kept: Vec<String> = labels.iter().filter(|_| !rng.chance(p)).cloned().collect();
    if kept.is_empty() {
        let keep = labels[rng.below(labels.len())].clone();
        return (vec![keep], labels.len() - 1);
    }
    let dropped = labels.len() - kept.len();
    (kept, dropped)
}

/// The sample's record.
pub(super) fn records(
    config: &EmitConfig,
    pools: &Pools,
    sample: &Sample,
    lang: Lang,
    rng: &mut Rng,
    out: &mut Rendered,
) -> Result<Vec<Record>, Skip> {
    let labels = label_set(config, pools, sample, rng);
    let (labels, dropped) = dropout(labels, config.label_dropout, rng);
    if labels.is_empty() {
        return Err(Skip::new("no_labels"));
    }
    let entities: Vec<Entity> = sample.entities.iter().filter(|e| labels.contains(&e.label)).cloned().collect();
    out.note("labels_dropped", dropped as u64);
    out.note("entities_dropped_with_labels", (sample.entities.len() - entities.len()) as u64);
    let answer = render_answer(config.format, &sample.text, &labels, &entities)?;
    let instruction = b2ner_instruction(lang, config.format, &labels, &config.descriptions, &sample.text);
    Ok(vec![Record {
        id: format!("{}@0", sample.id),
        sample_id: sample.id.clone(),
        labels: labels.clone(),
        turns: vec![Turn { user: instruction, assistant: answer, check: Some(AnswerCheck { labels, entities }) }],
    }])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emit::{EmitParams, Template};
    use crate::model::{SourceFormat, Span};

    fn pools_with(labels: &[&str]) -> Pools {
        let mut s = Sample::new("d/train/f:9", "d", SourceFormat::B2nerd, "train", "en", "x");
        s.label_set = labels.iter().map(|l| l.to_string()).collect();
        let mut p = Pools::default();
        p.add(&s);
        p.finish();
        p
    }

    fn sample(id: &str) -> Sample {
        let mut s = Sample::new(id, "d", SourceFormat::B2nerd, "train", "en", "Barak met Peres in Paris");
        s.entities.push(Entity::new(Span::new(0, 5).unwrap(), "person", "Barak"));
        s.entities.push(Entity::new(Span::new(10, 15).unwrap(), "person", "Peres"));
        s.entities.push(Entity::new(Span::new(19, 24).unwrap(), "location", "Paris"));
        s
    }

    #[test]
    fn static_label_set_is_the_dataset_pool() {
        let pools = pools_with(&["person", "location", "organization", "else"]);
        let config = EmitParams::new(Template::B2ner).load().unwrap();
        let mut rng = Rng::for_sample(0, "x");
        let s = sample("d/train/f:0");
        let labels = label_set(&config, &pools, &s, &mut rng);
        assert_eq!(labels, ["person", "location", "organization", "else"]);
    }

    #[test]
    fn dynamic_label_sets_keep_present_labels_and_vary_in_size() {
        let all: Vec<String> = (0..30).map(|i| format!("l{i}")).collect();
        let mut names: Vec<&str> = all.iter().map(String::as_str).collect();
        names.extend(["person", "location"]);
        let pools = pools_with(&names);
        let mut p = EmitParams::new(Template::B2ner);
        p.dynamic_label_set = true;
        p.max_labels = Some(8);
        let config = p.load().unwrap();
        let mut sizes = std::collections::BTreeSet::new();
        let mut firsts = std::collections::BTreeSet::new();
        for i in 0..200 {
            let s = sample(&format!("d/train/f:{i}"));
            let mut rng = Rng::for_sample(1, &s.id);
            let labels = label_set(&config, &pools, &s, &mut rng);
            assert!(labels.contains(&"person".to_string()) && labels.contains(&"location".to_string()));
            assert!(labels.len() <= 8);
            let mut d = labels.clone();
            d.sort();
            d.dedup();
            assert_eq!(d.len(), labels.len(), "no label twice");
            sizes.insert(labels.len());
            firsts.insert(labels[0].clone());
        }
        assert_eq!(sizes.len(), 7, "sizes 2..=8 all occur: {sizes:?}");
        assert!(firsts.len() > 5, "order is shuffled");
    }

    #[test]
    fn dropout_keeps_at_least_one_label() {
        let labels: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
        let mut rng = Rng::for_sample(0, "x");
        for _ in 0..100 {
            let (kept, dropped) = dropout(labels.clone(), 0.99, &mut rng);
            assert_eq!(kept.len(), 1);
            assert_eq!(dropped, 2);
        }
        let (kept, dropped) = dropout(labels.clone(), 0.0, &mut rng);
        assert_eq!((kept, dropped), (labels, 0));
    }
}
