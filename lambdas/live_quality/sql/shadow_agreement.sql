-- Agreement between the production variant and its shadow, from captured pairs (same request, both answers).
--
-- Written once, in DuckDB's dialect (the embedded engine: scripts/shadow_agreement.py); the Athena text beside it
-- (shadow_agreement.athena.sql, run by the live-quality state machine beside a shadow) is generated from this file
-- by scripts/generate_live_athena_sql.py, as live quality's is. On Athena, capture_lines is the shadow capture
-- table (live_quality/agreement_text.py): live quality's own table projects the production variants only.
-- Not a tree as live_quality.sql is: Trino inlines a WITH query at each use, and the pairing joins keyed with
-- itself and lists issues from three stages, so one run reads the captures 9 times
-- (tests/lambdas/test_live_quality_agreement_athena.py pins the count).
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
--                  median and p95 (linear interpolation between order statistics: pair_groups)
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
    -- Each line on its side. lines is read once (Trino inlines a WITH query at each use, and Athena bills each
    -- scan), and the variants are parameters in a WHERE clause, the only place Athena takes them.
    SELECT sides.side, lines.*
    FROM lines
    CROSS JOIN (VALUES ('production'), ('shadow')) AS sides(side)
    WHERE (sides.side = 'production' AND lines.variant = ?) OR (sides.side = 'shadow' AND lines.variant = ?)
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
            -- Athena has no line numbers: without the COALESCE the whole detail would be NULL there.
            || ':' || COALESCE(CAST(s.line_number AS VARCHAR), '?') AS content_types
    FROM keyed AS p
    -- One equality per key column (an OR of two key comparisons would not be a hash join).
    JOIN keyed AS s ON s.paired_by = p.paired_by AND s.pair_key = p.pair_key
    WHERE p.side = 'production' AND s.side = 'shadow'
),
pair_groups AS (
    -- Each pair twice: in its pairing key's group and in 'all'. The exact quantiles below need each group's pairs
    -- ranked by their difference; Trino's aggregate functions have no exact percentile, only approx_percentile
    -- (https://trino.io/docs/current/functions/aggregate.html; Athena engine 3's functions are Trino's), so both
    -- engines compute linear interpolation between order statistics from these ranks (numpy's default).
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
    CROSS JOIN (VALUES ('key'), ('all')) AS scopes(scope)
),
interpolated AS (
    -- Where the median and the 95th percentile fall: 0-based position (n - 1) q, its floor and the fraction.
    SELECT
        *,
        floor((group_pairs - 1) * 0.5) AS median_low,
        (group_pairs - 1) * 0.5 - floor((group_pairs - 1) * 0.5) AS median_fraction,
        floor((group_pairs - 1) * 0.95) AS p95_low,
        (group_pairs - 1) * 0.95 - floor((group_pairs - 1) * 0.95) AS p95_fraction
    FROM pair_groups
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
        -- x[low] + fraction (x[low + 1] - x[low]), summed from the two rows it needs (one when fraction is 0).
        SUM(CASE WHEN position = median_low THEN abs_difference * (1 - median_fraction)
            WHEN position = median_low + 1 THEN abs_difference * median_fraction ELSE 0 END),
        SUM(CASE WHEN position = p95_low THEN abs_difference * (1 - p95_fraction)
            WHEN position = p95_low + 1 THEN abs_difference * p95_fraction ELSE 0 END),
        NULL,
        NULL,
        NULL
    FROM interpolated
    GROUP BY pair_group
    UNION ALL
    -- Counts and samples from one read of issue_lines (a second use would scan the captures again on Athena):
    -- each (issue, side)'s first line carries its count, and each issue's first 20 lines are its samples.
    SELECT
        kinds.row_kind, side, NULL, issue,
        CASE WHEN kinds.row_kind = 'issue_count' THEN side_lines END,
        NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
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
    CROSS JOIN (VALUES ('issue_count'), ('issue_sample')) AS kinds(row_kind)
    WHERE (kinds.row_kind = 'issue_count' AND side_number = 1)
        OR (kinds.row_kind = 'issue_sample' AND sample_number <= 20)
)

SELECT * FROM result
ORDER BY row_kind, side, paired_by, issue, source_file, line_number
