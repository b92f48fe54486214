//! One module per subcommand: orchestration only, the work lives in the stages.

pub mod check;
pub mod config;
pub mod links;
pub mod scan;
