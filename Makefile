# cardless: an emulated PCIe streaming card (vfio-user server) and its Rust
# guest driver. The two commands a user needs:
#
#   make qemu-run      boot a guest with the card and the driver (a shell;
#                      CMD='...' runs one command and exits with its status)
#   make qemu-test     build what is stale, boot, run the driver's suite, judge
#
# Both do the whole set-up on first use (as root, on Debian 12). Variables:
#   KERNEL=debug|fast  guest kernel flavour (debug: KASAN, lockdep, ...; default debug)
#   ACCEL=auto|tcg|kvm accelerator (auto: KVM only if a probe boot works)
#   CARDS=N            number of cards attached (qemu-test: 2, qemu-run: 1)
#   IOMMU=1            boot with a guest IOMMU (VT-d): the card's DMA goes through IOVAs
#   TESTS='suite ...'  qemu-test runs only these suites (e.g. TESTS=driver_core)
#   RESTORE=0          boot the guest instead of restoring a saved one (qemu-test, qemu-run CMD=)
#   CARDLESS_CACHE     cache directory (default ~/.cache/cardless)

SCRIPTS := qemu-scripts
export KERNEL ACCEL CARDS CMD CARDLESS_CACHE TIMEOUT DEVICE_ARGS TESTS IOMMU TRACE FAILFAST RESTORE

.PHONY: qemu-test qemu-run qemu-bench card-death-test zoo-test timeline setup kernel build harness-selftest test check fmt clippy clean fuzz mutants

qemu-test:
	@$(SCRIPTS)/qemu-test.sh

qemu-run:
	@$(SCRIPTS)/qemu-run.sh

# Benchmarks that answer the seeds' questions (table, JSON, plots, guide tables).
qemu-bench:
	@$(SCRIPTS)/qemu-bench.sh

# The pieces, for when you want only one.
setup:
	@$(SCRIPTS)/setup.sh

kernel: setup
	@$(SCRIPTS)/build-kernel.sh

build:
	@$(SCRIPTS)/build.sh

# Only the card_death suite (every two-card qemu-test runs it last): hot-unplug
# of card 1, then card 0's server SIGKILLed mid-stream behind its link.
card-death-test:
	@$(SCRIPTS)/card-death-test.sh

# The bug zoo: the module's test build with classic driver bugs, each caught twice alike.
zoo-test:
	@$(SCRIPTS)/zoo-test.sh

# A card's trace as a timeline (JSON for Perfetto/chrome://tracing, and a PNG):
# TRACE=FILE, default the last zoo-test's card 0. Prints where they are.
timeline:
	@$(SCRIPTS)/timeline.sh

# The mutation catalogue (guest-driver/mutants.toml): each realistic driver
# bug planted in turn, the suite run (stopping at the first failure), the
# source restored; a table of what caught each. MUTANTS='--only ID ...' or
# '--sample N' (CI: a daily-rotating sample); '--list' lists the catalogue.
mutants:
	@cargo run --release --quiet -p cardless-mutants -- $(MUTANTS)

# The harness checks itself: failures and kernel splats turn it red, Ctrl-C leaves nothing.
harness-selftest:
	@$(SCRIPTS)/harness-selftest.sh

# Host-side tests of the workspace (device model, protocol, verdict parser).
test:
	cargo test --workspace

# Fuzz the device (cargo-fuzz, nightly): FUZZ_SECONDS per target (default 60),
# fails on a crash, hang or fd leak and prints the reproducer's path.
fuzz:
	@FUZZ_SECONDS=$${FUZZ_SECONDS:-60} $(SCRIPTS)/fuzz.sh

fmt:
	cargo fmt --all
	rustfmt --edition 2021 guest-driver/module/cardless_main.rs

check:
	cargo fmt --all -- --check
	rustfmt --edition 2021 --check guest-driver/module/cardless_main.rs
	cargo clippy --workspace --all-targets -- -D warnings

clean:
	rm -rf build
	cargo clean
