-- Live quality per variant: SageMaker data capture joined with late ground-truth labels.
--
-- Written once, in DuckDB's dialect; the Athena text next to it (live_quality.athena.sql) is generated
-- from this file by sqlglot (scripts/generate_live_athena_sql.py) and a test keeps the two equal.
--
-- Input relations (how they are bound to files is per engine, see live_quality/query.py):
--   capture_lines(line, source_file, line_number, endpoint, variant, hour)
--       one row per line of <DestinationS3Uri>/<endpoint>/<variant>/yyyy/mm/dd/hh/<file>.jsonl
--   label_lines(line, source_file, line_number, hour)
--       one row per line of <ground-truth prefix>/yyyy/mm/dd/hh/<file>.jsonl
--   hour is the path's yyyy/mm/dd/hh; line_number is 1-based (NULL where the engine cannot know it: Athena).
--
-- Parameters, in order: endpoint, capture start hour (inclusive), capture end hour (exclusive),
-- label start hour (inclusive), label end hour (exclusive), threshold. Hours are 'yyyy/mm/dd/hh' strings.
--
-- One result table; row_kind says which columns are filled:
--   'metrics'      per variant and period (each inference day 'yyyy/mm/dd', and 'all'): counts,
--                  confusion at the threshold, ROC AUC and the variances of DeLong's placement values
--   'delay'        per variant: labelled requests per whole-hour label delay (label hour - inference hour)
--   'issue_count'  per issue and variant: how many lines or records it affected
--   'issue_sample' the first 20 lines of each issue (by file and line), with a detail
WITH
capture_parsed AS (
    SELECT
        variant,
        hour,
        source_file,
        line_number,
        line,
        TRY(json(line)) AS doc
    FROM capture_lines
    WHERE endpoint = ? AND hour >= ? AND hour < ?
),
capture_fields AS (
    SELECT
        variant,
        hour,
        source_file,
        line_number,
        line,
        doc,
        json_extract_string(doc, '$.eventVersion') AS event_version,
        json_extract_string(doc, '$.eventMetadata.inferenceId') AS inference_id,
        json_extract_string(doc, '$.eventMetadata.eventId') AS event_id,
        json_extract_string(doc, '$.eventMetadata.inferenceTime') AS inference_time,
        json_extract_string(doc, '$.captureData.endpointOutput.data') AS output_data,
        UPPER(json_extract_string(doc, '$.captureData.endpointOutput.encoding')) AS output_encoding
    FROM capture_parsed
),
capture_values AS (
    SELECT
        *,
        -- Model Monitor merges on inferenceId when the capture has one, on eventId otherwise.
        COALESCE(inference_id, event_id) AS join_key,
        TRY(strptime(substr(inference_time, 1, 13), '%Y-%m-%dT%H')) AS inference_hour,
        TRY_CAST(TRIM(
            CASE
                WHEN output_encoding = 'BASE64' THEN TRY(decode(from_base64(output_data)))
                WHEN output_encoding IN ('CSV', 'JSON') THEN output_data
            END
        ) AS DOUBLE) AS parsed_score
    FROM capture_fields
),
capture_checked AS (
    SELECT
        *,
        -- NaN and infinities fall outside this range in both engines.
        CASE WHEN parsed_score BETWEEN -1.0e308 AND 1.0e308 THEN parsed_score END AS score,
        CASE
            WHEN doc IS NULL THEN 'capture_not_json'
            WHEN event_version IS NULL OR event_version <> '0' THEN 'capture_unknown_event_version'
            WHEN output_data IS NULL THEN 'capture_without_output'
            WHEN output_encoding IS NULL OR output_encoding NOT IN ('CSV', 'JSON', 'BASE64')
                THEN 'capture_unknown_encoding'
            WHEN NOT (parsed_score BETWEEN -1.0e308 AND 1.0e308) OR parsed_score IS NULL
                THEN 'capture_output_not_one_score'
            WHEN inference_hour IS NULL THEN 'capture_without_inference_time'
            WHEN join_key IS NULL THEN 'capture_without_any_id'
        END AS malformed
    FROM capture_values
),
capture_keyed AS (
    SELECT
        *,
        COUNT(*) OVER (PARTITION BY join_key) AS copies
    FROM capture_checked
    WHERE malformed IS NULL
),
captures AS (
    -- A key captured more than once cannot say which prediction a label belongs to: all copies are left out.
    SELECT variant, hour, source_file, line_number, inference_id, join_key, inference_hour, score
    FROM capture_keyed
    WHERE copies = 1
),
label_parsed AS (
    SELECT hour, source_file, line_number, line, TRY(json(line)) AS doc
    FROM label_lines
    WHERE hour >= ? AND hour < ?
),
label_fields AS (
    SELECT
        *,
        json_extract_string(doc, '$.eventVersion') AS event_version,
        json_extract_string(doc, '$.eventMetadata.eventId') AS join_key,
        UPPER(json_extract_string(doc, '$.groundTruthData.encoding')) AS label_encoding,
        TRIM(json_extract_string(doc, '$.groundTruthData.data')) AS label_data
    FROM label_parsed
),
label_checked AS (
    SELECT
        *,
        CASE
            WHEN doc IS NULL THEN 'label_not_json'
            WHEN event_version IS NULL OR event_version <> '0' THEN 'label_unknown_event_version'
            WHEN join_key IS NULL THEN 'label_without_event_id'
            WHEN label_encoding IS NULL OR label_encoding <> 'CSV' THEN 'label_not_csv'
            WHEN label_data IS NULL OR label_data NOT IN ('0', '1') THEN 'label_not_0_or_1'
        END AS malformed
    FROM label_fields
),
label_ranked AS (
    -- The last label wins: latest collection hour, then file name, then line (Athena has no line
    -- numbers, so there the label value breaks a tie inside one file).
    SELECT
        hour,
        source_file,
        line_number,
        join_key,
        CAST(label_data AS INTEGER) AS label,
        ROW_NUMBER() OVER (
            PARTITION BY join_key
            ORDER BY hour DESC, source_file DESC, line_number DESC, label_data DESC
        ) AS recency
    FROM label_checked
    WHERE malformed IS NULL
),
labels AS (
    SELECT hour AS label_hour, join_key, label FROM label_ranked WHERE recency = 1
),
joined AS (
    SELECT
        c.variant,
        substr(c.hour, 1, 10) AS day,
        c.score,
        l.label,
        CASE WHEN c.score >= ? THEN 1 ELSE 0 END AS predicted,
        date_diff('hour', c.inference_hour, strptime(l.label_hour, '%Y/%m/%d/%H')) AS delay_hours,
        CASE WHEN c.inference_id IS NULL THEN 1 ELSE 0 END AS without_inference_id
    FROM captures AS c
    LEFT JOIN labels AS l ON l.join_key = c.join_key
),
periods AS (
    SELECT variant, day AS period, score, label, predicted, delay_hours, without_inference_id FROM joined
    UNION ALL
    SELECT variant, 'all' AS period, score, label, predicted, delay_hours, without_inference_id FROM joined
),
placed AS (
    -- DeLong's placement values (DeLong, DeLong & Clarke-Pearson 1988): for a positive, the share of
    -- negatives scored below it; for a negative, the share of positives scored above it; ties count 1/2.
    -- The default window frame (RANGE ... CURRENT ROW) includes tied scores in the running sums.
    SELECT
        variant,
        period,
        label,
        score,
        SUM(label) OVER (PARTITION BY variant, period) AS positives,
        SUM(1 - label) OVER (PARTITION BY variant, period) AS negatives,
        SUM(label) OVER (PARTITION BY variant, period ORDER BY score) AS positives_at_or_below,
        SUM(1 - label) OVER (PARTITION BY variant, period ORDER BY score) AS negatives_at_or_below,
        SUM(label) OVER (PARTITION BY variant, period, score) AS positives_tied,
        SUM(1 - label) OVER (PARTITION BY variant, period, score) AS negatives_tied
    FROM periods
    WHERE label IS NOT NULL
),
placements AS (
    SELECT
        variant,
        period,
        CASE WHEN label = 1 AND negatives > 0
            THEN (negatives_at_or_below - 0.5 * negatives_tied) / negatives END AS v10,
        CASE WHEN label = 0 AND positives > 0
            THEN (positives - positives_at_or_below + 0.5 * positives_tied) / positives END AS v01
    FROM placed
),
auc AS (
    SELECT
        variant,
        period,
        AVG(v10) AS roc_auc,
        VAR_SAMP(v10) AS v10_variance,
        VAR_SAMP(v01) AS v01_variance
    FROM placements
    GROUP BY variant, period
),
counts AS (
    SELECT
        variant,
        period,
        COUNT(*) AS captured,
        SUM(without_inference_id) AS without_inference_id,
        COUNT(label) AS labelled,
        SUM(CASE WHEN label = 1 THEN 1 ELSE 0 END) AS positives,
        SUM(CASE WHEN label = 0 THEN 1 ELSE 0 END) AS negatives,
        SUM(CASE WHEN label = 1 AND predicted = 1 THEN 1 ELSE 0 END) AS tp,
        SUM(CASE WHEN label = 0 AND predicted = 1 THEN 1 ELSE 0 END) AS fp,
        SUM(CASE WHEN label = 0 AND predicted = 0 THEN 1 ELSE 0 END) AS tn,
        SUM(CASE WHEN label = 1 AND predicted = 0 THEN 1 ELSE 0 END) AS fn
    FROM periods
    GROUP BY variant, period
),
issues AS (
    SELECT malformed AS issue, variant, source_file, line_number, substr(line, 1, 200) AS detail
    FROM capture_checked
    WHERE malformed IS NOT NULL
    UNION ALL
    SELECT 'capture_duplicate_id' AS issue, variant, source_file, line_number, join_key AS detail
    FROM capture_keyed
    WHERE copies > 1
    UNION ALL
    SELECT 'capture_without_inference_id' AS issue, variant, source_file, line_number, join_key AS detail
    FROM captures
    WHERE inference_id IS NULL
    UNION ALL
    SELECT malformed AS issue, NULL AS variant, source_file, line_number, substr(line, 1, 200) AS detail
    FROM label_checked
    WHERE malformed IS NOT NULL
    UNION ALL
    SELECT 'label_duplicate_superseded' AS issue, NULL AS variant, source_file, line_number, join_key AS detail
    FROM label_ranked
    WHERE recency > 1
    UNION ALL
    SELECT 'label_for_unknown_id' AS issue, NULL AS variant, r.source_file, r.line_number, r.join_key AS detail
    FROM label_ranked AS r
    WHERE r.recency = 1 AND NOT EXISTS (SELECT 1 FROM captures AS c WHERE c.join_key = r.join_key)
    UNION ALL
    SELECT 'label_before_inference' AS issue, variant, NULL AS source_file, NULL AS line_number, NULL AS detail
    FROM joined
    WHERE delay_hours < 0
),
issue_samples AS (
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
    CAST(NULL AS BIGINT) AS n
FROM counts AS k
LEFT JOIN auc AS a ON a.variant = k.variant AND a.period = k.period
UNION ALL
SELECT
    'delay', variant, 'all', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
    delay_hours, NULL, NULL, NULL, NULL, COUNT(*)
FROM joined
WHERE label IS NOT NULL
GROUP BY variant, delay_hours
UNION ALL
SELECT
    'issue_count', variant, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
    NULL, issue, NULL, NULL, NULL, COUNT(*)
FROM issues
GROUP BY issue, variant
UNION ALL
SELECT
    'issue_sample', variant, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
    NULL, issue, source_file, line_number, detail, NULL
FROM issue_samples
WHERE sample <= 20
ORDER BY 1, 2, 3, 16, 17, 18, 19
