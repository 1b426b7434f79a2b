package test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/gruntwork-io/terratest/modules/terraform"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// mappingSettings are the event source mapping arguments a test expects.
type mappingSettings struct {
	BatchSize, BatchingWindow, Parallelization, Retries, RecordAge int
	Bisect, Enabled                                                bool
	StartingPosition                                               string
}

var defaultMapping = mappingSettings{
	BatchSize: 100, BatchingWindow: 0, Parallelization: 1, Retries: 20, RecordAge: 43200,
	Bisect: true, Enabled: true, StartingPosition: "TRIM_HORIZON",
}

// planWant is what one example's plan must hold.
type planWant struct {
	module       string              // address of the replicator module call
	masterArn    string              // the master table
	streamArn    string              // its stream
	readsMaster  bool                // whether the stream lacks new images
	slaves       map[string]slaveEnv // REPLICATOR_SLAVES
	grants       map[string]string   // per slave key: the one resource its policy names
	tables       map[string]string   // created tables: address => region/name
	mapping      mappingSettings
	functionName string
}

func checkPlan(t *testing.T, plan *terraform.PlanStruct, want planWant) {
	t.Helper()

	// One function and one mapping, however many slaves.
	fn := only(t, plan, "aws_lambda_function")
	esm := only(t, plan, "aws_lambda_event_source_mapping")

	assert.Equal(t, want.functionName, fn.AttributeValues["function_name"])
	assert.Equal(t, "nodejs22.x", fn.AttributeValues["runtime"])
	assert.Equal(t, []interface{}{"arm64"}, fn.AttributeValues["architectures"])
	assert.Equal(t, "index.handler", fn.AttributeValues["handler"])
	env := functionEnv(t, fn)
	assert.Equal(t, want.slaves, decodeSlaves(t, env["REPLICATOR_SLAVES"]))
	assert.Equal(t, "false", env["REPLICATOR_SKIP_TTL_DELETES"])
	assert.NotEmpty(t, env["REPLICATOR_WRITE_CONCURRENCY"])
	assert.Equal(t, "DynamoReplicator", env["REPLICATOR_METRICS_NAMESPACE"])

	// The mapping reads the master's stream with the configured settings.
	v := esm.AttributeValues
	assert.Equal(t, want.streamArn, v["event_source_arn"])
	assert.Equal(t, []interface{}{"ReportBatchItemFailures"}, v["function_response_types"])
	assert.EqualValues(t, want.mapping.BatchSize, v["batch_size"])
	assert.EqualValues(t, want.mapping.BatchingWindow, v["maximum_batching_window_in_seconds"])
	assert.EqualValues(t, want.mapping.Parallelization, v["parallelization_factor"])
	assert.EqualValues(t, want.mapping.Retries, v["maximum_retry_attempts"])
	assert.EqualValues(t, want.mapping.RecordAge, v["maximum_record_age_in_seconds"])
	assert.Equal(t, want.mapping.Bisect, v["bisect_batch_on_function_error"])
	assert.Equal(t, want.mapping.Enabled, v["enabled"])
	assert.Equal(t, want.mapping.StartingPosition, v["starting_position"])
	dest := v["destination_config"].([]interface{})
	require.Len(t, dest, 1)
	require.Len(t, dest[0].(map[string]interface{})["on_failure"].([]interface{}), 1)

	// The failure queue is encrypted.
	queue := only(t, plan, "aws_sqs_queue")
	assert.Equal(t, true, queue.AttributeValues["sqs_managed_sse_enabled"])

	// One policy per slave, naming exactly that slave's table (same account)
	// or role (other account), and nothing else.
	policies := slavePolicies(t, plan, want.module)
	require.Len(t, policies, len(want.grants))
	for key, resource := range want.grants {
		require.Contains(t, policies, key)
		require.Len(t, policies[key], 1, "slave %s", key)
		st := policies[key][0]
		assert.Equal(t, stringOrList{resource}, st.Resource, "slave %s", key)
		if strings.Contains(resource, ":iam::") {
			assert.Equal(t, stringOrList{"sts:AssumeRole"}, st.Action, "slave %s", key)
		} else {
			assert.Equal(t, stringOrList{"dynamodb:BatchWriteItem"}, st.Action, "slave %s", key)
		}
	}

	// The function's own policy: the master's stream, and the master's items
	// only when the stream lacks new images.
	ownAddr := want.module + ".aws_iam_role_policy.lambda"
	own := plan.ResourcePlannedValuesMap[ownAddr]
	require.NotNil(t, own)
	bySid := map[string]policyStatement{}
	for _, st := range plannedPolicy(t, ownAddr, own).Statement {
		bySid[st.Sid] = st
	}
	assert.Equal(t, stringOrList{want.streamArn}, bySid["ReadMasterStream"].Resource)
	readItems, granted := bySid["ReadMasterItems"]
	assert.Equal(t, want.readsMaster, granted, "master read grant")
	if granted {
		assert.Equal(t, stringOrList{want.masterArn}, readItems.Resource)
		assert.ElementsMatch(t, []string{"dynamodb:BatchGetItem", "dynamodb:GetItem"}, readItems.Action)
	}
	requireNoWildcardResource(t, plan, want.module)

	// Tables are created only where asked, each in its region.
	tables := managed(plan, "aws_dynamodb_table")
	got := map[string]string{}
	for addr, table := range tables {
		got[addr] = fmt.Sprintf("%v/%v", table.AttributeValues["region"], table.AttributeValues["name"])
		assert.Equal(t, "pk", table.AttributeValues["hash_key"], addr)
		assert.Equal(t, "sk", table.AttributeValues["range_key"], addr)
	}
	assert.Equal(t, want.tables, got)
}

func planExample(t *testing.T, example string, vars map[string]interface{}, aliases ...string) *terraform.PlanStruct {
	t.Helper()
	dir := copyRoot(t, "examples/"+example)
	pointAtMoto(t, dir, aliases...)
	opts := options(t, dir, vars)
	opts.PlanFilePath = filepath.Join(dir, "tfplan")
	defer terraform.Destroy(t, opts)
	initRoot(t, opts)
	terraform.Plan(t, opts)
	return terraform.ShowWithStruct(t, opts)
}

func TestPlanBasic(t *testing.T) {
	t.Parallel()
	for _, view := range []ddbtypes.StreamViewType{ddbtypes.StreamViewTypeNewAndOldImages, ddbtypes.StreamViewTypeKeysOnly} {
		t.Run(string(view), func(t *testing.T) {
			t.Parallel()
			region, master, name := "us-east-1", uniqueName("orders"), uniqueName("repl")
			table := createMaster(t, region, master, view)
			account := accountID(t, awsConfig(t, region))

			plan := planExample(t, "basic", map[string]interface{}{"region": region, "name": name, "master_table_name": master})

			checkPlan(t, plan, planWant{
				module:       "module.replicator",
				masterArn:    aws.ToString(table.TableArn),
				streamArn:    aws.ToString(table.LatestStreamArn),
				readsMaster:  view == ddbtypes.StreamViewTypeKeysOnly,
				functionName: name,
				slaves:       map[string]slaveEnv{"copy": {Region: region, TableName: master + "-copy"}},
				grants:       map[string]string{"copy": tableArn("aws", region, account, master+"-copy")},
				tables: map[string]string{
					`module.replicator.module.replica_table["copy"].aws_dynamodb_table.this`: region + "/" + master + "-copy",
				},
				mapping: defaultMapping,
			})
		})
	}
}

func TestPlanMultiRegion(t *testing.T) {
	t.Parallel()
	region, master, name := "eu-west-1", uniqueName("orders"), uniqueName("repl")
	table := createMaster(t, region, master, ddbtypes.StreamViewTypeNewImage)
	account := accountID(t, awsConfig(t, region))

	plan := planExample(t, "multi-region", map[string]interface{}{"master_region": region, "name": name, "master_table_name": master})

	regions := map[string]string{"us": "us-east-1", "ap": "ap-southeast-2", "eu": "eu-central-1"}
	want := planWant{
		module:       "module.replicator",
		masterArn:    aws.ToString(table.TableArn),
		streamArn:    aws.ToString(table.LatestStreamArn),
		functionName: name,
		slaves:       map[string]slaveEnv{},
		grants:       map[string]string{},
		tables:       map[string]string{},
		mapping:      defaultMapping,
	}
	want.mapping.BatchSize, want.mapping.Parallelization = 200, 2
	for key, r := range regions {
		want.slaves[key] = slaveEnv{Region: r, TableName: master}
		want.grants[key] = tableArn("aws", r, account, master)
		want.tables[fmt.Sprintf(`module.replicator.module.replica_table[%q].aws_dynamodb_table.this`, key)] = r + "/" + master
	}
	checkPlan(t, plan, want)

	// The function, mapping and queue stay in the master's region.
	for _, typ := range []string{"aws_lambda_function", "aws_lambda_event_source_mapping", "aws_sqs_queue", "aws_sns_topic"} {
		assert.Equal(t, region, only(t, plan, typ).AttributeValues["region"], typ)
	}
	assert.Equal(t, "16", functionEnv(t, only(t, plan, "aws_lambda_function"))["REPLICATOR_WRITE_CONCURRENCY"])
}

func TestPlanCrossAccount(t *testing.T) {
	t.Parallel()
	region, slaveRegion := "us-east-1", "eu-west-1"
	master, name, slaveTable := uniqueName("orders"), uniqueName("repl"), uniqueName("partner")
	slaveAccount := "111111111111"
	deployRole := fmt.Sprintf("arn:aws:iam::%s:role/terraform", slaveAccount)
	table := createMaster(t, region, master, ddbtypes.StreamViewTypeNewAndOldImages)

	plan := planExample(t, "cross-account", map[string]interface{}{
		"region": region, "name": name, "master_table_name": master,
		"slave_account_deploy_role_arn": deployRole, "slave_region": slaveRegion,
		"slave_table_name": slaveTable, "external_id": "ext-" + name,
	}, "slave_account")

	writerRole := fmt.Sprintf("arn:aws:iam::%s:role/%s-writer", slaveAccount, name)
	externalID := "ext-" + name
	checkPlan(t, plan, planWant{
		module:       "module.replicator",
		masterArn:    aws.ToString(table.TableArn),
		streamArn:    aws.ToString(table.LatestStreamArn),
		functionName: name,
		slaves: map[string]slaveEnv{"partner": {
			Region: slaveRegion, TableName: slaveTable, RoleArn: &writerRole, ExternalID: &externalID,
		}},
		grants: map[string]string{"partner": writerRole},
		// Created in the slave's account by the example, not by the module.
		tables:  map[string]string{"module.slave_table.aws_dynamodb_table.this": slaveRegion + "/" + slaveTable},
		mapping: defaultMapping,
	})

	// The writer role trusts only the replicator's role, with the external ID.
	trust, known := plan.ResourcePlannedValuesMap["module.slave_writer.aws_iam_role.this"].AttributeValues["assume_role_policy"].(string)
	require.True(t, known, "trust policy unknown at plan time")
	masterAccount := accountID(t, awsConfig(t, region))
	assert.Contains(t, trust, fmt.Sprintf(`"aws:PrincipalArn":"arn:aws:iam::%s:role/%s"`, masterAccount, name))
	assert.Contains(t, trust, fmt.Sprintf(`"sts:ExternalId":"%s"`, externalID))
}

// Each bad input fails the plan with a message that says what to write.
func TestPlanRejectsBadInput(t *testing.T) {
	t.Parallel()
	region := "us-east-1"
	master, bare := uniqueName("orders"), uniqueName("nostream")
	createMaster(t, region, master, ddbtypes.StreamViewTypeNewAndOldImages)
	createMaster(t, region, bare, "")

	dir := copyRoot(t, "test/terraform/fixtures/validation")
	pointAtMoto(t, dir)
	base := options(t, dir, nil)
	defer terraform.Destroy(t, withVars(base, master, map[string]interface{}{"ok": map[string]interface{}{"region": region, "table_name": "x-copy"}}))
	initRoot(t, base)

	role := "arn:aws:iam::111122223333:role/writer"
	cases := []struct {
		name   string
		master string
		slaves map[string]interface{}
		want   string
	}{
		{"no slave", master, map[string]interface{}{}, "slaves must name at least one table"},
		{"bad key", master, map[string]interface{}{"a b": map[string]interface{}{"region": region, "table_name": "copy"}}, "Each key of slaves must be"},
		{"region is a zone", master, map[string]interface{}{"a": map[string]interface{}{"region": "eu-west-1a", "table_name": "copy"}}, "Each slave's region must look like an AWS region"},
		{"table name is an ARN", master, map[string]interface{}{"a": map[string]interface{}{"region": region, "table_name": "arn:aws:dynamodb:us-east-1:111122223333:table/x"}}, "Each slave's table_name must be a DynamoDB table name"},
		{"duplicate region/table pair", master, map[string]interface{}{
			"a": map[string]interface{}{"region": region, "table_name": "copy"},
			"b": map[string]interface{}{"region": region, "table_name": "copy"},
		}, "Two slaves name the same table"},
		{"bad role_arn", master, map[string]interface{}{"a": map[string]interface{}{"region": region, "table_name": "copy", "role_arn": "writer"}}, "Each slave's role_arn must be an IAM role ARN"},
		{"external_id without role_arn", master, map[string]interface{}{"a": map[string]interface{}{"region": region, "table_name": "copy", "external_id": "xyz"}}, "external_id is only used when assuming role_arn"},
		{"create_table with role_arn", master, map[string]interface{}{"a": map[string]interface{}{"region": region, "table_name": "copy", "role_arn": role, "create_table": true}}, "create_table works only for slaves in this account"},
		{"kms key on a table not created", master, map[string]interface{}{"a": map[string]interface{}{"region": region, "table_name": "copy", "kms_key_arn": "arn:aws:kms:us-east-1:111122223333:key/x"}}, "kms_key_arn only applies to a table the module creates"},
		{"bad endpoint", master, map[string]interface{}{"a": map[string]interface{}{"region": region, "table_name": "copy", "endpoint": "localhost:8000"}}, "Each slave's endpoint must be an http(s) URL"},
		{"slave equal to master", master, map[string]interface{}{"a": map[string]interface{}{"region": region, "table_name": master}}, "name the master table itself"},
		{"master without stream", bare, map[string]interface{}{"a": map[string]interface{}{"region": region, "table_name": "copy"}}, "has no stream. Enable one"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			opts := withVars(base, c.master, c.slaves)
			opts.Logger = newLogger(t)
			out, err := terraform.PlanE(t, opts)
			require.Error(t, err, "plan should fail")
			// Terraform wraps long messages: compare with whitespace collapsed.
			assert.Contains(t, strings.Join(strings.Fields(out+" "+err.Error()), " "), c.want)
		})
	}

	// The same fixture with good input plans: the failures above come from
	// the input, not from the fixture.
	_, err := terraform.PlanE(t, withVars(base, master, map[string]interface{}{
		"a": map[string]interface{}{"region": region, "table_name": "copy"},
		"b": map[string]interface{}{"region": "eu-west-1", "table_name": master},
		"c": map[string]interface{}{"region": region, "table_name": master, "role_arn": role, "external_id": "xyz"},
	}))
	require.NoError(t, err)
}

func withVars(base *terraform.Options, master string, slaves map[string]interface{}) *terraform.Options {
	opts := *base
	opts.Vars = map[string]interface{}{"master_table_name": master, "slaves": slaves, "name": uniqueName("v")}
	return &opts
}
