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

// WriteFile writes whole files readable by the owner alone; without
// replace it refuses an existing name, with replace it swaps the file.
func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "key.txt")
	first, second := []byte("first\r\n"), []byte("second, longer\n")
	if err := WriteFile(name, first, false); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(name); !bytes.Equal(got, first) {
		t.Fatalf("read back %q", got)
	}
	if err := Check(name); err != nil {
		t.Error(err)
	}
	if err := WriteFile(name, second, false); !errors.Is(err, fs.ErrExist) {
		t.Errorf("WriteFile without replace over a file: %v", err)
	}
	if got, _ := os.ReadFile(name); !bytes.Equal(got, first) {
		t.Error("a refused WriteFile changed the file")
	}
	// Replacing a file others could read leaves one only its owner can.
	if err := os.WriteFile(name, first, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(name, second, true); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(name); !bytes.Equal(got, second) {
		t.Errorf("replaced file holds %q", got)
	}
	if err := Check(name); err != nil {
		t.Errorf("after replacing: %v", err)
	}
	if err := WriteFile(dir, second, true); err == nil {
		t.Error("WriteFile replaced a folder")
	}
	if err := WriteFile(filepath.Join(dir, "no", "such", "k.txt"), second, true); err == nil {
		t.Error("WriteFile into a missing folder succeeded")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("files left in the folder: %q", names)
	}
}
