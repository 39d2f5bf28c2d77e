{#- Timestamps: the marts' timestamp type, parsing text into it, and the build's start time. -#}

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

{#- Casts 'YYYY-MM-DD HH:MM:SS.ffffff' to a timestamp; NULL for impossible values (2024-02-30). -#}
{% macro try_cast_timestamp(expr) %}
    {{ return(adapter.dispatch('try_cast_timestamp', 'transaction_lakehouse')(expr)) }}
{% endmacro %}

{% macro default__try_cast_timestamp(expr) -%}
    try_cast({{ expr }} as timestamp)
{%- endmacro %}

{% macro athena__try_cast_timestamp(expr) -%}
    try_cast({{ expr }} as timestamp(6))
{%- endmacro %}

{#- The build's start time as a timestamp literal (audit columns such as quarantined_at). -#}
{% macro build_started_at() -%}
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as {{ timestamp_type() }})
{%- endmacro %}

{#- The moment the query runs, UTC, as the marts' timestamp type (no zone). -#}
{% macro utc_now() %}
    {{ return(adapter.dispatch('utc_now', 'transaction_lakehouse')()) }}
{% endmacro %}

{% macro default__utc_now() -%}
    cast(now() at time zone 'UTC' as timestamp)
{%- endmacro %}

{% macro athena__utc_now() -%}
    cast(current_timestamp at time zone 'UTC' as timestamp(6))
{%- endmacro %}

{#- Whole days elapsed from `start` to `end` (timestamps), rounded down: the same on both
    engines (DuckDB's date_diff counts the day boundaries crossed, Trino's the whole days). -#}
{% macro whole_days_between(start, end) %}
    {{ return(adapter.dispatch('whole_days_between', 'transaction_lakehouse')(start, end)) }}
{% endmacro %}

{% macro default__whole_days_between(start, end) -%}
    cast(floor(date_diff('microsecond', {{ start }}, {{ end }}) / 86400000000.0) as bigint)
{%- endmacro %}

{% macro athena__whole_days_between(start, end) -%}
    cast(floor(date_diff('millisecond', {{ start }}, {{ end }}) / 86400000.0) as bigint)
{%- endmacro %}
