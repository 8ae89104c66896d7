"""An S3 prefix as the stack uses it: its URI for SageMaker and Glue, its ARNs for IAM.

The bucket name may be a token (a bucket the stack creates); the prefix is always literal, so
IAM statements and Glue locations can be built from it at synth.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Aws


@dataclass(frozen=True)
class S3Location:
    """``s3://<bucket_name>/<prefix>``; ``prefix`` has no leading slash and ends with one (or is empty).

    :param uri: the URI exactly as the config wrote it (or the stack built it), for properties whose
        change would replace a resource (an endpoint config's DestinationS3Uri).
    """

    bucket_name: str
    prefix: str
    uri: str

    @classmethod
    def parse(cls, uri: str) -> S3Location:
        """``s3://bucket/some/prefix`` (the config loader checked the shape)."""
        bucket, _, path = uri.removeprefix("s3://").partition("/")
        return cls(bucket, cls._folder(path), uri)

    @classmethod
    def in_bucket(cls, bucket_name: str, prefix: str) -> S3Location:
        """``prefix`` in ``bucket_name`` (a token is fine); its URI has no trailing slash."""
        folder = cls._folder(prefix)
        return cls(bucket_name, folder, f"s3://{bucket_name}/{folder.rstrip('/')}")

    @staticmethod
    def _folder(path: str) -> str:
        path = path.strip("/")
        return f"{path}/" if path else ""

    @property
    def folder_uri(self) -> str:
        """``s3://bucket/prefix/``, as Glue table locations take it."""
        return f"s3://{self.bucket_name}/{self.prefix}"

    def child(self, name: str) -> S3Location:
        """The prefix ``<prefix><name>/`` in the same bucket."""
        return S3Location.in_bucket(self.bucket_name, f"{self.prefix}{name}")

    @property
    def bucket_arn(self) -> str:
        return f"arn:{Aws.PARTITION}:s3:::{self.bucket_name}"

    @property
    def objects_arn(self) -> str:
        """Every object under the prefix."""
        return f"arn:{Aws.PARTITION}:s3:::{self.bucket_name}/{self.prefix}*"
