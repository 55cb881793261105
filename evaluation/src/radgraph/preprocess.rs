//! Report text → words, exactly as radgraph 0.1.18 `utils.preprocess_reports` and the DyGIE reader.
//!
//! Python semantics are reproduced explicitly: `str.split()` and `re` `\s` use Python's whitespace
//! set (which Rust's `char::is_whitespace` does not match). `wordpunct_tokenize` (nltk 3.10.4)
//! compiles its pattern with the third-party `regex` module, whose `\w` is Unicode's word property
//! (letters, marks, decimal digits, connector punctuation, joiners): `e\u{301}dema` is one word.
//! Older nltk versions used `re`, whose `\w` excludes marks; the pinned version is the reference.

/// Which preprocessing the model type uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preprocessing {
    /// `radgraph` (v1): a space around each of `/ , : . ! ? ( )` unless one is already there.
    V1,
    /// `radgraph-xl` and every other model type: literal escapes, `wordpunct_tokenize`, fix-ups.
    Xl,
}

/// Words of one report, before the reader's normalisation (these are what the JSON shows).
pub fn words(text: &str, preprocessing: Preprocessing) -> Vec<String> {
    match preprocessing {
        Preprocessing::V1 => python_split(&v1_space_punctuation(text)),
        Preprocessing::Xl => python_split(&xl_preprocess(text)),
    }
}

/// `DyGIEReader._normalize_word`: `"/."` and `"/?"` are fed to the tokenizer as `"."` / `"?"`.
pub fn normalize_word(word: &str) -> &str {
    match word {
        "/." | "/?" => &word[1..],
        _ => word,
    }
}

/// Python's `str.isspace()` set, used by `str.split()` and by `re`'s `\s` on `str` patterns.
pub fn is_python_whitespace(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n'
            | '\u{0b}'
            | '\u{0c}'
            | '\r'
            | '\u{1c}'..='\u{1f}'
            | ' '
            | '\u{85}'
            | '\u{a0}'
            | '\u{1680}'
            | '\u{2000}'..='\u{200a}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{202f}'
            | '\u{205f}'
            | '\u{3000}'
    )
}

/// Python `str.split()` with no argument.
pub fn python_split(text: &str) -> Vec<String> {
    text.split(is_python_whitespace)
        .filter(|word| !word.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The v1 substitution `re.sub("(?<! )(?=[/,-,:,.,!?()])|(?<=[/,-,:,.,!?()])(?! )", " ", text)`.
///
/// The class `[/,-,:,.,!?()]` is `/ , : . ! ? ( )` (`,-,` is the range `,`..`,`, so `-` is not in
/// it). At each boundary one space is inserted if a class character follows without a space before
/// it, or a class character precedes without a space after it. Only `' '` counts as a space here.
fn v1_space_punctuation(text: &str) -> String {
    fn in_class(c: char) -> bool {
        matches!(c, '/' | ',' | ':' | '.' | '!' | '?' | '(' | ')')
    }
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len() + text.len() / 4);
    for p in 0..=chars.len() {
        let before = p.checked_sub(1).map(|i| chars[i]);
        let after = chars.get(p).copied();
        let lookahead = after.is_some_and(in_class) && before != Some(' ');
        let lookbehind = before.is_some_and(in_class) && after != Some(' ');
        if lookahead || lookbehind {
            out.push(' ');
        }
        if let Some(c) = after {
            out.push(c);
        }
    }
    out
}

/// `radgraph_xl_preprocess_report`: literal escape sequences, whitespace collapse,
/// `" ".join(nltk.wordpunct_tokenize(text))`, then five string fix-ups.
fn xl_preprocess(text: &str) -> String {
    let text = text
        .replace("\\n", "  ")
        .replace("\\f", "  ")
        .replace("\\u2122", "      ")
        .replace('\n', " ")
        .replace("\\\"", "``");
    let collapsed = collapse_whitespace(&text);
    let joined = wordpunct_tokenize(&collapsed).join(" ");
    joined
        .replace(").", ") .")
        .replace("%.", "% .")
        .replace(".'", ". '")
        .replace("%,", "% ,")
        .replace("%)", "% )")
}

/// `re.sub(r"\s+", " ", text)`.
fn collapse_whitespace(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_space = false;
    for c in text.chars() {
        if is_python_whitespace(c) {
            if !in_space {
                out.push(' ');
            }
            in_space = true;
        } else {
            out.push(c);
            in_space = false;
        }
    }
    out
}

/// NLTK `wordpunct_tokenize`: `findall(r"\w+|[^\w\s]+", text)`. Its input has been through
/// `re.sub(r"\s+", " ")`, so Python's and `regex`'s different `\s` never meet here.
pub fn wordpunct_tokenize(text: &str) -> Vec<&str> {
    #[derive(PartialEq, Clone, Copy)]
    enum Class {
        Word,
        Punct,
        Space,
    }
    let class = |c: char| {
        if is_word_char(c) {
            Class::Word
        } else if is_python_whitespace(c) {
            Class::Space
        } else {
            Class::Punct
        }
    };
    let mut tokens = Vec::new();
    let mut start: Option<(usize, Class)> = None;
    for (i, c) in text.char_indices() {
        let current = class(c);
        match start {
            Some((_, kind)) if kind == current => {}
            Some((s, _)) => {
                tokens.push(&text[s..i]);
                start = (current != Class::Space).then_some((i, current));
            }
            None => start = (current != Class::Space).then_some((i, current)),
        }
    }
    if let Some((s, _)) = start {
        tokens.push(&text[s..]);
    }
    tokens
}

/// `\w` of the `regex` module, from the generated table in `word_chars.rs`.
pub fn is_word_char(c: char) -> bool {
    let cp = c as u32;
    super::word_chars::WORD_RANGES
        .binary_search_by(|&(start, end)| {
            if end < cp {
                std::cmp::Ordering::Less
            } else if start > cp {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1_splits_the_class_but_not_hyphen_semicolon_percent() {
        let text = "atelectasis; no pneumonia.\n 2. ET tube 2.5 cm 3-4 50% (a/b)";
        assert_eq!(
            words(text, Preprocessing::V1),
            [
                "atelectasis;",
                "no",
                "pneumonia",
                ".",
                "2",
                ".",
                "ET",
                "tube",
                "2",
                ".",
                "5",
                "cm",
                "3-4",
                "50%",
                "(",
                "a",
                "/",
                "b",
                ")"
            ]
        );
    }

    #[test]
    fn xl_example_from_the_reference() {
        assert_eq!(
            words("L>R effusions, 3-4 mm. It's 50%.", Preprocessing::Xl),
            [
                "L",
                ">",
                "R",
                "effusions",
                ",",
                "3",
                "-",
                "4",
                "mm",
                ".",
                "It",
                "'",
                "s",
                "50",
                "%",
                "."
            ]
        );
        assert_eq!(
            words("\"no change\".", Preprocessing::Xl),
            ["\"", "no", "change", "\"."]
        );
    }

    #[test]
    fn python_whitespace_includes_information_separators() {
        assert_eq!(python_split("a\u{1c}b\u{85}c\u{a0}d"), ["a", "b", "c", "d"]);
        assert!(!'\u{200b}'.is_whitespace() && !is_python_whitespace('\u{200b}'));
    }

    #[test]
    fn reader_normalises_slash_dot() {
        assert_eq!(normalize_word("/."), ".");
        assert_eq!(normalize_word("/?"), "?");
        assert_eq!(normalize_word("/"), "/");
    }
}
