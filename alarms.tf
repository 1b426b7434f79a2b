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

# Records the function reported as not applied to one slave (they are retried,
# then sent to the failure queue): one alarm per slave says which one lags.
resource "aws_cloudwatch_metric_alarm" "failed_records" {
  for_each = var.create_alarms ? var.slaves : {}

  region = var.region

  alarm_name          = "${var.name}-failed-records-${each.key}"
  alarm_description   = "Records of ${var.master_table_name} failed to reach slave ${each.key} (${each.value.table_name} in ${each.value.region})."
  namespace           = var.metrics_namespace
  metric_name         = "FailedRecords"
  dimensions          = { Slave = each.key }
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

# A message here is a range of stream records that were given up on: they must
# be re-read from the stream within 24 hours of their write, or re-copied.
resource "aws_cloudwatch_metric_alarm" "failure_queue" {
  count = var.create_alarms ? 1 : 0

  region = var.region

  alarm_name          = "${var.name}-records-given-up"
  alarm_description   = "Stream records of ${var.master_table_name} were given up on; their positions are in ${aws_sqs_queue.failures.name}."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.failures.name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  tags                = var.tags
}
