//! placeholder
use anyhow::Result;
use clap::Args;
use crate::config::Flags;
#[derive(Args)]
pub struct BenchArgs {}
pub fn run(_flags: &Flags, _args: BenchArgs) -> Result<()> { Ok(()) }
