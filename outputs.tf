output "function_name" {
  description = "Name of the stream function, which the mapping invokes."
  value       = aws_lambda_function.this.function_name
}

output "function_arn" {
  description = "ARN of the stream function (unqualified)."
  value       = aws_lambda_function.this.arn
}

output "function_version" {
  description = "Version of the stream function the last apply published, which the alias names."
  value       = aws_lambda_function.this.version
}

output "function_alias_arn" {
  description = "ARN of the stream function's alias \"live\", which the mapping invokes: point it at an earlier version to roll a deploy back."
  value       = aws_lambda_alias.live.arn
}

output "role_name" {
  description = "Name of the stream function's IAM role: the module's, or with create_role = false the name in lambda_role."
  value       = var.create_role ? one(aws_iam_role.lambda[*].name) : element(split("/", var.lambda_role), length(split("/", var.lambda_role)) - 1)
}

output "role_arn" {
  description = "ARN of the stream function's IAM role: the module's, or lambda_role."
  value       = var.create_role ? one(aws_iam_role.lambda[*].arn) : var.lambda_role
}

output "log_group_name" {
  description = "Name of the stream function's log group."
  value       = aws_cloudwatch_log_group.lambda.name
}

output "event_source_mapping_uuid" {
  description = "UUID of the event source mapping from the master's stream to the function."
  value       = aws_lambda_event_source_mapping.this.uuid
}

output "event_source_mapping_arn" {
  description = "ARN of the event source mapping."
  value       = aws_lambda_event_source_mapping.this.arn
}

output "master_stream_arn" {
  description = "ARN of the master's stream the mapping reads."
  value       = data.aws_dynamodb_table.master.stream_arn
}

output "failure_bucket_name" {
  description = "Name of the S3 bucket that receives the invocation record (records included) of every batch the mapping gives up on."
  value       = aws_s3_bucket.failures.bucket
}

output "failure_bucket_arn" {
  description = "ARN of the failure bucket."
  value       = aws_s3_bucket.failures.arn
}

output "state_table_name" {
  description = "Name of the state table: parked changes, rejected records, initial-copy status and checkpoints."
  value       = aws_dynamodb_table.state.name
}

output "state_table_arn" {
  description = "ARN of the state table."
  value       = aws_dynamodb_table.state.arn
}

output "drain_function_name" {
  description = "Name of the drain function, which applies parked changes on a schedule."
  value       = aws_lambda_function.drain.function_name
}

output "drain_function_arn" {
  description = "ARN of the drain function."
  value       = aws_lambda_function.drain.arn
}

output "drain_role_arn" {
  description = "ARN of the drain function's IAM role: the module's, or lambda_role."
  value       = var.create_role ? one(aws_iam_role.drain[*].arn) : var.lambda_role
}

output "policy_documents" {
  description = "Every IAM policy the functions need, by function (stream, drain, and copy with the state machine) and policy name, as JSON: the inline policies the module attaches to the roles it creates, or, with create_role = false, what lambda_role must grant. Known at plan time."
  value = {
    for fn, policy in local.function_policies : fn => merge(
      { "${var.name}-${fn}" = policy },
      { for key, slave_policy in local.slave_policies : "${var.name}-${fn == "stream" ? "" : "${fn}-"}slave-${key}" => slave_policy },
    ) if fn != "copy" || local.copy_enabled
  }
}

output "initial_copy_state_machine_arn" {
  description = "ARN of the initial-copy state machine (start it with --input '{\"slave\":\"<key>\"}'), or null unless initial_copy_state_machine.enabled."
  value       = one(aws_sfn_state_machine.initial_copy[*].arn)
}

output "slave_writer_principal_arns" {
  description = "ARNs of the roles that write the slaves (stream function, drain, and copy function when the state machine is enabled): the principals a cross-account slave's writer role must trust. Built from names, so known at plan time."
  value       = local.slave_writer_principal_arns
}

output "slave_tables" {
  description = "Every slave by key: its region, table name and ARN, and whether this module created it."
  value = {
    for key, slave in var.slaves : key => {
      region     = slave.region
      table_name = slave.table_name
      arn        = slave.create_table ? module.replica_table[key].arn : local.slave_table_arns[key]
      created    = slave.create_table
    }
  }
}

output "alarm_topic_arn" {
  description = "ARN of the SNS topic the alarms notify, or null."
  value       = local.alarm_topic_arn
}

output "alarm_names" {
  description = "Names of the CloudWatch alarms."
  value = concat(
    aws_cloudwatch_metric_alarm.iterator_age[*].alarm_name,
    aws_cloudwatch_metric_alarm.errors[*].alarm_name,
    [for alarm in aws_cloudwatch_metric_alarm.failed_records : alarm.alarm_name],
    [for alarm in aws_cloudwatch_metric_alarm.parked_age : alarm.alarm_name],
    aws_cloudwatch_metric_alarm.rejected_records[*].alarm_name,
    aws_cloudwatch_metric_alarm.configuration_errors[*].alarm_name,
    aws_cloudwatch_metric_alarm.records_given_up[*].alarm_name,
    aws_cloudwatch_metric_alarm.polling_stalled[*].alarm_name,
    aws_cloudwatch_metric_alarm.throttles[*].alarm_name,
    aws_cloudwatch_metric_alarm.duration[*].alarm_name,
    aws_cloudwatch_metric_alarm.destination_delivery_failures[*].alarm_name,
  )
}

output "dashboard_name" {
  description = "Name of the CloudWatch dashboard (<name>-<region>: dashboards are global to the account), or null with create_dashboard = false."
  value       = one(aws_cloudwatch_dashboard.this[*].dashboard_name)
}

output "dashboard_arn" {
  description = "ARN of the CloudWatch dashboard, or null with create_dashboard = false."
  value       = one(aws_cloudwatch_dashboard.this[*].dashboard_arn)
}
