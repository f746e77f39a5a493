package main

import (
	"strings"
	"testing"
)

// events writes 'go test -json' lines, one per argument ("Action Package
// [Test] [Output]").
func events(lines ...string) string {
	var b strings.Builder
	for _, l := range lines {
		f := strings.SplitN(l, " ", 4)
		b.WriteString(`{"Action":"` + f[0] + `","Package":"` + f[1] + `"`)
		if len(f) > 2 && f[2] != "-" {
			b.WriteString(`,"Test":"` + f[2] + `"`)
		}
		if len(f) > 3 {
			b.WriteString(`,"Output":"` + f[3] + `\n"`)
		}
		b.WriteString(`,"Elapsed":1.5}` + "\n")
	}
	return b.String()
}

func TestSummary(t *testing.T) {
	passing := events(
		"run p TestA", "output p TestA === RUN TestA", "pass p TestA",
		"run p TestB", "run p TestB/x", "pass p TestB/x", "pass p TestB",
		"output p - PASS", "pass p",
		"skip q",
	)
	failing := events(
		"run r TestC", "output r TestC oops: got 1", "fail r TestC",
		"run r TestD", "output r TestD needs the session", "skip r TestD",
		"output r - FAIL", "fail r",
	)
	skipping := events(
		"run s TestE", "output s TestE needs the session", "skip s TestE", "pass s",
	)
	for _, tt := range []struct {
		name    string
		in      string
		noSkip  bool
		ok      bool
		want    []string
		notWant []string
	}{
		{"all pass", passing, true, true,
			[]string{"ok   p 2 tests: 2 passed (and 1 subtests) 1.5s", "?    q [no test files]", "run: passed: 2 tests in 2 packages (2 passed, 0 failed, 0 skipped)"},
			[]string{"=== RUN", "PASS"}},
		{"a test fails", passing + failing, false, false,
			[]string{"oops: got 1", "needs the session", "FAIL r 2 tests: 0 passed, 1 failed, 1 skipped", "run: FAILED: 4 tests in 3 packages"},
			nil},
		{"a skip, allowed", skipping, false, true,
			[]string{"needs the session", "ok   s 1 tests: 0 passed, 1 skipped"}, nil},
		{"a skip, not allowed", skipping, true, false,
			[]string{"needs the session", "FAIL s 1 tests: 0 passed, 1 skipped", "run: FAILED"}, nil},
		{"a binary that dies", events("run t TestF", "output t - panic: boom"), false, false,
			[]string{"panic: boom", "FAIL t [no result]"}, nil},
		{"build failure", `{"ImportPath":"u [u.test]","Action":"build-output","Output":"u/x.go:1: syntax error\n"}` + "\n" +
			`{"ImportPath":"u [u.test]","Action":"build-fail"}` + "\n" + "FAIL\tu [build failed]\n", false, false,
			[]string{"u/x.go:1: syntax error", "FAIL u [u.test] [build failed]", "FAIL\tu [build failed]"}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var out strings.Builder
			ok := summarize(strings.NewReader(tt.in), &out, tt.noSkip, "run")
			if ok != tt.ok {
				t.Errorf("summarize = %v, want %v", ok, tt.ok)
			}
			for _, w := range tt.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("report lacks %q:\n%s", w, out.String())
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(out.String(), w) {
					t.Errorf("report has %q:\n%s", w, out.String())
				}
			}
		})
	}
}
