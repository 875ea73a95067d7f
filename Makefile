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
#   IRQ=intx           every card interrupts through INTx (pci=nomsi)
#   SOAK=N             the racing cases race N times their base durations (default 1)
#   TESTS='suite ...'  qemu-test runs only these suites (e.g. TESTS=driver_core)
#   M=DIR              qemu-test/qemu-run: your out-of-tree module (C or Rust)
#                      instead of cardless.ko; qemu-test runs DIR/tests/run
#   TEST='...'         qemu-test M=DIR runs this command in DIR/tests instead
#   RESTORE=0          boot the guest instead of restoring a saved one (qemu-test, qemu-run CMD=)
#   CARDLESS_CACHE     cache directory (default ~/.cache/cardless)

SCRIPTS := qemu-scripts
export KERNEL ACCEL CARDS CMD CARDLESS_CACHE TIMEOUT DEVICE_ARGS TESTS IOMMU IRQ SOAK TRACE FAILFAST RESTORE M TEST MUTANTS_ARGS MUTANTS_OUT
# A relative M= is taken from where make was run (make -C changes directory).
export CARDLESS_CALLER_DIR := $(PWD)
# Command-line variables reach the scripts through the environment only:
# the kernel builds they start must not see M= as their own.
MAKEOVERRIDES :=

.PHONY: compile-commands qemu-test qemu-run qemu-bench card-death-test zoo-test timeline setup kernel build harness-selftest test check fmt clippy clippy-module clean fuzz mutants card-mutants

qemu-test:
	@$(SCRIPTS)/qemu-test.sh

qemu-run:
	@$(SCRIPTS)/qemu-run.sh

# Benchmarks that answer the seeds' questions (table, JSON, plots, guide tables).
qemu-bench:
	@$(SCRIPTS)/qemu-bench.sh

# compile_commands.json of M=DIR's module against the guest kernel (clangd, editors).
compile-commands:
	@$(SCRIPTS)/compile-commands.sh

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

# Mutation testing of the card model (cargo-mutants; hours on two cores):
# prints the score, fails if a mutant survived. MUTANTS_ARGS adds options
# (e.g. MUTANTS_ARGS='--file device/src/model/engine.rs'). device/MUTANTS.md.
card-mutants:
	@$(SCRIPTS)/card-mutants.sh

fmt:
	cargo fmt --all
	rustfmt --edition 2021 guest-driver/module/cardless_main.rs

# Also shellcheck of every shell script git tracks (*.sh, and any file with
# a sh/bash shebang: found via git ls-files, so new ones are included) at the
# default severity, style included: no class is switched off globally; the
# few deliberate cases carry a '# shellcheck disable=SCxxxx # why' in place.
# Installs shellcheck (apt, as root) on a fresh machine.
check:
	cargo fmt --all -- --check
	rustfmt --edition 2021 --check guest-driver/module/cardless_main.rs
	cargo clippy --workspace --all-targets -- -D warnings
	@$(SCRIPTS)/lint-shell.sh

# The kernel's own clippy over the module (M=DIR, default cardless's); needs
# the guest kernel, so not part of check (CI runs it once the kernel is there).
clippy-module:
	@$(SCRIPTS)/clippy-module.sh

clean:
	rm -rf build
	cargo clean
