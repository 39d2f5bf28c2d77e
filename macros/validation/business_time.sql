{#- The accepted range of business time (TransactionTimestamp, in UTC): from the floor below,
    inclusive, to the moment the file was landed, inclusive. A record outside it is a
    TIMESTAMP_ERROR, so nothing outside it reaches the processed transactions or the balances'
    window. The floor is written here and nowhere else; the models, the window vars' check and the
    docs take it from these macros.

    Why 1970-01-01 00:00:00 UTC: no bank transaction kept in files like these predates it; it
    keeps every accepted time at or after the Unix epoch, where DuckDB, Trino, Iceberg, Parquet
    and Python agree (no year 0, no Julian calendar, no negative epoch values); and it bounds the
    balance spine: at most 12 months a year since 1970 per account, whatever one row says. -#}
{% macro business_time_floor() -%}
    1970-01-01 00:00:00
{%- endmacro %}

{#- The floor as a SQL timestamp, of the marts' timestamp type. -#}
{% macro business_time_floor_ts() -%}
    cast('{{ business_time_floor() }}' as {{ timestamp_type() }})
{%- endmacro %}

{#- The floor's month, 'YYYY-MM': the earliest month a reporting window may start. -#}
{% macro business_time_floor_month() -%}
    {{ business_time_floor()[:7] }}
{%- endmacro %}
