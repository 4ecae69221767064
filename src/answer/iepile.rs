//! The IEPile instruction envelope: a JSON object (`instruction`, `schema`, `input`) that
//! the corpus stores serialised as a string, next to an `output` string holding the answer
//! object. Written with Python's separators and raw UTF-8 (`ensure_ascii=False`), as
//! IEPile's converter writes it, so emitted records match the corpus byte for byte.

use super::pyjson::{self, Ascii};
use serde::{Deserialize, Serialize};

/// IEPile's English NER prompt (`ie2instruction/convert/utils/instruction.py`).
pub const PROMPT_EN: &str = "You are an expert in named entity recognition. Please extract entities that match the schema definition from the input. Return an empty list if the entity type does not exist. Please respond in the format of a JSON string.";
/// IEPile's Chinese NER prompt.
pub const PROMPT_ZH: &str = "你是专门进行实体抽取的专家。请从input中抽取出符合schema定义的实体，不存在的实体类型返回空列表。请按照JSON字符串的格式回答。";

/// The decoded `instruction` field of an IEPile record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Instruction {
    /// The fixed prompt text.
    pub instruction: String,
    /// The types asked in this record, in order.
    pub schema: Vec<String>,
    /// The passage.
    pub input: String,
}

impl Instruction {
    /// The double-encoded form: the object serialised as IEPile stores it.
    pub fn encode(&self) -> String {
        pyjson::to_string(self, Ascii::Raw)
    }

    /// Reads the `instruction` string of a record back.
    pub fn decode(s: &str) -> Result<Instruction, serde_json::Error> {
        serde_json::from_str(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_byte_exact_like_the_corpus() {
        // data/NER/train.json line 2 of IEPile, the `instruction` string.
        let real = r#"{"instruction": "你是专门进行实体抽取的专家。请从input中抽取出符合schema定义的实体，不存在的实体类型返回空列表。请按照JSON字符串的格式回答。", "schema": ["人物", "组织机构", "地理位置"], "input": "相比之下，青岛海牛队和广州松日队的雨中之战虽然也是0∶0，但乏善可陈。"}"#;
        let decoded = Instruction::decode(real).unwrap();
        assert_eq!(decoded.instruction, PROMPT_ZH);
        assert_eq!(decoded.encode(), real);
        assert!(Instruction::decode(r#"{"instruction": "", "schema": [], "input": "", "x": 1}"#).is_err());
    }
}
