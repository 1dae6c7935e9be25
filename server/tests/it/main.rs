//! The server's integration tests, in one binary: each test binary links the whole
//! server, so one binary keeps the build small and fast.

mod auth;
mod cdrs;
mod crash;
mod kamailio;
mod pull;
mod rate_command;
mod rate_plans;
mod routing_api;
mod status;
mod support;
