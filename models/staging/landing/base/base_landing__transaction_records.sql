{#-
    Every record of every landed file: a CSV row after quoting, its lines joined by line breaks.
    A file without a line holding an odd number of quotes (nearly all) has one record per
    non-blank data line; the others are grouped by base_landing__quoted_lines. Blank lines are
    not records (except inside a quoted field). One row per record (run_id, line_number: the
    record's first line).
-#}

with

-- each part reads the lines by itself (no shared CTE that the engine would materialise whole):
-- an incremental model's run_id bound then reaches every read
plain_file_lines as (
    select
        run_id,
        ingest_date,
        source_file,
        line_number,
        line_text,
        is_readable,
        line_length,
        landed_at
    from {{ ref('base_landing__transaction_lines') }}
    where line_number > 1 and not coalesce(may_span_lines, true) and line_text <> ''
),

quoted_file_lines as (
    select *
    from {{ ref('base_landing__quoted_lines') }}
    where line_text <> '' or (is_inside_before and record_key is not null)
),

-- one record per multi-line record, one per line outside fields; grouping (not a second read of
-- the lines) keeps the records a single streamed pass
quoted_file_records as (
    select
        run_id,
        ingest_date,
        source_file,
        landed_at,
        min(line_number) as line_number,
        {{ dbt.listagg('line_text', 'chr(10)', 'order by line_number') }} as record_text,
        bool_and(is_readable) as is_readable,
        sum(case when line_text <> '' then 1 else 0 end) as source_line_count,
        -- the record's characters as received, its lines joined by line breaks
        sum(coalesce(line_length, 0)) + count(*) - 1 as record_length
    from quoted_file_lines
    group by
        run_id,
        ingest_date,
        source_file,
        landed_at,
        record_key,
        case when record_key is null then line_number end
),

final as (
    select
        run_id,
        ingest_date,
        source_file,
        line_number,
        line_text as record_text,
        is_readable,
        landed_at,
        1 as source_line_count,
        line_length as record_length
    from plain_file_lines
    union all
    select
        run_id,
        ingest_date,
        source_file,
        line_number,
        record_text,
        is_readable,
        landed_at,
        source_line_count,
        record_length
    from quoted_file_records
)

select * from final
