//! SAM-NER templates (seed 000, §3.2–3.3, prompts 3 and 4), one record per mapped entity:
//!
//! - `sam-archetype` trains the archetype classifier: the sentence with the entity wrapped
//!   in `<ENT></ENT>`, the archetypes with their definitions, and the entity's archetype
//!   (from `nerprep map`) as the answer.
//! - `sam-calibrate` trains or evaluates the calibrator: the tagged sentence, the entity's
//!   archetype and its definition, the dataset's labels with their definitions, and the
//!   entity's own fine-grained label as the answer.
//!
//! Archetype definitions come from `taxonomy/archetypes.yaml` through [`crate::taxonomy`];
//! label definitions from `--label-descriptions` (a mapping such as `mappings/crossner.yaml`,
//! or a plain `label: description` object). Entities without an archetype are counted and
//! left out; a sample with none gives no record.

use super::prompts::{format_guide, Lang};
use super::{render_answer, AnswerCheck, EmitConfig, EmitError, Pools, Record, Rendered, Skip, Turn};
use crate::answer::pyjson::{self, Ascii};
use crate::model::{CharIndex, Entity, Sample};
use crate::taxonomy::Archetypes;
use serde_json::{json, Map, Value};
use std::path::Path;

pub use crate::taxonomy::Archetype;

/// Opening tag around the entity being asked about.
pub const ENT_OPEN: &str = "<ENT>";
/// Closing tag around the entity being asked about.
pub const ENT_CLOSE: &str = "</ENT>";

/// Reads the archetypes (name, definition) from a taxonomy archetypes file.
pub fn load_archetypes(path: &Path) -> Result<Vec<Archetype>, EmitError> {
    let archetypes = Archetypes::load(path).map_err(|error| EmitError::Taxonomy { what: "archetypes", error })?;
    Ok(archetypes.iter().cloned().collect())
}

/// The text with `entity` wrapped in `<ENT></ENT>`.
pub fn tag_entity(text: &str, entity: &Entity) -> Option<String> {
    let range = CharIndex::new(text).byte_range(entity.span)?;
    Some(format!("{}{ENT_OPEN}{}{ENT_CLOSE}{}", &text[..range.start], &text[range.clone()], &text[range.end..]))
}

/// The sample's entities that have a known archetype, with it; counts the others.
fn mapped<'s>(config: &EmitConfig, sample: &'s Sample, out: &mut Rendered) -> Vec<(&'s Entity, &'s str)> {
    let mut found = Vec::new();
    for e in &sample.entities {
        match e.archetype.as_deref() {
            None => out.note("unmapped_entities", 1),
            Some(a) if !config.archetypes.iter().any(|k| k.name == a) => out.note("unknown_archetype_entities", 1),
            Some(a) => found.push((e, a)),
        }
    }
    found
}

/// One record per mapped entity: `ask(entity, archetype, tagged text)` gives the prompt and
/// the entity as the answer must name it; the answer chooses among `labels`.
fn per_entity(
    config: &EmitConfig,
    sample: &Sample,
    labels: &[String],
    out: &mut Rendered,
    ask: impl Fn(&Entity, &str, &str) -> (String, Entity),
) -> Result<Vec<Record>, Skip> {
    let entities = mapped(config, sample, out);
    if entities.is_empty() {
        return Err(Skip::new("no_mapped_entities"));
    }
    entities
        .into_iter()
        .enumerate()
        .map(|(k, (entity, archetype))| {
            let tagged = tag_entity(&sample.text, entity).ok_or_else(|| Skip::new("render_failed:outside_text"))?;
            let (prompt, target) = ask(entity, archetype, &tagged);
            let answer = render_answer(config.format, &sample.text, labels, std::slice::from_ref(&target))?;
            Ok(Record {
                id: format!("{}@{k}", sample.id),
                sample_id: sample.id.clone(),
                labels: labels.to_vec(),
                turns: vec![Turn {
                    user: prompt,
                    assistant: answer,
                    check: Some(AnswerCheck { labels: labels.to_vec(), entities: vec![target] }),
                }],
            })
        })
        .collect()
}

/// `sam-archetype`: the tagged sentence and the archetypes (prompt 3 layout) → the archetype.
pub(super) fn archetype_records(config: &EmitConfig, sample: &Sample, out: &mut Rendered) -> Result<Vec<Record>, Skip> {
    let names: Vec<String> = config.archetypes.iter().map(|a| a.name.clone()).collect();
    let definitions: Map<String, Value> = config.archetypes.iter().map(|a| (a.name.clone(), json!(a.definition))).collect();
    let instruction = format!(
        "Classify the entity marked with {ENT_OPEN}{ENT_CLOSE} in the sentence: choose the one type from the schema that fits it best, judging by the definitions and by what the sentence says about it. {}",
        format_guide(config.format, Lang::En)
    );
    per_entity(config, sample, &names, out, |entity, archetype, tagged| {
        let prompt = json!({"instruction": instruction, "Schema": names, "Definitions": definitions, "Sentence": tagged});
        (pyjson::to_string(&prompt, Ascii::Raw), Entity { label: archetype.to_string(), ..entity.clone() })
    })
}

/// `sam-calibrate`: the tagged sentence, its archetype and the dataset's labels with their
/// definitions (prompt 4 layout) → the entity's own label.
pub(super) fn calibrate_records(
    config: &EmitConfig,
    pools: &Pools,
    sample: &Sample,
    out: &mut Rendered,
) -> Result<Vec<Record>, Skip> {
    let candidates = pools.dataset(&sample.dataset).to_vec();
    let described: String =
        candidates.iter().filter_map(|l| config.descriptions.get(l).map(|d| format!("\n- {l}: {d}"))).collect();
    out.note("labels_without_description", candidates.iter().filter(|l| !config.descriptions.contains_key(*l)).count() as u64);
    let guide = format_guide(config.format, Lang::En);
    let listed = candidates.join(", ");
    per_entity(config, sample, &candidates, out, |entity, archetype, tagged| {
        let definition = config.archetypes.iter().find(|a| a.name == archetype).map_or("", |a| a.definition.as_str());
        let initial = pyjson::to_string(&json!([{ entity.text.as_str(): archetype }]), Ascii::Raw);
        let prompt = format!(
            "Instruction\nA classifier gave the entity marked with {ENT_OPEN}{ENT_CLOSE} a coarse archetype. Choose its type from the candidate types: the one whose definition fits what the text says about the entity, using the archetype and its definition as a guide. {guide}\n\nInformation\nText: {tagged}\nInitial Output: {initial}\nCandidate Types: [{listed}]\nAbstract Types Definition:\n- {archetype}: {definition}\nTarget Types Definition:{described}"
        );
        (prompt, entity.clone())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Span;

    #[test]
    fn tags_wrap_exactly_the_entity_in_code_points() {
        let e = Entity::new(Span::new(1, 6).unwrap(), "org", "青岛海牛队");
        assert_eq!(tag_entity("在青岛海牛队比赛", &e).unwrap(), "在<ENT>青岛海牛队</ENT>比赛");
        let outside = Entity::new(Span::new(5, 9).unwrap(), "x", "y");
        assert_eq!(tag_entity("abc", &outside), None);
    }
}
