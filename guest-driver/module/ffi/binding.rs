// SPDX-License-Identifier: GPL-2.0
//! A device's binding as its open files see it: whether its driver still has
//! it, under one lock with the address spaces of the open files.
//!
//! While `with_bound` runs, the device is bound: the device core's own unbind
//! (a devres action registered here) marks it gone under the same lock, and
//! cannot get past that while the lock is held. The driver's unbind marks it
//! earlier (`unbind`) and zaps every user mapping of the open files.

use kernel::{
    bindings, device, devres,
    fs::File,
    prelude::*,
    sync::{aref::ARef, new_mutex, Arc, Mutex},
};

/// An open file's address space (`f_mapping`), with a reference on its inode
/// so it stays valid for as long as this value lives.
struct FileSpace {
    inode: *mut bindings::inode,
    mapping: *mut bindings::address_space,
}

// SAFETY: an inode reference may be dropped on any thread; the pointers are
// only used for `unmap_mapping_range` and `iput`, callable from any thread.
unsafe impl Send for FileSpace {}

impl FileSpace {
    fn of(file: &File) -> Self {
        let raw = file.as_ptr();
        // SAFETY: `file` is a valid open file, so its inode is alive; `ihold` takes
        // our own reference on it, which keeps the inode (and its address space,
        // which `f_mapping` names for a device node) alive until `Drop`.
        unsafe {
            let inode = (*raw).f_inode;
            bindings::ihold(inode);
            FileSpace {
                inode,
                mapping: (*raw).f_mapping,
            }
        }
    }

    /// Removes every user page table entry of mappings of this file: a later
    /// touch faults (and the mappings' vm_ops answer SIGBUS).
    fn zap(&self) {
        // SAFETY: the address space is alive (we hold its inode). `holelen` 0 means
        // "to the end"; `even_cows` 1 removes private copies too.
        unsafe { bindings::unmap_mapping_range(self.mapping, 0, 0, 1) };
    }
}

impl Drop for FileSpace {
    fn drop(&mut self) {
        // SAFETY: the reference `of` took.
        unsafe { bindings::iput(self.inode) };
    }
}

struct State {
    bound: bool,
    /// Distinct address spaces of open files, with their open counts.
    spaces: KVec<(FileSpace, u32)>,
}

/// A device, whether its driver still has it bound, and its open files'
/// address spaces (see the module comment).
#[pin_data]
pub(crate) struct Binding {
    dev: ARef<device::Device>,
    #[pin]
    state: Mutex<State>,
}

/// An open file's place in a binding: its address space is zapped at
/// unbind until this is dropped (at the file's release).
pub(crate) struct OpenFile {
    binding: Arc<Binding>,
    /// The address space, only compared.
    mapping: usize,
}

impl Drop for OpenFile {
    fn drop(&mut self) {
        self.binding.file_closed(self.mapping);
    }
}

/// Marks the binding gone when the device core unbinds the device.
struct UnbindMark(Arc<Binding>);

impl Drop for UnbindMark {
    fn drop(&mut self) {
        self.0.state.lock().bound = false;
    }
}

impl Binding {
    pub(crate) fn new(dev: &device::Device<device::Bound>) -> Result<Arc<Self>> {
        let plain: &device::Device = dev;
        let binding = Arc::pin_init(
            pin_init!(Binding {
                dev: plain.into(),
                state <- new_mutex!(State { bound: true, spaces: KVec::new() }),
            }),
            GFP_KERNEL,
        )?;
        devres::register(dev, UnbindMark(binding.clone()), GFP_KERNEL)?;
        Ok(binding)
    }

    /// The device (for DMA calls that need no binding, such as unmapping).
    pub(crate) fn device(&self) -> &device::Device {
        &self.dev
    }

    /// Runs `f` with the device as a bound device; ENODEV once it is not.
    /// Unbind waits for `f`: keep it short.
    pub(crate) fn with_bound<R>(
        &self,
        f: impl FnOnce(&device::Device<device::Bound>) -> R,
    ) -> Result<R> {
        let state = self.state.lock();
        if !state.bound {
            return Err(ENODEV);
        }
        // SAFETY: `bound` is only cleared under `state`, which we hold, and the
        // device core's unbind clears it (`UnbindMark`) before the device is
        // unbound; so the device stays bound until the guard drops after `f`.
        let dev = unsafe { self.dev.as_bound() };
        let result = f(dev);
        drop(state);
        Ok(result)
    }

    /// Remembers an open file's address space until the returned value is
    /// dropped (at the file's release); ENODEV once unbound.
    pub(crate) fn file_opened(self: &Arc<Self>, file: &File) -> Result<OpenFile> {
        let space = FileSpace::of(file);
        let mapping = space.mapping as usize;
        let mut state = self.state.lock();
        if !state.bound {
            return Err(ENODEV);
        }
        if let Some(entry) = state
            .spaces
            .iter_mut()
            .find(|(s, _)| s.mapping == space.mapping)
        {
            entry.1 += 1;
        } else {
            state.spaces.push((space, 1), GFP_KERNEL)?;
        }
        Ok(OpenFile {
            binding: self.clone(),
            mapping,
        })
    }

    /// Forgets one open of the address space `mapping`.
    fn file_closed(&self, mapping: usize) {
        let gone = {
            let mut state = self.state.lock();
            let Some(pos) = state
                .spaces
                .iter()
                .position(|(s, _)| s.mapping as usize == mapping)
            else {
                return;
            };
            state.spaces[pos].1 -= 1;
            if state.spaces[pos].1 != 0 {
                return;
            }
            state.spaces.remove(pos).ok()
        };
        // The inode reference goes outside the lock.
        drop(gone);
    }

    /// The driver's unbind: from now on the device is gone to its files, and
    /// every user mapping of an open file loses its page table entries.
    pub(crate) fn unbind(&self) {
        let mut state = self.state.lock();
        state.bound = false;
        for (space, _) in state.spaces.iter() {
            space.zap();
        }
    }
}
