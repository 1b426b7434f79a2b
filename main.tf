data "aws_dynamodb_table" "master" {
  region = var.region
  name   = var.master_table_name
}

# The zip is rebuilt at every plan into .terraform of the calling root, outside
# the module's tree, under a name unique to this instance so that two instances
# never race on one file. A plan saved for another machine needs
# create_package = false (see local.lambda_package).
data "archive_file" "lambda" {
  count = var.create_package ? 1 : 0

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
  # checkov:skip=CKV_AWS_116:A DLQ serves asynchronous invocations only; the stream mapping invokes synchronously and sends the records of failed batches to its on-failure bucket.
  # checkov:skip=CKV_AWS_117:The function calls only public AWS endpoints (DynamoDB, STS, Lambda, S3, CloudWatch Logs); running it in a VPC would need NAT or endpoints for no gain.
  # checkov:skip=CKV_AWS_173:The environment holds table names, regions, role ARNs and external IDs, none of them secret; Lambda encrypts it at rest with its own key.
  # checkov:skip=CKV_AWS_272:Code signing needs a signing profile the caller owns; the module deploys its own bundled, content-hashed code.
  # checkov:skip=CKV_AWS_115:Concurrency is bounded by shards x parallelization_factor; reserved_concurrent_executions is an input for callers who want a reservation.
  region = var.region

  function_name    = var.name
  description      = "Replicates ${var.master_table_name} (${local.region}) to ${length(var.slaves)} slave table(s)."
  role             = local.function_role_arns.stream
  filename         = local.lambda_package
  source_code_hash = local.lambda_package_hash
  publish          = true
  handler          = "index.handler"
  runtime          = var.runtime
  architectures    = [var.architecture]
  memory_size      = var.memory_size
  timeout          = var.timeout

  reserved_concurrent_executions = var.reserved_concurrent_executions

  environment {
    variables = local.function_environment
  }

  tags = var.tags

  lifecycle {
    precondition {
      condition     = var.slave_write_budget_seconds < var.timeout
      error_message = "slave_write_budget_seconds (${var.slave_write_budget_seconds}) must be less than timeout (${var.timeout}): the budget is the part of one invocation a slave gets before its writes are parked. Lower slave_write_budget_seconds or raise timeout."
    }
    precondition {
      condition     = length(local.slaves_equal_to_master) == 0
      error_message = "slaves.${join(", slaves.", local.slaves_equal_to_master)}: is the master table itself (${var.master_table_name} in ${local.region}): replicating a table into itself would loop forever; point the slave at another table, region or account."
    }
    precondition {
      condition     = local.environment_bytes <= local.environment_limit_bytes
      error_message = "The functions' environment would be ${local.environment_bytes} bytes, over Lambda's limit of ${local.environment_limit_bytes}: REPLICATOR_SLAVES takes ${local.environment_bytes - local.environment_fixed_bytes} bytes for ${length(var.slaves)} slaves (the largest ${local.environment_largest_slave_bytes}), the other variables ${local.environment_fixed_bytes}, so at most ${local.environment_slaves_that_fit} slaves of that size fit. Split the slaves over several module calls with different names, or shorten their keys, table names and external IDs."
    }
    precondition {
      condition     = !var.create_package || var.local_existing_package == null
      error_message = "local_existing_package (${coalesce(var.local_existing_package, "-")}) is deployed only with create_package = false: set create_package = false to deploy it, or remove it to zip the bundled handler at plan time."
    }
    precondition {
      condition     = var.create_role || var.lambda_role != null
      error_message = "create_role = false needs lambda_role: the ARN of the existing role the functions run with (it must grant what output policy_documents lists), e.g. lambda_role = \"arn:aws:iam::111122223333:role/orders-replicator\"; or set create_role = true."
    }
    precondition {
      condition     = !var.create_role || var.lambda_role == null
      error_message = "lambda_role is used only with create_role = false: remove lambda_role, or set create_role = false to run the functions with it."
    }
    precondition {
      condition     = !var.attach_policy_json || var.policy_json != null
      error_message = "attach_policy_json = true needs policy_json: an IAM policy document in JSON (e.g. data.aws_iam_policy_document.extra.json); or set attach_policy_json = false."
    }
    precondition {
      condition     = !var.attach_policy_statements || length(var.policy_statements) > 0
      error_message = "attach_policy_statements = true needs at least one entry in policy_statements, e.g. { ReadArchive = { actions = [\"s3:GetObject\"], resources = [\"arn:aws:s3:::archive/*\"] } }; or set attach_policy_statements = false."
    }
  }

  # The log group must exist first, or Lambda creates one with no retention.
  # A new slave's table and its write grant must exist before the function
  # names the slave, or its first writes are AccessDenied or
  # ResourceNotFound (and parked) until they do.
  depends_on = [
    aws_cloudwatch_log_group.lambda,
    aws_iam_role_policy.lambda,
    aws_iam_role_policy.slave,
    module.replica_table,
  ]
}

# The mapping invokes this alias, which names the version the last apply
# published: `aws lambda update-alias --function-name <name> --name live
# --function-version <previous>` rolls a bad deploy back at once (the next
# apply points it at the newest version again).
resource "aws_lambda_alias" "live" {
  region = var.region

  name             = local.function_alias_name
  description      = "The version of ${var.name} the event source mapping invokes."
  function_name    = aws_lambda_function.this.function_name
  function_version = aws_lambda_function.this.version
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
  autoscaling    = var.slave_autoscaling

  # A slave that serves reads answers the master's queries: the same indexes
  # and table class.
  global_secondary_indexes = [
    for gsi in data.aws_dynamodb_table.master.global_secondary_index : {
      name               = gsi.name
      hash_key           = gsi.hash_key
      range_key          = gsi.range_key == "" ? null : gsi.range_key
      projection_type    = gsi.projection_type
      non_key_attributes = coalesce(gsi.non_key_attributes, [])
      read_capacity      = gsi.read_capacity
      write_capacity     = gsi.write_capacity
    }
  ]
  local_secondary_indexes = [
    for lsi in data.aws_dynamodb_table.master.local_secondary_index : {
      name               = lsi.name
      range_key          = lsi.range_key
      projection_type    = lsi.projection_type
      non_key_attributes = coalesce(lsi.non_key_attributes, [])
    }
  ]
  table_class = coalesce(data.aws_dynamodb_table.master.table_class, "STANDARD")
  # The slave expires items as the master does, unless it is an archive that
  # keeps what the master's TTL deletes.
  ttl_attribute_name = var.skip_ttl_deletes ? null : one([for t in data.aws_dynamodb_table.master.ttl : t.attribute_name if t.enabled])

  # The replay after an outage or a copy writes faster than the master was
  # written: the slave starts as warm as the master, or as asked.
  warm_throughput = var.slave_warm_throughput != null ? var.slave_warm_throughput : try(one([
    for w in data.aws_dynamodb_table.master.warm_throughput : w if w.read_units_per_second > 0 && w.write_units_per_second > 0
  ]), null)
  on_demand_throughput = var.slave_on_demand_throughput

  point_in_time_recovery_enabled = var.slave_point_in_time_recovery
  deletion_protection_enabled    = var.slave_deletion_protection
  kms_key_arn                    = each.value.kms_key_arn
  tags                           = var.tags
}

resource "aws_lambda_event_source_mapping" "this" {
  region = var.region

  function_name     = aws_lambda_alias.live.arn
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

  # S3 receives the whole invocation record, the batch's records included,
  # so a batch given up on can be replayed after the stream has trimmed it.
  destination_config {
    on_failure {
      destination_arn = aws_s3_bucket.failures.arn
    }
  }

  # PolledEventCount, FailedInvokeEventCount, OnFailureDestinationDeliveredEventCount
  # and the other event counts: a mapping that has stopped reading is told
  # apart from a quiet table.
  metrics_config {
    metrics = ["EventCount"]
  }

  tags = var.tags

  lifecycle {
    precondition {
      condition     = data.aws_dynamodb_table.master.stream_enabled && data.aws_dynamodb_table.master.stream_arn != ""
      error_message = "Table ${var.master_table_name} in ${local.region} has no stream. Enable one with NEW_AND_OLD_IMAGES (or NEW_IMAGE): stream_enabled = true and stream_view_type = \"NEW_AND_OLD_IMAGES\" on its aws_dynamodb_table, or aws dynamodb update-table --table-name ${var.master_table_name} --region ${local.region} --stream-specification StreamEnabled=true,StreamViewType=NEW_AND_OLD_IMAGES."
    }
  }

  # Records must not be read before the function may write every slave and
  # the state table, every created slave table exists, and the bucket takes
  # the invocation records of failed batches.
  depends_on = [
    aws_iam_role_policy.lambda,
    aws_iam_role_policy.slave,
    aws_dynamodb_table.state,
    aws_s3_bucket_policy.failures,
    module.replica_table,
  ]
}
