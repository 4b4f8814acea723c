# The cluster's own infrastructure (TERRAFORM_DIR of grove.yml; infrastructure/ unless set):
# what [AutoDeploy][Create], [Infrastructure] and [Delete] pipelines plan and apply first.
# A real cluster keeps its Kubernetes cluster, databases and buckets here, one set per
# folder of instances/ (the instances' folders are the list Terraform reads).
terraform {
  required_version = ">= 1.5"
}

locals {
  # Every instance of this commit; a Delete's commit has removed the instances it deletes.
  instances = toset([for f in fileset("${path.module}/../instances", "*/config.yml") : dirname(f)])
}

output "instances" {
  value = local.instances
}
