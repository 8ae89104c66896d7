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
    COUNT(CASE WHEN side = 'production' AND malformed IS NULL THEN 1 END) OVER (PARTITION BY event_id) AS production_event_copies,
    COUNT(CASE WHEN side = 'shadow' AND malformed IS NULL THEN 1 END) OVER (PARTITION BY event_id) AS shadow_event_copies
  FROM sided
), event_paired AS (
  SELECT
    *,
    malformed IS NULL
    AND NOT event_id IS NULL
    AND production_event_copies = 1
    AND shadow_event_copies = 1 AS paired_by_event_id,
    CASE
      WHEN side = 'production'
      THEN production_event_copies
      ELSE shadow_event_copies
    END AS own_event_copies
  FROM by_event_id
), by_inference_id AS (
  SELECT
    *,
    COUNT(
      CASE
        WHEN side = 'production' AND malformed IS NULL AND NOT paired_by_event_id
        THEN 1
      END
    ) OVER (PARTITION BY inference_id, CASE WHEN inference_id IS NULL THEN event_id END) AS production_inference_copies,
    COUNT(
      CASE
        WHEN side = 'shadow' AND malformed IS NULL AND NOT paired_by_event_id
        THEN 1
      END
    ) OVER (PARTITION BY inference_id, CASE WHEN inference_id IS NULL THEN event_id END) AS shadow_inference_copies
  FROM event_paired
), keyed AS (
  SELECT
    *,
    CASE
      WHEN paired_by_event_id
      THEN 'eventId'
      WHEN malformed IS NULL
      AND NOT inference_id IS NULL
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
), partnered AS (
  SELECT
    *,
    MAX(CASE WHEN side = 'shadow' THEN positive END) OVER (PARTITION BY paired_by, pair_key, CASE WHEN paired_by IS NULL THEN event_id END) AS shadow_positive,
    MAX(CASE WHEN side = 'shadow' THEN score END) OVER (PARTITION BY paired_by, pair_key, CASE WHEN paired_by IS NULL THEN event_id END) AS shadow_score,
    MAX(CASE WHEN side = 'shadow' THEN input_content_type END) OVER (PARTITION BY paired_by, pair_key, CASE WHEN paired_by IS NULL THEN event_id END) AS shadow_input_content_type,
    MAX(CASE WHEN side = 'shadow' THEN output_content_type END) OVER (PARTITION BY paired_by, pair_key, CASE WHEN paired_by IS NULL THEN event_id END) AS shadow_output_content_type,
    MAX(CASE WHEN side = 'shadow' THEN CAST(source_file AS VARCHAR) END) OVER (PARTITION BY paired_by, pair_key, CASE WHEN paired_by IS NULL THEN event_id END) AS shadow_source_file,
    MAX(CASE WHEN side = 'shadow' THEN line_number END) OVER (PARTITION BY paired_by, pair_key, CASE WHEN paired_by IS NULL THEN event_id END) AS shadow_line_number
  FROM keyed
), pair_lines AS (
  SELECT
    *,
    CASE
      WHEN side = 'production' AND NOT paired_by IS NULL
      THEN ABS(score - shadow_score)
    END AS abs_difference,
    input_content_type IS DISTINCT FROM shadow_input_content_type
    OR output_content_type IS DISTINCT FROM shadow_output_content_type AS content_type_mismatch,
    CONCAT(
      CAST('input ' AS VARCHAR),
      CAST(COALESCE(input_content_type, '(none)') AS VARCHAR),
      CAST(' | ' AS VARCHAR),
      CAST(COALESCE(shadow_input_content_type, '(none)') AS VARCHAR),
      CAST('; output ' AS VARCHAR),
      CAST(COALESCE(output_content_type, '(none)') AS VARCHAR),
      CAST(' | ' AS VARCHAR),
      CAST(COALESCE(shadow_output_content_type, '(none)') AS VARCHAR),
      CAST('; shadow line ' AS VARCHAR),
      CAST(shadow_source_file AS VARCHAR),
      CAST(':' AS VARCHAR),
      CAST(COALESCE(CAST(shadow_line_number AS VARCHAR), '?') AS VARCHAR)
    ) AS content_types
  FROM partnered
), facts AS (
  SELECT
    fan.row_kind,
    CASE WHEN fan.row_kind <> 'pairs' THEN pair_lines.side END AS side,
    CASE
      WHEN fan.row_kind = 'pairs'
      THEN CASE WHEN fan.fact = 'all' THEN 'all' ELSE pair_lines.paired_by END
    END AS pair_group,
    CASE
      WHEN fan.row_kind IN ('issue_count', 'issue_sample')
      THEN CASE WHEN fan.fact = 'malformed' THEN pair_lines.malformed ELSE fan.fact END
    END AS issue,
    pair_lines.paired_by AS line_paired_by,
    pair_lines.positive AS production_positive,
    pair_lines.shadow_positive,
    pair_lines.abs_difference,
    pair_lines.content_type_mismatch,
    CAST(pair_lines.source_file AS VARCHAR) AS source_file,
    pair_lines.line_number,
    CASE fan.fact
      WHEN 'malformed'
      THEN pair_lines.detail
      WHEN 'duplicate_event_id'
      THEN pair_lines.event_id
      WHEN 'duplicate_inference_id'
      THEN pair_lines.inference_id
      WHEN 'shadow_without_production'
      THEN COALESCE(pair_lines.event_id, pair_lines.inference_id)
      WHEN 'content_type_mismatch'
      THEN pair_lines.content_types
    END AS detail
  FROM pair_lines
  CROSS JOIN (VALUES
    ('side', 'good'),
    ('pairs', 'key'),
    ('pairs', 'all'),
    ('issue_count', 'malformed'),
    ('issue_count', 'duplicate_event_id'),
    ('issue_count', 'duplicate_inference_id'),
    ('issue_count', 'shadow_without_production'),
    ('issue_count', 'content_type_mismatch'),
    ('issue_sample', 'malformed'),
    ('issue_sample', 'duplicate_event_id'),
    ('issue_sample', 'duplicate_inference_id'),
    ('issue_sample', 'shadow_without_production'),
    ('issue_sample', 'content_type_mismatch')) AS fan(row_kind, fact)
  WHERE
    CASE fan.fact
      WHEN 'good'
      THEN pair_lines.malformed IS NULL
      WHEN 'key'
      THEN pair_lines.side = 'production' AND NOT pair_lines.paired_by IS NULL
      WHEN 'all'
      THEN pair_lines.side = 'production' AND NOT pair_lines.paired_by IS NULL
      WHEN 'malformed'
      THEN NOT pair_lines.malformed IS NULL
      WHEN 'duplicate_event_id'
      THEN pair_lines.malformed IS NULL
      AND NOT pair_lines.event_id IS NULL
      AND pair_lines.own_event_copies > 1
      WHEN 'duplicate_inference_id'
      THEN pair_lines.malformed IS NULL
      AND NOT pair_lines.paired_by_event_id
      AND NOT pair_lines.inference_id IS NULL
      AND pair_lines.own_inference_copies > 1
      WHEN 'shadow_without_production'
      THEN pair_lines.malformed IS NULL
      AND pair_lines.side = 'shadow'
      AND pair_lines.paired_by IS NULL
      WHEN 'content_type_mismatch'
      THEN pair_lines.side = 'production'
      AND NOT pair_lines.paired_by IS NULL
      AND pair_lines.content_type_mismatch
    END
), ranked AS (
  SELECT
    *,
    ROW_NUMBER() OVER (
      PARTITION BY row_kind, pair_group, CASE WHEN row_kind <> 'pairs' THEN source_file END
      ORDER BY abs_difference
    ) - 1 AS difference_rank,
    COUNT(*) OVER (
      PARTITION BY row_kind, pair_group, CASE WHEN row_kind <> 'pairs' THEN source_file END
    ) AS group_pairs,
    ROW_NUMBER() OVER (
      PARTITION BY row_kind, issue, CASE WHEN row_kind <> 'issue_sample' THEN source_file END
      ORDER BY source_file, line_number
    ) AS sample_number
  FROM facts
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
  FROM ranked
  WHERE
    row_kind <> 'issue_sample' OR sample_number <= 20
), result AS (
  SELECT
    row_kind,
    side,
    pair_group AS paired_by,
    issue,
    CASE WHEN row_kind <> 'issue_sample' THEN COUNT(*) END AS n,
    CASE WHEN row_kind = 'side' THEN COUNT(line_paired_by) END AS paired,
    CASE
      WHEN row_kind = 'pairs'
      THEN COUNT(CASE WHEN production_positive = 1 AND shadow_positive = 1 THEN 1 END)
    END AS both_positive,
    CASE
      WHEN row_kind = 'pairs'
      THEN COUNT(CASE WHEN production_positive = 1 AND shadow_positive = 0 THEN 1 END)
    END AS production_only_positive,
    CASE
      WHEN row_kind = 'pairs'
      THEN COUNT(CASE WHEN production_positive = 0 AND shadow_positive = 1 THEN 1 END)
    END AS shadow_only_positive,
    CASE
      WHEN row_kind = 'pairs'
      THEN COUNT(CASE WHEN production_positive = 0 AND shadow_positive = 0 THEN 1 END)
    END AS both_negative,
    CASE
      WHEN row_kind = 'pairs'
      THEN COUNT(CASE WHEN content_type_mismatch THEN 1 END)
    END AS content_type_mismatch,
    CASE WHEN row_kind = 'pairs' THEN AVG(abs_difference) END AS mean_abs_difference,
    CASE
      WHEN row_kind = 'pairs'
      THEN SUM(
        CASE
          WHEN difference_rank = median_low
          THEN abs_difference * (
            1 - median_fraction
          )
          WHEN difference_rank = median_low + 1
          THEN abs_difference * median_fraction
          ELSE 0
        END
      )
    END AS median_abs_difference,
    CASE
      WHEN row_kind = 'pairs'
      THEN SUM(
        CASE
          WHEN difference_rank = p95_low
          THEN abs_difference * (
            1 - p95_fraction
          )
          WHEN difference_rank = p95_low + 1
          THEN abs_difference * p95_fraction
          ELSE 0
        END
      )
    END AS p95_abs_difference,
    CASE WHEN row_kind = 'issue_sample' THEN MAX(source_file) END AS source_file,
    CASE WHEN row_kind = 'issue_sample' THEN MAX(line_number) END AS line_number,
    CASE WHEN row_kind = 'issue_sample' THEN MAX(detail) END AS detail
  FROM interpolated
  GROUP BY
    row_kind,
    side,
    pair_group,
    issue,
    CASE WHEN row_kind = 'issue_sample' THEN sample_number END
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
