package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
)

// On a console, delete asks: a pseudo console (ConPTY, which Wine has too)
// gives calmkeyctl.exe a real Windows console, typed into as a user types.
func TestE2EDeleteOnTerminal(t *testing.T) {
	testDeleteOnTerminal(t, func(c *cli, answer string) result {
		t.Helper()
		return onConsole(t, c, answer, "delete")
	})
}

// consoleShimEnv makes this test binary the console shim: it runs the
// program its arguments name with the console as standard input, output
// and error, and exits with its status. A program started on a pseudo
// console without standard handles gets the console's on Windows, not
// under Wine 8.0 (its handles stay empty), so the shim does what Windows
// does.
const consoleShimEnv = "CALMKEY_E2E_CONSOLE_SHIM"

func init() {
	if os.Getenv(consoleShimEnv) == "1" {
		os.Exit(consoleShim(os.Args[1:]))
	}
}

func consoleShim(args []string) int {
	in, err := os.OpenFile("CONIN$", os.O_RDWR, 0)
	if err != nil {
		return 125
	}
	out, err := os.OpenFile("CONOUT$", os.O_RDWR, 0)
	if err != nil {
		return 125
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = in, out, out
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, consoleShimEnv+"=") })
	err = cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return ee.ExitCode()
	case err != nil:
		fmt.Fprintln(out, "console shim:", err)
		return 125
	}
	return 0
}

// onConsole runs calmkeyctl with args on a pseudo console (through the
// console shim), waits for its question ("[y/N]"), types answer and Enter,
// and returns the exit status and what the console showed.
func onConsole(t *testing.T, c *cli, answer string, args ...string) result {
	t.Helper()
	var inRead, inWrite, outRead, outWrite windows.Handle
	if err := windows.CreatePipe(&inRead, &inWrite, nil, 0); err != nil {
		t.Fatal(err)
	}
	if err := windows.CreatePipe(&outRead, &outWrite, nil, 0); err != nil {
		t.Fatal(err)
	}
	// Wide enough that the question is not wrapped.
	var console windows.Handle
	err := windows.CreatePseudoConsole(windows.Coord{X: 200, Y: 25}, inRead, outWrite, 0, &console)
	// The console holds its own copies.
	windows.CloseHandle(inRead)
	windows.CloseHandle(outWrite)
	if err != nil {
		t.Fatalf("CreatePseudoConsole: %v", err)
	}
	keys := os.NewFile(uintptr(inWrite), "console input")
	defer keys.Close()
	screen := os.NewFile(uintptr(outRead), "console output")
	defer screen.Close()
	consoleOpen := true
	closeConsole := func() {
		if consoleOpen {
			windows.ClosePseudoConsole(console)
			consoleOpen = false
		}
	}
	defer closeConsole()

	// The console blocks when its output is not read.
	var mu sync.Mutex
	var shown bytes.Buffer
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		buf := make([]byte, 4096)
		for {
			n, err := screen.Read(buf)
			mu.Lock()
			shown.Write(buf[:n])
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	text := func() string {
		mu.Lock()
		defer mu.Unlock()
		return shown.String()
	}

	attrs, err := windows.NewProcThreadAttributeList(1)
	if err != nil {
		t.Fatal(err)
	}
	defer attrs.Delete()
	// The attribute's value is the console handle itself.
	if err := attrs.Update(windows.PROC_THREAD_ATTRIBUTE_PSEUDOCONSOLE, *(*unsafe.Pointer)(unsafe.Pointer(&console)), unsafe.Sizeof(console)); err != nil {
		t.Fatal(err)
	}
	si := &windows.StartupInfoEx{ProcThreadAttributeList: attrs.List()}
	si.Cb = uint32(unsafe.Sizeof(*si))
	// No standard handles: else the shim gets this process's (pipes to go
	// test); it opens the console's itself.
	si.Flags = windows.STARTF_USESTDHANDLES
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmdLine, err := windows.UTF16PtrFromString(windows.ComposeCommandLine(append([]string{self, c.bin}, args...)))
	if err != nil {
		t.Fatal(err)
	}
	dir, err := windows.UTF16PtrFromString(c.dir)
	if err != nil {
		t.Fatal(err)
	}
	var pi windows.ProcessInformation
	err = windows.CreateProcess(nil, cmdLine, nil, nil, false,
		windows.EXTENDED_STARTUPINFO_PRESENT|windows.CREATE_UNICODE_ENVIRONMENT,
		envBlock(c.environ([]string{consoleShimEnv + "=1"})), dir, &si.StartupInfo, &pi)
	if err != nil {
		t.Fatalf("CreateProcess: %v", err)
	}
	defer windows.CloseHandle(pi.Process)
	windows.CloseHandle(pi.Thread)

	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(text(), "[y/N]") {
		if time.Now().After(deadline) {
			t.Fatalf("calmkeyctl %s did not ask on the console; it showed %q", strings.Join(args, " "), text())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := io.WriteString(keys, answer+"\r"); err != nil {
		t.Fatal(err)
	}
	if ev, err := windows.WaitForSingleObject(pi.Process, 30_000); err != nil || ev != windows.WAIT_OBJECT_0 {
		t.Fatalf("calmkeyctl %s did not end after the answer (%v); it showed %q", strings.Join(args, " "), err, text())
	}
	var code uint32
	if err := windows.GetExitCodeProcess(pi.Process, &code); err != nil {
		t.Fatal(err)
	}
	// Closing the console flushes what it has and ends its output, at once
	// when this test runs alone. Beside parallel tests Wine's console host
	// sometimes lingers: what calmkeyctl printed is in by now anyway.
	closeConsole()
	select {
	case <-drained:
	case <-time.After(5 * time.Second):
	}
	return result{code: int(code), stdout: text()}
}

// envBlock is env as CreateProcess takes it: NUL-separated UTF-16, ending
// in two NULs.
func envBlock(env []string) *uint16 {
	var b []uint16
	for _, kv := range env {
		u, err := windows.UTF16FromString(kv) // ends in a NUL
		if err != nil {
			continue // a NUL inside: no such variable can exist
		}
		b = append(b, u...)
	}
	b = append(b, 0)
	return &b[0]
}
