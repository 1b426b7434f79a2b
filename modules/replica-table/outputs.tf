output "name" {
  description = "Name of the table."
  value       = aws_dynamodb_table.this.name
}

output "arn" {
  description = "ARN of the table."
  value       = aws_dynamodb_table.this.arn
}

output "region" {
  description = "Region of the table."
  value       = aws_dynamodb_table.this.region
}

output "autoscaling_policy_arns" {
  description = "ARNs of the target-tracking policies by dimension (read, write); empty for an on-demand table or with autoscaling.enabled = false."
  value       = { for k, p in aws_appautoscaling_policy.this : k => p.arn }
}
