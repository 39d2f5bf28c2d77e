{#-
    Reconciliation, per landed run:
      lines the loader counted in the file's bytes (manifest physical_lines) = lines the raw
        layer's reader gives
      non-blank data lines in the raw file = lines covered by the records classified from it
      records classified = processed + quarantined + exact duplicates
      quarantined = lifecycle rows (fct_quarantine_lifecycle: one per quarantined record, open,
        resolved, condemned or waived; a decision or a resolution changes a status, never a
        count)
    The first count comes from the loader, independently of the warehouse's line reader (which
    could otherwise lose a line without any later count noticing); the lines from the raw layer,
    independently of the parsing in staging; the records from int_transactions__classified and
    each outcome from its own model. Only the runs
    of the latest classification build are checked (earlier runs were checked by the build that
    classified them), so the cost follows the new data; var check_all_runs: true checks every
    run.
-#}
{%- set first_run = latest_build_scope(ref('int_transactions__classified')) -%}
{%- set in_scope = "run_id >= '" ~ first_run ~ "'" if first_run else '1 = 1' -%}

with

-- older manifests do not have the count
counted_lines as (
    select
        run_id,
        physical_lines
    from {{ source('landing', 'transaction_manifests') }}
    where {{ in_scope }} and physical_lines is not null
),

raw_lines as (
    select
        run_id,
        count(*) as lines_read,
        sum(
            case when line_number > 1 and coalesce(line_text, '') <> '' then 1 else 0 end
        ) as line_total
    from {{ source('landing', 'transaction_lines') }}
    where {{ in_scope }}
    group by run_id
),

classified as (
    select
        run_id,
        count(*) as records,
        sum(source_line_count) as line_total,
        sum(case when record_status = 'duplicate' then 1 else 0 end) as duplicates
    from {{ ref('int_transactions__classified') }}
    where {{ in_scope }}
    group by run_id
),

processed as (
    select
        run_id,
        count(*) as records
    from {{ ref('fct_transactions') }}
    where {{ in_scope }}
    group by run_id
),

quarantined as (
    select
        run_id,
        count(*) as records
    from {{ ref('fct_quarantined_records') }}
    where {{ in_scope }}
    group by run_id
),

lifecycle as (
    select
        run_id,
        count(*) as records
    from {{ ref('fct_quarantine_lifecycle') }}
    where {{ in_scope }}
    group by run_id
),

final as (
    select
        counted_lines.physical_lines as loader_lines,
        coalesce(raw_lines.run_id, classified.run_id, counted_lines.run_id) as run_id,
        coalesce(raw_lines.lines_read, 0) as lines_read,
        coalesce(raw_lines.line_total, 0) as raw_lines,
        coalesce(classified.line_total, 0) as classified_lines,
        coalesce(classified.records, 0) as records,
        coalesce(processed.records, 0) as processed,
        coalesce(quarantined.records, 0) as quarantined,
        coalesce(lifecycle.records, 0) as lifecycle_records,
        coalesce(classified.duplicates, 0) as duplicates
    from raw_lines
    full outer join classified on raw_lines.run_id = classified.run_id
    left join processed on coalesce(raw_lines.run_id, classified.run_id) = processed.run_id
    left join quarantined on coalesce(raw_lines.run_id, classified.run_id) = quarantined.run_id
    left join lifecycle on coalesce(raw_lines.run_id, classified.run_id) = lifecycle.run_id
    full outer join counted_lines
        on coalesce(raw_lines.run_id, classified.run_id) = counted_lines.run_id
)

select * from final
where
    loader_lines <> lines_read
    or raw_lines <> classified_lines
    or records <> processed + quarantined + duplicates
    or lifecycle_records <> quarantined
