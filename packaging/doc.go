// Package packaging holds the configuration of calmkey's release downloads
// (nfpm.yaml for the .deb, calmkey.wxs for the MSI; scripts/dist builds them
// all into dist/) and their tests. The tests read dist/, so they carry the
// build tag disttest and run from make test-windows-app (calmkey.exe under
// Wine) and make test-dist (everything else, the MSI under Wine included),
// which build dist/ first; make test does not run them.
package packaging
