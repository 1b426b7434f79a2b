locals {
  # Dashboards are global to the account, like IAM roles, and `name` is
  # unique per region only: the region ends the name.
  dashboard_name = "${var.name}-${local.region}"

  # Metric math ids must start with a lower-case letter and hold only letters,
  # digits and underscores; slave keys may hold hyphens, so slaves are
  # numbered in key order.
  dashboard_slaves = { for i, key in sort(keys(var.slaves)) : key => "s${i}" }

  # One widget per concern; every per-slave widget has one line per slave
  # (concat(...) rather than flatten, which would flatten the metric rows too).
  dashboard_widgets = [
    {
      title = "Replication lag per slave (ms, maximum)"
      stat  = "Maximum"
      metrics = [
        for key in keys(local.dashboard_slaves) : [var.metrics_namespace, "ReplicationLatency", "Replicator", var.name, "Slave", key, { label = key }]
      ]
    },
    {
      title = "Records replicated per second, per slave"
      stat  = "Sum"
      metrics = concat([
        for key, id in local.dashboard_slaves : [
          [var.metrics_namespace, "RecordsReplicated", "Replicator", var.name, "Slave", key, { id = "${id}_written", visible = false }],
          [{ expression = "${id}_written / PERIOD(${id}_written)", label = key, id = "${id}_rate" }],
        ]
      ]...)
    },
    {
      title = "Write retries per slave"
      stat  = "Sum"
      metrics = [
        for key in keys(local.dashboard_slaves) : [var.metrics_namespace, "WriteRetries", "Replicator", var.name, "Slave", key, { label = key }]
      ]
    },
    {
      title = "Failed and parked records per slave"
      stat  = "Sum"
      metrics = concat([
        for key in keys(local.dashboard_slaves) : [
          [var.metrics_namespace, "FailedRecords", "Replicator", var.name, "Slave", key, { label = "${key} failed" }],
          [var.metrics_namespace, "ParkedRecords", "Replicator", var.name, "Slave", key, { label = "${key} parked" }],
          [var.metrics_namespace, "DrainedRecords", "Replicator", var.name, "Slave", key, { label = "${key} drained" }],
        ]
      ]...)
    },
    {
      title = "Parked changes pending, and the oldest one's age (s), per slave"
      stat  = "Maximum"
      metrics = concat([
        for key in keys(local.dashboard_slaves) : [
          [var.metrics_namespace, "ParkedPending", "Replicator", var.name, "Slave", key, { label = "${key} pending" }],
          [var.metrics_namespace, "OldestParkedAgeSeconds", "Replicator", var.name, "Slave", key, { label = "${key} oldest (s)", yAxis = "right" }],
        ]
      ]...)
    },
    {
      title = "Stream backlog: IteratorAge (ms, maximum)"
      stat  = "Maximum"
      metrics = [
        ["AWS/Lambda", "IteratorAge", "FunctionName", aws_lambda_function.this.function_name, { label = "IteratorAge" }],
      ]
    },
    {
      title = "Master writes and records polled"
      stat  = "Sum"
      metrics = [
        ["AWS/DynamoDB", "ConsumedWriteCapacityUnits", "TableName", var.master_table_name, { label = "master write units" }],
        ["AWS/Lambda", "PolledEventCount", "EventSourceMappingUUID", aws_lambda_event_source_mapping.this.uuid, { label = "polled" }],
        ["AWS/Lambda", "OnFailureDestinationDeliveredEventCount", "EventSourceMappingUUID", aws_lambda_event_source_mapping.this.uuid, { label = "given up (to the failure bucket)" }],
      ]
    },
    {
      title = "Errors"
      stat  = "Sum"
      metrics = [
        ["AWS/Lambda", "Errors", "FunctionName", aws_lambda_function.this.function_name, { label = "stream function errors" }],
        ["AWS/Lambda", "Throttles", "FunctionName", aws_lambda_function.this.function_name, { label = "stream function throttles" }],
        ["AWS/Lambda", "Errors", "FunctionName", aws_lambda_function.drain.function_name, { label = "drain errors" }],
        ["AWS/Lambda", "DestinationDeliveryFailures", "FunctionName", aws_lambda_function.this.function_name, { label = "failure bucket delivery failures" }],
        [var.metrics_namespace, "RejectedRecords", "Replicator", var.name, { label = "rejected records" }],
        [var.metrics_namespace, "ConfigurationErrors", "Replicator", var.name, { label = "configuration errors" }],
      ]
    },
  ]
}

resource "aws_cloudwatch_dashboard" "this" {
  count = var.create_dashboard ? 1 : 0

  region = var.region

  dashboard_name = local.dashboard_name
  dashboard_body = jsonencode({
    widgets = [
      for i, w in local.dashboard_widgets : {
        type   = "metric"
        x      = (i % 2) * 12
        y      = floor(i / 2) * 6
        width  = 12
        height = 6
        properties = {
          title   = w.title
          region  = local.region
          view    = "timeSeries"
          stacked = false
          period  = 60
          stat    = w.stat
          metrics = w.metrics
        }
      }
    ]
  })
}
