package test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/gruntwork-io/terratest/modules/files"
	"github.com/gruntwork-io/terratest/modules/logger"
	"github.com/gruntwork-io/terratest/modules/random"
	"github.com/gruntwork-io/terratest/modules/terraform"
	tt "github.com/gruntwork-io/terratest/modules/testing"
	tfjson "github.com/hashicorp/terraform-json"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// repoRoot is the module under test: two levels above this package.
var repoRoot = func() string {
	abs, err := filepath.Abs("../..")
	if err != nil {
		panic(err)
	}
	return abs
}()

// copyRoot copies what a root of this repository needs (the module's files,
// its sub-modules, the examples, the committed bundle and the test fixtures)
// to a temp dir, so that parallel tests never share a .terraform dir or a
// state, and returns the path of dir inside the copy.
func copyRoot(t *testing.T, dir string) string {
	t.Helper()
	keep := []string{"modules", "examples", "dist/lambda", "test/terraform/fixtures"}
	copied, err := files.CopyFolderToTemp(repoRoot, "dynamo-replicator-", func(path string) bool {
		rel, err := filepath.Rel(repoRoot, path)
		if err != nil || files.PathContainsHiddenFileOrFolder(rel) || files.PathContainsTerraformState(rel) {
			return false
		}
		if !strings.Contains(rel, "/") && strings.HasSuffix(rel, ".tf") {
			return true
		}
		for _, k := range keep {
			// An ancestor of a kept dir, the kept dir, or something inside it.
			if strings.HasPrefix(k, rel+"/") || rel == k || strings.HasPrefix(rel, k+"/") {
				return true
			}
		}
		return false
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(filepath.Dir(copied)) })
	return filepath.Join(copied, dir)
}

// pointAtMoto writes an override file into a root so that each of its AWS
// provider configurations (the default one and the given aliases) talks to
// moto with fake credentials. The example's own files are left as they are.
func pointAtMoto(t *testing.T, rootDir string, aliases ...string) {
	t.Helper()
	services := []string{"applicationautoscaling", "dynamodb", "events", "iam", "kms", "lambda", "logs", "s3", "sns", "sqs", "sts"}
	var endpoints strings.Builder
	for _, s := range services {
		fmt.Fprintf(&endpoints, "    %s = %q\n", s, motoEndpoint)
	}
	fmt.Fprintf(&endpoints, "    cloudwatch = %q\n", cloudWatchEndpoint)
	fmt.Fprintf(&endpoints, "    sfn = %q\n", stepFunctionsEndpoint)
	fmt.Fprintf(&endpoints, "    s3control = %q\n", s3ControlEndpoint)
	block := func(alias string) string {
		aliasLine := ""
		if alias != "" {
			aliasLine = fmt.Sprintf("  alias = %q\n", alias)
		}
		return fmt.Sprintf(`provider "aws" {
%s  access_key                  = "test"
  secret_key                  = "test"
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  s3_use_path_style           = true
  endpoints {
%s  }
}
`, aliasLine, endpoints.String())
	}
	var body strings.Builder
	body.WriteString("# Written by the terratest harness: every AWS call goes to moto.\n")
	body.WriteString(block(""))
	for _, a := range aliases {
		body.WriteString(block(a))
	}
	require.NoError(t, os.WriteFile(filepath.Join(rootDir, "moto_override.tf"), []byte(body.String()), 0o644))
}

// bufferLogger keeps a test's Terraform output and prints it only if the
// test fails: a passing run stays readable.
type bufferLogger struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *bufferLogger) Logf(_ tt.TestingT, format string, args ...interface{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(&l.buf, format+"\n", args...)
}

func newLogger(t *testing.T) *logger.Logger {
	l := &bufferLogger{}
	t.Cleanup(func() {
		if t.Failed() {
			l.mu.Lock()
			defer l.mu.Unlock()
			t.Log("terraform output:\n" + l.buf.String())
		}
	})
	return logger.New(l)
}

func terraformBinary() string {
	if b := os.Getenv("TERRAFORM_BINARY"); b != "" {
		return b
	}
	return "terraform"
}

func options(t *testing.T, dir string, vars map[string]interface{}) *terraform.Options {
	return &terraform.Options{
		TerraformBinary: terraformBinary(),
		TerraformDir:    dir,
		Vars:            vars,
		NoColor:         true,
		Logger:          newLogger(t),
		EnvVars: map[string]string{
			"AWS_EC2_METADATA_DISABLED": "true",
			"TF_IN_AUTOMATION":          "1",
			// Only S3 Control's account-prefixed host is not loopback.
			"HTTP_PROXY": s3ControlEndpoint,
			"NO_PROXY":   "",
		},
	}
}

// initMu serialises `terraform init`: parallel inits that fill one plugin
// cache (TF_PLUGIN_CACHE_DIR) race on its directories.
var initMu sync.Mutex

func initRoot(t *testing.T, opts *terraform.Options) {
	t.Helper()
	initMu.Lock()
	defer initMu.Unlock()
	terraform.Init(t, opts)
}

// uniqueName gives each test its own names in the shared moto.
func uniqueName(prefix string) string {
	return prefix + "-" + strings.ToLower(random.UniqueId())
}

func awsConfig(t *testing.T, region string) aws.Config {
	t.Helper()
	cfg, err := config.LoadDefaultConfig(context.Background(),
		config.WithRegion(region),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("test", "test", "")),
		config.WithBaseEndpoint(motoEndpoint),
	)
	require.NoError(t, err)
	return cfg
}

// assumedConfig acts in the account of roleArn, as moto does for the
// credentials AssumeRole returns.
func assumedConfig(t *testing.T, region, roleArn string) aws.Config {
	t.Helper()
	cfg := awsConfig(t, region)
	cfg.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(cfg), roleArn))
	return cfg
}

func accountID(t *testing.T, cfg aws.Config) string {
	t.Helper()
	out, err := sts.NewFromConfig(cfg).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	require.NoError(t, err)
	return aws.ToString(out.Account)
}

// createMaster makes the master table the examples expect to exist: a
// partition key, a sort key and, unless viewType is empty, a stream.
func createMaster(t *testing.T, region, name string, viewType ddbtypes.StreamViewType) *ddbtypes.TableDescription {
	t.Helper()
	input := &dynamodb.CreateTableInput{
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
	}
	if viewType != "" {
		input.StreamSpecification = &ddbtypes.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: viewType}
	}
	return createTableIn(t, region, input)
}

// createTableIn creates a table in moto, to be deleted when the test ends. The
// names are unique to each test, so a table that already exists is this
// call's own: the SDK retried a CreateTable that had succeeded, after a
// response cut short (moto under load; the CRC32 check fails on a truncated
// body). It is described instead.
func createTableIn(t *testing.T, region string, input *dynamodb.CreateTableInput) *ddbtypes.TableDescription {
	t.Helper()
	ctx := context.Background()
	client := dynamodb.NewFromConfig(awsConfig(t, region))
	out, err := client.CreateTable(ctx, input)
	t.Cleanup(func() { _, _ = client.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: input.TableName}) })
	var inUse *ddbtypes.ResourceInUseException
	if errors.As(err, &inUse) {
		described, describeErr := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: input.TableName})
		require.NoError(t, describeErr)
		return described.Table
	}
	require.NoError(t, err)
	return out.TableDescription
}

// Plan helpers.

func managed(plan *terraform.PlanStruct, resourceType string) map[string]*tfjson.StateResource {
	out := map[string]*tfjson.StateResource{}
	for addr, r := range plan.ResourcePlannedValuesMap {
		if r.Mode == tfjson.ManagedResourceMode && r.Type == resourceType {
			out[addr] = r
		}
	}
	return out
}

func only(t *testing.T, plan *terraform.PlanStruct, resourceType string) *tfjson.StateResource {
	t.Helper()
	rs := managed(plan, resourceType)
	require.Len(t, rs, 1, "planned %s", resourceType)
	for _, r := range rs {
		return r
	}
	return nil
}

type policyStatement struct {
	Sid       string
	Effect    string
	Action    stringOrList
	Resource  stringOrList
	Condition map[string]map[string]stringOrList `json:",omitempty"`
}

type policyDocument struct {
	Statement []policyStatement
}

// stringOrList reads IAM's "a string or a list of strings".
type stringOrList []string

func (s *stringOrList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*s = []string{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*s = many
	return nil
}

// plannedPolicy reads the policy of a planned role policy, which the module
// keeps known at plan time so that a reviewer sees every grant.
func plannedPolicy(t *testing.T, addr string, r *tfjson.StateResource) policyDocument {
	t.Helper()
	raw, known := r.AttributeValues["policy"].(string)
	require.True(t, known, "%s: policy unknown at plan time", addr)
	return parsePolicy(t, raw)
}

func parsePolicy(t *testing.T, raw string) policyDocument {
	t.Helper()
	var doc policyDocument
	require.NoError(t, json.Unmarshal([]byte(raw), &doc), raw)
	return doc
}

// requirePolicies compares inline policies, keyed by the caller (policy name,
// or role/policy name), with the complete expected allowlist: the same
// policies, each with the same statements, and nothing more. Action and
// Resource lists are compared as sets, as IAM reads them.
func requirePolicies(t *testing.T, got map[string][]policyStatement, want map[string][]policyStatement) {
	t.Helper()
	gotKeys, wantKeys := []string{}, []string{}
	for k := range got {
		gotKeys = append(gotKeys, k)
	}
	for k := range want {
		wantKeys = append(wantKeys, k)
	}
	require.ElementsMatch(t, wantKeys, gotKeys, "role policies")
	for k, statements := range got {
		assert.Equal(t, normalise(want[k]), normalise(statements), "policy %s", k)
	}
}

// plannedPolicies returns the planned inline policies of the module's own
// roles (not those of its sub-modules), by policy name.
func plannedPolicies(t *testing.T, plan *terraform.PlanStruct, module string) map[string][]policyStatement {
	t.Helper()
	out := map[string][]policyStatement{}
	for addr, r := range managed(plan, "aws_iam_role_policy") {
		rest, ok := strings.CutPrefix(addr, module+".aws_iam_role_policy.")
		if !ok || strings.Contains(strings.SplitN(rest, "[", 2)[0], ".") {
			continue
		}
		out[r.AttributeValues["name"].(string)] = plannedPolicy(t, addr, r).Statement
	}
	return out
}

// byPolicyName flattens role => policy => statements to policy => statements.
func byPolicyName(roles map[string]map[string][]policyStatement) map[string][]policyStatement {
	out := map[string][]policyStatement{}
	for _, policies := range roles {
		for name, statements := range policies {
			out[name] = statements
		}
	}
	return out
}

// byRoleAndPolicy flattens role => policy => statements to "role/policy" =>
// statements.
func byRoleAndPolicy(roles map[string]map[string][]policyStatement) map[string][]policyStatement {
	out := map[string][]policyStatement{}
	for role, policies := range roles {
		for name, statements := range policies {
			out[role+"/"+name] = statements
		}
	}
	return out
}

func normalise(statements []policyStatement) map[string]policyStatement {
	out := map[string]policyStatement{}
	for _, st := range statements {
		st.Action = sortedCopy(st.Action)
		st.Resource = sortedCopy(st.Resource)
		if len(st.Condition) == 0 {
			st.Condition = nil
		}
		if _, dup := out[st.Sid]; dup {
			out[st.Sid+" (duplicate)"] = st
			continue
		}
		out[st.Sid] = st
	}
	return out
}

func sortedCopy(s stringOrList) stringOrList {
	out := append(stringOrList{}, s...)
	sort.Strings(out)
	return out
}

type slaveEnv struct {
	Region      string  `json:"region"`
	TableName   string  `json:"table_name"`
	RoleArn     *string `json:"role_arn"`
	ExternalID  *string `json:"external_id"`
	Endpoint    *string `json:"endpoint"`
	InitialCopy bool    `json:"initial_copy"`
	// "enabled", read inverted so that a slaveEnv written without it is an
	// enabled slave, as the module's default is.
	Disabled invertedBool `json:"enabled"`
}

// invertedBool holds the negation of a JSON bool (and rejects anything else).
type invertedBool bool

func (b *invertedBool) UnmarshalJSON(raw []byte) error {
	var v bool
	if err := json.Unmarshal(raw, &v); err != nil {
		return err
	}
	*b = invertedBool(!v)
	return nil
}

// decodeSlaves also fails on a field the module writes that slaveEnv does not
// know, so REPLICATOR_SLAVES is compared whole.
func decodeSlaves(t *testing.T, raw string) map[string]slaveEnv {
	t.Helper()
	var out map[string]slaveEnv
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&out), raw)
	var fields map[string]map[string]json.RawMessage
	require.NoError(t, json.Unmarshal([]byte(raw), &fields), raw)
	for key, f := range fields {
		// initial_copy and enabled are bools, never absent or null.
		for _, field := range []string{"initial_copy", "enabled"} {
			require.Contains(t, f, field, "slave %s", key)
			require.NotEqual(t, "null", string(f[field]), "slave %s: %s", key, field)
		}
	}
	return out
}

func functionEnv(t *testing.T, fn *tfjson.StateResource) map[string]string {
	t.Helper()
	envs := fn.AttributeValues["environment"].([]interface{})
	require.Len(t, envs, 1)
	vars := envs[0].(map[string]interface{})["variables"].(map[string]interface{})
	out := map[string]string{}
	for k, v := range vars {
		out[k] = v.(string)
	}
	return out
}

func tableArn(partition, region, account, name string) string {
	return fmt.Sprintf("arn:%s:dynamodb:%s:%s:table/%s", partition, region, account, name)
}
