//! Domain kernels for government data, on plain values and on Arrow string arrays.
//!
//! Every kernel is total: a value it cannot use becomes null (or `false` for a check), never an
//! error, so one bad cell never fails a batch. Errors are reserved for calling a kernel with an
//! array type it does not take.

pub mod address;
pub mod amount;
pub mod arrays;
pub mod chain;
pub mod code_table;
pub mod company;
pub mod coords;
pub mod credit_code;
pub mod date;
pub mod entity;
pub mod id_card;
pub mod iso7064;
pub mod keyword;
pub mod mask;
pub mod person_ids;
pub mod phone;
pub mod pseudonym;
pub mod simplified;
pub mod text;

pub use arrays::{FunctionError, Result};
