"""The role SageMaker assumes to run an endpoint's models, with least privilege.

It may read exactly the model artifacts the variants serve, pull exactly the images they use,
write the endpoint's own log group, write captured data under the configured prefix, and use
the endpoint's KMS key. Nothing else.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Annotations, Aws
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from constructs_lib.acknowledge import acknowledge, wildcard_resource_finding
from constructs_lib.config.model import (
    BuiltinImage,
    ContainerModel,
    PackageModel,
    VariantSpec,
    VpcSpec,
)
from constructs_lib.images import repository_arn
from constructs_lib.s3_location import S3Location

# Actions SageMaker needs to attach model containers to the configured subnets. EC2 offers no
# resource-level scoping for the Describe* calls, and the network interfaces do not exist yet.
VPC_ACTIONS = [
    "ec2:CreateNetworkInterface",
    "ec2:CreateNetworkInterfacePermission",
    "ec2:DeleteNetworkInterface",
    "ec2:DeleteNetworkInterfacePermission",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeVpcs",
    "ec2:DescribeDhcpOptions",
    "ec2:DescribeSubnets",
    "ec2:DescribeSecurityGroups",
]
ECR_PULL_ACTIONS = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"]


def _s3_arn(uri: str, *, prefix: bool) -> str:
    path = uri[len("s3://") :]
    if prefix:
        path = path.rstrip("/") + "/*"
    return f"arn:{Aws.PARTITION}:s3:::{path}"


class ModelExecutionRole(Construct):
    """Execution role for one endpoint's models.

    :param variants: the variants whose artifacts and images the role may read.
    :param key: the endpoint's KMS key (storage volumes, captured data).
    :param log_group: the endpoint's log group, ``/aws/sagemaker/Endpoints/<name>``.
    :param capture: where SageMaker writes this endpoint's captured data (``<destination><endpoint>/``,
        ``AbEndpoint.endpoint_captures``); default none: no S3 write access.
    :param vpc: default none: no network-interface permissions.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        variants: Sequence[VariantSpec],
        key: kms.IKey,
        log_group: logs.ILogGroup,
        capture: S3Location | None = None,
        vpc: VpcSpec | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
            description="Runs the A/B endpoint's models: reads their artifacts and images, writes their logs",
        )
        wildcard_findings = []

        model_objects = sorted({v.model.model_data_url for v in variants if isinstance(v.model, ContainerModel)})
        package_prefixes = sorted(
            {
                v.model.artifacts_s3_uri
                for v in variants
                if isinstance(v.model, PackageModel) and v.model.artifacts_s3_uri
            }
        )
        if model_objects or package_prefixes:
            self.role.add_to_policy(
                iam.PolicyStatement(
                    actions=["s3:GetObject"],
                    resources=[_s3_arn(uri, prefix=False) for uri in model_objects]
                    + [_s3_arn(uri, prefix=True) for uri in package_prefixes],
                )
            )
            wildcard_findings += [
                wildcard_resource_finding(self, _s3_arn(uri, prefix=True)) for uri in package_prefixes
            ]

        # Deduplicated by image source before building ARNs: the ARNs are tokens, never equal.
        images = {
            (
                ("builtin", v.model.image.algorithm)
                if isinstance(v.model.image, BuiltinImage)
                else ("ecr", v.model.image.region, v.model.image.account, v.model.image.repository)
            ): v.model.image
            for v in variants
            if isinstance(v.model, ContainerModel)
        }
        repositories = [repository_arn(self, image) for _, image in sorted(images.items())]
        # A model package names its image inside the package, which synth cannot read: the config
        # names the image's repository (image_repository_arn) and the role may pull from exactly that.
        repositories += sorted(
            {
                v.model.image_repository_arn
                for v in variants
                if isinstance(v.model, PackageModel) and v.model.image_repository_arn
            }
        )
        for variant in variants:
            if isinstance(variant.model, PackageModel) and not variant.model.image_repository_arn:
                Annotations.of(self).add_warning_v2(
                    "ab-test:packageWithoutImageRepository",
                    f"Variant {variant.name}: model package without image_repository_arn, so the execution "
                    "role may pull no image for it. Fine for AWS Marketplace packages; a package whose image "
                    "is in your own ECR fails to start until you name its repository.",
                )
        if repositories:
            self.role.add_to_policy(iam.PolicyStatement(actions=ECR_PULL_ACTIONS, resources=repositories))
            # GetAuthorizationToken has no resource-level permissions: AWS requires "*".
            self.role.add_to_policy(iam.PolicyStatement(actions=["ecr:GetAuthorizationToken"], resources=["*"]))
            wildcard_findings.append(wildcard_resource_finding(self, "*"))

        log_group.grant_write(self.role)
        key.grant_encrypt_decrypt(self.role)  # on this key only
        wildcard_findings += [
            "AwsSolutions-IAM5[Action::kms:ReEncrypt*]",
            "AwsSolutions-IAM5[Action::kms:GenerateDataKey*]",
        ]

        if capture:
            # Exactly this endpoint's capture prefix: SageMaker writes <destination>/<endpoint>/<variant>/
            # yyyy/mm/dd/hh/<file> (model-monitor-data-capture-endpoint.html), encrypted with the key granted above.
            self.role.add_to_policy(iam.PolicyStatement(actions=["s3:PutObject"], resources=[capture.objects_arn]))
            wildcard_findings.append(wildcard_resource_finding(self, capture.objects_arn))

        if vpc:
            self.role.add_to_policy(iam.PolicyStatement(actions=VPC_ACTIONS, resources=["*"]))
            wildcard_findings.append(wildcard_resource_finding(self, "*"))

        policy = self.role.node.find_child("DefaultPolicy")
        acknowledge(
            policy,
            "Scoped as far as AWS allows: object prefixes for artifacts and captured data; KMS "
            "action families on this endpoint's key only; '*' only for ecr:GetAuthorizationToken "
            "and the EC2 network-interface calls, which have no resource-level permissions.",
            *sorted(set(wildcard_findings)),
        )
        acknowledge(
            policy,
            "The policy belongs to this one role and lives and dies with it; every statement names "
            "this endpoint's own resources, which a shared managed policy could not.",
            "HIPAA.Security-IAMNoInlinePolicy",
            "NIST.800.53.R5-IAMNoInlinePolicy",
        )
