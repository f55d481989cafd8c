//! Repository locations: `https://`, `http://`, `file://` URLs, or a plain local directory.

use crate::error::Setting;
use crate::error::{Error, Result};
use std::path::Path;
use url::Url;

/// Parse a metadata or targets location given by the user.
///
/// URLs must be `http`, `https` or `file`; anything without `://` is a local directory, which must
/// exist. The result always ends in `/`, so that file names join below it.
pub fn parse_location(setting: Setting, value: &str) -> Result<Url> {
    let url = if value.contains("://") {
        let url = Url::parse(value).map_err(|e| Error::Setting {
            setting,
            message: format!("{value:?} is not a valid URL: {e}"),
        })?;
        match url.scheme() {
            "http" | "https" | "file" => url,
            other => {
                return Err(Error::Setting {
                    setting,
                    message: format!(
                        "{value:?} uses the scheme {other:?}; use https://, http://, file:// or a local directory"
                    ),
                })
            }
        }
    } else {
        let path = Path::new(value);
        let abs = path.canonicalize().map_err(|e| Error::Setting {
            setting,
            message: format!("{value:?} is not a URL and not a readable local directory: {e}"),
        })?;
        if !abs.is_dir() {
            return Err(Error::Setting {
                setting,
                message: format!("{value:?} is a file; give the directory that holds the files"),
            });
        }
        Url::from_directory_path(&abs).map_err(|()| Error::Setting {
            setting,
            message: format!("{} cannot be written as a file:// URL", abs.display()),
        })?
    };
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::Setting {
            setting,
            message: format!(
                "{value:?} has a query or fragment; give the plain base URL of the directory"
            ),
        });
    }
    Ok(with_trailing_slash(url))
}

/// The same URL, ending in `/`.
pub fn with_trailing_slash(url: Url) -> Url {
    if url.path().ends_with('/') {
        url
    } else {
        let mut url = url;
        let path = format!("{}/", url.path());
        url.set_path(&path);
        url
    }
}

/// Whether `s` is an absolute URI (RFC 3986: a scheme, `:`, and no space or control character),
/// as every URI an evidence statement names must be.
pub fn is_uri(s: &str) -> bool {
    url::Url::parse(s).is_ok() && !s.chars().any(|c| c.is_whitespace() || c.is_control())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_get_a_trailing_slash() {
        let u = parse_location(Setting::MetadataUrl, "https://example.com/a/b").unwrap();
        assert_eq!(u.as_str(), "https://example.com/a/b/");
        let u = parse_location(Setting::MetadataUrl, "file:///tmp/x/").unwrap();
        assert_eq!(u.as_str(), "file:///tmp/x/");
    }

    #[test]
    fn directories_become_file_urls() {
        let dir = tempfile::tempdir().unwrap();
        let u = parse_location(Setting::MetadataUrl, dir.path().to_str().unwrap()).unwrap();
        assert_eq!(u.scheme(), "file");
        assert!(u.as_str().ends_with('/'));
    }

    #[test]
    fn bad_locations_name_the_flag() {
        let e = parse_location(Setting::TargetsUrl, "ftp://example.com/").unwrap_err();
        assert!(e.to_string().starts_with("targets_url"), "{e}");
        let e = parse_location(Setting::MetadataUrl, "https://h/repo?x=1").unwrap_err();
        assert!(e.to_string().contains("query"), "{e}");
        let e = parse_location(Setting::TargetsUrl, "/definitely/not/here").unwrap_err();
        assert!(e.to_string().contains("not a URL"), "{e}");
    }
}
