//! One module per subcommand: orchestration only, the work lives in the stages.

pub mod check;
pub mod config;
pub mod fetch;
pub mod gc;
pub mod history;
pub mod links;
pub mod report;
pub mod report_page;
pub mod rewrite;
pub mod scan;
pub mod verify;
