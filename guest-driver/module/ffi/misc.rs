// SPDX-License-Identifier: GPL-2.0
//! A device node (a misc device) whose open files reach the node's shared
//! state. The `kernel` crate's `MiscDevice::open` gets only the registration;
//! a node embeds its registration next to the shared state, and `open` finds
//! the node from the registration (`container_of`). That is sound because only
//! this file can name the registration's type (`Opened<F>` is private here), so
//! every such registration is the `misc` field of a `Node`.

use core::marker::PhantomData;
use kernel::{
    bindings,
    fs::{File, Kiocb},
    iov::{IovIterDest, IovIterSource},
    miscdevice::{MiscDevice, MiscDeviceOptions, MiscDeviceRegistration},
    mm::virt::VmaNew,
    prelude::*,
    ThisModule,
};

/// What an open file of a node does. Every method but `open` gets the file's
/// own state, pinned.
pub(crate) trait NodeFile: Sized + Send + Sync + 'static {
    /// What the node hands each file it opens.
    type Shared: Send + Sync;

    /// A new open file; `module` keeps the module loaded while the file exists.
    fn open(file: &File, shared: &Self::Shared, module: ModuleRef) -> Result<Pin<KBox<Self>>>;
    fn ioctl(me: Pin<&Self>, cmd: u32, arg: usize) -> Result<isize>;
    fn mmap(me: Pin<&Self>, vma: &VmaNew) -> Result;
    /// `read()` at file position `pos`: the bytes copied (the position then moves by that).
    fn read(me: Pin<&Self>, pos: i64, iov: &mut IovIterDest<'_>) -> Result<usize>;
    /// `write()` at file position `pos`: the bytes taken.
    fn write(me: Pin<&Self>, pos: i64, iov: &mut IovIterSource<'_>) -> Result<usize>;
}

/// The misc device type of a node's files; private, see the module comment.
struct Opened<F>(PhantomData<F>);

/// A registered device node and the state its open files share.
#[pin_data]
pub(crate) struct Node<F: NodeFile> {
    /// First field: deregistered first, so no new open races the rest's teardown.
    #[pin]
    misc: MiscDeviceRegistration<Opened<F>>,
    shared: F::Shared,
    module: &'static ThisModule,
}

impl<F: NodeFile> Node<F> {
    /// Registers `/dev/NAME`; its files get `shared` and hold `module`.
    pub(crate) fn new(
        name: &'static CStr,
        shared: F::Shared,
        module: &'static ThisModule,
    ) -> impl PinInit<Self, Error> {
        try_pin_init!(Node {
            misc <- MiscDeviceRegistration::register(MiscDeviceOptions { name }),
            shared,
            module,
        })
    }

    fn of(misc: &MiscDeviceRegistration<Opened<F>>) -> &Self {
        let ptr = core::ptr::from_ref(misc);
        // SAFETY: `Opened<F>` is private to this file and its registrations are only
        // created in `Node::new`, as the pinned `misc` field of a `Node<F>`, which
        // lives exactly as long as the registration: the node outlives `misc`.
        unsafe { &*kernel::container_of!(ptr, Node<F>, misc) }
    }
}

#[vtable]
impl<F: NodeFile> MiscDevice for Opened<F> {
    type Ptr = Pin<KBox<F>>;

    fn open(file: &File, misc: &MiscDeviceRegistration<Self>) -> Result<Pin<KBox<F>>> {
        let node = Node::<F>::of(misc);
        let module = ModuleRef::get(node.module)?;
        F::open(file, &node.shared, module)
    }

    fn ioctl(me: Pin<&F>, _file: &File, cmd: u32, arg: usize) -> Result<isize> {
        F::ioctl(me, cmd, arg)
    }

    fn mmap(me: Pin<&F>, _file: &File, vma: &VmaNew) -> Result {
        F::mmap(me, vma)
    }

    fn read_iter(mut kiocb: Kiocb<'_, Pin<KBox<F>>>, iov: &mut IovIterDest<'_>) -> Result<usize> {
        let copied = F::read(kiocb.file(), kiocb.ki_pos(), iov)?;
        *kiocb.ki_pos_mut() += copied as i64;
        Ok(copied)
    }

    fn write_iter(
        mut kiocb: Kiocb<'_, Pin<KBox<F>>>,
        iov: &mut IovIterSource<'_>,
    ) -> Result<usize> {
        let taken = F::write(kiocb.file(), kiocb.ki_pos(), iov)?;
        *kiocb.ki_pos_mut() += taken as i64;
        Ok(taken)
    }
}

/// A reference on a module, held by every open file: `rmmod` is refused
/// (EBUSY) while a file or a mapping (which holds its file) exists.
pub(crate) struct ModuleRef(&'static ThisModule);

impl ModuleRef {
    fn get(module: &'static ThisModule) -> Result<Self> {
        // SAFETY: `module` is a module descriptor, valid while its code runs.
        if unsafe { bindings::try_module_get(module.as_ptr()) } {
            Ok(ModuleRef(module))
        } else {
            // The module is being unloaded.
            Err(ENODEV)
        }
    }
}

impl Drop for ModuleRef {
    fn drop(&mut self) {
        // SAFETY: we took exactly one reference in `get`.
        unsafe { bindings::module_put(self.0.as_ptr()) };
    }
}
