//! The offline SSM source: the JSON that
//! `aws ssm get-parameters-by-path --path /aws/service/bottlerocket --recursive` prints
//! (`{"Parameters": [{"Name", "Value", "ARN", "LastModifiedDate", ...}]}`), one or more documents
//! per file. `get-parameters` output has the same shape and is read too.
//!
//! The region of each parameter comes from its `ARN` (`arn:aws:ssm:us-west-2::parameter/...`);
//! parameters without one take the region the caller names (a single `--region`).

use super::Parameter;
use crate::error::{Error, FieldError, Result};

/// What is wrong with an SSM parameter file.
#[derive(Debug, thiserror::Error)]
pub enum SsmFileError {
    /// Not JSON.
    #[error("not JSON: {0}")]
    NotJson(serde_json::Error),
    /// A field, by its path (`Parameters[3].ARN`, `document 2: Parameters`).
    #[error(transparent)]
    Field(#[from] FieldError),
    /// No document at all.
    #[error("empty: expected the output of `aws ssm get-parameters-by-path`")]
    Empty,
}
use chrono::{DateTime, TimeZone, Utc};
use serde_json::Value;
use std::path::Path;

/// Largest file read.
pub const MAX_FILE: u64 = 512 << 20;

/// Read the parameters in a file. Errors name the file and the field.
pub fn read(path: &Path, default_region: Option<&str>) -> Result<Vec<Parameter>> {
    let bytes = crate::source::read_limited(path, MAX_FILE, "SSM parameter file")?;
    parse(&bytes, default_region).map_err(|e| Error::Invalid {
        what: "SSM parameter file",
        path: path.display().to_string(),
        message: e.to_string(),
    })
}

/// Parse the parameters of one file's bytes; the error names the field.
pub fn parse(
    bytes: &[u8],
    default_region: Option<&str>,
) -> std::result::Result<Vec<Parameter>, SsmFileError> {
    let bytes = crate::source::without_bom(bytes);
    let mut out: Vec<Parameter> = Vec::new();
    // Where each (region, name) was first given: the same parameter twice (pages that overlap)
    // is read once; twice with other values is ambiguous, so refused.
    let mut seen: std::collections::HashMap<(String, String), (usize, String)> =
        std::collections::HashMap::new();
    let stream = serde_json::Deserializer::from_slice(bytes).into_iter::<Value>();
    let mut documents = 0usize;
    for (d, doc) in stream.enumerate() {
        let doc = doc.map_err(SsmFileError::NotJson)?;
        documents += 1;
        let at = |field: &str| {
            if d == 0 {
                field.to_owned()
            } else {
                format!("document {}: {field}", d + 1)
            }
        };
        let list = doc
            .get("Parameters")
            .ok_or_else(|| {
                FieldError::new(
                    at("Parameters"),
                    "missing; expected the output of `aws ssm get-parameters-by-path`",
                )
            })?
            .as_array()
            .ok_or_else(|| FieldError::new(at("Parameters"), "not a list"))?;
        for (i, p) in list.iter().enumerate() {
            let field = |name: &str| at(&format!("Parameters[{i}].{name}"));
            let text = |name: &str| -> std::result::Result<Option<&str>, FieldError> {
                match p.get(name) {
                    None | Some(Value::Null) => Ok(None),
                    Some(Value::String(s)) => Ok(Some(s.as_str())),
                    Some(_) => Err(FieldError::new(field(name), "not a string")),
                }
            };
            let missing = |name: &str| FieldError::new(field(name), "missing");
            let name = text("Name")?.ok_or_else(|| missing("Name"))?;
            let value = text("Value")?.ok_or_else(|| missing("Value"))?;
            let region = match text("ARN")? {
                Some(arn) => region_of_arn(arn)
                    .ok_or_else(|| {
                        FieldError::new(field("ARN"), format!("{arn:?} is not an SSM parameter ARN"))
                    })?
                    .to_owned(),
                None => default_region
                    .ok_or_else(|| {
                        FieldError::new(
                            field("ARN"),
                            "missing, so the region is unknown; name exactly one region for this file",
                        )
                    })?
                    .to_owned(),
            };
            let last_modified = match p.get("LastModifiedDate") {
                None | Some(Value::Null) => None,
                Some(v) => Some(time_of(v).ok_or_else(|| {
                    FieldError::new(
                        field("LastModifiedDate"),
                        format!("{v} is neither an RFC 3339 time nor seconds since 1970"),
                    )
                })?),
            };
            let here = field("Name");
            match seen.entry((region.clone(), name.to_owned())) {
                std::collections::hash_map::Entry::Occupied(first) => {
                    let (index, first_field) = first.get();
                    let earlier = &out[*index];
                    if earlier.value != value || earlier.last_modified != last_modified {
                        return Err(FieldError::new(
                            here,
                            format!("{name} in {region} is given again with another value or date than at {first_field}"),
                        )
                        .into());
                    }
                }
                std::collections::hash_map::Entry::Vacant(v) => {
                    v.insert((out.len(), here));
                    out.push(Parameter {
                        region,
                        name: name.to_owned(),
                        value: value.to_owned(),
                        last_modified,
                    });
                }
            }
        }
    }
    if documents == 0 {
        return Err(SsmFileError::Empty);
    }
    Ok(out)
}

/// The region of `arn:<partition>:ssm:<region>:<account>:parameter/<name>`.
fn region_of_arn(arn: &str) -> Option<&str> {
    let mut parts = arn.splitn(6, ':');
    let (arn_word, _partition, service, region, _account, resource) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    (arn_word == "arn"
        && service == "ssm"
        && resource.starts_with("parameter/")
        && super::check_region(region).is_ok())
    .then_some(region)
}

/// AWS CLI v2 prints times as RFC 3339 text, v1 as seconds since 1970.
fn time_of(v: &Value) -> Option<DateTime<Utc>> {
    match v {
        Value::String(s) => DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| t.with_timezone(&Utc)),
        Value::Number(n) => {
            let secs = n.as_f64()?;
            if !secs.is_finite() || secs.abs() > 1e12 {
                return None;
            }
            Utc.timestamp_millis_opt((secs * 1000.0).round() as i64)
                .single()
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_cli_output_v1_and_v2() {
        let text = r#"{"Parameters": [
          {"Name": "/aws/service/bottlerocket/aws-ecs-2/x86_64/latest/image_id", "Type": "String",
           "Value": "ami-0123", "Version": 3, "LastModifiedDate": "2024-05-01T10:00:00.123000+02:00",
           "ARN": "arn:aws:ssm:eu-west-1::parameter/aws/service/bottlerocket/aws-ecs-2/x86_64/latest/image_id",
           "DataType": "text"}]}
          {"Parameters": [{"Name": "/x", "Value": "y", "LastModifiedDate": 1714550400.5}]}"#;
        let ps = parse(text.as_bytes(), Some("us-east-1")).unwrap();
        assert_eq!(ps.len(), 2);
        assert_eq!(ps[0].region, "eu-west-1");
        assert_eq!(
            ps[0].last_modified.unwrap().to_rfc3339(),
            "2024-05-01T08:00:00.123+00:00"
        );
        assert_eq!(ps[1].region, "us-east-1");
        assert_eq!(ps[1].last_modified.unwrap().timestamp(), 1714550400);
    }

    #[test]
    fn errors_name_the_field() {
        let e = parse(br#"{"Parameters": [{"Name": "/x"}]}"#, None)
            .unwrap_err()
            .to_string();
        assert_eq!(e, "Parameters[0].Value: missing");
        let e = parse(br#"{"Parameters": [{"Name": "/x", "Value": "v"}]}"#, None)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("Parameters[0].ARN: missing"), "{e}");
        let e = parse(
            br#"{"Parameters": [{"Name": "/x", "Value": "v", "ARN": "arn:aws:s3:::b"}]}"#,
            None,
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("Parameters[0].ARN:"), "{e}");
        let e = parse(br#"{"Parameters": [{"Name": 3, "Value": "v"}]}"#, None)
            .unwrap_err()
            .to_string();
        assert_eq!(e, "Parameters[0].Name: not a string");
        let e = parse(br#"{"Params": []}"#, None).unwrap_err().to_string();
        assert!(e.starts_with("Parameters: missing"), "{e}");
        let e = parse(b"", None).unwrap_err().to_string();
        assert!(e.starts_with("empty"), "{e}");
        let e = parse(b"{\"Parameters\": [", None).unwrap_err().to_string();
        assert!(e.starts_with("not JSON"), "{e}");
        let e = parse(
            br#"{"Parameters": [{"Name": "/x", "Value": "v", "ARN": "arn:aws:ssm:us-east-1::parameter/x", "LastModifiedDate": "yesterday"}]}"#,
            None,
        )
        .unwrap_err().to_string();
        assert!(e.starts_with("Parameters[0].LastModifiedDate:"), "{e}");
    }

    #[test]
    fn a_parameter_given_twice_is_read_once_or_refused_when_the_values_differ() {
        let doc = |value: &str| {
            format!(
                r#"{{"Parameters": [{{"Name": "/x", "Value": "{value}", "ARN": "arn:aws:ssm:us-east-1::parameter/x"}}]}}"#
            )
        };
        let same = format!("{}\n{}", doc("a"), doc("a"));
        assert_eq!(parse(same.as_bytes(), None).unwrap().len(), 1);
        let other = format!("{}\n{}", doc("a"), doc("b"));
        assert_eq!(
            parse(other.as_bytes(), None).unwrap_err().to_string(),
            "document 2: Parameters[0].Name: /x in us-east-1 is given again with another value or date than at Parameters[0].Name"
        );
    }
}
