package windowtest

// Driving a running app as a user would: keys and clicks with xdotool, the
// clipboard with xclip, the command line beside it, and waiting for what
// the window shows.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"image"
	"image/png"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Result is a finished command: its output and exit status.
type Result struct {
	Stdout, Stderr string
	Code           int
}

// Run runs argv (e.g. "bin/calmkeyctl", "upload", "key.txt") with env added
// and stdin as its input, and returns its output and exit status. It fails
// the test only when the program cannot be started.
func Run(t testing.TB, stdin []byte, env []string, argv ...string) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = bytes.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var exit *exec.ExitError
	code := 0
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatalf("%s: %v", argv[0], err)
	}
	return Result{Stdout: out.String(), Stderr: errb.String(), Code: code}
}

// Focus gives the window the keyboard focus (there is no window manager on
// the test display to do it).
func (r *Running) Focus(t testing.TB) {
	t.Helper()
	xdo(t, "windowfocus", "--sync", r.Window)
}

// Key focuses the window and types keys, e.g. "ctrl+v".
func (r *Running) Key(t testing.TB, keys ...string) {
	t.Helper()
	r.Focus(t)
	xdo(t, append([]string{"key", "--clearmodifiers"}, keys...)...)
}

// Click clicks the left button at (x, y) in the window.
func (r *Running) Click(t testing.TB, x, y int) {
	t.Helper()
	xdo(t, "mousemove", "--window", r.Window, strconv.Itoa(x), strconv.Itoa(y), "click", "1")
}

func xdo(t testing.TB, args ...string) {
	t.Helper()
	if out, err := exec.Command("xdotool", args...).CombinedOutput(); err != nil {
		t.Fatalf("xdotool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// SetClipboard makes text the clipboard's content, held by an xclip process
// until something else takes the clipboard (the app clearing it, say) or
// the test ends.
func SetClipboard(t testing.TB, text string) {
	t.Helper()
	cmd := exec.Command("xclip", "-selection", "clipboard", "-quiet", "-i")
	cmd.Stdin = strings.NewReader(text)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatalf("xclip: %v (run scripts/deps.sh test)", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
	})
	// xclip owns the clipboard once it has read all of stdin.
	for i := 0; i < 100 && Clipboard(t) != text; i++ {
		time.Sleep(20 * time.Millisecond)
	}
}

// Clipboard is the clipboard's text, "" when it is empty or has no owner.
func Clipboard(t testing.TB) string {
	t.Helper()
	out, err := exec.Command("xclip", "-selection", "clipboard", "-o").Output()
	if err != nil {
		return ""
	}
	return string(out)
}

// Word is a line of text the OCR found, with its box in window pixels.
type Word struct {
	Text       string
	X, Y, W, H int
}

// Center is where to click it.
func (w Word) Center() (x, y int) { return w.X + w.W/2, w.Y + w.H/2 }

// ReadLines OCRs the screenshot and returns its lines of text with their
// boxes (tesseract's TSV), in window pixels.
func ReadLines(t testing.TB, shot []byte) []Word {
	t.Helper()
	out := tesseract(t, shot, "tsv")
	type key struct{ block, par, line int }
	lines := map[key]*Word{}
	var order []key
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\t")
		if len(f) < 12 || f[0] != "5" || strings.TrimSpace(f[11]) == "" {
			continue // not a word
		}
		n := make([]int, 10)
		for i := range n {
			n[i], _ = strconv.Atoi(f[i])
		}
		k := key{n[2], n[3], n[4]}
		x, y, w, h := n[6]/2, n[7]/2, n[8]/2, n[9]/2 // the OCR reads a picture twice the size
		l, ok := lines[k]
		if !ok {
			lines[k] = &Word{Text: f[11], X: x, Y: y, W: w, H: h}
			order = append(order, k)
			continue
		}
		right, bottom := max(l.X+l.W, x+w), max(l.Y+l.H, y+h)
		l.X, l.Y = min(l.X, x), min(l.Y, y)
		l.W, l.H = right-l.X, bottom-l.Y
		l.Text += " " + f[11]
	}
	words := make([]Word, 0, len(order))
	for _, k := range order {
		words = append(words, *lines[k])
	}
	sort.SliceStable(words, func(i, j int) bool { return words[i].Y < words[j].Y })
	return words
}

// FindButton returns the line that is a button labelled label: its text
// is label, after an icon the OCR may read as a character or two.
func FindButton(lines []Word, label string) (Word, bool) {
	for _, l := range lines {
		if l.Text == label || (strings.HasSuffix(l.Text, " "+label) && len(l.Text) <= len(label)+4) {
			return l, true
		}
	}
	return Word{}, false
}

// Contains reports whether the OCR text holds want, with runs of white
// space (line breaks) read as one space.
func Contains(text, want string) bool {
	return strings.Contains(strings.Join(strings.Fields(text), " "), want)
}

// WaitFor photographs the window until its text (OCR) contains want or
// within has passed, and returns the last text read and whether want was
// in it.
func (r *Running) WaitFor(t testing.TB, want string, within time.Duration) (string, bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		text := ReadText(t, r.Screenshot(t))
		if Contains(text, want) {
			return text, true
		}
		if time.Now().After(deadline) {
			return text, false
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Change is what WaitForChange saw: a picture, what it reads, and when it
// first appeared, counted from the start of the wait.
type Change struct {
	Shot  []byte
	Text  string
	After time.Duration
}

// WaitForChange photographs the window every ~50 ms until its picture
// differs from before and reads want, or within has passed. The pictures
// are read (OCR) only once they have stayed the same for two frames, and
// the last one taken within is read after the wait too, so that the time
// is the window's, not the OCR's, and a slow OCR cannot make a change
// late. ok says whether a picture taken within reads want; the Change is
// that picture, or the last one read.
func (r *Running) WaitForChange(t testing.TB, before []byte, want string, within time.Duration) (c Change, ok bool) {
	t.Helper()
	start := time.Now()
	base := pixels(t, before)
	var last, lastShot []byte
	var lastAt time.Time
	same := 0
	read := map[string]bool{}
	check := func() bool {
		read[string(last)] = true
		text := ReadText(t, lastShot)
		c = Change{Shot: lastShot, Text: text, After: lastAt.Sub(start)}
		return Contains(text, want)
	}
	for time.Since(start) < within {
		shot := r.Screenshot(t)
		now := time.Now()
		p := pixels(t, shot)
		switch {
		case bytes.Equal(p, base):
			last, same = nil, 0
		case bytes.Equal(p, last):
			same++
		default:
			last, lastShot, lastAt, same = p, shot, now, 0
		}
		if last != nil && same >= 1 && !read[string(last)] && check() {
			return c, true
		}
		time.Sleep(50 * time.Millisecond)
	}
	if last != nil && !read[string(last)] && check() {
		return c, true
	}
	if c.Shot == nil {
		shot := r.Screenshot(t)
		c = Change{Shot: shot, Text: ReadText(t, shot), After: time.Since(start)}
	}
	return c, false
}

// pixels decodes a PNG into its raw pixels, to compare two pictures.
func pixels(t testing.TB, shot []byte) []byte {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	b := img.Bounds()
	rgba := image.NewRGBA(b)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			rgba.Set(x, y, img.At(x, y))
		}
	}
	return rgba.Pix
}

// PrimaryBlue is the colour of Fyne's dark theme behind a button of high
// importance (the one a dialog's confirm button has).
var PrimaryBlue = [3]uint8{41, 111, 246}

// FindColor returns the box around every pixel of colour c (each channel
// within tol), for finding a button whose label the OCR cannot read (white
// on blue): false when fewer than 100 pixels have it.
func FindColor(t testing.TB, shot []byte, c [3]uint8, tol int) (Word, bool) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	near := func(v uint32, want uint8) bool {
		d := int(v>>8) - int(want)
		return d <= tol && d >= -tol
	}
	b := img.Bounds()
	x0, y0, x1, y1, n := b.Max.X, b.Max.Y, b.Min.X, b.Min.Y, 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if near(r, c[0]) && near(g, c[1]) && near(bl, c[2]) {
				x0, y0, x1, y1 = min(x0, x), min(y0, y), max(x1, x), max(y1, y)
				n++
			}
		}
	}
	if n < 100 {
		return Word{}, false
	}
	return Word{X: x0, Y: y0, W: x1 - x0 + 1, H: y1 - y0 + 1}, true
}

// Patch is the pixels of a box in a screenshot, to see cheaply whether the
// same thing is drawn there again.
func Patch(t testing.TB, shot []byte, x, y, w, h int) []byte {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	var out []byte
	for yy := y; yy < y+h; yy++ {
		for xx := x; xx < x+w; xx++ {
			r, g, b, _ := img.At(xx, yy).RGBA()
			out = append(out, byte(r>>8), byte(g>>8), byte(b>>8))
		}
	}
	return out
}

// FirstFrameWith photographs the window every ~50 ms until a picture reads
// want (the newest is read now and then) or within has passed, then finds
// the first picture that reads want (once drawn it stays). It returns how
// long after the call that picture was taken, and whether one read want.
// The OCR's own time does not count.
func (r *Running) FirstFrameWith(t testing.TB, want string, within time.Duration) (time.Duration, bool) {
	t.Helper()
	start := time.Now()
	type frame struct {
		shot []byte
		at   time.Duration
	}
	var frames []frame
	found := false
	var lastRead time.Time
	for ; time.Since(start) < within; time.Sleep(50 * time.Millisecond) {
		frames = append(frames, frame{r.Screenshot(t), time.Since(start)})
		if time.Since(lastRead) > 700*time.Millisecond {
			lastRead = time.Now()
			if Contains(ReadText(t, frames[len(frames)-1].shot), want) {
				found = true
				break
			}
		}
	}
	if !found {
		return 0, false
	}
	lo, hi := 0, len(frames)-1 // frames[hi] reads want
	for lo < hi {
		mid := (lo + hi) / 2
		if Contains(ReadText(t, frames[mid].shot), want) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return frames[hi].at, true
}
