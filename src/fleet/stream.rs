//! Reading a large `kubectl get nodes -o json` list in one pass with flat memory: a scanner finds
//! where each element of the top-level `items` array begins and ends (tracking strings, escapes
//! and nesting, nothing more), and a second thread parses those elements with serde_json while
//! the scanner reads on. A 100,000-node list (hundreds of MB) is never held whole in memory.
//!
//! The scanner only splits; the caller's parser (serde_json) judges every element strictly, so a
//! split in the wrong place can only cause an error, never a wrong node. This module knows the
//! list's shape, not what a node is.

use crate::error::FieldError;
use std::io::Read;
use std::sync::mpsc;

/// What is wrong with the list around the elements, or with reading it.
#[derive(Debug, thiserror::Error)]
pub enum ListError {
    /// The list's shape (`items: not a list`, `items[3]: not an object`).
    #[error(transparent)]
    Shape(#[from] FieldError),
    /// Not JSON.
    #[error("not JSON: {0}")]
    NotJson(serde_json::Error),
    /// The text ends before the list does.
    #[error("not a complete kubectl node list")]
    Incomplete,
    /// More closing brackets than opening ones.
    #[error("unbalanced brackets")]
    Unbalanced,
    /// Larger than the limit.
    #[error("larger than {0} bytes")]
    TooLarge(u64),
    /// The reader failed.
    #[error("cannot read: {0}")]
    Read(std::io::Error),
}

/// Why a list could not be read: the list itself, an element the caller's parser refused
/// (`E`), or the thread it is parsed on.
#[derive(Debug, thiserror::Error)]
pub enum StreamError<E> {
    /// An element the caller's parser refused.
    #[error("{0}")]
    Element(E),
    /// The list around the elements, or reading it.
    #[error(transparent)]
    List(#[from] ListError),
    /// No thread to parse on (a process limit).
    #[error("cannot start a thread to parse it: {0}")]
    NoThread(std::io::Error),
    /// The parser's thread ended without a result.
    #[error("the parser failed")]
    ParserFailed,
}

/// How much is read at a time.
const CHUNK: usize = 4 << 20;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Phase {
    /// In the top-level object, looking for the `items` key.
    Top,
    /// After the `items` key, before its `[`.
    AfterKey,
    /// Inside `items`, between elements.
    Between,
    /// Inside an element.
    Item,
    /// After the end of `items`.
    Done,
}

struct Scanner {
    phase: Phase,
    depth: u32,
    in_string: bool,
    escape: bool,
    /// Start of the last string at depth 1 (a key candidate), relative to the buffer.
    key_start: Option<usize>,
    /// Whether the last string closed at depth 1 was `"items"` and a `:` may follow.
    items_key: bool,
    /// Start of the current element, relative to the buffer.
    item_start: usize,
}

/// Inside an element (depth above 2, not in a string): only strings and braces matter, since its
/// brackets balance within it. Advance to the brace that closes the element and return its
/// position, or to the end of the buffer (`None`), keeping the state to resume from.
fn skip_in_item(buf: &[u8], pos: &mut usize, s: &mut Scanner) -> Option<usize> {
    let n = buf.len();
    let mut p = *pos;
    while p < n {
        if s.escape {
            s.escape = false;
            p += 1;
            continue;
        }
        if s.in_string {
            match memchr::memchr2(b'"', b'\\', &buf[p..]) {
                None => break,
                Some(i) => p += i,
            }
            if buf[p] == b'\\' {
                s.escape = true;
            } else {
                s.in_string = false;
            }
            p += 1;
            continue;
        }
        match memchr::memchr3(b'"', b'{', b'}', &buf[p..]) {
            None => break,
            Some(i) => p += i,
        }
        match buf[p] {
            b'"' => s.in_string = true,
            b'{' => s.depth += 1,
            _ => {
                s.depth -= 1;
                if s.depth == 2 {
                    *pos = p;
                    return Some(p);
                }
            }
        }
        p += 1;
    }
    *pos = n;
    None
}

/// Read the elements of the `items` list of the JSON object in `reader`, up to `max` bytes, each
/// made into a `T` by `parse(index, its bytes)` on a thread of its own while the reading goes on.
pub fn items<T: Send, E: Send>(
    reader: impl Read,
    max: u64,
    parse: impl Fn(usize, &[u8]) -> Result<T, E> + Send,
) -> Result<Vec<T>, StreamError<E>> {
    let (tx, rx) = mpsc::sync_channel::<(usize, Vec<u8>, Vec<(usize, usize)>)>(2);
    std::thread::scope(|scope| {
        // A thread that cannot be made (a process limit) is an error, never a panic.
        let parser =
            std::thread::Builder::new().spawn_scoped(scope, move || -> Result<Vec<T>, E> {
                let mut parsed = Vec::new();
                for (first, bytes, ranges) in rx {
                    for (k, (start, end)) in ranges.into_iter().enumerate() {
                        parsed.push(parse(first + k, &bytes[start..end])?);
                    }
                }
                Ok(parsed)
            });
        let parser = match parser {
            Ok(p) => p,
            Err(e) => return Err(StreamError::NoThread(e)),
        };
        // The parser stops at the first element it refuses; the scan then stops too.
        let scanned = scan(reader, max, |first, bytes, ends| {
            tx.send((first, bytes, ends)).map_err(|_| Stopped)
        });
        drop(tx);
        match (scanned, parser.join()) {
            (_, Ok(Err(e))) => Err(StreamError::Element(e)),
            (_, Err(_)) => Err(StreamError::ParserFailed),
            (Err(ScanError::Handover(Stopped)), Ok(Ok(_))) => Err(StreamError::ParserFailed),
            (Err(ScanError::List(e)), Ok(Ok(_))) => Err(StreamError::List(e)),
            (Ok(()), Ok(Ok(nodes))) => Ok(nodes),
        }
    })
}

/// The parser stopped taking elements.
#[derive(Debug)]
struct Stopped;

/// Why a scan stopped: the list, or the parser that stopped taking its elements.
#[derive(Debug)]
enum ScanError {
    List(ListError),
    Handover(Stopped),
}

impl From<ListError> for ScanError {
    fn from(e: ListError) -> Self {
        ScanError::List(e)
    }
}

impl From<Stopped> for ScanError {
    fn from(s: Stopped) -> Self {
        ScanError::Handover(s)
    }
}

/// Scan `reader`, handing over batches of elements: the index of the first, their bytes one
/// after the other, and where each ends.
fn scan(
    mut reader: impl Read,
    max: u64,
    mut hand_over: impl FnMut(usize, Vec<u8>, Vec<(usize, usize)>) -> Result<(), Stopped>,
) -> Result<(), ScanError> {
    let mut buf: Vec<u8> = Vec::with_capacity(CHUNK * 2);
    let mut s = Scanner {
        phase: Phase::Top,
        depth: 0,
        in_string: false,
        escape: false,
        key_start: None,
        items_key: false,
        item_start: 0,
    };
    let mut pos = 0usize;
    let mut total = 0u64;
    // Completed elements of `buf`, handed over with it (no copy) once it is scanned.
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    let mut first = 0usize;
    let mut count = 0usize;
    // Everything outside the elements, each element replaced by `{}`: checked as JSON at the end,
    // so that the list around the elements (commas, brackets, other keys) is as strict as they are.
    let mut skeleton: Vec<u8> = Vec::new();
    let mut skel_from = 0usize;
    loop {
        if s.phase != Phase::Item {
            skeleton.extend_from_slice(&buf[skel_from..pos]);
            skel_from = pos;
        }
        // Keep only what is still needed: the current element, or nothing.
        let keep_from = match s.phase {
            Phase::Item => s.item_start,
            // A key may be split between chunks.
            Phase::Top => s.key_start.map_or(pos, |k| k.min(pos)),
            _ => pos,
        };
        if ranges.is_empty() {
            buf.drain(..keep_from);
        } else {
            let mut next = Vec::with_capacity(CHUNK * 2);
            next.extend_from_slice(&buf[keep_from..]);
            let done = std::mem::replace(&mut buf, next);
            hand_over(first, done, std::mem::take(&mut ranges))?;
            first = count;
        }
        pos -= keep_from;
        skel_from -= keep_from.min(skel_from);
        s.item_start -= keep_from.min(s.item_start);
        if let Some(k) = s.key_start.as_mut() {
            *k = k.saturating_sub(keep_from);
        }
        let n = (&mut reader)
            .take(CHUNK as u64)
            .read_to_end(&mut buf)
            .map_err(ListError::Read)?;
        total += n as u64;
        if total > max {
            return Err(ListError::TooLarge(max).into());
        }
        if n == 0 {
            break;
        }
        while pos < buf.len() {
            let b = buf[pos];
            if s.escape {
                s.escape = false;
                pos += 1;
                continue;
            }
            if s.in_string {
                // Jump to the next quote or backslash.
                match memchr::memchr2(b'"', b'\\', &buf[pos..]) {
                    None => {
                        pos = buf.len();
                        continue;
                    }
                    Some(i) => pos += i,
                }
                if buf[pos] == b'\\' {
                    // Skip the escaped byte too (it may be in the next chunk).
                    if pos + 1 < buf.len() {
                        pos += 2;
                    } else {
                        s.escape = true;
                        pos += 1;
                    }
                    continue;
                }
                s.in_string = false;
                if s.depth == 1 && s.phase == Phase::Top {
                    s.items_key = s.key_start.is_some_and(|k| &buf[k..pos] == b"items");
                }
                s.key_start = None;
                pos += 1;
                continue;
            }
            if s.phase == Phase::Item && s.depth > 2 {
                // Inside an element: the tight loop, until it closes or the buffer ends.
                match skip_in_item(&buf, &mut pos, &mut s) {
                    Some(end) => {
                        ranges.push((s.item_start, end + 1));
                        count += 1;
                        s.phase = Phase::Between;
                        pos = end + 1;
                        skel_from = pos;
                    }
                    None => pos = buf.len(),
                }
                continue;
            }
            match b {
                b'"' => {
                    if s.phase == Phase::Between {
                        return Err(ListError::from(FieldError::new(
                            format!("items[{count}]"),
                            "not an object",
                        ))
                        .into());
                    }
                    s.in_string = true;
                    s.key_start = Some(pos + 1);
                }
                b':' if s.phase == Phase::Top && s.depth == 1 && s.items_key => {
                    s.phase = Phase::AfterKey;
                }
                b'[' | b'{' => {
                    if s.phase == Phase::AfterKey {
                        if b != b'[' {
                            return Err(
                                ListError::from(FieldError::new("items", "not a list")).into()
                            );
                        }
                        s.phase = Phase::Between;
                    } else if s.phase == Phase::Between {
                        if b != b'{' {
                            return Err(ListError::from(FieldError::new(
                                format!("items[{count}]"),
                                "not an object",
                            ))
                            .into());
                        }
                        s.phase = Phase::Item;
                        s.item_start = pos;
                        skeleton.extend_from_slice(&buf[skel_from..pos]);
                        skeleton.extend_from_slice(b"{}");
                        skel_from = pos;
                    }
                    s.depth += 1;
                }
                b']' | b'}' => {
                    s.depth = s.depth.checked_sub(1).ok_or(ListError::Unbalanced)?;
                    if s.phase == Phase::Item && s.depth == 2 {
                        ranges.push((s.item_start, pos + 1));
                        count += 1;
                        s.phase = Phase::Between;
                        skel_from = pos + 1;
                    } else if s.phase == Phase::Between && s.depth == 1 {
                        s.phase = Phase::Done;
                    }
                }
                b',' | b' ' | b'\n' | b'\r' | b'\t' => {}
                _ => {
                    if s.phase == Phase::AfterKey {
                        return Err(ListError::from(FieldError::new("items", "not a list")).into());
                    }
                    if s.phase == Phase::Between {
                        return Err(ListError::from(FieldError::new(
                            format!("items[{count}]"),
                            "not an object",
                        ))
                        .into());
                    }
                    if s.depth == 1 && s.phase == Phase::Top {
                        s.items_key = false;
                    }
                }
            }
            pos += 1;
        }
    }
    if s.phase != Phase::Done || s.depth != 0 || s.in_string {
        return Err(ListError::Incomplete.into());
    }
    skeleton.extend_from_slice(&buf[skel_from.min(buf.len())..]);
    serde_json::from_slice::<serde::de::IgnoredAny>(&skeleton).map_err(ListError::NotJson)?;
    if !ranges.is_empty() {
        hand_over(first, buf, ranges)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(text: &str) -> Result<Vec<String>, ScanError> {
        let mut items = Vec::new();
        scan(text.as_bytes(), u64::MAX, |_, bytes, ranges| {
            for (start, end) in ranges {
                items.push(String::from_utf8(bytes[start..end].to_vec()).unwrap());
            }
            Ok(())
        })?;
        Ok(items)
    }

    #[test]
    fn splits_items_whatever_the_strings_hold() {
        let text = r#"{"apiVersion": "v1", "x": {"items": [1]}, "it\"ems": [], "items": [
            {"a": "}]\\", "b": [{"c": "{"}]}, {"d": "\u0022items\""}
        ], "kind": "List"}"#;
        let items = split(text).unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0], r#"{"a": "}]\\", "b": [{"c": "{"}]}"#);
        assert_eq!(items[1], r#"{"d": "\u0022items\""}"#);
        assert_eq!(split(r#"{"items": []}"#).unwrap().len(), 0);
    }

    #[test]
    fn incomplete_lists_are_errors() {
        assert!(split(r#"{"items": [{"a": 1}"#).is_err());
        assert!(split(r#"{"kind": "List"}"#).is_err());
        assert!(split(r#"{"items": 3}"#).is_err());
        assert!(split(r#"{"items": [3]}"#).is_err());
        assert!(split("").is_err());
        // The list around the elements is checked as strictly as they are.
        assert!(split(r#"{"items":[}}"#).is_err());
        assert!(split(r#"{"items":[{"a":1} {"b":2}]}"#).is_err());
        assert!(split(r#"{"items":[{"a":1},]}"#).is_err());
        assert!(split(r#"{"items":[]}{}"#).is_err());
        assert!(split(r#"{"apiVersion": v1, "items":[]}"#).is_err());
        assert_eq!(
            split(r#"{"items":[{"a":1},{"b":2}], "kind": "List"} "#)
                .unwrap()
                .len(),
            2
        );
    }

    #[test]
    fn elements_split_across_chunks() {
        // Strings longer than a chunk, with an escape right at a chunk's end.
        let long = "x".repeat(CHUNK - 20);
        let text = format!(
            r#"{{"items": [{{"name": "{long}\"\\"}}, {{"name": "{long}"}}], "kind": "List"}}"#
        );
        for shift in 0..24 {
            let padded = format!("{}{text}", " ".repeat(shift));
            let items = split(&padded).unwrap();
            assert_eq!(items.len(), 2, "shift {shift}");
            assert!(items[0].ends_with(r#"\"\\"}"#));
        }
    }
}
