"""How long the stack's buckets keep what this app writes there: S3 lifecycle rules, one per purpose.

Without rules every object stays forever: captured requests (personal data, possibly), Athena's
result files (read once, by the publish step), versions that versioning keeps after an overwrite or
an expiry, parts of uploads that never completed, access logs. The rules here:

* the evaluation bucket, whole: incomplete multipart uploads aborted after
  :data:`INCOMPLETE_UPLOADS_KEPT`, noncurrent versions deleted after :data:`NONCURRENT_VERSIONS_KEPT`;
* a prefix whose objects expire (:func:`expire_prefix`: captures after the config's retention,
  ``athena-results/`` after a few days, live quality's reports under ``live-quality/`` after
  ``live_quality.report_retention_days``, as they quote input issues): current versions expire, and as
  the bucket is versioned an expired object is only hidden behind a delete marker, so its noncurrent
  version is deleted :data:`EXPIRED_VERSIONS_KEPT` later; the delete marker left alone then goes too ("If the lifecycle
  configuration is set to delete current versions ... Amazon S3 removes the expired object's delete
  marker": https://docs.aws.amazon.com/AmazonS3/latest/userguide/ManagingDelMarkers.html);
* the access-log bucket: logs expire after ``evaluation.access_log_retention_days``.

Where rules overlap (a prefix rule and the bucket-wide one), "the shorter expiration policy is
honored so that data is not stored for longer than expected" ("How Amazon S3 handles conflicts in
lifecycle configurations": https://docs.aws.amazon.com/AmazonS3/latest/userguide/lifecycle-conflicts.html).
A bucket's lifecycle configuration holds "up to 1,000 rules. This limit is not adjustable"; each rule
selects objects with a filter, here a key prefix ("Lifecycle configuration elements":
https://docs.aws.amazon.com/AmazonS3/latest/userguide/intro-lifecycle-rules.html). The evaluation
bucket gets at most five, the log bucket one.

A bucket the stack does not create (``evaluation.report_bucket_name``, a capture
``destination_s3_uri``) gets no rule from it: its lifecycle configuration is its owner's, and a
PutBucketLifecycleConfiguration replaces the whole configuration. Synth warns instead, naming the
prefix and the days, so the owner can add the rule.
"""

from __future__ import annotations

from aws_cdk import Annotations, Duration
from aws_cdk import aws_s3 as s3
from constructs import Construct

from constructs_lib.s3_location import S3Location

# Long enough for any upload this app or a user's dataset upload makes; AWS's own examples use 7.
INCOMPLETE_UPLOADS_KEPT = Duration.days(7)
# Versioning guards test sets and reports against an overwrite or a delete for a month.
NONCURRENT_VERSIONS_KEPT = Duration.days(30)
# What an expiry hides behind a delete marker is deleted for good a day later.
EXPIRED_VERSIONS_KEPT = Duration.days(1)
MAX_LIFECYCLE_RULES = 1_000
UNMANAGED_WARNING = "ab-test:retention-not-applied"


def bucket_wide_rules() -> list[s3.LifecycleRule]:
    """Abort incomplete multipart uploads, delete noncurrent versions (every object of the bucket)."""
    return [
        s3.LifecycleRule(id="AbortIncompleteUploads", abort_incomplete_multipart_upload_after=INCOMPLETE_UPLOADS_KEPT),
        s3.LifecycleRule(id="DeleteNoncurrentVersions", noncurrent_version_expiration=NONCURRENT_VERSIONS_KEPT),
    ]


def log_rules(retention: Duration) -> list[s3.LifecycleRule]:
    """Access logs expire after ``retention`` (they are never overwritten: no noncurrent versions but expired ones)."""
    return [
        s3.LifecycleRule(
            id="ExpireAccessLogs", expiration=retention, noncurrent_version_expiration=EXPIRED_VERSIONS_KEPT
        )
    ]


def expire_prefix(
    scope: Construct, bucket: s3.IBucket, location: S3Location, *, rule_id: str, after: Duration, what: str
) -> None:
    """Expire the objects under ``location`` ``after`` their creation, if ``bucket`` is the stack's own and
    ``location`` is in it; otherwise warn (on ``scope``) that nobody expires ``what`` there."""
    if isinstance(bucket, s3.Bucket) and location.bucket_name == bucket.bucket_name and location.prefix:
        bucket.add_lifecycle_rule(
            id=rule_id,
            prefix=location.prefix,
            expiration=after,
            noncurrent_version_expiration=EXPIRED_VERSIONS_KEPT,
        )
        return
    days = after.to_days()
    Annotations.of(scope).add_warning_v2(
        UNMANAGED_WARNING,
        f"{what} under {location.folder_uri} are not expired by this stack: the bucket is not one it creates. "
        f"Add a lifecycle rule to that bucket expiring prefix {location.prefix or '(the whole bucket)'} after "
        f"{days} days (and noncurrent versions a day later if it is versioned).",
    )
