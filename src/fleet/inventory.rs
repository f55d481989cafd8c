//! Inventory formats: what a fleet says it runs.
//!
//! - `kubectl get nodes -o json`: each node's `status.nodeInfo.osImage`
//!   (`Bottlerocket OS 1.14.1 (aws-k8s-1.27)`) and `status.nodeInfo.architecture`
//!   (`amd64`/`arm64`): the version the host itself reports.
//! - `aws ec2 describe-instances`: each instance's `ImageId`, the AMI it was *launched* from; an
//!   instance updated in place keeps it, so a verdict from it rests on the launch AMI.
//! - CSV `name,variant,arch,version` (a header line is optional): what the operator declares.
//!
//! Errors name the file, and the item and field (`items[3].status.nodeInfo.osImage`) or line.

use crate::error::{Error, Result};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;
use std::io::Read;
use std::path::Path;

/// Largest kubectl node list read from a file: it is read as a stream, with flat memory.
pub const MAX_FILE: u64 = 2 << 30;

/// Largest inventory read whole: an EC2 or CSV inventory, or one from standard input.
pub const MAX_WHOLE: u64 = 256 << 20;

/// Largest file read again to say what is wrong with it when it does not read cleanly; a larger
/// one is described by the first error the stream met.
pub const MAX_DIAGNOSED: u64 = 64 << 20;

/// An inventory format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// The JSON of `kubectl get nodes -o json`.
    Kubectl,
    /// The JSON of `aws ec2 describe-instances`.
    Ec2,
    /// CSV: name,variant,arch,version.
    Csv,
}

/// What a node's version rests on.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Evidence {
    /// The OS version the node's kubelet reports (`osImage`).
    OsImage,
    /// The AMI the instance was launched from; the OS may have been updated in place since.
    LaunchAmi,
    /// A version the operator's CSV declares.
    Declared,
}

/// One node or instance as an inventory describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// Node name, instance id (with its Name tag), or the CSV's name.
    pub name: String,
    /// What its version rests on.
    pub evidence: Evidence,
    /// The variant, when known.
    pub variant: Option<String>,
    /// The architecture as given (`amd64`, `arm64`, `x86_64`, `aarch64`).
    pub arch: Option<String>,
    /// The version as given (`1.14.1`, or a build version `1.14.1-abcdef01`).
    pub version: Option<String>,
    /// The OS as reported when it is not Bottlerocket (`Amazon Linux 2`).
    pub other_os: Option<String>,
    /// The launch AMI (EC2).
    pub image_id: Option<String>,
    /// The region (EC2, from the availability zone).
    pub region: Option<String>,
}

/// Detect the format of an inventory from its first bytes and keys.
pub fn detect(bytes: &[u8]) -> Option<Format> {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace())?;
    if *first != b'{' {
        return Some(Format::Csv);
    }
    // Look at the top-level keys only.
    #[derive(Deserialize)]
    struct Top<'a> {
        #[serde(borrow, rename = "Reservations")]
        reservations: Option<&'a RawValue>,
        #[serde(borrow)]
        items: Option<&'a RawValue>,
        kind: Option<String>,
    }
    let top: Top = serde_json::from_slice(bytes).ok()?;
    if top.reservations.is_some() {
        Some(Format::Ec2)
    } else if top.items.is_some() || top.kind.as_deref() == Some("Node") {
        Some(Format::Kubectl)
    } else {
        None
    }
}

/// Read an inventory file (`-` for stdin), in the format given or detected. A kubectl list in a
/// file is read as a stream (up to [`MAX_FILE`]); the other formats and standard input are read
/// whole (up to [`MAX_WHOLE`]); a UTF-8 byte order mark is skipped.
pub fn read(path: &Path, format: Option<Format>) -> Result<(Format, Vec<Node>)> {
    let invalid = |message: String| Error::Invalid {
        what: "inventory",
        path: path.display().to_string(),
        message,
    };
    let read_error = |source| Error::Read {
        what: "inventory",
        path: path.to_owned(),
        source,
    };
    // Only a regular file is streamed: a pipe (`<(kubectl ...)`) cannot be read a second time.
    let regular = path.as_os_str() != "-" && std::fs::metadata(path).is_ok_and(|m| m.is_file());
    if !regular {
        let bytes = crate::source::read_limited(path, MAX_WHOLE, "inventory")?;
        let bytes = crate::source::without_bom(&bytes);
        return parse_as(format, bytes).map_err(invalid);
    }
    let mut file = std::fs::File::open(path).map_err(read_error)?;
    let mut head = Vec::with_capacity(4096);
    (&mut file)
        .take(4096)
        .read_to_end(&mut head)
        .map_err(read_error)?;
    let whole_file = head.len() < 4096;
    let head = crate::source::without_bom(&head).to_vec();
    let given = format;
    let format = given.unwrap_or_else(|| guess(&head));
    if format != Format::Kubectl {
        if format == Format::Csv {
            // A file that is no CSV at all (a disk image) fails on its first line, unread.
            csv_first_line(&head, whole_file).map_err(invalid)?;
        }
        let bytes = crate::source::read_limited(path, MAX_WHOLE, "inventory")?;
        return parse_as(given, crate::source::without_bom(&bytes)).map_err(invalid);
    }
    let stream = std::io::Cursor::new(head).chain(file);
    let streamed = match super::stream::items(stream, MAX_FILE, kubectl_item) {
        Ok(nodes) => return Ok((Format::Kubectl, nodes)),
        Err(e) => e,
    };
    // Not a clean list (a single Node, an EC2 list, an error): a file small enough is read again
    // whole to say which item and field are wrong; a larger one is described by the stream.
    let small = std::fs::metadata(path).is_ok_and(|m| m.len() <= MAX_DIAGNOSED);
    if !small {
        return Err(invalid(streamed));
    }
    let bytes = crate::source::read_limited(path, MAX_DIAGNOSED, "inventory")?;
    let bytes = crate::source::without_bom(&bytes);
    parse_as(given, bytes).map_err(invalid)
}

/// The format the first bytes of an inventory suggest: CSV unless it starts as a JSON object;
/// an EC2 list when `Reservations` is among them; else a kubectl list.
fn guess(head: &[u8]) -> Format {
    match head.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') if head.windows(14).any(|w| w == b"\"Reservations\"") => Format::Ec2,
        Some(b'{') => Format::Kubectl,
        _ => Format::Csv,
    }
}

/// Check the first line of a CSV inventory (in its first bytes), so that a file that is not one
/// is refused before it is read whole.
fn csv_first_line(head: &[u8], whole_file: bool) -> std::result::Result<(), String> {
    let end = head.iter().position(|b| *b == b'\n').unwrap_or(head.len());
    let first = &head[..end];
    if end == head.len() && !whole_file {
        // One line longer than the head: no inventory line is that long.
        return Err("line 1: longer than 4096 bytes; not a CSV inventory".to_owned());
    }
    csv(first).map(|_| ())
}

/// Parse an inventory in the format given, else in the one its content shows.
fn parse_as(
    given: Option<Format>,
    bytes: &[u8],
) -> std::result::Result<(Format, Vec<Node>), String> {
    match given {
        Some(f) => Ok((f, parse(f, bytes)?)),
        None => detect_and_parse(bytes),
    }
}

/// Parse an inventory of unknown format. A large node list is read in one pass: the format that
/// the first bytes suggest is tried first, and only when no format reads cleanly is the file
/// examined again to say what is wrong with it.
pub fn detect_and_parse(bytes: &[u8]) -> std::result::Result<(Format, Vec<Node>), String> {
    let Some(first) = bytes.iter().find(|b| !b.is_ascii_whitespace()) else {
        return Err("empty".to_owned());
    };
    if *first != b'{' {
        return Ok((Format::Csv, csv(bytes)?));
    }
    let head = &bytes[..bytes.len().min(4096)];
    let ec2_first = head.windows(14).any(|w| w == b"\"Reservations\"");
    let order = if ec2_first {
        [Format::Ec2, Format::Kubectl]
    } else {
        [Format::Kubectl, Format::Ec2]
    };
    for f in order {
        if let Ok(nodes) = parse(f, bytes) {
            return Ok((f, nodes));
        }
    }
    match detect(bytes) {
        Some(f) => Err(parse(f, bytes).err().unwrap_or_default()),
        None => Err(match serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
            Err(e) => format!("not JSON: {e}"),
            Ok(_) => "not a kubectl node list, an EC2 instance list, or a CSV; name the format with --inventory-format".to_owned(),
        }),
    }
}

/// Parse an inventory's bytes in a format; the error names the item and field.
pub fn parse(format: Format, bytes: &[u8]) -> std::result::Result<Vec<Node>, String> {
    match format {
        Format::Kubectl => kubectl(bytes),
        Format::Ec2 => ec2(bytes),
        Format::Csv => csv(bytes),
    }
}

/// A string field, moved out of the parsed value; the field's name is made only for an error.
fn text(
    v: &Option<Value>,
    field: impl FnOnce() -> String,
) -> std::result::Result<Option<String>, String> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(format!("{}: expected a string, found {other}", field())),
    }
}

/// As [`text`], taking the value.
fn take_text(
    v: Option<Value>,
    field: impl FnOnce() -> String,
) -> std::result::Result<Option<String>, String> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(format!("{}: expected a string, found {other}", field())),
    }
}

/// Take `Bottlerocket OS 1.14.1 (aws-k8s-1.27)` apart into version and variant.
pub fn parse_os_image(os_image: &str) -> Option<(String, String)> {
    let rest = os_image.trim().strip_prefix("Bottlerocket OS ")?;
    let (version, variant) = rest.split_once(' ')?;
    let variant = variant.trim().strip_prefix('(')?.strip_suffix(')')?;
    (!version.is_empty() && !variant.is_empty()).then(|| (version.to_owned(), variant.to_owned()))
}

fn kubectl(bytes: &[u8]) -> std::result::Result<Vec<Node>, String> {
    // One pass, split and parsed on two threads; only when that fails, a second, item by item,
    // to say which item and field are wrong (or to read a single `Node` document).
    super::stream::items(bytes, u64::MAX, kubectl_item).or_else(|_| kubectl_diagnose(bytes))
}

/// One element of a kubectl list.
fn kubectl_item(i: usize, bytes: &[u8]) -> std::result::Result<Node, String> {
    let item: Item = serde_json::from_slice(bytes).map_err(|e| format!("items[{i}]: {e}"))?;
    kubectl_node(i, item)
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Item {
    metadata: Meta,
    status: Status,
}
#[derive(Deserialize, Default)]
#[serde(default)]
struct Meta {
    name: Option<Value>,
}
#[derive(Deserialize, Default)]
#[serde(default)]
struct Status {
    #[serde(rename = "nodeInfo")]
    node_info: Info,
}
#[derive(Deserialize, Default)]
#[serde(default)]
struct Info {
    #[serde(rename = "osImage")]
    os_image: Option<Value>,
    architecture: Option<Value>,
}

fn kubectl_node(i: usize, item: Item) -> std::result::Result<Node, String> {
    let field = |f: &str| format!("items[{i}].{f}");
    let name = take_text(item.metadata.name, || field("metadata.name"))?
        .ok_or_else(|| format!("{}: missing", field("metadata.name")))?;
    let os = take_text(item.status.node_info.os_image, || {
        field("status.nodeInfo.osImage")
    })?
    .ok_or_else(|| format!("{}: missing", field("status.nodeInfo.osImage")))?;
    let arch = take_text(item.status.node_info.architecture, || {
        field("status.nodeInfo.architecture")
    })?;
    let (version, variant, other_os) = match parse_os_image(&os) {
        Some((v, var)) => (Some(v), Some(var), None),
        // Bottlerocket, but not in the form every variant reports: judged unchecked, not
        // "not Bottlerocket".
        None if os.trim_start().starts_with("Bottlerocket") => {
            (os.split_whitespace().nth(2).map(str::to_owned), None, None)
        }
        None => (None, None, Some(os)),
    };
    Ok(Node {
        name,
        evidence: Evidence::OsImage,
        variant,
        arch,
        version,
        other_os,
        image_id: None,
        region: None,
    })
}

fn kubectl_diagnose(bytes: &[u8]) -> std::result::Result<Vec<Node>, String> {
    #[derive(Deserialize)]
    struct List<'a> {
        #[serde(borrow)]
        items: Option<Vec<&'a RawValue>>,
        kind: Option<String>,
    }
    let list: List = serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
    let items: Vec<&RawValue> = match (list.items, list.kind.as_deref()) {
        (Some(items), _) => items,
        (None, Some("Node")) => vec![serde_json::from_slice(bytes).map_err(|e| e.to_string())?],
        _ => {
            return Err(
                "items: missing; expected the output of `kubectl get nodes -o json`".to_owned(),
            )
        }
    };
    let mut nodes = Vec::with_capacity(items.len());
    for (i, raw) in items.into_iter().enumerate() {
        let item: Item = serde_json::from_str(raw.get()).map_err(|e| format!("items[{i}]: {e}"))?;
        nodes.push(kubectl_node(i, item)?);
    }
    Ok(nodes)
}

/// The region of an availability zone: `us-west-2a` -> `us-west-2`, `us-gov-west-1b` ->
/// `us-gov-west-1`, a local zone `us-west-2-lax-1a` -> `us-west-2`.
pub fn region_of_zone(zone: &str) -> Option<String> {
    let mut parts = Vec::new();
    for part in zone.split('-') {
        if part.starts_with(|c: char| c.is_ascii_digit()) {
            let digits: String = part.chars().take_while(char::is_ascii_digit).collect();
            parts.push(digits);
            return (parts.len() >= 3).then(|| parts.join("-"));
        }
        parts.push(part.to_owned());
    }
    None
}

fn ec2(bytes: &[u8]) -> std::result::Result<Vec<Node>, String> {
    #[derive(Deserialize)]
    struct Top<'a> {
        #[serde(borrow, rename = "Reservations")]
        reservations: Option<Vec<&'a RawValue>>,
    }
    #[derive(Deserialize, Default)]
    #[serde(default)]
    struct Reservation<'a> {
        #[serde(borrow, rename = "Instances")]
        instances: Vec<&'a RawValue>,
    }
    #[derive(Deserialize, Default)]
    #[serde(default, rename_all = "PascalCase")]
    struct Instance {
        instance_id: Option<Value>,
        image_id: Option<Value>,
        architecture: Option<Value>,
        placement: Option<Placement>,
        state: Option<State>,
        tags: Option<Vec<Tag>>,
    }
    #[derive(Deserialize, Default)]
    #[serde(default, rename_all = "PascalCase")]
    struct Placement {
        availability_zone: Option<Value>,
    }
    #[derive(Deserialize, Default)]
    #[serde(default, rename_all = "PascalCase")]
    struct State {
        name: Option<Value>,
    }
    #[derive(Deserialize, Default)]
    #[serde(default, rename_all = "PascalCase")]
    struct Tag {
        key: Option<Value>,
        value: Option<Value>,
    }
    let top: Top = serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
    let reservations = top.reservations.ok_or_else(|| {
        "Reservations: missing; expected the output of `aws ec2 describe-instances`".to_owned()
    })?;
    let mut nodes = Vec::new();
    for (r, raw) in reservations.into_iter().enumerate() {
        let res: Reservation =
            serde_json::from_str(raw.get()).map_err(|e| format!("Reservations[{r}]: {e}"))?;
        for (i, raw) in res.instances.into_iter().enumerate() {
            let field = |f: &str| format!("Reservations[{r}].Instances[{i}].{f}");
            let inst: Instance = serde_json::from_str(raw.get())
                .map_err(|e| format!("Reservations[{r}].Instances[{i}]: {e}"))?;
            let state = text(&inst.state.as_ref().and_then(|s| s.name.clone()), || {
                field("State.Name")
            })?;
            if matches!(state.as_deref(), Some("terminated" | "shutting-down")) {
                continue;
            }
            let id = text(&inst.instance_id, || field("InstanceId"))?
                .ok_or_else(|| format!("{}: missing", field("InstanceId")))?;
            let image_id = text(&inst.image_id, || field("ImageId"))?
                .ok_or_else(|| format!("{}: missing", field("ImageId")))?;
            let zone = text(
                &inst
                    .placement
                    .as_ref()
                    .and_then(|p| p.availability_zone.clone()),
                || field("Placement.AvailabilityZone"),
            )?;
            let region = match zone {
                Some(z) => Some(region_of_zone(&z).ok_or_else(|| {
                    format!(
                        "{}: {z:?} is not an availability zone",
                        field("Placement.AvailabilityZone")
                    )
                })?),
                None => None,
            };
            let mut name = id.clone();
            for (t, tag) in inst.tags.iter().flatten().enumerate() {
                let key = text(&tag.key, || field(&format!("Tags[{t}].Key")))?;
                if key.as_deref() == Some("Name") {
                    if let Some(v) = text(&tag.value, || field(&format!("Tags[{t}].Value")))? {
                        name = format!("{id} ({v})");
                    }
                }
            }
            nodes.push(Node {
                name,
                evidence: Evidence::LaunchAmi,
                variant: None,
                arch: text(&inst.architecture, || field("Architecture"))?,
                version: None,
                other_os: None,
                image_id: Some(image_id),
                region,
            });
        }
    }
    Ok(nodes)
}

/// Split one CSV line into fields: commas, with `"..."` quoting (`""` inside for a quote).
fn csv_fields(line: &str) -> std::result::Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    let mut was_quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.trim().is_empty() && !was_quoted => {
                field.clear();
                quoted = true;
                was_quoted = true;
            }
            (false, ',') => {
                fields.push(std::mem::take(&mut field).trim().to_owned());
                was_quoted = false;
            }
            (false, c) => field.push(c),
        }
    }
    if quoted {
        return Err("a quoted field is not closed".to_owned());
    }
    fields.push(field.trim().to_owned());
    Ok(fields)
}

fn csv(bytes: &[u8]) -> std::result::Result<Vec<Node>, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| format!("not UTF-8 text: {e}"))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut nodes = Vec::new();
    const COLUMNS: [&str; 4] = ["name", "variant", "arch", "version"];
    let mut header = false;
    for (n, line) in text.lines().enumerate() {
        let line_no = n + 1;
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let fields = csv_fields(line).map_err(|e| format!("line {line_no}: {e}"))?;
        if nodes.is_empty()
            && !header
            && fields
                .iter()
                .map(|f| f.to_ascii_lowercase())
                .eq(COLUMNS.iter().map(|c| (*c).to_owned()))
        {
            header = true;
            continue;
        }
        if fields.len() != 4 {
            return Err(format!(
                "line {line_no}: {} fields; expected 4: name,variant,arch,version",
                fields.len()
            ));
        }
        for (value, column) in fields.iter().zip(COLUMNS) {
            if value.is_empty() && column != "version" {
                return Err(format!("line {line_no}: {column}: empty"));
            }
            if value.chars().any(char::is_control) {
                return Err(format!(
                    "line {line_no}: {column}: {value:?} holds a control character"
                ));
            }
        }
        // What an operator declares is checked here, where the line can be named, rather than
        // judged later as a node of unknown version.
        if crate::source::bottlerocket::Arch::parse(&fields[2]).is_err() {
            return Err(format!(
                "line {line_no}: arch: {:?} is not x86_64, aarch64, amd64 or arm64",
                fields[2]
            ));
        }
        if !fields[3].is_empty() && crate::ssm::check::split_build(&fields[3]).is_none() {
            return Err(format!(
                "line {line_no}: version: {:?} is not a Bottlerocket version such as 1.26.1 or 1.26.1-c41a8f09",
                fields[3]
            ));
        }
        let mut f = fields.into_iter();
        let (name, variant, arch, version) = (f.next(), f.next(), f.next(), f.next());
        nodes.push(Node {
            name: name.unwrap_or_default(),
            evidence: Evidence::Declared,
            variant,
            arch,
            version: version.filter(|v| !v.is_empty()),
            other_os: None,
            image_id: None,
            region: None,
        });
    }
    if nodes.is_empty() && !header {
        // Not even a header: more likely a failed export than an empty fleet.
        return Err(
            "empty: expected the header name,variant,arch,version (alone for an empty fleet) and a line per node"
                .to_owned(),
        );
    }
    Ok(nodes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_images() {
        assert_eq!(
            parse_os_image("Bottlerocket OS 1.14.1 (aws-k8s-1.27)"),
            Some(("1.14.1".into(), "aws-k8s-1.27".into()))
        );
        assert_eq!(
            parse_os_image("Bottlerocket OS 1.20.3 (aws-k8s-1.29-nvidia)")
                .unwrap()
                .1,
            "aws-k8s-1.29-nvidia"
        );
        assert_eq!(parse_os_image("Amazon Linux 2"), None);
        assert_eq!(parse_os_image("Bottlerocket OS 1.2.3"), None);
    }

    #[test]
    fn zones() {
        assert_eq!(region_of_zone("us-west-2a").as_deref(), Some("us-west-2"));
        assert_eq!(
            region_of_zone("us-gov-west-1b").as_deref(),
            Some("us-gov-west-1")
        );
        assert_eq!(
            region_of_zone("us-west-2-lax-1a").as_deref(),
            Some("us-west-2")
        );
        assert_eq!(region_of_zone("nowhere"), None);
    }

    #[test]
    fn csv_quotes_and_errors() {
        assert_eq!(
            csv_fields(r#"a,"b,c", "d""e" ,"#).unwrap(),
            vec!["a", "b,c", "d\"e", ""]
        );
        let nodes =
            csv(b"name,variant,arch,version\nn1,aws-ecs-2,x86_64,1.2.0\nn2,aws-ecs-2,arm64,\n")
                .unwrap();
        assert_eq!(nodes.len(), 2);
        assert_eq!(nodes[1].version, None);
        assert_eq!(
            csv(b"n1,aws-ecs-2,x86_64\n").unwrap_err(),
            "line 1: 3 fields; expected 4: name,variant,arch,version"
        );
        assert_eq!(
            csv(b"n1,,x86_64,1.0.0\n").unwrap_err(),
            "line 1: variant: empty"
        );
        assert!(csv(b"\"n1,a,b,c\n").unwrap_err().contains("not closed"));
        assert_eq!(
            csv(b"n1,aws-ecs-2,sparc,1.0.0\n").unwrap_err(),
            "line 1: arch: \"sparc\" is not x86_64, aarch64, amd64 or arm64"
        );
        assert!(
            csv(b"name,variant,arch,version\nname,variant,arch,version\n")
                .unwrap_err()
                .starts_with("line 2: arch:")
        );
        assert!(csv(b"n1,aws-ecs-2,x86_64,1.x\n")
            .unwrap_err()
            .starts_with("line 1: version: \"1.x\" is not a Bottlerocket version"));
        assert!(csv(b"n\x001,aws-ecs-2,x86_64,1.0.0\n")
            .unwrap_err()
            .contains("control character"));
        assert!(csv(b"# only a comment\n").unwrap_err().starts_with("empty"));
        assert_eq!(csv(b"name,variant,arch,version\n").unwrap().len(), 0);
    }

    #[test]
    fn detection() {
        assert_eq!(
            detect(br#"{"apiVersion":"v1","items":[],"kind":"List"}"#),
            Some(Format::Kubectl)
        );
        assert_eq!(detect(br#"{"Reservations":[]}"#), Some(Format::Ec2));
        assert_eq!(detect(b"name,variant,arch,version\n"), Some(Format::Csv));
        assert_eq!(detect(br#"{"other":1}"#), None);
    }

    #[test]
    fn kubectl_errors_name_the_field() {
        let e = kubectl(
            br#"{"items":[{"metadata":{"name":"a"},"status":{"nodeInfo":{"osImage":7}}}]}"#,
        )
        .unwrap_err();
        assert!(
            e.starts_with("items[0].status.nodeInfo.osImage: expected a string"),
            "{e}"
        );
        let e = kubectl(br#"{"items":[{"metadata":{"name":"a"}}]}"#).unwrap_err();
        assert_eq!(e, "items[0].status.nodeInfo.osImage: missing");
        let e = kubectl(br#"{"items":[{"metadata":5}]}"#).unwrap_err();
        assert!(e.starts_with("items[0]:"), "{e}");
    }
}
