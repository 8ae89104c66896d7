-- Agreement between the production variant and its shadow, from captured pairs (same request, both answers).
--
-- Written once, in DuckDB's dialect (the embedded engine: scripts/shadow_agreement.py); the Athena text beside it
-- (shadow_agreement.athena.sql, run by the live-quality state machine beside a shadow) is generated from this file
-- by scripts/generate_live_athena_sql.py, as live quality's is. On Athena, capture_lines is the shadow capture
-- table (live_quality/agreement_text.py): live quality's own table projects the production variants only.
-- One chain, as live_quality.sql is a tree: Trino inlines a WITH query at each use and Athena bills every scan,
-- so each WITH query here is used once, by the next, and one run reads the captures once
-- (tests/lambdas/test_live_quality_agreement_athena.py pins it). Hence no self-join for the pairs (a partner's
-- values come from a window over its pair: partnered) and no UNION of stages for the result (one fan-out by a
-- join with constants: facts; one aggregation: result).
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
-- From here on one chain: each WITH query is used once, by the next, so Trino reads the captures once. Malformed
-- lines stay in it (their issue is listed at the end); every count that pairs counts good lines only.
by_event_id AS (
    -- How often each eventId occurs per side among the good lines.
    SELECT
        *,
        COUNT(CASE WHEN side = 'production' AND malformed IS NULL THEN 1 END)
            OVER (PARTITION BY event_id) AS production_event_copies,
        COUNT(CASE WHEN side = 'shadow' AND malformed IS NULL THEN 1 END)
            OVER (PARTITION BY event_id) AS shadow_event_copies
    FROM sided
),
event_paired AS (
    SELECT
        *,
        malformed IS NULL AND event_id IS NOT NULL AND production_event_copies = 1 AND shadow_event_copies = 1
            AS paired_by_event_id,
        CASE WHEN side = 'production' THEN production_event_copies ELSE shadow_event_copies END AS own_event_copies
    FROM by_event_id
),
by_inference_id AS (
    -- The same count for the inferenceId, among the good lines eventId left unpaired. A line without one (the
    -- usual case: a capture has inferenceId only when the caller passed InferenceId) gets a partition of its own
    -- by its eventId: its counts are never read (pairing and duplicate_inference_id need an inferenceId), and in
    -- one NULL partition every such line would go to one Trino worker ("exceeded per-node memory").
    SELECT
        *,
        COUNT(CASE WHEN side = 'production' AND malformed IS NULL AND NOT paired_by_event_id THEN 1 END)
            OVER (PARTITION BY inference_id, CASE WHEN inference_id IS NULL THEN event_id END)
            AS production_inference_copies,
        COUNT(CASE WHEN side = 'shadow' AND malformed IS NULL AND NOT paired_by_event_id THEN 1 END)
            OVER (PARTITION BY inference_id, CASE WHEN inference_id IS NULL THEN event_id END)
            AS shadow_inference_copies
    FROM event_paired
),
keyed AS (
    SELECT
        *,
        CASE
            WHEN paired_by_event_id THEN 'eventId'
            WHEN malformed IS NULL AND inference_id IS NOT NULL AND production_inference_copies = 1
                AND shadow_inference_copies = 1
                THEN 'inferenceId'
        END AS paired_by,
        CASE WHEN side = 'production' THEN production_inference_copies ELSE shadow_inference_copies END
            AS own_inference_copies,
        CASE WHEN paired_by_event_id THEN event_id ELSE inference_id END AS pair_key
    FROM by_inference_id
),
partnered AS (
    -- Each paired line beside its partner's values, without joining the lines to themselves (a second use of
    -- keyed, hence a second read of the captures on Athena): a (paired_by, pair_key) group of paired lines holds
    -- exactly one production and one shadow line (copies = 1 on each side), so the shadow's value is the group's
    -- only non-NULL one. Read on the production line; meaningless on an unpaired one (paired_by NULL), which
    -- therefore gets a partition of its own by its eventId rather than one NULL partition of most lines.
    SELECT
        *,
        MAX(CASE WHEN side = 'shadow' THEN positive END) OVER (PARTITION BY paired_by, pair_key, CASE WHEN paired_by IS NULL THEN event_id END) AS shadow_positive,
        MAX(CASE WHEN side = 'shadow' THEN score END) OVER (PARTITION BY paired_by, pair_key, CASE WHEN paired_by IS NULL THEN event_id END) AS shadow_score,
        MAX(CASE WHEN side = 'shadow' THEN input_content_type END) OVER (PARTITION BY paired_by, pair_key, CASE WHEN paired_by IS NULL THEN event_id END) AS shadow_input_content_type,
        MAX(CASE WHEN side = 'shadow' THEN output_content_type END) OVER (PARTITION BY paired_by, pair_key, CASE WHEN paired_by IS NULL THEN event_id END) AS shadow_output_content_type,
        MAX(CASE WHEN side = 'shadow' THEN CAST(source_file AS VARCHAR) END) OVER (PARTITION BY paired_by, pair_key, CASE WHEN paired_by IS NULL THEN event_id END) AS shadow_source_file,
        MAX(CASE WHEN side = 'shadow' THEN line_number END) OVER (PARTITION BY paired_by, pair_key, CASE WHEN paired_by IS NULL THEN event_id END) AS shadow_line_number
    FROM keyed
),
pair_lines AS (
    -- A pair's values on its production line (NULL on every other line).
    SELECT
        *,
        CASE WHEN side = 'production' AND paired_by IS NOT NULL THEN abs(score - shadow_score) END AS abs_difference,
        input_content_type IS DISTINCT FROM shadow_input_content_type
            OR output_content_type IS DISTINCT FROM shadow_output_content_type AS content_type_mismatch,
        'input ' || COALESCE(input_content_type, '(none)') || ' | ' || COALESCE(shadow_input_content_type, '(none)')
            || '; output ' || COALESCE(output_content_type, '(none)') || ' | '
            || COALESCE(shadow_output_content_type, '(none)') || '; shadow line ' || shadow_source_file
            -- Athena has no line numbers: without the COALESCE the whole detail would be NULL there.
            || ':' || COALESCE(CAST(shadow_line_number AS VARCHAR), '?') AS content_types
    FROM partnered
),
facts AS (
    -- Every result row's inputs from the one chain, fanned out by a join with constants (no second read):
    -- a good line counts on its side; a pair (its production line) counts in its key's group and in 'all';
    -- a line with an issue counts for it and may be one of its samples (a line can have several issues).
    SELECT
        fan.row_kind,
        CASE WHEN fan.row_kind <> 'pairs' THEN pair_lines.side END AS side,
        CASE WHEN fan.row_kind = 'pairs' THEN CASE WHEN fan.fact = 'all' THEN 'all' ELSE pair_lines.paired_by END
            END AS pair_group,
        CASE WHEN fan.row_kind IN ('issue_count', 'issue_sample') THEN
            CASE WHEN fan.fact = 'malformed' THEN pair_lines.malformed ELSE fan.fact END
            END AS issue,
        pair_lines.paired_by AS line_paired_by,
        pair_lines.positive AS production_positive,
        pair_lines.shadow_positive,
        pair_lines.abs_difference,
        pair_lines.content_type_mismatch,
        CAST(pair_lines.source_file AS VARCHAR) AS source_file,
        pair_lines.line_number,
        CASE fan.fact
            WHEN 'malformed' THEN pair_lines.detail
            WHEN 'duplicate_event_id' THEN pair_lines.event_id
            WHEN 'duplicate_inference_id' THEN pair_lines.inference_id
            WHEN 'shadow_without_production' THEN COALESCE(pair_lines.event_id, pair_lines.inference_id)
            WHEN 'content_type_mismatch' THEN pair_lines.content_types
        END AS detail
    FROM pair_lines
    CROSS JOIN (
        VALUES
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
            ('issue_sample', 'content_type_mismatch')
    ) AS fan(row_kind, fact)
    WHERE CASE fan.fact
        WHEN 'good' THEN pair_lines.malformed IS NULL
        WHEN 'key' THEN pair_lines.side = 'production' AND pair_lines.paired_by IS NOT NULL
        WHEN 'all' THEN pair_lines.side = 'production' AND pair_lines.paired_by IS NOT NULL
        WHEN 'malformed' THEN pair_lines.malformed IS NOT NULL
        WHEN 'duplicate_event_id' THEN pair_lines.malformed IS NULL AND pair_lines.event_id IS NOT NULL
            AND pair_lines.own_event_copies > 1
        WHEN 'duplicate_inference_id' THEN pair_lines.malformed IS NULL AND NOT pair_lines.paired_by_event_id
            AND pair_lines.inference_id IS NOT NULL AND pair_lines.own_inference_copies > 1
        WHEN 'shadow_without_production' THEN pair_lines.malformed IS NULL AND pair_lines.side = 'shadow'
            AND pair_lines.paired_by IS NULL
        WHEN 'content_type_mismatch' THEN pair_lines.side = 'production' AND pair_lines.paired_by IS NOT NULL
            AND pair_lines.content_type_mismatch
    END
),
ranked AS (
    -- The exact quantiles below need each pair group's pairs ranked by their difference; Trino's aggregate
    -- functions have no exact percentile, only approx_percentile (https://trino.io/docs/current/functions/aggregate.html;
    -- Athena engine 3's functions are Trino's), so both engines compute linear interpolation between order
    -- statistics from these ranks (numpy's default). An issue's samples are its first 20 lines by file and line.
    -- Each number means something on its own rows only (ranks on pairs, sample numbers on samples); the other rows
    -- are partitioned by their file as well, so that no engine sorts every line in one partition for nothing.
    SELECT
        *,
        ROW_NUMBER() OVER (
            PARTITION BY row_kind, pair_group, CASE WHEN row_kind <> 'pairs' THEN source_file END
            ORDER BY abs_difference
        ) - 1 AS difference_rank,
        COUNT(*) OVER (PARTITION BY row_kind, pair_group, CASE WHEN row_kind <> 'pairs' THEN source_file END)
            AS group_pairs,
        ROW_NUMBER() OVER (
            PARTITION BY row_kind, issue, CASE WHEN row_kind <> 'issue_sample' THEN source_file END
            ORDER BY source_file, line_number
        ) AS sample_number
    FROM facts
),
interpolated AS (
    -- Where the median and the 95th percentile fall: 0-based rank (n - 1) q, its floor and the fraction.
    SELECT
        *,
        floor((group_pairs - 1) * 0.5) AS median_low,
        (group_pairs - 1) * 0.5 - floor((group_pairs - 1) * 0.5) AS median_fraction,
        floor((group_pairs - 1) * 0.95) AS p95_low,
        (group_pairs - 1) * 0.95 - floor((group_pairs - 1) * 0.95) AS p95_fraction
    FROM ranked
    WHERE row_kind <> 'issue_sample' OR sample_number <= 20
),
result AS (
    -- One aggregation over the one chain: a side, a pair group, an (issue, side) is a group; a sample is a group
    -- of one (its sample_number; Athena's NULL line numbers could not tell a file's lines apart).
    SELECT
        row_kind,
        side,
        pair_group AS paired_by,
        issue,
        CASE WHEN row_kind <> 'issue_sample' THEN COUNT(*) END AS n,
        CASE WHEN row_kind = 'side' THEN COUNT(line_paired_by) END AS paired,
        CASE WHEN row_kind = 'pairs' THEN COUNT(CASE WHEN production_positive = 1 AND shadow_positive = 1 THEN 1 END)
            END AS both_positive,
        CASE WHEN row_kind = 'pairs' THEN COUNT(CASE WHEN production_positive = 1 AND shadow_positive = 0 THEN 1 END)
            END AS production_only_positive,
        CASE WHEN row_kind = 'pairs' THEN COUNT(CASE WHEN production_positive = 0 AND shadow_positive = 1 THEN 1 END)
            END AS shadow_only_positive,
        CASE WHEN row_kind = 'pairs' THEN COUNT(CASE WHEN production_positive = 0 AND shadow_positive = 0 THEN 1 END)
            END AS both_negative,
        CASE WHEN row_kind = 'pairs' THEN COUNT(CASE WHEN content_type_mismatch THEN 1 END)
            END AS content_type_mismatch,
        CASE WHEN row_kind = 'pairs' THEN AVG(abs_difference) END AS mean_abs_difference,
        -- x[low] + fraction (x[low + 1] - x[low]), summed from the two rows it needs (one when fraction is 0).
        CASE WHEN row_kind = 'pairs' THEN SUM(CASE WHEN difference_rank = median_low THEN abs_difference * (1 - median_fraction)
            WHEN difference_rank = median_low + 1 THEN abs_difference * median_fraction ELSE 0 END)
            END AS median_abs_difference,
        CASE WHEN row_kind = 'pairs' THEN SUM(CASE WHEN difference_rank = p95_low THEN abs_difference * (1 - p95_fraction)
            WHEN difference_rank = p95_low + 1 THEN abs_difference * p95_fraction ELSE 0 END)
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

SELECT * FROM result
ORDER BY row_kind, side, paired_by, issue, source_file, line_number
