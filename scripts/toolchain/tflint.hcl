# tflint configuration for the module and its examples, exported as
# TFLINT_CONFIG_FILE by env.sh. Only the terraform ruleset bundled in the tflint
# binary is used: a plugin with a `source` would make `tflint --init` download
# it, and the AWS ruleset is not reachable from the build machines.
config {
  call_module_type = "local"
}

plugin "terraform" {
  enabled = true
  preset  = "recommended"
}
