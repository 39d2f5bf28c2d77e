{#- Post-hook for the incremental Iceberg tables on Athena: compact the small files each
    incremental run adds and expire old snapshots. Nothing to do on DuckDB. -#}
{% macro iceberg_housekeeping(relation) %}
    {{ return(adapter.dispatch('iceberg_housekeeping', 'transaction_lakehouse')(relation)) }}
{% endmacro %}

{% macro default__iceberg_housekeeping(relation) %}
    {{ return('') }}
{% endmacro %}

{% macro athena__iceberg_housekeeping(relation) %}
    {%- if var('iceberg_housekeeping', true) -%}
        optimize {{ relation }} rewrite data using bin_pack;
        vacuum {{ relation }}
    {%- endif -%}
{% endmacro %}
