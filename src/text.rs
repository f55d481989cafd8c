//! Text from outside (a role name, a target, a node's name, an SSM value) as a reader may be
//! shown it: characters that would mislead a reader are shown escaped. Control characters could
//! move a terminal's cursor or recolour it; bidirectional controls (U+202E and its kin,
//! "Trojan Source") make a line read in another order than it is written.

use std::borrow::Cow;

/// Whether a character is one a reader must not be shown raw: a control character (C0 and C1),
/// a bidirectional formatting character (Unicode's Bidi_Control set), a line or paragraph
/// separator (a line break to some readers), or an invisible one (zero-width spaces and joiners,
/// the word joiner, a byte order mark).
pub fn misleading(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'
                | '\u{2066}'..='\u{2069}'
                | '\u{FEFF}'
        )
}

/// `s` with every misleading character escaped (`\u{202e}`, `\n`); `keep` lets line breaks
/// and tabs of a whole rendered page through.
fn escaped(s: &str, keep: impl Fn(char) -> bool) -> Cow<'_, str> {
    if !s.chars().any(|c| misleading(c) && !keep(c)) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        if misleading(c) && !keep(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// One value (a name, a message) for a line of text: every misleading character escaped, line
/// breaks included.
pub fn clean(s: &str) -> String {
    escaped(s, |_| false).into_owned()
}

/// A whole rendered page (text, Markdown, HTML): misleading characters escaped, its own line
/// breaks and tabs kept. The last guard: each value should already be clean.
pub fn page(s: String) -> String {
    match escaped(&s, |c| c == '\n' || c == '\t') {
        Cow::Borrowed(_) => s,
        Cow::Owned(o) => o,
    }
}

/// `word` quoted for a POSIX shell when it needs to be.
pub fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-+:,=@%".contains(&b));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn misleading_characters_are_shown_escaped() {
        assert_eq!(super::clean("a\u{1b}[31mb\n"), "a\\u{1b}[31mb\\n");
        assert_eq!(super::clean("plain/näme"), "plain/näme");
        assert_eq!(super::clean("abc\u{202e}fed"), "abc\\u{202e}fed");
        assert_eq!(super::clean("\u{2066}x\u{2069}"), "\\u{2066}x\\u{2069}");
        assert_eq!(
            super::page("l1\n\tl2\u{200f}\n".to_owned()),
            "l1\n\tl2\\u{200f}\n"
        );
        assert_eq!(
            super::clean("a\u{2028}b\u{200b}c\u{9b}"),
            "a\\u{2028}b\\u{200b}c\\u{9b}"
        );
    }
}
