//! The IEPile template: the double-encoded instruction object (`instruction`, `schema`,
//! `input`) and the `output` object with every asked label as a key in schema order.
//!
//! Asked labels are the sample's labels plus negatives (`--negatives all|none` or IEPile's
//! seeded `--neg-ratio`), plus the hard negatives of its labels (always asked, when the
//! dataset's pool has them), shuffled, then split into records of `--split-num` labels with
//! IEPile's tail rule ([`split_schema`]).

use super::prompts::Lang;
use crate::rng::Rng;
use super::{negative_count, present_labels, render_answer, AnswerCheck, EmitConfig, Negatives, Pools, Record, Rendered, Skip, Turn};
use crate::answer::iepile::{Instruction, PROMPT_EN, PROMPT_ZH};
use crate::model::{Entity, Sample};

/// Splits the asked labels into records of `split_num` labels, as IEPile's converter does
/// (`split_total_by_num`): full chunks of `split_num`; a remainder of at least
/// `max(1, split_num / 2)` labels becomes its own record, a shorter one joins the last
/// chunk. Fewer than `split_num` labels stay in one record; `None` never splits.
pub fn split_schema(labels: &[String], split_num: Option<usize>) -> Vec<Vec<String>> {
    let Some(n) = split_num.filter(|&n| n > 0) else { return vec![labels.to_vec()] };
    if labels.len() <= n {
        return vec![labels.to_vec()];
    }
    let full = labels.len() / n * n;
    let mut chunks: Vec<Vec<String>> = labels[..full].chunks(n).map(<[String]>::to_vec).collect();
    let tail = &labels[full..];
    if tail.len() >= (n / 2).max(1) {
        chunks.push(tail.to_vec());
    } else if let Some(last) = chunks.last_mut() {
        last.extend_from_slice(tail);
    }
    chunks
}

/// The labels asked of a sample: positives, hard negatives, then negatives per the policy,
/// shuffled.
fn asked_labels(config: &EmitConfig, pools: &Pools, sample: &Sample, rng: &mut Rng, out: &mut Rendered) -> Vec<String> {
    let positives = present_labels(&sample.entities);
    let pool = pools.dataset(&sample.dataset);
    let mut asked = positives.clone();
    let mut hard = 0;
    for label in &positives {
        for h in config.hard_negatives.of(&sample.dataset, label) {
            if pool.iter().any(|p| p == h) && !asked.iter().any(|a| a == h) {
                asked.push(h.to_string());
                hard += 1;
            }
        }
    }
    out.note("hard_negatives_asked", hard);
    let rest: Vec<String> = pool.iter().filter(|l| !asked.contains(l)).cloned().collect();
    match config.negatives {
        Negatives::All => asked.extend(rest),
        Negatives::None => {}
        Negatives::Ratio(p) => {
            let k = negative_count(rng, pool.len(), p, !positives.is_empty());
            asked.extend(rng.sample(&rest, k));
        }
    }
    rng.shuffle(&mut asked);
    asked
}

/// One record per schema chunk.
pub(super) fn records(
    config: &EmitConfig,
    pools: &Pools,
    sample: &Sample,
    lang: Lang,
    rng: &mut Rng,
    out: &mut Rendered,
) -> Result<Vec<Record>, Skip> {
    let asked = asked_labels(config, pools, sample, rng, out);
    if asked.is_empty() {
        return Err(Skip::new("no_labels"));
    }
    let prompt = match lang {
        Lang::En => PROMPT_EN,
        Lang::Zh => PROMPT_ZH,
    };
    split_schema(&asked, config.split_num)
        .into_iter()
        .enumerate()
        .map(|(k, chunk)| {
            let entities: Vec<Entity> = sample.entities.iter().filter(|e| chunk.contains(&e.label)).cloned().collect();
            let output = render_answer(config.format, &sample.text, &chunk, &entities)?;
            let instruction =
                Instruction { instruction: prompt.to_string(), schema: chunk.clone(), input: sample.text.clone() }.encode();
            Ok(Record {
                id: format!("{}@{k}", sample.id),
                sample_id: sample.id.clone(),
                labels: chunk.clone(),
                turns: vec![Turn { user: instruction, assistant: output, check: Some(AnswerCheck { labels: chunk, entities }) }],
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sizes(n: usize, split: usize) -> Vec<usize> {
        let labels: Vec<String> = (0..n).map(|i| format!("l{i}")).collect();
        let chunks = split_schema(&labels, Some(split));
        let flat: Vec<String> = chunks.concat();
        assert_eq!(flat, labels, "every label once, order kept");
        chunks.iter().map(Vec::len).collect()
    }

    #[test]
    fn tail_rule_for_1_to_13_labels_with_split_num_6() {
        // Worked by hand from IEPile's `split_total_by_num` (remain_len = max(1, 6 / 2) = 3).
        let expected: [&[usize]; 13] = [
            &[1],
            &[2],
            &[3],
            &[4],
            &[5],
            &[6],
            &[7],
            &[8],
            &[6, 3],
            &[6, 4],
            &[6, 5],
            &[6, 6],
            &[6, 7],
        ];
        for (n, want) in (1..=13).zip(expected) {
            assert_eq!(sizes(n, 6), want, "{n} labels");
        }
    }

    #[test]
    fn tail_rule_with_other_split_sizes() {
        assert_eq!(sizes(5, 4), [5], "a tail of 1 < 2 joins");
        assert_eq!(sizes(6, 4), [4, 2], "a tail of 2 = 4/2 stands alone");
        assert_eq!(sizes(3, 1), [1, 1, 1], "split 1: remain_len is max(1, 0) = 1");
        assert_eq!(sizes(7, 3), [3, 3, 1], "tail 1 = max(1, 3/2) stands alone");
        assert_eq!(split_schema(&["a".to_string(), "b".to_string()], None).len(), 1);
        assert_eq!(split_schema(&[], Some(6)), vec![Vec::<String>::new()]);
    }
}
