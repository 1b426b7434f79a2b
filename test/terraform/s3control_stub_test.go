package test

import (
	"net/http"
	"net/http/httptest"
)

// The AWS provider reads and writes an S3 bucket's tags through S3 Control
// first (ListTagsForResource, TagResource), on a host named after the account
// (<account>.<endpoint>), and falls back to the bucket's own tagging calls when
// S3 Control answers MethodNotAllowed. moto keeps bucket tags on the bucket,
// and <account>.127.0.0.1 resolves nowhere. This server is both the provider's
// S3 Control endpoint and its HTTP proxy (loopback endpoints are never
// proxied, so only the account-prefixed host reaches it): it answers every
// S3 Control call with MethodNotAllowed (in S3 Control's wrapped error
// form), and the provider uses moto's S3.

func startS3ControlStub() (endpoint string, stop func()) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusMethodNotAllowed)
		_, _ = w.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?><ErrorResponse><Error><Code>MethodNotAllowed</Code><Message>S3 Control is not emulated: use the bucket's own tagging.</Message></Error></ErrorResponse>`))
	}))
	return srv.URL, srv.Close
}
