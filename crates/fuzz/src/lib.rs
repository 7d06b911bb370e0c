//! Fuzzing for every parser that takes outside input: OData query options
//! (`$filter`, `$orderby`, `$select`, `$expand`, `$apply`, `$skiptoken`,
//! whole query strings), FetchXML, JSON bodies, `$batch` bodies and the web
//! interface's form posts.
//!
//! Every target builds real requests and sends them through the real
//! router (`relata_server::router`) of a real organization on a real
//! database (SQLite, or PostgreSQL), seeded with records of each kind the
//! queries read. A 5xx answer or a panic is a [`Finding`]; so is a read, or
//! a refused write, that changed the database.
//!
//! The free functions below (one per target) run on a harness shared by
//! the process, for cargo-fuzz (`fuzz/` at the repository root);
//! `runner` is the stable, time-bounded runner `cargo test` uses.

pub mod finding;
pub mod harness;
pub mod mutate;
pub mod runner;
pub mod targets;

pub use finding::{Finding, Kind};
pub use harness::Harness;
pub use targets::{Target, TARGETS};

fn on_global(name: &str, data: &[u8]) -> Result<(), Finding> {
    let t = targets::target(name).expect("a known target");
    let h = Harness::global();
    let out = targets::run(h, t, data);
    h.take_statuses();
    out
}

macro_rules! entry_points {
    ($($name:ident),* $(,)?) => {
        $(
            #[doc = concat!("The `", stringify!($name), "` target on the process's harness.")]
            pub fn $name(data: &[u8]) -> Result<(), Finding> {
                on_global(stringify!($name), data)
            }
        )*
    };
}

entry_points!(
    odata_filter,
    odata_orderby,
    odata_select,
    odata_expand,
    odata_apply,
    odata_skiptoken,
    odata_query,
    fetchxml,
    json_body,
    batch,
    form,
);
