# calmkey: make run (set up, build, start the app) and make test (set up, run
# every check and test inside the test session). See README.md.

GO        ?= go
SESSION   := scripts/test-session
BENCHTIME ?= 1s
FUZZTIME  ?= 30s
STARTUPRUNS ?= 10
# Release builds opt in to Fyne's fyne.Do threading checks being migrated.
TAGS      := migrated_fynedo
VERSION   ?= $(shell sed -n 's/^Version *= *"\(.*\)"/\1/p' FyneApp.toml)
LDFLAGS   := -X main.version=$(VERSION)

.PHONY: run test test-windows build deps deps-test lint bench fuzz package clean

run: deps build
	./bin/calmkey

deps:
	@scripts/deps.sh build

deps-test:
	@scripts/deps.sh test

build: deps
	$(GO) build -tags $(TAGS) -ldflags '$(LDFLAGS)' -o bin/calmkey ./cmd/calmkey
	CGO_ENABLED=0 $(GO) build -ldflags '$(LDFLAGS)' -o bin/calmkeyctl ./cmd/calmkeyctl

lint:
	@out=$$(gofmt -l .); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet -tags $(TAGS) ./...
	$(GO) tool staticcheck -tags $(TAGS) ./...
	CGO_ENABLED=0 $(GO) build -o /dev/null ./cmd/calmkeyctl ./vault ./almtest

test: deps-test lint
	$(SESSION) $(GO) test -race -tags $(TAGS) -count=1 ./...
	@$(MAKE) --no-print-directory test-windows

# The cgo-free packages' tests cross-compiled for windows/amd64 and run under
# Wine in a throwaway prefix, calmkeyctl.exe included (scripts/wine/test).
test-windows: deps-test
	CALMKEY_VERSION='$(VERSION)' CALMKEY_LDFLAGS='$(LDFLAGS)' $(SESSION) scripts/wine/test

# The start-up benchmark launches real windows (about 2 s each), so it runs
# a fixed number of times instead of for BENCHTIME.
bench: deps-test
	$(SESSION) $(GO) test -tags $(TAGS) -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) \
	  $$($(GO) list ./... | grep -v '/cmd/calmkey$$')
	$(SESSION) $(GO) test -tags $(TAGS) -run '^$$' -bench Startup -benchtime $(STARTUPRUNS)x ./cmd/calmkey

fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./vault

# fyne reads FyneApp.toml from the main package (cmd/calmkey/FyneApp.toml links
# to the one at the top); the icon is named here because the path written there
# is relative to the top. Writes calmkey.tar.xz.
package: deps
	$(GO) tool fyne package -os linux --src cmd/calmkey --icon $(CURDIR)/assets/icon.png

clean:
	rm -rf bin calmkey.tar.xz
