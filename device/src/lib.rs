//! The emulated card.
pub mod dma;
pub mod fault;
pub mod model;
pub mod replay;
pub mod timeline;
pub mod trace;
pub mod vfio;
