//! The emulated card.
pub mod vfio;
pub mod dma;
pub mod model;
pub mod trace;
