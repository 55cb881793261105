//! Word pieces as AllenNLP's mismatched indexer makes them: every word tokenised on its own (no
//! special tokens), `[CLS] pieces [SEP]`, and long inputs folded into `max_length`-piece segments.
//!
//! The tokenizer is the encoder's `tokenizer.json`, or one built from `vocab.txt` +
//! `tokenizer_config.json` the way transformers converts a slow `BertTokenizer` to the fast one
//! (BERT normaliser, BERT pre-tokeniser, WordPiece with `##` and 100 characters per word, special
//! tokens matched before normalisation).

use std::collections::HashMap;
use std::sync::RwLock;

use serde_json::{json, Map, Value};
use tokenizers::Tokenizer;

use super::archive::EncoderFiles;
use crate::error::{EvalError, Result};

/// Per-word WordPiece tokenisation with a cache (reports repeat words a lot).
pub struct WordPieces {
    tokenizer: Tokenizer,
    cls: u32,
    sep: u32,
    cache: RwLock<HashMap<String, Vec<u32>>>,
}

/// One report's word pieces: the encoder segments and where each word's pieces are.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexedWords {
    /// Segments fed to the encoder, each `[CLS] … [SEP]`, at most `max_length` long.
    pub segments: Vec<Vec<u32>>,
    /// For each word, its first and last piece as positions in the concatenated segment
    /// interiors (without any `[CLS]`/`[SEP]`); `None` for a word without pieces.
    pub offsets: Vec<Option<(usize, usize)>>,
}

impl IndexedWords {
    /// The token ids as the package's indexer returns them (segments concatenated).
    pub fn token_ids(&self) -> Vec<u32> {
        self.segments.concat()
    }

    /// Offsets as the package records them: positions in `[CLS] interior [SEP]`, `(-1, -1)` if none.
    pub fn package_offsets(&self) -> Vec<(i64, i64)> {
        self.offsets
            .iter()
            .map(|o| match o {
                Some((a, b)) => (*a as i64 + 1, *b as i64 + 1),
                None => (-1, -1),
            })
            .collect()
    }
}

impl WordPieces {
    /// Build from the encoder's files.
    pub fn new(files: &EncoderFiles) -> Result<Self> {
        let tokenizer_config: Value = match &files.tokenizer_config {
            Some(bytes) => serde_json::from_slice(bytes).map_err(|e| {
                EvalError::invalid_line(
                    files.location.join("tokenizer_config.json"),
                    e.line(),
                    e.to_string(),
                )
            })?,
            None => Value::Object(Map::new()),
        };
        let special = |key: &str, default: &str| -> String {
            match tokenizer_config.get(key) {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Object(o)) => o
                    .get("content")
                    .and_then(Value::as_str)
                    .unwrap_or(default)
                    .to_owned(),
                _ => default.to_owned(),
            }
        };
        let cls_token = special("cls_token", "[CLS]");
        let sep_token = special("sep_token", "[SEP]");
        let mut tokenizer = match (&files.tokenizer_json, &files.vocab_txt) {
            (Some(json), _) => Tokenizer::from_bytes(json).map_err(|e| {
                EvalError::invalid_file(files.location.join("tokenizer.json"), e.to_string())
            })?,
            (None, Some(vocab)) => bert_tokenizer_from_vocab(vocab, &tokenizer_config, &special)
                .map_err(|e| EvalError::invalid_file(files.location.join("vocab.txt"), e))?,
            (None, None) => {
                return Err(EvalError::invalid_file(
                    &files.location,
                    "no tokenizer.json or vocab.txt",
                ));
            }
        };
        tokenizer
            .with_truncation(None)
            .map_err(|e| EvalError::Tokenizer(e.to_string()))?;
        tokenizer.with_padding(None);
        let id = |token: &str| {
            tokenizer.token_to_id(token).ok_or_else(|| {
                EvalError::invalid_file(
                    &files.location,
                    format!("the tokenizer has no `{token}` token"),
                )
            })
        };
        let cls = id(&cls_token)?;
        let sep = id(&sep_token)?;
        Ok(WordPieces {
            tokenizer,
            cls,
            sep,
            cache: RwLock::new(HashMap::new()),
        })
    }

    /// The pieces of one word (`encode_plus(word, add_special_tokens=False)`).
    pub fn word_pieces(&self, word: &str) -> Result<Vec<u32>> {
        if let Some(ids) = self.cache.read().ok().and_then(|c| c.get(word).cloned()) {
            return Ok(ids);
        }
        let encoding = self
            .tokenizer
            .encode_fast(word, false)
            .map_err(|e| EvalError::Tokenizer(format!("word {word:?}: {e}")))?;
        let ids = encoding.get_ids().to_vec();
        if let Ok(mut cache) = self.cache.write() {
            if cache.len() < 1_000_000 {
                cache.insert(word.to_owned(), ids.clone());
            }
        }
        Ok(ids)
    }

    /// Index a report's words and fold into segments of `max_length` (≥ 3).
    ///
    /// As `PretrainedTransformerIndexer._postprocess_output`: the interior is cut every
    /// `max_length − 2` pieces, without regard to word boundaries, and each cut is wrapped in
    /// `[CLS] … [SEP]`. An interior of zero pieces yields no segment at all.
    pub fn index<S: AsRef<str>>(&self, words: &[S], max_length: usize) -> Result<IndexedWords> {
        let mut interior = Vec::new();
        let mut offsets = Vec::with_capacity(words.len());
        for word in words {
            let pieces = self.word_pieces(super::preprocess::normalize_word(word.as_ref()))?;
            if pieces.is_empty() {
                offsets.push(None);
            } else {
                offsets.push(Some((interior.len(), interior.len() + pieces.len() - 1)));
                interior.extend_from_slice(&pieces);
            }
        }
        let chunk = max_length - 2;
        let segments = interior
            .chunks(chunk)
            .map(|piece| {
                let mut segment = Vec::with_capacity(piece.len() + 2);
                segment.push(self.cls);
                segment.extend_from_slice(piece);
                segment.push(self.sep);
                segment
            })
            .collect();
        Ok(IndexedWords { segments, offsets })
    }
}

/// A fast BERT tokenizer from `vocab.txt`, as transformers' `BertConverter` builds it.
fn bert_tokenizer_from_vocab(
    vocab_txt: &[u8],
    tokenizer_config: &Value,
    special: &dyn Fn(&str, &str) -> String,
) -> std::result::Result<Tokenizer, String> {
    let text = std::str::from_utf8(vocab_txt).map_err(|_| "not UTF-8 text".to_owned())?;
    // transformers `load_vocab`: universal newlines, one token per line, later duplicates win.
    let normalized = text.replace("\r\n", "\n").replace('\r', "\n");
    let mut lines: Vec<&str> = normalized.split('\n').collect();
    if lines.last() == Some(&"") {
        lines.pop();
    }
    let mut vocab = Map::new();
    for (index, token) in lines.iter().enumerate() {
        vocab.insert((*token).to_owned(), json!(index));
    }
    let flag = |key: &str, default: Value| tokenizer_config.get(key).cloned().unwrap_or(default);
    let lowercase = flag("do_lower_case", json!(true));
    let strip_accents = flag("strip_accents", Value::Null);
    let chinese = flag("tokenize_chinese_chars", json!(true));
    let unk = special("unk_token", "[UNK]");
    let mut added = Vec::new();
    for (key, default) in [
        ("pad_token", "[PAD]"),
        ("unk_token", "[UNK]"),
        ("cls_token", "[CLS]"),
        ("sep_token", "[SEP]"),
        ("mask_token", "[MASK]"),
    ] {
        let content = special(key, default);
        if let Some(id) = vocab.get(&content) {
            added.push(json!({
                "id": id, "content": content, "single_word": false, "lstrip": false,
                "rstrip": false, "normalized": false, "special": true
            }));
        }
    }
    let spec = json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": added,
        "normalizer": {
            "type": "BertNormalizer",
            "clean_text": true,
            "handle_chinese_chars": chinese,
            "strip_accents": strip_accents,
            "lowercase": lowercase
        },
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": null,
        "decoder": null,
        "model": {
            "type": "WordPiece",
            "unk_token": unk,
            "continuing_subword_prefix": "##",
            "max_input_chars_per_word": 100,
            "vocab": vocab
        }
    });
    let bytes = serde_json::to_vec(&spec).map_err(|e| e.to_string())?;
    Tokenizer::from_bytes(bytes).map_err(|e| e.to_string())
}
