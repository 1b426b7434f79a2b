package test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/gruntwork-io/terratest/modules/terraform"
	tfjson "github.com/hashicorp/terraform-json"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// deployed is what an applied example must have created, read back through
// the AWS SDK.
type deployed struct {
	replicator
	tables   map[string][]string // created slave tables: region => names
	tablesIn func(region string) *dynamodb.Client
	mapping  mappingSettings
	// alarm_actions and ok_actions of every alarm: the example's topic, if any.
	alarmActions []string
	extra        func(t *testing.T) // checks of one example only
}

// applyExample applies an example against moto, checks what it created, plans
// again to find no change, destroys it and checks that the functions are gone.
func applyExample(t *testing.T, example string, vars map[string]interface{}, want deployed, aliases ...string) {
	t.Helper()
	dir := copyRoot(t, "examples/"+example)
	pointAtMoto(t, dir, aliases...)
	opts := options(t, dir, vars)
	defer terraform.Destroy(t, opts)

	initRoot(t, opts)
	terraform.Apply(t, opts)
	checkDeployed(t, want)
	if want.extra != nil {
		want.extra(t)
	}

	if changes := changesAfterApply(t, opts, dir, "after-apply"); len(changes) > 0 && allBucketTags(changes) {
		// moto 5.2.5 drops the tags CreateBucket carries (the provider tags a
		// new bucket that way); the second apply puts them with the bucket's
		// own tagging call, which moto keeps.
		terraform.Apply(t, opts)
	}
	if changes := changesAfterApply(t, opts, dir, "second-plan"); !assert.Empty(t, changes, "a plan after apply must show no changes") {
		t.Log(terraform.Plan(t, opts))
	}

	releaseProtectedTables(t, want)
	terraform.Destroy(t, opts)
	assert.Empty(t, readAlarms(t, awsConfig(t, want.region), want.name+"-"), "alarms left after destroy")
	_, err := cloudwatch.NewFromConfig(awsConfig(t, want.region), func(o *cloudwatch.Options) { o.BaseEndpoint = aws.String(cloudWatchEndpoint) }).
		GetDashboard(context.Background(), &cloudwatch.GetDashboardInput{DashboardName: aws.String(want.dashboardName())})
	assert.Error(t, err, "dashboard %s left after destroy", want.dashboardName())
	lambdaClient := lambda.NewFromConfig(awsConfig(t, want.region))
	for fn := range want.functions() {
		_, err := lambdaClient.GetFunction(context.Background(), &lambda.GetFunctionInput{FunctionName: aws.String(fn)})
		var missing *lambdatypes.ResourceNotFoundException
		assert.True(t, errors.As(err, &missing), "function %s still there after destroy: %v", fn, err)
	}
	for region, names := range want.tables {
		for _, name := range names {
			_, err := want.tablesIn(region).DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: aws.String(name)})
			var gone *ddbtypes.ResourceNotFoundException
			assert.True(t, errors.As(err, &gone), "table %s in %s still there after destroy: %v", name, region, err)
		}
	}
}

// changesAfterApply plans again and returns the addresses of the resources
// the plan would change, leaving out one change moto alone makes: it reports
// a mapping created on an alias with the ARN of the version the alias points
// at, where AWS reports the alias ARN the module passed.
func changesAfterApply(t *testing.T, opts *terraform.Options, dir, name string) map[string]*tfjson.ResourceChange {
	t.Helper()
	planOpts := *opts
	planOpts.PlanFilePath = filepath.Join(dir, name+".tfplan")
	terraform.Plan(t, &planOpts)
	plan := terraform.ShowWithStruct(t, &planOpts)
	changes := map[string]*tfjson.ResourceChange{}
	for _, rc := range plan.RawPlan.ResourceChanges {
		if rc.Change.Actions.NoOp() || rc.Change.Actions.Read() || motoAliasMapping(rc) {
			continue
		}
		changes[rc.Address] = rc
	}
	return changes
}

// motoAliasMapping reports whether a change is only the mapping's function
// moving from "<function ARN>:<version>" (as moto reports it) to
// "<function ARN>:live" (what the module set).
func motoAliasMapping(rc *tfjson.ResourceChange) bool {
	if rc.Type != "aws_lambda_event_source_mapping" || !rc.Change.Actions.Update() {
		return false
	}
	before, _ := rc.Change.Before.(map[string]interface{})
	after, _ := rc.Change.After.(map[string]interface{})
	for k := range after {
		if k != "function_name" && !assert.ObjectsAreEqual(before[k], after[k]) {
			return false
		}
	}
	was, _ := before["function_name"].(string)
	will, _ := after["function_name"].(string)
	function, ok := strings.CutSuffix(will, ":live")
	version, versioned := strings.CutPrefix(was, function+":")
	return ok && versioned && regexp.MustCompile(`^[0-9]+$`).MatchString(version)
}

// allBucketTags reports whether every change is to the tags of an S3 bucket.
func allBucketTags(changes map[string]*tfjson.ResourceChange) bool {
	for _, rc := range changes {
		if rc.Type != "aws_s3_bucket" || !rc.Change.Actions.Update() {
			return false
		}
		before, _ := rc.Change.Before.(map[string]interface{})
		after, _ := rc.Change.After.(map[string]interface{})
		for k := range after {
			if k != "tags" && k != "tags_all" && !assert.ObjectsAreEqual(before[k], after[k]) {
				return false
			}
		}
	}
	return true
}

// releaseProtectedTables shows that the state table and every slave table
// the example created refuse deletion (deletion protection is on by default
// for both), then lifts the protection as an operator does
// (state_table_deletion_protection = false, slave_deletion_protection =
// false) so that the example can be destroyed.
func releaseProtectedTables(t *testing.T, want deployed) {
	t.Helper()
	release := func(ddb *dynamodb.Client, table string) {
		ctx := context.Background()
		_, err := ddb.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(table)})
		require.Error(t, err, "table %s must refuse deletion while protected", table)
		_, err = ddb.UpdateTable(ctx, &dynamodb.UpdateTableInput{TableName: aws.String(table), DeletionProtectionEnabled: aws.Bool(false)})
		require.NoError(t, err, table)
	}
	release(dynamodb.NewFromConfig(awsConfig(t, want.region)), want.stateTableName())
	for region, names := range want.tables {
		for _, name := range names {
			release(want.tablesIn(region), name)
		}
	}
}

func checkDeployed(t *testing.T, want deployed) {
	t.Helper()
	ctx := context.Background()
	cfg := awsConfig(t, want.region)
	lambdaClient := lambda.NewFromConfig(cfg)

	// Every function: its entry point, its own role, the shared environment.
	roleOf := map[string]string{want.name: want.roleArn(""), want.name + "-drain": want.roleArn("drain"), want.name + "-copy": want.roleArn("copy")}
	for name, handler := range want.functions() {
		fn, err := lambdaClient.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(name)})
		require.NoError(t, err, name)
		c := fn.Configuration
		assert.Equal(t, lambdatypes.RuntimeNodejs22x, c.Runtime, name)
		assert.Equal(t, []lambdatypes.Architecture{lambdatypes.ArchitectureArm64}, c.Architectures, name)
		assert.Equal(t, handler, aws.ToString(c.Handler), name)
		assert.Equal(t, roleOf[name], aws.ToString(c.Role), name)
		env := map[string]string{}
		for k, v := range c.Environment.Variables {
			env[k] = v
		}
		assert.Equal(t, want.slaves, decodeSlaves(t, env["REPLICATOR_SLAVES"]), name)
		delete(env, "REPLICATOR_SLAVES")
		assert.Equal(t, want.env(), env, name)
	}

	// One mapping, on the master's stream, with the configured settings, the
	// module's bucket as its on-failure destination and its event counts on.
	// It invokes the alias live, which points at the version the apply
	// published, so that a bad deploy is rolled back by pointing it back.
	alias, err := lambdaClient.GetAlias(ctx, &lambda.GetAliasInput{FunctionName: aws.String(want.name), Name: aws.String("live")})
	require.NoError(t, err)
	assert.Regexp(t, `^[0-9]+$`, aws.ToString(alias.FunctionVersion), "the alias must point at a published version, not $LATEST")
	// By the alias ARN: moto filters on the exact string the mapping was
	// created with (the module passes the ARN), where AWS takes name or ARN.
	mappings, err := lambdaClient.ListEventSourceMappings(ctx, &lambda.ListEventSourceMappingsInput{FunctionName: aws.String(want.functionArn(want.name) + ":live")})
	require.NoError(t, err)
	require.Len(t, mappings.EventSourceMappings, 1)
	esm := mappings.EventSourceMappings[0]
	assert.Equal(t, want.streamArn, aws.ToString(esm.EventSourceArn))
	assert.Equal(t, []lambdatypes.FunctionResponseType{lambdatypes.FunctionResponseTypeReportBatchItemFailures}, esm.FunctionResponseTypes)
	assert.EqualValues(t, want.mapping.BatchSize, aws.ToInt32(esm.BatchSize))
	assert.EqualValues(t, want.mapping.Parallelization, aws.ToInt32(esm.ParallelizationFactor))
	assert.EqualValues(t, want.mapping.Retries, aws.ToInt32(esm.MaximumRetryAttempts))
	assert.EqualValues(t, want.mapping.RecordAge, aws.ToInt32(esm.MaximumRecordAgeInSeconds))
	assert.Equal(t, want.mapping.Bisect, aws.ToBool(esm.BisectBatchOnFunctionError))
	assert.Equal(t, lambdatypes.EventSourcePosition(want.mapping.StartingPosition), esm.StartingPosition)
	require.NotNil(t, esm.DestinationConfig)
	require.NotNil(t, esm.DestinationConfig.OnFailure)
	assert.Equal(t, want.bucketArn(), aws.ToString(esm.DestinationConfig.OnFailure.Destination))
	require.NotNil(t, esm.MetricsConfig)
	assert.Equal(t, []lambdatypes.EventSourceMappingMetric{lambdatypes.EventSourceMappingMetricEventCount}, esm.MetricsConfig.Metrics)

	// Every inline policy of every role, read back from IAM, exactly.
	iamClient := iam.NewFromConfig(cfg)
	got := map[string][]policyStatement{}
	for role := range want.policies() {
		names, err := iamClient.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: aws.String(role)})
		require.NoError(t, err, role)
		for _, policyName := range names.PolicyNames {
			out, err := iamClient.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(role), PolicyName: aws.String(policyName)})
			require.NoError(t, err)
			raw, err := url.QueryUnescape(aws.ToString(out.PolicyDocument))
			require.NoError(t, err)
			got[role+"/"+policyName] = parsePolicy(t, raw).Statement
		}
	}
	requirePolicies(t, got, byRoleAndPolicy(want.policies()))

	checkStateTable(t, cfg, want)
	checkFailureBucket(t, cfg, want)
	checkDrainSchedule(t, cfg, want)
	checkAlarms(t, cfg, want, aws.ToString(esm.UUID))
	if want.copy {
		checkStateMachine(t, cfg, want)
	}

	// Created tables exist in their regions with the master's key schema.
	master, err := dynamodb.NewFromConfig(cfg).DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(want.masterName)})
	require.NoError(t, err)
	for region, tableNames := range want.tables {
		for _, name := range tableNames {
			out, err := want.tablesIn(region).DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
			require.NoError(t, err, "table %s in %s", name, region)
			assert.Equal(t, keySchema(master.Table.KeySchema), keySchema(out.Table.KeySchema), "table %s in %s", name, region)
			assert.Contains(t, aws.ToString(out.Table.TableArn), ":"+region+":", "table %s", name)
		}
	}
}

func checkStateTable(t *testing.T, cfg aws.Config, want deployed) {
	t.Helper()
	ctx := context.Background()
	ddb := dynamodb.NewFromConfig(cfg)
	out, err := ddb.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(want.stateTableName())})
	require.NoError(t, err)
	table := out.Table
	assert.Equal(t, want.stateTableArn(), aws.ToString(table.TableArn))
	assert.Equal(t, []string{"pk=HASH", "sk=RANGE"}, keySchema(table.KeySchema))
	attrs := map[string]ddbtypes.ScalarAttributeType{}
	for _, a := range table.AttributeDefinitions {
		attrs[aws.ToString(a.AttributeName)] = a.AttributeType
	}
	assert.Equal(t, map[string]ddbtypes.ScalarAttributeType{"pk": ddbtypes.ScalarAttributeTypeS, "sk": ddbtypes.ScalarAttributeTypeS}, attrs)
	require.NotNil(t, table.BillingModeSummary)
	assert.Equal(t, ddbtypes.BillingModePayPerRequest, table.BillingModeSummary.BillingMode)
	require.NotNil(t, table.SSEDescription)
	assert.Equal(t, ddbtypes.SSEStatusEnabled, table.SSEDescription.Status)
	assert.True(t, aws.ToBool(table.DeletionProtectionEnabled))
	assert.True(t, table.StreamSpecification == nil || !aws.ToBool(table.StreamSpecification.StreamEnabled), "no stream")
	assert.Empty(t, table.GlobalSecondaryIndexes)
	backups, err := ddb.DescribeContinuousBackups(ctx, &dynamodb.DescribeContinuousBackupsInput{TableName: aws.String(want.stateTableName())})
	require.NoError(t, err)
	assert.Equal(t, ddbtypes.PointInTimeRecoveryStatusEnabled, backups.ContinuousBackupsDescription.PointInTimeRecoveryDescription.PointInTimeRecoveryStatus)
}

func checkFailureBucket(t *testing.T, cfg aws.Config, want deployed) {
	t.Helper()
	ctx := context.Background()
	client := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	bucket := aws.String(want.bucketName())

	pab, err := client.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: bucket})
	require.NoError(t, err)
	c := pab.PublicAccessBlockConfiguration
	assert.Equal(t, []bool{true, true, true, true}, []bool{aws.ToBool(c.BlockPublicAcls), aws.ToBool(c.BlockPublicPolicy), aws.ToBool(c.IgnorePublicAcls), aws.ToBool(c.RestrictPublicBuckets)})

	own, err := client.GetBucketOwnershipControls(ctx, &s3.GetBucketOwnershipControlsInput{Bucket: bucket})
	require.NoError(t, err)
	require.Len(t, own.OwnershipControls.Rules, 1)
	assert.Equal(t, s3types.ObjectOwnershipBucketOwnerEnforced, own.OwnershipControls.Rules[0].ObjectOwnership)

	enc, err := client.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: bucket})
	require.NoError(t, err)
	require.Len(t, enc.ServerSideEncryptionConfiguration.Rules, 1)
	assert.Equal(t, s3types.ServerSideEncryptionAes256, enc.ServerSideEncryptionConfiguration.Rules[0].ApplyServerSideEncryptionByDefault.SSEAlgorithm)

	life, err := client.GetBucketLifecycleConfiguration(ctx, &s3.GetBucketLifecycleConfigurationInput{Bucket: bucket})
	require.NoError(t, err)
	require.Len(t, life.Rules, 1)
	rule := life.Rules[0]
	assert.Equal(t, s3types.ExpirationStatusEnabled, rule.Status)
	assert.EqualValues(t, 90, aws.ToInt32(rule.Expiration.Days))
	assert.EqualValues(t, 7, aws.ToInt32(rule.AbortIncompleteMultipartUpload.DaysAfterInitiation))

	policy, err := client.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: bucket})
	require.NoError(t, err)
	assert.JSONEq(t, fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Sid":"DenyInsecureTransport","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":[%q,%q],"Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}`,
		want.bucketArn(), want.bucketArn()+"/*"), aws.ToString(policy.Policy))
}

// The rule runs the drain every minute, and EventBridge may invoke the drain
// for that rule only.
func checkDrainSchedule(t *testing.T, cfg aws.Config, want deployed) {
	t.Helper()
	ctx := context.Background()
	events := eventbridge.NewFromConfig(cfg)
	rule, err := events.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String(want.name + "-drain")})
	require.NoError(t, err)
	assert.Equal(t, "rate(1 minute)", aws.ToString(rule.ScheduleExpression))
	targets, err := events.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String(want.name + "-drain")})
	require.NoError(t, err)
	require.Len(t, targets.Targets, 1)
	assert.Equal(t, want.functionArn(want.name+"-drain"), aws.ToString(targets.Targets[0].Arn))

	policy, err := lambda.NewFromConfig(cfg).GetPolicy(ctx, &lambda.GetPolicyInput{FunctionName: aws.String(want.name + "-drain")})
	require.NoError(t, err)
	var doc struct {
		Statement []struct {
			Effect    string
			Principal map[string]string
			Action    string
			Resource  string
			Condition map[string]map[string]string
		}
	}
	require.NoError(t, json.Unmarshal([]byte(aws.ToString(policy.Policy)), &doc))
	require.Len(t, doc.Statement, 1)
	st := doc.Statement[0]
	assert.Equal(t, map[string]string{"Service": "events.amazonaws.com"}, st.Principal)
	assert.Equal(t, "lambda:InvokeFunction", st.Action)
	assert.Equal(t, want.functionArn(want.name+"-drain"), st.Resource)
	assert.Equal(t, aws.ToString(rule.Arn), st.Condition["ArnLike"]["AWS:SourceArn"])
}

// Every alarm, read back through the CloudWatch translator, compared whole
// with the expected set (metric or metric math, threshold, missing-data
// treatment, actions); and the dashboard's body, exactly.
func checkAlarms(t *testing.T, cfg aws.Config, want deployed, mappingUUID string) {
	t.Helper()
	settings := defaultAlarmSettings
	settings.mappingUUID = mappingUUID
	settings.actions = want.alarmActions
	if settings.actions == nil {
		settings.actions = []string{}
	}
	requireAlarms(t, want.expectedAlarms(settings), readAlarms(t, cfg, want.name+"-"))
	requireDashboard(t, want.expectedDashboard(mappingUUID, settings.namespace), readDashboard(t, cfg, want.dashboardName()))
}

func checkStateMachine(t *testing.T, cfg aws.Config, want deployed) {
	t.Helper()
	out, err := sfn.NewFromConfig(cfg).DescribeStateMachine(context.Background(), &sfn.DescribeStateMachineInput{StateMachineArn: aws.String(want.stateMachineArn())})
	require.NoError(t, err)
	assert.Equal(t, want.roleArn("sfn"), aws.ToString(out.RoleArn))
	assert.Equal(t, sfntypes.StateMachineTypeStandard, out.Type)
	var def struct {
		States map[string]struct {
			MaxConcurrency int
			ItemProcessor  struct{ ProcessorConfig map[string]string }
		}
	}
	require.NoError(t, json.Unmarshal([]byte(aws.ToString(out.Definition)), &def))
	assert.Equal(t, map[string]string{"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}, def.States["CopySegments"].ItemProcessor.ProcessorConfig)
	assert.Equal(t, want.concurrency, def.States["CopySegments"].MaxConcurrency)
}

func keySchema(elements []ddbtypes.KeySchemaElement) []string {
	out := make([]string, 0, len(elements))
	for _, e := range elements {
		out = append(out, fmt.Sprintf("%s=%s", aws.ToString(e.AttributeName), e.KeyType))
	}
	sort.Strings(out)
	return out
}

func sameAccountTables(t *testing.T) func(region string) *dynamodb.Client {
	return func(region string) *dynamodb.Client { return dynamodb.NewFromConfig(awsConfig(t, region)) }
}

func TestApplyBasic(t *testing.T) {
	t.Parallel()
	region, master, name := "us-east-1", uniqueName("orders"), uniqueName("repl")
	table := createMaster(t, region, master, ddbtypes.StreamViewTypeNewAndOldImages)
	account := accountID(t, awsConfig(t, region))

	applyExample(t, "basic", map[string]interface{}{"region": region, "name": name, "master_table_name": master}, deployed{
		replicator: replicator{
			name: name, region: region, account: account, masterName: master,
			masterArn: aws.ToString(table.TableArn), streamArn: aws.ToString(table.LatestStreamArn),
			slaves:           map[string]slaveEnv{"copy": {Region: region, TableName: master + "-copy"}},
			writeConcurrency: 16,
		},
		tables:   map[string][]string{region: {master + "-copy"}},
		tablesIn: sameAccountTables(t),
		mapping:  defaultMapping,
	})
}

func TestApplyMultiRegion(t *testing.T) {
	t.Parallel()
	region, master, name := "eu-west-1", uniqueName("orders"), uniqueName("repl")
	table := createMaster(t, region, master, ddbtypes.StreamViewTypeNewAndOldImages)
	account := accountID(t, awsConfig(t, region))

	want := deployed{
		replicator: replicator{
			name: name, region: region, account: account, masterName: master,
			masterArn: aws.ToString(table.TableArn), streamArn: aws.ToString(table.LatestStreamArn),
			slaves:           map[string]slaveEnv{},
			writeConcurrency: 16,
			copy:             true, totalSegments: 32, concurrency: 8,
		},
		tables:   map[string][]string{},
		tablesIn: sameAccountTables(t),
		mapping:  defaultMapping,
	}
	want.mapping.BatchSize, want.mapping.Parallelization = 200, 2
	// create_alarm_topic: the created topic is notified of ALARM and OK.
	want.alarmActions = []string{fmt.Sprintf("arn:aws:sns:%s:%s:%s-alarms", region, account, name)}
	for key, r := range map[string]string{"us": "us-east-1", "ap": "ap-southeast-2", "eu": "eu-central-1"} {
		want.slaves[key] = slaveEnv{Region: r, TableName: master, InitialCopy: key == "eu"}
		want.tables[r] = []string{master}
	}
	applyExample(t, "multi-region", map[string]interface{}{
		"master_region": region, "name": name, "master_table_name": master, "initial_copy_slaves": []string{"eu"},
	}, want)
}

func TestApplyCrossAccount(t *testing.T) {
	t.Parallel()
	region, slaveRegion := "us-east-1", "eu-west-1"
	master, name, slaveTable := uniqueName("orders"), uniqueName("repl"), uniqueName("partner")
	slaveAccount := "222222222222"
	deployRole := fmt.Sprintf("arn:aws:iam::%s:role/terraform", slaveAccount)
	table := createMaster(t, region, master, ddbtypes.StreamViewTypeNewAndOldImages)
	account := accountID(t, awsConfig(t, region))
	writerRole := fmt.Sprintf("arn:aws:iam::%s:role/%s-writer", slaveAccount, name)
	externalID := "ext-" + name
	r := replicator{
		name: name, region: region, account: account, masterName: master,
		masterArn: aws.ToString(table.TableArn), streamArn: aws.ToString(table.LatestStreamArn),
		slaves: map[string]slaveEnv{"partner": {
			Region: slaveRegion, TableName: slaveTable, RoleArn: &writerRole, ExternalID: &externalID,
		}},
		writeConcurrency: 16,
	}

	applyExample(t, "cross-account", map[string]interface{}{
		"region": region, "name": name, "master_table_name": master,
		"slave_account_deploy_role_arn": deployRole, "slave_region": slaveRegion,
		"slave_table_name": slaveTable, "external_id": externalID,
	}, deployed{
		replicator: r,
		// The slave table lives in the slave's account: read it as that account.
		tables: map[string][]string{slaveRegion: {slaveTable}},
		tablesIn: func(r string) *dynamodb.Client {
			return dynamodb.NewFromConfig(assumedConfig(t, r, deployRole))
		},
		mapping: defaultMapping,
		extra: func(t *testing.T) {
			// In the slave's account, the writer role trusts the replicator's
			// writing roles with the external ID, and may write exactly the
			// slave table.
			ctx := context.Background()
			slaveIAM := iam.NewFromConfig(assumedConfig(t, slaveRegion, deployRole))
			role, err := slaveIAM.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name + "-writer")})
			require.NoError(t, err)
			trust, err := url.QueryUnescape(aws.ToString(role.Role.AssumeRolePolicyDocument))
			require.NoError(t, err)
			assert.JSONEq(t, fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::%s:root"]},"Action":"sts:AssumeRole","Condition":{"ArnEquals":{"aws:PrincipalArn":["%s","%s"]},"StringEquals":{"sts:ExternalId":%q}}}]}`,
				account, r.roleArn(""), r.roleArn("drain"), externalID), trust)
			policy, err := slaveIAM.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(name + "-writer"), PolicyName: aws.String("write-slave-tables")})
			require.NoError(t, err)
			raw, err := url.QueryUnescape(aws.ToString(policy.PolicyDocument))
			require.NoError(t, err)
			assert.Equal(t, []policyStatement{allow("WriteSlaveTables", []string{"dynamodb:BatchWriteItem"}, tableArn("aws", slaveRegion, slaveAccount, slaveTable))}, parsePolicy(t, raw).Statement)
		},
	}, "slave_account")
}
