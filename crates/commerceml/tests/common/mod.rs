//! Fixture loading shared by the integration tests.

#![allow(dead_code)]

use std::path::PathBuf;

use relata_commerceml::{read, Package};
use rust_decimal::Decimal;

pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests").join("fixtures")
}

pub fn bytes(name: &str) -> Vec<u8> {
    let path = fixtures_dir().join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read fixture {}: {e}", path.display()))
}

pub fn load(name: &str) -> Package {
    read(&bytes(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Every `*.xml` fixture, sorted by name.
pub fn all_fixtures() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(fixtures_dir())
        .expect("fixtures folder")
        .map(|entry| entry.expect("fixture entry").file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".xml"))
        .collect();
    names.sort();
    names
}

pub fn dec(text: &str) -> Decimal {
    text.parse().expect("decimal literal")
}
