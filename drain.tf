# The drain applies the changes parked for a slave that did not take its
# writes within its budget, and reports, every run, how many are left and how
# old the oldest is. It is the same bundle as the stream function, with another
# entry point, run on a schedule.

resource "aws_cloudwatch_log_group" "drain" {
  # checkov:skip=CKV_AWS_338:The logs are operational (per-run counts and errors, not an audit trail); retention is the log_retention_in_days input, 30 days by default.
  region = var.region

  name              = "/aws/lambda/${local.function_names.drain}"
  retention_in_days = var.log_retention_in_days
  kms_key_id        = var.log_kms_key_arn
  tags              = var.tags
}

resource "aws_lambda_function" "drain" {
  # checkov:skip=CKV_AWS_50:X-Ray tracing would need xray:PutTraceSegments on "*"; the drain's progress is in its ParkedPending and OldestParkedAgeSeconds metrics.
  # checkov:skip=CKV_AWS_116:A failed run is superseded by the next scheduled one, which reads the same parked changes from the state table; the OldestParkedAgeSeconds alarm fires when runs keep failing.
  # checkov:skip=CKV_AWS_117:The function calls only public AWS endpoints (DynamoDB, STS, CloudWatch Logs); running it in a VPC would need NAT or endpoints for no gain.
  # checkov:skip=CKV_AWS_173:The environment holds table names, regions, role ARNs and external IDs, none of them secret; Lambda encrypts it at rest with its own key.
  # checkov:skip=CKV_AWS_272:Code signing needs a signing profile the caller owns; the module deploys its own bundled, content-hashed code.
  # checkov:skip=CKV_AWS_115:One scheduled run at a time is the expected load; reserved concurrency would take from the account's unreserved pool, which new accounts cannot spare.
  region = var.region

  function_name    = local.function_names.drain
  description      = "Applies the changes parked for the slaves of ${var.master_table_name} (${local.region})."
  role             = local.function_role_arns.drain
  filename         = local.lambda_package
  source_code_hash = local.lambda_package_hash
  handler          = "index.drain"
  runtime          = var.runtime
  architectures    = [var.architecture]
  memory_size      = var.memory_size
  timeout          = var.drain_timeout

  environment {
    variables = local.function_environment
  }

  tags = var.tags

  # The log group must exist first, or Lambda creates one with no retention;
  # a new slave's table and write grant before the drain names the slave.
  depends_on = [aws_cloudwatch_log_group.drain, aws_iam_role_policy.drain, aws_iam_role_policy.drain_slave, module.replica_table]
}

resource "aws_cloudwatch_event_rule" "drain" {
  region = var.region

  name                = local.function_names.drain
  description         = "Runs the drain of ${var.name}."
  schedule_expression = var.drain_schedule_expression
  tags                = var.tags
}

resource "aws_cloudwatch_event_target" "drain" {
  region = var.region

  rule      = aws_cloudwatch_event_rule.drain.name
  target_id = "drain"
  arn       = aws_lambda_function.drain.arn
}

# EventBridge may invoke the drain for this rule only.
resource "aws_lambda_permission" "drain" {
  region = var.region

  statement_id  = "AllowDrainSchedule"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.drain.function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.drain.arn
}
