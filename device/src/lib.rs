//! The emulated card.
pub mod dma;
pub mod fault;
pub mod model;
pub mod trace;
pub mod vfio;
