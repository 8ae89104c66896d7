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
-- Parameters (?), in order, all in WHERE clauses: endpoint, capture start hour (inclusive), capture end
-- hour (exclusive), label start hour (inclusive), label end hour (exclusive); hours are 'yyyy/mm/dd/hh'.
-- Athena takes execution parameters in the WHERE clause only ("Currently, ? parameters can be placed
-- only in the WHERE clause. Syntax like SELECT ? FROM table is not supported.": "Use parameterized
-- queries", https://docs.aws.amazon.com/athena/latest/ug/querying-with-prepared-statements.html), so
-- the threshold, a setting of the deployment, is a named token (in capture_parsing.sql's capture_parsed) that
-- live_quality/threshold.py replaces with a checked number literal before either engine sees the text
-- (for Athena: the construct, at synth).
--
-- One result table; row_kind says which columns are filled:
--   'metrics'      per variant and period (each inference day 'yyyy/mm/dd', each capture hour
--                  'yyyy/mm/dd/hh', and 'all'): counts, confusion at the threshold, ROC AUC and the
--                  variances of DeLong's placement values (days and hours are the strata the comparison
--                  is made within: live_quality/strata.py chooses, live_quality/comparison.py compares)
--   'delay'        per variant: labelled requests per whole-hour label delay (label hour - inference hour)
--   'issue_count'  per issue and variant: how many lines or records it affected
--   'issue_sample' the first 20 lines of each issue (by file, line and detail), with a detail
--
-- The plan is a tree: each input is read once and every WITH query is used exactly once. Trino (Athena
-- engine 3) does not materialize a WITH query: "Currently, the SQL for the WITH clause will be inlined
-- anywhere the named relation is used" (Trino, SELECT, WITH clause:
-- https://trino.io/docs/current/sql/select.html#with-clause), so a WITH query used twice scans its
-- S3 objects twice, and Athena bills the bytes scanned. tests/lambdas/test_live_quality_athena_sql.py
-- counts the references. The shape:
--   capture lines -> parse -> malformed? -> copies of each key (window) -> the capture's issue ──┐
--   label lines   -> parse -> malformed? -> the last label of each key wins (window) ───────────┤
--   ONE full outer join of all capture rows with all label rows, on keys set only for the joinable
--   rows (good, unique captures; winning labels), so every line comes out of it exactly once, with
--   at most one capture issue and one label issue -> ONE aggregation (GROUPING SETS) for every
--   result kind -> ONE window over the groups (DeLong's placement values) -> the score groups folded
--   into their metrics rows, each issue's lines into its first 20 -> the samples unnested -> the
--   result.
--
-- Memory (DuckDB holds what a window, a join or an aggregation keeps; a Trino node what one window
-- partition or one group keeps): the rows are narrow before the join (no line text, the file as the embedded engine's small id for it, a file, line and detail only on a line
-- with an issue); no window partition grows with the number of lines: the per-line windows are per
-- key, an issue's lines pass the DeLong window one partition each and are cut to 20 by an aggregate
-- that keeps 20 per issue (collapsed), and the DeLong window holds one row per score step (at most
-- 10^6 + 2 per variant and period for scores from 0 to 1: capture_classified).
-- tests/lambdas/test_live_quality_bounds.py checks the partitions; benchmarks/live_quality.py
-- measures the memory.
WITH
-- capture_read .. capture_parsed: the capture parsing, shared with shadow_agreement.sql (read it there; the
-- include is replaced by that file's text before either engine or the Athena generator sees this one).
-- @include capture_parsing.sql
capture_checked AS MATERIALIZED (
    -- Each capture line once, narrow: the line's text is gone; the hour is kept with its day (both are
    -- strata). For a good line the detail is its join key. (MATERIALIZED is a DuckDB hint, dropped for Athena: with
    -- it DuckDB streams the files through the parse; without it, measured at 1 M requests, it held
    -- about 400 MB more while the window below filled. The rows kept are these narrow ones.)
    SELECT
        variant,
        substr(hour, 1, 10) AS day,
        hour AS capture_hour,
        source_file,
        line_number,
        CASE WHEN inference_id IS NULL THEN 1 ELSE 0 END AS without_inference_id,
        COALESCE(excerpt, join_key) AS detail,
        inference_hour,
        millionths_above_threshold,
        malformed
    FROM capture_parsed
),
capture_counted AS (
    -- How many good lines carry this key (for a malformed line the count is unused). Partitioned by
    -- the key, so no engine gathers all lines in one partition.
    SELECT
        *,
        COUNT(*) OVER (PARTITION BY detail, malformed) AS copies
    FROM capture_checked
),
capture_classified AS (
    -- A key captured more than once cannot say which prediction a label belongs to: every copy is
    -- left out of the join (its key stays NULL) and reported. A line has at most one capture issue.
    SELECT
        variant,
        day,
        capture_hour,
        source_file,
        line_number,
        without_inference_id,
        detail,
        inference_hour,
        -- The score on a grid of 10^-6 laid from the threshold: the nearest step, except that a score
        -- below the threshold never rounds up onto it (step -1 at most), so score_step >= 0 exactly when
        -- score >= threshold and the confusion counts are those of the captured scores. The steps keep
        -- the scores' order; scores closer than a step become ties, which DeLong's placement values
        -- count 1/2 like any tie (ROC AUC moves by at most half the share of positive-negative pairs
        -- that close). Why: each (variant, period) puts one row per distinct labelled score into the
        -- window in placed; for scores from 0 to 1 (probabilities) there are now at most 10^6 + 1
        -- steps, so that partition holds at most 10^6 + 2 rows (its metrics row too), however many
        -- requests (a score outside 0..1 adds 10^6 steps per unit). floor(x + 0.5) rounds half up and
        -- stays a DOUBLE in both engines ("floor(x) -> [same as input]": Trino, Mathematical functions).
        CASE
            WHEN millionths_above_threshold < 0 THEN LEAST(floor(millionths_above_threshold + 0.5), -1)
            ELSE floor(millionths_above_threshold + 0.5)
        END AS score_step,
        CASE WHEN malformed IS NULL AND copies = 1 THEN detail END AS capture_key,
        CASE
            WHEN malformed IS NOT NULL THEN malformed
            WHEN copies > 1 THEN 'capture_duplicate_id'
            WHEN without_inference_id = 1 THEN 'capture_without_inference_id'
        END AS capture_issue
    FROM capture_counted
),
captures AS (
    -- What the join carries of a capture: the file, line and detail only for a line with an issue
    -- (the samples are chosen among those after the aggregation).
    SELECT
        capture_key,
        variant,
        day,
        capture_hour,
        inference_hour,
        score_step,
        without_inference_id,
        capture_issue,
        CASE WHEN capture_issue IS NOT NULL THEN source_file END AS capture_file,
        CASE WHEN capture_issue IS NOT NULL THEN line_number END AS capture_line,
        CASE WHEN capture_issue IS NOT NULL THEN detail END AS capture_detail
    FROM capture_classified
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
label_checked AS MATERIALIZED (
    -- Each label line once, narrow; for a good line the detail is its join key (MATERIALIZED: as
    -- capture_checked).
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
label_ranked AS (
    -- The last label wins: latest collection hour, then file name, then line (Athena has no line
    -- numbers, so there the label breaks a tie inside one file). The good labels of a key are ranked
    -- together; a malformed line's rank is unused.
    SELECT
        *,
        ROW_NUMBER() OVER (
            PARTITION BY detail, malformed
            ORDER BY hour DESC, source_file DESC, line_number DESC, label DESC
        ) AS recency
    FROM label_checked
),
labels AS (
    -- What the join carries of a label: the key and label of a winner (NULL for every other line,
    -- which then passes the join unmatched), the issue known before the join, the file and line.
    -- Every line needs its file: a winner may still become label_for_unknown_id or
    -- label_before_inference, every other line is an issue already, and each issue's samples name them.
    SELECT
        CASE WHEN malformed IS NULL AND recency = 1 THEN detail END AS label_key,
        CASE WHEN malformed IS NULL AND recency = 1 THEN label END AS label,
        CASE WHEN malformed IS NULL AND recency = 1 THEN strptime(hour, '%Y/%m/%d/%H') END AS label_hour,
        CASE
            WHEN malformed IS NOT NULL THEN malformed
            WHEN recency > 1 THEN 'label_duplicate_superseded'
        END AS label_issue_before_join,
        source_file,
        line_number,
        CASE WHEN malformed IS NOT NULL OR recency > 1 THEN detail END AS detail
    FROM label_ranked
),
joined AS (
    -- Every capture line with its label if any, and every label line without a capture: one full
    -- join of all rows. Only good, unique captures and winning labels have keys, so every other line
    -- comes out once, unmatched, with its issue. Labels on the left, captures on the right: Athena
    -- builds its hash table from the right side ("place large tables on the left, small tables on the
    -- right": https://docs.aws.amazon.com/athena/latest/ug/performance-tuning-query-optimization-techniques.html),
    -- and at the default 20 % sampling with labels for every request there are five label lines per
    -- capture line. A full join is symmetric: the rows are the same either way.
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
        date_diff('hour', c.inference_hour, l.label_hour) AS delay_hours,
        l.label_issue_before_join,
        l.source_file AS label_file,
        l.line_number AS label_line,
        COALESCE(l.detail, l.label_key) AS label_detail
    FROM labels AS l
    FULL OUTER JOIN captures AS c ON c.capture_key = l.label_key
),
outcomes AS (
    -- The grouping keys of every result kind. A label collected before its prediction's hour cannot
    -- be about that prediction (a clock or an id is wrong): it is left out of every metric and
    -- reported, with the label's file and line. metric_variant is set for the captured requests the
    -- metrics count (good, unique). A key that is NULL for a row keeps the row out of that result
    -- kind (its group is dropped below): unlabelled requests have no score group and no delay, and
    -- only a line with an issue has a file, line and detail.
    SELECT
        CASE WHEN capture_key IS NOT NULL THEN variant END AS metric_variant,
        day,
        capture_hour,
        CASE WHEN capture_key IS NOT NULL AND delay_hours >= 0 THEN label END AS label,
        CASE WHEN capture_key IS NOT NULL AND delay_hours >= 0 AND label IS NOT NULL THEN score_step END AS labelled_score,
        CASE WHEN capture_key IS NOT NULL AND delay_hours >= 0 AND label IS NOT NULL THEN delay_hours END AS labelled_delay,
        without_inference_id,
        variant,
        capture_issue,
        capture_file,
        capture_line,
        capture_detail,
        label_issue,
        CASE WHEN label_issue IS NOT NULL THEN label_file END AS label_file,
        CASE WHEN label_issue IS NOT NULL THEN label_line END AS label_line,
        CASE WHEN label_issue IS NOT NULL THEN label_detail END AS label_detail
    FROM (
        SELECT
            *,
            CASE
                WHEN label_issue_before_join IS NOT NULL THEN label_issue_before_join
                WHEN label_key IS NOT NULL AND capture_key IS NULL THEN 'label_for_unknown_id'
                WHEN delay_hours < 0 THEN 'label_before_inference'
            END AS label_issue
        FROM joined
    ) AS with_label_issue
),
grouped AS (
    -- One aggregation for every result kind. Requests with the same score share their placement
    -- values, so the AUC is computed per distinct labelled score, once per inference day and once per
    -- capture hour (the comparison's strata: a traffic split that changes while the base rate moves
    -- makes pooled AUCs differ with equal models; a split that changes inside a day needs the hours
    -- of that day, live_quality/strata.py) and once over the window (the AUC the report shows). Each line with
    -- an issue is its own sample group (every other line falls into its issue's NULL group). A
    -- grouping set leaves its other keys NULL: GROUPING() tells the sets apart, and a group whose own
    -- key is NULL (rows that do not belong to that kind) gets no row_kind and is dropped.
    SELECT
        CASE
            WHEN GROUPING(labelled_score) = 0 THEN
                CASE WHEN metric_variant IS NOT NULL AND labelled_score IS NOT NULL THEN 'score' END
            WHEN GROUPING(labelled_delay) = 0 THEN
                CASE WHEN metric_variant IS NOT NULL AND labelled_delay IS NOT NULL THEN 'delay' END
            WHEN GROUPING(metric_variant) = 0 THEN
                CASE WHEN metric_variant IS NOT NULL THEN 'metrics' END
            WHEN GROUPING(capture_file) = 0 THEN
                CASE WHEN capture_issue IS NOT NULL THEN 'issue_sample' END
            WHEN GROUPING(label_file) = 0 THEN
                CASE WHEN label_issue IS NOT NULL THEN 'issue_sample' END
            WHEN GROUPING(capture_issue) = 0 THEN
                CASE WHEN capture_issue IS NOT NULL THEN 'issue_count' END
            WHEN GROUPING(label_issue) = 0 THEN
                CASE WHEN label_issue IS NOT NULL THEN 'issue_count' END
        END AS row_kind,
        COALESCE(metric_variant, variant) AS variant,
        -- A grouping set leaves day NULL when it groups by capture_hour, and both NULL over the window.
        COALESCE(day, capture_hour, 'all') AS period,
        labelled_score AS score,
        labelled_delay AS delay_hours,
        COALESCE(capture_issue, label_issue) AS issue,
        COALESCE(capture_file, label_file) AS source_file,
        COALESCE(capture_line, label_line) AS line_number,
        COALESCE(capture_detail, label_detail) AS detail,
        COUNT(*) AS n,
        CAST(SUM(without_inference_id) AS BIGINT) AS without_inference_id,
        -- Captures without an InferenceId are mostly the evaluation's own TargetVariant requests, which
        -- no label will follow: the label coverage leaves them out of both its sides (report.py).
        CAST(SUM(CASE WHEN label IS NOT NULL THEN without_inference_id ELSE 0 END) AS BIGINT) AS labelled_without_inference_id,
        -- The labels of a score group; the metrics rows' confusion counts are summed from these.
        CAST(SUM(label) AS BIGINT) AS positives,
        CAST(SUM(1 - label) AS BIGINT) AS negatives
    FROM outcomes
    GROUP BY GROUPING SETS (
        (metric_variant, day, labelled_score),
        (metric_variant, capture_hour, labelled_score),
        (metric_variant, labelled_score),
        (metric_variant, day),
        (metric_variant, capture_hour),
        (metric_variant),
        (metric_variant, labelled_delay),
        (capture_issue, variant),
        (label_issue, variant),
        (capture_issue, variant, capture_file, capture_line, capture_detail),
        (label_issue, variant, label_file, label_line, label_detail)
    )
),
placed AS (
    -- One window over the groups: DeLong's placement values (DeLong, DeLong & Clarke-Pearson 1988):
    -- for a positive, the share of negatives scored below it; for a negative, the share of positives
    -- scored above it; ties count 1/2. A (variant, period)'s score groups and its metrics row share a
    -- partition, the metrics row last (it has no score) and adding nothing: at most 10^6 + 2 rows
    -- for scores from 0 to 1 (the score steps, capture_classified), whatever the number of requests.
    -- Every other partition is smaller: a variant's delay hours, its issues, and each line with an
    -- issue alone (its file, line and detail are NULL on every other row). Numbering an issue's lines
    -- here instead put all of them into one partition: ~80 % of the labels are label_for_unknown_id
    -- when data capture samples 20 % of the requests, and that one partition exhausts a Trino node.
    -- The counts are summed as DOUBLE: exact below 2^53, and DuckDB's running sums of doubles cost
    -- less than of its 128-bit integers.
    SELECT
        *,
        SUM(CASE WHEN row_kind = 'score' THEN CAST(positives AS DOUBLE) END) OVER (
            PARTITION BY CASE WHEN row_kind = 'score' THEN 'metrics' ELSE row_kind END, variant, period, source_file, line_number, detail
            ORDER BY score ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
        ) AS scored_positives,
        SUM(CASE WHEN row_kind = 'score' THEN CAST(negatives AS DOUBLE) END) OVER (
            PARTITION BY CASE WHEN row_kind = 'score' THEN 'metrics' ELSE row_kind END, variant, period, source_file, line_number, detail
            ORDER BY score ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
        ) AS scored_negatives,
        SUM(CASE WHEN row_kind = 'score' THEN CAST(positives AS DOUBLE) END) OVER (
            PARTITION BY CASE WHEN row_kind = 'score' THEN 'metrics' ELSE row_kind END, variant, period, source_file, line_number, detail
            ORDER BY score ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
        ) AS positives_at_or_below,
        SUM(CASE WHEN row_kind = 'score' THEN CAST(negatives AS DOUBLE) END) OVER (
            PARTITION BY CASE WHEN row_kind = 'score' THEN 'metrics' ELSE row_kind END, variant, period, source_file, line_number, detail
            ORDER BY score ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
        ) AS negatives_at_or_below
    FROM grouped
    WHERE row_kind IS NOT NULL
),
placements AS (
    SELECT
        *,
        CASE WHEN row_kind = 'score' AND scored_positives > 0 AND scored_negatives > 0 THEN
            (negatives_at_or_below - 0.5 * negatives) / scored_negatives END AS v10,
        CASE WHEN row_kind = 'score' AND scored_positives > 0 AND scored_negatives > 0 THEN
            (scored_positives - positives_at_or_below + 0.5 * positives) / scored_positives END AS v01,
        -- A score at or above the threshold is a predicted positive (as in the offline evaluation):
        -- its step is 0 or more (capture_classified).
        CASE WHEN score >= 0 THEN 1 ELSE 0 END AS predicted
    FROM placed
),
collapsed AS (
    -- A (variant, period)'s score groups fold into its metrics row: the labelled requests and the
    -- confusion at the threshold are sums over its score groups; AUC is the mean placement value of
    -- the positives, and the sample variances of the placement values come from weighted sums (each
    -- distinct score weighs as many requests as share it). An issue's lines (over all variants) fold
    -- into one row with its first 20 by file, line and detail. Every other row is its own group.
    SELECT
        CASE WHEN row_kind = 'score' THEN 'metrics' ELSE row_kind END AS row_kind,
        CASE WHEN row_kind <> 'issue_sample' THEN variant END AS variant,
        period,
        delay_hours,
        issue,
        -- Trino: "min_by(x, y, n) -> array<[same as x]>: Returns n values of x associated with the n
        -- smallest of all input values of y in ascending order of y" (Aggregate functions,
        -- https://trino.io/docs/current/functions/aggregate.html; Athena engine 3's functions are
        -- Trino's: https://docs.aws.amazon.com/athena/latest/ug/functions-env3.html); DuckDB's min_by
        -- takes the same count. It keeps 20 per group however many lines come, and both engines skip
        -- a NULL order (every row that is not a sample), so only an issue's row gets samples. The
        -- sample is a ROW with named fields, read by name after the UNNEST below in both engines; the
        -- order is a ROW without NULL fields, because Trino refuses to order ROWs by a NULL field
        -- ("ROW comparison not supported for fields with null elements": RowType.chainComparison in
        -- Trino's source; its documentation does not say it): NULLs last by a flag before each
        -- nullable field (Athena has no line numbers; a detail can be NULL).
        min_by(
            CASE WHEN row_kind = 'issue_sample' THEN
                CAST(ROW(variant, source_file, line_number, detail)
                    AS STRUCT(variant VARCHAR, source_file VARCHAR, line_number BIGINT, detail VARCHAR))
            END,
            CASE WHEN row_kind = 'issue_sample' THEN
                ROW(source_file, line_number IS NULL, COALESCE(line_number, 0), detail IS NULL, COALESCE(detail, ''))
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
    GROUP BY 1, 2, period, delay_hours, issue
)

SELECT
    row_kind,
    CASE WHEN row_kind = 'issue_sample' THEN samples[sample_number].variant ELSE variant END AS variant,
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
    CASE WHEN scored_positives > 0 AND scored_negatives > 0 THEN sum_v10 / scored_positives END AS roc_auc,
    CASE WHEN scored_positives > 1 AND scored_negatives > 0 THEN
        (sum_v10_squared - sum_v10 * sum_v10 / scored_positives) / (scored_positives - 1) END AS v10_variance,
    CASE WHEN scored_negatives > 1 AND scored_positives > 0 THEN
        (sum_v01_squared - sum_v01 * sum_v01 / scored_negatives) / (scored_negatives - 1) END AS v01_variance,
    delay_hours,
    issue,
    samples[sample_number].source_file AS source_file,
    samples[sample_number].line_number AS line_number,
    samples[sample_number].detail AS detail,
    CASE WHEN row_kind IN ('delay', 'issue_count') THEN n END AS n,
    CASE WHEN row_kind = 'metrics' THEN labelled_without_inference_id END AS labelled_without_inference_id
FROM collapsed
-- An issue's row becomes one row per sample; every other row stays one row (its samples are NULL,
-- read as one NULL sample). The rows here are few (metrics, delays, issues).
CROSS JOIN UNNEST(generate_series(1, COALESCE(array_length(samples), 1))) AS numbered(sample_number)
ORDER BY 1, 2, 3, 16, 17, 18, 19, 20
