locals {
  alarm_topic_arn = var.create_alarm_topic ? aws_sns_topic.alarms[0].arn : var.alarm_topic_arn
  # The topic (created, or the deprecated alarm_topic_arn) is notified of both
  # transitions, as it was before alarm_actions and ok_actions existed.
  alarm_actions = distinct(concat(var.alarm_actions, local.alarm_topic_arn == null ? [] : [local.alarm_topic_arn]))
  ok_actions    = distinct(concat(var.ok_actions, local.alarm_topic_arn == null ? [] : [local.alarm_topic_arn]))

  # The stream function's own metrics (AWS/Lambda, FunctionName).
  stream_function_dimensions = { FunctionName = aws_lambda_function.this.function_name }
}

resource "aws_sns_topic" "alarms" {
  # checkov:skip=CKV_AWS_26:CloudWatch alarms cannot publish to a topic encrypted with the AWS managed alias/aws/sns; alarm_topic_kms_key_id takes a key whose policy admits cloudwatch.amazonaws.com.
  count = var.create_alarm_topic ? 1 : 0

  region = var.region

  name              = "${var.name}-alarms"
  kms_master_key_id = var.alarm_topic_kms_key_id
  tags              = var.tags

  lifecycle {
    precondition {
      condition     = var.alarm_topic_arn == null
      error_message = "create_alarm_topic = true and alarm_topic_arn (${coalesce(var.alarm_topic_arn, "-")}) are both set: the alarms would notify only one of them. Remove alarm_topic_arn to use the created topic, or set create_alarm_topic = false to use the existing topic (better: list it in alarm_actions and ok_actions)."
    }
  }
}

# IteratorAge is the age of the last record the mapping read: the replication
# backlog. It grows when the function falls behind or retries a failing batch.
# It is reported only by invocations, so a mapping that stops reading reports
# nothing: that case is the polling-stalled alarm's, and missing data here is
# a quiet stream.
resource "aws_cloudwatch_metric_alarm" "iterator_age" {
  count = var.create_alarms ? 1 : 0

  region = var.region

  alarm_name        = "${var.name}-replication-backlog"
  alarm_description = "Replication from ${var.master_table_name} is more than ${var.iterator_age_alarm_threshold_seconds} s behind."
  namespace         = "AWS/Lambda"
  metric_name       = "IteratorAge"
  dimensions        = local.stream_function_dimensions
  statistic         = "Maximum"
  period            = 60
  # Five minutes in a row: one slow batch is not a backlog.
  evaluation_periods  = 5
  threshold           = var.iterator_age_alarm_threshold_seconds * 1000
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.ok_actions
  tags                = var.tags
}

# A mapping that stops reading (disabled, a stream re-enabled under a new ARN,
# KMS denying GetRecords) invokes nothing, so every invocation metric goes
# quiet and looks like a quiet table. This one compares the master's writes
# (ConsumedWriteCapacityUnits, reported for on-demand tables too) with what
# the mapping polled (PolledEventCount, from metrics_config EventCount): a
# period with writes and nothing polled counts. No write data means the master
# took no writes, which is not breaching; a missing poll count is read as 0.
resource "aws_cloudwatch_metric_alarm" "polling_stalled" {
  count = var.create_alarms && var.enabled ? 1 : 0

  region = var.region

  alarm_name          = "${var.name}-polling-stalled"
  alarm_description   = "${var.master_table_name} took writes for 15 minutes while the event source mapping polled no record from its stream: replication has stopped."
  evaluation_periods  = 3
  datapoints_to_alarm = 3
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.ok_actions
  tags                = var.tags

  metric_query {
    id          = "stalled"
    label       = "Periods with master writes and nothing polled"
    expression  = "IF(writes > 0 AND FILL(polled, 0) == 0, 1, 0)"
    return_data = true
  }

  metric_query {
    id = "writes"
    metric {
      namespace   = "AWS/DynamoDB"
      metric_name = "ConsumedWriteCapacityUnits"
      dimensions  = { TableName = var.master_table_name }
      stat        = "Sum"
      period      = 300
    }
  }

  metric_query {
    id = "polled"
    metric {
      namespace   = "AWS/Lambda"
      metric_name = "PolledEventCount"
      dimensions  = { EventSourceMappingUUID = aws_lambda_event_source_mapping.this.uuid }
      stat        = "Sum"
      period      = 300
    }
  }
}

# The function throws only on what it cannot attribute to a record (a bad
# configuration, a denied role): every such error stops the whole batch.
# Errors is reported (0 or more) by every invocation: no data, no invocation.
resource "aws_cloudwatch_metric_alarm" "errors" {
  count = var.create_alarms ? 1 : 0

  region = var.region

  alarm_name          = "${var.name}-function-errors"
  alarm_description   = "The replicator of ${var.master_table_name} failed whole invocations."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = local.stream_function_dimensions
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.ok_actions
  tags                = var.tags
}

# Throttled invocations: the shard waits and the backlog grows (reserved
# concurrency too low, or the account's concurrency exhausted).
resource "aws_cloudwatch_metric_alarm" "throttles" {
  count = var.create_alarms ? 1 : 0

  region = var.region

  alarm_name          = "${var.name}-function-throttles"
  alarm_description   = "Invocations of the replicator of ${var.master_table_name} were throttled: the stream waits."
  namespace           = "AWS/Lambda"
  metric_name         = "Throttles"
  dimensions          = local.stream_function_dimensions
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.ok_actions
  tags                = var.tags
}

# An invocation that nears its timeout is one whose state-table writes (the
# part after the slaves' budget) are slow: the next step is a timeout and a
# re-delivered batch.
resource "aws_cloudwatch_metric_alarm" "duration" {
  count = var.create_alarms ? 1 : 0

  region = var.region

  alarm_name          = "${var.name}-duration-near-timeout"
  alarm_description   = "An invocation of the replicator of ${var.master_table_name} ran longer than ${var.duration_alarm_threshold_percent}% of its ${var.timeout} s timeout."
  namespace           = "AWS/Lambda"
  metric_name         = "Duration"
  dimensions          = local.stream_function_dimensions
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = var.timeout * 1000 * var.duration_alarm_threshold_percent / 100
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.ok_actions
  tags                = var.tags
}

# Changes of one slave that were neither written nor parked (the state table
# could not be written): they are re-delivered. One alarm per slave. Reported
# by every invocation: no data, no invocation.
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
  ok_actions          = local.ok_actions
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
  ok_actions          = local.ok_actions
  tags                = var.tags
}

# Stream records that can never be applied (not decodable): their content is
# in the state table, for `npx dynamo-replicator redrive`. Reported only when
# there are some: no data, none.
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
  ok_actions          = local.ok_actions
  tags                = var.tags
}

# The stream function rejected its configuration and disabled its own mapping:
# nothing is read until the configuration is fixed and the mapping re-enabled.
# Reported only when it happens; the stopped polling that follows is the
# polling-stalled alarm's.
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
  ok_actions          = local.ok_actions
  tags                = var.tags
}

# The mapping gave up on a batch and wrote its invocation record to the
# failure bucket. Event source mapping metrics carry the mapping's UUID as
# their dimension. A sum of new deliveries, not a level: each incident raises
# it, and a period without one brings it back to OK, so the next notifies too.
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
  ok_actions          = local.ok_actions
  tags                = var.tags
}

# The mapping gave up on a batch and could not write its invocation record to
# the failure bucket either: those changes are in neither the slaves nor the
# bucket, and only `verify --repair` finds them.
resource "aws_cloudwatch_metric_alarm" "destination_delivery_failures" {
  count = var.create_alarms ? 1 : 0

  region = var.region

  alarm_name          = "${var.name}-destination-delivery-failures"
  alarm_description   = "The mapping of ${var.master_table_name} gave up on a batch and could not write it to ${local.failure_bucket_name}: run npx dynamo-replicator verify --repair."
  namespace           = "AWS/Lambda"
  metric_name         = "DestinationDeliveryFailures"
  dimensions          = local.stream_function_dimensions
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.ok_actions
  tags                = var.tags
}
