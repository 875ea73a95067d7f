// SPDX-License-Identifier: GPL-2.0
//! One open file of a card: the card's shared state, the file's place in
//! the card's binding (so unbind can zap its mappings), and its buffers.

use crate::buffer::BufferTable;
use crate::card::CardShared;
use crate::ffi::{binding::OpenFile, misc::ModuleRef};
use kernel::{
    fs::File,
    prelude::*,
    sync::{
        atomic::{Atomic, Relaxed},
        new_mutex, Arc, Mutex,
    },
};

#[pin_data]
pub(crate) struct CardFile {
    pub(crate) shared: Arc<CardShared>,
    /// Identifies the file that started a stream; stops it when the file goes.
    pub(crate) owner: StreamOwner,
    /// This file's DMA buffers (IDs are per file). After `owner`: they go
    /// once the file's stream is stopped.
    #[pin]
    pub(crate) buffers: Mutex<BufferTable>,
    _open: OpenFile,
    /// Last: the module stays until the rest of the file is gone.
    _module: ModuleRef,
}

/// An open file as the owner of the stream it started: when the file goes,
/// so does its stream (DMA quiet), before the file's buffers can go.
pub(crate) struct StreamOwner {
    shared: Arc<CardShared>,
    id: usize,
}

/// Owner IDs, one per open file.
static NEXT_OWNER: Atomic<usize> = Atomic::new(1);

impl StreamOwner {
    fn new(shared: &Arc<CardShared>) -> Self {
        StreamOwner {
            shared: shared.clone(),
            id: NEXT_OWNER.fetch_add(1, Relaxed),
        }
    }

    pub(crate) fn id(&self) -> usize {
        self.id
    }
}

impl Drop for StreamOwner {
    fn drop(&mut self) {
        let _ = self.shared.stream.stop(&self.shared.hw, Some(self.id));
    }
}

impl CardFile {
    /// A new open file of `shared`'s card (ENODEV once it is unbound).
    pub(crate) fn open(
        file: &File,
        shared: &Arc<CardShared>,
        module: ModuleRef,
    ) -> Result<Pin<KBox<Self>>> {
        let open = shared.binding.file_opened(file)?;
        KBox::pin_init(
            try_pin_init!(CardFile {
                shared: shared.clone(),
                owner: StreamOwner::new(shared),
                buffers <- new_mutex!(BufferTable::new()),
                _open: open,
                _module: module,
            }),
            GFP_KERNEL,
        )
    }
}
