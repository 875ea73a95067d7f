// SPDX-License-Identifier: GPL-2.0
//! `/dev/cardlessN`: one misc device per card (root-only, mode 0600). Its open
//! files hold the card's shared state, so they stay safe after unbind: every
//! operation then fails with ENODEV.

use crate::buffer::BufferTable;
use crate::card::CardShared;
use crate::ffi::{self, MappingKey, ModuleRef};
use crate::{bar2_rw, ioctl, mmap_bar, mmap_buf, stream, uapi};
use kernel::sync::Arc;
use kernel::{
    fs::{File, Kiocb},
    iov::{IovIterDest, IovIterSource},
    miscdevice::{MiscDevice, MiscDeviceOptions, MiscDeviceRegistration},
    mm::virt::VmaNew,
    prelude::*,
    sync::{new_mutex, Mutex},
};

/// Names of the nodes, one per card index (misc devices need static names).
const NAMES: [&CStr; 8] = [
    c"cardless0",
    c"cardless1",
    c"cardless2",
    c"cardless3",
    c"cardless4",
    c"cardless5",
    c"cardless6",
    c"cardless7",
];
pub(crate) const MAX_CARDS: u32 = NAMES.len() as u32;

/// A card's device node: the misc registration and the state its files share.
#[pin_data]
pub(crate) struct CardNode {
    #[pin]
    pub(crate) misc: MiscDeviceRegistration<CardFile>,
    pub(crate) shared: Arc<CardShared>,
}

impl CardNode {
    pub(crate) fn new(shared: Arc<CardShared>) -> impl PinInit<Self, Error> {
        let name = NAMES[shared.index as usize % NAMES.len()];
        try_pin_init!(CardNode {
            misc <- MiscDeviceRegistration::register(MiscDeviceOptions { name }),
            shared,
        })
    }
}

/// One open file of a card.
#[pin_data(PinnedDrop)]
pub(crate) struct CardFile {
    pub(crate) shared: Arc<CardShared>,
    key: MappingKey,
    _module: ModuleRef,
    /// This file's DMA buffers (IDs are per file).
    #[pin]
    pub(crate) buffers: Mutex<BufferTable>,
}

impl CardFile {
    /// Identifies the file that started a stream.
    pub(crate) fn owner_id(&self) -> usize {
        core::ptr::from_ref(self) as usize
    }
}

#[pinned_drop]
impl PinnedDrop for CardFile {
    fn drop(self: Pin<&mut Self>) {
        // A stream this file started stops (DMA quiet) before its buffers can go.
        let _ = stream::stop(&self.shared, Some(self.owner_id()));
        self.buffers.lock().clear();
        self.shared.file_closed(self.key);
    }
}

#[vtable]
impl MiscDevice for CardFile {
    type Ptr = Pin<KBox<Self>>;

    fn open(file: &File, misc: &MiscDeviceRegistration<Self>) -> Result<Pin<KBox<Self>>> {
        let module = ModuleRef::get(&crate::THIS_MODULE)?;
        let shared = ffi::card_node_of(misc).shared.clone();
        let key = MappingKey::of(file);
        shared.file_opened(key)?;
        let file_shared = shared.clone();
        match KBox::pin_init(
            try_pin_init!(CardFile {
                shared: file_shared,
                key,
                _module: module,
                buffers <- new_mutex!(BufferTable::new()),
            }),
            GFP_KERNEL,
        ) {
            Ok(f) => Ok(f),
            Err(e) => {
                shared.file_closed(key);
                Err(e)
            }
        }
    }

    fn ioctl(me: Pin<&CardFile>, _file: &File, cmd: u32, arg: usize) -> Result<isize> {
        ioctl::dispatch(&me, cmd, arg)
    }

    fn read_iter(kiocb: Kiocb<'_, Self::Ptr>, iov: &mut IovIterDest<'_>) -> Result<usize> {
        bar2_rw::read(kiocb, iov)
    }

    fn write_iter(kiocb: Kiocb<'_, Self::Ptr>, iov: &mut IovIterSource<'_>) -> Result<usize> {
        bar2_rw::write(kiocb, iov)
    }

    fn mmap(me: Pin<&CardFile>, _file: &File, vma: &VmaNew) -> Result {
        let pgoff = ffi::vma_pgoff(vma);
        if (1..=uapi::MMAP_PGOFF_BUFFER_MAX).contains(&pgoff) {
            // Only this file's buffers: another file's ID means nothing here.
            let buf = me.buffers.lock().get(pgoff as u32).ok_or(EINVAL)?;
            return mmap_buf::mmap(&me.shared, buf, vma);
        }
        mmap_bar::mmap(&me.shared, vma)
    }
}
