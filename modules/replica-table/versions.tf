terraform {
  required_version = ">= 1.5.7"

  required_providers {
    # v6 for the per-resource `region` argument.
    aws = {
      source  = "hashicorp/aws"
      version = ">= 6.0"
    }
  }
}
