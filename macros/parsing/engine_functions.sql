{#- Engine differences, one dispatched macro each: DuckDB (local) and Athena/Trino (production).
    Models call these and never test target.type themselves. -#}

{#- Splits one CSV record (RFC 4180, comma-delimited) into its fields, quotes removed and doubled
    quotes undone. Only call it on records that csv_record_is_well_formed() accepted. -#}
{% macro split_csv_fields(record) %}
    {{ return(adapter.dispatch('split_csv_fields', 'transaction_lakehouse')(record)) }}
{% endmacro %}

{% macro duckdb__split_csv_fields(record) -%}
    case
        when strpos({{ record }}, '"') = 0 then string_split({{ record }}, ',')
        else list_transform(
            regexp_extract_all(',' || {{ record }}, '{{ csv_field_pattern() }}', 1),
            lambda f: case
                when f like '"%' then replace(substr(f, 2, length(f) - 2), '""', '"')
                else f
            end
        )
    end
{%- endmacro %}

{% macro athena__split_csv_fields(record) -%}
    case
        when strpos({{ record }}, '"') = 0 then split({{ record }}, ',')
        else transform(
            regexp_extract_all(',' || {{ record }}, '{{ csv_field_pattern() }}', 1),
            f -> case
                when f like '"%' then replace(substr(f, 2, length(f) - 2), '""', '"')
                else f
            end
        )
    end
{%- endmacro %}

{#- One field after a comma: optional blanks, then a quoted or an unquoted field, optional blanks. -#}
{% macro csv_field_pattern() -%}
    ,[ \t]*("(?:[^"]|"")*"|[^,"]*)[ \t]*
{%- endmacro %}

{#- A line that can open a quoted field running onto the next line: well-formed fields, then a
    quoted field that is not closed. -#}
{% macro csv_opens_multiline_field(line) -%}
    {{ regex_matches(line, '^([ \t]*("([^"]|"")*"|[^,"]*)[ \t]*,)*[ \t]*"([^"]|"")*$') }}
{%- endmacro %}

{#- A line that can close such a field: the rest of the quoted field, then well-formed fields. -#}
{% macro csv_closes_multiline_field(line) -%}
    {{ regex_matches(line, '^([^"]|"")*"[ \t]*(,[ \t]*("([^"]|"")*"|[^,"]*)[ \t]*)*$') }}
{%- endmacro %}

{% macro csv_record_is_well_formed(record) -%}
    (strpos({{ record }}, '"') = 0
        or {{ regex_matches("',' || " ~ record, '^(' ~ csv_field_pattern() ~ ')+$') }})
{%- endmacro %}

{% macro regex_matches(expr, pattern) %}
    {{ return(adapter.dispatch('regex_matches', 'transaction_lakehouse')(expr, pattern)) }}
{% endmacro %}

{% macro duckdb__regex_matches(expr, pattern) -%}
    regexp_matches({{ expr }}, '{{ pattern }}')
{%- endmacro %}

{% macro athena__regex_matches(expr, pattern) -%}
    regexp_like({{ expr }}, '{{ pattern }}')
{%- endmacro %}

{#- Capture group `group` of the first match; NULL when there is no match or the group is empty. -#}
{% macro regex_group(expr, pattern, group) -%}
    nullif(regexp_extract({{ expr }}, '{{ pattern }}', {{ group }}), '')
{%- endmacro %}

{% macro array_size(array) %}
    {{ return(adapter.dispatch('array_size', 'transaction_lakehouse')(array)) }}
{% endmacro %}

{% macro duckdb__array_size(array) -%}
    len({{ array }})
{%- endmacro %}

{% macro athena__array_size(array) -%}
    cardinality({{ array }})
{%- endmacro %}

{#- 1-based element; NULL when the index is NULL or out of range. -#}
{% macro array_element(array, index) %}
    {{ return(adapter.dispatch('array_element', 'transaction_lakehouse')(array, index)) }}
{% endmacro %}

{% macro duckdb__array_element(array, index) -%}
    list_extract({{ array }}, {{ index }})
{%- endmacro %}

{% macro athena__array_element(array, index) -%}
    element_at({{ array }}, {{ index }})
{%- endmacro %}

{#- 1-based position of a value in an array; NULL when absent. -#}
{% macro array_index_of(array, value) %}
    {{ return(adapter.dispatch('array_index_of', 'transaction_lakehouse')(array, value)) }}
{% endmacro %}

{% macro duckdb__array_index_of(array, value) -%}
    nullif(coalesce(list_position({{ array }}, {{ value }}), 0), 0)
{%- endmacro %}

{% macro athena__array_index_of(array, value) -%}
    nullif(array_position({{ array }}, {{ value }}), 0)
{%- endmacro %}

{#- Removes surrounding blanks (spaces and tabs). -#}
{% macro trim_blanks(expr) %}
    {{ return(adapter.dispatch('trim_blanks', 'transaction_lakehouse')(expr)) }}
{% endmacro %}

{#- DuckDB: most values have nothing to trim, and checking the ends first is about twice as
    fast as trim() with a character set. -#}
{% macro duckdb__trim_blanks(expr) -%}
    case
        when
            prefix({{ expr }}, ' ') or suffix({{ expr }}, ' ')
            or prefix({{ expr }}, chr(9)) or suffix({{ expr }}, chr(9))
            then trim({{ expr }}, ' ' || chr(9))
        else {{ expr }}
    end
{%- endmacro %}

{% macro athena__trim_blanks(expr) -%}
    trim({{ expr }}, ' ' || chr(9))
{%- endmacro %}

{#- Casts 'YYYY-MM-DD HH:MM:SS.ffffff' to a timestamp; NULL for impossible values (2024-02-30). -#}
{% macro try_cast_timestamp(expr) %}
    {{ return(adapter.dispatch('try_cast_timestamp', 'transaction_lakehouse')(expr)) }}
{% endmacro %}

{% macro duckdb__try_cast_timestamp(expr) -%}
    try_cast({{ expr }} as timestamp)
{%- endmacro %}

{% macro athena__try_cast_timestamp(expr) -%}
    try_cast({{ expr }} as timestamp(6))
{%- endmacro %}

{#- First day of every month from start_month to end_month (DATE columns of the one-row
    relation `bounds`), one row each, as a query with the single column month_start. -#}
{% macro month_starts(bounds) %}
    {{ return(adapter.dispatch('month_starts', 'transaction_lakehouse')(bounds)) }}
{% endmacro %}

{% macro duckdb__month_starts(bounds) -%}
    select cast(unnest(generate_series(
        cast(start_month as timestamp), cast(end_month as timestamp), interval 1 month
    )) as date) as month_start
    from {{ bounds }}
{%- endmacro %}

{% macro athena__month_starts(bounds) -%}
    select series.month_start
    from {{ bounds }}
    cross join unnest(sequence(start_month, end_month, interval '1' month)) as series (month_start)
{%- endmacro %}

{#- Applies trim_blanks() to every element of an array of strings. -#}
{% macro trim_blanks_each(array) %}
    {{ return(adapter.dispatch('trim_blanks_each', 'transaction_lakehouse')(array)) }}
{% endmacro %}

{% macro duckdb__trim_blanks_each(array) -%}
    list_transform({{ array }}, lambda f: {{ trim_blanks('f') }})
{%- endmacro %}

{% macro athena__trim_blanks_each(array) -%}
    transform({{ array }}, f -> {{ trim_blanks('f') }})
{%- endmacro %}

{#- The timestamp type of the marts: microseconds everywhere (Athena's plain timestamp is
    milliseconds; Iceberg stores microseconds). -#}
{% macro timestamp_type() %}
    {{ return(adapter.dispatch('timestamp_type', 'transaction_lakehouse')()) }}
{% endmacro %}

{% macro default__timestamp_type() -%}
    timestamp
{%- endmacro %}

{% macro athena__timestamp_type() -%}
    timestamp(6)
{%- endmacro %}

