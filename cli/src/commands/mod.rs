//! The device and coordinator commands.

pub mod care;
pub mod setup;
pub mod timebank;
pub mod view;
