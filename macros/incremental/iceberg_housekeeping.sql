{#- Post-hook for the incremental Iceberg tables on Athena: compact the small files each
    incremental run adds and expire old snapshots. Nothing to do on DuckDB. -#}
{% macro iceberg_housekeeping(relation) %}
    {{ return(adapter.dispatch('iceberg_housekeeping', 'transaction_lakehouse')(relation)) }}
{% endmacro %}

{% macro default__iceberg_housekeeping(relation) %}
    {{ return('') }}
{% endmacro %}

{#- Athena runs one statement per query, and OPTIMIZE / VACUUM take [db_name.]table_name (no
    catalog): OPTIMIZE runs here, VACUUM is the hook's own statement. -#}
{% macro athena__iceberg_housekeeping(relation) %}
    {%- if var('iceberg_housekeeping', true) -%}
        {%- set table = relation.schema ~ '.' ~ relation.identifier -%}
        {%- do run_query('optimize ' ~ table ~ ' rewrite data using bin_pack') -%}
        vacuum {{ table }}
    {%- endif -%}
{% endmacro %}
