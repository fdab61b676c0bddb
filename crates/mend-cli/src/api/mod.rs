//! The daemon's control surface: an HTTP API on a Unix socket in the state
//! directory (mode 0600: only its owner, normally root, can use it) and,
//! when the config's `[api]` table asks, on a TCP address (loopback unless
//! a token is set; there, a request that changes anything needs
//! `Authorization: Bearer TOKEN`; reads are open). The token travels in
//! clear over plain HTTP: off the machine, anyone on the path can read it
//! (put a TLS proxy in front). The client here is what the CLI commands
//! (`mend status`, `start`, `stop`, ...) use.
//!
//! | route | what |
//! |---|---|
//! | `GET /services` | every service's state (JSON) |
//! | `GET /services/{name}` | one service |
//! | `POST /services/{name}/start`, `/stop`, `/restart` | steer one (answers once done) |
//! | `POST /services/{name}/reload` | run its `reload` command (answers once it ended) |
//! | `POST /services/{name}/signal/{SIG}` | send a signal to all its processes |
//! | `POST /reload-config` | read the config file again and apply it (422 and nothing changed when it does not check) |
//! | `GET /health` | `application/health+json`, every service a component (503 when one fails) |
//! | `GET /livez`, `/readyz` | mend itself alive; every autostarted service ready |
//! | `GET /metrics` | Prometheus text (`mend_process_*`) |

pub(crate) mod client;
pub(crate) mod server;
mod view;

pub(crate) use view::ServiceView;

/// The header every answer carries: the daemon's version, so a CLI of
/// another version can say so instead of misreading the answer.
pub(crate) const VERSION_HEADER: &str = "mend-version";
