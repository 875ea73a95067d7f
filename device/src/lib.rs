//! The emulated card.
