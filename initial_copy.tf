# The optional initial copy: a Distributed Map over the parallel-scan segments
# of the master, one child execution per segment, each calling copySegment
# until the segment reports done. Started once per new slave:
#   aws stepfunctions start-execution --state-machine-arn <arn> --input '{"slave":"<key>"}'

locals {
  # The payload of every copySegment call of one segment: the same input each
  # time, so a segment that ran out of time resumes from its checkpoint.
  copy_segment_input = merge(
    {
      "slave.$"     = "$.slave"
      "segment.$"   = "$$.Map.Item.Value"
      totalSegments = var.initial_copy_state_machine.total_segments
      # A stream invocation that started before the slave was parked runs at
      # most the stream function's timeout: the copy waits that long first.
      settleSeconds = var.timeout
    },
    var.initial_copy_state_machine.items_per_second == null ? {} : { itemsPerSecond = var.initial_copy_state_machine.items_per_second },
    var.initial_copy_state_machine.capacity_share == null ? {} : { capacityShare = var.initial_copy_state_machine.capacity_share },
  )

  initial_copy_definition = {
    Comment = "Initial copy of ${var.master_table_name} to one slave of ${var.name}: input {\"slave\": \"<key>\"}."
    StartAt = "Segments"
    States = {
      # States.ArrayRange builds the segment numbers 0 .. total_segments - 1.
      Segments = {
        Type = "Pass"
        Parameters = {
          "slave.$"    = "$.slave"
          "segments.$" = "States.ArrayRange(0, ${var.initial_copy_state_machine.total_segments - 1}, 1)"
        }
        Next = "CopySegments"
      }
      CopySegments = {
        Type           = "Map"
        ItemsPath      = "$.segments"
        ItemSelector   = { input = local.copy_segment_input }
        MaxConcurrency = var.initial_copy_state_machine.max_concurrency
        ItemProcessor = {
          ProcessorConfig = { Mode = "DISTRIBUTED", ExecutionType = "STANDARD" }
          StartAt         = "CopySegment"
          States = {
            CopySegment = {
              Type     = "Task"
              Resource = "arn:${local.partition}:states:::lambda:invoke"
              Parameters = {
                FunctionName = local.copy_function_arn
                "Payload.$"  = "$.input"
              }
              ResultSelector = {
                "done.$"   = "$.Payload.done"
                "items.$"  = "$.Payload.items"
                "copied.$" = "$.Payload.copied"
              }
              ResultPath = "$.result"
              Retry = [{
                ErrorEquals     = ["Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException", "Lambda.TooManyRequestsException"]
                IntervalSeconds = 2
                MaxAttempts     = 6
                BackoffRate     = 2
              }]
              Next = "SegmentDone"
            }
            SegmentDone = {
              Type    = "Choice"
              Choices = [{ Variable = "$.result.done", BooleanEquals = true, Next = "Done" }]
              Default = "CopySegment"
            }
            Done = {
              Type       = "Succeed"
              OutputPath = "$.result"
            }
          }
        }
        End = true
      }
    }
  }
}

resource "aws_cloudwatch_log_group" "copy" {
  # checkov:skip=CKV_AWS_338:The logs are operational (per-segment progress and errors, not an audit trail); retention is the log_retention_in_days input, 30 days by default.
  count = local.copy_enabled ? 1 : 0

  region = var.region

  name              = "/aws/lambda/${local.function_names.copy}"
  retention_in_days = var.log_retention_in_days
  kms_key_id        = var.log_kms_key_arn
  tags              = var.tags
}

resource "aws_lambda_function" "copy" {
  # checkov:skip=CKV_AWS_50:X-Ray tracing would need xray:PutTraceSegments on "*"; each segment's progress is in the state machine's execution history.
  # checkov:skip=CKV_AWS_116:A DLQ serves asynchronous invocations only; the state machine invokes the function synchronously and retries it.
  # checkov:skip=CKV_AWS_117:The function calls only public AWS endpoints (DynamoDB, STS, CloudWatch Logs); running it in a VPC would need NAT or endpoints for no gain.
  # checkov:skip=CKV_AWS_173:The environment holds table names, regions, role ARNs and external IDs, none of them secret; Lambda encrypts it at rest with its own key.
  # checkov:skip=CKV_AWS_272:Code signing needs a signing profile the caller owns; the module deploys its own bundled, content-hashed code.
  # checkov:skip=CKV_AWS_115:Concurrency is bounded by the state machine's max_concurrency.
  count = local.copy_enabled ? 1 : 0

  region = var.region

  function_name    = local.function_names.copy
  description      = "Copies one parallel-scan segment of ${var.master_table_name} (${local.region}) to a new slave."
  role             = local.function_role_arns.copy
  filename         = local.lambda_package
  source_code_hash = local.lambda_package_hash
  handler          = "index.copySegment"
  runtime          = var.runtime
  architectures    = [var.architecture]
  memory_size      = var.memory_size
  timeout          = var.copy_timeout

  environment {
    variables = local.function_environment
  }

  tags = var.tags

  # The log group must exist first, or Lambda creates one with no retention;
  # a new slave's table and write grant before the copy names the slave.
  depends_on = [aws_cloudwatch_log_group.copy, aws_iam_role_policy.copy, aws_iam_role_policy.copy_slave, module.replica_table]
}

resource "aws_sfn_state_machine" "initial_copy" {
  # checkov:skip=CKV_AWS_284:X-Ray tracing would need xray:PutTraceSegments on "*"; the execution history records every segment's calls.
  # checkov:skip=CKV_AWS_285:Log delivery needs logs:CreateLogDelivery and other log-delivery actions on "*"; the execution history (kept 90 days) holds each state's input and output.
  count = local.copy_enabled ? 1 : 0

  region = var.region

  name       = local.state_machine_name
  type       = "STANDARD"
  role_arn   = aws_iam_role.state_machine[0].arn
  definition = jsonencode(local.initial_copy_definition)
  tags       = var.tags

  depends_on = [aws_iam_role_policy.state_machine]
}
