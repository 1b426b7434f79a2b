# One role per function, each with exactly the calls its entry point makes.
# Every resource is an ARN built from names, so the whole policy is known, and
# reviewable, at plan time. The two wildcards are actions that have no
# resource-level permissions (see docs/module.md).

locals {
  lambda_trust = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "lambda.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })

  # With a customer managed key on the state table, DynamoDB uses it on the
  # caller's behalf: each role may use it through DynamoDB only.
  state_table_kms_statements = var.state_table_kms_key_arn == null ? [] : [
    {
      Sid       = "UseStateTableKey"
      Effect    = "Allow"
      Action    = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]
      Resource  = var.state_table_kms_key_arn
      Condition = { StringEquals = { "kms:ViaService" = "dynamodb.${local.region}.amazonaws.com" } }
    },
  ]

  # Each slave in one statement: the functions write it with BatchWriteItem
  # only (they never call PutItem or DeleteItem), or assume the role that may
  # write it.
  slave_statements = {
    for key, slave in var.slaves : key => slave.role_arn == null ? {
      Sid      = "WriteSlaveTable"
      Effect   = "Allow"
      Action   = "dynamodb:BatchWriteItem"
      Resource = local.slave_table_arns[key]
      } : {
      Sid      = "AssumeSlaveWriterRole"
      Effect   = "Allow"
      Action   = "sts:AssumeRole"
      Resource = slave.role_arn
    }
  }
}

# ---- Stream function ------------------------------------------------------------

resource "aws_iam_role" "lambda" {
  name               = local.role_names.stream
  assume_role_policy = local.lambda_trust
  tags               = var.tags
}

# What the stream function needs whatever the slaves: read the master's stream
# (through the mapping), read the master when the stream lacks new images, park
# changes in the state table, disable its own mapping on a configuration it
# rejects, write failed batches to the bucket (through the mapping) and write
# its own logs.
resource "aws_iam_role_policy" "lambda" {
  name = "${var.name}-stream"
  role = aws_iam_role.lambda.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat(
      [
        {
          Sid      = "ReadMasterStream"
          Effect   = "Allow"
          Action   = ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"]
          Resource = data.aws_dynamodb_table.master.stream_arn
        },
        {
          # ListStreams has no resource-level permissions: IAM matches it only
          # against "*". It returns stream ARNs, never items.
          Sid      = "ListStreams"
          Effect   = "Allow"
          Action   = "dynamodb:ListStreams"
          Resource = "*"
        },
        {
          Sid      = "ParkInStateTable"
          Effect   = "Allow"
          Action   = ["dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:UpdateItem"]
          Resource = local.state_table_arn
        },
        {
          # ListEventSourceMappings has no resource-level permissions either;
          # it returns mapping settings, never records.
          Sid      = "FindOwnMapping"
          Effect   = "Allow"
          Action   = "lambda:ListEventSourceMappings"
          Resource = "*"
        },
        {
          # A mapping's ARN holds only its UUID, unknown until it exists: the
          # condition narrows the grant to mappings that invoke this function.
          Sid       = "DisableOwnMapping"
          Effect    = "Allow"
          Action    = "lambda:UpdateEventSourceMapping"
          Resource  = "arn:${local.partition}:lambda:${local.region}:${local.account_id}:event-source-mapping:*"
          Condition = { ArnLike = { "lambda:FunctionArn" = local.stream_function_arn } }
        },
        {
          Sid      = "WriteFailedBatches"
          Effect   = "Allow"
          Action   = "s3:PutObject"
          Resource = "${local.failure_bucket_arn}/*"
        },
        {
          Sid      = "ListFailureBucket"
          Effect   = "Allow"
          Action   = "s3:ListBucket"
          Resource = local.failure_bucket_arn
        },
        {
          Sid      = "WriteOwnLogs"
          Effect   = "Allow"
          Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
          Resource = "${local.log_group_arns.stream}:*"
        },
        {
          # Items without a new image are read back: every record of a
          # KEYS_ONLY or OLD_IMAGE stream, and a record whose image cannot be
          # decoded, whatever the view type.
          Sid      = "ReadMasterItems"
          Effect   = "Allow"
          Action   = "dynamodb:BatchGetItem"
          Resource = data.aws_dynamodb_table.master.arn
        },
      ],
      var.failure_bucket_kms_key_arn == null ? [] : [
        {
          Sid       = "EncryptFailedBatches"
          Effect    = "Allow"
          Action    = ["kms:Decrypt", "kms:GenerateDataKey"]
          Resource  = var.failure_bucket_kms_key_arn
          Condition = { StringEquals = { "kms:ViaService" = "s3.${local.region}.amazonaws.com" } }
        },
      ],
      local.state_table_kms_statements,
    )
  })
}

resource "aws_iam_role_policy" "slave" {
  for_each = var.slaves

  name   = "${var.name}-slave-${each.key}"
  role   = aws_iam_role.lambda.id
  policy = jsonencode({ Version = "2012-10-17", Statement = [local.slave_statements[each.key]] })
}

# ---- Drain ----------------------------------------------------------------------

resource "aws_iam_role" "drain" {
  name               = local.role_names.drain
  assume_role_policy = local.lambda_trust
  tags               = var.tags
}

# The drain reads and clears parked changes, and reads the master's current
# item for a change parked as its key only (too large for the state table).
resource "aws_iam_role_policy" "drain" {
  name = "${var.name}-drain"
  role = aws_iam_role.drain.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat(
      [
        {
          Sid      = "DrainStateTable"
          Effect   = "Allow"
          Action   = ["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:Query", "dynamodb:UpdateItem"]
          Resource = local.state_table_arn
        },
        {
          Sid      = "ReadMasterItems"
          Effect   = "Allow"
          Action   = "dynamodb:BatchGetItem"
          Resource = data.aws_dynamodb_table.master.arn
        },
        {
          Sid      = "WriteOwnLogs"
          Effect   = "Allow"
          Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
          Resource = "${local.log_group_arns.drain}:*"
        },
      ],
      local.state_table_kms_statements,
    )
  })
}

resource "aws_iam_role_policy" "drain_slave" {
  for_each = var.slaves

  name   = "${var.name}-drain-slave-${each.key}"
  role   = aws_iam_role.drain.id
  policy = jsonencode({ Version = "2012-10-17", Statement = [local.slave_statements[each.key]] })
}

# ---- Initial copy (only with initial_copy_state_machine.enabled) -------------------

resource "aws_iam_role" "copy" {
  count = local.copy_enabled ? 1 : 0

  name               = local.role_names.copy
  assume_role_policy = local.lambda_trust
  tags               = var.tags
}

# A segment scans the master, checkpoints in the state table and, when every
# segment is done, marks the slave copied.
resource "aws_iam_role_policy" "copy" {
  count = local.copy_enabled ? 1 : 0

  name = "${var.name}-copy"
  role = aws_iam_role.copy[0].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat(
      [
        {
          Sid      = "ScanMaster"
          Effect   = "Allow"
          Action   = ["dynamodb:DescribeTable", "dynamodb:Scan"]
          Resource = data.aws_dynamodb_table.master.arn
        },
        {
          Sid      = "CheckpointInStateTable"
          Effect   = "Allow"
          Action   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"]
          Resource = local.state_table_arn
        },
        {
          Sid      = "WriteOwnLogs"
          Effect   = "Allow"
          Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
          Resource = "${local.log_group_arns.copy}:*"
        },
      ],
      local.state_table_kms_statements,
    )
  })
}

resource "aws_iam_role_policy" "copy_slave" {
  for_each = local.copy_enabled ? var.slaves : {}

  name   = "${var.name}-copy-slave-${each.key}"
  role   = aws_iam_role.copy[0].id
  policy = jsonencode({ Version = "2012-10-17", Statement = [local.slave_statements[each.key]] })
}

resource "aws_iam_role" "state_machine" {
  count = local.copy_enabled ? 1 : 0

  name = local.role_names.state_machine
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "states.amazonaws.com" }
      Action    = "sts:AssumeRole"
      Condition = { StringEquals = { "aws:SourceAccount" = local.account_id } }
    }]
  })
  tags = var.tags
}

# The Distributed Map runs each segment as a child execution of this state
# machine: it starts them, and describes and stops them
# (execution:<name>/<map run>:<id>); each child invokes the copy function.
resource "aws_iam_role_policy" "state_machine" {
  count = local.copy_enabled ? 1 : 0

  name = "${var.name}-initial-copy"
  role = aws_iam_role.state_machine[0].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "InvokeCopySegment"
        Effect   = "Allow"
        Action   = "lambda:InvokeFunction"
        Resource = [local.copy_function_arn, "${local.copy_function_arn}:*"]
      },
      {
        Sid      = "StartSegmentExecutions"
        Effect   = "Allow"
        Action   = "states:StartExecution"
        Resource = local.state_machine_arn
      },
      {
        Sid      = "ManageSegmentExecutions"
        Effect   = "Allow"
        Action   = ["states:DescribeExecution", "states:StopExecution"]
        Resource = "arn:${local.partition}:states:${local.region}:${local.account_id}:execution:${local.state_machine_name}/*"
      },
    ]
  })
}
