# The event source mapping's on-failure destination: for a batch it gives up
# on, Lambda writes the whole invocation record, the batch's records included,
# so `npx dynamo-replicator redrive` can replay it after the stream has trimmed
# it. Lambda writes it with the stream function's role.
resource "aws_s3_bucket" "failures" {
  # checkov:skip=CKV_AWS_18:Access logs would need a second bucket; the only writer is the mapping, through the stream function's role, whose calls CloudTrail records.
  # checkov:skip=CKV_AWS_144:The invocation records are a recovery aid for one region's replicator; cross-region replication would need a second bucket and role for copies of what the stream already held.
  # checkov:skip=CKV2_AWS_62:Nothing consumes the records automatically; the records-given-up alarm (OnFailureDestinationDeliveredEventCount) says when one arrives.
  region = var.region

  bucket = local.failure_bucket_name
  tags   = var.tags

  lifecycle {
    precondition {
      condition     = can(regex("^[a-z0-9][a-z0-9.-]*[a-z0-9]$", local.failure_bucket_name)) && !startswith(local.failure_bucket_name, "xn--") && !startswith(local.failure_bucket_name, "sthree-")
      error_message = "The failure bucket's name, ${local.failure_bucket_name}, is made from name (${var.name}) and is not a valid S3 bucket name: start name with a letter or a digit, e.g. \"orders-replicator\"."
    }
  }
}

resource "aws_s3_bucket_ownership_controls" "failures" {
  region = var.region

  bucket = aws_s3_bucket.failures.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "failures" {
  region = var.region

  bucket                  = aws_s3_bucket.failures.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_server_side_encryption_configuration" "failures" {
  region = var.region

  bucket = aws_s3_bucket.failures.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = var.failure_bucket_kms_key_arn == null ? "AES256" : "aws:kms"
      kms_master_key_id = var.failure_bucket_kms_key_arn
    }
    bucket_key_enabled = var.failure_bucket_kms_key_arn != null
  }
}

resource "aws_s3_bucket_versioning" "failures" {
  count = var.failure_bucket_versioning ? 1 : 0

  region = var.region

  bucket = aws_s3_bucket.failures.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "failures" {
  region = var.region

  bucket = aws_s3_bucket.failures.id

  rule {
    id     = "expire-invocation-records"
    status = "Enabled"
    filter {}

    expiration {
      days = var.failure_bucket_expiration_days
    }
    # Only a versioned bucket keeps noncurrent versions; the same retention.
    noncurrent_version_expiration {
      noncurrent_days = var.failure_bucket_expiration_days
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  depends_on = [aws_s3_bucket_versioning.failures]
}

resource "aws_s3_bucket_policy" "failures" {
  region = var.region

  bucket = aws_s3_bucket.failures.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "DenyInsecureTransport"
      Effect    = "Deny"
      Principal = "*"
      Action    = "s3:*"
      Resource  = [local.failure_bucket_arn, "${local.failure_bucket_arn}/*"]
      Condition = { Bool = { "aws:SecureTransport" = "false" } }
    }]
  })

  # A policy put before the public access block could be judged public.
  depends_on = [aws_s3_bucket_public_access_block.failures]
}
