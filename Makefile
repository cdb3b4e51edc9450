# The two commands a new user needs (see README.md):
#   make run    set up, build, fetch the embedded models, run the pipeline on inputs/
#   make test   set up, build, fetch the embedded models, run the tests
#
# Everything is built once, in release mode with testing enabled, so the CLI and the test
# suite share one build (numeric code is 10-100x slower in debug builds).

SWIFT_FLAGS := -c release -Xswiftc -enable-testing
BIN := .build/release/pluralism
CONFIG ?= inputs/run.json

.PHONY: setup build model run test bench clean

setup:
	@scripts/setup.sh

build: setup
	swift build $(SWIFT_FLAGS)

model: build
	$(BIN) models fetch

run: model
	$(BIN) run --config $(CONFIG)

test: model
	swift test $(SWIFT_FLAGS)

bench: model
	$(BIN) bench engine
	$(BIN) bench audit
	$(BIN) bench pipeline

clean:
	rm -rf .build
