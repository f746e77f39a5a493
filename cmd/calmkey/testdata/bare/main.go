// Command bare is the yardstick for calmkey's start-up benchmark: a Fyne
// window with one label, built and started the same way as the app.
package main

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"
	"fyne.io/fyne/v2/widget"
)

func main() {
	a := app.NewWithID("io.calmkey.bare")
	w := a.NewWindow("bare window")
	w.SetContent(widget.NewLabel("Hello"))
	w.Resize(fyne.NewSize(760, 560))
	w.ShowAndRun()
}
