-- The capture parsing, shared: how a SageMaker data-capture line becomes a row, with its score and its issue.
--
-- Not a query by itself: a list of WITH queries, each followed by its comma, that live_quality.sql and
-- shadow_agreement.sql include where they say "-- @include capture_parsing.sql" (live_quality/query.py,
-- with_includes). Both queries, in both engines (the Athena texts are generated from the composed text),
-- therefore read, decode and classify a line the same way, with the same issue names and the same side of
-- the threshold.
--
-- Reads capture_lines(line, source_file, line_number, endpoint, variant, hour) (bound per engine:
-- live_quality/query.py) and takes three parameters (?), in order, in a WHERE clause: endpoint, capture start
-- hour (inclusive), capture end hour (exclusive). Carries the threshold's token once (in capture_parsed).
--
-- Ends with capture_parsed: one row per line with every parsed field (the line itself too, for a consumer that
-- reads more of it), the score's distance from the threshold and the line's issue (malformed, NULL for a good
-- line). Nothing here is materialized or narrowed: each consumer keeps only the columns it needs (for live
-- quality, capture_checked), and an engine computes only those.
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
        -- Kept for a consumer that reads more of the line (the agreement: content types); live quality
        -- never selects it, so no engine carries it there.
        line,
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
capture_parsed AS (
    -- Each line classified: the first problem found names its issue (NULL: a good line).
    SELECT
        *,
        -- The score in millionths above the threshold (negative below it; rounded in capture_classified).
        -- The subtraction keeps the side exactly (IEEE 754: a - b >= 0 exactly when a >= b), so the
        -- threshold is applied here, once, to the score as captured. NaN and infinities fall outside
        -- the range in both engines.
        CASE WHEN parsed_score BETWEEN -1.0e308 AND 1.0e308 THEN (parsed_score - :threshold) * 1.0e6 END
            AS millionths_above_threshold,
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
