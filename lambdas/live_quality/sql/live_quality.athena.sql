-- GENERATED from live_quality.sql by scripts/generate_live_athena_sql.py (sqlglot 30.30.0); do not edit.
-- Athena (engine version 3, Trino) text of the live-quality query; its parameters and result columns
-- are the source's (see live_quality.sql and live_quality/query.py).
WITH capture_lines AS (
  SELECT
    line,
    "$path" AS source_file,
    CAST(NULL AS BIGINT) AS line_number,
    endpoint,
    variant,
    hour
  FROM capture_raw
), label_lines AS (
  SELECT
    line,
    "$path" AS source_file,
    CAST(NULL AS BIGINT) AS line_number,
    hour
  FROM ground_truth_raw
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
), capture_rows AS (
  SELECT
    variant,
    SUBSTR(hour, 1, 10) AS day,
    source_file,
    line_number,
    CASE WHEN inference_id IS NULL THEN 1 ELSE 0 END AS without_inference_id,
    COALESCE(excerpt, join_key) AS detail,
    inference_hour,
    CASE WHEN parsed_score BETWEEN -1.0e308 AND 1.0e308 THEN parsed_score END AS score,
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
), capture_duplicated AS (
  SELECT
    detail AS join_key
  FROM capture_rows
  WHERE
    malformed IS NULL
  GROUP BY
    detail
  HAVING
    COUNT(*) > 1
), captures AS (
  SELECT
    variant,
    day,
    source_file,
    line_number,
    without_inference_id,
    detail AS join_key,
    inference_hour,
    score
  FROM capture_rows AS c
  WHERE
    malformed IS NULL
    AND NOT EXISTS(
      SELECT
        1
      FROM capture_duplicated AS d
      WHERE
        d.join_key = c.detail
    )
), label_read AS (
  SELECT
    hour,
    source_file,
    line_number,
    line,
    TRY(JSON_EXTRACT_SCALAR(line, '$.eventVersion')) AS event_version,
    TRY(JSON_EXTRACT_SCALAR(line, '$.eventMetadata.eventId')) AS join_key,
    UPPER(TRY(JSON_EXTRACT_SCALAR(line, '$.groundTruthData.encoding'))) AS label_encoding,
    TRIM(TRY(JSON_EXTRACT_SCALAR(line, '$.groundTruthData.data'))) AS label_data
  FROM label_lines
  WHERE
    hour >= ? AND hour < ?
), label_fields AS (
  SELECT
    hour,
    source_file,
    line_number,
    CASE WHEN event_version IS NULL THEN SUBSTR(line, 1, 200) END AS excerpt,
    CASE
      WHEN NOT event_version IS NULL
      THEN 0
      WHEN TRY(JSON_PARSE(line)) IS NULL
      THEN 1
      ELSE 0
    END AS not_json,
    event_version,
    join_key,
    label_encoding,
    label_data
  FROM label_read
), label_rows AS (
  SELECT
    hour,
    source_file,
    line_number,
    COALESCE(excerpt, join_key) AS detail,
    CASE WHEN malformed IS NULL THEN CAST(label_data AS INTEGER) END AS label,
    malformed
  FROM (
    SELECT
      *,
      CASE
        WHEN not_json = 1
        THEN 'label_not_json'
        WHEN event_version IS NULL OR event_version <> '0'
        THEN 'label_unknown_event_version'
        WHEN join_key IS NULL
        THEN 'label_without_event_id'
        WHEN label_encoding IS NULL OR label_encoding <> 'CSV'
        THEN 'label_not_csv'
        WHEN label_data IS NULL OR NOT label_data IN ('0', '1')
        THEN 'label_not_0_or_1'
      END AS malformed
    FROM label_fields
  ) AS checked
), label_duplicated AS (
  SELECT
    detail AS join_key
  FROM label_rows
  WHERE
    malformed IS NULL
  GROUP BY
    detail
  HAVING
    COUNT(*) > 1
), label_ranked AS (
  SELECT
    hour,
    source_file,
    line_number,
    detail AS join_key,
    label,
    ROW_NUMBER() OVER (
      PARTITION BY detail
      ORDER BY hour DESC, source_file DESC, line_number DESC, label DESC
    ) AS recency
  FROM label_rows AS g
  WHERE
    malformed IS NULL
    AND EXISTS(
      SELECT
        1
      FROM label_duplicated AS d
      WHERE
        d.join_key = g.detail
    )
), labels AS (
  SELECT
    hour AS label_hour,
    source_file,
    line_number,
    detail AS join_key,
    label
  FROM label_rows AS g
  WHERE
    malformed IS NULL
    AND NOT EXISTS(
      SELECT
        1
      FROM label_duplicated AS d
      WHERE
        d.join_key = g.detail
    )
  UNION ALL
  SELECT
    hour AS label_hour,
    source_file,
    line_number,
    join_key,
    label
  FROM label_ranked
  WHERE
    recency = 1
), matched AS (
  SELECT
    c.join_key AS capture_key,
    c.variant,
    c.day,
    c.score,
    l.label,
    CASE WHEN c.score >= ? THEN 1 ELSE 0 END AS predicted,
    DATE_DIFF(
      'HOUR',
      DATE_TRUNC('HOUR', c.inference_hour),
      DATE_TRUNC('HOUR', DATE_PARSE(l.label_hour, '%Y/%m/%d/%H'))
    ) AS delay_hours,
    c.without_inference_id,
    l.join_key AS label_key,
    l.source_file AS label_file,
    l.line_number AS label_line
  FROM captures AS c
  FULL OUTER JOIN labels AS l
    ON l.join_key = c.join_key
), joined AS (
  SELECT
    variant,
    day,
    score,
    CASE WHEN delay_hours < 0 THEN NULL ELSE label END AS label,
    predicted,
    delay_hours,
    without_inference_id
  FROM matched
  WHERE
    NOT capture_key IS NULL
), score_groups AS (
  SELECT
    variant,
    COALESCE(day, 'all') AS period,
    score,
    CAST(SUM(label) AS BIGINT) AS positives_here,
    CAST(SUM(1 - label) AS BIGINT) AS negatives_here
  FROM joined
  WHERE
    NOT label IS NULL
  GROUP BY
    GROUPING SETS (
      (variant, day, score),
      (variant, score)
    )
), placed AS (
  SELECT
    *,
    SUM(positives_here) OVER (PARTITION BY variant, period) AS positives,
    SUM(negatives_here) OVER (PARTITION BY variant, period) AS negatives,
    SUM(positives_here) OVER (
      PARTITION BY variant, period
      ORDER BY score
      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
    ) AS positives_at_or_below,
    SUM(negatives_here) OVER (
      PARTITION BY variant, period
      ORDER BY score
      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
    ) AS negatives_at_or_below
  FROM score_groups
), placements AS (
  SELECT
    variant,
    period,
    positives,
    negatives,
    positives_here,
    negatives_here,
    CAST((
      negatives_at_or_below - 0.5 * negatives_here
    ) AS DOUBLE) / negatives AS v10,
    CAST((
      positives - positives_at_or_below + 0.5 * positives_here
    ) AS DOUBLE) / positives AS v01
  FROM placed
  WHERE
    positives > 0 AND negatives > 0
), auc AS (
  SELECT
    variant,
    period,
    CAST(SUM(positives_here * v10) AS DOUBLE) / MAX(positives) AS roc_auc,
    CASE
      WHEN MAX(positives) > 1
      THEN CAST((
        SUM(positives_here * v10 * v10) - CAST(SUM(positives_here * v10) * SUM(positives_here * v10) AS DOUBLE) / MAX(positives)
      ) AS DOUBLE) / (
        MAX(positives) - 1
      )
    END AS v10_variance,
    CASE
      WHEN MAX(negatives) > 1
      THEN CAST((
        SUM(negatives_here * v01 * v01) - CAST(SUM(negatives_here * v01) * SUM(negatives_here * v01) AS DOUBLE) / MAX(negatives)
      ) AS DOUBLE) / (
        MAX(negatives) - 1
      )
    END AS v01_variance
  FROM placements
  GROUP BY
    variant,
    period
), counts AS (
  SELECT
    variant,
    COALESCE(day, 'all') AS period,
    COUNT(*) AS captured,
    SUM(without_inference_id) AS without_inference_id,
    SUM(CASE WHEN NOT label IS NULL THEN without_inference_id ELSE 0 END) AS labelled_without_inference_id,
    COUNT(label) AS labelled,
    SUM(CASE WHEN label = 1 THEN 1 ELSE 0 END) AS positives,
    SUM(CASE WHEN label = 0 THEN 1 ELSE 0 END) AS negatives,
    SUM(CASE WHEN label = 1 AND predicted = 1 THEN 1 ELSE 0 END) AS tp,
    SUM(CASE WHEN label = 0 AND predicted = 1 THEN 1 ELSE 0 END) AS fp,
    SUM(CASE WHEN label = 0 AND predicted = 0 THEN 1 ELSE 0 END) AS tn,
    SUM(CASE WHEN label = 1 AND predicted = 0 THEN 1 ELSE 0 END) AS fn
  FROM joined
  GROUP BY
    GROUPING SETS (
      (variant, day),
      (
        variant
      )
    )
), issues AS (
  SELECT
    malformed AS issue,
    variant,
    source_file,
    line_number,
    detail
  FROM capture_rows
  WHERE
    NOT malformed IS NULL
  UNION ALL
  SELECT
    'capture_duplicate_id' AS issue,
    variant,
    source_file,
    line_number,
    detail
  FROM capture_rows AS c
  WHERE
    malformed IS NULL
    AND EXISTS(
      SELECT
        1
      FROM capture_duplicated AS d
      WHERE
        d.join_key = c.detail
    )
  UNION ALL
  SELECT
    'capture_without_inference_id' AS issue,
    variant,
    source_file,
    line_number,
    join_key AS detail
  FROM captures
  WHERE
    without_inference_id = 1
  UNION ALL
  SELECT
    malformed AS issue,
    NULL AS variant,
    source_file,
    line_number,
    detail
  FROM label_rows
  WHERE
    NOT malformed IS NULL
  UNION ALL
  SELECT
    'label_duplicate_superseded' AS issue,
    NULL AS variant,
    source_file,
    line_number,
    join_key AS detail
  FROM label_ranked
  WHERE
    recency > 1
  UNION ALL
  SELECT
    'label_for_unknown_id' AS issue,
    NULL AS variant,
    label_file,
    label_line,
    label_key AS detail
  FROM matched
  WHERE
    capture_key IS NULL
  UNION ALL
  SELECT
    'label_before_inference' AS issue,
    variant,
    NULL AS source_file,
    NULL AS line_number,
    NULL AS detail
  FROM joined
  WHERE
    delay_hours < 0
), issue_samples AS (
  SELECT
    *,
    ROW_NUMBER() OVER (PARTITION BY issue ORDER BY source_file, line_number, detail) AS sample
  FROM issues
)
SELECT
  'metrics' AS row_kind,
  k.variant,
  k.period,
  k.captured,
  k.without_inference_id,
  k.labelled,
  k.positives,
  k.negatives,
  k.tp,
  k.fp,
  k.tn,
  k.fn,
  a.roc_auc,
  a.v10_variance,
  a.v01_variance,
  CAST(NULL AS BIGINT) AS delay_hours,
  CAST(NULL AS VARCHAR) AS issue,
  CAST(NULL AS VARCHAR) AS source_file,
  CAST(NULL AS BIGINT) AS line_number,
  CAST(NULL AS VARCHAR) AS detail,
  CAST(NULL AS BIGINT) AS n,
  k.labelled_without_inference_id
FROM counts AS k
LEFT JOIN auc AS a
  ON a.variant = k.variant AND a.period = k.period
UNION ALL
SELECT
  'delay',
  variant,
  'all',
  NULL,
  NULL,
  NULL,
  NULL,
  NULL,
  NULL,
  NULL,
  NULL,
  NULL,
  NULL,
  NULL,
  NULL,
  delay_hours,
  NULL,
  NULL,
  NULL,
  NULL,
  COUNT(*),
  NULL
FROM joined
WHERE
  NOT label IS NULL
GROUP BY
  variant,
  delay_hours
UNION ALL
SELECT
  'issue_count',
  variant,
  NULL,
  NULL,
  NULL,
  NULL,
  NULL,
  NULL,
  NULL,
  NULL,
  NULL,
  NULL,
  NULL,
  NULL,
  NULL,
  NULL,
  issue,
  NULL,
  NULL,
  NULL,
  COUNT(*),
  NULL
FROM issues
GROUP BY
  issue,
  variant
UNION ALL
SELECT
  'issue_sample',
  variant,
  NULL,
  NULL,
  NULL,
  NULL,
  NULL,
  NULL,
  NULL,
  NULL,
  NULL,
  NULL,
  NULL,
  NULL,
  NULL,
  NULL,
  issue,
  source_file,
  line_number,
  detail,
  NULL,
  NULL
FROM issue_samples
WHERE
  sample <= 20
ORDER BY
  1,
  2,
  3,
  16,
  17,
  18,
  19
