//! The daemon's control surface: an HTTP API on a Unix socket in the state
//! directory (mode 0600: only its owner, normally root, can use it), and
//! the client the CLI commands (`mend status`, `start`, `stop`, ...) use.
//!
//! | route | what |
//! |---|---|
//! | `GET /services` | every service's state (JSON) |
//! | `GET /services/{name}` | one service |
//! | `POST /services/{name}/start`, `/stop`, `/restart` | steer one (answers once done) |
//! | `POST /services/{name}/signal/{SIG}` | send a signal to all its processes |
//! | `GET /health` | `application/health+json`, every service a component (503 when one fails) |
//! | `GET /livez`, `/readyz` | mend itself alive; every autostarted service ready |
//! | `GET /metrics` | Prometheus text (`mend_process_*`) |

pub(crate) mod client;
pub(crate) mod server;
mod view;

pub(crate) use view::ServiceView;
