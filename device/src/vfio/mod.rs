//! The vfio-user transport: the card as a PCI device behind a Unix socket.
//!
//! The project's own server loop rather than the `vfio_user` crate's
//! `Server`, which panics on malformed messages, cannot send real errnos and
//! fixes the capabilities. One job per file:
//!
//! - [`wire`]: message header, command codes, checked body decoding;
//! - [`bodies`]: every message body as a declared layout;
//! - [`socket`]: fd-passing receive/send with adaptive polling;
//! - [`server`]: the message loop and per-command handlers;
//! - [`version`]: VERSION negotiation;
//! - [`regions`]: region table, bounds checks, sparse-mmap capability;
//! - [`config_space`]: PCI config space and capabilities;
//! - [`irq`]: eventfd table, INTx level/mask state;
//! - [`dma_map`]: DMA_MAP/DMA_UNMAP validation;
//! - [`backend`]: what the transport needs from the card;
//! - [`card_port`]: the card model as that backend.

pub mod backend;
pub mod bodies;
pub mod card_port;
pub mod config_space;
pub mod dma_map;
pub mod error;
pub mod irq;
pub mod regions;
pub mod server;
pub mod socket;
pub mod version;
pub mod wire;

pub use backend::CardBackend;
pub use card_port::CardPort;
pub use error::{ConnectionError, ProtocolError};
pub use irq::IrqTable;
pub use server::Server;
pub use socket::{PollPolicy, StopSignal};
