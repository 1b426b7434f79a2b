# tflint for the module, its sub-modules, the examples and the test fixtures
# (scripts/terraform-test.sh runs `tflint --recursive --config` with this file).
# Only the terraform ruleset bundled in tflint is used: the AWS ruleset is a
# plugin to download, and nothing is downloaded at test time.
config {
  call_module_type = "local"
}

plugin "terraform" {
  enabled = true
  # "all" rather than "recommended": naming, documented and typed variables and
  # outputs, and the standard module structure are part of this module's style.
  preset = "all"
}
