package test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/aws/smithy-go/encoding/cbor"
)

// The AWS provider's CloudWatch client speaks Smithy RPC v2 CBOR, which moto
// does not implement (getmoto/moto#9195: Query and JSON only, CBOR not
// planned); its PutMetricAlarm gets a 404. This server sits between the
// provider and moto for CloudWatch only: it decodes each CBOR request, sends
// it to moto as the same operation in CloudWatch's JSON protocol, and encodes
// moto's answer back to CBOR. It changes no value: what the alarms hold is
// moto's.

const cloudWatchService = "GraniteServiceVersion20100801"

// startCloudWatchTranslator serves on a loopback port and returns its URL.
func startCloudWatchTranslator(moto string) (url string, stop func()) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op, ok := strings.CutPrefix(r.URL.Path, "/service/"+cloudWatchService+"/operation/")
		if !ok || r.Method != http.MethodPost {
			http.Error(w, "not an RPC v2 CBOR CloudWatch call: "+r.Method+" "+r.URL.Path, http.StatusNotFound)
			return
		}
		status, body, err := forwardAsJSON(moto, op, r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		w.Header().Set("Content-Type", "application/cbor")
		w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}))
	return srv.URL, srv.Close
}

func forwardAsJSON(moto, op string, r *http.Request) (int, []byte, error) {
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		return 0, nil, err
	}
	input := interface{}(map[string]interface{}{})
	if len(raw) > 0 {
		v, err := cbor.Decode(raw)
		if err != nil {
			return 0, nil, fmt.Errorf("decode CBOR request: %w", err)
		}
		input = fromCBOR(v)
	}
	payload, err := json.Marshal(input)
	if err != nil {
		return 0, nil, err
	}
	req, err := http.NewRequestWithContext(r.Context(), http.MethodPost, moto+"/", bytes.NewReader(payload))
	if err != nil {
		return 0, nil, err
	}
	// moto reads the account from the access key and the region from the
	// credential scope of the signature.
	for _, h := range []string{"Authorization", "X-Amz-Date", "X-Amz-Security-Token"} {
		if v := r.Header.Get(h); v != "" {
			req.Header.Set(h, v)
		}
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.Header.Set("X-Amz-Target", cloudWatchService+"."+op)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, err
	}
	if len(bytes.TrimSpace(out)) == 0 {
		out = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	dec.UseNumber()
	var answer interface{}
	if err := dec.Decode(&answer); err != nil {
		return 0, nil, fmt.Errorf("decode moto's %s answer %q: %w", op, out, err)
	}
	return resp.StatusCode, cbor.Encode(toCBOR("", answer)), nil
}

// fromCBOR turns a decoded CBOR value into what encoding/json writes as the
// JSON protocol expects: timestamps (tag 1) as epoch seconds, blobs as base64.
func fromCBOR(v cbor.Value) interface{} {
	switch x := v.(type) {
	case cbor.Map:
		m := make(map[string]interface{}, len(x))
		for k, e := range x {
			m[k] = fromCBOR(e)
		}
		return m
	case cbor.List:
		l := make([]interface{}, len(x))
		for i, e := range x {
			l[i] = fromCBOR(e)
		}
		return l
	case cbor.String:
		return string(x)
	case cbor.Uint:
		return uint64(x)
	case cbor.NegInt:
		return -int64(x)
	case cbor.Float32:
		return float64(x)
	case cbor.Float64:
		return float64(x)
	case cbor.Bool:
		return bool(x)
	case cbor.Slice:
		return base64.StdEncoding.EncodeToString(x)
	case *cbor.Tag:
		return fromCBOR(x.Value)
	default: // Nil, Undefined
		return nil
	}
}

// toCBOR is the way back. JSON has no timestamp type: CloudWatch's timestamp
// members are the ones named *Timestamp(s), and they become tag 1.
func toCBOR(key string, v interface{}) cbor.Value {
	switch x := v.(type) {
	case map[string]interface{}:
		m := make(cbor.Map, len(x))
		for k, e := range x {
			m[k] = toCBOR(k, e)
		}
		return m
	case []interface{}:
		l := make(cbor.List, len(x))
		for i, e := range x {
			l[i] = toCBOR(key, e)
		}
		return l
	case string:
		return cbor.String(x)
	case bool:
		return cbor.Bool(x)
	case json.Number:
		if strings.HasSuffix(key, "Timestamp") || strings.HasSuffix(key, "Timestamps") {
			f, _ := x.Float64()
			return &cbor.Tag{ID: 1, Value: cbor.Float64(f)}
		}
		if i, err := x.Int64(); err == nil {
			if i < 0 {
				return cbor.NegInt(uint64(-i))
			}
			return cbor.Uint(uint64(i))
		}
		f, _ := x.Float64()
		if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
			// "0.0": a whole double; the SDK reads a double from an int too.
			if f < 0 {
				return cbor.NegInt(uint64(-f))
			}
			return cbor.Uint(uint64(f))
		}
		return cbor.Float64(f)
	default:
		return &cbor.Nil{}
	}
}
