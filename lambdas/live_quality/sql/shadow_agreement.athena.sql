-- GENERATED from shadow_agreement.sql (with capture_parsing.sql, which it includes) by
-- scripts/generate_live_athena_sql.py (sqlglot 30.30.0); do not edit.
-- Athena (engine version 3, Trino) text of the shadow-agreement query; its parameters, result columns and
-- threshold token are the source's (see shadow_agreement.sql and live_quality/agreement_text.py).
WITH capture_lines AS (
  SELECT
    line,
    "$path" AS source_file,
    CAST(NULL AS BIGINT) AS line_number,
    endpoint,
    variant,
    hour
  FROM shadow_capture_raw
), capture_read AS (
  SELECT
    variant,
    hour,
    source_file,
    line_number,
    line,
    TRY(JSON_EXTRACT_SCALAR(line, '$.eventVersion')) AS event_version,
    TRY(JSON_EXTRACT_SCALAR(line, '$.eventMetadata.inferenceId')) AS inference_id,
    TRY(JSON_EXTRACT_SCALAR(line, '$.eventMetadata.eventId')) AS event_id,
    TRY(JSON_EXTRACT_SCALAR(line, '$.eventMetadata.inferenceTime')) AS inference_time,
    TRY(JSON_EXTRACT_SCALAR(line, '$.captureData.endpointOutput.data')) AS output_data,
    UPPER(TRY(JSON_EXTRACT_SCALAR(line, '$.captureData.endpointOutput.encoding'))) AS output_encoding
  FROM capture_lines
  WHERE
    endpoint = ? AND hour >= ? AND hour < ?
), capture_fields AS (
  SELECT
    variant,
    hour,
    source_file,
    line_number,
    line,
    CASE WHEN event_version IS NULL THEN SUBSTR(line, 1, 200) END AS excerpt,
    CASE
      WHEN NOT event_version IS NULL
      THEN 0
      WHEN TRY(JSON_PARSE(line)) IS NULL
      THEN 1
      ELSE 0
    END AS not_json,
    event_version,
    inference_id,
    event_id,
    inference_time,
    output_data,
    output_encoding
  FROM capture_read
), capture_values AS (
  SELECT
    *,
    COALESCE(inference_id, event_id) AS join_key,
    TRY(DATE_PARSE(SUBSTR(inference_time, 1, 13), '%Y-%m-%dT%H')) AS inference_hour,
    TRY_CAST(TRIM(
      CASE
        WHEN output_encoding = 'BASE64'
        THEN TRY(FROM_UTF8(FROM_BASE64(output_data)))
        WHEN output_encoding IN ('CSV', 'JSON')
        THEN output_data
      END
    ) AS DOUBLE) AS parsed_score
  FROM capture_fields
), capture_parsed AS (
  SELECT
    *,
    CASE
      WHEN parsed_score BETWEEN -1.0e308 AND 1.0e308
      THEN (
        parsed_score - :threshold
      ) * 1.0e6
    END AS millionths_above_threshold,
    CASE
      WHEN not_json = 1
      THEN 'capture_not_json'
      WHEN event_version IS NULL OR event_version <> '0'
      THEN 'capture_unknown_event_version'
      WHEN output_data IS NULL
      THEN 'capture_without_output'
      WHEN output_encoding IS NULL OR NOT output_encoding IN ('CSV', 'JSON', 'BASE64')
      THEN 'capture_unknown_encoding'
      WHEN NOT (
        parsed_score BETWEEN -1.0e308 AND 1.0e308
      ) OR parsed_score IS NULL
      THEN 'capture_output_not_one_score'
      WHEN inference_hour IS NULL
      THEN 'capture_without_inference_time'
      WHEN join_key IS NULL
      THEN 'capture_without_any_id'
    END AS malformed
  FROM capture_values
), lines AS (
  SELECT
    variant,
    source_file,
    line_number,
    COALESCE(excerpt, join_key) AS detail,
    malformed,
    CASE WHEN millionths_above_threshold >= 0 THEN 1 ELSE 0 END AS positive,
    event_id,
    inference_id,
    parsed_score AS score,
    TRY(JSON_EXTRACT_SCALAR(line, '$.captureData.endpointInput.observedContentType')) AS input_content_type,
    TRY(JSON_EXTRACT_SCALAR(line, '$.captureData.endpointOutput.observedContentType')) AS output_content_type
  FROM capture_parsed
), sided AS (
  SELECT
    sides.side,
    lines.*
  FROM lines
  CROSS JOIN (VALUES
    ('production'),
    ('shadow')) AS sides(side)
  WHERE
    (
      sides.side = 'production' AND lines.variant = ?
    )
    OR (
      sides.side = 'shadow' AND lines.variant = ?
    )
), by_event_id AS (
  SELECT
    *,
    COUNT(CASE WHEN side = 'production' THEN 1 END) OVER (PARTITION BY event_id) AS production_event_copies,
    COUNT(CASE WHEN side = 'shadow' THEN 1 END) OVER (PARTITION BY event_id) AS shadow_event_copies
  FROM sided
  WHERE
    malformed IS NULL
), event_paired AS (
  SELECT
    *,
    NOT event_id IS NULL AND production_event_copies = 1 AND shadow_event_copies = 1 AS paired_by_event_id,
    CASE
      WHEN side = 'production'
      THEN production_event_copies
      ELSE shadow_event_copies
    END AS own_event_copies
  FROM by_event_id
), by_inference_id AS (
  SELECT
    *,
    COUNT(CASE WHEN side = 'production' AND NOT paired_by_event_id THEN 1 END) OVER (PARTITION BY inference_id) AS production_inference_copies,
    COUNT(CASE WHEN side = 'shadow' AND NOT paired_by_event_id THEN 1 END) OVER (PARTITION BY inference_id) AS shadow_inference_copies
  FROM event_paired
), keyed AS (
  SELECT
    *,
    CASE
      WHEN paired_by_event_id
      THEN 'eventId'
      WHEN NOT inference_id IS NULL
      AND production_inference_copies = 1
      AND shadow_inference_copies = 1
      THEN 'inferenceId'
    END AS paired_by,
    CASE
      WHEN side = 'production'
      THEN production_inference_copies
      ELSE shadow_inference_copies
    END AS own_inference_copies,
    CASE WHEN paired_by_event_id THEN event_id ELSE inference_id END AS pair_key
  FROM by_inference_id
), pairs AS (
  SELECT
    p.paired_by,
    p.positive AS production_positive,
    s.positive AS shadow_positive,
    ABS(p.score - s.score) AS abs_difference,
    p.input_content_type IS DISTINCT FROM s.input_content_type
    OR p.output_content_type IS DISTINCT FROM s.output_content_type AS content_type_mismatch,
    p.source_file,
    p.line_number,
    CONCAT(
      CAST('input ' AS VARCHAR),
      CAST(COALESCE(p.input_content_type, '(none)') AS VARCHAR),
      CAST(' | ' AS VARCHAR),
      CAST(COALESCE(s.input_content_type, '(none)') AS VARCHAR),
      CAST('; output ' AS VARCHAR),
      CAST(COALESCE(p.output_content_type, '(none)') AS VARCHAR),
      CAST(' | ' AS VARCHAR),
      CAST(COALESCE(s.output_content_type, '(none)') AS VARCHAR),
      CAST('; shadow line ' AS VARCHAR),
      CAST(s.source_file AS VARCHAR),
      CAST(':' AS VARCHAR),
      CAST(COALESCE(CAST(s.line_number AS VARCHAR), '?') AS VARCHAR)
    ) AS content_types
  FROM keyed AS p
  JOIN keyed AS s
    ON s.paired_by = p.paired_by AND s.pair_key = p.pair_key
  WHERE
    p.side = 'production' AND s.side = 'shadow'
), pair_groups AS (
  SELECT
    CASE WHEN scopes.scope = 'all' THEN 'all' ELSE pairs.paired_by END AS pair_group,
    pairs.production_positive,
    pairs.shadow_positive,
    pairs.abs_difference,
    pairs.content_type_mismatch,
    ROW_NUMBER() OVER (
      PARTITION BY CASE WHEN scopes.scope = 'all' THEN 'all' ELSE pairs.paired_by END
      ORDER BY pairs.abs_difference
    ) - 1 AS position,
    COUNT(*) OVER (PARTITION BY CASE WHEN scopes.scope = 'all' THEN 'all' ELSE pairs.paired_by END) AS group_pairs
  FROM pairs
  CROSS JOIN (VALUES
    ('key'),
    ('all')) AS scopes(scope)
), interpolated AS (
  SELECT
    *,
    FLOOR((
      group_pairs - 1
    ) * 0.5) AS median_low,
    (
      group_pairs - 1
    ) * 0.5 - FLOOR((
      group_pairs - 1
    ) * 0.5) AS median_fraction,
    FLOOR((
      group_pairs - 1
    ) * 0.95) AS p95_low,
    (
      group_pairs - 1
    ) * 0.95 - FLOOR((
      group_pairs - 1
    ) * 0.95) AS p95_fraction
  FROM pair_groups
), issue_lines AS (
  SELECT
    malformed AS issue,
    side,
    source_file,
    line_number,
    detail
  FROM sided
  WHERE
    NOT malformed IS NULL
  UNION ALL
  SELECT
    'duplicate_event_id',
    side,
    source_file,
    line_number,
    event_id
  FROM keyed
  WHERE
    NOT event_id IS NULL AND own_event_copies > 1
  UNION ALL
  SELECT
    'duplicate_inference_id',
    side,
    source_file,
    line_number,
    inference_id
  FROM keyed
  WHERE
    NOT paired_by_event_id AND NOT inference_id IS NULL AND own_inference_copies > 1
  UNION ALL
  SELECT
    'shadow_without_production',
    side,
    source_file,
    line_number,
    COALESCE(event_id, inference_id)
  FROM keyed
  WHERE
    side = 'shadow' AND paired_by IS NULL
  UNION ALL
  SELECT
    'content_type_mismatch',
    'production',
    source_file,
    line_number,
    content_types
  FROM pairs
  WHERE
    content_type_mismatch
), result AS (
  SELECT
    'side' AS row_kind,
    side,
    CAST(NULL AS VARCHAR) AS paired_by,
    CAST(NULL AS VARCHAR) AS issue,
    COUNT(*) AS n,
    COUNT(paired_by) AS paired,
    CAST(NULL AS BIGINT) AS both_positive,
    CAST(NULL AS BIGINT) AS production_only_positive,
    CAST(NULL AS BIGINT) AS shadow_only_positive,
    CAST(NULL AS BIGINT) AS both_negative,
    CAST(NULL AS BIGINT) AS content_type_mismatch,
    CAST(NULL AS DOUBLE) AS mean_abs_difference,
    CAST(NULL AS DOUBLE) AS median_abs_difference,
    CAST(NULL AS DOUBLE) AS p95_abs_difference,
    CAST(NULL AS VARCHAR) AS source_file,
    CAST(NULL AS BIGINT) AS line_number,
    CAST(NULL AS VARCHAR) AS detail
  FROM keyed
  GROUP BY
    side
  UNION ALL
  SELECT
    'pairs',
    NULL,
    pair_group,
    NULL,
    COUNT(*),
    NULL,
    COUNT(CASE WHEN production_positive = 1 AND shadow_positive = 1 THEN 1 END),
    COUNT(CASE WHEN production_positive = 1 AND shadow_positive = 0 THEN 1 END),
    COUNT(CASE WHEN production_positive = 0 AND shadow_positive = 1 THEN 1 END),
    COUNT(CASE WHEN production_positive = 0 AND shadow_positive = 0 THEN 1 END),
    COUNT(CASE WHEN content_type_mismatch THEN 1 END),
    AVG(abs_difference),
    SUM(
      CASE
        WHEN position = median_low
        THEN abs_difference * (
          1 - median_fraction
        )
        WHEN position = median_low + 1
        THEN abs_difference * median_fraction
        ELSE 0
      END
    ),
    SUM(
      CASE
        WHEN position = p95_low
        THEN abs_difference * (
          1 - p95_fraction
        )
        WHEN position = p95_low + 1
        THEN abs_difference * p95_fraction
        ELSE 0
      END
    ),
    NULL,
    NULL,
    NULL
  FROM interpolated
  GROUP BY
    pair_group
  UNION ALL
  SELECT
    kinds.row_kind,
    side,
    NULL,
    issue,
    CASE WHEN kinds.row_kind = 'issue_count' THEN side_lines END,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
    CASE WHEN kinds.row_kind = 'issue_sample' THEN CAST(source_file AS VARCHAR) END,
    CASE WHEN kinds.row_kind = 'issue_sample' THEN line_number END,
    CASE WHEN kinds.row_kind = 'issue_sample' THEN detail END
  FROM (
    SELECT
      *,
      ROW_NUMBER() OVER (PARTITION BY issue ORDER BY source_file, line_number) AS sample_number,
      ROW_NUMBER() OVER (PARTITION BY issue, side ORDER BY source_file, line_number) AS side_number,
      COUNT(*) OVER (PARTITION BY issue, side) AS side_lines
    FROM issue_lines
  ) AS numbered
  CROSS JOIN (VALUES
    ('issue_count'),
    ('issue_sample')) AS kinds(row_kind)
  WHERE
    (
      kinds.row_kind = 'issue_count' AND side_number = 1
    )
    OR (
      kinds.row_kind = 'issue_sample' AND sample_number <= 20
    )
)
SELECT
  *
FROM result
ORDER BY
  row_kind,
  side,
  paired_by,
  issue,
  source_file,
  line_number
