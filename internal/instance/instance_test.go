package instance

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofrs/flock"

	"github.com/calmkey/calmkey/internal/privfile"
)

// start is Start in dir with a short wait.
func start(t *testing.T, dir string, wait time.Duration) (*Instance, error) {
	t.Helper()
	return Start(context.Background(), Options{Dir: dir, Service: "calmkey-test", Wait: wait})
}

// first starts the running instance; it is closed when the test ends.
func first(t *testing.T, dir string) *Instance {
	t.Helper()
	in, err := start(t, dir, time.Second)
	if err != nil {
		t.Fatalf("the first start: %v", err)
	}
	t.Cleanup(func() { in.Close() })
	return in
}

func readAddr(t *testing.T, dir string) addrFile {
	t.Helper()
	_, addrPath, err := Paths(dir, "calmkey-test")
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(addrPath)
	if err != nil {
		t.Fatal(err)
	}
	var a addrFile
	if err := json.Unmarshal(data, &a); err != nil {
		t.Fatalf("address file %q: %v", data, err)
	}
	return a
}

func TestPaths(t *testing.T) {
	dir := t.TempDir()
	lock, addr, err := Paths(dir, "calmkey-test-1")
	if err != nil {
		t.Fatal(err)
	}
	if lock != filepath.Join(dir, "instance-calmkey-test-1.lock") || addr != filepath.Join(dir, "instance-calmkey-test-1.addr") {
		t.Errorf("Paths = %q, %q", lock, addr)
	}
	other, _, _ := Paths(dir, "calmkey-test-2")
	odd, _, _ := Paths(dir, `a/b\c`)
	if other == lock || filepath.Dir(odd) != dir {
		t.Errorf("services share a lock or leave the folder: %q %q", other, odd)
	}
}

func TestSecondStartShowsTheFirst(t *testing.T) {
	dir := t.TempDir()
	in := first(t, dir)
	var shows atomic.Int32
	in.Serve(func() bool { shows.Add(1); return true })

	_, err := start(t, dir, 5*time.Second)
	var ie *Error
	if !errors.Is(err, ErrRunning) || !errors.As(err, &ie) {
		t.Fatalf("a second start: %v, want ErrRunning", err)
	}
	if ie.PID != os.Getpid() {
		t.Errorf("the running instance's pid: %d, want %d", ie.PID, os.Getpid())
	}
	if err.Error() != "calmkey is already running; its window was brought to the front" {
		t.Errorf("message %q", err)
	}
	if n := shows.Load(); n != 2 {
		t.Errorf("the window was shown %d times, want 2 (the second confirms)", n)
	}
	// The address file is the user's alone.
	_, addrPath, _ := Paths(dir, "calmkey-test")
	if err := privfile.Check(addrPath); err != nil {
		t.Error(err)
	}
	// Another service is another instance.
	other, err := Start(context.Background(), Options{Dir: dir, Service: "calmkey-test-other", Wait: time.Second})
	if err != nil {
		t.Fatalf("a start for another service: %v", err)
	}
	other.Close()
}

// A request that comes while the running app is still setting up its window
// waits for Serve.
func TestRequestWaitsForServe(t *testing.T) {
	dir := t.TempDir()
	in := first(t, dir)
	done := make(chan error, 1)
	go func() { _, err := start(t, dir, 10*time.Second); done <- err }()
	select {
	case err := <-done:
		t.Fatalf("the second start ended before the first served: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	in.Serve(func() bool { return true })
	if err := <-done; !errors.Is(err, ErrRunning) {
		t.Fatalf("a second start: %v, want ErrRunning", err)
	}
}

// request sends one raw request line to the running instance and returns
// its answer ("" when it closes the connection without one).
func request(t *testing.T, port int, line string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	// A long line may be cut off by the server closing: a write error then
	// is an answer too.
	if _, err := io.WriteString(c, line); err != nil {
		return ""
	}
	answer, _ := bufio.NewReader(c).ReadString('\n')
	return answer
}

func TestWrongTokenRefused(t *testing.T) {
	dir := t.TempDir()
	in := first(t, dir)
	var shows atomic.Int32
	in.Serve(func() bool { shows.Add(1); return true })
	a := readAddr(t, dir)
	wrong := strings.Repeat("ab", 32)
	for _, line := range []string{
		magic + " show " + wrong + " 00\n",
		magic + " show " + a.Token[:len(a.Token)-2] + " 00\n", // a prefix of the token
		magic + " show  00\n",
		magic + " raise " + a.Token + " 00\n",
		"GET / HTTP/1.1\r\n\r\n",
		strings.Repeat("x", 10000) + "\n",
	} {
		if got := request(t, a.Port, line); got != "" {
			t.Errorf("request %.40q answered %q", line, got)
		}
	}
	if n := shows.Load(); n != 0 {
		t.Fatalf("requests without the token showed the window %d times", n)
	}
	// The check can fail: with the token, the window is shown and the
	// answer carries the proof.
	got := request(t, a.Port, magic+" show "+a.Token+" 0011\n")
	token, _ := hex.DecodeString(a.Token)
	if want := statusShown + " " + mac(token, statusShown, "0011") + "\n"; got != want {
		t.Errorf("answer %q, want %q", got, want)
	}
	if n := shows.Load(); n != 1 {
		t.Errorf("shown %d times, want 1", n)
	}
}

// A file left by an instance that is gone (a crash) points at a port that
// no one, or some other program, listens on: neither stops a start nor
// fools one.
func TestStaleAddressFile(t *testing.T) {
	dir := t.TempDir()
	_, addrPath, _ := Paths(dir, "calmkey-test")
	// Some other program on the port answers "shown" without the proof.
	impostor, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer impostor.Close()
	go func() {
		for {
			c, err := impostor.Accept()
			if err != nil {
				return
			}
			fmt.Fprintf(c, "shown %s\n", strings.Repeat("0", 64))
			c.Close()
		}
	}()
	stale, _ := json.Marshal(addrFile{PID: 999999, Port: impostor.Addr().(*net.TCPAddr).Port, Token: strings.Repeat("cd", 32)})
	if err := os.WriteFile(addrPath, stale, 0o600); err != nil {
		t.Fatal(err)
	}

	// The lock is free: the start takes it and writes a new file.
	in, err := start(t, dir, time.Second)
	if err != nil {
		t.Fatalf("start beside a stale address file: %v", err)
	}
	if a := readAddr(t, dir); a.PID != os.Getpid() || a.Token == strings.Repeat("cd", 32) {
		t.Errorf("the address file was not renewed: %+v", a)
	}
	in.Close()

	// The lock held by someone who wrote no file (or a stale one): the
	// impostor's "shown" is not believed, and the start ends with ErrNoAnswer
	// after its wait.
	if err := os.WriteFile(addrPath, stale, 0o600); err != nil {
		t.Fatal(err)
	}
	lockPath, _, _ := Paths(dir, "calmkey-test")
	holder := flock.New(lockPath)
	if ok, err := holder.TryLock(); !ok || err != nil {
		t.Fatalf("lock: %v %v", ok, err)
	}
	defer holder.Unlock()
	t0 := time.Now()
	_, err = start(t, dir, 500*time.Millisecond)
	var ie *Error
	if !errors.Is(err, ErrNoAnswer) || !errors.As(err, &ie) {
		t.Fatalf("start while the lock is held and no one answers: %v", err)
	}
	if d := time.Since(t0); d < 500*time.Millisecond || d > 5*time.Second {
		t.Errorf("gave up after %v, want the wait of 500ms", d)
	}
	if ie.PID != 999999 || !strings.Contains(err.Error(), "process 999999") || !strings.Contains(err.Error(), "start calmkey again") {
		t.Errorf("message %q", err)
	}
}

// A closing instance answers "closing" (its window is going away): a new
// start waits for its lock instead, and then becomes the instance.
func TestWaitForClosingInstance(t *testing.T) {
	dir := t.TempDir()
	old := first(t, dir)
	var asked atomic.Int32
	old.Serve(func() bool { asked.Add(1); return false })
	const closing = 400 * time.Millisecond
	time.AfterFunc(closing, func() { old.Close() })
	t0 := time.Now()
	in, err := start(t, dir, 10*time.Second)
	if err != nil {
		t.Fatalf("start while the old instance closes: %v", err)
	}
	defer in.Close()
	if d := time.Since(t0); d < closing-50*time.Millisecond {
		t.Errorf("took over after %v, before the old instance let go (%v)", d, closing)
	}
	if asked.Load() == 0 {
		t.Error("the closing instance was never asked")
	}
}

// An app that showed its window but then closes (the user closed it just
// before starting calmkey again, and the app read the close only after the
// request): the new start does not believe the first "shown", and takes
// over once the old one has gone.
func TestShownThenClosed(t *testing.T) {
	dir := t.TempDir()
	old := first(t, dir)
	var asked atomic.Int32
	old.Serve(func() bool {
		if asked.Add(1) == 1 {
			time.AfterFunc(100*time.Millisecond, func() { old.Close() })
			return true
		}
		return false
	})
	in, err := start(t, dir, 10*time.Second)
	if err != nil {
		t.Fatalf("start while the old instance shows and then closes: %v", err)
	}
	in.Close()
	if asked.Load() == 0 {
		t.Error("the old instance was never asked")
	}
}

// Requests from several starts at once are all answered.
func TestManyStartsInOneProcess(t *testing.T) {
	dir := t.TempDir()
	in := first(t, dir)
	var shows atomic.Int32
	in.Serve(func() bool { shows.Add(1); return true })
	var wg sync.WaitGroup
	errs := make(chan error, 7)
	for range 7 {
		wg.Add(1)
		go func() { defer wg.Done(); _, err := start(t, dir, 10*time.Second); errs <- err }()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if !errors.Is(err, ErrRunning) {
			t.Errorf("a start: %v", err)
		}
	}
	if n := shows.Load(); n != 14 {
		t.Errorf("shown %d times, want 14 (two for each start)", n)
	}
}
