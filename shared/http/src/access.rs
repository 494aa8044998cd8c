//! API keys and the scopes they grant. Routes are guarded by the scope they
//! need: `write` (fit, ingest), `admin` (webhooks, deletions; includes
//! write) and, only with `READ_REQUIRES_KEY=true`, `read` (everything that
//! shows data). With no keys configured every route is open, as the
//! embedded default has always been, and the process says so once.
//!
//! A key is sent as `Authorization: Bearer <key>`, or as the password of
//! HTTP Basic (so a browser can open a guarded dashboard). Keys are kept
//! only as SHA-256 digests, compared in constant time against every
//! configured key, and never logged.

use crate::{ApiError, HttpArgs};
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, header};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use sha2::{Digest, Sha256};
use std::sync::{Arc, Once};
use subtle::ConstantTimeEq;

/// Shortest key accepted: a key is a secret, not a password to remember.
pub const MIN_KEY_LENGTH: usize = 16;

/// What a key may do; each scope includes the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    /// See data: predictions, listings, plots, the dashboard, the feed.
    Read,
    /// Change data: fits and ingest.
    Write,
    /// Manage the platform: webhooks, deletions.
    Admin,
}

impl Scope {
    fn parse(name: &str) -> Option<Self> {
        match name {
            "read" => Some(Self::Read),
            "write" => Some(Self::Write),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }

    /// The name keys are configured with.
    pub fn name(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
            Self::Admin => "admin",
        }
    }
}

/// The configured keys and whether reads need one (cheap to clone).
#[derive(Clone)]
pub struct Access {
    inner: Arc<Keys>,
}

struct Keys {
    digests: Vec<([u8; 32], Scope)>,
    read_requires_key: bool,
}

impl std::fmt::Debug for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Access")
            .field("keys", &self.inner.digests.len())
            .field("read_requires_key", &self.inner.read_requires_key)
            .finish()
    }
}

impl Access {
    /// No keys: every route open.
    pub fn open() -> Self {
        Self { inner: Arc::new(Keys { digests: Vec::new(), read_requires_key: false }) }
    }

    /// The keys of `API_KEYS` and `API_KEYS_FILE`. With none, warns once per
    /// process that writes are open.
    pub fn from_args(args: &HttpArgs) -> anyhow::Result<Self> {
        let mut spec = args.api_keys.clone().unwrap_or_default();
        if let Some(path) = &args.api_keys_file {
            let text =
                std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("API_KEYS_FILE {}: {e}", path.display()))?;
            spec.push('\n');
            spec.push_str(&text);
        }
        let access = Self::parse(&spec, args.read_requires_key).map_err(|e| anyhow::anyhow!("API keys: {e}"))?;
        if access.inner.digests.is_empty() {
            static WARNED: Once = Once::new();
            WARNED.call_once(|| {
                tracing::warn!(
                    "no API_KEYS configured: anyone who can reach the services can fit, ingest and manage webhooks"
                )
            });
        }
        Ok(access)
    }

    /// Keys from `spec`: `key:scope` entries separated by commas or new
    /// lines (a key may itself contain `:`; the last one separates the
    /// scope); blank entries and lines starting with `#` are skipped.
    pub fn parse(spec: &str, read_requires_key: bool) -> Result<Self, String> {
        let mut digests = Vec::new();
        for entry in spec.split([',', '\n']).map(str::trim).filter(|e| !e.is_empty() && !e.starts_with('#')) {
            let Some((key, scope)) = entry.rsplit_once(':') else {
                return Err(format!(
                    "entry {} has no scope: write key:read, key:write or key:admin",
                    digests.len() + 1
                ));
            };
            let scope = Scope::parse(scope.trim())
                .ok_or_else(|| format!("entry {} has scope {scope:?}: use read, write or admin", digests.len() + 1))?;
            if key.len() < MIN_KEY_LENGTH {
                return Err(format!(
                    "entry {} has a key shorter than {MIN_KEY_LENGTH} characters (e.g. `openssl rand -hex 24`)",
                    digests.len() + 1
                ));
            }
            digests.push((digest(key), scope));
        }
        if read_requires_key && digests.is_empty() {
            return Err("READ_REQUIRES_KEY=true needs at least one key in API_KEYS or API_KEYS_FILE".into());
        }
        Ok(Self { inner: Arc::new(Keys { digests, read_requires_key }) })
    }

    /// `routes` answering only requests whose key grants `scope` (when that
    /// scope needs a key at all); 401 without a key, 403 with a weaker one.
    pub fn guard<S: Clone + Send + Sync + 'static>(&self, scope: Scope, routes: Router<S>) -> Router<S> {
        if self.needs_key(scope) {
            routes.route_layer(from_fn_with_state((self.clone(), scope), check))
        } else {
            routes
        }
    }

    fn needs_key(&self, scope: Scope) -> bool {
        !self.inner.digests.is_empty() && (scope > Scope::Read || self.inner.read_requires_key)
    }

    /// Whether the request's key grants `scope`.
    pub fn authorize(&self, headers: &HeaderMap, scope: Scope) -> Result<(), ApiError> {
        if !self.needs_key(scope) {
            return Ok(());
        }
        let Some(presented) = presented_key(headers) else {
            return Err(ApiError::Unauthorized {
                message: format!(
                    "this endpoint needs an API key with the {} scope: send Authorization: Bearer <key>",
                    scope.name()
                ),
            });
        };
        match self.scope_of(&presented) {
            None => Err(ApiError::Unauthorized { message: "the API key is not valid".into() }),
            Some(granted) if granted < scope => Err(ApiError::Forbidden {
                message: format!("this API key has the {} scope; this endpoint needs {}", granted.name(), scope.name()),
            }),
            Some(_) => Ok(()),
        }
    }

    /// The scope of the key whose digest matches, comparing against every
    /// key so the time taken says nothing about which (if any) matched.
    fn scope_of(&self, presented: &str) -> Option<Scope> {
        let presented = digest(presented);
        let mut granted = None;
        for (known, scope) in &self.inner.digests {
            if bool::from(known.ct_eq(&presented)) {
                granted = granted.max(Some(*scope));
            }
        }
        granted
    }
}

async fn check(State((access, scope)): State<(Access, Scope)>, request: Request, next: Next) -> Response {
    match access.authorize(request.headers(), scope) {
        Ok(()) => next.run(request).await,
        Err(error) => error.into_response(),
    }
}

fn digest(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

/// The key of `Authorization: Bearer <key>` or `Basic <user:key>`.
fn presented_key(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, credentials) = value.split_once(' ')?;
    let credentials = credentials.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        return Some(credentials.to_owned());
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD.decode(credentials).ok()?;
        let text = String::from_utf8(decoded).ok()?;
        return text.split_once(':').map(|(_, password)| password.to_owned());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    const WRITER: &str = "writer-key-0123456789";
    const ADMIN: &str = "admin:key:0123456789";

    fn headers(authorization: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_str(authorization).expect("header"));
        headers
    }

    fn code(result: Result<(), ApiError>) -> &'static str {
        match result {
            Ok(()) => "ok",
            Err(error) => error.public_parts().1,
        }
    }

    #[test]
    fn scopes_include_the_ones_before_them() {
        let access = Access::parse(&format!("{WRITER}:write, {ADMIN}:admin"), false).expect("keys");
        assert_eq!(code(access.authorize(&HeaderMap::new(), Scope::Read)), "ok");
        assert_eq!(code(access.authorize(&HeaderMap::new(), Scope::Write)), "unauthorized");
        assert_eq!(code(access.authorize(&headers(&format!("Bearer {WRITER}")), Scope::Write)), "ok");
        assert_eq!(code(access.authorize(&headers(&format!("Bearer {WRITER}")), Scope::Admin)), "forbidden");
        assert_eq!(code(access.authorize(&headers(&format!("bearer {ADMIN}")), Scope::Write)), "ok");
        assert_eq!(code(access.authorize(&headers("Bearer not-a-key-at-all-here"), Scope::Write)), "unauthorized");
    }

    #[test]
    fn a_browser_sends_the_key_as_the_basic_password() {
        let access = Access::parse(&format!("{ADMIN}:read"), true).expect("keys");
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("anyone:{ADMIN}"));
        assert_eq!(code(access.authorize(&headers(&format!("Basic {basic}")), Scope::Read)), "ok");
        assert_eq!(code(access.authorize(&HeaderMap::new(), Scope::Read)), "unauthorized");
    }

    #[test]
    fn no_keys_leave_every_route_open() {
        assert_eq!(code(Access::open().authorize(&HeaderMap::new(), Scope::Admin)), "ok");
    }

    #[test]
    fn bad_key_lists_are_refused_with_the_entry_named() {
        assert!(Access::parse("short:write", false).expect_err("short").contains("entry 1"));
        assert!(Access::parse(&format!("{WRITER}:root"), false).expect_err("scope").contains("read, write or admin"));
        assert!(Access::parse(WRITER, false).expect_err("no scope").contains("no scope"));
        assert!(Access::parse("", true).is_err(), "reads cannot need a key no one has");
        let file = format!("# ops\n{WRITER}:write\n\n{ADMIN}:admin\n");
        assert_eq!(Access::parse(&file, false).expect("file").inner.digests.len(), 2);
    }

    #[test]
    fn debug_output_shows_no_key() {
        let access = Access::parse(&format!("{WRITER}:write"), false).expect("keys");
        assert!(!format!("{access:?}").contains(WRITER));
    }
}
