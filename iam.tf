resource "aws_iam_role" "lambda" {
  name = var.name
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "lambda.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
  tags = var.tags
}

# What the function needs whatever the slaves: read the master's stream (through
# the mapping), read the master when the stream lacks new images, report failed
# records to the queue and write its own logs.
resource "aws_iam_role_policy" "lambda" {
  name = "${var.name}-master"
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
          Sid      = "ReportFailedRecords"
          Effect   = "Allow"
          Action   = "sqs:SendMessage"
          Resource = local.failure_queue_arn
        },
        {
          Sid      = "WriteOwnLogs"
          Effect   = "Allow"
          Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
          Resource = "${local.log_group_arn}:*"
        },
      ],
      local.reads_master ? [
        {
          Sid      = "ReadMasterItems"
          Effect   = "Allow"
          Action   = ["dynamodb:BatchGetItem", "dynamodb:GetItem"]
          Resource = data.aws_dynamodb_table.master.arn
        },
      ] : [],
      var.failure_queue_kms_key_id == null ? [] : [
        {
          Sid      = "EncryptFailureReports"
          Effect   = "Allow"
          Action   = ["kms:GenerateDataKey", "kms:Decrypt"]
          Resource = data.aws_kms_key.failure_queue[0].arn
        },
      ],
    )
  })
}

data "aws_kms_key" "failure_queue" {
  count = var.failure_queue_kms_key_id == null ? 0 : 1

  region = var.region
  key_id = var.failure_queue_kms_key_id
}

# One policy per slave: the function writes it with BatchWriteItem only (it
# never calls PutItem or DeleteItem), or assumes the role that may write it.
resource "aws_iam_role_policy" "slave" {
  for_each = var.slaves

  name = "${var.name}-slave-${each.key}"
  role = aws_iam_role.lambda.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      each.value.role_arn == null ? {
        Sid      = "WriteSlaveTable"
        Effect   = "Allow"
        Action   = "dynamodb:BatchWriteItem"
        Resource = local.slave_table_arns[each.key]
        } : {
        Sid      = "AssumeSlaveWriterRole"
        Effect   = "Allow"
        Action   = "sts:AssumeRole"
        Resource = each.value.role_arn
      },
    ]
  })
}
