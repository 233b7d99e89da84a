# MetisVM developer commands. Fixtures default to ../shared/fixtures; override with
# `make conformance FIXTURES=/path/to/fixtures` (or the METISVM_FIXTURES environment variable).

FIXTURES ?= $(if $(METISVM_FIXTURES),$(METISVM_FIXTURES),../shared/fixtures)
export METISVM_FIXTURES := $(abspath $(FIXTURES))
# The `ci` profile is release optimisation without LTO: much faster to build, same code paths.
PROFILE ?= ci
BIN := target/$(PROFILE)/metisvm

.PHONY: build test unit conformance statetests replay mpef-conformance jit-conformance bench fmt lint clean

build:
	cargo build --release -p metisvm

# Unit tests, the trie/RLP/transaction vectors and the mainnet replay test, then the
# state-test suites and block replay through the CLI: all with optimisations on.
test: unit conformance

# The default members, plus the bench crate's differential tests (revm vs MetisVM).
unit:
	cargo test --profile $(PROFILE)
	cargo test --profile $(PROFILE) -p metisvm-bench

$(BIN): FORCE
	cargo build --profile $(PROFILE) -p metisvm

conformance: statetests replay mpef-conformance jit-conformance

statetests: $(BIN)
	$(BIN) statetest $(FIXTURES)/ethereum-tests/GeneralStateTests
	$(BIN) statetest $(FIXTURES)/eest/prague
	$(BIN) statetest $(FIXTURES)/eest/osaka

replay: $(BIN)
	$(BIN) replay $(FIXTURES)/mainnet-blocks
	rm -rf target/replay-db
	$(BIN) replay --db target/replay-db $(FIXTURES)/mainnet-blocks
	rm -rf target/replay-db

# MPEF, the parallel executor: every state-test case as a one-transaction block, and every
# mainnet block, on two workers, under Block-STM and under optimistic runs; each must equal
# the sequential run (receipts, logs, root).
mpef-conformance: $(BIN)
	$(BIN) statetest --threads 2 $(FIXTURES)/ethereum-tests/GeneralStateTests
	$(BIN) statetest --threads 2 $(FIXTURES)/eest/prague
	$(BIN) statetest --threads 2 $(FIXTURES)/eest/osaka
	$(BIN) replay --threads 2 $(FIXTURES)/mainnet-blocks
	$(BIN) statetest --threads 2 --strategy runs $(FIXTURES)/ethereum-tests/GeneralStateTests
	$(BIN) statetest --threads 2 --strategy runs $(FIXTURES)/eest/prague
	$(BIN) statetest --threads 2 --strategy runs $(FIXTURES)/eest/osaka
	$(BIN) replay --threads 2 --strategy runs $(FIXTURES)/mainnet-blocks

# The same suites with every deployed contract compiled before it first runs.
jit-conformance: $(BIN)
	$(BIN) statetest --jit always $(FIXTURES)/ethereum-tests/GeneralStateTests
	$(BIN) statetest --jit always $(FIXTURES)/eest/prague
	$(BIN) statetest --jit always $(FIXTURES)/eest/osaka
	$(BIN) replay --jit always --threads 2 $(FIXTURES)/mainnet-blocks
	$(BIN) replay --jit always --threads 2 --strategy runs $(FIXTURES)/mainnet-blocks

bench:
	cargo bench -p metisvm-bench

fmt:
	cargo fmt --all

lint:
	cargo fmt --all -- --check
	cargo clippy --all-targets -- -D warnings

clean:
	cargo clean

FORCE:
