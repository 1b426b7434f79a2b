package test

import (
	"fmt"
)

// replicator describes one module call as a test sets it up; the methods
// below say, independently of the module's code, what that call must create.
type replicator struct {
	name, region, account      string
	masterName                 string
	masterArn, streamArn       string
	slaves                     map[string]slaveEnv // REPLICATOR_SLAVES
	writeConcurrency           int
	copy                       bool // initial_copy_state_machine.enabled
	totalSegments, concurrency int  // its settings, when copy
}

func (r replicator) arn(service, resource string) string {
	return fmt.Sprintf("arn:aws:%s:%s:%s:%s", service, r.region, r.account, resource)
}

func (r replicator) stateTableName() string { return r.name + "-state" }
func (r replicator) stateTableArn() string  { return r.arn("dynamodb", "table/"+r.stateTableName()) }
func (r replicator) bucketName() string {
	return fmt.Sprintf("%s-failures-%s-%s", r.name, r.account, r.region)
}
func (r replicator) bucketArn() string            { return "arn:aws:s3:::" + r.bucketName() }
func (r replicator) functionArn(fn string) string { return r.arn("lambda", "function:"+fn) }
func (r replicator) stateMachineName() string     { return r.name + "-initial-copy" }
func (r replicator) stateMachineArn() string {
	return r.arn("states", "stateMachine:"+r.stateMachineName())
}

// Roles are named <name>[-<function>]-<region>: IAM is global, name is not.
func (r replicator) roleName(function string) string {
	if function == "" {
		return r.name + "-" + r.region
	}
	return r.name + "-" + function + "-" + r.region
}

func (r replicator) roleArn(function string) string {
	return fmt.Sprintf("arn:aws:iam::%s:role/%s", r.account, r.roleName(function))
}

// slaveWriterRoles are the roles that write slaves.
func (r replicator) slaveWriterRoleArns() []string {
	out := []string{r.roleArn(""), r.roleArn("drain")}
	if r.copy {
		out = append(out, r.roleArn("copy"))
	}
	return out
}

func allow(sid string, actions []string, resources ...string) policyStatement {
	return policyStatement{Sid: sid, Effect: "Allow", Action: actions, Resource: resources}
}

func logs(r replicator, fn string) policyStatement {
	return allow("WriteOwnLogs", []string{"logs:CreateLogStream", "logs:PutLogEvents"}, r.arn("logs", "log-group:/aws/lambda/"+fn)+":*")
}

// slaveStatement is the one statement of a slave's policy: write its table,
// or assume its writer role.
func (r replicator) slaveStatement(s slaveEnv) policyStatement {
	if s.RoleArn != nil {
		return allow("AssumeSlaveWriterRole", []string{"sts:AssumeRole"}, *s.RoleArn)
	}
	return allow("WriteSlaveTable", []string{"dynamodb:BatchWriteItem"}, tableArn("aws", s.Region, r.account, s.TableName))
}

// policies is the complete allowlist: role name => inline policy name =>
// statements. Any grant not here is a failure.
func (r replicator) policies() map[string]map[string][]policyStatement {
	stream := []policyStatement{
		allow("ReadMasterStream", []string{"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"}, r.streamArn),
		allow("ListStreams", []string{"dynamodb:ListStreams"}, "*"),
		allow("ParkInStateTable", []string{"dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:UpdateItem"}, r.stateTableArn()),
		allow("FindOwnMapping", []string{"lambda:ListEventSourceMappings"}, "*"),
		{
			Sid: "DisableOwnMapping", Effect: "Allow",
			Action:    stringOrList{"lambda:UpdateEventSourceMapping"},
			Resource:  stringOrList{r.arn("lambda", "event-source-mapping:*")},
			Condition: map[string]map[string]stringOrList{"ArnLike": {"lambda:FunctionArn": {r.functionArn(r.name)}}},
		},
		allow("WriteFailedBatches", []string{"s3:PutObject"}, r.bucketArn()+"/*"),
		allow("ListFailureBucket", []string{"s3:ListBucket"}, r.bucketArn()),
		logs(r, r.name),
	}
	// Whatever the view type: a record whose image cannot be decoded is read back too.
	stream = append(stream, allow("ReadMasterItems", []string{"dynamodb:BatchGetItem"}, r.masterArn))
	drain := []policyStatement{
		allow("DrainStateTable", []string{"dynamodb:GetItem", "dynamodb:Query", "dynamodb:UpdateItem", "dynamodb:DeleteItem"}, r.stateTableArn()),
		allow("ReadMasterItems", []string{"dynamodb:BatchGetItem"}, r.masterArn),
		logs(r, r.name+"-drain"),
	}
	roles := map[string]map[string][]policyStatement{
		r.roleName(""):      {r.name + "-stream": stream},
		r.roleName("drain"): {r.name + "-drain": drain},
	}
	prefixes := map[string]string{r.roleName(""): "-slave-", r.roleName("drain"): "-drain-slave-"}
	if r.copy {
		copyFn := r.functionArn(r.name + "-copy")
		roles[r.roleName("copy")] = map[string][]policyStatement{r.name + "-copy": {
			allow("ScanMaster", []string{"dynamodb:Scan", "dynamodb:DescribeTable"}, r.masterArn),
			allow("CheckpointInStateTable", []string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"}, r.stateTableArn()),
			logs(r, r.name+"-copy"),
		}}
		prefixes[r.roleName("copy")] = "-copy-slave-"
		roles[r.roleName("sfn")] = map[string][]policyStatement{r.name + "-initial-copy": {
			allow("InvokeCopySegment", []string{"lambda:InvokeFunction"}, copyFn, copyFn+":*"),
			allow("StartSegmentExecutions", []string{"states:StartExecution"}, r.stateMachineArn()),
			allow("ManageSegmentExecutions", []string{"states:DescribeExecution", "states:StopExecution"}, r.arn("states", "execution:"+r.stateMachineName()+"/*")),
		}}
	}
	for role, infix := range prefixes {
		for key, s := range r.slaves {
			roles[role][r.name+infix+key] = []policyStatement{r.slaveStatement(s)}
		}
	}
	return roles
}

// env is the environment of each of the functions, REPLICATOR_SLAVES aside
// (compared decoded).
func (r replicator) env() map[string]string {
	return map[string]string{
		"REPLICATOR_STATE_TABLE":       r.stateTableName(),
		"REPLICATOR_MASTER_TABLE":      r.masterName,
		"REPLICATOR_NAME":              r.name,
		"REPLICATOR_SLAVE_BUDGET_MS":   "5000",
		"REPLICATOR_SKIP_TTL_DELETES":  "false",
		"REPLICATOR_WRITE_CONCURRENCY": fmt.Sprint(r.writeConcurrency),
		"REPLICATOR_METRICS_NAMESPACE": "DynamoReplicator",
	}
}

// functions are the module's functions by name, with their handlers.
func (r replicator) functions() map[string]string {
	out := map[string]string{r.name: "index.handler", r.name + "-drain": "index.drain"}
	if r.copy {
		out[r.name+"-copy"] = "index.copySegment"
	}
	return out
}

// alarmNames are the alarms the module creates by default.
func (r replicator) alarmNames() []string {
	out := []string{r.name + "-replication-backlog", r.name + "-function-errors", r.name + "-rejected-records", r.name + "-configuration-errors", r.name + "-records-given-up"}
	for key := range r.slaves {
		out = append(out, r.name+"-failed-records-"+key, r.name+"-parked-age-"+key)
	}
	return out
}
