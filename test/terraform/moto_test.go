package test

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// motoEndpoint is the URL of the moto server every test in this package
// shares: one endpoint for every service and region. Tests keep apart by the
// unique names they give their resources.
var motoEndpoint string

// cloudWatchEndpoint is where the provider's CloudWatch calls go: a translator
// in front of moto (see cloudwatch_cbor_test.go).
var cloudWatchEndpoint string

// s3ControlEndpoint is the provider's S3 Control endpoint and HTTP proxy (see
// s3control_stub_test.go).
var s3ControlEndpoint string

// stepFunctionsEndpoint is where the provider's Step Functions calls go: a
// proxy in front of moto (see stepfunctions_proxy_test.go).
var stepFunctionsEndpoint string

func TestMain(m *testing.M) {
	stop, err := startMoto()
	if err != nil {
		fmt.Fprintln(os.Stderr, "moto:", err)
		os.Exit(1)
	}
	var stopTranslator func()
	cloudWatchEndpoint, stopTranslator = startCloudWatchTranslator(motoEndpoint)
	var stopProxy func()
	stepFunctionsEndpoint, stopProxy = startStepFunctionsProxy(motoEndpoint)
	var stopStub func()
	s3ControlEndpoint, stopStub = startS3ControlStub()
	code := m.Run()
	stopStub()
	stopProxy()
	stopTranslator()
	stop()
	os.Exit(code)
}

// startMoto runs moto_server ($MOTO_SERVER_BIN, or moto_server on PATH) on a
// free loopback port and waits until it answers.
func startMoto() (func(), error) {
	bin := os.Getenv("MOTO_SERVER_BIN")
	if bin == "" {
		bin = "moto_server"
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", fmt.Sprint(port))
	// The account comes from the credentials (assumed roles act in their own
	// account), never from the environment.
	cmd.Env = withoutEnv(os.Environ(), "MOTO_ACCOUNT_ID")
	cmd.Stdout, cmd.Stderr = nil, nil
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _, _ = cmd.Process.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
		}
	}
	motoEndpoint = fmt.Sprintf("http://127.0.0.1:%d", port)
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(motoEndpoint + "/moto-api/")
		if err == nil {
			resp.Body.Close()
			return stop, nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	stop()
	return nil, fmt.Errorf("%s did not answer on %s within 60s", bin, motoEndpoint)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func withoutEnv(env []string, name string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if len(kv) > len(name) && kv[:len(name)+1] == name+"=" {
			continue
		}
		out = append(out, kv)
	}
	return out
}
