output "function_name" {
  description = "Name of the replicator function."
  value       = module.replicator.function_name
}

output "role_arn" {
  description = "ARN of the replicator's stream function role in the master's account."
  value       = module.replicator.role_arn
}

output "slave_writer_principal_arns" {
  description = "ARNs of the replicator's roles that the writer role trusts, as the module names them."
  value       = module.replicator.slave_writer_principal_arns
}

output "trusted_role_arns" {
  description = "ARNs of the replicator's roles as this example builds them for the writer's trust: equal to slave_writer_principal_arns."
  value       = local.replicator_role_arns
}

output "slave_writer_role_arn" {
  description = "ARN of the role in the slave's account that the replicator assumes."
  value       = module.slave_writer.role_arn
}

output "slave_table_arn" {
  description = "ARN of the slave table in the slave's account."
  value       = module.slave_table.arn
}

output "event_source_mapping_uuid" {
  description = "UUID of the mapping from the master's stream."
  value       = module.replicator.event_source_mapping_uuid
}
