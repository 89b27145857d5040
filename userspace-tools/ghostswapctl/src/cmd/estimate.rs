//! `ghostswapctl estimate`: see [`crate::estimate`].

pub use crate::estimate::run;
