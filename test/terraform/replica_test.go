package test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/gruntwork-io/terratest/modules/terraform"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// createTable creates a master of any shape in moto and waits for nothing
// (moto's tables are ACTIVE at once); ttl, when set, is enabled on it.
func createTable(t *testing.T, region string, input *dynamodb.CreateTableInput, ttl string) *ddbtypes.TableDescription {
	t.Helper()
	table := createTableIn(t, region, input)
	if ttl != "" {
		ctx := context.Background()
		client := dynamodb.NewFromConfig(awsConfig(t, region))
		_, err := client.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
			TableName:               input.TableName,
			TimeToLiveSpecification: &ddbtypes.TimeToLiveSpecification{AttributeName: aws.String(ttl), Enabled: aws.Bool(true)},
		})
		require.NoError(t, err)
	}
	return table
}

func attr(name string, typ ddbtypes.ScalarAttributeType) ddbtypes.AttributeDefinition {
	return ddbtypes.AttributeDefinition{AttributeName: aws.String(name), AttributeType: typ}
}

func key(name string, typ ddbtypes.KeyType) ddbtypes.KeySchemaElement {
	return ddbtypes.KeySchemaElement{AttributeName: aws.String(name), KeyType: typ}
}

// provisionedMaster: PROVISIONED (5 reads, 7 writes), a sort key, a global
// secondary index with its own capacity and an INCLUDE projection, a local
// secondary index, TTL on expires_at, and an OLD_IMAGE stream.
func provisionedMaster(t *testing.T, region, name string) *ddbtypes.TableDescription {
	return createTable(t, region, &dynamodb.CreateTableInput{
		TableName:             aws.String(name),
		BillingMode:           ddbtypes.BillingModeProvisioned,
		ProvisionedThroughput: &ddbtypes.ProvisionedThroughput{ReadCapacityUnits: aws.Int64(5), WriteCapacityUnits: aws.Int64(7)},
		AttributeDefinitions: []ddbtypes.AttributeDefinition{
			attr("pk", ddbtypes.ScalarAttributeTypeS), attr("sk", ddbtypes.ScalarAttributeTypeN),
			attr("customer", ddbtypes.ScalarAttributeTypeS), attr("placed", ddbtypes.ScalarAttributeTypeN),
			attr("status", ddbtypes.ScalarAttributeTypeS),
		},
		KeySchema: []ddbtypes.KeySchemaElement{key("pk", ddbtypes.KeyTypeHash), key("sk", ddbtypes.KeyTypeRange)},
		GlobalSecondaryIndexes: []ddbtypes.GlobalSecondaryIndex{{
			IndexName:             aws.String("by_customer"),
			KeySchema:             []ddbtypes.KeySchemaElement{key("customer", ddbtypes.KeyTypeHash), key("placed", ddbtypes.KeyTypeRange)},
			Projection:            &ddbtypes.Projection{ProjectionType: ddbtypes.ProjectionTypeInclude, NonKeyAttributes: []string{"status", "total"}},
			ProvisionedThroughput: &ddbtypes.ProvisionedThroughput{ReadCapacityUnits: aws.Int64(3), WriteCapacityUnits: aws.Int64(4)},
		}},
		LocalSecondaryIndexes: []ddbtypes.LocalSecondaryIndex{{
			IndexName:  aws.String("by_status"),
			KeySchema:  []ddbtypes.KeySchemaElement{key("pk", ddbtypes.KeyTypeHash), key("status", ddbtypes.KeyTypeRange)},
			Projection: &ddbtypes.Projection{ProjectionType: ddbtypes.ProjectionTypeKeysOnly},
		}},
		StreamSpecification: &ddbtypes.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: ddbtypes.StreamViewTypeOldImage},
	}, "expires_at")
}

// hashOnlyMaster: on demand, a partition key only, a KEYS_ONLY stream.
func hashOnlyMaster(t *testing.T, region, name string) *ddbtypes.TableDescription {
	return createTable(t, region, &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		BillingMode:          ddbtypes.BillingModePayPerRequest,
		AttributeDefinitions: []ddbtypes.AttributeDefinition{attr("id", ddbtypes.ScalarAttributeTypeB)},
		KeySchema:            []ddbtypes.KeySchemaElement{key("id", ddbtypes.KeyTypeHash)},
		StreamSpecification:  &ddbtypes.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: ddbtypes.StreamViewTypeKeysOnly},
	}, "")
}

// replicaFixture is one copy of fixtures/replica, initialised once, planned
// with many inputs.
type replicaFixture struct {
	dir   string
	base  *terraform.Options
	plans atomic.Int32
}

func newReplicaFixture(t *testing.T) *replicaFixture {
	t.Helper()
	dir := copyRoot(t, "test/terraform/fixtures/replica")
	pointAtMoto(t, dir)
	base := options(t, dir, nil)
	initRoot(t, base)
	return &replicaFixture{dir: dir, base: base}
}

func (f *replicaFixture) opts(t *testing.T, vars map[string]interface{}) *terraform.Options {
	opts := *f.base
	opts.Vars = vars
	opts.Logger = newLogger(t)
	opts.PlanFilePath = filepath.Join(f.dir, fmt.Sprintf("plan-%d.tfplan", f.plans.Add(1)))
	return &opts
}

func (f *replicaFixture) plan(t *testing.T, vars map[string]interface{}) *terraform.PlanStruct {
	t.Helper()
	opts := f.opts(t, vars)
	terraform.Plan(t, opts)
	return terraform.ShowWithStruct(t, opts)
}

// planFails plans and returns the error output, whitespace collapsed
// (Terraform wraps long messages).
func (f *replicaFixture) planFails(t *testing.T, vars map[string]interface{}) string {
	t.Helper()
	out, err := terraform.PlanE(t, f.opts(t, vars))
	require.Error(t, err, "plan should fail")
	return strings.Join(strings.Fields(out+" "+err.Error()), " ")
}

const replicaAddr = `module.replicator.module.replica_table["copy"].aws_dynamodb_table.this`

func copySlave(region, master string) map[string]interface{} {
	return map[string]interface{}{"copy": map[string]interface{}{"region": region, "table_name": master + "-copy", "create_table": true}}
}

func block(v interface{}) []interface{} {
	l, _ := v.([]interface{})
	return l
}

// scaling returns the planned scalable targets and policies of the created
// slave, by dimension.
func scaling(plan *terraform.PlanStruct) (targets, policies map[string]map[string]interface{}) {
	targets, policies = map[string]map[string]interface{}{}, map[string]map[string]interface{}{}
	for _, r := range managed(plan, "aws_appautoscaling_target") {
		targets[r.AttributeValues["scalable_dimension"].(string)] = r.AttributeValues
	}
	for _, r := range managed(plan, "aws_appautoscaling_policy") {
		policies[r.AttributeValues["scalable_dimension"].(string)] = r.AttributeValues
	}
	return targets, policies
}

// A slave of a PROVISIONED master with indexes and TTL serves the same
// reads: the same keys, indexes (with their capacity), TTL and table class,
// and its capacity scales from the master's.
func TestPlanReplicaOfProvisionedMasterWithIndexes(t *testing.T) {
	t.Parallel()
	region, master := "us-east-1", uniqueName("orders")
	table := provisionedMaster(t, region, master)
	f := newReplicaFixture(t)

	wantTargets := func(maxRead, maxWrite float64) map[string]map[string]interface{} {
		target := func(dim string, min, max float64) map[string]interface{} {
			return map[string]interface{}{
				"service_namespace": "dynamodb", "resource_id": "table/" + master + "-copy", "scalable_dimension": dim,
				"min_capacity": min, "max_capacity": max, "region": region,
			}
		}
		return map[string]map[string]interface{}{
			"dynamodb:table:ReadCapacityUnits":  target("dynamodb:table:ReadCapacityUnits", 5, maxRead),
			"dynamodb:table:WriteCapacityUnits": target("dynamodb:table:WriteCapacityUnits", 7, maxWrite),
		}
	}
	checkTargets := func(t *testing.T, plan *terraform.PlanStruct, want map[string]map[string]interface{}, utilization float64) {
		t.Helper()
		targets, policies := scaling(plan)
		require.ElementsMatch(t, keysOf(want), keysOf(targets))
		for dim, w := range want {
			for k, v := range w {
				assert.EqualValues(t, v, targets[dim][k], "%s %s", dim, k)
			}
			p := policies[dim]
			require.NotNil(t, p, "policy of %s", dim)
			assert.Equal(t, "TargetTrackingScaling", p["policy_type"])
			metric := map[string]string{"dynamodb:table:ReadCapacityUnits": "DynamoDBReadCapacityUtilization", "dynamodb:table:WriteCapacityUnits": "DynamoDBWriteCapacityUtilization"}[dim]
			assert.Equal(t, metric+":table/"+master+"-copy", p["name"])
			cfg := block(p["target_tracking_scaling_policy_configuration"])
			require.Len(t, cfg, 1)
			c := cfg[0].(map[string]interface{})
			assert.EqualValues(t, utilization, c["target_value"], dim)
			spec := block(c["predefined_metric_specification"])
			require.Len(t, spec, 1)
			assert.Equal(t, metric, spec[0].(map[string]interface{})["predefined_metric_type"], dim)
		}
		assert.Len(t, policies, len(want))
	}

	t.Run("defaults", func(t *testing.T) {
		plan := f.plan(t, map[string]interface{}{"name": uniqueName("repl"), "master_table_name": master, "slaves": copySlave(region, master)})
		r := plan.ResourcePlannedValuesMap[replicaAddr]
		require.NotNil(t, r)
		v := r.AttributeValues
		assert.Equal(t, "PROVISIONED", v["billing_mode"])
		assert.Equal(t, "pk", v["hash_key"])
		assert.Equal(t, "sk", v["range_key"])
		assert.EqualValues(t, 5, v["read_capacity"])
		assert.EqualValues(t, 7, v["write_capacity"])
		// The provider plans the default class STANDARD as null; moto keeps no
		// other class, so a master of another class cannot be planned here.
		assert.Contains(t, []interface{}{nil, "STANDARD"}, v["table_class"])
		assert.ElementsMatch(t, []interface{}{
			map[string]interface{}{"name": "pk", "type": "S"}, map[string]interface{}{"name": "sk", "type": "N"},
			map[string]interface{}{"name": "customer", "type": "S"}, map[string]interface{}{"name": "placed", "type": "N"},
			map[string]interface{}{"name": "status", "type": "S"},
		}, v["attribute"])
		gsis := block(v["global_secondary_index"])
		require.Len(t, gsis, 1)
		gsi := gsis[0].(map[string]interface{})
		assert.Equal(t, "by_customer", gsi["name"])
		assert.Equal(t, "customer", gsi["hash_key"])
		assert.Equal(t, "placed", gsi["range_key"])
		assert.Equal(t, "INCLUDE", gsi["projection_type"])
		assert.ElementsMatch(t, []interface{}{"status", "total"}, gsi["non_key_attributes"])
		assert.EqualValues(t, 3, gsi["read_capacity"])
		assert.EqualValues(t, 4, gsi["write_capacity"])
		assert.Equal(t, []interface{}{map[string]interface{}{"name": "by_status", "range_key": "status", "projection_type": "KEYS_ONLY", "non_key_attributes": []interface{}{}}}, v["local_secondary_index"])
		assert.Equal(t, []interface{}{map[string]interface{}{"attribute_name": "expires_at", "enabled": true}}, v["ttl"])
		assert.Empty(t, block(v["on_demand_throughput"]), "a provisioned slave has no on-demand maximum")
		checkTargets(t, plan, wantTargets(20, 28), 70)

		// OLD_IMAGE: the mapping reads the stream, and the function reads the
		// master's items back.
		esm := only(t, plan, "aws_lambda_event_source_mapping").AttributeValues
		assert.Equal(t, aws.ToString(table.LatestStreamArn), esm["event_source_arn"])
	})

	t.Run("autoscaling inputs", func(t *testing.T) {
		plan := f.plan(t, map[string]interface{}{
			"name": uniqueName("repl"), "master_table_name": master, "slaves": copySlave(region, master),
			"slave_autoscaling": map[string]interface{}{"max_read_capacity": 50, "target_utilization": 50},
		})
		checkTargets(t, plan, wantTargets(50, 28), 50)
	})

	t.Run("autoscaling off", func(t *testing.T) {
		plan := f.plan(t, map[string]interface{}{
			"name": uniqueName("repl"), "master_table_name": master, "slaves": copySlave(region, master),
			"slave_autoscaling": map[string]interface{}{"enabled": false},
		})
		checkTargets(t, plan, map[string]map[string]interface{}{}, 0)
		assert.EqualValues(t, 7, plan.ResourcePlannedValuesMap[replicaAddr].AttributeValues["write_capacity"])
	})

	t.Run("skip_ttl_deletes keeps what the master expires", func(t *testing.T) {
		plan := f.plan(t, map[string]interface{}{
			"name": uniqueName("repl"), "master_table_name": master, "slaves": copySlave(region, master), "skip_ttl_deletes": true,
		})
		for _, ttl := range block(plan.ResourcePlannedValuesMap[replicaAddr].AttributeValues["ttl"]) {
			assert.NotEqual(t, true, ttl.(map[string]interface{})["enabled"], "an archive slave must not expire items")
		}
	})

	t.Run("maximum below the master's capacity", func(t *testing.T) {
		out := f.planFails(t, map[string]interface{}{
			"name": uniqueName("repl"), "master_table_name": master, "slaves": copySlave(region, master),
			"slave_autoscaling": map[string]interface{}{"max_write_capacity": 6},
		})
		assert.Contains(t, out, "autoscaling.max_write_capacity (6) is below the table's write capacity (7), the scaler's minimum: raise it to at least 7")
	})
}

// A slave of a hash-only, on-demand master: one key, no index, no scaler,
// and the master's warm throughput (or the one asked for) and the maximum
// asked for.
func TestPlanReplicaOfHashOnlyOnDemandMaster(t *testing.T) {
	t.Parallel()
	region, master := "us-east-1", uniqueName("events")
	table := hashOnlyMaster(t, region, master)
	f := newReplicaFixture(t)
	require.NotNil(t, table)

	cases := []struct {
		name           string
		vars           map[string]interface{}
		warm, onDemand []interface{}
	}{
		// The provider reads no warm throughput from moto's master: the slave
		// gets none set, DynamoDB's default for a new table.
		{"defaults", nil, nil, nil},
		{"warm throughput and maximum given", map[string]interface{}{
			"slave_warm_throughput":      map[string]interface{}{"read_units_per_second": 20000, "write_units_per_second": 8000},
			"slave_on_demand_throughput": map[string]interface{}{"max_write_request_units": 1000},
		}, []interface{}{map[string]interface{}{"read_units_per_second": float64(20000), "write_units_per_second": float64(8000)}},
			[]interface{}{map[string]interface{}{"max_read_request_units": float64(-1), "max_write_request_units": float64(1000)}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			vars := map[string]interface{}{"name": uniqueName("repl"), "master_table_name": master, "slaves": copySlave(region, master)}
			for k, v := range c.vars {
				vars[k] = v
			}
			plan := f.plan(t, vars)
			v := plan.ResourcePlannedValuesMap[replicaAddr].AttributeValues
			assert.Equal(t, "PAY_PER_REQUEST", v["billing_mode"])
			assert.Equal(t, "id", v["hash_key"])
			assert.Nil(t, v["range_key"], "no sort key")
			assert.Equal(t, []interface{}{map[string]interface{}{"name": "id", "type": "B"}}, v["attribute"])
			assert.Empty(t, block(v["global_secondary_index"]))
			assert.Empty(t, block(v["local_secondary_index"]))
			for _, ttl := range block(v["ttl"]) {
				assert.NotEqual(t, true, ttl.(map[string]interface{})["enabled"], "the master has no TTL")
			}
			for attr, want := range map[string][]interface{}{"warm_throughput": c.warm, "on_demand_throughput": c.onDemand} {
				if want == nil {
					assert.Empty(t, block(v[attr]), attr)
				} else {
					assert.Equal(t, want, block(v[attr]), attr)
				}
			}
			targets, policies := scaling(plan)
			assert.Empty(t, targets, "an on-demand slave needs no scaler")
			assert.Empty(t, policies)
		})
	}

	t.Run("warm throughput below a new table's", func(t *testing.T) {
		out := f.planFails(t, map[string]interface{}{
			"name": uniqueName("repl"), "master_table_name": master, "slaves": copySlave(region, master),
			"slave_warm_throughput": map[string]interface{}{"read_units_per_second": 12000, "write_units_per_second": 100},
		})
		assert.Contains(t, out, "slave_warm_throughput must be at least read_units_per_second = 12000 and write_units_per_second = 4000")
	})
	t.Run("bad on-demand maximum", func(t *testing.T) {
		out := f.planFails(t, map[string]interface{}{
			"name": uniqueName("repl"), "master_table_name": master, "slaves": copySlave(region, master),
			"slave_on_demand_throughput": map[string]interface{}{"max_read_request_units": 0},
		})
		assert.Contains(t, out, "slave_on_demand_throughput.max_read_request_units and max_write_request_units must be -1 (no maximum) or whole numbers")
	})
}
