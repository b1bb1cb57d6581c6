# Fresh machine: `make demo` runs the main job on the bundled example, `make test` runs every test.
# Both install what they need first (npm packages, Debian packages, Wine), quietly and only when missing.
SHELL := /bin/bash
NODE_TEST := node --import tsx --test --test-reporter=spec --test-concurrency=2
TS_SOURCES := $(shell find src -name '*.ts')

.PHONY: all deps build release test test-unit demo bench clean

all: build

node_modules/.package-lock.json: package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

deps: node_modules/.package-lock.json
	@scripts/install-deps.sh

dist/.built: $(TS_SOURCES) tsconfig.json node_modules/.package-lock.json
	npx tsc -p tsconfig.json
	@touch $@

# The Windows restore assistant (Node 22 SEA); the script itself skips work when nothing changed.
build/assistant.exe: $(TS_SOURCES) scripts/build-assistant.mjs scripts/lib/sea.mjs package.json node_modules/.package-lock.json
	node scripts/build-assistant.mjs

.cache/wine/.lifeboat-win10: scripts/setup-wine.sh
	scripts/setup-wine.sh >/dev/null

build: deps dist/.built build/assistant.exe

# The portable executables: dist/release/lifeboat-win-x64.exe, lifeboat-linux-x64 and SHA256SUMS (Node SEA builds of
# the whole CLI). The script skips the slow part (postject) when bundle, assets and tools are unchanged.
release: build
	node scripts/build-release.mjs

test: build release .cache/wine/.lifeboat-win10
	$(NODE_TEST) test/unit/*.test.ts test/integration/*.test.ts

test-unit: build
	$(NODE_TEST) test/unit/*.test.ts

demo: build
	node bin/lifeboat.js demo --out dist/demo

bench: build
	node --import tsx bench/iso/run.ts
	node --import tsx bench/assistant/catalog.ts

clean:
	rm -rf dist build .cache
