//! Endpoints: URLs a module answers in a protocol of its own, outside the
//! Web API (the 1C exchange's `/1c_exchange`). The server mounts every
//! registered endpoint and hands it the request whole; the module does its
//! own authentication, since such protocols bring their own (HTTP Basic,
//! cookies, tokens in the query).

use crate::org::Org;
use crate::signin::SignInPolicy;

/// A request to a module's endpoint, read whole.
#[derive(Debug, Clone)]
pub struct EndpointRequest {
    pub method: String,
    /// Query parameters in order, percent-decoded.
    pub query: Vec<(String, String)>,
    /// Headers with lower-case names.
    pub headers: Vec<(String, String)>,
    /// The body; empty when it was larger than [`Self::max_body_bytes`].
    pub body: Vec<u8>,
    /// The body sent was larger than the server accepts (and was not
    /// read): the endpoint answers in its own protocol's terms.
    pub body_too_large: bool,
    /// The client's address, for sign-in throttling.
    pub client_address: String,
    /// The server's sign-in limits, for endpoints that sign users in.
    pub sign_in: SignInPolicy,
    /// The largest body the server accepts.
    pub max_body_bytes: usize,
}

impl EndpointRequest {
    /// The first query parameter called `name`.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// The first header called `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// The value of cookie `name`.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k == "cookie")
            .flat_map(|(_, v)| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v)
    }
}

/// What an endpoint answers.
#[derive(Debug, Clone, PartialEq)]
pub struct EndpointResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl EndpointResponse {
    pub fn new(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        EndpointResponse { status, headers: vec![("content-type".into(), content_type.into())], body: body.into() }
    }

    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_ascii_lowercase(), value.into()));
        self
    }
}

/// An endpoint's code. It runs on a blocking thread and opens its own
/// transactions through the organization.
pub type EndpointFn = fn(&Org, &EndpointRequest) -> EndpointResponse;

/// A URL a module answers.
#[derive(Clone)]
pub struct Endpoint {
    /// An absolute path (`/1c_exchange`), outside the platform's own.
    pub path: &'static str,
    pub handler: EndpointFn,
    /// Filled in by the registry.
    pub module: &'static str,
}

/// Paths the platform serves; an endpoint may not take them.
const RESERVED: [&str; 7] = ["/api", "/ui", "/oauth2", "/health", "/metrics", "/signin", "/signout"];

/// Why `path` cannot be an endpoint's, if it cannot.
pub(crate) fn refuse_path(path: &str) -> Option<String> {
    let well_formed = path.len() > 1
        && path.starts_with('/')
        && path[1..].chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '/'));
    if !well_formed {
        return Some(format!("endpoint '{path}' must be an absolute path of letters, digits, '_', '-' and '/'"));
    }
    RESERVED
        .iter()
        .find(|r| path == **r || path.starts_with(&format!("{r}/")))
        .map(|r| format!("endpoint '{path}' is under the platform's '{r}'"))
}
