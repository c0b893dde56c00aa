package main

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestDebugVars(t *testing.T) {
	srv := httptest.NewServer(debugHandler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/debug/vars")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v debugVars
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || v.Goroutines < 1 || v.HeapAlloc == 0 || v.Sys == 0 {
		t.Errorf("status %d, vars %+v", resp.StatusCode, v)
	}
	resp2, err := http.Post(srv.URL+"/debug/vars", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp2.Body)
	resp2.Body.Close()
	if resp2.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: status %d, want 405", resp2.StatusCode)
	}
}

func TestDebugAddrLoopbackOnly(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	for _, addr := range []string{"0.0.0.0:0", ":0", "10.1.2.3:0", "example.com:0", "nonsense"} {
		if stop, err := startDebug(addr, log); err == nil {
			stop()
			t.Errorf("%q accepted", addr)
		}
	}
	stop, err := startDebug("127.0.0.1:0", log)
	if err != nil {
		t.Fatal(err)
	}
	stop()
}
