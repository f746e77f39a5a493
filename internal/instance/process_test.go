package instance

// Instances in processes of their own: the test binary started again as a
// child (TestMain), as calmkey is started again by a user.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

const childEnv = "CALMKEY_INSTANCE_TEST_CHILD"

func TestMain(m *testing.M) {
	if dir := os.Getenv(childEnv); dir != "" {
		os.Exit(child(dir))
	}
	os.Exit(m.Run())
}

// child is one start: it prints "primary" and serves until its stdin ends,
// or prints how Start ended.
func child(dir string) int {
	in, err := Start(context.Background(), Options{Dir: dir, Service: "calmkey-test", Wait: 20 * time.Second})
	switch {
	case err == nil:
		in.Serve(func() bool { return true })
		fmt.Println("primary")
		_, _ = io.Copy(io.Discard, os.Stdin)
		return 0
	case errors.Is(err, ErrRunning):
		fmt.Println("running")
		return 0
	case errors.Is(err, ErrNoAnswer):
		fmt.Println("no answer")
		return 3
	default:
		fmt.Println("error:", err)
		return 4
	}
}

type proc struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	first chan string // the first line it prints
}

func startChild(t *testing.T, dir string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(os.Args[0], "-test.run=^$"), first: make(chan string, 1)}
	p.cmd.Env = append(os.Environ(), childEnv+"="+dir)
	p.cmd.Stderr = os.Stderr
	var err error
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		p.first <- strings.TrimSpace(line)
		_, _ = io.Copy(io.Discard, out)
	}()
	t.Cleanup(func() {
		p.stdin.Close()
		if p.cmd.ProcessState == nil {
			done := make(chan struct{})
			go func() { _ = p.cmd.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				_ = p.cmd.Process.Kill()
				<-done
			}
		}
	})
	return p
}

func (p *proc) line(t *testing.T) string {
	t.Helper()
	select {
	case l := <-p.first:
		return l
	case <-time.After(60 * time.Second):
		t.Fatal("a child printed nothing within 60 s")
		return ""
	}
}

// A crashed instance leaves its files behind but not its lock: the next
// start runs.
func TestCrashedInstanceLeavesNoStaleLock(t *testing.T) {
	dir := t.TempDir()
	p := startChild(t, dir)
	if l := p.line(t); l != "primary" {
		t.Fatalf("the child: %q", l)
	}
	// While it runs, a start here is answered by it.
	if _, err := start(t, dir, 10*time.Second); !errors.Is(err, ErrRunning) {
		t.Fatalf("a start beside a running child: %v", err)
	}
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = p.cmd.Wait()
	if a := readAddr(t, dir); a.PID != p.cmd.Process.Pid {
		t.Fatalf("the crashed child's address file: %+v", a)
	}
	in, err := start(t, dir, 5*time.Second)
	if err != nil {
		t.Fatalf("a start after the running one crashed: %v", err)
	}
	in.Close()
}

// Eight starts at once: one runs, seven find it and exit 0.
func TestEightStartsAtOnce(t *testing.T) {
	dir := t.TempDir()
	var procs []*proc
	for range 8 {
		procs = append(procs, startChild(t, dir))
	}
	var mu sync.Mutex
	count := map[string]int{}
	var primary *proc
	for _, p := range procs {
		l := p.line(t)
		mu.Lock()
		count[l]++
		if l == "primary" {
			primary = p
		}
		mu.Unlock()
	}
	if count["primary"] != 1 || count["running"] != 7 {
		t.Fatalf("eight starts: %v, want 1 primary and 7 running", count)
	}
	for _, p := range procs {
		if p == primary {
			continue
		}
		if err := p.cmd.Wait(); err != nil {
			t.Errorf("a second start exited with %v", err)
		}
	}
	primary.stdin.Close()
	if err := primary.cmd.Wait(); err != nil {
		t.Errorf("the running one: %v", err)
	}
}
