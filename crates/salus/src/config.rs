//! Configuration: command-line flags win over `SALUS_*` environment variables, which win over
//! the TOML file (`--config`), which wins over the defaults. clap reads flags and environment;
//! this module fills what neither gave from the file.

use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

pub const DEFAULT_DATA: &str = "./salus-data";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// The keys a TOML configuration file may set (all optional).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FileConfig {
    pub data: Option<PathBuf>,
    pub listen: Option<String>,
    pub max_body_bytes: Option<usize>,
    pub base_url: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the configuration file {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("the configuration file {path} is not valid: {reason}")]
    Parse { path: String, reason: String },
    #[error("`{value}` is not a listen address: give host:port, e.g. 127.0.0.1:8080 or 0.0.0.0:8080")]
    Listen { value: String },
}

pub fn load_file(path: Option<&Path>) -> Result<FileConfig, ConfigError> {
    let Some(path) = path else { return Ok(FileConfig::default()) };
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read { path: shown.clone(), reason: e.to_string() })?;
    toml::from_str(&text).map_err(|e| ConfigError::Parse { path: shown, reason: e.to_string() })
}

pub fn parse_listen(value: &str) -> Result<SocketAddr, ConfigError> {
    value.parse().map_err(|_| ConfigError::Listen { value: value.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_config_file_with_an_unknown_key_is_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("salus.toml");
        std::fs::write(&path, "lisen = \"0.0.0.0:80\"\n").expect("write");
        let err = load_file(Some(&path)).expect_err("typo refused");
        assert!(err.to_string().contains("lisen"), "{err}");
    }

    #[test]
    fn a_config_file_sets_known_keys() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("salus.toml");
        std::fs::write(&path, "listen = \"0.0.0.0:9000\"\nmax-body-bytes = 1024\n").expect("write");
        let file = load_file(Some(&path)).expect("valid");
        assert_eq!(file.listen.as_deref(), Some("0.0.0.0:9000"));
        assert_eq!(file.max_body_bytes, Some(1024));
    }

    #[test]
    fn listen_addresses_must_have_a_port() {
        assert!(parse_listen("127.0.0.1:8080").is_ok());
        assert!(parse_listen("localhost").is_err());
    }
}
