// SPDX-License-Identifier: GPL-2.0
//! `/dev/cardlessN`: one device node per card (root-only, mode 0600), and
//! what each file operation calls. Its open files hold the card's shared
//! state, so they stay safe after unbind: every operation then fails with
//! ENODEV.

use crate::card::CardShared;
use crate::ffi::{
    misc::{ModuleRef, Node, NodeFile},
    vma::pgoff,
};
use crate::file::CardFile;
use crate::{bar2_rw, ioctl, mmap_bar, mmap_buf, uapi};
use kernel::{
    fs::File,
    iov::{IovIterDest, IovIterSource},
    mm::virt::VmaNew,
    prelude::*,
    sync::Arc,
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

/// A card's device node.
pub(crate) type CardNode = Node<CardFile>;

/// Registers the node of `shared`'s card.
pub(crate) fn node(shared: Arc<CardShared>) -> impl PinInit<CardNode, Error> {
    let name = NAMES[shared.index as usize % NAMES.len()];
    Node::new(name, shared, &crate::THIS_MODULE)
}

impl NodeFile for CardFile {
    type Shared = Arc<CardShared>;

    fn open(file: &File, shared: &Arc<CardShared>, module: ModuleRef) -> Result<Pin<KBox<Self>>> {
        CardFile::open(file, shared, module)
    }

    fn ioctl(me: Pin<&CardFile>, cmd: u32, arg: usize) -> Result<isize> {
        ioctl::dispatch(&me, cmd, arg)
    }

    fn mmap(me: Pin<&CardFile>, vma: &VmaNew) -> Result {
        let pgoff = pgoff(vma);
        if (1..=uapi::MMAP_PGOFF_BUFFER_MAX).contains(&pgoff) {
            // Only this file's buffers: another file's ID means nothing here.
            let buf = me.buffers.lock().get(pgoff as u32).ok_or(EINVAL)?;
            return mmap_buf::mmap(&me.shared, buf, vma);
        }
        mmap_bar::mmap(&me.shared, vma)
    }

    fn read(me: Pin<&CardFile>, pos: i64, iov: &mut IovIterDest<'_>) -> Result<usize> {
        bar2_rw::read(&me.shared, pos, iov)
    }

    fn write(me: Pin<&CardFile>, pos: i64, iov: &mut IovIterSource<'_>) -> Result<usize> {
        bar2_rw::write(&me.shared, pos, iov)
    }
}
