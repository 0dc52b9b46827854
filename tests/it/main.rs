//! The one integration-test binary: modules per area, each running real pipelines.

mod common;
mod completeness;
mod crash;
mod deliveries;
mod determinism;
mod errors;
mod fixtures;
mod generated;
mod golden;
mod leak;
mod lineage;
mod matching;
mod ruletests;
mod sample;
mod schema;
mod spill;
mod topics;
mod vocabulary;
