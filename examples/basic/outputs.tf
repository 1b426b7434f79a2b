output "function_name" {
  description = "Name of the replicator function."
  value       = module.replicator.function_name
}

output "role_arn" {
  description = "ARN of the replicator's role."
  value       = module.replicator.role_arn
}

output "event_source_mapping_uuid" {
  description = "UUID of the mapping from the master's stream."
  value       = module.replicator.event_source_mapping_uuid
}

output "failure_bucket_name" {
  description = "Bucket that receives the invocation records of batches given up on."
  value       = module.replicator.failure_bucket_name
}

output "state_table_name" {
  description = "The replicator's state table."
  value       = module.replicator.state_table_name
}

output "drain_function_name" {
  description = "Name of the drain function."
  value       = module.replicator.drain_function_name
}

output "slave_tables" {
  description = "The slave tables."
  value       = module.replicator.slave_tables
}
