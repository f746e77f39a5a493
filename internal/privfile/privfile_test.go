package privfile

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCreate(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "key.txt")
	f, err := Create(name)
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("{\r\n  \"secret\": \"x\"\r\n}\r\n")
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(name); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read back %q: %v", got, err)
	}
	if err := Check(name); err != nil {
		t.Errorf("a file from Create: %v", err)
	}
	// The check can fail: a file made the ordinary way is readable by others
	// (mode 0644; on Windows, and under Wine, the folder's inherited list).
	plain := filepath.Join(dir, "plain.txt")
	if err := os.WriteFile(plain, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Check(plain); err == nil {
		t.Error("Check passes a file everyone can read")
	}

	if _, err := Create(name); !errors.Is(err, fs.ErrExist) {
		t.Errorf("Create over an existing file: %v", err)
	}
	if got, _ := os.ReadFile(name); !bytes.Equal(got, data) {
		t.Error("a refused Create changed the file")
	}
	if _, err := Create(filepath.Join(dir, "no", "such", "folder", "k.txt")); err == nil || errors.Is(err, fs.ErrExist) {
		t.Errorf("Create in a missing folder: %v", err)
	}
}

func TestCreateTemp(t *testing.T) {
	dir := t.TempDir()
	seen := map[string]bool{}
	for range 20 {
		f, err := CreateTemp(dir, ".key.txt.tmp-*")
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
		base := filepath.Base(f.Name())
		if filepath.Dir(f.Name()) != dir || !strings.HasPrefix(base, ".key.txt.tmp-") || len(base) == len(".key.txt.tmp-") || seen[base] {
			t.Fatalf("temporary file %q", f.Name())
		}
		seen[base] = true
		if err := Check(f.Name()); err != nil {
			t.Error(err)
		}
	}
	if _, err := CreateTemp(dir, "a/b*"); err == nil {
		t.Error("a pattern with a separator was taken")
	}
}

func TestWriteNewAndReplace(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "key.txt")
	first, second := []byte("first key\r\n"), []byte("second, longer key\r\n")
	if err := WriteNew(name, first); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(name); !bytes.Equal(got, first) {
		t.Fatalf("WriteNew wrote %q", got)
	}
	if err := Check(name); err != nil {
		t.Error(err)
	}
	if err := WriteNew(name, second); !errors.Is(err, fs.ErrExist) {
		t.Errorf("WriteNew over an existing file: %v", err)
	}
	if got, _ := os.ReadFile(name); !bytes.Equal(got, first) {
		t.Error("a refused WriteNew changed the file")
	}

	// Replace: over a file others could read, the result is owner-only.
	if err := os.Chmod(name, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Replace(name, second); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(name); !bytes.Equal(got, second) {
		t.Errorf("Replace wrote %q", got)
	}
	if err := Check(name); err != nil {
		t.Error(err)
	}
	// And onto a name that is free.
	fresh := filepath.Join(dir, "fresh.txt")
	if err := Replace(fresh, first); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(fresh); !bytes.Equal(got, first) {
		t.Errorf("Replace onto a free name wrote %q", got)
	}

	// A folder is refused and left alone.
	sub := filepath.Join(dir, "folder")
	if err := os.Mkdir(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := Replace(sub, first); err == nil {
		t.Error("Replace took a folder")
	}
	if fi, err := os.Stat(sub); err != nil || !fi.IsDir() {
		t.Errorf("the folder is gone: %v", err)
	}
	if err := WriteNew(sub, first); !errors.Is(err, fs.ErrExist) {
		t.Errorf("WriteNew onto a folder: %v", err)
	}
	leftovers, _ := filepath.Glob(filepath.Join(dir, ".*tmp*"))
	if len(leftovers) != 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}
}
