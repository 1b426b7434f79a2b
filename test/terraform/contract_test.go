package test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// handlerSlave is a slave as the handler's loadConfig returns it.
type handlerSlave struct {
	Name        string  `json:"name"`
	Region      string  `json:"region"`
	TableName   string  `json:"tableName"`
	RoleArn     *string `json:"roleArn"`
	ExternalID  *string `json:"externalId"`
	Endpoint    *string `json:"endpoint"`
	InitialCopy *bool   `json:"initialCopy"`
	Enabled     *bool   `json:"enabled"`
}

// loadHandlerConfig runs the handler's own loadConfig
// (test/terraform/contract/load-config.ts) on an environment, as Lambda sets
// it for the function: the planned variables, the region and the name.
func loadHandlerConfig(t *testing.T, env map[string]string) ([]byte, error) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "environment.json")
	raw, err := json.Marshal(env)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(file, raw, 0o600))
	cmd := exec.Command(filepath.Join(repoRoot, "node_modules/.bin/tsx"), filepath.Join(repoRoot, "test/terraform/contract/load-config.ts"), file)
	cmd.Dir = repoRoot
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%w: %s", err, stderr.String())
	}
	return stdout.Bytes(), nil
}

// The module's planned environment, every slave field it writes included (a
// paused slave, a cross-account one with its external ID, an initial copy),
// is accepted by the handler's loadConfig, and read back as the module meant
// it: a field the module writes and the handler rejects, or one the handler
// needs and the module does not write, fails here.
func TestContractPlannedEnvironment(t *testing.T) {
	t.Parallel()
	region, master, name := "us-east-1", uniqueName("orders"), uniqueName("repl")
	createMaster(t, region, master, ddbtypes.StreamViewTypeNewAndOldImages)
	writer := "arn:aws:iam::444455556666:role/writer"
	plan := planOptions(t, map[string]interface{}{
		"name": name, "master_table_name": master,
		"slaves": map[string]interface{}{
			"copy":    map[string]interface{}{"region": region, "table_name": master + "-copy", "initial_copy": true},
			"paused":  map[string]interface{}{"region": "eu-west-1", "table_name": master, "enabled": false},
			"partner": map[string]interface{}{"region": "eu-west-1", "table_name": master, "role_arn": writer, "external_id": "ext-id"},
			"local":   map[string]interface{}{"region": region, "table_name": master + "-local", "endpoint": "http://127.0.0.1:8000"},
		},
		"initial_copy_state_machine": map[string]interface{}{"enabled": true},
	})

	fns := managed(plan, "aws_lambda_function")
	require.Len(t, fns, 3)
	for addr, fn := range fns {
		env := functionEnv(t, fn)
		env["AWS_REGION"] = region
		env["AWS_LAMBDA_FUNCTION_NAME"] = fn.AttributeValues["function_name"].(string)
		out, err := loadHandlerConfig(t, env)
		require.NoError(t, err, "%s: the handler rejects the environment the module plans", addr)

		var config struct {
			Slaves           []handlerSlave `json:"slaves"`
			StateTable       string         `json:"stateTable"`
			MasterTable      string         `json:"masterTable"`
			ReplicatorName   string         `json:"replicatorName"`
			WriteConcurrency int            `json:"writeConcurrency"`
			SlaveBudgetMs    int            `json:"slaveBudgetMs"`
			MetricsNamespace string         `json:"metricsNamespace"`
		}
		require.NoError(t, json.Unmarshal(out, &config), string(out))
		assert.Equal(t, name+"-state", config.StateTable, addr)
		assert.Equal(t, master, config.MasterTable, addr)
		assert.Equal(t, name, config.ReplicatorName, addr)
		assert.Equal(t, 16, config.WriteConcurrency, addr)
		assert.Equal(t, 5000, config.SlaveBudgetMs, addr)
		assert.Equal(t, "DynamoReplicator", config.MetricsNamespace, addr)

		yes, no := true, false
		ext, endpoint := "ext-id", "http://127.0.0.1:8000"
		assert.ElementsMatch(t, []handlerSlave{
			{Name: "copy", Region: region, TableName: master + "-copy", InitialCopy: &yes},
			// A paused slave is kept, marked so: its changes are parked, never lost.
			{Name: "paused", Region: "eu-west-1", TableName: master, Enabled: &no},
			{Name: "partner", Region: "eu-west-1", TableName: master, RoleArn: &writer, ExternalID: &ext},
			{Name: "local", Region: region, TableName: master + "-local", Endpoint: &endpoint},
		}, config.Slaves, addr)
	}
}

// The contract test itself fails on a field the handler does not know.
func TestContractRejectsUnknownSlaveField(t *testing.T) {
	t.Parallel()
	_, err := loadHandlerConfig(t, map[string]string{
		"REPLICATOR_STATE_TABLE": "repl-state",
		"REPLICATOR_SLAVES":      `{"eu":{"region":"eu-west-1","table_name":"orders","paused_until":"never"}}`,
	})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "paused_until")
}
