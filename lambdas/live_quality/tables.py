"""What the Lambda and synth share: the names of the tables, their one column and partition columns, and the
longest window a run may read.

No imports, so that ``cdk synth`` can load this file by path (``constructs_lib/live_quality.py``) without
putting ``lambdas/`` on ``sys.path`` or importing the query module. The query (``query.py``, the
generated ``sql/live_quality.athena.sql``) reads these tables; the construct creates them.
"""

# Glue tables in the database the query's QueryExecutionContext names.
ATHENA_CAPTURE_TABLE = "capture_raw"
ATHENA_LABEL_TABLE = "ground_truth_raw"
# Beside a shadow only: the same capture layout over the production variant's and the shadow's folders, read by
# the agreement query alone (live quality's own table projects the production variants only).
ATHENA_SHADOW_CAPTURE_TABLE = "shadow_capture_raw"
# Each table has one string column: the whole JSON Lines line.
LINE_COLUMN = "line"
# Partition columns, in S3 path order: capture/<endpoint>/<variant>/yyyy/mm/dd/hh/ and
# ground-truth/<endpoint>/yyyy/mm/dd/hh/ ('yyyy/mm/dd/hh' is one column, compared as a string).
CAPTURE_PARTITIONS = ("endpoint", "variant", "hour")
LABEL_PARTITIONS = ("hour",)
# The longest window a run may read, in days (``live_quality.lookback_days``; the config loader and the plan
# Lambda both read this one number). A year of hourly capture partitions, inside the two years the Glue
# tables project (constructs_lib/live_quality.py, HOUR_RANGE); beyond it the window is a configuration
# mistake, and the workgroup's bytes-scanned cutoff would stop the query anyway.
MAX_LOOKBACK_DAYS = 365
# The most characters of a malformed line the query keeps as its issue's detail (substr(line, 1, 200) in
# sql/live_quality.sql and the generated Athena text; a test checks both). The report keeps at most
# ``live_quality.sample_excerpt_chars`` of them (SAMPLE_EXCERPT_CHARS), down to none.
MAX_ISSUE_DETAIL_CHARS = 200
