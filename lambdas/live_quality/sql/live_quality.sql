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
--   'metrics'      per variant and period (each inference day 'yyyy/mm/dd', and 'all'): counts, confusion
--                  at the threshold, ROC AUC and the variances of DeLong's placement values (the days are
--                  the strata the comparison is made within: live_quality/comparison.py)
--   'delay'        per variant: labelled requests per whole-hour label delay (label hour - inference hour)
--   'issue_count'  per issue and variant: how many lines or records it affected
--   'issue_sample' the first 20 lines of each issue (by file and line), with a detail
--
-- Memory (the embedded engine keeps what more than one step reads): the only per-request rows kept
-- are capture_rows and label_rows, one narrow row per line (no line text, the file as the engine's
-- id for it); duplicates are found by grouping keys and only the keys seen twice are kept; the last
-- label is ranked only among the labels of a key labelled more than once; everything after the one
-- join is aggregated as it streams. benchmarks/live_quality.py measures it (docs/benchmarks.md).
WITH
capture_read AS (
    -- All fields in one parse: DuckDB reads a list of paths at once, and the identical expressions
    -- below are computed once. TRY makes a line that is not JSON give NULLs instead of an error. (The
    -- Athena text reads each path with its own JSON_EXTRACT_SCALAR: Trino has no list form.)
    SELECT
        variant,
        hour,
        source_file,
        line_number,
        line,
        TRY(json_extract_string(line, ['$.eventVersion', '$.eventMetadata.inferenceId', '$.eventMetadata.eventId', '$.eventMetadata.inferenceTime', '$.captureData.endpointOutput.data', '$.captureData.endpointOutput.encoding']))[1] AS event_version,
        TRY(json_extract_string(line, ['$.eventVersion', '$.eventMetadata.inferenceId', '$.eventMetadata.eventId', '$.eventMetadata.inferenceTime', '$.captureData.endpointOutput.data', '$.captureData.endpointOutput.encoding']))[2] AS inference_id,
        TRY(json_extract_string(line, ['$.eventVersion', '$.eventMetadata.inferenceId', '$.eventMetadata.eventId', '$.eventMetadata.inferenceTime', '$.captureData.endpointOutput.data', '$.captureData.endpointOutput.encoding']))[3] AS event_id,
        TRY(json_extract_string(line, ['$.eventVersion', '$.eventMetadata.inferenceId', '$.eventMetadata.eventId', '$.eventMetadata.inferenceTime', '$.captureData.endpointOutput.data', '$.captureData.endpointOutput.encoding']))[4] AS inference_time,
        TRY(json_extract_string(line, ['$.eventVersion', '$.eventMetadata.inferenceId', '$.eventMetadata.eventId', '$.eventMetadata.inferenceTime', '$.captureData.endpointOutput.data', '$.captureData.endpointOutput.encoding']))[5] AS output_data,
        UPPER(TRY(json_extract_string(line, ['$.eventVersion', '$.eventMetadata.inferenceId', '$.eventMetadata.eventId', '$.eventMetadata.inferenceTime', '$.captureData.endpointOutput.data', '$.captureData.endpointOutput.encoding']))[6]) AS output_encoding
    FROM capture_lines
    WHERE endpoint = ? AND hour >= ? AND hour < ?
),
capture_fields AS (
    -- Only a line without eventVersion needs the (slower) check of whether it is JSON at all.
    SELECT
        variant,
        hour,
        source_file,
        line_number,
        CASE WHEN event_version IS NULL THEN substr(line, 1, 200) END AS excerpt,
        CASE WHEN event_version IS NOT NULL THEN 0 WHEN TRY(json(line)) IS NULL THEN 1 ELSE 0 END AS not_json,
        event_version,
        inference_id,
        event_id,
        inference_time,
        output_data,
        output_encoding
    FROM capture_read
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
capture_rows AS MATERIALIZED (
    -- Each capture line once, narrow, and the only per-request rows kept while duplicates are counted:
    -- the line's text is gone, the hour is cut to its day (short enough to be stored inline), and the
    -- embedded engine binds file names as small ids. For a good line the detail is its join key.
    SELECT
        variant,
        substr(hour, 1, 10) AS day,
        source_file,
        line_number,
        CASE WHEN inference_id IS NULL THEN 1 ELSE 0 END AS without_inference_id,
        COALESCE(excerpt, join_key) AS detail,
        inference_hour,
        -- NaN and infinities fall outside this range in both engines.
        CASE WHEN parsed_score BETWEEN -1.0e308 AND 1.0e308 THEN parsed_score END AS score,
        CASE
            WHEN not_json = 1 THEN 'capture_not_json'
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
capture_duplicated AS (
    SELECT detail AS join_key FROM capture_rows WHERE malformed IS NULL GROUP BY detail HAVING COUNT(*) > 1
),
captures AS NOT MATERIALIZED (
    -- A key captured more than once cannot say which prediction a label belongs to: all copies are left out.
    SELECT variant, day, source_file, line_number, without_inference_id, detail AS join_key, inference_hour, score
    FROM capture_rows AS c
    WHERE malformed IS NULL AND NOT EXISTS (SELECT 1 FROM capture_duplicated AS d WHERE d.join_key = c.detail)
),
label_read AS (
    SELECT
        hour,
        source_file,
        line_number,
        line,
        TRY(json_extract_string(line, ['$.eventVersion', '$.eventMetadata.eventId', '$.groundTruthData.encoding', '$.groundTruthData.data']))[1] AS event_version,
        TRY(json_extract_string(line, ['$.eventVersion', '$.eventMetadata.eventId', '$.groundTruthData.encoding', '$.groundTruthData.data']))[2] AS join_key,
        UPPER(TRY(json_extract_string(line, ['$.eventVersion', '$.eventMetadata.eventId', '$.groundTruthData.encoding', '$.groundTruthData.data']))[3]) AS label_encoding,
        TRIM(TRY(json_extract_string(line, ['$.eventVersion', '$.eventMetadata.eventId', '$.groundTruthData.encoding', '$.groundTruthData.data']))[4]) AS label_data
    FROM label_lines
    WHERE hour >= ? AND hour < ?
),
label_fields AS (
    SELECT
        hour,
        source_file,
        line_number,
        CASE WHEN event_version IS NULL THEN substr(line, 1, 200) END AS excerpt,
        CASE WHEN event_version IS NOT NULL THEN 0 WHEN TRY(json(line)) IS NULL THEN 1 ELSE 0 END AS not_json,
        event_version,
        join_key,
        label_encoding,
        label_data
    FROM label_read
),
label_rows AS MATERIALIZED (
    -- Each label line once, narrow; for a good line the detail is its join key.
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
                WHEN not_json = 1 THEN 'label_not_json'
                WHEN event_version IS NULL OR event_version <> '0' THEN 'label_unknown_event_version'
                WHEN join_key IS NULL THEN 'label_without_event_id'
                WHEN label_encoding IS NULL OR label_encoding <> 'CSV' THEN 'label_not_csv'
                WHEN label_data IS NULL OR label_data NOT IN ('0', '1') THEN 'label_not_0_or_1'
            END AS malformed
        FROM label_fields
    ) AS checked
),
label_duplicated AS (
    SELECT detail AS join_key FROM label_rows WHERE malformed IS NULL GROUP BY detail HAVING COUNT(*) > 1
),
label_ranked AS (
    -- The last label wins: latest collection hour, then file name, then line (Athena has no line
    -- numbers, so there the label breaks a tie inside one file). Only a key labelled more than once
    -- needs ranking; a key labelled once is its own winner.
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
    WHERE malformed IS NULL AND EXISTS (SELECT 1 FROM label_duplicated AS d WHERE d.join_key = g.detail)
),
labels AS (
    SELECT hour AS label_hour, source_file, line_number, detail AS join_key, label
    FROM label_rows AS g
    WHERE malformed IS NULL AND NOT EXISTS (SELECT 1 FROM label_duplicated AS d WHERE d.join_key = g.detail)
    UNION ALL
    SELECT hour AS label_hour, source_file, line_number, join_key, label
    FROM label_ranked
    WHERE recency = 1
),
matched AS MATERIALIZED (
    -- Every capture with its label if any, and every label without a capture: one full join builds
    -- the labels' hash table once for both (a join and an anti-join would build a table each).
    SELECT
        c.join_key AS capture_key,
        c.variant,
        c.day,
        c.score,
        l.label,
        CASE WHEN c.score >= ? THEN 1 ELSE 0 END AS predicted,
        date_diff('hour', c.inference_hour, strptime(l.label_hour, '%Y/%m/%d/%H')) AS delay_hours,
        c.without_inference_id,
        l.join_key AS label_key,
        l.source_file AS label_file,
        l.line_number AS label_line
    FROM captures AS c
    FULL OUTER JOIN labels AS l ON l.join_key = c.join_key
),
joined AS NOT MATERIALIZED (
    -- The captured requests (with their label, if any) of matched; a filter, not a copy. A label
    -- collected before its prediction's hour cannot be about that prediction (a clock or an id is
    -- wrong): it is left out of every metric and only reported (issue label_before_inference).
    SELECT
        variant,
        day,
        score,
        CASE WHEN delay_hours < 0 THEN NULL ELSE label END AS label,
        predicted,
        delay_hours,
        without_inference_id
    FROM matched
    WHERE capture_key IS NOT NULL
),
score_groups AS (
    -- Requests with the same score share their placement values, so they are computed per distinct
    -- score, once per inference day (the comparison's strata: a traffic split that changes while the
    -- base rate moves makes pooled AUCs differ with equal models) and once over the window (the AUC
    -- the report shows). The day's grouping set leaves day NULL for the window's rows.
    SELECT
        variant,
        COALESCE(day, 'all') AS period,
        score,
        CAST(SUM(label) AS BIGINT) AS positives_here,
        CAST(SUM(1 - label) AS BIGINT) AS negatives_here
    FROM joined
    WHERE label IS NOT NULL
    GROUP BY GROUPING SETS ((variant, day, score), (variant, score))
),
placed AS (
    -- DeLong's placement values (DeLong, DeLong & Clarke-Pearson 1988): for a positive, the share of
    -- negatives scored below it; for a negative, the share of positives scored above it; ties count 1/2.
    SELECT
        *,
        SUM(positives_here) OVER (PARTITION BY variant, period) AS positives,
        SUM(negatives_here) OVER (PARTITION BY variant, period) AS negatives,
        SUM(positives_here) OVER (
            PARTITION BY variant, period ORDER BY score ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
        ) AS positives_at_or_below,
        SUM(negatives_here) OVER (
            PARTITION BY variant, period ORDER BY score ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
        ) AS negatives_at_or_below
    FROM score_groups
),
placements AS (
    SELECT
        variant,
        period,
        positives,
        negatives,
        positives_here,
        negatives_here,
        (negatives_at_or_below - 0.5 * negatives_here) / negatives AS v10,
        (positives - positives_at_or_below + 0.5 * positives_here) / positives AS v01
    FROM placed
    WHERE positives > 0 AND negatives > 0
),
auc AS (
    -- AUC is the mean placement value of the positives; the sample variances of the placement values
    -- come from weighted sums (each distinct score weighs as many requests as share it).
    SELECT
        variant,
        period,
        SUM(positives_here * v10) / MAX(positives) AS roc_auc,
        CASE WHEN MAX(positives) > 1 THEN
            (SUM(positives_here * v10 * v10) - SUM(positives_here * v10) * SUM(positives_here * v10) / MAX(positives))
            / (MAX(positives) - 1) END AS v10_variance,
        CASE WHEN MAX(negatives) > 1 THEN
            (SUM(negatives_here * v01 * v01) - SUM(negatives_here * v01) * SUM(negatives_here * v01) / MAX(negatives))
            / (MAX(negatives) - 1) END AS v01_variance
    FROM placements
    GROUP BY variant, period
),
counts AS (
    SELECT
        variant,
        COALESCE(day, 'all') AS period,
        COUNT(*) AS captured,
        SUM(without_inference_id) AS without_inference_id,
        -- Captures without an InferenceId are mostly the evaluation's own TargetVariant requests, which
        -- no label will follow: the label coverage leaves them out of both its sides (report.py).
        SUM(CASE WHEN label IS NOT NULL THEN without_inference_id ELSE 0 END) AS labelled_without_inference_id,
        COUNT(label) AS labelled,
        SUM(CASE WHEN label = 1 THEN 1 ELSE 0 END) AS positives,
        SUM(CASE WHEN label = 0 THEN 1 ELSE 0 END) AS negatives,
        SUM(CASE WHEN label = 1 AND predicted = 1 THEN 1 ELSE 0 END) AS tp,
        SUM(CASE WHEN label = 0 AND predicted = 1 THEN 1 ELSE 0 END) AS fp,
        SUM(CASE WHEN label = 0 AND predicted = 0 THEN 1 ELSE 0 END) AS tn,
        SUM(CASE WHEN label = 1 AND predicted = 0 THEN 1 ELSE 0 END) AS fn
    FROM joined
    GROUP BY GROUPING SETS ((variant, day), (variant))
),
issues AS (
    SELECT malformed AS issue, variant, source_file, line_number, detail
    FROM capture_rows
    WHERE malformed IS NOT NULL
    UNION ALL
    SELECT 'capture_duplicate_id' AS issue, variant, source_file, line_number, detail
    FROM capture_rows AS c
    WHERE malformed IS NULL AND EXISTS (SELECT 1 FROM capture_duplicated AS d WHERE d.join_key = c.detail)
    UNION ALL
    SELECT 'capture_without_inference_id' AS issue, variant, source_file, line_number, join_key AS detail
    FROM captures
    WHERE without_inference_id = 1
    UNION ALL
    SELECT malformed AS issue, NULL AS variant, source_file, line_number, detail
    FROM label_rows
    WHERE malformed IS NOT NULL
    UNION ALL
    SELECT 'label_duplicate_superseded' AS issue, NULL AS variant, source_file, line_number, join_key AS detail
    FROM label_ranked
    WHERE recency > 1
    UNION ALL
    SELECT 'label_for_unknown_id' AS issue, NULL AS variant, label_file, label_line, label_key AS detail
    FROM matched
    WHERE capture_key IS NULL
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
    CAST(NULL AS BIGINT) AS n,
    k.labelled_without_inference_id
FROM counts AS k
LEFT JOIN auc AS a ON a.variant = k.variant AND a.period = k.period
UNION ALL
SELECT
    'delay', variant, 'all', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
    delay_hours, NULL, NULL, NULL, NULL, COUNT(*), NULL
FROM joined
WHERE label IS NOT NULL
GROUP BY variant, delay_hours
UNION ALL
SELECT
    'issue_count', variant, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
    NULL, issue, NULL, NULL, NULL, COUNT(*), NULL
FROM issues
GROUP BY issue, variant
UNION ALL
SELECT
    'issue_sample', variant, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
    NULL, issue, source_file, line_number, detail, NULL, NULL
FROM issue_samples
WHERE sample <= 20
ORDER BY 1, 2, 3, 16, 17, 18, 19
