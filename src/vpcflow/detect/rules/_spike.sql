{#- Hourly reject counts per entity scored against the entity's own earlier hours (z-score).
    Set `entity` (a column of rejects) before including. Hours with no rejects count as zero from the
    entity's first appearance on, so a quiet baseline is really quiet. Only entities with an hour of at
    least min_rejects are scored: the zero-filled grid of every other source would be all cost. -#}
WITH bins AS (
    SELECT {{ Sql(entity) }} AS entity, date_trunc('hour', start) AS bin_start,
           count(*) AS rejects, min(start) AS first_seen, max("end") AS last_seen
    FROM rejects
    WHERE {{ Sql(entity) }} IS NOT NULL
    GROUP BY {{ Sql(entity) }}, date_trunc('hour', start)
),
hours AS (
    SELECT DISTINCT date_trunc('hour', start) AS bin_start FROM flows WHERE start IS NOT NULL
),
candidates AS (
    SELECT DISTINCT entity FROM bins WHERE rejects >= {{ min_rejects }}
),
firsts AS (
    SELECT b.entity, min(b.bin_start) AS first_bin
    FROM bins AS b JOIN candidates AS c ON c.entity = b.entity
    GROUP BY b.entity
),
filled AS (
    SELECT f.entity, h.bin_start, COALESCE(b.rejects, 0) AS rejects, b.first_seen, b.last_seen
    FROM firsts AS f
    JOIN hours AS h ON h.bin_start >= f.first_bin
    LEFT JOIN bins AS b ON b.entity = f.entity AND b.bin_start = h.bin_start
),
scored AS (
    SELECT
        entity, bin_start, rejects, first_seen, last_seen,
        avg(rejects) OVER (PARTITION BY entity ORDER BY bin_start
                           ROWS BETWEEN {{ baseline_hours }} PRECEDING AND 1 PRECEDING) AS baseline_mean,
        stddev_samp(rejects) OVER (PARTITION BY entity ORDER BY bin_start
                                   ROWS BETWEEN {{ baseline_hours }} PRECEDING AND 1 PRECEDING) AS baseline_stddev,
        count(*) OVER (PARTITION BY entity ORDER BY bin_start
                       ROWS BETWEEN {{ baseline_hours }} PRECEDING AND 1 PRECEDING) AS history_hours
    FROM filled
),
z AS (
    SELECT *,
           (rejects - baseline_mean)
           / greatest(COALESCE(baseline_stddev, 0), sqrt(baseline_mean), 1.0) AS z_score
    FROM scored
    WHERE history_hours >= {{ min_history_hours }}
)
SELECT
    entity AS {{ Sql(entity) }},
    bin_start,
    first_seen,
    last_seen,
    rejects,
    round(baseline_mean, 2) AS baseline_mean,
    round(COALESCE(baseline_stddev, 0), 2) AS baseline_stddev,
    history_hours,
    round(z_score, 2) AS z_score,
    CASE WHEN z_score >= {{ high_z }} THEN 'high' ELSE 'medium' END AS severity
FROM z
WHERE rejects >= {{ min_rejects }} AND z_score >= {{ z_threshold }}
