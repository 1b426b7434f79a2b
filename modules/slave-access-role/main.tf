locals {
  # arn:<partition>:iam::<account>:role/<name>
  replicator_accounts = distinct([for arn in var.replicator_role_arns : "arn:${split(":", arn)[1]}:iam::${split(":", arn)[4]}:root"])
  kms_key_regions     = sort(distinct([for arn in var.kms_key_arns : split(":", arn)[3]]))
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
    Statement = concat(
      [{
        Sid      = "WriteSlaveTables"
        Effect   = "Allow"
        Action   = "dynamodb:BatchWriteItem"
        Resource = var.slave_table_arns
      }],
      # DynamoDB uses a customer managed key on the writer's behalf, and only
      # from the key's own region: one statement per region of the keys.
      [
        for region in local.kms_key_regions : {
          Sid       = "UseSlaveTableKeys${replace(title(replace(region, "-", " ")), " ", "")}"
          Effect    = "Allow"
          Action    = ["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey"]
          Resource  = [for arn in var.kms_key_arns : arn if split(":", arn)[3] == region]
          Condition = { StringEquals = { "kms:ViaService" = "dynamodb.${region}.amazonaws.com" } }
        }
      ],
    )
  })
}
