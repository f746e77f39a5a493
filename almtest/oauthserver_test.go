package almtest

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/go-oauth2/oauth2/v4/manage"
	"github.com/go-oauth2/oauth2/v4/models"
	"github.com/go-oauth2/oauth2/v4/server"
	"github.com/go-oauth2/oauth2/v4/store"

	"github.com/calmkey/calmkey/internal/testkeys"
)

// independentServer is an OAuth 2.0 server written by others
// (github.com/go-oauth2/oauth2), set to read client credentials from the
// form body as XSUAA does, with an API that checks bearer tokens through it.
func independentServer(t *testing.T, ca *testkeys.CA) (tokenURL, apiURL string, apiHits *int) {
	t.Helper()
	mgr := manage.NewDefaultManager()
	mgr.MustTokenStorage(store.NewMemoryTokenStore())
	clients := store.NewClientStore()
	if err := clients.Set(testkeys.ClientID, &models.Client{ID: testkeys.ClientID, Secret: testkeys.Secret}); err != nil {
		t.Fatal(err)
	}
	mgr.MapClientStorage(clients)
	srv := server.NewDefaultServer(mgr)
	srv.SetClientInfoHandler(server.ClientFormHandler)

	hits := 0
	mux := http.NewServeMux()
	mux.HandleFunc("/oauth/token", func(w http.ResponseWriter, r *http.Request) {
		_ = srv.HandleTokenRequest(w, r)
	})
	mux.HandleFunc("/api"+ProjectsPath, func(w http.ResponseWriter, r *http.Request) {
		hits++
		if _, err := srv.ValidationBearerToken(r); err != nil {
			http.Error(w, "invalid token", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`[]`))
	})
	ts := startTLS(t, ca, mux, nil)
	return ts.URL, ts.URL + "/api", &hits
}

func TestAgainstIndependentOAuthServer(t *testing.T) {
	ca := testkeys.NewCA(t)
	tokenURL, apiURL, hits := independentServer(t, ca)
	key := parse(t, testkeys.SecretKey(testkeys.Fields{UAAURL: tokenURL, APIURL: apiURL}))
	r := Run(context.Background(), key, Options{RootCAs: ca.Pool, Timeout: 10 * time.Second})
	if !r.OK {
		t.Fatalf("logon against go-oauth2 failed:\n%s", r)
	}
	want(t, r, StepToken, StatusOK, []string{"access token", "2h"}, nil)
	want(t, r, StepAPI, StatusOK, []string{"accepted the token"}, nil)
	if r.TokenLifetime != 2*time.Hour || *hits != 1 {
		t.Fatalf("token lifetime %s (go-oauth2 gives 2h), API hits %d", r.TokenLifetime, *hits)
	}

	// Its refusal of a wrong secret must read as a rejected key.
	bad := parse(t, testkeys.SecretKey(testkeys.Fields{UAAURL: tokenURL, APIURL: apiURL, Secret: "not-the-secret"}))
	r = Run(context.Background(), bad, Options{RootCAs: ca.Pool, Timeout: 10 * time.Second})
	if r.OK || !r.KeyRejected {
		t.Fatalf("wrong secret against go-oauth2:\n%s", r)
	}
	want(t, r, StepToken, StatusFail, []string{"rejected", "401", "invalid_client"}, []string{"deleted or regenerated"})
}
