//! Ready-made checks: a TCP connect, an HTTP GET, a command.

mod command;
mod http;
mod tcp;

pub use command::CommandCheck;
pub use http::HttpCheck;
pub use tcp::TcpCheck;
