//! The device and coordinator commands.

pub mod authority;
pub mod cards;
pub mod care;
pub mod district;
pub mod net;
pub mod privacy;
pub mod setup;
pub mod timebank;
pub mod transfer;
pub mod view;
