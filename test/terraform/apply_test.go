package test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/gruntwork-io/terratest/modules/terraform"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// deployed is what an applied example must have created, read back through
// the AWS SDK.
type deployed struct {
	region       string                     // the master's
	functionName string                     // also the role's name
	master       *ddbtypes.TableDescription // created by the test
	slaves       map[string]slaveEnv        // REPLICATOR_SLAVES
	grants       map[string]string          // per slave key: the resource its policy names
	tables       map[string][]string        // created tables: region => names
	tablesIn     func(region string) *dynamodb.Client
	mapping      mappingSettings
	extra        func(t *testing.T) // checks of one example only
}

// applyExample applies an example against moto, checks what it created, plans
// again to find no change, destroys it and checks that the function is gone.
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

	exit := terraform.PlanExitCode(t, opts)
	if !assert.Equal(t, 0, exit, "a second plan after apply must show no changes") {
		t.Log(terraform.Plan(t, opts))
	}

	terraform.Destroy(t, opts)
	_, err := lambda.NewFromConfig(awsConfig(t, want.region)).GetFunction(context.Background(), &lambda.GetFunctionInput{FunctionName: aws.String(want.functionName)})
	var missing *lambdatypes.ResourceNotFoundException
	assert.True(t, errors.As(err, &missing), "function still there after destroy: %v", err)
	for region, names := range want.tables {
		for _, name := range names {
			_, err := want.tablesIn(region).DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: aws.String(name)})
			var gone *ddbtypes.ResourceNotFoundException
			assert.True(t, errors.As(err, &gone), "table %s in %s still there after destroy: %v", name, region, err)
		}
	}
}

func checkDeployed(t *testing.T, want deployed) {
	t.Helper()
	ctx := context.Background()
	cfg := awsConfig(t, want.region)
	lambdaClient := lambda.NewFromConfig(cfg)

	// The function's environment holds the slaves.
	fn, err := lambdaClient.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(want.functionName)})
	require.NoError(t, err)
	assert.Equal(t, lambdatypes.RuntimeNodejs22x, fn.Configuration.Runtime)
	assert.Equal(t, []lambdatypes.Architecture{lambdatypes.ArchitectureArm64}, fn.Configuration.Architectures)
	assert.Equal(t, "index.handler", aws.ToString(fn.Configuration.Handler))
	assert.Equal(t, want.slaves, decodeSlaves(t, fn.Configuration.Environment.Variables["REPLICATOR_SLAVES"]))

	// One mapping, on the master's stream, with the configured settings and
	// the module's queue as its on-failure destination.
	// By the function's ARN: moto filters on the exact string the mapping was
	// created with (the module passes the ARN), where AWS takes name or ARN.
	mappings, err := lambdaClient.ListEventSourceMappings(ctx, &lambda.ListEventSourceMappingsInput{FunctionName: fn.Configuration.FunctionArn})
	require.NoError(t, err)
	require.Len(t, mappings.EventSourceMappings, 1)
	esm := mappings.EventSourceMappings[0]
	assert.Equal(t, aws.ToString(want.master.LatestStreamArn), aws.ToString(esm.EventSourceArn))
	assert.Equal(t, []lambdatypes.FunctionResponseType{lambdatypes.FunctionResponseTypeReportBatchItemFailures}, esm.FunctionResponseTypes)
	assert.EqualValues(t, want.mapping.BatchSize, aws.ToInt32(esm.BatchSize))
	assert.EqualValues(t, want.mapping.Parallelization, aws.ToInt32(esm.ParallelizationFactor))
	assert.EqualValues(t, want.mapping.Retries, aws.ToInt32(esm.MaximumRetryAttempts))
	assert.EqualValues(t, want.mapping.RecordAge, aws.ToInt32(esm.MaximumRecordAgeInSeconds))
	assert.Equal(t, want.mapping.Bisect, aws.ToBool(esm.BisectBatchOnFunctionError))
	assert.Equal(t, lambdatypes.EventSourcePosition(want.mapping.StartingPosition), esm.StartingPosition)

	sqsClient := sqs.NewFromConfig(cfg)
	queueURL, err := sqsClient.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(want.functionName + "-failures")})
	require.NoError(t, err)
	attrs, err := sqsClient.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl:       queueURL.QueueUrl,
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn, sqstypes.QueueAttributeNameSqsManagedSseEnabled},
	})
	require.NoError(t, err)
	require.NotNil(t, esm.DestinationConfig)
	require.NotNil(t, esm.DestinationConfig.OnFailure)
	assert.Equal(t, attrs.Attributes["QueueArn"], aws.ToString(esm.DestinationConfig.OnFailure.Destination))
	assert.Equal(t, "true", attrs.Attributes["SqsManagedSseEnabled"])

	// The role's per-slave policies name exactly the slave tables (or roles).
	iamClient := iam.NewFromConfig(cfg)
	names, err := iamClient.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: aws.String(want.functionName)})
	require.NoError(t, err)
	granted := map[string][]string{}
	for _, policyName := range names.PolicyNames {
		out, err := iamClient.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(want.functionName), PolicyName: aws.String(policyName)})
		require.NoError(t, err)
		raw, err := url.QueryUnescape(aws.ToString(out.PolicyDocument))
		require.NoError(t, err)
		var doc policyDocument
		require.NoError(t, json.Unmarshal([]byte(raw), &doc), raw)
		for _, st := range doc.Statement {
			granted[policyName] = append(granted[policyName], st.Resource...)
		}
	}
	wantGranted := map[string][]string{}
	for key, resource := range want.grants {
		wantGranted[fmt.Sprintf("%s-slave-%s", want.functionName, key)] = []string{resource}
	}
	masterPolicy := want.functionName + "-master"
	require.Contains(t, granted, masterPolicy)
	assert.Contains(t, granted[masterPolicy], aws.ToString(want.master.LatestStreamArn))
	delete(granted, masterPolicy)
	assert.Equal(t, wantGranted, granted)

	// Created tables exist in their regions with the master's key schema.
	for region, tableNames := range want.tables {
		for _, name := range tableNames {
			out, err := want.tablesIn(region).DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
			require.NoError(t, err, "table %s in %s", name, region)
			assert.Equal(t, keySchema(want.master.KeySchema), keySchema(out.Table.KeySchema), "table %s in %s", name, region)
			assert.Contains(t, aws.ToString(out.Table.TableArn), ":"+region+":", "table %s", name)
		}
	}
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
		region:       region,
		functionName: name,
		master:       table,
		slaves:       map[string]slaveEnv{"copy": {Region: region, TableName: master + "-copy"}},
		grants:       map[string]string{"copy": tableArn("aws", region, account, master+"-copy")},
		tables:       map[string][]string{region: {master + "-copy"}},
		tablesIn:     sameAccountTables(t),
		mapping:      defaultMapping,
	})
}

func TestApplyMultiRegion(t *testing.T) {
	t.Parallel()
	region, master, name := "eu-west-1", uniqueName("orders"), uniqueName("repl")
	table := createMaster(t, region, master, ddbtypes.StreamViewTypeNewAndOldImages)
	account := accountID(t, awsConfig(t, region))

	want := deployed{
		region:       region,
		functionName: name,
		master:       table,
		slaves:       map[string]slaveEnv{},
		grants:       map[string]string{},
		tables:       map[string][]string{},
		tablesIn:     sameAccountTables(t),
		mapping:      defaultMapping,
	}
	want.mapping.BatchSize, want.mapping.Parallelization = 200, 2
	for key, r := range map[string]string{"us": "us-east-1", "ap": "ap-southeast-2", "eu": "eu-central-1"} {
		want.slaves[key] = slaveEnv{Region: r, TableName: master}
		want.grants[key] = tableArn("aws", r, account, master)
		want.tables[r] = []string{master}
	}
	applyExample(t, "multi-region", map[string]interface{}{"master_region": region, "name": name, "master_table_name": master}, want)
}

func TestApplyCrossAccount(t *testing.T) {
	t.Parallel()
	region, slaveRegion := "us-east-1", "eu-west-1"
	master, name, slaveTable := uniqueName("orders"), uniqueName("repl"), uniqueName("partner")
	slaveAccount := "222222222222"
	deployRole := fmt.Sprintf("arn:aws:iam::%s:role/terraform", slaveAccount)
	table := createMaster(t, region, master, ddbtypes.StreamViewTypeNewAndOldImages)
	writerRole := fmt.Sprintf("arn:aws:iam::%s:role/%s-writer", slaveAccount, name)
	externalID := "ext-" + name

	applyExample(t, "cross-account", map[string]interface{}{
		"region": region, "name": name, "master_table_name": master,
		"slave_account_deploy_role_arn": deployRole, "slave_region": slaveRegion,
		"slave_table_name": slaveTable, "external_id": externalID,
	}, deployed{
		region:       region,
		functionName: name,
		master:       table,
		slaves: map[string]slaveEnv{"partner": {
			Region: slaveRegion, TableName: slaveTable, RoleArn: &writerRole, ExternalID: &externalID,
		}},
		grants: map[string]string{"partner": writerRole},
		// The slave table lives in the slave's account: read it as that account.
		tables: map[string][]string{slaveRegion: {slaveTable}},
		tablesIn: func(r string) *dynamodb.Client {
			return dynamodb.NewFromConfig(assumedConfig(t, r, deployRole))
		},
		mapping: defaultMapping,
		extra: func(t *testing.T) {
			// In the slave's account, the writer role trusts the replicator's
			// role with the external ID, and may write exactly the slave table.
			ctx := context.Background()
			slaveIAM := iam.NewFromConfig(assumedConfig(t, slaveRegion, deployRole))
			role, err := slaveIAM.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name + "-writer")})
			require.NoError(t, err)
			trust, err := url.QueryUnescape(aws.ToString(role.Role.AssumeRolePolicyDocument))
			require.NoError(t, err)
			assert.Contains(t, trust, fmt.Sprintf(`"aws:PrincipalArn":"arn:aws:iam::%s:role/%s"`, accountID(t, awsConfig(t, region)), name))
			assert.Contains(t, trust, fmt.Sprintf(`"sts:ExternalId":"%s"`, externalID))
			policy, err := slaveIAM.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(name + "-writer"), PolicyName: aws.String("write-slave-tables")})
			require.NoError(t, err)
			raw, err := url.QueryUnescape(aws.ToString(policy.PolicyDocument))
			require.NoError(t, err)
			assert.Equal(t, stringOrList{tableArn("aws", slaveRegion, slaveAccount, slaveTable)}, parsePolicy(t, raw).Statement[0].Resource)
		},
	}, "slave_account")
}
