data "aws_dynamodb_table" "master" {
  region = var.region
  name   = var.master_table_name
}

# The zip is rebuilt at every plan into .terraform of the calling root, outside
# the module's tree, under a name unique to this instance so that two instances
# never race on one file.
data "archive_file" "lambda" {
  type        = "zip"
  source_file = local.bundle_path
  output_path = "${path.root}/.terraform/dynamo-replicator/${local.region}-${var.name}.zip"
}

resource "aws_cloudwatch_log_group" "lambda" {
  # checkov:skip=CKV_AWS_338:The logs are operational (per-batch errors, not an audit trail); retention is the log_retention_in_days input, 30 days by default.
  # checkov:skip=CKV_AWS_158:A customer managed key is the caller's choice (log_kms_key_arn); by default CloudWatch Logs encrypts with its own key.
  region = var.region

  name              = "/aws/lambda/${var.name}"
  retention_in_days = var.log_retention_in_days
  kms_key_id        = var.log_kms_key_arn
  tags              = var.tags
}

resource "aws_lambda_function" "this" {
  # checkov:skip=CKV_AWS_50:X-Ray tracing would need xray:PutTraceSegments on "*"; latency per slave is in the ReplicationLatency metric.
  # checkov:skip=CKV_AWS_116:A DLQ serves asynchronous invocations only; the stream mapping invokes synchronously and sends failures to its on-failure queue.
  # checkov:skip=CKV_AWS_117:The function calls only public AWS endpoints (DynamoDB, STS, CloudWatch Logs); running it in a VPC would need NAT or endpoints for no gain.
  # checkov:skip=CKV_AWS_173:The environment holds table names, regions, role ARNs and external IDs, none of them secret; Lambda encrypts it at rest with its own key.
  # checkov:skip=CKV_AWS_272:Code signing needs a signing profile the caller owns; the module deploys its own bundled, content-hashed code.
  # checkov:skip=CKV_AWS_115:Concurrency is bounded by shards x parallelization_factor; reserved_concurrent_executions is an input for callers who want a reservation.
  region = var.region

  function_name    = var.name
  description      = "Replicates ${var.master_table_name} (${local.region}) to ${length(var.slaves)} slave table(s)."
  role             = aws_iam_role.lambda.arn
  filename         = data.archive_file.lambda.output_path
  source_code_hash = filebase64sha256(local.bundle_path)
  handler          = "index.handler"
  runtime          = var.runtime
  architectures    = [var.architecture]
  memory_size      = var.memory_size
  timeout          = var.timeout

  reserved_concurrent_executions = var.reserved_concurrent_executions

  environment {
    variables = {
      REPLICATOR_SLAVES = jsonencode({
        for key, slave in var.slaves : key => {
          region      = slave.region
          table_name  = slave.table_name
          role_arn    = slave.role_arn
          external_id = slave.external_id
          endpoint    = slave.endpoint
        }
      })
      REPLICATOR_SKIP_TTL_DELETES  = tostring(var.skip_ttl_deletes)
      REPLICATOR_WRITE_CONCURRENCY = tostring(var.write_concurrency)
      REPLICATOR_METRICS_NAMESPACE = var.metrics_namespace
    }
  }

  tags = var.tags

  lifecycle {
    precondition {
      condition     = length(local.slaves_equal_to_master) == 0
      error_message = "Slave(s) ${join(", ", local.slaves_equal_to_master)} name the master table itself (${var.master_table_name} in ${local.region}): point each slave at another table, region or account."
    }
  }

  # The log group must exist first, or Lambda creates one with no retention.
  depends_on = [aws_cloudwatch_log_group.lambda]
}

resource "aws_sqs_queue" "failures" {
  region = var.region

  name                      = "${var.name}-failures"
  message_retention_seconds = var.failure_queue_message_retention_seconds
  sqs_managed_sse_enabled   = var.failure_queue_kms_key_id == null ? true : null
  kms_master_key_id         = var.failure_queue_kms_key_id
  tags                      = var.tags
}

module "replica_table" {
  source   = "./modules/replica-table"
  for_each = local.created_slaves

  region       = each.value.region
  name         = each.value.table_name
  hash_key     = data.aws_dynamodb_table.master.hash_key
  range_key    = data.aws_dynamodb_table.master.range_key
  attributes   = data.aws_dynamodb_table.master.attribute
  billing_mode = data.aws_dynamodb_table.master.billing_mode

  read_capacity  = data.aws_dynamodb_table.master.read_capacity
  write_capacity = data.aws_dynamodb_table.master.write_capacity

  point_in_time_recovery_enabled = var.slave_point_in_time_recovery
  deletion_protection_enabled    = var.slave_deletion_protection
  kms_key_arn                    = each.value.kms_key_arn
  tags                           = var.tags
}

resource "aws_lambda_event_source_mapping" "this" {
  region = var.region

  function_name     = aws_lambda_function.this.arn
  event_source_arn  = data.aws_dynamodb_table.master.stream_arn
  enabled           = var.enabled
  starting_position = var.starting_position

  function_response_types            = ["ReportBatchItemFailures"]
  bisect_batch_on_function_error     = var.bisect_batch_on_function_error
  batch_size                         = var.batch_size
  maximum_batching_window_in_seconds = var.maximum_batching_window_in_seconds
  parallelization_factor             = var.parallelization_factor
  maximum_retry_attempts             = var.maximum_retry_attempts
  maximum_record_age_in_seconds      = var.maximum_record_age_in_seconds

  destination_config {
    on_failure {
      destination_arn = aws_sqs_queue.failures.arn
    }
  }

  tags = var.tags

  lifecycle {
    precondition {
      condition     = data.aws_dynamodb_table.master.stream_enabled && data.aws_dynamodb_table.master.stream_arn != ""
      error_message = "Table ${var.master_table_name} in ${local.region} has no stream. Enable one with NEW_AND_OLD_IMAGES (or NEW_IMAGE): stream_enabled = true and stream_view_type = \"NEW_AND_OLD_IMAGES\" on its aws_dynamodb_table, or aws dynamodb update-table --table-name ${var.master_table_name} --region ${local.region} --stream-specification StreamEnabled=true,StreamViewType=NEW_AND_OLD_IMAGES."
    }
  }

  # Records must not be read before the function may write every slave and
  # every created slave table exists.
  depends_on = [
    aws_iam_role_policy.lambda,
    aws_iam_role_policy.slave,
    module.replica_table,
  ]
}
