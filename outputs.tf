output "function_name" {
  description = "Name of the replicator function."
  value       = aws_lambda_function.this.function_name
}

output "function_arn" {
  description = "ARN of the replicator function."
  value       = aws_lambda_function.this.arn
}

output "role_name" {
  description = "Name of the function's IAM role."
  value       = aws_iam_role.lambda.name
}

output "role_arn" {
  description = "ARN of the function's IAM role: the principal a cross-account slave's role must trust."
  value       = aws_iam_role.lambda.arn
}

output "log_group_name" {
  description = "Name of the function's log group."
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

output "failure_queue_url" {
  description = "URL of the SQS queue that receives the positions of records given up on."
  value       = aws_sqs_queue.failures.url
}

output "failure_queue_arn" {
  description = "ARN of the failure queue."
  value       = aws_sqs_queue.failures.arn
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
    aws_cloudwatch_metric_alarm.failure_queue[*].alarm_name,
  )
}
