package test

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/gruntwork-io/terratest/modules/terraform"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// alarmWant is one CloudWatch alarm as the module must create it: every
// setting an operator relies on, compared whole.
type alarmWant struct {
	Namespace, Metric, Statistic string
	Dimensions                   map[string]string
	Period, EvaluationPeriods    int32
	DatapointsToAlarm            int32
	Threshold                    float64
	Comparison, TreatMissingData string
	Queries                      []queryWant // metric math alarms only
	AlarmActions, OKActions      []string
}

// queryWant is one metric_query of a metric math alarm.
type queryWant struct {
	ID, Expression, Label   string
	Namespace, Metric, Stat string
	Dimensions              map[string]string
	Period                  int32
	ReturnData              bool
}

// alarmSettings are the inputs the expected alarms depend on.
type alarmSettings struct {
	mappingUUID    string
	actions        []string // alarm_actions and ok_actions, the topic included
	timeoutSeconds int
	namespace      string
}

var defaultAlarmSettings = alarmSettings{timeoutSeconds: 120, namespace: "DynamoReplicator", actions: []string{}}

// expectedAlarms says, independently of alarms.tf, which alarms one module
// call with its default alarm inputs creates, by name.
func (r replicator) expectedAlarms(s alarmSettings) map[string]alarmWant {
	fn := map[string]string{"FunctionName": r.name}
	mapping := map[string]string{"EventSourceMappingUUID": s.mappingUUID}
	// A count of events: any in 5 minutes fires, and no data is none.
	count := func(namespace, metric string, dims map[string]string) alarmWant {
		return alarmWant{
			Namespace: namespace, Metric: metric, Statistic: "Sum", Dimensions: dims,
			Period: 300, EvaluationPeriods: 1, Threshold: 0,
			Comparison: "GreaterThanThreshold", TreatMissingData: "notBreaching",
			AlarmActions: s.actions, OKActions: s.actions,
		}
	}
	out := map[string]alarmWant{
		r.name + "-replication-backlog": {
			Namespace: "AWS/Lambda", Metric: "IteratorAge", Statistic: "Maximum", Dimensions: fn,
			Period: 60, EvaluationPeriods: 5, Threshold: 300000,
			Comparison: "GreaterThanThreshold", TreatMissingData: "notBreaching",
			AlarmActions: s.actions, OKActions: s.actions,
		},
		// Three 5-minute periods in a row with master writes and nothing
		// polled; no writes is no data, which does not breach.
		r.name + "-polling-stalled": {
			EvaluationPeriods: 3, DatapointsToAlarm: 3, Threshold: 1,
			Comparison: "GreaterThanOrEqualToThreshold", TreatMissingData: "notBreaching",
			Queries: []queryWant{
				{ID: "stalled", Expression: "IF(writes > 0 AND FILL(polled, 0) == 0, 1, 0)", Label: "Periods with master writes and nothing polled", ReturnData: true},
				{ID: "writes", Namespace: "AWS/DynamoDB", Metric: "ConsumedWriteCapacityUnits", Stat: "Sum", Period: 300, Dimensions: map[string]string{"TableName": r.masterName}},
				{ID: "polled", Namespace: "AWS/Lambda", Metric: "PolledEventCount", Stat: "Sum", Period: 300, Dimensions: mapping},
			},
			AlarmActions: s.actions, OKActions: s.actions,
		},
		r.name + "-function-errors":               count("AWS/Lambda", "Errors", fn),
		r.name + "-function-throttles":            count("AWS/Lambda", "Throttles", fn),
		r.name + "-records-given-up":              count("AWS/Lambda", "OnFailureDestinationDeliveredEventCount", mapping),
		r.name + "-destination-delivery-failures": count("AWS/Lambda", "DestinationDeliveryFailures", fn),
		r.name + "-rejected-records":              count(s.namespace, "RejectedRecords", map[string]string{"Replicator": r.name}),
		r.name + "-duration-near-timeout": {
			Namespace: "AWS/Lambda", Metric: "Duration", Statistic: "Maximum", Dimensions: fn,
			Period: 300, EvaluationPeriods: 1, Threshold: float64(s.timeoutSeconds) * 1000 * 0.8,
			Comparison: "GreaterThanThreshold", TreatMissingData: "notBreaching",
			AlarmActions: s.actions, OKActions: s.actions,
		},
	}
	configuration := count(s.namespace, "ConfigurationErrors", map[string]string{"Replicator": r.name})
	configuration.Period = 60
	out[r.name+"-configuration-errors"] = configuration
	for key := range r.slaves {
		dims := map[string]string{"Replicator": r.name, "Slave": key}
		out[r.name+"-failed-records-"+key] = count(s.namespace, "FailedRecords", dims)
		// The drain reports every minute: no data for 5 minutes is no drain.
		parked := count(s.namespace, "OldestParkedAgeSeconds", dims)
		parked.Statistic, parked.Threshold, parked.TreatMissingData = "Maximum", 900, "breaching"
		out[r.name+"-parked-age-"+key] = parked
	}
	return out
}

// defaultAlarmNames are the names of expectedAlarms.
func (r replicator) defaultAlarmNames() []string {
	out := []string{}
	for name := range r.expectedAlarms(defaultAlarmSettings) {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// readAlarms reads back every alarm of a replicator, through the CloudWatch
// translator, as alarmWant values.
func readAlarms(t *testing.T, cfg aws.Config, prefix string) map[string]alarmWant {
	t.Helper()
	client := cloudwatch.NewFromConfig(cfg, func(o *cloudwatch.Options) { o.BaseEndpoint = aws.String(cloudWatchEndpoint) })
	out, err := client.DescribeAlarms(context.Background(), &cloudwatch.DescribeAlarmsInput{AlarmNamePrefix: aws.String(prefix)})
	require.NoError(t, err)
	got := map[string]alarmWant{}
	for _, a := range out.MetricAlarms {
		got[aws.ToString(a.AlarmName)] = alarmFromAPI(a)
	}
	return got
}

func alarmFromAPI(a cwtypes.MetricAlarm) alarmWant {
	w := alarmWant{
		Namespace: aws.ToString(a.Namespace), Metric: aws.ToString(a.MetricName), Statistic: string(a.Statistic),
		Dimensions: dimensionMap(a.Dimensions), Period: aws.ToInt32(a.Period),
		EvaluationPeriods: aws.ToInt32(a.EvaluationPeriods), DatapointsToAlarm: aws.ToInt32(a.DatapointsToAlarm),
		Threshold: aws.ToFloat64(a.Threshold), Comparison: string(a.ComparisonOperator),
		TreatMissingData: aws.ToString(a.TreatMissingData),
		AlarmActions:     append([]string{}, a.AlarmActions...), OKActions: append([]string{}, a.OKActions...),
	}
	for _, q := range a.Metrics {
		qw := queryWant{ID: aws.ToString(q.Id), Expression: aws.ToString(q.Expression), Label: aws.ToString(q.Label), ReturnData: aws.ToBool(q.ReturnData)}
		if q.MetricStat != nil {
			qw.Namespace = aws.ToString(q.MetricStat.Metric.Namespace)
			qw.Metric = aws.ToString(q.MetricStat.Metric.MetricName)
			qw.Dimensions = dimensionMap(q.MetricStat.Metric.Dimensions)
			qw.Stat = aws.ToString(q.MetricStat.Stat)
			qw.Period = aws.ToInt32(q.MetricStat.Period)
		}
		w.Queries = append(w.Queries, qw)
	}
	if len(w.Dimensions) == 0 {
		w.Dimensions = nil
	}
	return w
}

func dimensionMap(dims []cwtypes.Dimension) map[string]string {
	if len(dims) == 0 {
		return nil
	}
	out := map[string]string{}
	for _, d := range dims {
		out[aws.ToString(d.Name)] = aws.ToString(d.Value)
	}
	return out
}

// requireAlarms compares alarms by name, each whole.
func requireAlarms(t *testing.T, want, got map[string]alarmWant) {
	t.Helper()
	assert.ElementsMatch(t, keysOf(want), keysOf(got), "alarm names")
	for name, w := range want {
		g, ok := got[name]
		if !ok {
			continue
		}
		// Queries are a list in the API, a set of ids to the alarm.
		sort.Slice(w.Queries, func(i, j int) bool { return w.Queries[i].ID < w.Queries[j].ID })
		sort.Slice(g.Queries, func(i, j int) bool { return g.Queries[i].ID < g.Queries[j].ID })
		sort.Strings(w.AlarmActions)
		sort.Strings(g.AlarmActions)
		sort.Strings(w.OKActions)
		sort.Strings(g.OKActions)
		assert.Equal(t, w, g, "alarm %s", name)
	}
}

func keysOf[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// expectedDashboard is the body of the module's dashboard, written out from
// what the handler emits (handler/metrics.ts: namespace, Replicator, Slave)
// and the AWS metrics of the stream function and its mapping.
func (r replicator) expectedDashboard(mappingUUID, namespace string) map[string]interface{} {
	keys := keysOf(r.slaves)
	perSlave := func(metric string, label func(string) string) []interface{} {
		out := []interface{}{}
		for _, k := range keys {
			out = append(out, []interface{}{namespace, metric, "Replicator", r.name, "Slave", k, map[string]interface{}{"label": label(k)}})
		}
		return out
	}
	plain := func(k string) string { return k }
	rate := []interface{}{}
	failedParked := []interface{}{}
	pending := []interface{}{}
	for i, k := range keys {
		id := fmt.Sprintf("s%d", i)
		rate = append(rate,
			[]interface{}{namespace, "RecordsReplicated", "Replicator", r.name, "Slave", k, map[string]interface{}{"id": id + "_written", "visible": false}},
			[]interface{}{map[string]interface{}{"expression": id + "_written / PERIOD(" + id + "_written)", "label": k, "id": id + "_rate"}},
		)
		failedParked = append(failedParked,
			[]interface{}{namespace, "FailedRecords", "Replicator", r.name, "Slave", k, map[string]interface{}{"label": k + " failed"}},
			[]interface{}{namespace, "ParkedRecords", "Replicator", r.name, "Slave", k, map[string]interface{}{"label": k + " parked"}},
			[]interface{}{namespace, "DrainedRecords", "Replicator", r.name, "Slave", k, map[string]interface{}{"label": k + " drained"}},
		)
		pending = append(pending,
			[]interface{}{namespace, "ParkedPending", "Replicator", r.name, "Slave", k, map[string]interface{}{"label": k + " pending"}},
			[]interface{}{namespace, "OldestParkedAgeSeconds", "Replicator", r.name, "Slave", k, map[string]interface{}{"label": k + " oldest (s)", "yAxis": "right"}},
		)
	}
	label := func(l string) map[string]interface{} { return map[string]interface{}{"label": l} }
	widgets := []struct {
		title, stat string
		metrics     []interface{}
	}{
		{"Replication lag per slave (ms, maximum)", "Maximum", perSlave("ReplicationLatency", plain)},
		{"Records replicated per second, per slave", "Sum", rate},
		{"Write retries per slave", "Sum", perSlave("WriteRetries", plain)},
		{"Failed and parked records per slave", "Sum", failedParked},
		{"Parked changes pending, and the oldest one's age (s), per slave", "Maximum", pending},
		{"Stream backlog: IteratorAge (ms, maximum)", "Maximum", []interface{}{
			[]interface{}{"AWS/Lambda", "IteratorAge", "FunctionName", r.name, label("IteratorAge")},
		}},
		{"Master writes and records polled", "Sum", []interface{}{
			[]interface{}{"AWS/DynamoDB", "ConsumedWriteCapacityUnits", "TableName", r.masterName, label("master write units")},
			[]interface{}{"AWS/Lambda", "PolledEventCount", "EventSourceMappingUUID", mappingUUID, label("polled")},
			[]interface{}{"AWS/Lambda", "OnFailureDestinationDeliveredEventCount", "EventSourceMappingUUID", mappingUUID, label("given up (to the failure bucket)")},
		}},
		{"Errors", "Sum", []interface{}{
			[]interface{}{"AWS/Lambda", "Errors", "FunctionName", r.name, label("stream function errors")},
			[]interface{}{"AWS/Lambda", "Throttles", "FunctionName", r.name, label("stream function throttles")},
			[]interface{}{"AWS/Lambda", "Errors", "FunctionName", r.name + "-drain", label("drain errors")},
			[]interface{}{"AWS/Lambda", "DestinationDeliveryFailures", "FunctionName", r.name, label("failure bucket delivery failures")},
			[]interface{}{namespace, "RejectedRecords", "Replicator", r.name, label("rejected records")},
			[]interface{}{namespace, "ConfigurationErrors", "Replicator", r.name, label("configuration errors")},
		}},
	}
	out := []interface{}{}
	for i, w := range widgets {
		out = append(out, map[string]interface{}{
			"type": "metric", "x": (i % 2) * 12, "y": (i / 2) * 6, "width": 12, "height": 6,
			"properties": map[string]interface{}{
				"title": w.title, "region": r.region, "view": "timeSeries", "stacked": false,
				"period": 60, "stat": w.stat, "metrics": w.metrics,
			},
		})
	}
	return map[string]interface{}{"widgets": out}
}

// dashboardName: dashboards are global to the account, so the region ends
// the name, as it ends the roles'.
func (r replicator) dashboardName() string { return r.name + "-" + r.region }

// requireDashboard compares a dashboard body with the expected one, as JSON.
func requireDashboard(t *testing.T, want map[string]interface{}, body string) {
	t.Helper()
	raw, err := json.Marshal(want)
	require.NoError(t, err)
	assert.JSONEq(t, string(raw), body)
}

func readDashboard(t *testing.T, cfg aws.Config, name string) string {
	t.Helper()
	client := cloudwatch.NewFromConfig(cfg, func(o *cloudwatch.Options) { o.BaseEndpoint = aws.String(cloudWatchEndpoint) })
	out, err := client.GetDashboard(context.Background(), &cloudwatch.GetDashboardInput{DashboardName: aws.String(name)})
	require.NoError(t, err, "dashboard %s", name)
	return aws.ToString(out.DashboardBody)
}

// The alarm and dashboard inputs: actions lists merged with the topic, the
// polling alarm only while the mapping is meant to read, no dashboard when
// asked, and the input combinations that cannot work rejected at plan time.
func TestPlanAlarmInputs(t *testing.T) {
	t.Parallel()
	region, master := "us-east-1", uniqueName("events")
	hashOnlyMaster(t, region, master)
	f := newReplicaFixture(t)
	base := func(vars map[string]interface{}) map[string]interface{} {
		out := map[string]interface{}{"name": uniqueName("repl"), "master_table_name": master, "slaves": copySlave(region, master)}
		for k, v := range vars {
			out[k] = v
		}
		return out
	}
	alarmsOf := func(plan *terraform.PlanStruct) map[string]map[string]interface{} {
		out := map[string]map[string]interface{}{}
		for _, a := range managed(plan, "aws_cloudwatch_metric_alarm") {
			out[a.AttributeValues["alarm_name"].(string)] = a.AttributeValues
		}
		return out
	}

	t.Run("actions lists and the deprecated topic", func(t *testing.T) {
		topic := "arn:aws:sns:us-east-1:111122223333:ops"
		pager := "arn:aws:sns:us-east-1:111122223333:pager"
		chat := "arn:aws:sns:us-east-1:111122223333:chat"
		vars := base(map[string]interface{}{"alarm_actions": []string{pager}, "ok_actions": []string{chat}, "alarm_topic_arn": topic})
		plan := f.plan(t, vars)
		r := replicator{name: vars["name"].(string), slaves: map[string]slaveEnv{"copy": {}}}
		alarms := alarmsOf(plan)
		assert.ElementsMatch(t, r.defaultAlarmNames(), keysOf(alarms))
		for name, a := range alarms {
			assert.ElementsMatch(t, []interface{}{pager, topic}, a["alarm_actions"], name)
			assert.ElementsMatch(t, []interface{}{chat, topic}, a["ok_actions"], name)
		}
	})

	t.Run("a paused mapping raises no polling alarm", func(t *testing.T) {
		vars := base(map[string]interface{}{"enabled": false})
		names := keysOf(alarmsOf(f.plan(t, vars)))
		assert.NotContains(t, names, vars["name"].(string)+"-polling-stalled")
		assert.Contains(t, names, vars["name"].(string)+"-replication-backlog")
	})

	t.Run("duration threshold", func(t *testing.T) {
		vars := base(map[string]interface{}{"duration_alarm_threshold_percent": 50})
		a := alarmsOf(f.plan(t, vars))[vars["name"].(string)+"-duration-near-timeout"]
		assert.EqualValues(t, 60000, a["threshold"], "50% of the 120 s timeout, in ms")
	})

	t.Run("no dashboard, no alarms", func(t *testing.T) {
		plan := f.plan(t, base(map[string]interface{}{"create_dashboard": false, "create_alarms": false}))
		assert.Empty(t, managed(plan, "aws_cloudwatch_dashboard"))
		assert.Empty(t, managed(plan, "aws_cloudwatch_metric_alarm"))
		assert.Nil(t, plan.RawPlan.PlannedValues.Outputs["dashboard_name"].Value)
	})

	t.Run("dashboard named for its region", func(t *testing.T) {
		vars := base(nil)
		plan := f.plan(t, vars)
		d := only(t, plan, "aws_cloudwatch_dashboard").AttributeValues
		assert.Equal(t, vars["name"].(string)+"-"+region, d["dashboard_name"])
		assert.Equal(t, region, d["region"])
	})

	rejected := []struct {
		name string
		vars map[string]interface{}
		want string
	}{
		{"created topic and a topic ARN", map[string]interface{}{"create_alarm_topic": true, "alarm_topic_arn": "arn:aws:sns:us-east-1:111122223333:ops"},
			"create_alarm_topic = true and alarm_topic_arn (arn:aws:sns:us-east-1:111122223333:ops) are both set"},
		{"an alarm action that is not an ARN", map[string]interface{}{"alarm_actions": []string{"ops"}}, "Each of alarm_actions must be an ARN"},
		{"an OK action that is not an ARN", map[string]interface{}{"ok_actions": []string{"ops"}}, "Each of ok_actions must be an ARN"},
		{"duration threshold of 100%", map[string]interface{}{"duration_alarm_threshold_percent": 100}, "duration_alarm_threshold_percent must be a percentage of timeout above 0 and below 100"},
		{"target utilization out of range", map[string]interface{}{"slave_autoscaling": map[string]interface{}{"target_utilization": 95}}, "slave_autoscaling.target_utilization must be a percentage between 20 and 90"},
		{"fractional maximum capacity", map[string]interface{}{"slave_autoscaling": map[string]interface{}{"max_read_capacity": 1.5}}, "slave_autoscaling.max_read_capacity and max_write_capacity must be whole numbers"},
	}
	for _, c := range rejected {
		t.Run(c.name, func(t *testing.T) {
			assert.Contains(t, f.planFails(t, base(c.vars)), c.want)
		})
	}
}
