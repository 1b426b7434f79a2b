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

  # With a customer managed key, DynamoDB uses the key on the caller's behalf:
  # each role may use exactly the keys of the tables it reads or writes,
  # through DynamoDB in the key's region only. Reading needs Decrypt and
  # DescribeKey; writing GenerateDataKey too.
  kms_read_actions  = ["kms:Decrypt", "kms:DescribeKey"]
  kms_write_actions = ["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey"]

  master_kms_statements = local.master_kms_key_arn == null ? [] : [
    {
      Sid       = "UseMasterTableKey"
      Effect    = "Allow"
      Action    = local.kms_read_actions
      Resource  = local.master_kms_key_arn
      Condition = { StringEquals = { "kms:ViaService" = "dynamodb.${split(":", local.master_kms_key_arn)[3]}.amazonaws.com" } }
    },
  ]

  state_table_kms_statements = var.state_table_kms_key_arn == null ? [] : [
    {
      Sid       = "UseStateTableKey"
      Effect    = "Allow"
      Action    = local.kms_write_actions
      Resource  = var.state_table_kms_key_arn
      Condition = { StringEquals = { "kms:ViaService" = "dynamodb.${split(":", var.state_table_kms_key_arn)[3]}.amazonaws.com" } }
    },
  ]

  # Each slave in one policy: the functions write it with BatchWriteItem only
  # (they never call PutItem or DeleteItem), with its key if it has one, or
  # assume the role that may write it (whose own policy grants its key: see
  # modules/slave-access-role).
  slave_policies = {
    for key, slave in var.slaves : key => slave.role_arn == null ? jsonencode({
      Version = "2012-10-17"
      Statement = concat(
        [{
          Sid      = "WriteSlaveTable"
          Effect   = "Allow"
          Action   = "dynamodb:BatchWriteItem"
          Resource = local.slave_table_arns[key]
        }],
        slave.kms_key_arn == null ? [] : [{
          Sid       = "UseSlaveTableKey"
          Effect    = "Allow"
          Action    = local.kms_write_actions
          Resource  = slave.kms_key_arn
          Condition = { StringEquals = { "kms:ViaService" = "dynamodb.${split(":", slave.kms_key_arn)[3]}.amazonaws.com" } }
        }],
      )
      }) : jsonencode({
      Version = "2012-10-17"
      Statement = [{
        Sid      = "AssumeSlaveWriterRole"
        Effect   = "Allow"
        Action   = "sts:AssumeRole"
        Resource = slave.role_arn
      }]
    })
  }

  # The roles the module creates for its functions, by function.
  created_function_roles = {
    for fn, id in {
      stream = one(aws_iam_role.lambda[*].id)
      drain  = one(aws_iam_role.drain[*].id)
      copy   = one(aws_iam_role.copy[*].id)
    } : fn => id if id != null
  }
  created_function_role_keys = toset(compact([
    var.create_role ? "stream" : "",
    var.create_role ? "drain" : "",
    var.create_role && local.copy_enabled ? "copy" : "",
  ]))

  # policy_statements, as terraform-aws-lambda takes them: the map key is the
  # Sid unless sid is set; conditions with the same test are grouped.
  extra_policy_statements = [
    for key, st in var.policy_statements : merge(
      { Sid = coalesce(st.sid, replace(key, "/[^0-9A-Za-z]/", "")), Effect = st.effect },
      { for field, value in { Action = st.actions, NotAction = st.not_actions, Resource = st.resources, NotResource = st.not_resources } : field => value if value != null },
      {
        for field, value in {
          Condition = {
            for test in distinct([for c in st.condition : c.test]) :
            test => { for c in st.condition : c.variable => c.values if c.test == test }
          }
        } : field => value if length(st.condition) > 0
      },
    )
  ]
}

# What each function needs whatever the slaves, one policy per function role.
# Known at plan time, and given as output policy_documents for a lambda_role
# (create_role = false) to be granted the same.
locals {
  function_policies = {
    # The stream function reads the master's stream (through the mapping),
    # reads the master when the stream lacks new images, parks changes in the
    # state table, disables its own mapping on a configuration it rejects,
    # writes failed batches to the bucket (through the mapping) and writes its
    # own logs.
    stream = jsonencode({
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
            Action   = ["dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:GetItem", "dynamodb:UpdateItem"]
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
            # condition narrows the grant to mappings that invoke this function
            # (the module's mapping invokes its alias).
            Sid       = "DisableOwnMapping"
            Effect    = "Allow"
            Action    = "lambda:UpdateEventSourceMapping"
            Resource  = "arn:${local.partition}:lambda:${local.region}:${local.account_id}:event-source-mapping:*"
            Condition = { ArnLike = { "lambda:FunctionArn" = [local.stream_function_arn, "${local.stream_function_arn}:${local.function_alias_name}"] } }
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
        local.master_kms_statements,
        local.state_table_kms_statements,
      )
    })
    # The drain reads parked changes, carries over one whose item a slave
    # rejects (a conditional PutItem), deletes drained buckets (BatchWriteItem),
    # and reads the master's current item for a change parked as its key only
    # (too large for the state table).
    drain = jsonencode({
      Version = "2012-10-17"
      Statement = concat(
        [
          {
            Sid      = "DrainStateTable"
            Effect   = "Allow"
            Action   = ["dynamodb:BatchWriteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"]
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
        local.master_kms_statements,
        local.state_table_kms_statements,
      )
    })
    # A segment scans the master, checkpoints in the state table and, when
    # every segment is done, marks the slave copied.
    copy = jsonencode({
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
        local.master_kms_statements,
        local.state_table_kms_statements,
      )
    })
  }
}

# ---- Stream function ------------------------------------------------------------

resource "aws_iam_role" "lambda" {
  count = var.create_role ? 1 : 0

  name                 = local.role_names.stream
  path                 = local.role_path
  permissions_boundary = var.role_permissions_boundary
  assume_role_policy   = local.lambda_trust
  tags                 = var.tags
}

resource "aws_iam_role_policy" "lambda" {
  count = var.create_role ? 1 : 0

  name   = "${var.name}-stream"
  role   = aws_iam_role.lambda[0].id
  policy = local.function_policies.stream
}

resource "aws_iam_role_policy" "slave" {
  for_each = var.create_role ? var.slaves : {}

  name   = "${var.name}-slave-${each.key}"
  role   = aws_iam_role.lambda[0].id
  policy = local.slave_policies[each.key]
}

# ---- Drain ----------------------------------------------------------------------

resource "aws_iam_role" "drain" {
  count = var.create_role ? 1 : 0

  name                 = local.role_names.drain
  path                 = local.role_path
  permissions_boundary = var.role_permissions_boundary
  assume_role_policy   = local.lambda_trust
  tags                 = var.tags
}

resource "aws_iam_role_policy" "drain" {
  count = var.create_role ? 1 : 0

  name   = "${var.name}-drain"
  role   = aws_iam_role.drain[0].id
  policy = local.function_policies.drain
}

resource "aws_iam_role_policy" "drain_slave" {
  for_each = var.create_role ? var.slaves : {}

  name   = "${var.name}-drain-slave-${each.key}"
  role   = aws_iam_role.drain[0].id
  policy = local.slave_policies[each.key]
}

# ---- Initial copy (only with initial_copy_state_machine.enabled) -------------------

resource "aws_iam_role" "copy" {
  count = var.create_role && local.copy_enabled ? 1 : 0

  name                 = local.role_names.copy
  path                 = local.role_path
  permissions_boundary = var.role_permissions_boundary
  assume_role_policy   = local.lambda_trust
  tags                 = var.tags
}

resource "aws_iam_role_policy" "copy" {
  count = var.create_role && local.copy_enabled ? 1 : 0

  name   = "${var.name}-copy"
  role   = aws_iam_role.copy[0].id
  policy = local.function_policies.copy
}

resource "aws_iam_role_policy" "copy_slave" {
  for_each = var.create_role && local.copy_enabled ? var.slaves : {}

  name   = "${var.name}-copy-slave-${each.key}"
  role   = aws_iam_role.copy[0].id
  policy = local.slave_policies[each.key]
}

# The state machine's role is created whatever create_role says: it is
# trusted by Step Functions, not Lambda, so lambda_role cannot serve it. It
# takes role_path and role_permissions_boundary as the others do.
resource "aws_iam_role" "state_machine" {
  count = local.copy_enabled ? 1 : 0

  name                 = local.role_names.state_machine
  path                 = local.role_path
  permissions_boundary = var.role_permissions_boundary
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

# ---- Extra statements, as terraform-aws-lambda takes them ----------------------

# Added to each function role the module creates (stream, drain, copy), not to
# the state machine's. They count towards IAM's 10,240 characters of inline
# policies per role, with the per-slave policies.
resource "aws_iam_role_policy" "extra_json" {
  for_each = var.attach_policy_json ? local.created_function_role_keys : toset([])

  name   = "${var.name}-${each.key}-extra-json"
  role   = local.created_function_roles[each.key]
  policy = var.policy_json
}

resource "aws_iam_role_policy" "extra_statements" {
  for_each = var.attach_policy_statements ? local.created_function_role_keys : toset([])

  name   = "${var.name}-${each.key}-extra-statements"
  role   = local.created_function_roles[each.key]
  policy = jsonencode({ Version = "2012-10-17", Statement = local.extra_policy_statements })
}

# Before create_role, the roles and their fixed policies had no count.
moved {
  from = aws_iam_role.lambda
  to   = aws_iam_role.lambda[0]
}

moved {
  from = aws_iam_role_policy.lambda
  to   = aws_iam_role_policy.lambda[0]
}

moved {
  from = aws_iam_role.drain
  to   = aws_iam_role.drain[0]
}

moved {
  from = aws_iam_role_policy.drain
  to   = aws_iam_role_policy.drain[0]
}
