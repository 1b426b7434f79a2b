locals {
  # arn:<partition>:iam::<account>:role/<name>
  replicator_accounts = distinct([for arn in var.replicator_role_arns : "arn:${split(":", arn)[1]}:iam::${split(":", arn)[4]}:root"])
}

# The principal is the replicator's account, narrowed to its roles by
# aws:PrincipalArn: IAM rejects a trust policy naming a role that does not exist
# yet, and this role is usually created before the replicator's.
resource "aws_iam_role" "this" {
  name = var.name
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { AWS = local.replicator_accounts }
      Action    = "sts:AssumeRole"
      Condition = merge(
        { ArnEquals = { "aws:PrincipalArn" = var.replicator_role_arns } },
        var.external_id == null ? {} : { StringEquals = { "sts:ExternalId" = var.external_id } },
      )
    }]
  })
  tags = var.tags
}

resource "aws_iam_role_policy" "this" {
  name = "write-slave-tables"
  role = aws_iam_role.this.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid      = "WriteSlaveTables"
      Effect   = "Allow"
      Action   = "dynamodb:BatchWriteItem"
      Resource = var.slave_table_arns
    }]
  })
}
