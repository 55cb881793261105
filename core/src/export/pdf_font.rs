//! Helvetica and Helvetica-Bold, two of the PDF standard fonts (never embedded): text encoded as
//! WinAnsiEncoding (Latin-1 plus typographic punctuation) and glyph widths from Adobe's AFM
//! metrics, for line wrapping.
//!
//! Characters WinAnsi lacks are transliterated (`≥` → `>=`, `α` → `a`) and anything left is `?`.

use std::collections::HashMap;
use std::sync::OnceLock;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Face {
    Regular,
    Bold,
}

impl Face {
    pub(super) fn base_font(self) -> &'static [u8] {
        match self {
            Face::Regular => b"Helvetica",
            Face::Bold => b"Helvetica-Bold",
        }
    }

    fn afm(self) -> &'static str {
        match self {
            Face::Regular => pdf_core_14_font_afms::HELVETICA,
            Face::Bold => pdf_core_14_font_afms::HELVETICA_BOLD,
        }
    }

    fn widths(self) -> &'static [u16; 256] {
        static REGULAR: OnceLock<[u16; 256]> = OnceLock::new();
        static BOLD: OnceLock<[u16; 256]> = OnceLock::new();
        let cell = match self {
            Face::Regular => &REGULAR,
            Face::Bold => &BOLD,
        };
        cell.get_or_init(|| win_ansi_widths(self.afm()))
    }
}

/// The width of WinAnsi-encoded `text` set in `face` at `size` points.
pub(super) fn width(face: Face, text: &[u8], size: f32) -> f32 {
    let widths = face.widths();
    let units: u32 = text
        .iter()
        .map(|&code| u32::from(widths[code as usize]))
        .sum();
    units as f32 * size / 1000.0
}

/// `text` in WinAnsiEncoding; tabs become a space, other control characters are dropped.
pub(super) fn encode(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    for c in text.chars() {
        if let Some(code) = win_ansi(c) {
            out.push(code);
        } else if c == '\t' {
            out.push(b' ');
        } else if c.is_control() {
            continue;
        } else {
            let replacement = deunicode::deunicode_char(c).unwrap_or("?");
            out.extend(
                replacement
                    .chars()
                    .map(|r| win_ansi(r).filter(|code| *code >= 0x20).unwrap_or(b'?')),
            );
        }
    }
    out
}

fn win_ansi(c: char) -> Option<u8> {
    match c {
        ' '..='~' | '\u{A0}'..='\u{FF}' => u8::try_from(u32::from(c)).ok(),
        _ => WIN_ANSI_80_9F
            .iter()
            .position(|&(mapped, name)| mapped == c && !name.is_empty())
            .and_then(|index| u8::try_from(0x80 + index).ok()),
    }
}

/// Glyph widths by WinAnsi code; codes without a glyph get the width of a space.
fn win_ansi_widths(afm: &str) -> [u16; 256] {
    let by_name = afm_widths(afm);
    let space = by_name.get("space").copied().unwrap_or(278);
    let mut widths = [space; 256];
    for (code, width) in widths.iter_mut().enumerate() {
        if let Some(name) = glyph_name(code) {
            *width = by_name.get(name).copied().unwrap_or(space);
        }
    }
    widths
}

/// `WX` by glyph name `N` from the `C …` lines of an AFM file.
fn afm_widths(afm: &str) -> HashMap<&str, u16> {
    afm.lines()
        .filter(|line| line.starts_with("C "))
        .filter_map(|line| {
            let mut width = None;
            let mut name = None;
            for field in line.split(';').map(str::trim) {
                if let Some(value) = field.strip_prefix("WX ") {
                    width = value.trim().parse().ok();
                } else if let Some(value) = field.strip_prefix("N ") {
                    name = Some(value.trim());
                }
            }
            Some((name?, width?))
        })
        .collect()
}

fn glyph_name(code: usize) -> Option<&'static str> {
    match code {
        0x20..=0x7E => ASCII_NAMES.get(code - 0x20).copied(),
        0x80..=0x9F => WIN_ANSI_80_9F
            .get(code - 0x80)
            .map(|(_, name)| *name)
            .filter(|name| !name.is_empty()),
        0xA0..=0xFF => LATIN1_NAMES.get(code - 0xA0).copied(),
        _ => None,
    }
}

/// Glyph names of codes 0x20–0x7E (PDF 1.7, Annex D.2).
#[rustfmt::skip]
const ASCII_NAMES: [&str; 95] = [
    "space", "exclam", "quotedbl", "numbersign", "dollar", "percent", "ampersand",
    "quotesingle", "parenleft", "parenright", "asterisk", "plus", "comma", "hyphen", "period",
    "slash", "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
    "colon", "semicolon", "less", "equal", "greater", "question", "at", "A", "B", "C", "D", "E",
    "F", "G", "H", "I", "J", "K", "L", "M", "N", "O", "P", "Q", "R", "S", "T", "U", "V", "W",
    "X", "Y", "Z", "bracketleft", "backslash", "bracketright", "asciicircum", "underscore",
    "grave", "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "p",
    "q", "r", "s", "t", "u", "v", "w", "x", "y", "z", "braceleft", "bar", "braceright",
    "asciitilde",
];

/// Characters and glyph names of codes 0x80–0x9F (Windows-1252); unassigned codes are empty.
const WIN_ANSI_80_9F: [(char, &str); 32] = [
    ('\u{20AC}', "Euro"),
    ('\0', ""),
    ('\u{201A}', "quotesinglbase"),
    ('\u{0192}', "florin"),
    ('\u{201E}', "quotedblbase"),
    ('\u{2026}', "ellipsis"),
    ('\u{2020}', "dagger"),
    ('\u{2021}', "daggerdbl"),
    ('\u{02C6}', "circumflex"),
    ('\u{2030}', "perthousand"),
    ('\u{0160}', "Scaron"),
    ('\u{2039}', "guilsinglleft"),
    ('\u{0152}', "OE"),
    ('\0', ""),
    ('\u{017D}', "Zcaron"),
    ('\0', ""),
    ('\0', ""),
    ('\u{2018}', "quoteleft"),
    ('\u{2019}', "quoteright"),
    ('\u{201C}', "quotedblleft"),
    ('\u{201D}', "quotedblright"),
    ('\u{2022}', "bullet"),
    ('\u{2013}', "endash"),
    ('\u{2014}', "emdash"),
    ('\u{02DC}', "tilde"),
    ('\u{2122}', "trademark"),
    ('\u{0161}', "scaron"),
    ('\u{203A}', "guilsinglright"),
    ('\u{0153}', "oe"),
    ('\0', ""),
    ('\u{017E}', "zcaron"),
    ('\u{0178}', "Ydieresis"),
];

/// Glyph names of codes 0xA0–0xFF, which are Unicode U+00A0–U+00FF.
#[rustfmt::skip]
const LATIN1_NAMES: [&str; 96] = [
    "space", "exclamdown", "cent", "sterling", "currency", "yen", "brokenbar", "section",
    "dieresis", "copyright", "ordfeminine", "guillemotleft", "logicalnot", "hyphen",
    "registered", "macron", "degree", "plusminus", "twosuperior", "threesuperior", "acute",
    "mu", "paragraph", "periodcentered", "cedilla", "onesuperior", "ordmasculine",
    "guillemotright", "onequarter", "onehalf", "threequarters", "questiondown", "Agrave",
    "Aacute", "Acircumflex", "Atilde", "Adieresis", "Aring", "AE", "Ccedilla", "Egrave",
    "Eacute", "Ecircumflex", "Edieresis", "Igrave", "Iacute", "Icircumflex", "Idieresis", "Eth",
    "Ntilde", "Ograve", "Oacute", "Ocircumflex", "Otilde", "Odieresis", "multiply", "Oslash",
    "Ugrave", "Uacute", "Ucircumflex", "Udieresis", "Yacute", "Thorn", "germandbls", "agrave",
    "aacute", "acircumflex", "atilde", "adieresis", "aring", "ae", "ccedilla", "egrave",
    "eacute", "ecircumflex", "edieresis", "igrave", "iacute", "icircumflex", "idieresis", "eth",
    "ntilde", "ograve", "oacute", "ocircumflex", "otilde", "odieresis", "divide", "oslash",
    "ugrave", "uacute", "ucircumflex", "udieresis", "yacute", "thorn", "ydieresis",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_win_ansi_glyph_name_is_in_both_afm_files() {
        for face in [Face::Regular, Face::Bold] {
            let by_name = afm_widths(face.afm());
            for code in 0..256 {
                if let Some(name) = glyph_name(code) {
                    assert!(
                        by_name.contains_key(name),
                        "{face:?} lacks {name} ({code:#x})"
                    );
                }
            }
        }
    }

    #[test]
    fn widths_match_the_helvetica_afm() {
        // Values from Helvetica.afm / Helvetica-Bold.afm (Adobe Core14, 1997).
        assert_eq!(width(Face::Regular, b"A", 1000.0), 667.0);
        assert_eq!(width(Face::Regular, b"i", 1000.0), 222.0);
        assert_eq!(width(Face::Bold, b"i", 1000.0), 278.0);
        assert_eq!(width(Face::Regular, &encode("é—"), 1000.0), 556.0 + 1000.0);
    }

    #[test]
    fn text_is_encoded_as_win_ansi_with_a_fallback() {
        assert_eq!(
            encode("Pneumothorax — résolution"),
            b"Pneumothorax \x97 r\xe9solution"
        );
        assert_eq!(encode("€ ‘x’"), b"\x80 \x91x\x92");
        assert_eq!(encode("a\tb\u{7}c"), b"a bc");
        assert_eq!(encode("≥ 5 mm"), b">= 5 mm");
        let transliterated = encode("肺 α");
        assert!(!transliterated.is_empty());
        assert!(transliterated.iter().all(|&b| (0x20..0x7f).contains(&b)));
    }
}
