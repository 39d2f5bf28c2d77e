{#-
    Every record split into its fields by its file's header: the values as received (quotes
    removed, blanks kept), NULL when the record cannot be split (its header does not match the
    contract, or the record is unreadable, malformed or has another number of fields than its
    header). One row per record (run_id, line_number).
-#}
{%- set file_columns = transaction_file_columns() -%}

with

records as (
    select
        run_id,
        ingest_date,
        source_file,
        line_number,
        record_text,
        is_readable,
        source_line_count,
        record_length,
        landed_at
    from {{ ref('base_landing__transaction_records') }}
),

headers as (
    select *
    from {{ ref('base_landing__file_headers') }}
),

-- every file with a record has a header line; joining on the run's landing moment as well lets
-- an incremental model's bounds reach the header scan too
split_records as (
    select
        records.run_id,
        records.ingest_date,
        records.source_file,
        records.line_number,
        records.record_text,
        records.source_line_count,
        records.record_length,
        records.landed_at,
        headers.matches_contract,
        headers.field_count,
        records.is_readable,
        {%- for column in file_columns %}
        headers.{{ column.column }}_position,
        {%- endfor %}
        records.is_readable
        and {{ csv_record_is_well_formed('records.record_text') }} as is_well_formed
    from records
    inner join headers
        on records.run_id = headers.run_id and records.landed_at = headers.landed_at
),

fields as (
    select
        *,
        case
            when is_well_formed and matches_contract
                then {{ split_csv_fields('record_text') }}
        end as field_values
    from split_records
),

final as (
    select
        run_id,
        ingest_date,
        source_file,
        line_number,
        record_text,
        source_line_count,
        record_length,
        landed_at,
        {%- for column in file_columns %}
        case
            when {{ array_size('field_values') }} = field_count
                then {{ array_element('field_values', column.column ~ '_position') }}
        end as {{ column.column }}_raw,
        {%- endfor %}
        -- why a record is not parseable (validation_detail)
        matches_contract as header_matches_contract,
        is_readable,
        is_well_formed,
        field_count as header_field_count,
        case
            when field_values is not null then {{ array_size('field_values') }}
            when is_well_formed then {{ array_size(split_csv_fields('record_text')) }}
        end as record_field_count,
        {%- for column in file_columns %}
        {{ column.column }}_position,
        {%- endfor %}
        coalesce(
            matches_contract
            and is_well_formed
            and {{ array_size('field_values') }} = field_count,
            false
        ) as is_parseable
    from fields
)

select * from final
