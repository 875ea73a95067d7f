//! Guest-side code shared by the test suite (`cardless-tests`) and the
//! benchmark (`cardless-bench`): the card handle, KTAP output, sysfs lookup,
//! the verifying stream reader, the kernel log, the run's command line,
//! polling with a deadline.

pub mod card;
pub mod cmdline;
pub mod debug_window;
pub mod kmsg;
pub mod ktap;
pub mod live_buffers;
pub mod memtype;
pub mod pci;
pub mod scratch;
pub mod stream_reader;
pub mod wait;
