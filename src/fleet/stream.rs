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
    let mut state = ScanState::new();
    loop {
        state.make_room(&mut hand_over)?;
        if state.read_chunk(&mut reader, max)? == 0 {
            break;
        }
        state.scan_buffer()?;
    }
    state.finish(&mut hand_over)
}

/// A scan under way: the buffer, where the scanner is in it, the elements completed in it, and
/// the list around the elements.
struct ScanState {
    buf: Vec<u8>,
    s: Scanner,
    /// The next byte to scan, relative to the buffer.
    pos: usize,
    /// Bytes read in all.
    total: u64,
    /// Completed elements of `buf`, handed over with it (no copy) once it is scanned.
    ranges: Vec<(usize, usize)>,
    /// The index of the first element in `ranges`.
    first: usize,
    /// Elements completed so far.
    count: usize,
    /// Everything outside the elements, each element replaced by `{}`: checked as JSON at the
    /// end, so that the list around the elements (commas, brackets, other keys) is as strict as
    /// they are.
    skeleton: Vec<u8>,
    /// Start of what is not yet in `skeleton`, relative to the buffer.
    skel_from: usize,
}

/// The error for an `items` list that is not a list.
fn not_a_list() -> ListError {
    ListError::from(FieldError::new("items", "not a list"))
}

impl ScanState {
    /// A scan before the first byte.
    fn new() -> Self {
        ScanState {
            buf: Vec::with_capacity(CHUNK * 2),
            s: Scanner {
                phase: Phase::Top,
                depth: 0,
                in_string: false,
                escape: false,
                key_start: None,
                items_key: false,
                item_start: 0,
            },
            pos: 0,
            total: 0,
            ranges: Vec::new(),
            first: 0,
            count: 0,
            skeleton: Vec::new(),
            skel_from: 0,
        }
    }

    /// Drop from the buffer what is scanned and no longer needed, handing over the elements
    /// completed in it.
    fn make_room(
        &mut self,
        hand_over: &mut impl FnMut(usize, Vec<u8>, Vec<(usize, usize)>) -> Result<(), Stopped>,
    ) -> Result<(), Stopped> {
        if self.s.phase != Phase::Item {
            self.skeleton
                .extend_from_slice(&self.buf[self.skel_from..self.pos]);
            self.skel_from = self.pos;
        }
        // Keep only what is still needed: the current element, or nothing.
        let keep_from = match self.s.phase {
            Phase::Item => self.s.item_start,
            // A key may be split between chunks.
            Phase::Top => self.s.key_start.map_or(self.pos, |k| k.min(self.pos)),
            _ => self.pos,
        };
        if self.ranges.is_empty() {
            self.buf.drain(..keep_from);
        } else {
            let mut next = Vec::with_capacity(CHUNK * 2);
            next.extend_from_slice(&self.buf[keep_from..]);
            let done = std::mem::replace(&mut self.buf, next);
            hand_over(self.first, done, std::mem::take(&mut self.ranges))?;
            self.first = self.count;
        }
        self.pos -= keep_from;
        self.skel_from -= keep_from.min(self.skel_from);
        self.s.item_start -= keep_from.min(self.s.item_start);
        if let Some(k) = self.s.key_start.as_mut() {
            *k = k.saturating_sub(keep_from);
        }
        Ok(())
    }

    /// Read the next chunk onto the end of the buffer, refusing more than `max` bytes in all;
    /// how many bytes were read (0 at the end of the text).
    fn read_chunk(&mut self, reader: &mut impl Read, max: u64) -> Result<usize, ListError> {
        let n = reader
            .take(CHUNK as u64)
            .read_to_end(&mut self.buf)
            .map_err(ListError::Read)?;
        self.total += n as u64;
        if self.total > max {
            return Err(ListError::TooLarge(max));
        }
        Ok(n)
    }

    /// Scan the buffer from where the scan stopped to its end.
    fn scan_buffer(&mut self) -> Result<(), ListError> {
        while self.pos < self.buf.len() {
            if self.s.escape {
                self.s.escape = false;
                self.pos += 1;
            } else if self.s.in_string {
                self.skip_string();
            } else if self.s.phase == Phase::Item && self.s.depth > 2 {
                // Inside an element: the tight loop, until it closes or the buffer ends.
                self.skip_item();
            } else {
                let b = self.buf[self.pos];
                self.structural(b)?;
                self.pos += 1;
            }
        }
        Ok(())
    }

    /// In a string: on to its closing quote (noting whether it closes the `items` key), past an
    /// escaped byte, or to the end of the buffer.
    fn skip_string(&mut self) {
        // Jump to the next quote or backslash.
        match memchr::memchr2(b'"', b'\\', &self.buf[self.pos..]) {
            None => {
                self.pos = self.buf.len();
                return;
            }
            Some(i) => self.pos += i,
        }
        if self.buf[self.pos] == b'\\' {
            // Skip the escaped byte too (it may be in the next chunk).
            if self.pos + 1 < self.buf.len() {
                self.pos += 2;
            } else {
                self.s.escape = true;
                self.pos += 1;
            }
            return;
        }
        self.s.in_string = false;
        if self.s.depth == 1 && self.s.phase == Phase::Top {
            let pos = self.pos;
            self.s.items_key = self
                .s
                .key_start
                .is_some_and(|k| &self.buf[k..pos] == b"items");
        }
        self.s.key_start = None;
        self.pos += 1;
    }

    /// Inside an element: on to the brace that closes it, or to the end of the buffer.
    fn skip_item(&mut self) {
        match skip_in_item(&self.buf, &mut self.pos, &mut self.s) {
            Some(end) => {
                self.end_item(end);
                self.pos = end + 1;
            }
            None => self.pos = self.buf.len(),
        }
    }

    /// The current element ends with the brace at `end`: note it, and go on between elements.
    fn end_item(&mut self, end: usize) {
        self.ranges.push((self.s.item_start, end + 1));
        self.count += 1;
        self.s.phase = Phase::Between;
        self.skel_from = end + 1;
    }

    /// A byte `b` outside strings and elements: follow the keys and nesting to the `items` list
    /// and its elements, refusing what cannot be there.
    fn structural(&mut self, b: u8) -> Result<(), ListError> {
        match b {
            b'"' => {
                if self.s.phase == Phase::Between {
                    return Err(self.not_an_object());
                }
                self.s.in_string = true;
                self.s.key_start = Some(self.pos + 1);
            }
            b':' if self.s.phase == Phase::Top && self.s.depth == 1 && self.s.items_key => {
                self.s.phase = Phase::AfterKey;
            }
            b'[' | b'{' => self.open(b)?,
            b']' | b'}' => self.close()?,
            b',' | b' ' | b'\n' | b'\r' | b'\t' => {}
            _ => {
                if self.s.phase == Phase::AfterKey {
                    return Err(not_a_list());
                }
                if self.s.phase == Phase::Between {
                    return Err(self.not_an_object());
                }
                if self.s.depth == 1 && self.s.phase == Phase::Top {
                    self.s.items_key = false;
                }
            }
        }
        Ok(())
    }

    /// An opening bracket or brace `b`: the `items` list, or one of its elements, may begin.
    fn open(&mut self, b: u8) -> Result<(), ListError> {
        if self.s.phase == Phase::AfterKey {
            if b != b'[' {
                return Err(not_a_list());
            }
            self.s.phase = Phase::Between;
        } else if self.s.phase == Phase::Between {
            if b != b'{' {
                return Err(self.not_an_object());
            }
            self.s.phase = Phase::Item;
            self.s.item_start = self.pos;
            self.skeleton
                .extend_from_slice(&self.buf[self.skel_from..self.pos]);
            self.skeleton.extend_from_slice(b"{}");
            self.skel_from = self.pos;
        }
        self.s.depth += 1;
        Ok(())
    }

    /// A closing bracket or brace: an element, or the `items` list, may end.
    fn close(&mut self) -> Result<(), ListError> {
        self.s.depth = self.s.depth.checked_sub(1).ok_or(ListError::Unbalanced)?;
        if self.s.phase == Phase::Item && self.s.depth == 2 {
            let end = self.pos;
            self.end_item(end);
        } else if self.s.phase == Phase::Between && self.s.depth == 1 {
            self.s.phase = Phase::Done;
        }
        Ok(())
    }

    /// The error for a value in `items` that is not an object: the next element.
    fn not_an_object(&self) -> ListError {
        ListError::from(FieldError::new(
            format!("items[{}]", self.count),
            "not an object",
        ))
    }

    /// At the end of the text: refuse a list that is incomplete, or whose skeleton is not JSON;
    /// then hand over the last elements.
    fn finish(
        mut self,
        hand_over: &mut impl FnMut(usize, Vec<u8>, Vec<(usize, usize)>) -> Result<(), Stopped>,
    ) -> Result<(), ScanError> {
        if self.s.phase != Phase::Done || self.s.depth != 0 || self.s.in_string {
            return Err(ListError::Incomplete.into());
        }
        self.skeleton
            .extend_from_slice(&self.buf[self.skel_from.min(self.buf.len())..]);
        serde_json::from_slice::<serde::de::IgnoredAny>(&self.skeleton)
            .map_err(ListError::NotJson)?;
        if !self.ranges.is_empty() {
            hand_over(self.first, self.buf, self.ranges)?;
        }
        Ok(())
    }
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
