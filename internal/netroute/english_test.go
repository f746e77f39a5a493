package netroute_test

// The English of netroute's codes (a route's note, a PAC script's failure,
// an unusable proxy setting) is almtest's table, which almtest gives
// netroute when it is loaded: these tests read the notes in English, word
// for word as calmkeyctl prints them.
import _ "github.com/calmkey/calmkey/almtest"
