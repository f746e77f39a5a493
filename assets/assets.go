// Package assets holds the app's bundled files. It imports no GUI toolkit,
// so the command line can use it too.
package assets

import _ "embed"

// IconPNG is the app icon, 512x512 (source: icon.svg).
//
//go:embed icon.png
var IconPNG []byte
