//! The tokenisation pycocoevalcap 1.2 applies before BLEU/ROUGE/CIDEr, in Rust.
//!
//! pycocoevalcap's `PTBTokenizer` writes the captions one per line and runs Stanford CoreNLP 3.4.1
//! `edu.stanford.nlp.process.PTBTokenizer -preserveLines -lowerCase` (java), then drops the tokens
//! `'' ' `` ` -LRB- -RRB- -LCB- -RCB- . ? ! , : - -- ... ;` and joins the rest with spaces.
//!
//! This module ports the CoreNLP 3.4.1 lexer (`PTBLexer.flex`, JFlex, default options: PTB3
//! escaping, LaTeX quotes, `...`, `--`, no americanisation, assimilations split) rule by rule:
//! every rule is a lazily built DFA, the longest match wins and ties go to the earlier rule, as in
//! JFlex; `%caseless` literals are expanded to both cases, character classes are not. Trailing
//! context `r1/r2` counts `r1 r2` for the longest-match choice and emits the longest `r1`.
//!
//! Known limits (see also `tests/fixtures/textmetrics/README.md`):
//! * CoreNLP lexes the whole file, so a rule's trailing context can see the next caption. Each
//!   caption is lexed here followed by one newline, which is exact for every caption but the last
//!   of pycocoevalcap's file, whose end-of-file context can only differ for a smiley or an
//!   abbreviation whose extra `.` is dropped anyway.
//! * pycocoevalcap splits a caption containing `\r`, U+2028, U+2029, `\v`, `\f` or U+0085 into
//!   several lines and misaligns every later caption; here such characters end no caption (they act
//!   as spaces).
//! * Character classes follow Rust's Unicode tables, CoreNLP's those of its Java version (Unicode
//!   6): letters or digits added since can tokenise differently. Characters outside the BMP are
//!   deleted, as CoreNLP deletes their surrogates.
//!
//! [`CoreNlpJar`] runs the real jar instead, exactly as pycocoevalcap does, when java and
//! `stanford-corenlp-3.4.1.jar` are available.

use std::path::PathBuf;

use regex_automata::hybrid::dfa::{Cache, DFA};
use regex_automata::{Anchored, Input, MatchKind};

use crate::error::{EvalError, Result};

/// Tokens pycocoevalcap removes after tokenisation (compared after lower-casing, so `-lrb-`
/// survives while `-LRB-` is listed).
pub const PUNCTUATIONS: [&str; 17] = [
    "''", "'", "``", "`", "-LRB-", "-RRB-", "-LCB-", "-RCB-", ".", "?", "!", ",", ":", "-", "--",
    "...", ";",
];

/// What a rule's token becomes.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Action {
    /// The matched text.
    Text,
    /// The matched text without soft hyphens.
    NoSoftHyphens,
    /// Emit all but the last `n` characters; re-lex those.
    PushBack(usize),
    /// Spaces inside the token become U+00A0.
    SpaceToNbsp,
    /// `--`.
    Dash,
    /// `&amp;` → `&`.
    NormalizeAmp,
    /// LaTeX quotes, opening if `true`.
    Quotes(bool),
    /// Fractions ¼ ½ ¾ ⅓ ⅔ → `1/4` ….
    Fraction,
    /// ¢ → cents, £ → #, ¤ € → $.
    Currency,
    /// `U.S.` + a re-lexed `.`; a one-letter acronym `I.` → `I` + `.`.
    Acronym,
    /// The abbreviation with its period, and the period again.
    AbbreviationAndPeriod,
    /// Spaces → U+00A0 and parentheses → `-LRB-`/`-RRB-` (phone numbers).
    Phone,
    /// Parentheses → `-LRB-`/`-RRB-` (smileys).
    Parens,
    Replace(&'static str),
    /// `-` runs of length 3–4 → `--`.
    Hyphens,
    Ellipsis,
    Skip,
    Newline,
    /// Untokenizable: deleted (CoreNLP's default `firstDelete`).
    Delete,
}

struct Rule {
    main: DFA,
    lookahead: Option<DFA>,
    action: Action,
}

/// The lexer; holds the lazily built DFAs and their caches.
pub struct PtbTokenizer {
    rules: Vec<Rule>,
    caches: Vec<(Cache, Option<Cache>)>,
}

impl std::fmt::Debug for PtbTokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PtbTokenizer")
            .field("rules", &self.rules.len())
            .finish()
    }
}

impl Clone for PtbTokenizer {
    fn clone(&self) -> Self {
        Self::new()
    }
}

impl Default for PtbTokenizer {
    fn default() -> Self {
        Self::new()
    }
}

/// `%caseless` literal: each ASCII letter becomes `[xX]`, everything else is escaped.
fn ci(literal: &str) -> String {
    let mut out = String::from("(?:");
    for c in literal.chars() {
        if c.is_ascii_alphabetic() {
            out.push_str(&format!(
                "[{}{}]",
                c.to_ascii_lowercase(),
                c.to_ascii_uppercase()
            ));
        } else {
            out.push_str(&regex_syntax::escape(&c.to_string()));
        }
    }
    out.push(')');
    out
}

/// Alternation of caseless words.
fn ci_words(words: &[&str]) -> String {
    format!(
        "(?:{})",
        words.iter().map(|w| ci(w)).collect::<Vec<_>>().join("|")
    )
}

/// The macros of PTBLexer.flex, in Rust regex syntax.
struct Macros {
    map: std::collections::HashMap<&'static str, String>,
}

impl Macros {
    fn get(&self, name: &str) -> &str {
        self.map.get(name).unwrap_or_else(|| panic!("macro {name}"))
    }

    fn build() -> Self {
        let mut m: std::collections::HashMap<&'static str, String> =
            std::collections::HashMap::new();
        // JFlex [:letter:], [:digit:], [:uppercase:] on UTF-16 units: BMP only.
        let letter_class = r"[\p{L}&&[\x{0}-\x{FFFF}]]".to_owned();
        let digit_class = r"[\p{Nd}&&[\x{0}-\x{FFFF}]]".to_owned();
        let upper_class = r"[\p{Uppercase}&&[\x{0}-\x{FFFF}]]".to_owned();
        macro_rules! def {
            ($name:literal, $value:expr) => {{
                let v: String = $value;
                m.insert($name, format!("(?:{v})"));
            }};
        }
        let g = |m: &std::collections::HashMap<&'static str, String>, name: &str| m[name].clone();

        def!("SGML", r#"<(?:[!?][A-Za-z\-][^>\r\n]*|[A-Za-z][A-Za-z0-9_:.\-]*(?:[ ]+(?:[A-Za-z][A-Za-z0-9_:.\-]*|[A-Za-z][A-Za-z0-9_:.\-]*[ ]*=[ ]*(?:'[^']*'|"[^"]*")))*[ ]*/?|/[A-Za-z][A-Za-z0-9_:.\-]*)[ ]*>"#.to_owned());
        def!(
            "SPMDASH",
            format!(
                r"&{};|[\x{{96}}\x{{97}}\x{{2013}}\x{{2014}}\x{{2015}}]",
                ci_words(&["MD", "mdash", "ndash"])
            )
        );
        def!("SPAMP", ci("&amp;"));
        def!(
            "SPPUNC",
            format!(
                r"&(?:{}|#[0-9]+);",
                ci_words(&["HT", "TL", "UR", "LR", "QC", "QL", "QR", "odq", "cdq"])
            )
        );
        def!(
            "SPLET",
            format!(r"&[aeiouAEIOU]{};", ci_words(&["acute", "grave", "uml"]))
        );
        def!("SPACE", r"[ \t\x{A0}\x{2000}-\x{200A}\x{3000}]".to_owned());
        def!("SPACES", format!("{}+", g(&m, "SPACE")));
        def!(
            "NEWLINE",
            r"\r|\r?\n|\x{2028}|\x{2029}|\x{0B}|\x{0C}|\x{85}".to_owned()
        );
        def!(
            "SPACENL",
            format!("{}|{}", g(&m, "SPACE"), g(&m, "NEWLINE"))
        );
        def!("SPACENLS", format!("{}+", g(&m, "SPACENL")));
        def!(
            "SENTEND",
            format!(
                "{}(?:{}|{}|{})",
                g(&m, "SPACENL"),
                g(&m, "SPACENL"),
                upper_class,
                g(&m, "SGML")
            )
        );
        def!("DIGIT", format!(r"{digit_class}|[\x{{07C0}}-\x{{07C9}}]"));
        let d = g(&m, "DIGIT");
        def!("DATE", format!(r"{d}{{1,2}}[\-/]{d}{{1,2}}[\-/]{d}{{2,4}}"));
        def!(
            "NUM",
            format!(r"{d}+|{d}*(?:[.:,\x{{AD}}\x{{066B}}\x{{066C}}]{d}+)+")
        );
        def!("NUMBER", format!(r"[\-+]?{}", g(&m, "NUM")));
        def!("SUBSUPNUM", r"[\x{207A}\x{207B}\x{208A}\x{208B}]?(?:[\x{2070}\x{B9}\x{B2}\x{B3}\x{2074}-\x{2079}]+|[\x{2080}-\x{2089}]+)".to_owned());
        def!(
            "FRAC",
            format!(r"(?:{d}{{1,4}}[\- \x{{A0}}])?{d}{{1,4}}(?:\\?/|\x{{2044}}){d}{{1,4}}")
        );
        def!("FRAC2", r"[\x{BC}\x{BD}\x{BE}\x{2153}-\x{215E}]".to_owned());
        def!("DOLSIGN", r"[A-Z]*\$|#".to_owned());
        def!("DOLSIGN2", r"[\x{A2}\x{A3}\x{A4}\x{A5}\x{80}\x{20A0}\x{20AC}\x{060B}\x{0E3F}\x{20A4}\x{FFE0}\x{FFE1}\x{FFE5}\x{FFE6}]".to_owned());
        def!(
            "LETTER",
            format!(
                r"{letter_class}|{}|[\x{{AD}}\x{{0237}}-\x{{024F}}\x{{02C2}}-\x{{02C5}}\x{{02D2}}-\x{{02DF}}\x{{02E5}}-\x{{02FF}}\x{{0300}}-\x{{036F}}\x{{0370}}-\x{{037D}}\x{{0384}}\x{{0385}}\x{{03CF}}\x{{03F6}}\x{{03FC}}-\x{{03FF}}\x{{0483}}-\x{{0487}}\x{{04CF}}\x{{04F6}}-\x{{04FF}}\x{{0510}}-\x{{0525}}\x{{055A}}-\x{{055F}}\x{{0591}}-\x{{05BD}}\x{{05BF}}\x{{05C1}}\x{{05C2}}\x{{05C4}}\x{{05C5}}\x{{05C7}}\x{{0615}}-\x{{061A}}\x{{063B}}-\x{{063F}}\x{{064B}}-\x{{065E}}\x{{0670}}\x{{06D6}}-\x{{06EF}}\x{{06FA}}-\x{{06FF}}\x{{070F}}\x{{0711}}\x{{0730}}-\x{{074F}}\x{{0750}}-\x{{077F}}\x{{07A6}}-\x{{07B1}}\x{{07CA}}-\x{{07F5}}\x{{07FA}}\x{{0900}}-\x{{0903}}\x{{093C}}\x{{093E}}-\x{{094E}}\x{{0951}}-\x{{0955}}\x{{0962}}-\x{{0963}}\x{{0981}}-\x{{0983}}\x{{09BC}}-\x{{09C4}}\x{{09C7}}\x{{09C8}}\x{{09CB}}-\x{{09CD}}\x{{09D7}}\x{{09E2}}\x{{09E3}}\x{{0A01}}-\x{{0A03}}\x{{0A3C}}\x{{0A3E}}-\x{{0A4F}}\x{{0A81}}-\x{{0A83}}\x{{0ABC}}-\x{{0ACF}}\x{{0B82}}\x{{0BBE}}-\x{{0BC2}}\x{{0BC6}}-\x{{0BC8}}\x{{0BCA}}-\x{{0BCD}}\x{{0C01}}-\x{{0C03}}\x{{0C3E}}-\x{{0C56}}\x{{0D3E}}-\x{{0D44}}\x{{0D46}}-\x{{0D48}}\x{{0E30}}-\x{{0E3A}}\x{{0E47}}-\x{{0E4E}}\x{{0EB1}}-\x{{0EBC}}\x{{0EC8}}-\x{{0ECD}}]",
                g(&m, "SPLET")
            )
        );
        let l = g(&m, "LETTER");
        def!("WORD", format!(r"{l}(?:{l}|{d})*(?:[.!?]{l}(?:{l}|{d})*)*"));
        def!(
            "FILENAME_EXT",
            ci_words(&[
                "bat", "bmp", "c", "class", "cgi", "cpp", "dll", "doc", "docx", "exe", "gif", "gz",
                "h", "htm", "html", "jar", "java", "jpeg", "jpg", "mov", "mp3", "pdf", "php", "pl",
                "png", "ppt", "ps", "py", "sql", "tar", "txt", "wav", "x", "xml", "zip",
            ])
        );
        def!(
            "FILENAME",
            format!(
                r"(?:{l}|{d})+(?:[.](?:{l}|{d})+)*(?:[.]{})",
                g(&m, "FILENAME_EXT")
            )
        );
        def!("APOS", format!(r"['\x{{92}}\x{{2019}}]|{}", ci("&apos;")));
        let apos = g(&m, "APOS");
        def!(
            "APOSETCETERA",
            format!(r"{apos}|[`\x{{91}}\x{{2018}}\x{{201B}}]")
        );
        let apos_etc = g(&m, "APOSETCETERA");
        def!("HYPHEN", r"[\-_\x{058A}\x{2010}\x{2011}]".to_owned());
        let ld = format!("(?:{letter_class}|{digit_class})");
        def!(
            "THING",
            format!(
                r"(?:[dDoOlL]{apos_etc}{ld})?{ld}+(?:{}(?:[dDoOlL]{apos_etc}{ld})?{ld}+)*",
                g(&m, "HYPHEN")
            )
        );
        def!(
            "THINGA",
            format!(r"[A-Z]+(?:(?:[+&]|{})[A-Z]+)+", g(&m, "SPAMP"))
        );
        def!(
            "THING3",
            r"[A-Za-z0-9]+(?:-[A-Za-z]+){0,2}(?:\\?/[A-Za-z0-9]+(?:-[A-Za-z]+){0,2}){1,2}"
                .to_owned()
        );
        let us = ci_words(&["Canada", "Sino", "Korean", "EU", "Japan", "non"]);
        let acro_tail = format!(
            r"{us}-{}|{}-(?:{}|{})",
            ci("U.S"),
            ci("U.S."),
            ci("U.K"),
            ci("U.S.S.R")
        );
        def!("ACRO", format!(r"[A-Za-z](?:\.[A-Za-z])*|{acro_tail}"));
        def!("ACRO2", format!(r"[A-Za-z](?:\.[A-Za-z])+|{acro_tail}"));
        def!(
            "HTHING",
            format!(
                r"[A-Za-z0-9][A-Za-z0-9.,\x{{AD}}]*(?:-(?:[A-Za-z0-9\x{{AD}}]+|{}\.))+",
                g(&m, "ACRO2")
            )
        );
        def!(
            "REDAUX",
            format!(r"{apos}(?:[msdMSD]|{})", ci_words(&["re", "ve", "ll"]))
        );
        def!("SWORD", r"[A-Za-z\x{AD}]*[A-MO-Za-mo-z]\x{AD}*".to_owned());
        def!("SREDAUX", format!("{}{apos_etc}{}", ci("n"), ci("t")));
        let lc = &letter_class;
        def!(
            "APOWORD",
            [
                format!("{apos}{}(?:{apos})?", ci("n")),
                format!("[lLdDjJ]{apos}"),
                format!("{}{apos}", ci("Dunkin")),
                format!("{}{apos}", ci("somethin")),
                format!("{}{apos}", ci("ol")),
                format!("{apos}{}", ci("em")),
                format!("[A-HJ-XZn]{apos_etc}{lc}{{2}}{lc}*"),
                format!("{apos}[2-9]0{}", ci("s")),
                format!("{apos}{}{}?", ci("til"), ci("l")),
                format!("{lc}{lc}*[aeiouyAEIOUY]{apos_etc}[aeiouA-Z]{lc}*"),
                format!("{apos}{}", ci("cause")),
                format!(r"{}(?:\.)?", ci("cont'd")),
                ci("'twas"),
                ci("nor'easter"),
                ci("c'mon"),
                ci("e'er"),
                ci("s'mores"),
                ci("ev'ry"),
                ci("li'l"),
                ci("nat'l"),
                format!("{}{apos_etc}{}", ci("O"), ci("o")),
            ]
            .join("|")
        );
        def!("APOWORD2", format!("{}{apos}", ci("y")));
        def!(
            "FULLURL",
            format!(
                r#"{}?://[^ \t\n\f\r"<>|(){{}}]+[^ \t\n\f\r"<>|.!?(){{}},\-]"#,
                ci("http") + &ci("s")
            )
        );
        def!(
            "LIKELYURL",
            format!(
                r#"(?:(?:{}(?:[^ \t\n\f\r"<>|.!?(){{}},]+\.)+[a-zA-Z]{{2,4}})|(?:(?:[^ \t\n\f\r"`'<>|.!?(){{}},-_$]+\.)+{}))(?:/[^ \t\n\f\r"<>|()]+[^ \t\n\f\r"<>|.!?(){{}},\-])?"#,
                ci("www."),
                ci_words(&["com", "net", "org", "edu"])
            )
        );
        def!(
            "EMAIL",
            format!(
                r#"(?:{}|<)?[a-zA-Z0-9][^ \t\n\f\r"<>|()\x{{A0}}{{}}]*@(?:[^ \t\n\f\r"<>|(){{}}.\x{{A0}}]+\.)*(?:[^ \t\n\f\r"<>|(){{}}.\x{{A0}}]+)(?:{}|>)?"#,
                ci("&lt;"),
                ci("&gt;")
            )
        );
        def!("TWITTER", format!(r"@[a-zA-Z_][a-zA-Z_0-9]*|#(?:{l})+"));
        let abmonth = ci_words(&[
            "Jan", "Feb", "Mar", "Apr", "Jun", "Jul", "Aug", "Sep", "Sept", "Oct", "Nov", "Dec",
        ]);
        let abdays = ci_words(&["Mon", "Tue", "Tues", "Wed", "Thu", "Thurs", "Fri"]);
        // First letter in brackets stays case-sensitive (a class), the rest is caseless.
        let cs_first = |first: char, rest: &str| format!("[{first}]{}", ci(rest));
        let abstate = [
            ci("Ala"),
            ci("Ariz"),
            cs_first('A', "z"),
            cs_first('A', "rk"),
            ci("Calif"),
            ci("Colo"),
            ci("Conn"),
            ci("Ct"),
            ci("Dak"),
            cs_first('D', "el"),
            ci("Fla"),
            ci("Ga"),
            cs_first('I', "ll"),
            ci("Ind"),
            format!("{}{}?", ci("Kan"), ci("s")),
            ci("Ky"),
            cs_first('L', "a"),
            cs_first('M', "ass"),
            ci("Md"),
            ci("Mich"),
            ci("Minn"),
            cs_first('M', "iss"),
            ci("Mo"),
            ci("Mont"),
            ci("Neb"),
            ci("Nev"),
            ci("Okla"),
            cs_first('O', "re"),
            cs_first('P', "a"),
            ci("Penn"),
            ci("Tenn"),
            cs_first('T', "ex"),
            ci("Va"),
            ci("Vt"),
            cs_first('W', "ash"),
            format!("{}{}?", ci("Wis"), ci("c")),
            ci("Wyo"),
        ]
        .join("|");
        let abcomp = [
            ci("Inc"),
            format!("{}{}?", ci("Co"), ci("s")),
            ci("Corp"),
            format!("{}{}?{}[ye]{}?", ci("P"), ci("p"), ci("t"), ci("s")),
            ci("Ltd"),
            ci("Plc"),
            ci("Rt"),
            ci("Bancorp"),
            ci("Bhd"),
            ci("Assn"),
            ci("Univ"),
            ci("Intl"),
            ci("Sys"),
        ]
        .join("|");
        let abnum = ci_words(&["tel", "est", "ext", "sq"]);
        let abptit = format!(
            "{}|(?:{}|{})\\.{}|{}",
            ci_words(&["Jr", "Sr", "Bros"]),
            ci("Ed"),
            ci("Ph"),
            ci("D"),
            ci_words(&["Blvd", "Rd", "Esq"])
        );
        def!(
            "ABBREV1",
            format!(
                r"(?:{abmonth}|{abdays}|{abstate}|{abcomp}|{abnum}|{abptit}|{})\.",
                ci_words(&["etc", "al", "seq", "Bldg"])
            )
        );
        let abtitle = [
            ci_words(&["Mr", "Mrs", "Ms"]),
            cs_first('M', "iss"),
            format!("{}{}?", ci("Dr"), ci("s")),
            format!("{}{}?", ci("Prof"), ci("s")),
            format!("{}{}?", ci("Sen"), ci("s")),
            format!("{}{}?", ci("Rep"), ci("s")),
            format!("{}{}?", ci("Atty"), ci("s")),
            ci_words(&["Lt", "Col", "Gen", "Messrs"]),
            format!("{}{}?", ci("Gov"), ci("s")),
            ci_words(&["Adm", "Rev", "Maj", "Sgt", "Cpl", "Pvt", "Capt"]),
            format!("{}{}?", ci("St"), ci("e")),
            ci_words(&["Ave", "Pres", "Lieut", "Hon", "Brig"]),
            format!("{}{}?{}", ci("C"), ci("o"), ci("mdr")),
            ci_words(&["Pfc", "Spc"]),
            format!("{}{}?", ci("Supt"), ci("s")),
            ci_words(&[
                "Det", "Mt", "Ft", "Adj", "Adv", "Asst", "Assoc", "Ens", "Insp", "Mlle", "Mme",
                "Msgr", "Sfc",
            ]),
        ]
        .join("|");
        let abcomp2 = format!(
            "{}|{}[ft]{}|{}",
            ci_words(&["Invt", "Elec", "Natl"]),
            ci("M"),
            ci("g"),
            ci("Dept")
        );
        def!(
            "ABBREV4",
            format!(
                "{abtitle}|{}|{}|{abcomp2}",
                ci_words(&["vs", "Alex", "Wm", "Jos", "Cie", "a.k.a", "cf", "TREAS", "Ph"]),
                g(&m, "ACRO")
            )
        );
        def!("ABBREV2", format!(r"{}\.", g(&m, "ABBREV4")));
        def!("ACRONYM", format!(r"{}\.", g(&m, "ACRO")));
        def!(
            "ABBREV3",
            format!(
                r"{}\.",
                ci_words(&["ca", "fig", "figs", "prop", "no", "nos", "art", "bldg", "pp", "op"])
            )
        );
        def!("PHONE", r"(?:\([0-9]{2,3}\)[ \x{A0}]?|(?:\+\+?)?(?:[0-9]{2,4}[\- \x{A0}])?[0-9]{2,4}[\- \x{A0}])[0-9]{3,4}[\- \x{A0}]?[0-9]{3,5}|(?:(?:\+\+?)?[0-9]{2,4}\.)?[0-9]{2,4}\.[0-9]{3,4}\.[0-9]{3,5}".to_owned());
        def!("LESSTHAN", format!("<|{}", ci("&lt;")));
        def!("GREATERTHAN", format!(">|{}", ci("&gt;")));
        def!(
            "LDOTS",
            r"\.{3,5}|(?:\.[ \x{A0}]){2,4}\.|[\x{85}\x{2026}]".to_owned()
        );
        def!("FNMARKS", r"@+|#+|_+".to_owned());
        def!("ASTS", r"\*+|(?:\\\*){1,3}".to_owned());
        def!("INSENTP", r"[,;:\x{3001}]".to_owned());
        def!(
            "QUOTES",
            format!(
                r"{apos}|''|[`\x{{2018}}\x{{2019}}\x{{201A}}\x{{201B}}\x{{201C}}\x{{201D}}\x{{91}}\x{{92}}\x{{93}}\x{{94}}\x{{201E}}\x{{201F}}\x{{2039}}\x{{203A}}\x{{AB}}\x{{BB}}]{{1,2}}"
            )
        );
        def!("DBLQUOT", format!("\"|{}", ci("&quot;")));
        def!(
            "TBSPEC",
            format!(
                r"-{}-|{}|{}|{}|{}(?:&|{})P-500|{}(?:&|{}){}|{}{apos}{}|{}{apos}{}",
                ci_words(&["RRB", "LRB", "RCB", "LCB", "RSB", "LSB"]),
                ci("C.D.s"),
                ci("pro-"),
                ci("anti-"),
                ci("S"),
                ci("&amp;"),
                ci("S"),
                ci("&amp;"),
                ci("Ls"),
                ci("Cap"),
                ci("n"),
                ci("c"),
                ci("est")
            )
        );
        def!("TBSPEC2", format!("{apos}[0-9][0-9]"));
        def!("SMILEY", r"[<>]?[:;=][\-o*']?[()DPdpO\\{@|\[\]]".to_owned());
        def!("ASIANSMILEY", r"[\^x=~<>]\.\[\^x=~<>\]|[\-\^x=~<>']_[\-\^x=~<>']|\([\-\^x=~<>'][_.]?[\-\^x=~<>']\)|\([\^x=~<>']-[\^x=~<>'`]\)".to_owned());
        def!("MISCSYMBOL", r"[+%&~\^|\\¦\x{A7}¨\x{A9}\x{AC}\x{AE}¯\x{B0}-\x{B3}\x{B4}-\x{BA}\x{D7}\x{F7}\x{387}\x{5BE}\x{5C0}\x{5C3}\x{5C6}\x{5F3}\x{5F4}\x{600}-\x{603}\x{606}-\x{60A}\x{60C}\x{614}\x{61B}\x{61E}\x{66A}\x{66D}\x{703}-\x{70D}\x{7F6}\x{7F7}\x{7F8}\x{964}\x{965}\x{E4F}\x{1FBD}\x{2016}\x{2017}\x{2020}-\x{2023}\x{2030}-\x{2038}\x{203B}\x{203E}-\x{2042}\x{2044}\x{207A}-\x{207F}\x{208A}-\x{208E}\x{2100}-\x{214F}\x{2190}-\x{21FF}\x{2200}-\x{2BFF}\x{3012}\x{30FB}\x{FF01}-\x{FF0F}\x{FF1A}-\x{FF20}\x{FF3B}-\x{FF40}\x{FF5B}-\x{FF65}]".to_owned());
        m.insert("UPPER", upper_class);
        Macros { map: m }
    }
}

/// Rules in PTBLexer.flex order: (pattern, trailing context, action).
fn rule_table(m: &Macros) -> Vec<(String, Option<String>, Action)> {
    use Action::*;
    let x = |name: &str| m.get(name).to_owned();
    let acronym_followers = {
        let cs = |first: char, rest: &str| format!("[{first}]{}", ci(rest));
        let words = [
            cs('A', "bout"),
            cs('A', "ccording"),
            cs('A', "dditionally"),
            cs('A', "fter"),
            cs('A', "n"),
            "[A]".to_owned(),
            cs('A', "s"),
            cs('A', "t"),
            cs('B', "ut"),
            cs('E', "arlier"),
            cs('H', "e"),
            cs('H', "er"),
            cs('H', "ere"),
            cs('H', "owever"),
            cs('I', "f"),
            cs('I', "n"),
            cs('I', "t"),
            cs('L', "ast"),
            cs('M', "any"),
            cs('M', "ore"),
            format!(r"[M]{}\.", ci("r")),
            format!(r"[M]{}\.", ci("s")),
            cs('N', "ow"),
            cs('O', "nce"),
            cs('O', "ne"),
            cs('O', "ther"),
            cs('O', "ur"),
            cs('S', "he"),
            cs('S', "ince"),
            cs('S', "o"),
            cs('S', "ome"),
            cs('S', "uch"),
            cs('T', "hat"),
            cs('T', "he"),
            cs('T', "heir"),
            cs('T', "hen"),
            cs('T', "here"),
            cs('T', "hese"),
            cs('T', "hey"),
            cs('T', "his"),
            cs('W', "e"),
            cs('W', "hen"),
            cs('W', "hile"),
            cs('W', "hat"),
            cs('Y', "et"),
            cs('Y', "ou"),
            x("SGML"),
        ];
        format!("{}(?:{}){}", x("SPACENLS"), words.join("|"), x("SPACENL"))
    };
    vec![
        (format!(r"{}\+\+", ci("c")), None, Text),
        (format!("(?:{}|{})#", ci("c"), ci("f")), None, Text),
        (ci("cannot"), None, PushBack(3)),
        (ci("'twas"), None, PushBack(3)),
        (ci("'tis"), None, PushBack(2)),
        (
            ci_words(&["gonna", "gotta", "lemme", "gimme", "wanna"]),
            None,
            PushBack(2),
        ),
        (x("SGML"), None, SpaceToNbsp),
        (x("SPMDASH"), None, Dash),
        (x("SPAMP"), None, NormalizeAmp),
        (x("SPPUNC"), None, Text),
        (x("WORD"), Some(x("REDAUX")), NoSoftHyphens),
        (x("SWORD"), Some(x("SREDAUX")), NoSoftHyphens),
        (x("WORD"), None, NoSoftHyphens),
        (x("APOWORD"), None, Text),
        (
            x("APOWORD2"),
            Some(r"[\p{L}&&[\x{0}-\x{FFFF}]]".to_owned()),
            Text,
        ),
        (x("FULLURL"), None, Text),
        (x("LIKELYURL"), None, Text),
        (x("EMAIL"), None, Text),
        (x("TWITTER"), None, Text),
        (x("REDAUX"), Some(r"[^A-Za-z]".to_owned()), Quotes(false)),
        (x("SREDAUX"), Some(r"[^A-Za-z]".to_owned()), Quotes(false)),
        (x("DATE"), None, Text),
        (x("NUMBER"), None, NoSoftHyphens),
        (x("SUBSUPNUM"), None, Text),
        (x("FRAC"), None, SpaceToNbsp),
        (x("FRAC2"), None, Fraction),
        (x("TBSPEC"), None, NormalizeAmp),
        (x("THING3"), None, Text),
        (x("DOLSIGN"), None, Text),
        (x("DOLSIGN2"), None, Currency),
        (x("ACRONYM"), Some(acronym_followers), Acronym),
        (
            x("ABBREV3"),
            Some(format!("(?:{})?{}", x("SPACENL"), x("DIGIT"))),
            Text,
        ),
        (
            format!(r"(?:{}[eyEY]|{})\.", ci("pt"), ci("co")),
            Some(format!("{}{}", x("SPACE"), ci_words(&["ltd", "lim"]))),
            Text,
        ),
        (x("ABBREV1"), Some(x("SENTEND")), AbbreviationAndPeriod),
        (x("ABBREV1"), Some(r"(?s:..)".to_owned()), Text),
        (x("ABBREV1"), None, AbbreviationAndPeriod),
        (x("ABBREV2"), None, Text),
        (x("ABBREV4"), Some(x("SPACE")), Text),
        (x("ACRO"), Some(x("SPACENL")), Text),
        (x("TBSPEC2"), Some(x("SPACENL")), Text),
        (
            x("FILENAME"),
            Some(format!("{}|[.?!,]", x("SPACENL"))),
            Text,
        ),
        (
            format!(r"{}\.", x("WORD")),
            Some(x("INSENTP")),
            NoSoftHyphens,
        ),
        (x("PHONE"), None, Phone),
        (x("DBLQUOT"), Some(r"[A-Za-z0-9$]".to_owned()), Quotes(true)),
        (x("DBLQUOT"), None, Quotes(false)),
        (r"\x7F".to_owned(), None, Skip),
        (x("LESSTHAN"), None, Replace("<")),
        (x("GREATERTHAN"), None, Replace(">")),
        (x("SMILEY"), Some(r"[^A-Za-z0-9]".to_owned()), Parens),
        (x("ASIANSMILEY"), None, Parens),
        (r"\{".to_owned(), None, Replace("-LCB-")),
        (r"\}".to_owned(), None, Replace("-RCB-")),
        (r"\[".to_owned(), None, Replace("-LSB-")),
        (r"\]".to_owned(), None, Replace("-RSB-")),
        (r"\(".to_owned(), None, Replace("-LRB-")),
        (r"\)".to_owned(), None, Replace("-RRB-")),
        (r"\-+".to_owned(), None, Hyphens),
        (x("LDOTS"), None, Ellipsis),
        (x("FNMARKS"), None, Text),
        (x("ASTS"), None, Text),
        (x("INSENTP"), None, Text),
        (r"[?!]+".to_owned(), None, Text),
        (
            r"[.¡¿\x{37E}\x{589}\x{61F}\x{6D4}\x{700}-\x{702}\x{7FA}\x{3002}]".to_owned(),
            None,
            Text,
        ),
        ("=".to_owned(), None, Text),
        ("/".to_owned(), None, Text),
        (
            format!(r"{}\.", x("HTHING")),
            Some(x("INSENTP")),
            NoSoftHyphens,
        ),
        (x("HTHING"), None, NoSoftHyphens),
        (format!(r"{}\.", x("THING")), Some(x("INSENTP")), Text),
        (x("THING"), None, Text),
        (
            format!(r"{}\.", x("THINGA")),
            Some(x("INSENTP")),
            NormalizeAmp,
        ),
        (x("THINGA"), None, NormalizeAmp),
        (
            "'".to_owned(),
            Some(r"[A-Za-z][^ \t\n\r\x{A0}]".to_owned()),
            Quotes(true),
        ),
        (x("REDAUX"), None, Quotes(false)),
        (x("SREDAUX"), None, Quotes(false)),
        (x("QUOTES"), None, Quotes(false)),
        ("<<|>>".to_owned(), None, Text),
        (x("MISCSYMBOL"), None, Text),
        (
            format!(
                r"\x{{0}}|{}|[\x{{200B}}\x{{200E}}-\x{{200F}}\x{{FEFF}}]",
                x("SPACES")
            ),
            None,
            Skip,
        ),
        (x("NEWLINE"), None, Newline),
        (ci("&nbsp;"), None, Skip),
        (r"[^\n]".to_owned(), None, Delete),
    ]
}

fn build_dfa(pattern: &str) -> DFA {
    DFA::builder()
        .configure(
            DFA::config()
                .match_kind(MatchKind::All)
                .minimum_cache_clear_count(None)
                .cache_capacity(4 << 20),
        )
        .build(pattern)
        .unwrap_or_else(|e| panic!("PTB lexer pattern does not compile ({e}): {pattern}"))
}

/// Every end position of an anchored match of `dfa` starting at `start`, ascending.
fn match_ends(dfa: &DFA, cache: &mut Cache, text: &str, start: usize) -> Vec<usize> {
    let input = Input::new(text).range(start..).anchored(Anchored::Yes);
    let mut ends = Vec::new();
    let Ok(mut state) = dfa.start_state_forward(cache, &input) else {
        return ends;
    };
    let bytes = text.as_bytes();
    for (i, &byte) in bytes.iter().enumerate().skip(start) {
        state = match dfa.next_state(cache, state, byte) {
            Ok(s) => s,
            Err(_) => return ends,
        };
        if state.is_match() {
            ends.push(i);
        }
        if state.is_dead() {
            return ends;
        }
    }
    if let Ok(s) = dfa.next_eoi_state(cache, state) {
        if s.is_match() {
            ends.push(bytes.len());
        }
    }
    ends
}

/// A token from the lexer, before lower-casing.
#[derive(Debug, Clone, PartialEq)]
enum Lexeme {
    Token(String),
    Newline,
}

impl PtbTokenizer {
    /// Build the rule DFAs (lazily determinised; cheap until used).
    pub fn new() -> Self {
        let macros = Macros::build();
        let rules: Vec<Rule> = rule_table(&macros)
            .into_iter()
            .map(|(main, lookahead, action)| Rule {
                main: build_dfa(&main),
                lookahead: lookahead.map(|p| build_dfa(&p)),
                action,
            })
            .collect();
        let caches = rules
            .iter()
            .map(|r| {
                (
                    r.main.create_cache(),
                    r.lookahead.as_ref().map(|l| l.create_cache()),
                )
            })
            .collect();
        PtbTokenizer { rules, caches }
    }

    /// CoreNLP tokens of `text` (not lower-cased, punctuation kept), as one line of the file.
    pub fn corenlp_tokens(&mut self, text: &str) -> Vec<String> {
        // The caption is followed by the newline pycocoevalcap puts between captions.
        let mut input = String::with_capacity(text.len() + 1);
        input.push_str(text);
        input.push('\n');
        self.lex(&input)
            .into_iter()
            .filter_map(|l| match l {
                Lexeme::Token(t) => Some(t),
                Lexeme::Newline => None,
            })
            .collect()
    }

    /// The caption as pycocoevalcap hands it to the scorers: lower-cased tokens without the
    /// punctuation list, joined by single spaces.
    pub fn tokenize_caption(&mut self, text: &str) -> String {
        // pycocoevalcap replaces "\n" by " " before writing the caption.
        let text = text.replace('\n', " ");
        let line = self
            .corenlp_tokens(&text)
            .iter()
            .map(|t| java_lowercase(t))
            .collect::<Vec<_>>()
            .join(" ");
        // `line.rstrip().split(' ')`, then the punctuation filter.
        python_rstrip(&line)
            .split(' ')
            .filter(|t| !PUNCTUATIONS.contains(t))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// CoreNLP's output line for `text` as pycocoevalcap reads it (lower-cased, right-stripped),
    /// before the punctuation filter.
    pub fn corenlp_line(&mut self, text: &str) -> String {
        let line = self
            .corenlp_tokens(text)
            .iter()
            .map(|t| java_lowercase(t))
            .collect::<Vec<_>>()
            .join(" ");
        python_rstrip(&line).to_owned()
    }

    fn lex(&mut self, text: &str) -> Vec<Lexeme> {
        let mut out = Vec::new();
        let mut pos = 0;
        while pos < text.len() {
            let Some((rule_index, token_end, _)) = self.longest_match(text, pos) else {
                // Unreachable: the last rule matches any character but \n, and NEWLINE matches \n.
                pos += text[pos..].chars().next().map_or(1, char::len_utf8);
                continue;
            };
            let matched = &text[pos..token_end];
            let action = self.rules[rule_index].action;
            let (emitted, next) = apply(action, matched, pos);
            out.extend(emitted);
            pos = next.max(pos + 1).min(text.len());
            // `next` is a char boundary by construction; guard anyway.
            while !text.is_char_boundary(pos) {
                pos += 1;
            }
        }
        out
    }

    /// (rule, end of the token text, end of the whole match incl. trailing context).
    fn longest_match(&mut self, text: &str, pos: usize) -> Option<(usize, usize, usize)> {
        let mut best: Option<(usize, usize, usize)> = None;
        for (index, rule) in self.rules.iter().enumerate() {
            let (main_cache, look_cache) = &mut self.caches[index];
            let ends = match_ends(&rule.main, main_cache, text, pos);
            if ends.is_empty() {
                continue;
            }
            let candidate = match (&rule.lookahead, look_cache) {
                (None, _) => {
                    let end = *ends.last().expect("non-empty");
                    (end > pos).then_some((end, end))
                }
                (Some(look), Some(cache)) => {
                    let mut found: Option<(usize, usize)> = None;
                    for &end in ends.iter().rev() {
                        if end == pos {
                            continue;
                        }
                        if let Some(&total) = match_ends(look, cache, text, end).last() {
                            if total > end && found.is_none_or(|(_, t)| total > t) {
                                found = Some((end, total));
                            }
                        }
                    }
                    found
                }
                _ => unreachable!("cache per lookahead"),
            };
            if let Some((token_end, total)) = candidate {
                if best.is_none_or(|(_, _, t)| total > t) {
                    best = Some((index, token_end, total));
                }
            }
        }
        best
    }
}

/// What a rule emits, and where lexing continues.
fn apply(action: Action, matched: &str, pos: usize) -> (Vec<Lexeme>, usize) {
    use Action::*;
    let end = pos + matched.len();
    let token = |s: String| vec![Lexeme::Token(s)];
    let without_last_chars = |n: usize| -> &str {
        let count = matched.chars().count();
        let keep: usize = matched
            .chars()
            .take(count.saturating_sub(n))
            .map(char::len_utf8)
            .sum();
        &matched[..keep]
    };
    match action {
        Text => (token(matched.to_owned()), end),
        NoSoftHyphens => (token(remove_soft_hyphens(matched)), end),
        PushBack(n) => {
            let kept = without_last_chars(n);
            (token(kept.to_owned()), pos + kept.len())
        }
        SpaceToNbsp => (token(matched.replace(' ', "\u{a0}")), end),
        Dash => (token("--".to_owned()), end),
        NormalizeAmp => (token(normalize_amp(matched)), end),
        Quotes(left) => (token(latex_quotes(matched, left)), end),
        Fraction => (
            token(
                matched
                    .replace('\u{bc}', "1/4")
                    .replace('\u{bd}', "1/2")
                    .replace('\u{be}', "3/4")
                    .replace('\u{2153}', "1/3")
                    .replace('\u{2154}', "2/3"),
            ),
            end,
        ),
        Currency => (
            token(
                matched
                    .replace('\u{a2}', "cents")
                    .replace('\u{a3}', "#")
                    .replace(['\u{80}', '\u{a4}', '\u{20a0}', '\u{20ac}'], "$"),
            ),
            end,
        ),
        Acronym => {
            if matched.chars().count() == 2 {
                let kept = without_last_chars(1);
                (token(kept.to_owned()), pos + kept.len())
            } else {
                (token(matched.to_owned()), end - 1)
            }
        }
        AbbreviationAndPeriod => (token(matched.to_owned()), end - 1),
        Phone => (
            token(
                matched
                    .replace(' ', "\u{a0}")
                    .replace('(', "-LRB-")
                    .replace(')', "-RRB-"),
            ),
            end,
        ),
        Parens => (
            token(matched.replace('(', "-LRB-").replace(')', "-RRB-")),
            end,
        ),
        Replace(s) => (token(s.to_owned()), end),
        Hyphens => {
            let n = matched.chars().count();
            (
                token(if (3..=4).contains(&n) {
                    "--".to_owned()
                } else {
                    matched.to_owned()
                }),
                end,
            )
        }
        Ellipsis => (token("...".to_owned()), end),
        Skip | Delete => (Vec::new(), end),
        Newline => (vec![Lexeme::Newline], end),
    }
}

fn remove_soft_hyphens(s: &str) -> String {
    if !s.contains('\u{ad}') {
        return s.to_owned();
    }
    let out: String = s.chars().filter(|&c| c != '\u{ad}').collect();
    if out.is_empty() {
        "-".to_owned()
    } else {
        out
    }
}

/// `(?i:&amp;)` → `&`.
fn normalize_amp(s: &str) -> String {
    let lower = s.to_ascii_lowercase();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if lower[i..].starts_with("&amp;") {
            out.push('&');
            i += 5;
        } else {
            let c = s[i..].chars().next().expect("in bounds");
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// CoreNLP `latexQuotes`.
fn latex_quotes(s: &str, probably_left: bool) -> String {
    let (single, double) = if probably_left {
        ("`", "``")
    } else {
        ("'", "''")
    };
    let s = s.replace("&apos;", single).replace('\'', single);
    let s = s.replace("&quot;", double).replace('"', double);
    let s = s.replace(['\u{91}', '\u{2018}', '\u{201b}', '\u{2039}'], "`");
    let s = s.replace(['\u{92}', '\u{2019}', '\u{203a}'], "'");
    let s = s.replace(['\u{93}', '\u{201c}', '\u{ab}'], "``");
    s.replace(['\u{94}', '\u{201d}', '\u{bb}'], "''")
}

/// Java `String.toLowerCase(Locale.ENGLISH)` (full mappings, final sigma), as Rust's.
pub fn java_lowercase(s: &str) -> String {
    s.to_lowercase()
}

/// The real CoreNLP jar, run as pycocoevalcap runs it (one java process per list of captions).
#[derive(Debug, Clone)]
pub struct CoreNlpJar {
    pub jar: PathBuf,
    pub java: PathBuf,
}

impl CoreNlpJar {
    /// Tokenise captions as `PTBTokenizer.tokenize` of pycocoevalcap 1.2 does, except that the
    /// other characters CoreNLP breaks lines at (`\r`, U+2028, U+2029, `\v`, `\f`, U+0085) become
    /// spaces too: pycocoevalcap leaves them, which shifts every later caption onto the wrong image.
    pub fn tokenize_captions(&self, captions: &[String]) -> Result<Vec<String>> {
        let joined = captions
            .iter()
            .map(|c| {
                c.replace(
                    [
                        '\n', '\r', '\u{2028}', '\u{2029}', '\u{0b}', '\u{0c}', '\u{85}',
                    ],
                    " ",
                )
            })
            .collect::<Vec<_>>()
            .join("\n");
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let file =
            std::env::temp_dir().join(format!("raddraft-ptb-{}-{nanos}.txt", std::process::id()));
        std::fs::write(&file, joined.as_bytes()).map_err(|e| EvalError::io(&file, e))?;
        let output = std::process::Command::new(&self.java)
            .arg("-cp")
            .arg(&self.jar)
            .arg("edu.stanford.nlp.process.PTBTokenizer")
            .arg("-preserveLines")
            .arg("-lowerCase")
            .arg(&file)
            .stderr(std::process::Stdio::null())
            .output();
        let _ = std::fs::remove_file(&file);
        let output = output.map_err(|e| EvalError::io(&self.java, e))?;
        if !output.status.success() {
            return Err(EvalError::invalid_file(
                &self.jar,
                format!("PTBTokenizer failed ({})", output.status),
            ));
        }
        let text = String::from_utf8_lossy(&output.stdout);
        let lines: Vec<&str> = text.split('\n').collect();
        let mut out = Vec::with_capacity(captions.len());
        for index in 0..captions.len() {
            let line = lines.get(index).copied().unwrap_or("");
            let kept: Vec<&str> = python_rstrip(line)
                .split(' ')
                .filter(|w| !PUNCTUATIONS.contains(w))
                .collect();
            out.push(kept.join(" "));
        }
        Ok(out)
    }
}

fn python_rstrip(s: &str) -> &str {
    s.trim_end_matches(crate::radgraph::preprocess::is_python_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexer_rules_compile_and_split_contractions() {
        let mut ptb = PtbTokenizer::new();
        assert_eq!(
            ptb.corenlp_tokens("The patient's tube isn't changed (stable)."),
            [
                "The", "patient", "'s", "tube", "is", "n't", "changed", "-LRB-", "stable", "-RRB-",
                "."
            ]
        );
    }
}
