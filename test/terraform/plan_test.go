package test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/gruntwork-io/terratest/modules/terraform"
	tfjson "github.com/hashicorp/terraform-json"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// mappingSettings are the event source mapping arguments a test expects.
type mappingSettings struct {
	BatchSize, BatchingWindow, Parallelization, Retries, RecordAge int
	Bisect, Enabled                                                bool
	StartingPosition                                               string
}

// With parking, a batch fails only while the state table cannot be written:
// the mapping retries it until the stream trims it.
var defaultMapping = mappingSettings{
	BatchSize: 1000, BatchingWindow: 0, Parallelization: 1, Retries: -1, RecordAge: -1,
	Bisect: true, Enabled: true, StartingPosition: "TRIM_HORIZON",
}

// planWant is what one example's plan must hold.
type planWant struct {
	replicator
	module  string            // address of the replicator module call
	tables  map[string]string // created slave tables: address => region/name
	mapping mappingSettings
	// The functions deploy the committed zip (create_package = false) rather
	// than one archive_file writes at plan time.
	existingPackage bool
}

func checkPlan(t *testing.T, plan *terraform.PlanStruct, want planWant) {
	t.Helper()
	m := want.module

	// One stream function and one mapping, however many slaves, and a drain;
	// the copy function only with the state machine. One zip, one environment.
	fns := managed(plan, "aws_lambda_function")
	require.Len(t, fns, len(want.functions()))
	var firstEnv map[string]string
	for addr, fn := range fns {
		v := fn.AttributeValues
		name := v["function_name"].(string)
		require.Contains(t, want.functions(), name, addr)
		assert.Equal(t, want.functions()[name], v["handler"], addr)
		assert.Equal(t, "nodejs22.x", v["runtime"], addr)
		assert.Equal(t, []interface{}{"arm64"}, v["architectures"], addr)
		env := functionEnv(t, fn)
		if firstEnv == nil {
			firstEnv = functionEnv(t, fn)
		}
		assert.Equal(t, firstEnv, env, "%s: the entry points share one environment", addr)
		assert.Equal(t, want.slaves, decodeSlaves(t, env["REPLICATOR_SLAVES"]), addr)
		delete(env, "REPLICATOR_SLAVES")
		assert.Equal(t, want.env(), env, addr)
	}
	assert.EqualValues(t, 120, plan.ResourcePlannedValuesMap[m+".aws_lambda_function.this"].AttributeValues["timeout"])
	assert.EqualValues(t, 300, plan.ResourcePlannedValuesMap[m+".aws_lambda_function.drain"].AttributeValues["timeout"])

	// The mapping reads the master's stream with the configured settings and
	// counts its events.
	v := only(t, plan, "aws_lambda_event_source_mapping").AttributeValues
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
	assert.Equal(t, []interface{}{map[string]interface{}{"metrics": []interface{}{"EventCount"}}}, v["metrics_config"])
	dest := v["destination_config"].([]interface{})
	require.Len(t, dest, 1)
	require.Len(t, dest[0].(map[string]interface{})["on_failure"].([]interface{}), 1)

	// Every grant of every role, exactly.
	requirePolicies(t, plannedPolicies(t, plan, m), byPolicyName(want.policies()))
	roles := map[string]bool{}
	for _, role := range managed(plan, "aws_iam_role") {
		roles[role.AttributeValues["name"].(string)] = true
	}
	for role := range want.policies() {
		assert.True(t, roles[role], "role %s planned", role)
	}

	checkStrictPolicies(t, plan, m, want.extraStatements != nil)
	checkReleasePlan(t, plan, want)

	checkStatePlan(t, plan, want)
	checkBucketPlan(t, plan, want)
	checkDrainPlan(t, plan, want)
	checkAlarmsPlan(t, plan, want)

	// Slave tables are created only where asked, each in its region.
	got := map[string]string{}
	for addr, table := range managed(plan, "aws_dynamodb_table") {
		if addr == m+".aws_dynamodb_table.state" {
			continue
		}
		got[addr] = fmt.Sprintf("%v/%v", table.AttributeValues["region"], table.AttributeValues["name"])
		assert.Equal(t, "pk", table.AttributeValues["hash_key"], addr)
		assert.Equal(t, "sk", table.AttributeValues["range_key"], addr)
		if strings.HasPrefix(addr, m+".module.replica_table[") {
			// slave_deletion_protection is on by default.
			assert.Equal(t, true, table.AttributeValues["deletion_protection_enabled"], addr)
		}
	}
	assert.Equal(t, want.tables, got)
}

// policyKeys are the only keys the module writes in its own policies: no
// NotAction, NotResource or Principal can slip in beside the allowlist.
var policyKeys = map[string]bool{"Sid": true, "Effect": true, "Action": true, "Resource": true, "Condition": true}

// checkStrictPolicies reads every planned inline policy of the module's
// roles again, key by key: Effect is Allow and nothing is there that the
// allowlist comparison does not see. The extra statements are the caller's.
func checkStrictPolicies(t *testing.T, plan *terraform.PlanStruct, module string, extra bool) {
	t.Helper()
	for addr, r := range managed(plan, "aws_iam_role_policy") {
		if !strings.HasPrefix(addr, module+".aws_iam_role_policy.") || (extra && strings.HasPrefix(addr, module+".aws_iam_role_policy.extra_")) {
			continue
		}
		var doc struct {
			Version   string
			Statement []map[string]json.RawMessage
		}
		raw, known := r.AttributeValues["policy"].(string)
		require.True(t, known, addr)
		dec := json.NewDecoder(strings.NewReader(raw))
		dec.DisallowUnknownFields()
		require.NoError(t, dec.Decode(&doc), "%s: a policy holds Version and Statement only", addr)
		assert.Equal(t, "2012-10-17", doc.Version, addr)
		for _, st := range doc.Statement {
			for k := range st {
				assert.True(t, policyKeys[k], "%s: statement key %s", addr, k)
			}
			assert.JSONEq(t, `"Allow"`, string(st["Effect"]), addr)
		}
	}
}

// moduleConfig is the module call's configuration in the plan.
func moduleConfig(t *testing.T, plan *terraform.PlanStruct, module string) map[string]*tfjson.ConfigResource {
	t.Helper()
	call, ok := plan.RawPlan.Config.RootModule.ModuleCalls[strings.TrimPrefix(module, "module.")]
	require.True(t, ok, module)
	out := map[string]*tfjson.ConfigResource{}
	for _, r := range call.Module.Resources {
		out[r.Address] = r
	}
	return out
}

// checkReleasePlan: the stream function publishes a version of its package,
// the mapping invokes the alias "live", and the function is updated only after
// every slave's table and grant exist.
func checkReleasePlan(t *testing.T, plan *terraform.PlanStruct, want planWant) {
	t.Helper()
	m := want.module
	fn := plan.ResourcePlannedValuesMap[m+".aws_lambda_function.this"].AttributeValues
	assert.Equal(t, true, fn["publish"], "a version per deploy, to roll back to")

	// By default archive_file zips the bundle at plan time under .terraform of
	// the root, and the hash is the bundle's own. With create_package = false
	// the package is the zip committed beside the bundle, named relative to
	// the module, so a saved plan finds it on any runner; its hash is the
	// zip's own.
	hashed := "dist/lambda/index.mjs"
	if want.existingPackage {
		hashed = "dist/lambda/function.zip"
	}
	content, err := os.ReadFile(filepath.Join(repoRoot, hashed))
	require.NoError(t, err)
	sum := sha256.Sum256(content)
	for addr, f := range managed(plan, "aws_lambda_function") {
		filename := f.AttributeValues["filename"].(string)
		if want.existingPackage {
			assert.True(t, strings.HasSuffix(filename, "dist/lambda/function.zip") && !strings.Contains(filename, ".terraform"), "%s: filename %s", addr, filename)
			assert.False(t, filepath.IsAbs(filename), "%s: filename %s is absolute", addr, filename)
		} else {
			assert.Contains(t, filename, ".terraform/dynamo-replicator/", "%s: the zip archive_file wrote", addr)
		}
		assert.Equal(t, base64.StdEncoding.EncodeToString(sum[:]), f.AttributeValues["source_code_hash"], addr)
	}

	alias := plan.ResourcePlannedValuesMap[m+".aws_lambda_alias.live"]
	require.NotNil(t, alias, "the alias the mapping invokes")
	assert.Equal(t, "live", alias.AttributeValues["name"])
	assert.Equal(t, want.name, alias.AttributeValues["function_name"])
	assert.Equal(t, want.region, alias.AttributeValues["region"])

	config := moduleConfig(t, plan, m)
	mapping := config["aws_lambda_event_source_mapping.this"]
	require.NotNil(t, mapping)
	assert.Contains(t, mapping.Expressions["function_name"].References, "aws_lambda_alias.live.arn", "the mapping invokes the alias")
	version := config["aws_lambda_alias.live"].Expressions["function_version"]
	assert.Contains(t, version.References, "aws_lambda_function.this.version", "the alias names the version just published")
	for _, fn := range []string{"aws_lambda_function.this", "aws_lambda_function.drain"} {
		assert.Subset(t, config[fn].DependsOn, []string{"module.replica_table"}, fn)
	}
	assert.Subset(t, config["aws_lambda_function.this"].DependsOn, []string{"aws_iam_role_policy.slave", "aws_iam_role_policy.lambda"})
	assert.Subset(t, config["aws_lambda_function.drain"].DependsOn, []string{"aws_iam_role_policy.drain_slave", "aws_iam_role_policy.drain"})
}

// The state table: two string keys, on demand, encrypted, recoverable and
// protected from deletion, with no stream, TTL or index.
func checkStatePlan(t *testing.T, plan *terraform.PlanStruct, want planWant) {
	t.Helper()
	v := plan.ResourcePlannedValuesMap[want.module+".aws_dynamodb_table.state"].AttributeValues
	assert.Equal(t, want.stateTableName(), v["name"])
	assert.Equal(t, want.region, v["region"])
	assert.Equal(t, "PAY_PER_REQUEST", v["billing_mode"])
	assert.Equal(t, "pk", v["hash_key"])
	assert.Equal(t, "sk", v["range_key"])
	assert.ElementsMatch(t, []interface{}{
		map[string]interface{}{"name": "pk", "type": "S"},
		map[string]interface{}{"name": "sk", "type": "S"},
	}, v["attribute"])
	assert.Equal(t, true, v["point_in_time_recovery"].([]interface{})[0].(map[string]interface{})["enabled"])
	assert.Equal(t, true, v["server_side_encryption"].([]interface{})[0].(map[string]interface{})["enabled"])
	assert.Equal(t, true, v["deletion_protection_enabled"])
	assert.NotEqual(t, true, v["stream_enabled"], "no stream")
	assert.Empty(t, v["global_secondary_index"])
	ttls, _ := v["ttl"].([]interface{})
	for _, ttl := range ttls {
		assert.NotEqual(t, true, ttl.(map[string]interface{})["enabled"], "TTL")
	}
}

// The failure bucket: private, owner-enforced, encrypted, expiring, TLS only.
func checkBucketPlan(t *testing.T, plan *terraform.PlanStruct, want planWant) {
	t.Helper()
	at := func(typ string) map[string]interface{} {
		r := plan.ResourcePlannedValuesMap[want.module+"."+typ+".failures"]
		require.NotNil(t, r, typ)
		return r.AttributeValues
	}
	assert.Equal(t, want.bucketName(), at("aws_s3_bucket")["bucket"])
	assert.Equal(t, want.region, at("aws_s3_bucket")["region"])
	pab := at("aws_s3_bucket_public_access_block")
	for _, k := range []string{"block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"} {
		assert.Equal(t, true, pab[k], k)
	}
	assert.Equal(t, "BucketOwnerEnforced", at("aws_s3_bucket_ownership_controls")["rule"].([]interface{})[0].(map[string]interface{})["object_ownership"])
	sse := at("aws_s3_bucket_server_side_encryption_configuration")["rule"].([]interface{})[0].(map[string]interface{})
	assert.Equal(t, "AES256", sse["apply_server_side_encryption_by_default"].([]interface{})[0].(map[string]interface{})["sse_algorithm"])
	rules := at("aws_s3_bucket_lifecycle_configuration")["rule"].([]interface{})
	require.Len(t, rules, 1)
	rule := rules[0].(map[string]interface{})
	assert.Equal(t, "Enabled", rule["status"])
	assert.EqualValues(t, 90, rule["expiration"].([]interface{})[0].(map[string]interface{})["days"])
	assert.EqualValues(t, 90, rule["noncurrent_version_expiration"].([]interface{})[0].(map[string]interface{})["noncurrent_days"])
	assert.EqualValues(t, 7, rule["abort_incomplete_multipart_upload"].([]interface{})[0].(map[string]interface{})["days_after_initiation"])
	assert.Empty(t, managed(plan, "aws_s3_bucket_versioning"), "versioning is off by default")

	var policy struct {
		Statement []struct {
			Sid, Effect, Principal string
			Action                 string
			Resource               []string
			Condition              map[string]map[string]string
		}
	}
	require.NoError(t, json.Unmarshal([]byte(at("aws_s3_bucket_policy")["policy"].(string)), &policy))
	require.Len(t, policy.Statement, 1)
	st := policy.Statement[0]
	assert.Equal(t, "Deny", st.Effect)
	assert.Equal(t, "*", st.Principal)
	assert.Equal(t, "s3:*", st.Action)
	assert.ElementsMatch(t, []string{want.bucketArn(), want.bucketArn() + "/*"}, st.Resource)
	assert.Equal(t, map[string]map[string]string{"Bool": {"aws:SecureTransport": "false"}}, st.Condition)
}

// The drain's schedule: one rule, one target, one permission for that rule.
func checkDrainPlan(t *testing.T, plan *terraform.PlanStruct, want planWant) {
	t.Helper()
	rule := only(t, plan, "aws_cloudwatch_event_rule").AttributeValues
	assert.Equal(t, want.name+"-drain", rule["name"])
	assert.Equal(t, "rate(1 minute)", rule["schedule_expression"])
	assert.Equal(t, want.region, rule["region"])
	target := only(t, plan, "aws_cloudwatch_event_target").AttributeValues
	assert.Equal(t, want.name+"-drain", target["rule"])
	perm := only(t, plan, "aws_lambda_permission").AttributeValues
	assert.Equal(t, "events.amazonaws.com", perm["principal"])
	assert.Equal(t, "lambda:InvokeFunction", perm["action"])
	assert.Equal(t, want.name+"-drain", perm["function_name"])
}

// Every alarm of the project's own metrics carries the Replicator dimension.
func checkAlarmsPlan(t *testing.T, plan *terraform.PlanStruct, want planWant) {
	t.Helper()
	alarms := map[string]map[string]interface{}{}
	for _, a := range managed(plan, "aws_cloudwatch_metric_alarm") {
		alarms[a.AttributeValues["alarm_name"].(string)] = a.AttributeValues
	}
	names := []string{}
	for n := range alarms {
		names = append(names, n)
	}
	assert.ElementsMatch(t, want.alarmNames(), names)
	for key := range want.slaves {
		dims := map[string]interface{}{"Replicator": want.name, "Slave": key}
		failed := alarms[want.name+"-failed-records-"+key]
		assert.Equal(t, "FailedRecords", failed["metric_name"])
		assert.Equal(t, dims, failed["dimensions"])
		parked := alarms[want.name+"-parked-age-"+key]
		assert.Equal(t, "OldestParkedAgeSeconds", parked["metric_name"])
		assert.Equal(t, dims, parked["dimensions"])
		assert.Equal(t, "breaching", parked["treat_missing_data"], "the drain reports every run: no data means no drain")
		assert.EqualValues(t, 900, parked["threshold"])
		assert.Equal(t, "Maximum", parked["statistic"])
	}
	for suffix, metric := range map[string]string{"-rejected-records": "RejectedRecords", "-configuration-errors": "ConfigurationErrors"} {
		a := alarms[want.name+suffix]
		assert.Equal(t, metric, a["metric_name"])
		assert.Equal(t, "DynamoReplicator", a["namespace"])
		assert.Equal(t, map[string]interface{}{"Replicator": want.name}, a["dimensions"])
		assert.EqualValues(t, 0, a["threshold"])
		assert.Equal(t, "GreaterThanThreshold", a["comparison_operator"])
	}
	givenUp := alarms[want.name+"-records-given-up"]
	assert.Equal(t, "AWS/Lambda", givenUp["namespace"])
	assert.Equal(t, "OnFailureDestinationDeliveredEventCount", givenUp["metric_name"])
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
				replicator: replicator{
					name: name, region: region, account: account, masterName: master,
					masterArn:        aws.ToString(table.TableArn),
					streamArn:        aws.ToString(table.LatestStreamArn),
					slaves:           map[string]slaveEnv{"copy": {Region: region, TableName: master + "-copy"}},
					writeConcurrency: 16,
				},
				module: "module.replicator",
				tables: map[string]string{
					`module.replicator.module.replica_table["copy"].aws_dynamodb_table.this`: region + "/" + master + "-copy",
				},
				mapping: defaultMapping,
			})
			assert.Empty(t, managed(plan, "aws_sfn_state_machine"), "the state machine is off by default")
		})
	}
}

func TestPlanMultiRegion(t *testing.T) {
	t.Parallel()
	region, master, name := "eu-west-1", uniqueName("orders"), uniqueName("repl")
	table := createMaster(t, region, master, ddbtypes.StreamViewTypeNewImage)
	account := accountID(t, awsConfig(t, region))

	plan := planExample(t, "multi-region", map[string]interface{}{
		"master_region": region, "name": name, "master_table_name": master, "initial_copy_slaves": []string{"ap"},
	})

	regions := map[string]string{"us": "us-east-1", "ap": "ap-southeast-2", "eu": "eu-central-1"}
	want := planWant{
		replicator: replicator{
			name: name, region: region, account: account, masterName: master,
			masterArn:        aws.ToString(table.TableArn),
			streamArn:        aws.ToString(table.LatestStreamArn),
			slaves:           map[string]slaveEnv{},
			writeConcurrency: 16,
			copy:             true, totalSegments: 32, concurrency: 8,
		},
		module:  "module.replicator",
		tables:  map[string]string{},
		mapping: defaultMapping,
	}
	want.mapping.BatchSize, want.mapping.Parallelization = 200, 2
	for key, r := range regions {
		want.slaves[key] = slaveEnv{Region: r, TableName: master, InitialCopy: key == "ap"}
		want.tables[fmt.Sprintf(`module.replicator.module.replica_table[%q].aws_dynamodb_table.this`, key)] = r + "/" + master
	}
	checkPlan(t, plan, want)
	checkStateMachinePlan(t, plan, want)

	// Everything but the slave tables stays in the master's region.
	for _, typ := range []string{"aws_lambda_event_source_mapping", "aws_sns_topic", "aws_s3_bucket", "aws_cloudwatch_event_rule", "aws_sfn_state_machine"} {
		assert.Equal(t, region, only(t, plan, typ).AttributeValues["region"], typ)
	}
	for addr, fn := range managed(plan, "aws_lambda_function") {
		assert.Equal(t, region, fn.AttributeValues["region"], addr)
	}
}

// The state machine's definition: a Distributed Map over the segment
// numbers, each iteration a copySegment call repeated until it reports done.
func checkStateMachinePlan(t *testing.T, plan *terraform.PlanStruct, want planWant) {
	t.Helper()
	sm := only(t, plan, "aws_sfn_state_machine").AttributeValues
	assert.Equal(t, want.stateMachineName(), sm["name"])
	assert.Equal(t, "STANDARD", sm["type"])
	raw, known := sm["definition"].(string)
	require.True(t, known, "definition unknown at plan time")
	var def struct {
		StartAt string
		States  map[string]json.RawMessage
	}
	require.NoError(t, json.Unmarshal([]byte(raw), &def), raw)
	assert.Equal(t, "Segments", def.StartAt)

	var segments struct {
		Type       string
		Parameters map[string]string
		Next       string
	}
	require.NoError(t, json.Unmarshal(def.States["Segments"], &segments))
	assert.Equal(t, "Pass", segments.Type)
	assert.Equal(t, map[string]string{"slave.$": "$.slave", "segments.$": fmt.Sprintf("States.ArrayRange(0, %d, 1)", want.totalSegments-1)}, segments.Parameters)

	var copySegments struct {
		Type           string
		ItemsPath      string
		ItemSelector   map[string]map[string]interface{}
		MaxConcurrency int
		End            bool
		ItemProcessor  struct {
			ProcessorConfig map[string]string
			StartAt         string
			States          map[string]json.RawMessage
		}
	}
	require.Equal(t, "CopySegments", segments.Next)
	require.NoError(t, json.Unmarshal(def.States["CopySegments"], &copySegments))
	assert.Equal(t, "Map", copySegments.Type)
	assert.Equal(t, "$.segments", copySegments.ItemsPath)
	assert.Equal(t, want.concurrency, copySegments.MaxConcurrency)
	assert.True(t, copySegments.End)
	assert.Equal(t, map[string]string{"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}, copySegments.ItemProcessor.ProcessorConfig)
	assert.Equal(t, map[string]map[string]interface{}{"input": {
		"slave.$": "$.slave", "segment.$": "$$.Map.Item.Value", "totalSegments": float64(want.totalSegments),
		// The stream function's timeout (the default 120 s): the longest an invocation that started before the
		// slave was parked can run.
		"settleSeconds": float64(120),
	}}, copySegments.ItemSelector)

	inner := copySegments.ItemProcessor.States
	assert.Equal(t, "CopySegment", copySegments.ItemProcessor.StartAt)
	var task struct {
		Type, Resource, ResultPath, Next string
		Parameters                       map[string]string
		Retry                            []struct{ ErrorEquals []string }
	}
	require.NoError(t, json.Unmarshal(inner["CopySegment"], &task))
	assert.Equal(t, "Task", task.Type)
	assert.Equal(t, "arn:aws:states:::lambda:invoke", task.Resource)
	assert.Equal(t, map[string]string{"FunctionName": want.functionArn(want.name + "-copy"), "Payload.$": "$.input"}, task.Parameters)
	assert.Equal(t, "$.result", task.ResultPath)
	require.Len(t, task.Retry, 1)
	assert.ElementsMatch(t, []string{"Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException", "Lambda.TooManyRequestsException"}, task.Retry[0].ErrorEquals)
	var choice struct {
		Type    string
		Choices []struct {
			Variable      string
			BooleanEquals bool
			Next          string
		}
		Default string
	}
	require.Equal(t, "SegmentDone", task.Next)
	require.NoError(t, json.Unmarshal(inner["SegmentDone"], &choice))
	assert.Equal(t, "Choice", choice.Type)
	require.Len(t, choice.Choices, 1)
	assert.Equal(t, "$.result.done", choice.Choices[0].Variable)
	assert.True(t, choice.Choices[0].BooleanEquals)
	assert.Equal(t, "CopySegment", choice.Default, "a segment not done is called again with the same input")
	var done struct{ Type string }
	require.NoError(t, json.Unmarshal(inner[choice.Choices[0].Next], &done))
	assert.Equal(t, "Succeed", done.Type)

	// Only states.amazonaws.com of this account may assume its role.
	role := plan.ResourcePlannedValuesMap[want.module+".aws_iam_role.state_machine[0]"]
	require.NotNil(t, role)
	assert.JSONEq(t, fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"states.amazonaws.com"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"aws:SourceAccount":%q}}}]}`, want.account), role.AttributeValues["assume_role_policy"].(string))
}

func TestPlanCrossAccount(t *testing.T) {
	t.Parallel()
	region, slaveRegion := "us-east-1", "eu-west-1"
	master, name, slaveTable := uniqueName("orders"), uniqueName("repl"), uniqueName("partner")
	slaveAccount := "111111111111"
	deployRole := fmt.Sprintf("arn:aws:iam::%s:role/terraform", slaveAccount)
	slaveKey := fmt.Sprintf("arn:aws:kms:%s:%s:key/66666666-7777-8888-9999-000000000000", slaveRegion, slaveAccount)
	table := createMaster(t, region, master, ddbtypes.StreamViewTypeNewAndOldImages)
	account := accountID(t, awsConfig(t, region))

	plan := planExample(t, "cross-account", map[string]interface{}{
		"region": region, "name": name, "master_table_name": master,
		"slave_account_deploy_role_arn": deployRole, "slave_region": slaveRegion,
		"slave_table_name": slaveTable, "external_id": "ext-" + name,
		"slave_kms_key_arn": slaveKey,
	}, "slave_account")

	writerRole := fmt.Sprintf("arn:aws:iam::%s:role/%s-writer", slaveAccount, name)
	externalID := "ext-" + name
	want := planWant{
		replicator: replicator{
			name: name, region: region, account: account, masterName: master,
			masterArn: aws.ToString(table.TableArn),
			streamArn: aws.ToString(table.LatestStreamArn),
			slaves: map[string]slaveEnv{"partner": {
				Region: slaveRegion, TableName: slaveTable, RoleArn: &writerRole, ExternalID: &externalID,
			}},
			writeConcurrency: 16,
		},
		module: "module.replicator",
		// Created in the slave's account by the example, not by the module.
		tables:  map[string]string{"module.slave_table.aws_dynamodb_table.this": slaveRegion + "/" + slaveTable},
		mapping: defaultMapping,
	}
	checkPlan(t, plan, want)

	// The example builds the replicator's role ARNs from names (the writer's
	// trust needs them before the module runs): they are the module's.
	outputs := plan.RawPlan.PlannedValues.Outputs
	assert.Equal(t, toInterfaces(want.slaveWriterRoleArns()), outputs["slave_writer_principal_arns"].Value)
	assert.Equal(t, outputs["slave_writer_principal_arns"].Value, outputs["trusted_role_arns"].Value)

	// The writer role trusts only the replicator's writing roles, with the
	// external ID.
	trust, known := plan.ResourcePlannedValuesMap["module.slave_writer.aws_iam_role.this"].AttributeValues["assume_role_policy"].(string)
	require.True(t, known, "trust policy unknown at plan time")
	assert.JSONEq(t, fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::%s:root"]},"Action":"sts:AssumeRole","Condition":{"ArnEquals":{"aws:PrincipalArn":["%s","%s"]},"StringEquals":{"sts:ExternalId":%q}}}]}`,
		account, want.roleArn(""), want.roleArn("drain"), externalID), trust)

	// The writer role writes exactly the slave table, and uses its key
	// through DynamoDB in the key's region only.
	policy, known := plan.ResourcePlannedValuesMap["module.slave_writer.aws_iam_role_policy.this"].AttributeValues["policy"].(string)
	require.True(t, known, "writer policy unknown at plan time")
	assert.JSONEq(t, fmt.Sprintf(`{"Version":"2012-10-17","Statement":[
		{"Sid":"WriteSlaveTables","Effect":"Allow","Action":"dynamodb:BatchWriteItem","Resource":[%q]},
		{"Sid":"UseSlaveTableKeysEuWest1","Effect":"Allow","Action":["kms:Decrypt","kms:DescribeKey","kms:GenerateDataKey"],"Resource":[%q],
		 "Condition":{"StringEquals":{"kms:ViaService":"dynamodb.eu-west-1.amazonaws.com"}}}]}`,
		tableArn("aws", slaveRegion, slaveAccount, slaveTable), slaveKey), policy)
}

func toInterfaces(s []string) []interface{} {
	out := make([]interface{}, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
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
	ok := map[string]interface{}{"a": map[string]interface{}{"region": region, "table_name": "copy"}}
	cases := []struct {
		name   string
		master string
		slaves map[string]interface{}
		want   string
		vars   map[string]interface{} // other inputs
	}{
		{"no slave", master, map[string]interface{}{}, "slaves must name at least one table", nil},
		{"bad key", master, map[string]interface{}{"a b": map[string]interface{}{"region": region, "table_name": "copy"}}, "Each key of slaves must be", nil},
		{"region is a zone", master, map[string]interface{}{"a": map[string]interface{}{"region": "eu-west-1a", "table_name": "copy"}}, "Each slave's region must look like an AWS region", nil},
		{"table name is an ARN", master, map[string]interface{}{"a": map[string]interface{}{"region": region, "table_name": "arn:aws:dynamodb:us-east-1:111122223333:table/x"}}, "Each slave's table_name must be a DynamoDB table name", nil},
		{"duplicate region/table pair", master, map[string]interface{}{
			"a": map[string]interface{}{"region": region, "table_name": "copy"},
			"b": map[string]interface{}{"region": region, "table_name": "copy"},
		}, "Two slaves name the same table", nil},
		{"bad role_arn", master, map[string]interface{}{"a": map[string]interface{}{"region": region, "table_name": "copy", "role_arn": "writer"}}, "Each slave's role_arn must be an IAM role ARN", nil},
		{"external_id without role_arn", master, map[string]interface{}{"a": map[string]interface{}{"region": region, "table_name": "copy", "external_id": "xyz"}}, "external_id is only used when assuming role_arn", nil},
		{"create_table with role_arn", master, map[string]interface{}{"a": map[string]interface{}{"region": region, "table_name": "copy", "role_arn": role, "create_table": true}}, "create_table works only for slaves in this account", nil},
		{"kms key on a cross-account slave", master, map[string]interface{}{"a": map[string]interface{}{"region": region, "table_name": "copy", "role_arn": role, "kms_key_arn": "arn:aws:kms:us-east-1:111122223333:key/x"}}, "kms_key_arn is for slaves in this account: for a slave written through role_arn, give its table's key to modules/slave-access-role", nil},
		{"kms key not an ARN", master, map[string]interface{}{"a": map[string]interface{}{"region": region, "table_name": "copy", "kms_key_arn": "alias/orders"}}, "Each slave's kms_key_arn must be a KMS key ARN", nil},
		{"kms key of another region", master, map[string]interface{}{"a": map[string]interface{}{"region": region, "table_name": "copy", "kms_key_arn": "arn:aws:kms:eu-west-1:111122223333:key/x"}}, "Each slave's kms_key_arn must be a key of the slave's own region", nil},
		{"enabled not a bool", master, map[string]interface{}{"a": map[string]interface{}{"region": region, "table_name": "copy", "enabled": "later"}}, "a bool is required", nil},
		{"environment over 4 KB", master, manySlaves(region, 40), "over Lambda's limit of 4096", nil},
		{"bad endpoint", master, map[string]interface{}{"a": map[string]interface{}{"region": region, "table_name": "copy", "endpoint": "localhost:8000"}}, "Each slave's endpoint must be an http(s) URL", nil},
		{"slave equal to master", master, map[string]interface{}{"a": map[string]interface{}{"region": region, "table_name": master}}, "is the master table itself", nil},
		{"master without stream", bare, ok, "has no stream. Enable one", nil},
		{"initial_copy not a bool", master, map[string]interface{}{"a": map[string]interface{}{"region": region, "table_name": "copy", "initial_copy": "soon"}}, "a bool is required", nil},
		{"budget out of range", master, ok, "slave_write_budget_seconds must be a whole number of seconds between 1 and 60", map[string]interface{}{"slave_write_budget_seconds": 61}},
		{"budget not below timeout", master, ok, "slave_write_budget_seconds (30) must be less than timeout (30)", map[string]interface{}{"slave_write_budget_seconds": 30, "timeout": 30}},
		{"bad schedule", master, ok, "drain_schedule_expression must be an EventBridge schedule expression", map[string]interface{}{"drain_schedule_expression": "every minute"}},
		{"too many segments", master, ok, "initial_copy_state_machine.total_segments must be a whole number between 1 and 1000", map[string]interface{}{"initial_copy_state_machine": map[string]interface{}{"enabled": true, "total_segments": 1001}}},
		{"too much concurrency", master, ok, "initial_copy_state_machine.max_concurrency must be a whole number between 1 and 10000", map[string]interface{}{"initial_copy_state_machine": map[string]interface{}{"max_concurrency": 10001}}},
		{"capacity share above 1", master, ok, "initial_copy_state_machine.capacity_share is a fraction", map[string]interface{}{"initial_copy_state_machine": map[string]interface{}{"capacity_share": 1.5}}},
		{"bad rate", master, ok, "initial_copy_state_machine.items_per_second must be a positive number", map[string]interface{}{"initial_copy_state_machine": map[string]interface{}{"items_per_second": 0}}},
		{"name not a bucket name", master, ok, "is not a valid S3 bucket name: start name with a letter or a digit", map[string]interface{}{"name": "_" + uniqueName("v")}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			opts := withVars(base, c.master, c.slaves)
			for k, v := range c.vars {
				opts.Vars[k] = v
			}
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
		"c": map[string]interface{}{"region": region, "table_name": master, "role_arn": role, "external_id": "xyz", "initial_copy": true},
	}))
	require.NoError(t, err)
}

func withVars(base *terraform.Options, master string, slaves map[string]interface{}) *terraform.Options {
	opts := *base
	opts.Vars = map[string]interface{}{"master_table_name": master, "slaves": slaves, "name": uniqueName("v")}
	return &opts
}

// manySlaves names n same-account slaves with long table names.
func manySlaves(region string, n int) map[string]interface{} {
	out := map[string]interface{}{}
	for i := 0; i < n; i++ {
		out[fmt.Sprintf("slave%02d", i)] = map[string]interface{}{"region": region, "table_name": fmt.Sprintf("orders-replica-with-a-long-name-%02d", i)}
	}
	return out
}

// createEncryptedMaster is createMaster with a customer managed key.
func createEncryptedMaster(t *testing.T, region, name, key string) *ddbtypes.TableDescription {
	t.Helper()
	return createTableIn(t, region, &dynamodb.CreateTableInput{
		TableName:   aws.String(name),
		BillingMode: ddbtypes.BillingModePayPerRequest,
		AttributeDefinitions: []ddbtypes.AttributeDefinition{
			{AttributeName: aws.String("pk"), AttributeType: ddbtypes.ScalarAttributeTypeS},
			{AttributeName: aws.String("sk"), AttributeType: ddbtypes.ScalarAttributeTypeN},
		},
		KeySchema: []ddbtypes.KeySchemaElement{
			{AttributeName: aws.String("pk"), KeyType: ddbtypes.KeyTypeHash},
			{AttributeName: aws.String("sk"), KeyType: ddbtypes.KeyTypeRange},
		},
		StreamSpecification: &ddbtypes.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: ddbtypes.StreamViewTypeNewAndOldImages},
		SSESpecification:    &ddbtypes.SSESpecification{Enabled: aws.Bool(true), SSEType: ddbtypes.SSETypeKms, KMSMasterKeyId: aws.String(key)},
	})
}

// planOptions plans the options fixture with vars.
func planOptions(t *testing.T, vars map[string]interface{}) *terraform.PlanStruct {
	t.Helper()
	dir := copyRoot(t, "test/terraform/fixtures/options")
	pointAtMoto(t, dir)
	opts := options(t, dir, vars)
	opts.PlanFilePath = filepath.Join(dir, "tfplan")
	initRoot(t, opts)
	terraform.Plan(t, opts)
	return terraform.ShowWithStruct(t, opts)
}

// Every KMS input, the IAM options, a paused slave and tags, in one call:
// each key is granted to exactly the roles that use it, through DynamoDB in
// its region; the roles carry the path and boundary; the extra statements
// reach every function role and no other.
func TestPlanKMSAndIAMOptions(t *testing.T) {
	t.Parallel()
	region, master, name := "us-east-1", uniqueName("orders"), uniqueName("repl")
	account := accountID(t, awsConfig(t, region))
	masterKey := fmt.Sprintf("arn:aws:kms:%s:%s:key/11111111-2222-3333-4444-555555555555", region, account)
	stateKey := fmt.Sprintf("arn:aws:kms:%s:%s:key/mrk-0123456789abcdef0123456789abcdef", region, account)
	slaveKey := fmt.Sprintf("arn:aws:kms:eu-west-1:%s:key/66666666-7777-8888-9999-000000000000", account)
	table := createEncryptedMaster(t, region, master, masterKey)
	boundary := fmt.Sprintf("arn:aws:iam::%s:policy/replication-boundary", account)
	writer := "arn:aws:iam::444455556666:role/writer"
	tags := map[string]string{"team": "data", "cost-centre": "42"}

	plan := planOptions(t, map[string]interface{}{
		"name": name, "master_table_name": master,
		"slaves": map[string]interface{}{
			"eu":      map[string]interface{}{"region": "eu-west-1", "table_name": master, "create_table": true, "kms_key_arn": slaveKey},
			"paused":  map[string]interface{}{"region": region, "table_name": master + "-paused", "enabled": false},
			"partner": map[string]interface{}{"region": "eu-west-1", "table_name": master, "role_arn": writer, "external_id": "ext-id"},
		},
		"state_table_kms_key_arn":    stateKey,
		"initial_copy_state_machine": map[string]interface{}{"enabled": true},
		"tags":                       tags,
		"create_package":             false,
		"role_path":                  "/replication/",
		"role_permissions_boundary":  boundary,
		"attach_policy_statements":   true,
		"policy_statements": map[string]interface{}{
			"deny-other-regions": map[string]interface{}{
				"effect": "Deny", "not_actions": []string{"iam:*"}, "resources": []string{"*"},
				"condition": []map[string]interface{}{{"test": "StringNotEquals", "variable": "aws:RequestedRegion", "values": []string{region, "eu-west-1"}}},
			},
			"ReadArchive": map[string]interface{}{"actions": []string{"s3:GetObject"}, "resources": []string{"arn:aws:s3:::archive/*"}},
		},
		"attach_policy_json": true,
		"policy_json":        `{"Version":"2012-10-17","Statement":[{"Sid":"ReadConfig","Effect":"Allow","Action":"ssm:GetParameter","Resource":"arn:aws:ssm:us-east-1:111122223333:parameter/replicator"}]}`,
	})

	extID := "ext-" + "id"
	want := planWant{
		replicator: replicator{
			name: name, region: region, account: account, masterName: master,
			masterArn: aws.ToString(table.TableArn), streamArn: aws.ToString(table.LatestStreamArn),
			slaves: map[string]slaveEnv{
				"eu":      {Region: "eu-west-1", TableName: master},
				"paused":  {Region: region, TableName: master + "-paused", Disabled: true},
				"partner": {Region: "eu-west-1", TableName: master, RoleArn: &writer, ExternalID: &extID},
			},
			writeConcurrency: 16, copy: true, totalSegments: 64, concurrency: 16,
			masterKey: masterKey, stateKey: stateKey, slaveKeys: map[string]string{"eu": slaveKey},
			rolePath: "/replication/",
			extraStatements: []policyStatement{
				// NotAction is compared on the raw JSON below.
				{Sid: "denyotherregions", Effect: "Deny", Resource: stringOrList{"*"}, Condition: map[string]map[string]stringOrList{"StringNotEquals": {"aws:RequestedRegion": {region, "eu-west-1"}}}},
				allow("ReadArchive", []string{"s3:GetObject"}, "arn:aws:s3:::archive/*"),
			},
		},
		module:          "module.replicator",
		tables:          map[string]string{`module.replicator.module.replica_table["eu"].aws_dynamodb_table.this`: "eu-west-1/" + master},
		mapping:         defaultMapping,
		existingPackage: true,
	}
	// policy_json, on each function role too.
	policies := want.policies()
	for role, fn := range map[string]string{want.roleName(""): "stream", want.roleName("drain"): "drain", want.roleName("copy"): "copy"} {
		policies[role][name+"-"+fn+"-extra-json"] = []policyStatement{allow("ReadConfig", []string{"ssm:GetParameter"}, "arn:aws:ssm:us-east-1:111122223333:parameter/replicator")}
	}
	requirePolicies(t, plannedPolicies(t, plan, want.module), byPolicyName(policies))
	checkStrictPolicies(t, plan, want.module, true)
	checkReleasePlan(t, plan, want)

	// The caller's statements as written, NotAction included.
	for _, fn := range []string{"stream", "drain", "copy"} {
		p := plan.ResourcePlannedValuesMap[fmt.Sprintf("module.replicator.aws_iam_role_policy.extra_statements[%q]", fn)]
		require.NotNil(t, p, fn)
		assert.JSONEq(t, fmt.Sprintf(`{"Version":"2012-10-17","Statement":[
			{"Sid":"ReadArchive","Effect":"Allow","Action":["s3:GetObject"],"Resource":["arn:aws:s3:::archive/*"]},
			{"Sid":"denyotherregions","Effect":"Deny","NotAction":["iam:*"],"Resource":["*"],"Condition":{"StringNotEquals":{"aws:RequestedRegion":[%q,"eu-west-1"]}}}]}`, region),
			p.AttributeValues["policy"].(string), fn)
	}
	assert.Empty(t, plan.ResourcePlannedValuesMap["module.replicator.aws_iam_role_policy.extra_statements[\"state_machine\"]"])

	// Every role the module creates: its path, the boundary, the tags.
	roles := managed(plan, "aws_iam_role")
	require.Len(t, roles, 4)
	for addr, role := range roles {
		assert.Equal(t, "/replication/", role.AttributeValues["path"], addr)
		assert.Equal(t, boundary, role.AttributeValues["permissions_boundary"], addr)
	}
	outputs := plan.RawPlan.PlannedValues.Outputs
	assert.Equal(t, toInterfaces(want.slaveWriterRoleArns()), outputs["slave_writer_principal_arns"].Value, "role ARNs hold the path")

	// The paused slave stays in REPLICATOR_SLAVES with enabled = false, and
	// keeps its grants: nothing it is sent is lost, it is parked.
	for addr, fn := range managed(plan, "aws_lambda_function") {
		raw := functionEnv(t, fn)["REPLICATOR_SLAVES"]
		assert.Equal(t, want.slaves, decodeSlaves(t, raw), addr)
		assert.Contains(t, raw, `"paused":{"enabled":false`, addr)
	}

	// tags reach every taggable resource the module creates.
	for addr, r := range plan.ResourcePlannedValuesMap {
		if r.Mode != tfjson.ManagedResourceMode || !strings.HasPrefix(addr, "module.replicator.") {
			continue
		}
		if got, taggable := r.AttributeValues["tags"]; taggable {
			assert.Equal(t, map[string]interface{}{"team": "data", "cost-centre": "42"}, got, addr)
		}
	}
	// Created slave tables are protected from deletion by default.
	assert.Equal(t, true, plan.ResourcePlannedValuesMap[`module.replicator.module.replica_table["eu"].aws_dynamodb_table.this`].AttributeValues["deletion_protection_enabled"])
}

// create_role = false: the module creates no role for the functions and no
// policy; the three run with lambda_role, which the cross-account writer must
// trust; policy_documents lists what lambda_role must grant, the same
// allowlist the module would attach.
func TestPlanExistingRole(t *testing.T) {
	t.Parallel()
	region, master, name := "us-east-1", uniqueName("orders"), uniqueName("repl")
	table := createMaster(t, region, master, ddbtypes.StreamViewTypeNewAndOldImages)
	account := accountID(t, awsConfig(t, region))
	lambdaRole := fmt.Sprintf("arn:aws:iam::%s:role/platform/replicator", account)

	plan := planOptions(t, map[string]interface{}{
		"name": name, "master_table_name": master,
		"slaves":                     map[string]interface{}{"copy": map[string]interface{}{"region": region, "table_name": master + "-copy"}},
		"create_role":                false,
		"lambda_role":                lambdaRole,
		"initial_copy_state_machine": map[string]interface{}{"enabled": true},
	})

	for addr, fn := range managed(plan, "aws_lambda_function") {
		assert.Equal(t, lambdaRole, fn.AttributeValues["role"], addr)
	}
	// Only the state machine's role, which Lambda's cannot be.
	roles := managed(plan, "aws_iam_role")
	require.Len(t, roles, 1)
	require.Contains(t, roles, "module.replicator.aws_iam_role.state_machine[0]")
	policies := managed(plan, "aws_iam_role_policy")
	require.Len(t, policies, 1)
	require.Contains(t, policies, "module.replicator.aws_iam_role_policy.state_machine[0]")

	outputs := plan.RawPlan.PlannedValues.Outputs
	assert.Equal(t, []interface{}{lambdaRole}, outputs["slave_writer_principal_arns"].Value)

	want := replicator{
		name: name, region: region, account: account, masterName: master,
		masterArn: aws.ToString(table.TableArn), streamArn: aws.ToString(table.LatestStreamArn),
		slaves:           map[string]slaveEnv{"copy": {Region: region, TableName: master + "-copy"}},
		writeConcurrency: 16, copy: true,
	}
	docs, ok := outputs["policy_documents"].Value.(map[string]interface{})
	require.True(t, ok, "policy_documents known at plan time")
	got := map[string][]policyStatement{}
	for fn, byName := range docs {
		for policyName, raw := range byName.(map[string]interface{}) {
			got[fn+"/"+policyName] = parsePolicy(t, raw.(string)).Statement
		}
	}
	expected := want.policies()
	delete(expected, want.roleName("sfn"))
	renamed := map[string]map[string][]policyStatement{}
	for role, fn := range map[string]string{want.roleName(""): "stream", want.roleName("drain"): "drain", want.roleName("copy"): "copy"} {
		renamed[fn] = expected[role]
	}
	requirePolicies(t, got, byRoleAndPolicy(renamed))
}

// The IAM options' and the cross-variable rules' messages.
func TestPlanRejectsBadOptions(t *testing.T) {
	t.Parallel()
	region, master := "us-east-1", uniqueName("orders")
	createMaster(t, region, master, ddbtypes.StreamViewTypeNewAndOldImages)

	dir := copyRoot(t, "test/terraform/fixtures/options")
	pointAtMoto(t, dir)
	base := options(t, dir, nil)
	initRoot(t, base)

	ok := map[string]interface{}{"a": map[string]interface{}{"region": region, "table_name": "copy"}}
	statement := map[string]interface{}{"actions": []string{"s3:GetObject"}, "resources": []string{"*"}}
	cases := []struct {
		name string
		vars map[string]interface{}
		want string
	}{
		{"existing role without its ARN", map[string]interface{}{"create_role": false}, "create_role = false needs lambda_role"},
		{"lambda_role with create_role", map[string]interface{}{"lambda_role": "arn:aws:iam::111122223333:role/r"}, "lambda_role is used only with create_role = false"},
		{"lambda_role not a role ARN", map[string]interface{}{"create_role": false, "lambda_role": "replicator"}, "lambda_role must be an IAM role ARN"},
		{"bad role_path", map[string]interface{}{"role_path": "replication"}, "role_path must start and end with \"/\""},
		{"bad boundary", map[string]interface{}{"role_permissions_boundary": "arn:aws:iam::111122223333:role/r"}, "role_permissions_boundary must be the ARN of a managed IAM policy"},
		{"attach_policy_json without policy_json", map[string]interface{}{"attach_policy_json": true}, "attach_policy_json = true needs policy_json"},
		{"policy_json not a policy", map[string]interface{}{"attach_policy_json": true, "policy_json": "{}"}, "policy_json must be an IAM policy document in JSON"},
		{"attach_policy_statements without any", map[string]interface{}{"attach_policy_statements": true}, "attach_policy_statements = true needs at least one entry"},
		{"actions and not_actions", map[string]interface{}{"policy_statements": map[string]interface{}{"x": map[string]interface{}{"actions": []string{"a:b"}, "not_actions": []string{"c:d"}, "resources": []string{"*"}}}}, "needs exactly one of actions and not_actions"},
		{"bad effect", map[string]interface{}{"policy_statements": map[string]interface{}{"x": map[string]interface{}{"effect": "allow", "actions": []string{"a:b"}, "resources": []string{"*"}}}}, "effect must be \"Allow\" or \"Deny\""},
		{"duplicate sid", map[string]interface{}{"policy_statements": map[string]interface{}{"read-it": statement, "readit": statement}}, "Two policy_statements entries have the same Sid"},
		{"state table key not an ARN", map[string]interface{}{"state_table_kms_key_arn": "alias/state"}, "state_table_kms_key_arn must be a KMS key ARN"},
		{"an existing package not a zip", map[string]interface{}{"create_package": false, "local_existing_package": "build/index.mjs"}, "local_existing_package must be the path of a .zip file"},
		{"an existing package while zipping at plan time", map[string]interface{}{"local_existing_package": "build/replicator.zip"}, "is deployed only with create_package = false"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			opts := *base
			opts.Vars = map[string]interface{}{"master_table_name": master, "slaves": ok, "name": uniqueName("v")}
			for k, v := range c.vars {
				opts.Vars[k] = v
			}
			opts.Logger = newLogger(t)
			out, err := terraform.PlanE(t, &opts)
			require.Error(t, err, "plan should fail")
			assert.Contains(t, strings.Join(strings.Fields(out+" "+err.Error()), " "), c.want)
		})
	}
}
