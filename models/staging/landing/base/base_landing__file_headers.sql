{#-
    The header of every landed file (its first line), matched against the file contract: where
    each declared column sits, and whether the header names every required column and only
    declared ones, each once (optional columns, added by minor contract versions, may be absent).
    Columns are matched by name, in any order. One row per run.
-#}
{%- set file_columns = transaction_file_columns() -%}

with

header_lines as (
    select
        run_id,
        line_text,
        is_readable,
        landed_at
    from {{ ref('base_landing__transaction_lines') }}
    where line_number = 1
),

header_fields as (
    select
        run_id,
        landed_at,
        is_readable and {{ csv_record_is_well_formed('line_text') }} as is_parseable,
        {{ trim_blanks_each(split_csv_fields('line_text')) }} as field_names
    from header_lines
),

header_positions as (
    select
        run_id,
        landed_at,
        is_parseable,
        {{ array_size('field_names') }} as field_count,
        {%- for column in file_columns %}
        {{ array_index_of('field_names', "'" ~ column.header ~ "'") }}
            as {{ column.column }}_position,
        {%- endfor %}
        0
        {%- for column in file_columns %}
        + case
            when {{ array_index_of('field_names', "'" ~ column.header ~ "'") }} is null then 0
            else 1
        end
        {%- endfor %} as declared_count
    from header_fields
),

final as (
    select
        *,
        coalesce(
            is_parseable
            and field_count = declared_count
            {%- for column in file_columns if column.required %}
            and {{ column.column }}_position is not null
            {%- endfor %},
            false
        ) as matches_contract
    from header_positions
)

select * from final
