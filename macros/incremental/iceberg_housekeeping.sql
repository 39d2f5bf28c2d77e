{#- Post-hooks for the incremental Iceberg tables on Athena: compact the small files each
    incremental run adds (optimize) and expire old snapshots (vacuum). Nothing to do on DuckDB.
    Each is a hook of its own that starts with the statement: dbt-athena runs such hooks again
    while Athena answers ICEBERG_OPTIMIZE_MORE_RUNS_NEEDED / ICEBERG_VACUUM_MORE_RUNS_NEEDED
    (a large table needs several runs), which a statement sent through run_query would not.
    Athena runs one statement per query, and OPTIMIZE / VACUUM take [db_name.]table_name (no
    catalog). Var iceberg_housekeeping: false skips both. -#}
{% macro iceberg_optimize(relation) %}
    {{ return(adapter.dispatch('iceberg_optimize', 'transaction_lakehouse')(relation)) }}
{% endmacro %}

{% macro default__iceberg_optimize(relation) %}
    {{ return('') }}
{% endmacro %}

{% macro athena__iceberg_optimize(relation) %}
    {%- if var('iceberg_housekeeping', true) -%}
        optimize {{ relation.schema }}.{{ relation.identifier }} rewrite data using bin_pack
    {%- endif -%}
{% endmacro %}

{% macro iceberg_vacuum(relation) %}
    {{ return(adapter.dispatch('iceberg_vacuum', 'transaction_lakehouse')(relation)) }}
{% endmacro %}

{% macro default__iceberg_vacuum(relation) %}
    {{ return('') }}
{% endmacro %}

{#- A published mart is vacuumed by publish_audited instead, right after its view is pinned to the
    current snapshot: a VACUUM here, in a build that may still fail its tests, could expire the
    snapshot the published view reads (macros/publish/publish_audited.sql). -#}
{% macro athena__iceberg_vacuum(relation) %}
    {%- if var('iceberg_housekeeping', true) and not is_published(relation) -%}
        vacuum {{ relation.schema }}.{{ relation.identifier }}
    {%- endif -%}
{% endmacro %}
