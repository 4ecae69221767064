//! Instruction text: the B2NER label-set template (English and Chinese, as B2NER trains
//! with it), and for the seed-003 answer formats a description of the format with one
//! example, rendered by the same code that renders answers so the example cannot drift.

use crate::answer::{self, AnswerContext, AnswerFormat};
use crate::model::{Entity, Span};
use std::collections::BTreeMap;

/// Prompt language of one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// English.
    En,
    /// Chinese.
    Zh,
}

/// B2NER's task sentence up to the answer-format clause (`configs/instruction_config_ml.json`
/// of UmeanNever/B2NER; the English one is also seed 002, Figure 10).
fn b2ner_task(lang: Lang, with_descriptions: bool) -> &'static str {
    match (lang, with_descriptions) {
        (Lang::En, false) => "Given the label set of entities, please recognize all the entities in the text.",
        (Lang::En, true) => {
            "Given the label set of entities and their descriptions, please recognize all the entities in the text."
        }
        (Lang::Zh, false) => "给定实体的标签范围，请识别文本中属于这些标签的所有实体。",
        (Lang::Zh, true) => "给定实体的标签范围以及对每个标签的描述，请识别文本中属于这些标签的所有实体。",
    }
}

/// B2NER's own answer-format clause.
fn b2ner_clause(lang: Lang) -> &'static str {
    match lang {
        Lang::En => " The answer format should be \"entity label: entity; entity label: entity\". ",
        Lang::Zh => "答案格式为 \"实体标签: 实体; 实体标签: 实体\"。",
    }
}

/// How the answer should look, in our words, for formats other than B2NER's own.
fn format_description(format: AnswerFormat, lang: Lang) -> &'static str {
    use AnswerFormat::*;
    match (format, lang) {
        (B2ner, Lang::En) => "Answer as \"label: entity; label: entity\" in order of appearance, or None when there is no entity.",
        (B2ner, Lang::Zh) => "按出现顺序以 \"标签: 实体; 标签: 实体\" 的格式回答，没有实体时回答 None。",
        (InlineBracket, Lang::En) => {
            "Copy the text unchanged, enclosing every entity as [entity LABEL]: the entity, a space and its label inside square brackets; an entity inside another one is enclosed the same way."
        }
        (InlineBracket, Lang::Zh) => "原样抄写文本，把每个实体写成 [实体 标签]：方括号内为实体、一个空格和标签；嵌套在其他实体中的实体同样处理。",
        (InlineXml, Lang::En) => {
            "Copy the text unchanged, wrapping every entity in a tag named after its label, <LABEL>entity</LABEL>; an entity inside another one is wrapped the same way."
        }
        (InlineXml, Lang::Zh) => "原样抄写文本，用以标签命名的标记包住每个实体：<标签>实体</标签>；嵌套在其他实体中的实体同样处理。",
        (JsonGrouped, Lang::En) => {
            "Answer with a JSON object whose keys are all the labels of the label set, each mapped to the list of its entities in order of appearance (an empty list when it has none; an entity that appears twice is listed twice)."
        }
        (JsonGrouped, Lang::Zh) => {
            "用JSON对象回答：标签范围中的每个标签都是一个键，值为该标签的实体按出现顺序组成的列表（没有实体时为空列表，出现两次的实体列出两次）。"
        }
        (JsonOccurrence, Lang::En) => {
            "Answer with a JSON list holding one object per entity in order of appearance, with \"text\" (the entity), \"label\" and \"occurrence_index\" (which appearance of that exact text in the input it is, counting from 1); [] when there is no entity."
        }
        (JsonOccurrence, Lang::Zh) => {
            "用JSON列表回答，每个实体按出现顺序对应一个对象，包含 \"text\"（实体）、\"label\"（标签）和 \"occurrence_index\"（该文本在输入中第几次出现，从1开始计数）；没有实体时回答 []。"
        }
        (JsonOffset, Lang::En) => {
            "Answer with a JSON list holding one object per entity in order of appearance, with \"text\" (the entity), \"label\", \"start\" (0-based index of its first character) and \"end\" (index just after its last character); [] when there is no entity."
        }
        (JsonOffset, Lang::Zh) => {
            "用JSON列表回答，每个实体按出现顺序对应一个对象，包含 \"text\"（实体）、\"label\"（标签）、\"start\"（第一个字符的下标，从0开始）和 \"end\"（最后一个字符之后的下标）；没有实体时回答 []。"
        }
        (Iepile | PileNer, _) => "",
    }
}

/// The fixed example used to show a format: a short sentence with two entities.
fn example(lang: Lang) -> (&'static str, Vec<String>, Vec<Entity>) {
    let ent = |s: u32, e: u32, label: &str, text: &str| Entity::new(Span::new(s, e).expect("fixed span"), label, text);
    match lang {
        Lang::En => (
            "Marie Curie was born in Warsaw.",
            vec!["person".into(), "location".into()],
            vec![ent(0, 11, "person", "Marie Curie"), ent(24, 30, "location", "Warsaw")],
        ),
        Lang::Zh => (
            "鲁迅出生于绍兴。",
            vec!["人物".into(), "地点".into()],
            vec![ent(0, 2, "人物", "鲁迅"), ent(5, 7, "地点", "绍兴")],
        ),
    }
}

/// The answer-format guide: the description and one rendered example.
pub fn format_guide(format: AnswerFormat, lang: Lang) -> String {
    let (text, labels, ents) = example(lang);
    let ctx = AnswerContext { text, labels: &labels };
    let shown = answer::render(format, ctx, &ents).expect("the fixed example renders in every format");
    match lang {
        Lang::En => format!(
            "{} For example, for the text \"{text}\" and the labels {}, the answer is: {shown}",
            format_description(format, lang),
            labels.join(", ")
        ),
        Lang::Zh => {
            format!("{}例如，文本“{text}”、标签 {} 的答案是：{shown}", format_description(format, lang), labels.join(", "))
        }
    }
}

/// The B2NER instruction for one sample: task, answer format, label set, optional label
/// descriptions, the text and the answer cue. With the `b2ner` format this is B2NER's own
/// template byte for byte; other formats replace the format clause with [`format_guide`].
pub fn b2ner_instruction(
    lang: Lang,
    format: AnswerFormat,
    labels: &[String],
    descriptions: &BTreeMap<String, String>,
    text: &str,
) -> String {
    let described: Vec<String> = labels
        .iter()
        .filter_map(|l| {
            // B2NER drops a description's final full stop: it is quoted inside a sentence.
            let d = descriptions.get(l)?.trim_end_matches(['.', '。']);
            Some(match lang {
                Lang::En => format!("{l} means \"{d}\""),
                Lang::Zh => format!("{l} 是指 \"{d}\""),
            })
        })
        .collect();
    let mut s = String::from(b2ner_task(lang, !described.is_empty()));
    if format == AnswerFormat::B2ner {
        s.push_str(b2ner_clause(lang));
    } else {
        s.push(' ');
        s.push_str(&format_guide(format, lang));
        s.push(' ');
    }
    let labels = labels.join(", ");
    let described = described.join("; ");
    match lang {
        Lang::En => {
            s.push_str(&format!("\nLabel Set: {labels} \n"));
            if !described.is_empty() {
                s.push_str(&format!("Label Description: {described} \n"));
            }
            s.push_str(&format!("\nText: {text} \nAnswer:"));
        }
        Lang::Zh => {
            s.push_str(&format!("\n标签范围: {labels}\n"));
            if !described.is_empty() {
                s.push_str(&format!("标签描述: {described}\n"));
            }
            s.push_str(&format!("\n文本: {text} \n答案:"));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn b2ner_format_reproduces_b2ners_template() {
        let labels = vec!["person".to_string(), "location".to_string()];
        let got = b2ner_instruction(Lang::En, AnswerFormat::B2ner, &labels, &BTreeMap::new(), "Barak left .");
        assert_eq!(
            got,
            "Given the label set of entities, please recognize all the entities in the text. The answer format should be \"entity label: entity; entity label: entity\". \nLabel Set: person, location \n\nText: Barak left . \nAnswer:"
        );
        let zh = b2ner_instruction(Lang::Zh, AnswerFormat::B2ner, &["人名".to_string()], &BTreeMap::new(), "暴雪");
        assert_eq!(
            zh,
            "给定实体的标签范围，请识别文本中属于这些标签的所有实体。答案格式为 \"实体标签: 实体; 实体标签: 实体\"。\n标签范围: 人名\n\n文本: 暴雪 \n答案:"
        );
    }

    #[test]
    fn descriptions_switch_to_the_described_template() {
        let labels = vec!["person".to_string(), "misc".to_string()];
        let d = BTreeMap::from([("person".to_string(), "a named individual.".to_string())]);
        let got = b2ner_instruction(Lang::En, AnswerFormat::B2ner, &labels, &d, "x");
        assert!(got.starts_with("Given the label set of entities and their descriptions,"));
        assert!(got.contains("\nLabel Description: person means \"a named individual\" \n\nText: x"));
    }

    #[test]
    fn every_format_guide_shows_a_parsable_example() {
        for lang in [Lang::En, Lang::Zh] {
            for &format in crate::emit::Template::B2ner.formats() {
                let guide = format_guide(format, lang);
                let (text, labels, ents) = example(lang);
                let ctx = AnswerContext { text, labels: &labels };
                let shown = answer::render(format, ctx, &ents).unwrap();
                assert!(guide.ends_with(&shown), "{guide}");
                assert!(answer::round_trips(format, ctx, &ents, &shown));
                assert!(!format_description(format, lang).is_empty());
            }
        }
        assert!(format_guide(AnswerFormat::InlineXml, Lang::En)
            .ends_with("<person>Marie Curie</person> was born in <location>Warsaw</location>."));
    }
}
