// Command testsum turns 'go test -json' into a short report: build errors,
// the output of every test that failed or was skipped, and one line per
// package with how many tests passed, failed and were skipped. It exits 1
// when a build, package or test failed and, with -noskip, also when a test
// was skipped.
//
// The Windows test run (scripts/wine/test) uses it with -noskip: there every
// test must run, and a skip means the test session's environment did not
// reach the program under Wine.
//
//	go test -json ./vault | go run ./internal/testsum -noskip -title "windows/amd64 under Wine"
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

func main() {
	noSkip := flag.Bool("noskip", false, "a skipped test fails the run")
	title := flag.String("title", "", "names the run in the last line")
	flag.Parse()
	if !summarize(os.Stdin, os.Stdout, *noSkip, *title) {
		os.Exit(1)
	}
}

// event is one line of 'go test -json' (cmd/test2json and the go command's
// build events).
type event struct {
	Action     string
	Package    string
	ImportPath string
	Test       string
	Output     string
	Elapsed    float64
}

type count struct{ passed, failed, skipped int }

func (c *count) add(action string) {
	switch action {
	case "pass":
		c.passed++
	case "fail":
		c.failed++
	case "skip":
		c.skipped++
	}
}

type pkg struct {
	out   strings.Builder             // output outside any test
	tests map[string]*strings.Builder // output of running tests
	top   count                       // top-level tests
	sub   count                       // subtests
}

// summarize reads events from r and writes the report to w; it reports
// whether the run passed.
func summarize(r io.Reader, w io.Writer, noSkip bool, title string) bool {
	pkgs := map[string]*pkg{}
	get := func(name string) *pkg {
		p := pkgs[name]
		if p == nil {
			p = &pkg{tests: map[string]*strings.Builder{}}
			pkgs[name] = p
		}
		return p
	}
	builds := map[string]*strings.Builder{}
	ok := true
	var total count
	npkgs := 0
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &e) != nil {
			fmt.Fprintf(w, "%s\n", line) // the go command's own words
			continue
		}
		switch e.Action {
		case "build-output":
			if builds[e.ImportPath] == nil {
				builds[e.ImportPath] = &strings.Builder{}
			}
			builds[e.ImportPath].WriteString(e.Output)
			continue
		case "build-fail":
			ok = false
			if b := builds[e.ImportPath]; b != nil {
				fmt.Fprint(w, b.String())
			}
			fmt.Fprintf(w, "FAIL %s [build failed]\n", e.ImportPath)
			continue
		}
		if e.Package == "" {
			continue
		}
		p := get(e.Package)
		if e.Test != "" {
			buf := p.tests[e.Test]
			if buf == nil {
				buf = &strings.Builder{}
				p.tests[e.Test] = buf
			}
			switch e.Action {
			case "output":
				buf.WriteString(e.Output)
			case "pass", "fail", "skip":
				c := &p.top
				if strings.Contains(e.Test, "/") {
					c = &p.sub
				}
				c.add(e.Action)
				if e.Action == "fail" || e.Action == "skip" {
					fmt.Fprint(w, buf.String())
				}
				delete(p.tests, e.Test)
			}
			continue
		}
		switch e.Action {
		case "output":
			p.out.WriteString(e.Output)
		case "pass", "fail", "skip":
			ok = report(w, e, p, noSkip) && ok
			npkgs++
			total.passed += p.top.passed
			total.failed += p.top.failed
			total.skipped += p.top.skipped
			delete(pkgs, e.Package)
		}
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintf(w, "testsum: reading go test -json: %v\n", err)
		ok = false
	}
	// Packages that never ended: the test binary died without a word.
	var left []string
	for name := range pkgs {
		left = append(left, name)
	}
	sort.Strings(left)
	for _, name := range left {
		fmt.Fprint(w, pkgs[name].out.String())
		fmt.Fprintf(w, "FAIL %s [no result]\n", name)
		ok = false
	}
	if npkgs == 0 && len(left) == 0 {
		fmt.Fprintln(w, "testsum: no package ran")
		ok = false
	}
	verdict := "passed"
	if !ok {
		verdict = "FAILED"
	}
	if title != "" {
		title += ": "
	}
	fmt.Fprintf(w, "%s%s: %d tests in %d packages (%d passed, %d failed, %d skipped)\n",
		title, verdict, total.passed+total.failed+total.skipped, npkgs, total.passed, total.failed, total.skipped)
	return ok
}

// report prints the line of a package that ended and says whether it passed.
func report(w io.Writer, e event, p *pkg, noSkip bool) bool {
	n := p.top.passed + p.top.failed + p.top.skipped
	if e.Action == "skip" && n == 0 {
		fmt.Fprintf(w, "?    %s [no test files]\n", e.Package)
		return true
	}
	passed := e.Action == "pass" && p.top.failed == 0 && p.sub.failed == 0
	if noSkip && p.top.skipped+p.sub.skipped > 0 {
		passed = false
	}
	status := "ok  "
	if !passed {
		status = "FAIL"
		// Tests that never ended: the binary died in them.
		var running []string
		for name := range p.tests {
			running = append(running, name)
		}
		sort.Strings(running)
		for _, name := range running {
			fmt.Fprintf(w, "%s (never ended):\n%s", name, p.tests[name].String())
		}
		fmt.Fprint(w, p.out.String())
	}
	fmt.Fprintf(w, "%s %s %d tests: %d passed", status, e.Package, n, p.top.passed)
	if p.top.failed > 0 {
		fmt.Fprintf(w, ", %d failed", p.top.failed)
	}
	if p.top.skipped > 0 {
		fmt.Fprintf(w, ", %d skipped", p.top.skipped)
	}
	if s := p.sub.passed + p.sub.failed + p.sub.skipped; s > 0 {
		fmt.Fprintf(w, " (and %d subtests", s)
		if p.sub.failed+p.sub.skipped > 0 {
			fmt.Fprintf(w, ": %d failed, %d skipped", p.sub.failed, p.sub.skipped)
		}
		fmt.Fprint(w, ")")
	}
	fmt.Fprintf(w, " %.1fs\n", e.Elapsed)
	return passed
}
