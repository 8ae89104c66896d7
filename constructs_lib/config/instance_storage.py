"""Which SageMaker hosting instance types have local (instance store) NVMe storage.

Why it matters: CreateEndpointConfig fails when ``KmsKeyId`` is set and any production variant
runs on a Nitro instance with local storage. AWS's words (CreateEndpointConfig API reference,
``KmsKeyId``, https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateEndpointConfig.html):

    "Certain Nitro-based instances include local storage, dependent on the instance type. Local
    storage volumes are encrypted using a hardware module on the instance. You can't request a
    KmsKeyId when using an instance type with local storage. If any of the models that you specify
    in the ProductionVariants parameter use nitro-based instances with local storage, do not
    specify a value for the KmsKeyId parameter. If you specify a value for KmsKeyId when using any
    nitro-based instances with local storage, the call to CreateEndpointConfig fails."

The page points to EC2's instance store tables for the list ("Instance store volumes",
https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/InstanceStorage.html#instance-store-volumes)
and the SageMaker developer guide's "Host instance storage volumes"
(https://docs.aws.amazon.com/sagemaker/latest/dg/host-instance-storage.html) to its table
(https://aws.amazon.com/releasenotes/host-instance-storage-volumes-table/). Those pages are
tables for humans, so the families are copied here, once. Every family in botocore's
``ProductionVariantInstanceType`` enum must be classified in one of the two sets below: a test
fails when a botocore upgrade brings a family nobody has looked up yet.

Local storage is encrypted by the instance's hardware (XTS-AES-256, keys destroyed with the
instance: EC2 "SSD instance store volumes",
https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/ssd-instance-store.html), so leaving the
customer key out loses nothing there; without ``KmsKeyId`` SageMaker still encrypts any EBS
volume, with a key it manages.
"""

from __future__ import annotations

# Families with NVMe instance store, per EC2's instance store tables (the `d` suffix families,
# the GPU and accelerator families from g4dn on, trn*, dl1).
LOCAL_STORAGE_FAMILIES = frozenset(
    {
        "c5d",
        "c6gd",
        "dl1",
        "g4dn",
        "g5",
        "g6",
        "g6e",
        "m5d",
        "m6gd",
        "p3dn",
        "p4d",
        "p4de",
        "p5",
        "p5e",
        "p5en",
        "p6-b200",
        "p6-b300",
        "p6e-gb200",
        "r5d",
        "r6gd",
        "r7gd",
        "trn1",
        "trn1n",
        "trn2",
    }
)

# Families that botocore lists but whose instance store we could not confirm in the pages above
# (newer than the tables we could read). They are treated as having local storage: leaving
# KmsKeyId out always deploys (SageMaker then encrypts EBS with its own key), while setting it
# on a local-storage family makes the deploy fail.
UNCONFIRMED_FAMILIES = frozenset({"g7", "g7e"})

# Families that are EBS-only (no instance store) in EC2's tables.
EBS_ONLY_FAMILIES = frozenset(
    {
        "c4",
        "c5",
        "c6g",
        "c6gn",
        "c6i",
        "c6in",
        "c7g",
        "c7i",
        "c8g",
        "inf1",
        "inf2",
        "m4",
        "m5",
        "m6g",
        "m6i",
        "m7i",
        "m8g",
        "p2",
        "p3",
        "r5",
        "r6g",
        "r6i",
        "r7i",
        "r8g",
        "t2",
    }
)


def instance_family(instance_type: str) -> str:
    """``ml.g4dn.xlarge`` → ``g4dn``; ``ml.p6-b200.48xlarge`` → ``p6-b200``."""
    return instance_type.split(".")[1]


def has_local_storage(instance_type: str) -> bool:
    """True when ``KmsKeyId`` must be left out of an endpoint config using ``instance_type``.

    Families in neither table count as local storage (see :data:`UNCONFIRMED_FAMILIES` for why
    that is the safe side).
    """
    return instance_family(instance_type) not in EBS_ONLY_FAMILIES
