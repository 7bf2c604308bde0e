# Thin wrapper over CMake. `make run` and `make test` do all the set-up on a fresh Debian machine.
BUILD ?= build
JOBS ?= $(shell nproc)

.PHONY: all deps model build run test bench clean

all: build

deps:
	@scripts/deps

model:
	@scripts/fetch-model

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

run: deps build model
	@scripts/run

test: deps build
	@scripts/test

bench: deps build model
	@scripts/bench

clean:
	rm -rf $(BUILD) build-asan
