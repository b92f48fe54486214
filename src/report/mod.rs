//! Writing results for people and programs. One module per kind of result.

pub mod check;
pub mod fetch;
pub mod html;
pub mod links;
