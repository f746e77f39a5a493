# calmkey: make run (set up, build, start the app) and make test (set up, run
# every check and test inside the test session); make dist builds the release
# downloads and make test-windows-app / test-dist test them. See README.md.

GO        ?= go
SESSION   := scripts/test-session
BENCHTIME ?= 1s
FUZZTIME  ?= 30s
STARTUPRUNS ?= 10
# Release builds opt in to Fyne's fyne.Do threading checks being migrated.
TAGS      := migrated_fynedo
VERSION   ?= $(shell sed -n 's/^Version *= *"\(.*\)"/\1/p' FyneApp.toml)
# The commit the binaries print beside VERSION; -dirty when the tree has
# uncommitted changes.
COMMIT    ?= $(shell git describe --always --dirty --abbrev=12 --exclude='*' 2>/dev/null || echo unknown)
LDFLAGS   := -X main.version=$(VERSION) -X main.commit=$(COMMIT)
# The release tests read dist/ (make dist) and start the packaged apps.
DISTTEST  := CALMKEY_DIST_COMMIT=$(COMMIT) $(SESSION) $(GO) test -tags $(TAGS),disttest -count=1 -timeout 30m ./packaging

.PHONY: run test test-windows build deps deps-test deps-dist lint bench fuzz package dist test-windows-app test-dist clean

run: deps build
	./bin/calmkey

deps:
	@scripts/deps.sh build

deps-test:
	@scripts/deps.sh test

deps-dist:
	@scripts/deps.sh dist

build: deps
	$(GO) build -tags $(TAGS) -ldflags '$(LDFLAGS)' -o bin/calmkey ./cmd/calmkey
	CGO_ENABLED=0 $(GO) build -ldflags '$(LDFLAGS)' -o bin/calmkeyctl ./cmd/calmkeyctl

lint:
	@out=$$(gofmt -l .); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet -tags $(TAGS) ./...
	$(GO) tool staticcheck -tags $(TAGS) ./...
	$(GO) vet -tags $(TAGS),disttest ./packaging
	$(GO) tool staticcheck -tags $(TAGS),disttest ./packaging
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

# The app against calmkeyctl under Xvfb: RACEROUNDS rounds of both storing a
# key at once (make test runs 3), and CHANGEROUNDS rounds of calmkeyctl
# delete and upload, each timed until the window shows it. -v prints the
# figures (wins, damaged loads, median and maximum time to show).
RACEROUNDS   ?= 50
CHANGEROUNDS ?= 10
.PHONY: test-app-race
test-app-race: deps-test
	CALMKEY_RACE_ROUNDS=$(RACEROUNDS) CALMKEY_CHANGE_ROUNDS=$(CHANGEROUNDS) $(SESSION) $(GO) test -tags $(TAGS) -count=1 -v -timeout 90m \
	  -run '^(TestAppRacesCLI|TestWindowShowsCLIChanges)$$' ./cmd/calmkey

fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./vault

# fyne reads FyneApp.toml from the main package (cmd/calmkey/FyneApp.toml links
# to the one at the top); the icon is named here because the path written there
# is relative to the top. For the system make runs on: writes calmkey.tar.xz on
# Linux, calmkey.app on macOS (which only a Mac can build).
package: deps
	$(GO) tool fyne package -os $$($(GO) env GOOS) --src cmd/calmkey --icon $(CURDIR)/assets/icon.png

# The release downloads for every OS, with SHA256SUMS (scripts/dist says what
# each file is). A failed build leaves dist/ as it was.
dist: deps deps-dist
	VERSION=$(VERSION) COMMIT=$(COMMIT) GO=$(GO) scripts/dist

# calmkey.exe from the zip in dist/, started under Wine on the test session's
# display and read back, with no key and with a key stored by calmkeyctl.exe.
test-windows-app: deps-test dist
	$(DISTTEST) -run '^TestWindowsApp'

# The other release tests: the contents of the zip and the tarball, the .deb
# unpacked into a throwaway root with its binaries started, calmkeyctl for
# every OS, SHA256SUMS.
test-dist: deps-test dist
	$(DISTTEST) -skip '^TestWindowsApp'

clean:
	rm -rf bin dist calmkey.tar.xz calmkey.app
