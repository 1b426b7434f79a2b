package test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
)

// The AWS provider calls two Step Functions operations that moto's server
// does not route, and retries each until it times out:
// ValidateStateMachineDefinition at plan time (moto's static analyser needs
// LocalStack) and ListStateMachineVersions when it reads a state machine.
// This server sits between the provider and moto for Step Functions only: it
// answers those two itself and passes every other call to moto unchanged.
// Its validation checks only what a definition cannot lack (JSON, a StartAt
// naming one of its States); the plan tests assert the definition's shape
// themselves. Its version list is empty, which is true of the module's state
// machine: it never publishes a version.

const (
	validateDefinitionTarget = "AWSStepFunctions.ValidateStateMachineDefinition"
	listVersionsTarget       = "AWSStepFunctions.ListStateMachineVersions"
)

// startStepFunctionsProxy serves on a loopback port and returns its URL.
func startStepFunctionsProxy(moto string) (endpoint string, stop func()) {
	target, err := url.Parse(moto)
	if err != nil {
		panic(err)
	}
	forward := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Header.Get("X-Amz-Target") {
		case validateDefinitionTarget:
		case listVersionsTarget:
			w.Header().Set("Content-Type", "application/x-amz-json-1.0")
			_, _ = w.Write([]byte(`{"stateMachineVersions":[]}`))
			return
		default:
			forward.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		_, _ = w.Write(validateDefinition(body))
	}))
	return srv.URL, srv.Close
}

// validateDefinition answers a ValidateStateMachineDefinition request.
func validateDefinition(request []byte) []byte {
	var in struct {
		Definition string `json:"definition"`
	}
	fail := func(message string) []byte {
		out, _ := json.Marshal(map[string]interface{}{
			"result":      "FAIL",
			"diagnostics": []map[string]string{{"severity": "ERROR", "code": "SCHEMA_VALIDATION_FAILED", "message": message}},
			"truncated":   false,
		})
		return out
	}
	if err := json.Unmarshal(request, &in); err != nil {
		return fail("request is not JSON: " + err.Error())
	}
	var def struct {
		StartAt string
		States  map[string]json.RawMessage
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(in.Definition)))
	if err := dec.Decode(&def); err != nil {
		return fail("definition is not JSON: " + err.Error())
	}
	if _, ok := def.States[def.StartAt]; !ok {
		return fail("StartAt " + def.StartAt + " names no state")
	}
	return []byte(`{"result":"OK","diagnostics":[],"truncated":false}`)
}
