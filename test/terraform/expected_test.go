package test

import (
	"fmt"
	"strings"
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

	// Customer managed keys: the master's (from DescribeTable), the state
	// table's, and a same-account slave's kms_key_arn, by slave key.
	masterKey, stateKey string
	slaveKeys           map[string]string
	rolePath            string            // role_path; "" is "/"
	extraStatements     []policyStatement // policy_statements (and policy_json), on every function role
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
	path := r.rolePath
	if path == "" {
		path = "/"
	}
	return fmt.Sprintf("arn:aws:iam::%s:role%s%s", r.account, path, r.roleName(function))
}

// keyStatement grants a table's key through DynamoDB in the key's region:
// reading takes Decrypt and DescribeKey, writing GenerateDataKey as well.
func keyStatement(sid, key string, write bool) policyStatement {
	actions := []string{"kms:Decrypt", "kms:DescribeKey"}
	if write {
		actions = append(actions, "kms:GenerateDataKey")
	}
	st := allow(sid, actions, key)
	st.Condition = map[string]map[string]stringOrList{"StringEquals": {"kms:ViaService": {"dynamodb." + strings.Split(key, ":")[3] + ".amazonaws.com"}}}
	return st
}

// keyStatements are the statements every function role gets for the master's
// and the state table's keys.
func (r replicator) keyStatements() []policyStatement {
	var out []policyStatement
	if r.masterKey != "" {
		out = append(out, keyStatement("UseMasterTableKey", r.masterKey, false))
	}
	if r.stateKey != "" {
		out = append(out, keyStatement("UseStateTableKey", r.stateKey, true))
	}
	return out
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

// slaveStatements are a slave's policy: write its table (with its key, if
// it has one), or assume its writer role.
func (r replicator) slaveStatements(key string, s slaveEnv) []policyStatement {
	if s.RoleArn != nil {
		return []policyStatement{allow("AssumeSlaveWriterRole", []string{"sts:AssumeRole"}, *s.RoleArn)}
	}
	out := []policyStatement{allow("WriteSlaveTable", []string{"dynamodb:BatchWriteItem"}, tableArn("aws", s.Region, r.account, s.TableName))}
	if k, ok := r.slaveKeys[key]; ok {
		out = append(out, keyStatement("UseSlaveTableKey", k, true))
	}
	return out
}

// policies is the complete allowlist: role name => inline policy name =>
// statements. Any grant not here is a failure.
func (r replicator) policies() map[string]map[string][]policyStatement {
	stream := []policyStatement{
		allow("ReadMasterStream", []string{"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"}, r.streamArn),
		allow("ListStreams", []string{"dynamodb:ListStreams"}, "*"),
		allow("ParkInStateTable", []string{"dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:GetItem", "dynamodb:UpdateItem"}, r.stateTableArn()),
		allow("FindOwnMapping", []string{"lambda:ListEventSourceMappings"}, "*"),
		{
			// The mapping invokes the alias "live".
			Sid: "DisableOwnMapping", Effect: "Allow",
			Action:    stringOrList{"lambda:UpdateEventSourceMapping"},
			Resource:  stringOrList{r.arn("lambda", "event-source-mapping:*")},
			Condition: map[string]map[string]stringOrList{"ArnLike": {"lambda:FunctionArn": {r.functionArn(r.name), r.functionArn(r.name) + ":live"}}},
		},
		allow("WriteFailedBatches", []string{"s3:PutObject"}, r.bucketArn()+"/*"),
		allow("ListFailureBucket", []string{"s3:ListBucket"}, r.bucketArn()),
		logs(r, r.name),
	}
	// Whatever the view type: a record whose image cannot be decoded is read back too.
	stream = append(stream, allow("ReadMasterItems", []string{"dynamodb:BatchGetItem"}, r.masterArn))
	stream = append(stream, r.keyStatements()...)
	drain := []policyStatement{
		allow("DrainStateTable", []string{"dynamodb:BatchWriteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"}, r.stateTableArn()),
		allow("ReadMasterItems", []string{"dynamodb:BatchGetItem"}, r.masterArn),
		logs(r, r.name+"-drain"),
	}
	drain = append(drain, r.keyStatements()...)
	roles := map[string]map[string][]policyStatement{
		r.roleName(""):      {r.name + "-stream": stream},
		r.roleName("drain"): {r.name + "-drain": drain},
	}
	prefixes := map[string]string{r.roleName(""): "-slave-", r.roleName("drain"): "-drain-slave-"}
	if r.copy {
		copyFn := r.functionArn(r.name + "-copy")
		roles[r.roleName("copy")] = map[string][]policyStatement{r.name + "-copy": append([]policyStatement{
			allow("ScanMaster", []string{"dynamodb:Scan", "dynamodb:DescribeTable"}, r.masterArn),
			allow("CheckpointInStateTable", []string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"}, r.stateTableArn()),
			logs(r, r.name+"-copy"),
		}, r.keyStatements()...)}
		prefixes[r.roleName("copy")] = "-copy-slave-"
		roles[r.roleName("sfn")] = map[string][]policyStatement{r.name + "-initial-copy": {
			allow("InvokeCopySegment", []string{"lambda:InvokeFunction"}, copyFn, copyFn+":*"),
			allow("StartSegmentExecutions", []string{"states:StartExecution"}, r.stateMachineArn()),
			allow("ManageSegmentExecutions", []string{"states:DescribeExecution", "states:StopExecution"}, r.arn("states", "execution:"+r.stateMachineName()+"/*")),
		}}
	}
	for role, infix := range prefixes {
		for key, s := range r.slaves {
			roles[role][r.name+infix+key] = r.slaveStatements(key, s)
		}
	}
	if len(r.extraStatements) > 0 {
		for role, fn := range map[string]string{r.roleName(""): "stream", r.roleName("drain"): "drain", r.roleName("copy"): "copy"} {
			if roles[role] != nil {
				roles[role][r.name+"-"+fn+"-extra-statements"] = r.extraStatements
			}
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
		"POWERTOOLS_LOG_LEVEL":         "INFO",
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
	return r.defaultAlarmNames()
}
