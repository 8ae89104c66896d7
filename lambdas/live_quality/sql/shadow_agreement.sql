-- Agreement between the production variant and its shadow, from captured pairs (same request, both answers).
--
-- DuckDB only (the embedded engine: scripts/shadow_agreement.py). No Athena text is generated for it: the
-- stack's capture table projects the production variants only (README, "Shadow stage").
--
-- The capture parsing is not written here: this query includes capture_parsing.sql, as live_quality.sql does
-- (live_quality/query.py, with_includes), so a line is read, decoded and classified (not JSON, no output, not
-- one score, ...) exactly as live quality does, with the same issue names and the same side of the threshold.
--
-- Input relation: capture_lines(line, source_file, line_number, endpoint, variant, hour), as for
-- live_quality.sql (live_quality/local_engine.py binds it to folders).
-- Parameters (?), in order: endpoint, capture start hour (inclusive), capture end hour (exclusive) (the
-- three of the reused capture_read), then the production variant and the shadow variant.
--
-- Pairing, assumed (Q4, UNVERIFIED: docs/design/shadow-and-guardrails.md): the shadow's copy of a request
-- is captured under the shadow's variant folder with the production record's eventId. A line pairs by
-- eventId when that eventId occurs exactly once among the production lines and exactly once among the
-- shadow lines. A line left unpaired then pairs by inferenceId (the caller's InferenceId: "If you provide a
-- value, it is added to the captured data when you enable data capture on the endpoint", InvokeEndpoint,
-- https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_runtime_InvokeEndpoint.html; that the
-- shadow's copy carries it too is UNVERIFIED) under the same rule among the lines still unpaired. Every other good line is
-- unpaired: production's are expected (the shadow receives a sampled share), the shadow's are a finding.
--
-- One result table; row_kind says which columns are filled:
--   'side'         per side ('production', 'shadow'): n good lines, paired how many of them
--   'pairs'        per pairing key ('eventId', 'inferenceId') and over all pairs ('all'): n pairs, the 2x2
--                  table at the threshold, pairs whose content types differ, |score difference| mean,
--                  median and p95 (quantile_cont: linear interpolation between order statistics)
--   'issue_count'  per issue and side: n lines (pairs, for content_type_mismatch)
--   'issue_sample' the first 20 lines of each issue by file and line, with a detail
WITH
-- @include capture_parsing.sql
lines AS (
    -- Each line with what the shared classification gives (malformed, the score's side of the threshold, an
    -- excerpt for a malformed line) and what pairing needs besides: both ids, the score, the content types.
    -- capture_parsed is read once, without joining it to itself (Athena has no line numbers to join on).
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
        TRY(json_extract_string(line, '$.captureData.endpointInput.observedContentType')) AS input_content_type,
        TRY(json_extract_string(line, '$.captureData.endpointOutput.observedContentType')) AS output_content_type
    FROM capture_parsed
),
sided AS (
    SELECT 'production' AS side, * FROM lines WHERE variant = ?
    UNION ALL
    SELECT 'shadow' AS side, * FROM lines WHERE variant = ?
),
by_event_id AS (
    -- How often each eventId occurs per side among the good lines.
    SELECT
        *,
        COUNT(CASE WHEN side = 'production' THEN 1 END) OVER (PARTITION BY event_id) AS production_event_copies,
        COUNT(CASE WHEN side = 'shadow' THEN 1 END) OVER (PARTITION BY event_id) AS shadow_event_copies
    FROM sided
    WHERE malformed IS NULL
),
event_paired AS (
    SELECT
        *,
        event_id IS NOT NULL AND production_event_copies = 1 AND shadow_event_copies = 1 AS paired_by_event_id,
        CASE WHEN side = 'production' THEN production_event_copies ELSE shadow_event_copies END AS own_event_copies
    FROM by_event_id
),
by_inference_id AS (
    -- The same count for the inferenceId, among the lines eventId left unpaired.
    SELECT
        *,
        COUNT(CASE WHEN side = 'production' AND NOT paired_by_event_id THEN 1 END)
            OVER (PARTITION BY inference_id) AS production_inference_copies,
        COUNT(CASE WHEN side = 'shadow' AND NOT paired_by_event_id THEN 1 END)
            OVER (PARTITION BY inference_id) AS shadow_inference_copies
    FROM event_paired
),
keyed AS (
    SELECT
        *,
        CASE
            WHEN paired_by_event_id THEN 'eventId'
            WHEN inference_id IS NOT NULL AND production_inference_copies = 1 AND shadow_inference_copies = 1
                THEN 'inferenceId'
        END AS paired_by,
        CASE WHEN side = 'production' THEN production_inference_copies ELSE shadow_inference_copies END
            AS own_inference_copies,
        CASE WHEN paired_by_event_id THEN event_id ELSE inference_id END AS pair_key
    FROM by_inference_id
),
pairs AS (
    SELECT
        p.paired_by,
        p.positive AS production_positive,
        s.positive AS shadow_positive,
        abs(p.score - s.score) AS abs_difference,
        p.input_content_type IS DISTINCT FROM s.input_content_type
            OR p.output_content_type IS DISTINCT FROM s.output_content_type AS content_type_mismatch,
        p.source_file,
        p.line_number,
        'input ' || COALESCE(p.input_content_type, '(none)') || ' | ' || COALESCE(s.input_content_type, '(none)')
            || '; output ' || COALESCE(p.output_content_type, '(none)') || ' | '
            || COALESCE(s.output_content_type, '(none)') || '; shadow line ' || CAST(s.source_file AS VARCHAR)
            || ':' || CAST(s.line_number AS VARCHAR) AS content_types
    FROM keyed AS p
    -- One equality per key column (an OR of two key comparisons would not be a hash join).
    JOIN keyed AS s ON s.paired_by = p.paired_by AND s.pair_key = p.pair_key
    WHERE p.side = 'production' AND s.side = 'shadow'
),
issue_lines AS (
    SELECT malformed AS issue, side, source_file, line_number, detail FROM sided WHERE malformed IS NOT NULL
    UNION ALL
    SELECT 'duplicate_event_id', side, source_file, line_number, event_id
    FROM keyed WHERE event_id IS NOT NULL AND own_event_copies > 1
    UNION ALL
    SELECT 'duplicate_inference_id', side, source_file, line_number, inference_id
    FROM keyed WHERE NOT paired_by_event_id AND inference_id IS NOT NULL AND own_inference_copies > 1
    UNION ALL
    SELECT 'shadow_without_production', side, source_file, line_number, COALESCE(event_id, inference_id)
    FROM keyed WHERE side = 'shadow' AND paired_by IS NULL
    UNION ALL
    SELECT 'content_type_mismatch', 'production', source_file, line_number, content_types
    FROM pairs WHERE content_type_mismatch
),
result AS (
    SELECT
        'side' AS row_kind,
        side,
        CAST(NULL AS VARCHAR) AS paired_by,
        CAST(NULL AS VARCHAR) AS issue,
        COUNT(*) AS n,
        COUNT(paired_by) AS paired,
        NULL::BIGINT AS both_positive,
        NULL::BIGINT AS production_only_positive,
        NULL::BIGINT AS shadow_only_positive,
        NULL::BIGINT AS both_negative,
        NULL::BIGINT AS content_type_mismatch,
        NULL::DOUBLE AS mean_abs_difference,
        NULL::DOUBLE AS median_abs_difference,
        NULL::DOUBLE AS p95_abs_difference,
        NULL::VARCHAR AS source_file,
        NULL::BIGINT AS line_number,
        NULL::VARCHAR AS detail
    FROM keyed
    GROUP BY side
    UNION ALL
    SELECT
        'pairs',
        NULL,
        COALESCE(paired_by, 'all'),
        NULL,
        COUNT(*),
        NULL,
        COUNT(CASE WHEN production_positive = 1 AND shadow_positive = 1 THEN 1 END),
        COUNT(CASE WHEN production_positive = 1 AND shadow_positive = 0 THEN 1 END),
        COUNT(CASE WHEN production_positive = 0 AND shadow_positive = 1 THEN 1 END),
        COUNT(CASE WHEN production_positive = 0 AND shadow_positive = 0 THEN 1 END),
        COUNT(CASE WHEN content_type_mismatch THEN 1 END),
        AVG(abs_difference),
        quantile_cont(abs_difference, 0.5),
        quantile_cont(abs_difference, 0.95),
        NULL,
        NULL,
        NULL
    FROM pairs
    GROUP BY GROUPING SETS ((paired_by), ())
    UNION ALL
    SELECT 'issue_count', side, NULL, issue, COUNT(*), NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
    FROM issue_lines
    GROUP BY issue, side
    UNION ALL
    SELECT 'issue_sample', side, NULL, issue, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
        CAST(source_file AS VARCHAR), line_number, detail
    FROM (
        SELECT *, ROW_NUMBER() OVER (PARTITION BY issue ORDER BY source_file, line_number) AS sample_number
        FROM issue_lines
    ) AS numbered
    WHERE sample_number <= 20
)

SELECT * FROM result
ORDER BY row_kind, side, paired_by, issue, source_file, line_number
