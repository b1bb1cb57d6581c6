# Fresh machine: `make demo` runs the main job on the bundled example, `make test` runs every test.
# Both install what they need (npm packages, Debian packages) first, quietly and only when missing.
SHELL := /bin/bash
NODE_TEST := node --import tsx --test --test-reporter=spec --test-concurrency=2

.PHONY: all deps build test test-unit test-integration demo bench clean

all: build

node_modules/.package-lock.json: package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

deps: node_modules/.package-lock.json
	@scripts/install-deps.sh

build: deps
	npx tsc -p tsconfig.json

test: build
	$(NODE_TEST) test/unit/*.test.ts test/integration/*.test.ts

test-unit: build
	$(NODE_TEST) test/unit/*.test.ts

demo: build
	node bin/lifeboat.js demo --out dist/demo

bench: build
	node --import tsx bench/iso/run.ts

clean:
	rm -rf dist build .cache
