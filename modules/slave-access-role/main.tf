locals {
  # arn:<partition>:iam::<account>:role/<name>
  replicator_arn_parts = split(":", var.replicator_role_arn)
  replicator_account   = local.replicator_arn_parts[4]
  replicator_partition = local.replicator_arn_parts[1]
}

# The principal is the replicator's account, narrowed to its role by
# aws:PrincipalArn: IAM rejects a trust policy naming a role that does not exist
# yet, and this role is usually created before the replicator's.
resource "aws_iam_role" "this" {
  name = var.name
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { AWS = "arn:${local.replicator_partition}:iam::${local.replicator_account}:root" }
      Action    = "sts:AssumeRole"
      Condition = merge(
        { ArnEquals = { "aws:PrincipalArn" = var.replicator_role_arn } },
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
