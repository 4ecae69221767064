//! Writing systems: which characters are Han, kana or Hangul, where a token may start or
//! end, and a script-based language guess. Defined once here (issue 12) and used by the
//! readers (`lang` column), the aligner (mention boundaries), consensus (token counts) and
//! eval; before, each had its own, slightly different, ranges.
//!
//! The ranges are Unicode blocks (Unicode 15.1), plus the letters of *CJK Symbols and
//! Punctuation*, which are written inside words: `々`, `〆`, `〇`, the Hangzhou numerals
//! `〡`–`〩` and `〸`–`〼` count as Han, the kana repeat marks `〱`–`〵` as kana.
//! - **Han** ([`is_han`]): CJK Unified Ideographs and Extensions A–I, CJK Compatibility
//!   Ideographs (and their Supplement), CJK Radicals Supplement, Kangxi Radicals.
//! - **Kana** ([`is_kana`]): Hiragana, Katakana, Katakana Phonetic Extensions, half-width
//!   Katakana, Kana Supplement, Kana Extended-A/B, Small Kana Extension.
//! - **Hangul** ([`is_hangul`]): Hangul Syllables, Jamo, Compatibility Jamo, Jamo
//!   Extended-A/B, half-width Hangul.
//! - **CJK punctuation** ([`is_cjk_punctuation`]): the rest of CJK Symbols and Punctuation,
//!   CJK Compatibility Forms, Vertical Forms and the punctuation of Halfwidth and Fullwidth
//!   Forms (`，`, `。`, `「`). None of these is a word character, so they always end a token.
//!
//! Han and kana are written without spaces between words ([`is_unsegmented`]): a token
//! boundary may fall between any two of their characters. Korean separates words with
//! spaces, so Hangul behaves like any other alphabetic script.

/// Han ideographs, including the Han-script characters of CJK Symbols and Punctuation.
///
/// ```
/// use nerprep::script::is_han;
/// assert!(is_han('京') && is_han('々') && is_han('\u{2A700}')); // Extension C
/// assert!(!is_han('か') && !is_han('，') && !is_han('A'));
/// ```
pub fn is_han(c: char) -> bool {
    matches!(c as u32,
        0x4E00..=0x9FFF      // CJK Unified Ideographs
        | 0x3400..=0x4DBF    // Extension A
        | 0x20000..=0x2A6DF  // Extension B
        | 0x2A700..=0x2B73F  // Extension C
        | 0x2B740..=0x2B81F  // Extension D
        | 0x2B820..=0x2CEAF  // Extension E
        | 0x2CEB0..=0x2EBEF  // Extension F
        | 0x2EBF0..=0x2EE5F  // Extension I
        | 0x30000..=0x3134F  // Extension G
        | 0x31350..=0x323AF  // Extension H
        | 0xF900..=0xFAFF    // CJK Compatibility Ideographs
        | 0x2F800..=0x2FA1F  // CJK Compatibility Ideographs Supplement
        | 0x2E80..=0x2EFF    // CJK Radicals Supplement
        | 0x2F00..=0x2FDF    // Kangxi Radicals
        | 0x3005..=0x3007    // 々 iteration mark, 〆 closing mark, 〇 number zero
        | 0x3021..=0x3029    // Hangzhou numerals
        | 0x3038..=0x303C    // 〸〹〺 numerals, 〻 vertical iteration mark, 〼 masu mark
    )
}

/// Hiragana and Katakana (full- and half-width, with their extension blocks).
///
/// ```
/// use nerprep::script::is_kana;
/// assert!(is_kana('ひ') && is_kana('カ') && is_kana('ｶ') && is_kana('ー'));
/// assert!(!is_kana('京') && !is_kana('한'));
/// ```
pub fn is_kana(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x309F      // Hiragana
        | 0x3031..=0x3035    // vertical kana repeat marks
        | 0x30A0..=0x30FF    // Katakana
        | 0x31F0..=0x31FF    // Katakana Phonetic Extensions
        | 0xFF66..=0xFF9F    // half-width Katakana (with the sound marks)
        | 0x1AFF0..=0x1AFFF  // Kana Extended-B
        | 0x1B000..=0x1B0FF  // Kana Supplement
        | 0x1B100..=0x1B12F  // Kana Extended-A
        | 0x1B130..=0x1B16F  // Small Kana Extension
    )
}

/// Hangul syllables and jamo.
///
/// ```
/// use nerprep::script::is_hangul;
/// assert!(is_hangul('한') && is_hangul('ㅋ') && is_hangul('\u{1100}'));
/// assert!(!is_hangul('京'));
/// ```
pub fn is_hangul(c: char) -> bool {
    matches!(c as u32,
        0xAC00..=0xD7AF      // Hangul Syllables
        | 0x1100..=0x11FF    // Hangul Jamo
        | 0x3130..=0x318F    // Hangul Compatibility Jamo
        | 0xA960..=0xA97F    // Hangul Jamo Extended-A
        | 0xD7B0..=0xD7FF    // Hangul Jamo Extended-B
        | 0xFFA0..=0xFFDC    // half-width Hangul
    )
}

/// Han, kana or Hangul: the characters of Chinese, Japanese and Korean writing.
pub fn is_cjk(c: char) -> bool {
    is_han(c) || is_kana(c) || is_hangul(c)
}

/// Punctuation and symbols of CJK text (`，`, `。`, `、`, `「`, `】`, the ideographic space).
///
/// ```
/// use nerprep::script::is_cjk_punctuation;
/// assert!(is_cjk_punctuation('，') && is_cjk_punctuation('。') && is_cjk_punctuation('「'));
/// assert!(!is_cjk_punctuation('々') && !is_cjk_punctuation('Ａ') && !is_cjk_punctuation(','));
/// ```
pub fn is_cjk_punctuation(c: char) -> bool {
    let u = c as u32;
    let symbols_block = (0x3000..=0x303F).contains(&u) && !is_han(c) && !is_kana(c);
    let fullwidth = matches!(u, 0xFF01..=0xFF0F | 0xFF1A..=0xFF20 | 0xFF3B..=0xFF40 | 0xFF5B..=0xFF65);
    let forms = matches!(u, 0xFE10..=0xFE1F | 0xFE30..=0xFE4F);
    symbols_block || fullwidth || forms
}

/// Written without spaces between words (Han, kana): a token may start or end beside it.
pub fn is_unsegmented(c: char) -> bool {
    is_han(c) || is_kana(c)
}

/// A character that belongs to a word of a space-delimited script: a letter, digit or `_`
/// (CJK punctuation and all other punctuation are not).
pub fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Whether a token may begin or end between `before` and `after` (`None`: the text's start
/// or end): anywhere except inside a word, where "inside" does not apply next to Han or
/// kana, whose words are not delimited.
///
/// ```
/// use nerprep::script::is_token_boundary;
/// assert!(is_token_boundary(Some(' '), Some('P')) && is_token_boundary(None, Some('P')));
/// assert!(!is_token_boundary(Some('a'), Some('P')));   // inside "aParis"
/// assert!(is_token_boundary(Some('北'), Some('京')));  // anywhere in Chinese
/// assert!(is_token_boundary(Some('A'), Some('股')));
/// assert!(is_token_boundary(Some('京'), Some('，')));
/// assert!(!is_token_boundary(Some('한'), Some('국'))); // Korean words are spaced
/// ```
pub fn is_token_boundary(before: Option<char>, after: Option<char>) -> bool {
    match (before, after) {
        (Some(a), Some(b)) => !(is_word_char(a) && is_word_char(b)) || is_unsegmented(a) || is_unsegmented(b),
        _ => true,
    }
}

/// A guess at the language of `text` from its script, good enough to separate the English,
/// Chinese, Japanese and Korean corpora nerprep reads: any kana means `ja`, else any Hangul
/// `ko`, else any Han `zh`, else `en`.
///
/// ```
/// use nerprep::script::guess_lang;
/// assert_eq!(guess_lang("Barak announced"), "en");
/// assert_eq!(guess_lang("相比之下，青岛海牛队"), "zh");
/// assert_eq!(guess_lang("東京はひらがな"), "ja");
/// assert_eq!(guess_lang("서울 특별시"), "ko");
/// ```
pub fn guess_lang(text: &str) -> &'static str {
    if !has_char_from_u1000(text) {
        return "en";
    }
    let mut han = false;
    let mut hangul = false;
    for c in text.chars() {
        if is_kana(c) {
            return "ja";
        }
        hangul |= is_hangul(c);
        han |= is_han(c);
    }
    if hangul {
        "ko"
    } else if han {
        "zh"
    } else {
        "en"
    }
}

/// Whether `text` holds a character at or above U+1000, below which none of the scripts
/// [`guess_lang`] looks for starts (Hangul Jamo, at U+1100, is the lowest). Such a character
/// begins with a byte of 0xE1 or more in UTF-8, so this is one branch-free pass over the
/// bytes: Latin text with accents does not need decoding.
fn has_char_from_u1000(text: &str) -> bool {
    text.as_bytes().chunks(64).any(|chunk| chunk.iter().fold(0u8, |max, &b| max.max(b)) >= 0xE1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(range: std::ops::RangeInclusive<u32>) -> impl Iterator<Item = char> {
        range.filter_map(char::from_u32)
    }

    #[test]
    fn block_edges_are_in_and_their_neighbours_out() {
        for (first, last) in [(0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2CEB0, 0x2EBEF), (0xF900, 0xFAFF)] {
            let (a, b) = (char::from_u32(first).unwrap(), char::from_u32(last).unwrap());
            assert!(is_han(a) && is_han(b), "{first:X}..{last:X}");
        }
        assert!(!is_han('\u{4DC0}'), "Yijing hexagrams sit between Extension A and the main block");
        assert!(!is_han('\u{A000}'), "Yi syllables follow the main block");
        assert!(is_kana('\u{3041}') && is_kana('\u{30FF}') && is_kana('\u{FF9F}') && !is_kana('\u{FF65}'));
        assert!(is_hangul('\u{AC00}') && is_hangul('\u{D7A3}') && is_hangul('\u{D7FF}') && !is_hangul('\u{E000}'));
    }

    #[test]
    fn the_three_scripts_and_cjk_punctuation_never_overlap() {
        type Test = fn(char) -> bool;
        let scripts: [(&str, Test); 4] =
            [("han", is_han), ("kana", is_kana), ("hangul", is_hangul), ("punctuation", is_cjk_punctuation)];
        for c in all(0x2E80..=0xFFFF).chain(all(0x1AFF0..=0x323AF)) {
            let hits: Vec<&str> = scripts.iter().filter(|(_, f)| f(c)).map(|(n, _)| *n).collect();
            assert!(hits.len() <= 1, "U+{:04X} is {hits:?}", c as u32);
        }
    }

    #[test]
    fn cjk_punctuation_is_never_a_word_character_so_it_always_bounds_a_token() {
        for c in all(0x3000..=0x303F).chain(all(0xFE10..=0xFE4F)).chain(all(0xFF00..=0xFF65)).filter(|&c| is_cjk_punctuation(c)) {
            assert!(!is_word_char(c), "U+{:04X}", c as u32);
            assert!(is_token_boundary(Some('a'), Some(c)) && is_token_boundary(Some(c), Some('a')));
        }
        assert!(is_word_char('Ａ') && !is_cjk_punctuation('Ａ'), "full-width letters are letters");
        assert!(is_cjk_punctuation('\u{3000}'), "the ideographic space");
    }

    #[test]
    fn han_and_kana_are_word_characters_that_segment_anywhere() {
        for c in ['京', '々', 'ひ', 'カ', 'ｶ', '\u{20000}'] {
            assert!(is_unsegmented(c), "{c}");
            assert!(is_token_boundary(Some('a'), Some(c)) && is_token_boundary(Some(c), Some(c)));
        }
        assert!(!is_unsegmented('한'));
    }

    #[test]
    fn the_shortcut_of_the_language_guess_misses_no_script_character() {
        for c in all(0..=0x10FFFF) {
            let mut utf8 = [0; 4];
            let wide = has_char_from_u1000(c.encode_utf8(&mut utf8));
            assert_eq!(wide, u32::from(c) >= 0x1000, "U+{:04X}", u32::from(c));
            assert!(wide || !(is_han(c) || is_kana(c) || is_hangul(c)), "U+{:04X}", u32::from(c));
        }
        let long = format!("{}한", "é".repeat(100));
        assert!(has_char_from_u1000(&long) && !has_char_from_u1000(&long[..200]));
    }

    #[test]
    fn language_guess_prefers_kana_then_hangul_then_han() {
        assert_eq!(guess_lang(""), "en");
        assert_eq!(guess_lang("café crème"), "en");
        assert_eq!(guess_lang("北京"), "zh");
        assert_eq!(guess_lang("佐々木"), "zh", "Han only");
        assert_eq!(guess_lang("ｶﾀｶﾅ"), "ja", "half-width katakana");
        assert_eq!(guess_lang("한국 漢字"), "ko");
        assert_eq!(guess_lang("\u{2A700}"), "zh", "Extension C");
    }
}
