locals {
  alarm_topic_arn = var.create_alarm_topic ? aws_sns_topic.alarms[0].arn : var.alarm_topic_arn
  alarm_actions   = local.alarm_topic_arn == null ? [] : [local.alarm_topic_arn]
}

resource "aws_sns_topic" "alarms" {
  # checkov:skip=CKV_AWS_26:CloudWatch alarms cannot publish to a topic encrypted with the AWS managed alias/aws/sns; alarm_topic_kms_key_id takes a key whose policy admits cloudwatch.amazonaws.com.
  count = var.create_alarm_topic ? 1 : 0

  region = var.region

  name              = "${var.name}-alarms"
  kms_master_key_id = var.alarm_topic_kms_key_id
  tags              = var.tags
}

# IteratorAge is the age of the last record the mapping read: the replication
# backlog. It grows when the function falls behind or retries a failing batch.
resource "aws_cloudwatch_metric_alarm" "iterator_age" {
  count = var.create_alarms ? 1 : 0

  region = var.region

  alarm_name        = "${var.name}-replication-backlog"
  alarm_description = "Replication from ${var.master_table_name} is more than ${var.iterator_age_alarm_threshold_seconds} s behind."
  namespace         = "AWS/Lambda"
  metric_name       = "IteratorAge"
  dimensions        = { FunctionName = aws_lambda_function.this.function_name }
  statistic         = "Maximum"
  period            = 60
  # Five minutes in a row: one slow batch is not a backlog.
  evaluation_periods  = 5
  threshold           = var.iterator_age_alarm_threshold_seconds * 1000
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = var.tags
}

# The function throws only on what it cannot attribute to a record (a bad
# configuration, a denied role): every such error stops the whole batch.
resource "aws_cloudwatch_metric_alarm" "errors" {
  count = var.create_alarms ? 1 : 0

  region = var.region

  alarm_name          = "${var.name}-function-errors"
  alarm_description   = "The replicator of ${var.master_table_name} failed whole invocations."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = aws_lambda_function.this.function_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = var.tags
}

# Changes of one slave that were neither written nor parked (the state table
# could not be written): they are re-delivered. One alarm per slave.
resource "aws_cloudwatch_metric_alarm" "failed_records" {
  for_each = var.create_alarms ? var.slaves : {}

  region = var.region

  alarm_name          = "${var.name}-failed-records-${each.key}"
  alarm_description   = "Changes of ${var.master_table_name} for slave ${each.key} (${each.value.table_name} in ${each.value.region}) were neither written nor parked; they are re-delivered."
  namespace           = var.metrics_namespace
  metric_name         = "FailedRecords"
  dimensions          = { Replicator = var.name, Slave = each.key }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = var.tags
}

# The drain reports, every run and for every slave, the age of the oldest
# change still parked (0 when the slave is live). No data means the drain is
# not running, which is as bad as an old change: missing data breaches.
resource "aws_cloudwatch_metric_alarm" "parked_age" {
  for_each = var.create_alarms ? var.slaves : {}

  region = var.region

  alarm_name          = "${var.name}-parked-age-${each.key}"
  alarm_description   = "Slave ${each.key} (${each.value.table_name} in ${each.value.region}) has a change of ${var.master_table_name} parked for more than ${var.parked_age_alarm_threshold_seconds} s, or the drain has not reported for 5 minutes."
  namespace           = var.metrics_namespace
  metric_name         = "OldestParkedAgeSeconds"
  dimensions          = { Replicator = var.name, Slave = each.key }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = var.parked_age_alarm_threshold_seconds
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "breaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = var.tags
}

# Stream records that can never be applied (not decodable): their content is
# in the state table, for `npx dynamo-replicator redrive`.
resource "aws_cloudwatch_metric_alarm" "rejected_records" {
  count = var.create_alarms ? 1 : 0

  region = var.region

  alarm_name          = "${var.name}-rejected-records"
  alarm_description   = "Stream records of ${var.master_table_name} could not be decoded; their content is kept in ${local.state_table_name} for redrive."
  namespace           = var.metrics_namespace
  metric_name         = "RejectedRecords"
  dimensions          = { Replicator = var.name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = var.tags
}

# The stream function rejected its configuration and disabled its own mapping:
# nothing is read until the configuration is fixed and the mapping re-enabled.
resource "aws_cloudwatch_metric_alarm" "configuration_errors" {
  count = var.create_alarms ? 1 : 0

  region = var.region

  alarm_name          = "${var.name}-configuration-errors"
  alarm_description   = "The replicator of ${var.master_table_name} rejected its configuration and disabled its event source mapping."
  namespace           = var.metrics_namespace
  metric_name         = "ConfigurationErrors"
  dimensions          = { Replicator = var.name }
  statistic           = "Sum"
  period              = 60
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = var.tags
}

# The mapping gave up on a batch and wrote its invocation record to the
# failure bucket.
# Event source mapping metrics carry the mapping's UUID as their dimension.
resource "aws_cloudwatch_metric_alarm" "records_given_up" {
  count = var.create_alarms ? 1 : 0

  region = var.region

  alarm_name          = "${var.name}-records-given-up"
  alarm_description   = "The mapping of ${var.master_table_name} gave up on a batch; its invocation record is in ${local.failure_bucket_name}, for redrive."
  namespace           = "AWS/Lambda"
  metric_name         = "OnFailureDestinationDeliveredEventCount"
  dimensions          = { EventSourceMappingUUID = aws_lambda_event_source_mapping.this.uuid }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  tags                = var.tags
}
