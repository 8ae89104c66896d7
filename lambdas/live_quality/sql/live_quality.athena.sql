-- GENERATED from live_quality.sql (with capture_parsing.sql, which it includes) by
-- scripts/generate_live_athena_sql.py (sqlglot 30.30.0); do not edit.
-- Athena (engine version 3, Trino) text of the live-quality query; its parameters, result columns and
-- threshold token are the source's (see live_quality.sql, live_quality/query.py and threshold.py).
-- Each Glue table is read once and each WITH query used once: Trino inlines a WITH query at every use.
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
), capture_checked AS (
  SELECT
    variant,
    SUBSTR(hour, 1, 10) AS day,
    hour AS capture_hour,
    source_file,
    line_number,
    CASE WHEN inference_id IS NULL THEN 1 ELSE 0 END AS without_inference_id,
    COALESCE(excerpt, join_key) AS detail,
    inference_hour,
    millionths_above_threshold,
    malformed
  FROM capture_parsed
), capture_counted AS (
  SELECT
    *,
    COUNT(*) OVER (PARTITION BY detail, malformed) AS copies
  FROM capture_checked
), capture_classified AS (
  SELECT
    variant,
    day,
    capture_hour,
    source_file,
    line_number,
    without_inference_id,
    detail,
    inference_hour,
    CASE
      WHEN millionths_above_threshold < 0
      THEN LEAST(FLOOR(millionths_above_threshold + 0.5), -1)
      ELSE FLOOR(millionths_above_threshold + 0.5)
    END AS score_step,
    CASE WHEN malformed IS NULL AND copies = 1 THEN detail END AS capture_key,
    CASE
      WHEN NOT malformed IS NULL
      THEN malformed
      WHEN copies > 1
      THEN 'capture_duplicate_id'
      WHEN without_inference_id = 1
      THEN 'capture_without_inference_id'
    END AS capture_issue
  FROM capture_counted
), captures AS (
  SELECT
    capture_key,
    variant,
    day,
    capture_hour,
    inference_hour,
    score_step,
    without_inference_id,
    capture_issue,
    CASE WHEN NOT capture_issue IS NULL THEN source_file END AS capture_file,
    CASE WHEN NOT capture_issue IS NULL THEN line_number END AS capture_line,
    CASE WHEN NOT capture_issue IS NULL THEN detail END AS capture_detail
  FROM capture_classified
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
), label_checked AS (
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
), label_ranked AS (
  SELECT
    *,
    ROW_NUMBER() OVER (
      PARTITION BY detail, malformed
      ORDER BY hour DESC, source_file DESC, line_number DESC, label DESC
    ) AS recency
  FROM label_checked
), labels AS (
  SELECT
    CASE WHEN malformed IS NULL AND recency = 1 THEN detail END AS label_key,
    CASE WHEN malformed IS NULL AND recency = 1 THEN label END AS label,
    CASE
      WHEN malformed IS NULL AND recency = 1
      THEN DATE_PARSE(hour, '%Y/%m/%d/%H')
    END AS label_hour,
    CASE
      WHEN NOT malformed IS NULL
      THEN malformed
      WHEN recency > 1
      THEN 'label_duplicate_superseded'
    END AS label_issue_before_join,
    source_file,
    line_number,
    CASE WHEN NOT malformed IS NULL OR recency > 1 THEN detail END AS detail
  FROM label_ranked
), joined AS (
  SELECT
    c.capture_key,
    c.variant,
    c.day,
    c.capture_hour,
    c.score_step,
    c.without_inference_id,
    c.capture_issue,
    c.capture_file,
    c.capture_line,
    c.capture_detail,
    l.label_key,
    l.label,
    DATE_DIFF('HOUR', DATE_TRUNC('HOUR', c.inference_hour), DATE_TRUNC('HOUR', l.label_hour)) AS delay_hours,
    l.label_issue_before_join,
    l.source_file AS label_file,
    l.line_number AS label_line,
    COALESCE(l.detail, l.label_key) AS label_detail
  FROM labels AS l
  FULL OUTER JOIN captures AS c
    ON c.capture_key = l.label_key
), outcomes AS (
  SELECT
    CASE WHEN NOT capture_key IS NULL THEN variant END AS metric_variant,
    day,
    capture_hour,
    CASE WHEN NOT capture_key IS NULL AND delay_hours >= 0 THEN label END AS label,
    CASE
      WHEN NOT capture_key IS NULL AND delay_hours >= 0 AND NOT label IS NULL
      THEN score_step
    END AS labelled_score,
    CASE
      WHEN NOT capture_key IS NULL AND delay_hours >= 0 AND NOT label IS NULL
      THEN delay_hours
    END AS labelled_delay,
    without_inference_id,
    variant,
    capture_issue,
    capture_file,
    capture_line,
    capture_detail,
    label_issue,
    CASE WHEN NOT label_issue IS NULL THEN label_file END AS label_file,
    CASE WHEN NOT label_issue IS NULL THEN label_line END AS label_line,
    CASE WHEN NOT label_issue IS NULL THEN label_detail END AS label_detail
  FROM (
    SELECT
      *,
      CASE
        WHEN NOT label_issue_before_join IS NULL
        THEN label_issue_before_join
        WHEN NOT label_key IS NULL AND capture_key IS NULL
        THEN 'label_for_unknown_id'
        WHEN delay_hours < 0
        THEN 'label_before_inference'
      END AS label_issue
    FROM joined
  ) AS with_label_issue
), grouped AS (
  SELECT
    CASE
      WHEN GROUPING(labelled_score) = 0
      THEN CASE
        WHEN NOT metric_variant IS NULL AND NOT labelled_score IS NULL
        THEN 'score'
      END
      WHEN GROUPING(labelled_delay) = 0
      THEN CASE
        WHEN NOT metric_variant IS NULL AND NOT labelled_delay IS NULL
        THEN 'delay'
      END
      WHEN GROUPING(metric_variant) = 0
      THEN CASE WHEN NOT metric_variant IS NULL THEN 'metrics' END
      WHEN GROUPING(capture_file) = 0
      THEN CASE WHEN NOT capture_issue IS NULL THEN 'issue_sample' END
      WHEN GROUPING(label_file) = 0
      THEN CASE WHEN NOT label_issue IS NULL THEN 'issue_sample' END
      WHEN GROUPING(capture_issue) = 0
      THEN CASE WHEN NOT capture_issue IS NULL THEN 'issue_count' END
      WHEN GROUPING(label_issue) = 0
      THEN CASE WHEN NOT label_issue IS NULL THEN 'issue_count' END
    END AS row_kind,
    COALESCE(metric_variant, variant) AS variant,
    COALESCE(day, capture_hour, 'all') AS period,
    labelled_score AS score,
    labelled_delay AS delay_hours,
    COALESCE(capture_issue, label_issue) AS issue,
    COALESCE(capture_file, label_file) AS source_file,
    COALESCE(capture_line, label_line) AS line_number,
    COALESCE(capture_detail, label_detail) AS detail,
    COUNT(*) AS n,
    CAST(SUM(without_inference_id) AS BIGINT) AS without_inference_id,
    CAST(SUM(CASE WHEN NOT label IS NULL THEN without_inference_id ELSE 0 END) AS BIGINT) AS labelled_without_inference_id,
    CAST(SUM(label) AS BIGINT) AS positives,
    CAST(SUM(1 - label) AS BIGINT) AS negatives
  FROM outcomes
  GROUP BY
    GROUPING SETS (
      (metric_variant, day, labelled_score),
      (metric_variant, capture_hour, labelled_score),
      (metric_variant, labelled_score),
      (metric_variant, day),
      (metric_variant, capture_hour),
      (
        metric_variant
      ),
      (metric_variant, labelled_delay),
      (capture_issue, variant),
      (label_issue, variant),
      (capture_issue, variant, capture_file, capture_line, capture_detail),
      (label_issue, variant, label_file, label_line, label_detail)
    )
), placed AS (
  SELECT
    *,
    SUM(CASE WHEN row_kind = 'score' THEN CAST(positives AS DOUBLE) END) OVER (
      PARTITION BY CASE WHEN row_kind = 'score' THEN 'metrics' ELSE row_kind END, variant, period, source_file, line_number, detail
      ORDER BY score
      ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
    ) AS scored_positives,
    SUM(CASE WHEN row_kind = 'score' THEN CAST(negatives AS DOUBLE) END) OVER (
      PARTITION BY CASE WHEN row_kind = 'score' THEN 'metrics' ELSE row_kind END, variant, period, source_file, line_number, detail
      ORDER BY score
      ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
    ) AS scored_negatives,
    SUM(CASE WHEN row_kind = 'score' THEN CAST(positives AS DOUBLE) END) OVER (
      PARTITION BY CASE WHEN row_kind = 'score' THEN 'metrics' ELSE row_kind END, variant, period, source_file, line_number, detail
      ORDER BY score
      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
    ) AS positives_at_or_below,
    SUM(CASE WHEN row_kind = 'score' THEN CAST(negatives AS DOUBLE) END) OVER (
      PARTITION BY CASE WHEN row_kind = 'score' THEN 'metrics' ELSE row_kind END, variant, period, source_file, line_number, detail
      ORDER BY score
      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
    ) AS negatives_at_or_below
  FROM grouped
  WHERE
    NOT row_kind IS NULL
), placements AS (
  SELECT
    *,
    CASE
      WHEN row_kind = 'score' AND scored_positives > 0 AND scored_negatives > 0
      THEN CAST((
        negatives_at_or_below - 0.5 * negatives
      ) AS DOUBLE) / scored_negatives
    END AS v10,
    CASE
      WHEN row_kind = 'score' AND scored_positives > 0 AND scored_negatives > 0
      THEN CAST((
        scored_positives - positives_at_or_below + 0.5 * positives
      ) AS DOUBLE) / scored_positives
    END AS v01,
    CASE WHEN score >= 0 THEN 1 ELSE 0 END AS predicted
  FROM placed
), collapsed AS (
  SELECT
    CASE WHEN row_kind = 'score' THEN 'metrics' ELSE row_kind END AS row_kind,
    CASE WHEN row_kind <> 'issue_sample' THEN variant END AS variant,
    period,
    delay_hours,
    issue,
    MIN_BY(
      CASE
        WHEN row_kind = 'issue_sample'
        THEN CAST(ROW(variant, source_file, line_number, detail) AS ROW(variant VARCHAR, source_file VARCHAR, line_number BIGINT, detail VARCHAR))
      END,
      CASE
        WHEN row_kind = 'issue_sample'
        THEN ROW(
          source_file,
          line_number IS NULL,
          COALESCE(line_number, 0),
          detail IS NULL,
          COALESCE(detail, '')
        )
      END,
      20
    ) AS samples,
    MAX(CASE WHEN row_kind <> 'score' THEN n END) AS n,
    MAX(CASE WHEN row_kind <> 'score' THEN without_inference_id END) AS without_inference_id,
    MAX(CASE WHEN row_kind <> 'score' THEN labelled_without_inference_id END) AS labelled_without_inference_id,
    SUM(CASE WHEN row_kind = 'score' THEN positives + negatives ELSE 0 END) AS labelled,
    SUM(CASE WHEN row_kind = 'score' THEN positives ELSE 0 END) AS positives,
    SUM(CASE WHEN row_kind = 'score' THEN negatives ELSE 0 END) AS negatives,
    SUM(CASE WHEN row_kind = 'score' AND predicted = 1 THEN positives ELSE 0 END) AS tp,
    SUM(CASE WHEN row_kind = 'score' AND predicted = 1 THEN negatives ELSE 0 END) AS fp,
    MAX(scored_positives) AS scored_positives,
    MAX(scored_negatives) AS scored_negatives,
    SUM(positives * v10) AS sum_v10,
    SUM(positives * v10 * v10) AS sum_v10_squared,
    SUM(negatives * v01) AS sum_v01,
    SUM(negatives * v01 * v01) AS sum_v01_squared
  FROM placements
  GROUP BY
    1,
    2,
    period,
    delay_hours,
    issue
)
SELECT
  row_kind,
  CASE
    WHEN row_kind = 'issue_sample'
    THEN samples[sample_number].variant
    ELSE variant
  END AS variant,
  CASE row_kind WHEN 'metrics' THEN period WHEN 'delay' THEN 'all' END AS period,
  CASE WHEN row_kind = 'metrics' THEN n END AS captured,
  CASE WHEN row_kind = 'metrics' THEN without_inference_id END AS without_inference_id,
  CASE WHEN row_kind = 'metrics' THEN labelled END AS labelled,
  CASE WHEN row_kind = 'metrics' THEN positives END AS positives,
  CASE WHEN row_kind = 'metrics' THEN negatives END AS negatives,
  CASE WHEN row_kind = 'metrics' THEN tp END AS tp,
  CASE WHEN row_kind = 'metrics' THEN fp END AS fp,
  CASE WHEN row_kind = 'metrics' THEN negatives - fp END AS tn,
  CASE WHEN row_kind = 'metrics' THEN positives - tp END AS fn,
  CASE
    WHEN scored_positives > 0 AND scored_negatives > 0
    THEN CAST(sum_v10 AS DOUBLE) / scored_positives
  END AS roc_auc,
  CASE
    WHEN scored_positives > 1 AND scored_negatives > 0
    THEN CAST((
      sum_v10_squared - CAST(sum_v10 * sum_v10 AS DOUBLE) / scored_positives
    ) AS DOUBLE) / (
      scored_positives - 1
    )
  END AS v10_variance,
  CASE
    WHEN scored_negatives > 1 AND scored_positives > 0
    THEN CAST((
      sum_v01_squared - CAST(sum_v01 * sum_v01 AS DOUBLE) / scored_negatives
    ) AS DOUBLE) / (
      scored_negatives - 1
    )
  END AS v01_variance,
  delay_hours,
  issue,
  samples[sample_number].source_file AS source_file,
  samples[sample_number].line_number AS line_number,
  samples[sample_number].detail AS detail,
  CASE WHEN row_kind IN ('delay', 'issue_count') THEN n END AS n,
  CASE WHEN row_kind = 'metrics' THEN labelled_without_inference_id END AS labelled_without_inference_id
FROM collapsed
CROSS JOIN UNNEST(SEQUENCE(1, COALESCE(CARDINALITY(samples), 1))) AS numbered(sample_number)
ORDER BY
  1,
  2,
  3,
  16,
  17,
  18,
  19,
  20
