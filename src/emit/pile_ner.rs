//! The Pile-NER / UniversalNER template: one multi-turn conversation per sample — the
//! passage, the fixed acknowledgement, then one `What describes X in the text?` per asked
//! type, each answered by a JSON list of its mentions, repeated per occurrence.
//!
//! Asked types: the sample's types plus negatives. `--negatives all` asks every other type of
//! the dataset's pool; `--neg-ratio p` draws a Binomial(pool size, p) count (at least one
//! when the sample has no entity) from the global type pool with probability proportional
//! to each type's entity count, as UniversalNER samples its negatives. Question order is
//! shuffled (seeded).

use crate::rng::Rng;
use super::{negative_count, present_labels, render_answer, AnswerCheck, EmitConfig, Negatives, Pools, Record, Rendered, Skip, Turn};
use crate::answer::pile_ner::{question, ACKNOWLEDGEMENT, TEXT_PREFIX};
use crate::model::{Entity, Sample};

/// The types asked of a sample, shuffled.
fn asked_types(config: &EmitConfig, pools: &Pools, sample: &Sample, rng: &mut Rng, out: &mut Rendered) -> Vec<String> {
    let positives = present_labels(&sample.entities);
    let pool = pools.dataset(&sample.dataset);
    let mut asked = positives.clone();
    match config.negatives {
        Negatives::All => asked.extend(pool.iter().filter(|l| !positives.contains(l)).cloned()),
        Negatives::None => {}
        Negatives::Ratio(p) => {
            let k = negative_count(rng, pool.len(), p, !positives.is_empty());
            let drawn = pools.draw_by_frequency(rng, k, |l| positives.iter().any(|p| p == l));
            out.note("negatives_short_of_target", (k - drawn.len()) as u64);
            asked.extend(drawn);
        }
    }
    rng.shuffle(&mut asked);
    asked
}

/// The sample's conversation.
pub(super) fn records(
    config: &EmitConfig,
    pools: &Pools,
    sample: &Sample,
    rng: &mut Rng,
    out: &mut Rendered,
) -> Result<Vec<Record>, Skip> {
    let asked = asked_types(config, pools, sample, rng, out);
    if asked.is_empty() {
        return Err(Skip::new("no_labels"));
    }
    let mut turns = vec![Turn { user: format!("{TEXT_PREFIX}{}", sample.text), assistant: ACKNOWLEDGEMENT.into(), check: None }];
    for label in &asked {
        let labels = vec![label.clone()];
        let entities: Vec<Entity> = sample.entities.iter().filter(|e| &e.label == label).cloned().collect();
        let answer = render_answer(config.format, &sample.text, &labels, &entities)?;
        turns.push(Turn { user: question(label), assistant: answer, check: Some(AnswerCheck { labels, entities }) });
    }
    Ok(vec![Record { id: format!("{}@0", sample.id), sample_id: sample.id.clone(), labels: asked, turns }])
}
