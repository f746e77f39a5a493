package assets

import _ "embed"

// WindowIconPNG is the app icon at 128x128 for the window (title bar, task
// switcher). The 512x512 IconPNG costs the desktop app about 10 ms of start-up
// time as a window icon: it is decoded and its 1 MiB of pixels are sent to
// the X server. Made from icon.png with:
//
//	convert icon.png -resize 128x128 window-icon.png
//
//go:embed window-icon.png
var WindowIconPNG []byte
