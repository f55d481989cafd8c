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

use crate::error::{Error, FieldError, Result};
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

/// What is wrong with an inventory: where in it, and why.
#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    /// Nothing but white space.
    #[error("empty")]
    Empty,
    /// Not JSON (and not CSV).
    #[error("not JSON: {0}")]
    NotJson(serde_json::Error),
    /// A CSV that is not text.
    #[error("not UTF-8 text: {0}")]
    NotUtf8(std::str::Utf8Error),
    /// JSON of none of the formats.
    #[error("not a kubectl node list, an EC2 instance list, or a CSV; name its format")]
    Unknown,
    /// A field of the JSON, by its path (`items[3].status.nodeInfo.osImage`).
    #[error(transparent)]
    Field(#[from] FieldError),
    /// A line of a CSV.
    #[error("line {line}: {why}")]
    Line {
        /// Its number, from 1.
        line: u64,
        /// What is wrong with it.
        why: LineError,
    },
    /// A CSV with neither a header nor a node.
    #[error("empty: expected the header name,variant,arch,version (alone for an empty fleet) and a line per node")]
    NoLines,
    /// The kubectl list as a stream.
    #[error(transparent)]
    Stream(#[from] super::stream::ListError),
    /// The thread the list is parsed on.
    #[error("{0}")]
    Thread(String),
}

/// What is wrong with a line of a CSV inventory.
#[derive(Debug, thiserror::Error)]
pub enum LineError {
    /// Not CSV (as the csv crate reads it).
    #[error("{0}")]
    Csv(String),
    /// Too long to be an inventory's line.
    #[error("longer than 4096 bytes; not a CSV inventory")]
    TooLong,
    /// Not four fields.
    #[error("{0} fields; expected 4: name,variant,arch,version")]
    Fields(usize),
    /// A field that may not be empty.
    #[error("{0}: empty")]
    Empty(&'static str),
    /// A field with a control character.
    #[error("{0}: {1:?} holds a control character")]
    Control(&'static str, String),
    /// Not an architecture.
    #[error("arch: {0:?} is not x86_64, aarch64, amd64 or arm64")]
    Arch(String),
    /// Not a Bottlerocket version.
    #[error("version: {0:?} is not a Bottlerocket version such as 1.26.1 or 1.26.1-c41a8f09")]
    Version(String),
}

impl From<super::stream::StreamError<InventoryError>> for InventoryError {
    fn from(e: super::stream::StreamError<InventoryError>) -> Self {
        use super::stream::StreamError;
        match e {
            StreamError::Element(e) => e,
            StreamError::List(e) => InventoryError::Stream(e),
            other => InventoryError::Thread(other.to_string()),
        }
    }
}

/// An inventory format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InventoryFormat {
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
    /// The account (EC2 read live).
    pub account: Option<String>,
    /// What EC2 says of the launch AMI (EC2 read live); `None` when its images were not
    /// described, as for an exported inventory.
    pub launch_image: Option<super::ami::LaunchImage>,
    /// The Kubernetes cluster it was read from (read live).
    pub cluster: Option<String>,
    /// What its cluster says of its updater (read live, when the update operator's shadows
    /// could be listed).
    pub updater: Option<super::update::Updater>,
}

/// Detect the format of an inventory from its first bytes and keys.
pub fn detect(bytes: &[u8]) -> Option<InventoryFormat> {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace())?;
    if *first != b'{' {
        return Some(InventoryFormat::Csv);
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
        Some(InventoryFormat::Ec2)
    } else if top.items.is_some() || top.kind.as_deref() == Some("Node") {
        Some(InventoryFormat::Kubectl)
    } else {
        None
    }
}

/// Read an inventory file (`-` for stdin), in the format given or detected. A kubectl list in a
/// file is read as a stream (up to [`MAX_FILE`]); the other formats and standard input are read
/// whole (up to [`MAX_WHOLE`]); a UTF-8 byte order mark is skipped.
pub fn read(path: &Path, format: Option<InventoryFormat>) -> Result<(InventoryFormat, Vec<Node>)> {
    let invalid = |e: InventoryError| Error::Invalid {
        what: "inventory",
        path: path.display().to_string(),
        message: e.to_string(),
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
    if format != InventoryFormat::Kubectl {
        if format == InventoryFormat::Csv {
            // A file that is no CSV at all (a disk image) fails on its first line, unread.
            csv_first_line(&head, whole_file).map_err(invalid)?;
        }
        let bytes = crate::source::read_limited(path, MAX_WHOLE, "inventory")?;
        return parse_as(given, crate::source::without_bom(&bytes)).map_err(invalid);
    }
    let stream = std::io::Cursor::new(head).chain(file);
    let streamed = match super::stream::items(stream, MAX_FILE, kubectl_item) {
        Ok(nodes) => return Ok((InventoryFormat::Kubectl, nodes)),
        Err(e) => InventoryError::from(e),
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
fn guess(head: &[u8]) -> InventoryFormat {
    match head.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') if head.windows(14).any(|w| w == b"\"Reservations\"") => InventoryFormat::Ec2,
        Some(b'{') => InventoryFormat::Kubectl,
        _ => InventoryFormat::Csv,
    }
}

/// Check the first line of a CSV inventory (in its first bytes), so that a file that is not one
/// is refused before it is read whole.
fn csv_first_line(head: &[u8], whole_file: bool) -> std::result::Result<(), InventoryError> {
    let end = head.iter().position(|b| *b == b'\n').unwrap_or(head.len());
    let first = &head[..end];
    if end == head.len() && !whole_file {
        // One line longer than the head: no inventory line is that long.
        return Err(InventoryError::Line {
            line: 1,
            why: LineError::TooLong,
        });
    }
    csv(first).map(|_| ())
}

/// Parse an inventory in the format given, else in the one its content shows.
fn parse_as(
    given: Option<InventoryFormat>,
    bytes: &[u8],
) -> std::result::Result<(InventoryFormat, Vec<Node>), InventoryError> {
    match given {
        Some(f) => Ok((f, parse(f, bytes)?)),
        None => detect_and_parse(bytes),
    }
}

/// Parse an inventory of unknown format. A large node list is read in one pass: the format that
/// the first bytes suggest is tried first, and only when no format reads cleanly is the file
/// examined again to say what is wrong with it.
pub fn detect_and_parse(
    bytes: &[u8],
) -> std::result::Result<(InventoryFormat, Vec<Node>), InventoryError> {
    let Some(first) = bytes.iter().find(|b| !b.is_ascii_whitespace()) else {
        return Err(InventoryError::Empty);
    };
    if *first != b'{' {
        return Ok((InventoryFormat::Csv, csv(bytes)?));
    }
    let head = &bytes[..bytes.len().min(4096)];
    let ec2_first = head.windows(14).any(|w| w == b"\"Reservations\"");
    let order = if ec2_first {
        [InventoryFormat::Ec2, InventoryFormat::Kubectl]
    } else {
        [InventoryFormat::Kubectl, InventoryFormat::Ec2]
    };
    for f in order {
        if let Ok(nodes) = parse(f, bytes) {
            return Ok((f, nodes));
        }
    }
    match detect(bytes).map(|f| parse(f, bytes)) {
        Some(Err(e)) => Err(e),
        Some(Ok(_)) | None => Err(
            match serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
                Err(e) => InventoryError::NotJson(e),
                Ok(_) => InventoryError::Unknown,
            },
        ),
    }
}

/// Parse an inventory's bytes in a format; the error names the item and field.
pub fn parse(
    format: InventoryFormat,
    bytes: &[u8],
) -> std::result::Result<Vec<Node>, InventoryError> {
    match format {
        InventoryFormat::Kubectl => kubectl(bytes),
        InventoryFormat::Ec2 => ec2(bytes),
        InventoryFormat::Csv => csv(bytes),
    }
}

/// What a JSON value is, for an error: never the value itself, which may be of any size.
fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A string field, moved out of the parsed value; the field's name is made only for an error.
fn text(
    v: &Option<Value>,
    field: impl FnOnce() -> String,
) -> std::result::Result<Option<String>, FieldError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(FieldError::new(
            field(),
            format!("expected a string, found {}", kind_of(other)),
        )),
    }
}

/// As [`text`], taking the value.
fn take_text(
    v: Option<Value>,
    field: impl FnOnce() -> String,
) -> std::result::Result<Option<String>, FieldError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(FieldError::new(
            field(),
            format!("expected a string, found {}", kind_of(&other)),
        )),
    }
}

/// Take `Bottlerocket OS 1.14.1 (aws-k8s-1.27)` apart into version and variant.
pub fn parse_os_image(os_image: &str) -> Option<(String, String)> {
    let rest = os_image.trim().strip_prefix("Bottlerocket OS ")?;
    let (version, variant) = rest.split_once(' ')?;
    let variant = variant.trim().strip_prefix('(')?.strip_suffix(')')?;
    (!version.is_empty() && !variant.is_empty()).then(|| (version.to_owned(), variant.to_owned()))
}

fn kubectl(bytes: &[u8]) -> std::result::Result<Vec<Node>, InventoryError> {
    // One pass, split and parsed on two threads; only when that fails, a second, item by item,
    // to say which item and field are wrong (or to read a single `Node` document).
    super::stream::items(bytes, u64::MAX, kubectl_item).or_else(|_| kubectl_diagnose(bytes))
}

/// One element of a kubectl list.
fn kubectl_item(i: usize, bytes: &[u8]) -> std::result::Result<Node, InventoryError> {
    let item: Item = serde_json::from_slice(bytes)
        .map_err(|e| FieldError::new(format!("items[{i}]"), e.to_string()))?;
    Ok(kubectl_node(i, item)?)
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
    labels: Labels,
}
/// The labels read: only those named (serde skips the others unread).
#[derive(Deserialize, Default)]
#[serde(default)]
struct Labels {
    #[serde(rename = "topology.kubernetes.io/region")]
    region: Option<Value>,
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

fn kubectl_node(i: usize, item: Item) -> std::result::Result<Node, FieldError> {
    let field = |f: &str| format!("items[{i}].{f}");
    let missing = |f: &str| FieldError::new(field(f), "missing");
    let name = take_text(item.metadata.name, || field("metadata.name"))?
        .ok_or_else(|| missing("metadata.name"))?;
    let os = take_text(item.status.node_info.os_image, || {
        field("status.nodeInfo.osImage")
    })?
    .ok_or_else(|| missing("status.nodeInfo.osImage"))?;
    let arch = take_text(item.status.node_info.architecture, || {
        field("status.nodeInfo.architecture")
    })?;
    let region = take_text(item.metadata.labels.region, || {
        field("metadata.labels.topology.kubernetes.io/region")
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
        region,
        account: None,
        launch_image: None,
        cluster: None,
        updater: None,
    })
}

/// An item of a page of the Kubernetes API's node list, parsed as far as it is read where the
/// page is parsed (on the task that fetched it), or why it could not be: said with its index,
/// as a kubectl list's item is, rather than failing the page.
pub struct KubernetesItem(std::result::Result<Item, String>);

impl<'de> Deserialize<'de> for KubernetesItem {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        // Borrowed from the page's bytes: the item is not copied before it is parsed.
        let raw: &'de RawValue = Deserialize::deserialize(d)?;
        Ok(KubernetesItem(
            serde_json::from_str(raw.get()).map_err(|e| e.to_string()),
        ))
    }
}

/// Item `i` of the Kubernetes API's node list, as a node of `cluster`: read as an element of a
/// kubectl list is, the error naming the item and field.
pub fn kubernetes_node(
    cluster: &str,
    i: usize,
    item: KubernetesItem,
) -> std::result::Result<Node, FieldError> {
    let parsed = item
        .0
        .map_err(|why| FieldError::new(format!("items[{i}]"), why))?;
    let mut node = kubectl_node(i, parsed)?;
    node.cluster = Some(cluster.to_owned());
    Ok(node)
}

fn kubectl_diagnose(bytes: &[u8]) -> std::result::Result<Vec<Node>, InventoryError> {
    #[derive(Deserialize)]
    struct List<'a> {
        #[serde(borrow)]
        items: Option<Vec<&'a RawValue>>,
        kind: Option<String>,
    }
    let list: List = serde_json::from_slice(bytes).map_err(InventoryError::NotJson)?;
    let items: Vec<&RawValue> = match (list.items, list.kind.as_deref()) {
        (Some(items), _) => items,
        (None, Some("Node")) => {
            vec![serde_json::from_slice(bytes).map_err(InventoryError::NotJson)?]
        }
        _ => {
            return Err(FieldError::new(
                "items",
                "missing; expected the output of `kubectl get nodes -o json`",
            )
            .into())
        }
    };
    let mut nodes = Vec::with_capacity(items.len());
    for (i, raw) in items.into_iter().enumerate() {
        let item: Item = serde_json::from_str(raw.get())
            .map_err(|e| FieldError::new(format!("items[{i}]"), e.to_string()))?;
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

fn ec2(bytes: &[u8]) -> std::result::Result<Vec<Node>, InventoryError> {
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
    let top: Top = serde_json::from_slice(bytes).map_err(InventoryError::NotJson)?;
    let reservations = top.reservations.ok_or_else(|| {
        FieldError::new(
            "Reservations",
            "missing; expected the output of `aws ec2 describe-instances`",
        )
    })?;
    let mut nodes = Vec::new();
    for (r, raw) in reservations.into_iter().enumerate() {
        let res: Reservation = serde_json::from_str(raw.get())
            .map_err(|e| FieldError::new(format!("Reservations[{r}]"), e.to_string()))?;
        for (i, raw) in res.instances.into_iter().enumerate() {
            let inst: Instance = serde_json::from_str(raw.get()).map_err(|e| {
                FieldError::new(format!("Reservations[{r}].Instances[{i}]"), e.to_string())
            })?;
            if let Some(node) = ec2_node(r, i, &inst)? {
                nodes.push(node);
            }
        }
    }
    Ok(nodes)
}

/// An instance of an EC2 instance list, as far as it is read.
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
/// An instance's placement.
#[derive(Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
struct Placement {
    availability_zone: Option<Value>,
}
/// An instance's state.
#[derive(Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
struct State {
    name: Option<Value>,
}
/// One of an instance's tags.
#[derive(Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
struct Tag {
    key: Option<Value>,
    value: Option<Value>,
}

/// Instance `i` of reservation `r` as a node, or `None` when it is terminated or shutting down.
fn ec2_node(r: usize, i: usize, inst: &Instance) -> std::result::Result<Option<Node>, FieldError> {
    let field = |f: &str| format!("Reservations[{r}].Instances[{i}].{f}");
    let state = text(&inst.state.as_ref().and_then(|s| s.name.clone()), || {
        field("State.Name")
    })?;
    if matches!(state.as_deref(), Some("terminated" | "shutting-down")) {
        return Ok(None);
    }
    let id = text(&inst.instance_id, || field("InstanceId"))?
        .ok_or_else(|| FieldError::new(field("InstanceId"), "missing"))?;
    let image_id = text(&inst.image_id, || field("ImageId"))?
        .ok_or_else(|| FieldError::new(field("ImageId"), "missing"))?;
    let zone = text(
        &inst
            .placement
            .as_ref()
            .and_then(|p| p.availability_zone.clone()),
        || field("Placement.AvailabilityZone"),
    )?;
    let region = match zone {
        Some(z) => Some(region_of_zone(&z).ok_or_else(|| {
            FieldError::new(
                field("Placement.AvailabilityZone"),
                format!("{z:?} is not an availability zone"),
            )
        })?),
        None => None,
    };
    let tags = inst.tags.as_deref().unwrap_or_default();
    let name = ec2_name(&id, tags, &field)?;
    Ok(Some(Node {
        name,
        evidence: Evidence::LaunchAmi,
        variant: None,
        arch: text(&inst.architecture, || field("Architecture"))?,
        version: None,
        other_os: None,
        image_id: Some(image_id),
        region,
        account: None,
        launch_image: None,
        cluster: None,
        updater: None,
    }))
}

/// An instance's name: its id `id`, with the value of its `Name` tag when it has one.
fn ec2_name(
    id: &str,
    tags: &[Tag],
    field: &dyn Fn(&str) -> String,
) -> std::result::Result<String, FieldError> {
    let mut name = id.to_owned();
    for (t, tag) in tags.iter().enumerate() {
        let key = text(&tag.key, || field(&format!("Tags[{t}].Key")))?;
        if key.as_deref() == Some("Name") {
            if let Some(v) = text(&tag.value, || field(&format!("Tags[{t}].Value")))? {
                name = format!("{id} ({v})");
            }
        }
    }
    Ok(name)
}

/// The columns of a CSV inventory, in order.
const COLUMNS: [&str; 4] = ["name", "variant", "arch", "version"];

/// A CSV inventory, read by the csv crate (quoting, `""` escapes, CRLF, comment lines): an
/// optional header line, then `name,variant,arch,version` a node, each field trimmed; the error
/// names the line.
fn csv(bytes: &[u8]) -> std::result::Result<Vec<Node>, InventoryError> {
    let text = std::str::from_utf8(bytes).map_err(InventoryError::NotUtf8)?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = ::csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .comment(Some(b'#'))
        .from_reader(text.as_bytes());
    // The line a record is on. The csv crate places a record where the previous one ended,
    // before the blank and comment lines it skipped: the line is the first after those.
    // Lines before a byte, counted once: records come in order, so each count goes on from the
    // last (counting from the start for every record would be quadratic in a large file).
    let mut counted = (0usize, 0usize);
    let mut line_at = |p: Option<&::csv::Position>| {
        let byte = p.map_or(0, |p| p.byte() as usize).min(text.len());
        if byte < counted.0 {
            counted = (0, 0);
        }
        counted.1 += memchr::memchr_iter(b'\n', &text.as_bytes()[counted.0..byte]).count();
        counted.0 = byte;
        let skipped = text[byte..]
            .split('\n')
            .take_while(|l| l.trim_end_matches('\r').is_empty() || l.starts_with('#'))
            .count();
        1 + (counted.1 + skipped) as u64
    };
    let mut nodes = Vec::new();
    let mut header = false;
    for record in reader.records() {
        let record = record.map_err(|e| InventoryError::Line {
            line: line_at(e.position()),
            why: LineError::Csv(e.to_string()),
        })?;
        let line = line_at(record.position());
        // Trimmed here: the csv crate's trimming drops the record's position.
        let record: Vec<&str> = record.iter().map(str::trim).collect();
        if record.iter().all(|f| f.is_empty()) {
            continue;
        }
        let is_header = record
            .iter()
            .map(|f| f.to_ascii_lowercase())
            .eq(COLUMNS.iter().map(|c| (*c).to_owned()));
        if is_header && nodes.is_empty() && !header {
            header = true;
            continue;
        }
        nodes.push(csv_node(&record).map_err(|why| InventoryError::Line { line, why })?);
    }
    if nodes.is_empty() && !header {
        // Not even a header: more likely a failed export than an empty fleet.
        return Err(InventoryError::NoLines);
    }
    Ok(nodes)
}

/// One node of a CSV inventory. What an operator declares is checked here, where the line can
/// be named, rather than judged later as a node of unknown version.
fn csv_node(record: &[&str]) -> std::result::Result<Node, LineError> {
    if record.len() != COLUMNS.len() {
        return Err(LineError::Fields(record.len()));
    }
    for (value, column) in record.iter().zip(COLUMNS) {
        if value.is_empty() && column != "version" {
            return Err(LineError::Empty(column));
        }
        if value.chars().any(char::is_control) {
            return Err(LineError::Control(column, (*value).to_owned()));
        }
    }
    let (name, variant, arch, version) = (record[0], record[1], record[2], record[3]);
    if crate::source::bottlerocket::Arch::parse(arch).is_err() {
        return Err(LineError::Arch(arch.to_owned()));
    }
    if !version.is_empty() && crate::ssm::check::split_build(version).is_none() {
        return Err(LineError::Version(version.to_owned()));
    }
    Ok(Node {
        name: name.to_owned(),
        evidence: Evidence::Declared,
        variant: Some(variant.to_owned()),
        arch: Some(arch.to_owned()),
        version: (!version.is_empty()).then(|| version.to_owned()),
        other_os: None,
        image_id: None,
        region: None,
        account: None,
        launch_image: None,
        cluster: None,
        updater: None,
    })
}

/// An instance as a node of the fleet: its version is its launch AMI's, from the image's name
/// when EC2 described it, else (for an AMI that is gone) from SSM's map.
pub fn node_of(
    instance: &super::ami::LiveInstance,
    images: &super::ami::Images,
    trust: &super::ami::ImageTrust,
) -> Node {
    let launch = instance.image_id.as_deref().and_then(|id| {
        super::ami::launch_image(images, &instance.account, &instance.region, id, trust)
    });
    let name = match &instance.name_tag {
        Some(tag) => format!("{} ({tag})", instance.instance_id),
        None => instance.instance_id.clone(),
    };
    let mut node = Node {
        name,
        evidence: Evidence::LaunchAmi,
        variant: None,
        arch: instance.architecture.clone(),
        version: None,
        other_os: None,
        image_id: instance.image_id.clone(),
        region: Some(instance.region.clone()),
        account: Some(instance.account.clone()),
        launch_image: launch.clone(),
        cluster: None,
        updater: None,
    };
    if let Some(super::ami::LaunchImage::Bottlerocket {
        variant,
        arch,
        version,
        ..
    }) = launch
    {
        node.variant = Some(variant);
        node.arch = Some(arch);
        node.version = Some(version);
    }
    node
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
    fn csv_quotes_crlf_and_comments() {
        let nodes = csv(b"\xef\xbb\xbfname,variant,arch,version\r\n# a comment\r\n\"n1, \"\"a\"\"\",aws-ecs-2,x86_64,1.2.0\r\n\r\nn2 , aws-ecs-2 ,arm64,\r\n")
            .unwrap();
        assert_eq!(nodes.len(), 2);
        assert_eq!(nodes[0].name, "n1, \"a\"");
        assert_eq!(nodes[1].name, "n2");
        assert_eq!(nodes[1].version, None);
        assert_eq!(csv(b"name,variant,arch,version\n").unwrap().len(), 0);
    }

    #[test]
    fn csv_errors_name_the_line() {
        // Each input, and the start of the error it gives.
        let cases: &[(&[u8], &str)] = &[
            (
                b"n1,aws-ecs-2,x86_64\n",
                "line 1: 3 fields; expected 4: name,variant,arch,version",
            ),
            (b"n1,,x86_64,1.0.0\n", "line 1: variant: empty"),
            (b"\"n1,a,b,c\n", "line 1: 1 fields; expected 4"),
            (
                b"n1,aws-ecs-2,sparc,1.0.0\n",
                "line 1: arch: \"sparc\" is not x86_64, aarch64, amd64 or arm64",
            ),
            (
                b"name,variant,arch,version\nname,variant,arch,version\n",
                "line 2: arch:",
            ),
            (
                b"\n\nn1,aws-ecs-2,x86_64,1.x\n",
                "line 3: version: \"1.x\" is not a Bottlerocket version",
            ),
            (
                b"# c\nn1,aws-ecs-2,x86_64,1.x\n",
                "line 2: version: \"1.x\" is not a Bottlerocket version",
            ),
            (
                b"n\x001,aws-ecs-2,x86_64,1.0.0\n",
                "line 1: name: \"n\\01\" holds a control character",
            ),
            (b"# only a comment\n", "empty: expected the header"),
            (b"\xff,a,b,c\n", "not UTF-8 text"),
        ];
        for (input, expected) in cases {
            let e = csv(input).unwrap_err().to_string();
            assert!(
                e.starts_with(expected),
                "{:?}: {e}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn detection() {
        assert_eq!(
            detect(br#"{"apiVersion":"v1","items":[],"kind":"List"}"#),
            Some(InventoryFormat::Kubectl)
        );
        assert_eq!(
            detect(br#"{"Reservations":[]}"#),
            Some(InventoryFormat::Ec2)
        );
        assert_eq!(
            detect(b"name,variant,arch,version\n"),
            Some(InventoryFormat::Csv)
        );
        assert_eq!(detect(br#"{"other":1}"#), None);
    }

    #[test]
    fn kubectl_errors_name_the_field() {
        let e = kubectl(
            br#"{"items":[{"metadata":{"name":"a"},"status":{"nodeInfo":{"osImage":7}}}]}"#,
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("items[0].status.nodeInfo.osImage: expected a string"),
            "{e}"
        );
        let e = kubectl(br#"{"items":[{"metadata":{"name":"a"}}]}"#).unwrap_err();
        assert_eq!(e.to_string(), "items[0].status.nodeInfo.osImage: missing");
        let e = kubectl(br#"{"items":[{"metadata":5}]}"#).unwrap_err();
        assert!(e.to_string().starts_with("items[0]:"), "{e}");
    }
}
